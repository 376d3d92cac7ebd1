"""Progress of a streamed run: one start and one done for the whole stream, figures summed over its chunks."""

from __future__ import annotations

import io
import re
import signal

import pandas as pd
import pytest

import sfmc_nb
from sfmc_nb import enter_journey
from sfmc_nb._rules import PENDING, STATUSES
from sfmc_nb.engine.progress import TextProgress
from sfmc_nb.engine.stream import enter_stream
from sfmc_nb.errors import SfmcWarning, ValidationError
from sfmc_nb.widgets import LiveProgress


def contacts(n: int, prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:05d}" for i in range(n)],
                         "Email": [f"{prefix}{i}@example.com" if i % 9 else "not-an-email" for i in range(n)]})


def chunks(df: pd.DataFrame, size: int):
    for start in range(0, len(df), size):
        yield df.iloc[start:start + size]


def fast_conn(sandbox):
    return sfmc_nb.connect(sandbox=sandbox, timeout=(2.0, 5.0), set_default=False)


def kinds(events) -> list[str]:
    return [str(e.kind) for e in events]


def test_a_stream_reports_one_run_with_figures_summed_over_its_chunks(sandbox):
    events = []
    df = contacts(950, "a")
    df.loc[[5, 400], "SubscriberKey"] = ""   # refused before sending: skipped
    res = enter_journey(chunks(df, 300), sandbox.event_key, data=["Email"], connection=fast_conn(sandbox),
                        concurrency=2, progress=events.append)
    assert kinds(events).count("start") == 1 and kinds(events).count("done") == 1
    start, done = events[0], events[-1]
    assert start.kind == "start" and done.kind == "done"
    assert start.chunk == 0 and start.rows_done == 1 and start.counts[PENDING] == 299
    for before, after in zip(events, events[1:], strict=False):
        assert all(after.counts[s] >= before.counts[s] for s in STATUSES), (before, after)
        assert after.rows_done >= before.rows_done and after.batches_done >= before.batches_done
        assert after.chunk >= before.chunk
    assert {s: done.counts[s] for s in STATUSES} == res.counts and done.counts[PENDING] == 0
    assert res.counts["skipped"] == 2 and res.counts["not_queued"] > 0
    assert done.rows_done == done.rows_total == len(res) == 950 and done.chunk == 3
    assert done.batches_done == done.batches_total == res.summary["batches"] == 10   # 3 + 3 + 3 + 1
    assert not done.total_known   # a generator: the rows are only known once read
    last_of_first_chunk = [e for e in events if e.chunk == 0][-1]
    assert last_of_first_chunk.batches_done == 3 and last_of_first_chunk.rows_done == 300
    assert [e.batches_done for e in events if e.chunk == 1][-1] == 6   # cumulative, not 3 again


