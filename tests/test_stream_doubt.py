"""A stream's chunks go on while rows of earlier ones are in doubt (an answer lost, the status endpoint not listing
the entry yet): those are looked up again later, at most a few chunks wait, and nothing is entered twice.

Against the sandbox over HTTP; the order of requests is read from the sandbox's own request log and every check of
"entered once" reads its own record of entries.
"""

from __future__ import annotations

import errno

import pandas as pd
import pytest
from _sandbox_helpers import BATCH, STATUS, fast_conn
from test_stream_stops import SIZE, chunks, fail_on_call, go_on_from, people

from sfmc_nb import SfmcWarning, enter_journey
from sfmc_nb import _rowspool as rowspool_module
from sfmc_nb.engine import stream as stream_module


def status_gets_before_each_post(sb) -> list[int]:
    """For each batch POST, in order, how many status lookups the sandbox had answered before it."""
    gets, before = 0, []
    for row in sb.request_log:
        if row["path"] == "/" + STATUS:
            gets += 1
        elif row["path"] == "/" + BATCH and row["method"] == "POST":
            before.append(gets)
    return before


def enter(source, sb, **options):
    return enter_journey(source, sb.event_key, data=["Email"], connection=fast_conn(sb), validate=False,
                         concurrency=1, **options)


def test_the_next_chunks_are_sent_while_an_earlier_one_waits_for_its_horizon(sandbox):
    sandbox.configure(status_lag=1.0)       # the first look after the lost answer finds nothing
    sandbox.inject("lost-answer", 1)        # chunk 0's batch: entered, its answer lost
    df = people(3 * SIZE, "p")
    res = enter(chunks(df), sandbox, landing_horizon=3.0)
    assert status_gets_before_each_post(sandbox)[:3] == [0, 1, 1]   # chunks 1 and 2 went before chunk 0 settled
    assert len([r for r in sandbox.request_log if r["path"] == "/" + STATUS]) >= 2   # then it was looked up again
    assert res.counts["queued"] == 3 * SIZE and not res.interrupted
    assert list(res.to_frame()["contactKey"]) == list(df["SubscriberKey"])   # written in the input's order
    assert sandbox.entry_counts(sandbox.event_key) == {k: 1 for k in df["SubscriberKey"]}
    assert sandbox.stats["batches_accepted"] == 3   # none sent again


@pytest.mark.parametrize("bound", ["chunks", "rows"])
def test_at_most_a_few_chunks_wait_and_each_is_settled_before_more_are_sent(sandbox, monkeypatch, bound):
    MAX_WAITING = 2   # noqa: N806 -- the bound set for this test, by chunks or by rows
    monkeypatch.setattr(stream_module, "MAX_WAITING", MAX_WAITING if bound == "chunks" else 1000)
    monkeypatch.setattr(stream_module, "MAX_WAITING_ROWS", MAX_WAITING * SIZE if bound == "rows" else 10**9)
    sandbox.configure(status_lag=1.0)
    chunks_in_all = MAX_WAITING + 3
    sandbox.inject("lost-answer", chunks_in_all)   # every chunk's answer lost: each waits for its horizon
    df = people(chunks_in_all * SIZE, "b")
    res = enter(chunks(df), sandbox, landing_horizon=2.0)
    before = status_gets_before_each_post(sandbox)[:chunks_in_all]
    assert before[1] == 1   # chunk 1 went while chunk 0 waited
    for i in range(MAX_WAITING + 1, chunks_in_all):   # chunk i goes once chunk i - MAX_WAITING - 1 has settled:
        assert before[i] >= i + (i - MAX_WAITING), before   # a first look for each chunk sent, a second for those
    assert res.counts["queued"] == len(df)
    assert sandbox.entry_counts(sandbox.event_key) == {k: 1 for k in df["SubscriberKey"]}


def test_a_key_in_doubt_in_a_waiting_chunk_is_settled_before_a_later_chunk_sends_it_again(sandbox):
    sandbox.configure(status_lag=1.0)
    sandbox.inject("lost-answer", 1)
    first = people(SIZE, "r")
    second = pd.concat([people(SIZE - 1, "s"), first.iloc[[7]]], ignore_index=True)   # repeats r-00007
    with pytest.warns(SfmcWarning, match="repeat a contact key of an earlier chunk"):
        res = enter([first, second], sandbox, landing_horizon=2.0)
    first_post, second_post = status_gets_before_each_post(sandbox)[:2]
    assert first_post == 0 and second_post >= 2   # chunk 0 looked up again (past its horizon) before chunk 1 went
    assert sandbox.entry_counts(sandbox.event_key)["r-00007"] == 2   # entered by each row, as duplicates="keep" says
    frame = res.to_frame()
    rows = frame[frame["contactKey"] == "r-00007"]
    assert list(rows["status"]) == ["queued", "queued"] and rows["eventInstanceId"].nunique() == 2
    assert res.counts["queued"] == 2 * SIZE