def test_a_known_total_is_given_from_the_start(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    events = []
    enter_journey([contacts(250, "l").iloc[:100], contacts(250, "l").iloc[100:]], sandbox.event_key,
                  data=["Email"], connection=conn, progress=events.append)
    assert all(e.total_known and e.rows_total == 250 for e in events)
    pytest.importorskip("pyarrow")
    path = tmp_path / "in.parquet"
    contacts(250, "p").to_parquet(path)
    events.clear()
    res = enter_journey(path, sandbox.event_key, data=["Email"], connection=conn, progress=events.append)
    assert len(res) == 250 and all(e.total_known and e.rows_total == 250 for e in events)
    assert events[-1].rows_done == 250


def test_text_progress_of_a_csv_stream_shows_the_chunk_rows_and_speed(sandbox, tmp_path):
    path = tmp_path / "in.csv"
    contacts(250, "t").to_csv(path, index=False)
    out = io.StringIO()
    res = enter_stream(path, sandbox.event_key, data=["Email"], connection=fast_conn(sandbox),
                       progress=TextProgress(out, every=0), chunk_rows=100)
    lines = out.getvalue().splitlines()
    assert lines[0] == "[sfmc_nb] start: chunk 0 · 0 rows; 100 pending"
    assert re.fullmatch(r"\[sfmc_nb\] done: chunk 2 · 250 rows( · [\d,]+/s)?; 222 queued, 28 not queued", lines[-1])
    assert any(re.match(r"\[sfmc_nb\] batch: chunk 1 · 200 rows · [\d,]+/s; ", line) for line in lines)
    assert sum(line.startswith("[sfmc_nb] start") for line in lines) == 1 and res.counts["queued"] == 222


def test_live_progress_of_a_stream_text_and_widget(sandbox):
    conn = fast_conn(sandbox)
    text = LiveProgress(mode="text", stream=io.StringIO(), text_interval=0)
    enter_journey(chunks(contacts(250, "w"), 100), sandbox.event_key, data=["Email"], connection=conn,
                  progress=text)
    assert text.lines[0].startswith("sfmc: starting chunk 0 · 0 rows: 100 pending")
    assert text.lines[-1].startswith("sfmc: done chunk 2 · 250 rows") and "222 queued, 28 not queued" in text.lines[-1]
    seen = []
    widget = LiveProgress(mode="widget", display=False, widget_interval=0)

    def watch(event):
        widget(event)
        seen.append((event.kind, widget.widget.bar.layout.visibility, widget.widget.status.value))

    enter_journey(chunks(contacts(250, "v"), 100), sandbox.event_key, data=["Email"], connection=conn,
                  progress=watch)
    assert widget.error is None
    assert all(visibility == "hidden" for kind, visibility, _ in seen if kind != "done")   # no total: no bar
    kind, visibility, status = seen[-1]
    assert kind == "done" and visibility == "visible" and "chunk 2 · 250 rows" in status
    known = LiveProgress(mode="widget", display=False, widget_interval=0)
    enter_journey([contacts(250, "k")], sandbox.event_key, data=["Email"], connection=conn, progress=known)
    bar = known.widget.bar
    assert bar.layout.visibility == "visible" and bar.value == bar.max == 250 and bar.description == "rows"


def test_a_stream_stopped_by_an_error_still_ends_its_progress(sandbox, tmp_path):
    events = []
    bad = [contacts(150, "e"), contacts(10, "f").rename(columns={"Email": "Mail"})]
    with pytest.raises(ValidationError):   # with a journal, which records every row entered, the error is raised
        enter_journey(bad, sandbox.event_key, data=["Email"], connection=fast_conn(sandbox), progress=events.append,
                      journal=tmp_path / "run.jsonl")
    assert kinds(events).count("start") == 1 and events[-1].kind == "done"
    assert events[-1].message == "the stream stopped on an error" and events[-1].counts["queued"] == 133


def test_an_interrupt_passes_and_the_stream_still_has_one_done(sandbox):
    events, interrupted = [], []

    def interrupt_in_second_chunk(event):
        events.append(event)
        if event.kind == "batch" and event.chunk == 1 and not interrupted:
            interrupted.append(event)
            signal.raise_signal(signal.SIGINT)   # Ctrl-C: the run stops sending and says so

    with pytest.warns(SfmcWarning, match="the stream stopped at chunk 1"):
        res = enter_journey(chunks(contacts(400, "i"), 200), sandbox.event_key, data=["Email"],
                            connection=fast_conn(sandbox), concurrency=1, progress=interrupt_in_second_chunk)
    assert res.interrupted
    assert kinds(events).count("start") == 1 and kinds(events).count("interrupt") == 1
    assert kinds(events)[-1] == "done" and kinds(events).count("done") == 1
    assert events[-1].chunk == 1 and events[-1].counts["queued"] == res.counts["queued"]
    events.clear()
    res.retry()   # chunk by chunk, each retried chunk with its own start and done, as before
    assert kinds(events)[0] == "start" and kinds(events)[-1] == "done" and all(e.chunk is None for e in events)
    assert res.counts["queued"] == 400 - 45


def test_a_dry_run_stream_reports_nothing_and_one_dataframe_runs_are_unchanged(sandbox):
    conn = fast_conn(sandbox)
    events = []
    enter_journey(chunks(contacts(250, "d"), 100), sandbox.event_key, data=["Email"], connection=conn,
                  dry_run=True, progress=events.append)
    assert events == []   # as a one-DataFrame dry run
    enter_journey(contacts(250, "o"), sandbox.event_key, data=["Email"], connection=conn, progress=events.append)
    assert kinds(events) == ["start", "batch", "batch", "batch", "done"]
    assert all(e.chunk is None and e.rows_done is None and e.total_known and not e.streamed for e in events)
    assert [e.batches_done for e in events] == [0, 1, 2, 3, 3] and {e.rows_total for e in events} == {250}
    out = io.StringIO()
    enter_journey(contacts(5, "x"), sandbox.event_key, data=["Email"], connection=conn,
                  progress=TextProgress(out, every=0))
    assert out.getvalue().splitlines()[0] == "[sfmc_nb] start: batch 0/1; 5 pending"