def test_ctrl_c_while_chunks_wait_keeps_their_rows_and_retry_settles_them_once(sandbox, monkeypatch):
    sandbox.configure(status_lag=1.0)
    sandbox.inject("lost-answer", 1)
    df = people(4 * SIZE, "c")
    fail_on_call(monkeypatch, stream_module, "prepare", 3, KeyboardInterrupt())   # at chunk 2
    with pytest.warns(SfmcWarning, match="stream stopped at chunk 2, interrupted while preparing it"):
        res = enter(chunks(df), sandbox, landing_horizon=2.0)
    assert res.interrupted and len(res) == 2 * SIZE == go_on_from(res)
    assert res.counts["unknown"] == SIZE and res.counts["queued"] == SIZE   # chunk 0 still in doubt, kept
    assert "may still land until" in res.to_frame()["message"].iloc[0]
    res.retry(progress=None)   # looks chunk 0 up past its horizon: found, not sent again
    assert res.counts["queued"] == 2 * SIZE
    rest = enter(chunks(df.iloc[2 * SIZE:]), sandbox)
    assert rest.counts["queued"] == 2 * SIZE
    assert sandbox.entry_counts(sandbox.event_key) == {k: 1 for k in df["SubscriberKey"]}
    assert sandbox.stats["batches_accepted"] == 4


def test_the_stream_progress_ends_with_the_settled_counts(sandbox):
    sandbox.configure(status_lag=1.0)
    sandbox.inject("lost-answer", 1)
    events = []
    res = enter(chunks(people(3 * SIZE, "g")), sandbox, landing_horizon=2.0, progress=events.append)
    done = [e for e in events if e.kind == "done"]
    assert len(done) == 1 and done[0].counts["queued"] == res.counts["queued"] == 3 * SIZE
    assert done[0].counts["unknown"] == 0


def test_a_full_disk_while_chunks_wait_returns_every_row_entered(sandbox, monkeypatch):
    monkeypatch.setattr(stream_module, "MAX_WAITING", 2)   # chunk 0 is written (and its disk found full) at chunk 2
    sandbox.configure(status_lag=1.0)
    sandbox.inject("lost-answer", 1)
    df = people(5 * SIZE, "f")
    full = OSError(errno.ENOSPC, "No space left on device")
    fail_on_call(monkeypatch, rowspool_module, "_write_bytes", 2, full, and_later=True)   # the first chunk's rows
    with pytest.warns(SfmcWarning, match=r"stopped at chunk 2, writing its rows failed: OSError: \[Errno 28\]"):
        res = enter(chunks(df), sandbox, landing_horizon=2.0)
    assert res.interrupted and len(res) == 3 * SIZE == go_on_from(res)   # chunk 0 waited while 1 and 2 went
    assert any("chunks up to it" in w for w in res.warnings)
    assert res.counts["queued"] == 3 * SIZE   # chunk 0 settled before its rows were written
    assert list(res.to_frame()["contactKey"]) == list(df["SubscriberKey"][:3 * SIZE])
    assert sandbox.entry_counts(sandbox.event_key) == {k: 1 for k in df["SubscriberKey"][:3 * SIZE]}


def test_ctrl_c_while_chunks_wait_with_a_journal_resumes_entering_nothing_twice(sandbox, monkeypatch, tmp_path):
    sandbox.configure(status_lag=1.0)
    sandbox.inject("lost-answer", 1)
    df, journal = people(4 * SIZE, "j"), tmp_path / "stream.jsonl"
    fail_on_call(monkeypatch, stream_module, "prepare", 3, KeyboardInterrupt())   # at chunk 2
    with pytest.warns(SfmcWarning, match="stream stopped at chunk 2.*run again with the same journal"):
        first = enter(chunks(df), sandbox, landing_horizon=2.0, journal=journal)
    assert first.counts["unknown"] == SIZE and first.counts["queued"] == SIZE
    monkeypatch.undo()
    with pytest.warns(SfmcWarning, match="resumed from"):
        again = enter(chunks(df), sandbox, landing_horizon=2.0, journal=journal)
    assert again.counts["queued"] == 4 * SIZE
    assert sandbox.entry_counts(sandbox.event_key) == {k: 1 for k in df["SubscriberKey"]}
    assert sandbox.stats["batches_accepted"] == 4
