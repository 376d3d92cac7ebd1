"""The result panel, live progress and bounded HTML tables (no browser: widget state is inspected directly)."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from sfmc_nb.engine.progress import ProgressEvent, ProgressKind, TextProgress
from sfmc_nb.results import STATUSES, BatchRecord, EntryResult
from sfmc_nb.widgets import (
    TAB_TITLES,
    LiveProgress,
    ResultPanel,
    Table,
    frame_html,
    journeys_html,
)

PATTERN = ["queued"] * 6 + ["not_queued", "not_queued", "failed", "unknown", "skipped"]


def make_result(n: int = 11, pattern=PATTERN, event_key: str = "Demo-Event", batch_size: int = 100) -> EntryResult:
    """A result as the engine would leave it: statuses cycling through ``pattern``, one record per batch."""
    res = EntryResult(event_key, pd.RangeIndex(n), [f"k{i}" for i in range(n)])
    for i in range(n):
        status = pattern[i % len(pattern)]
        bad = status != "queued"
        res.set_row(i, status, event_instance_id=None if bad else f"ev-{i}",
                    errorcode=10003 if status == "not_queued" else None,
                    message=f"problem with row {i}" if bad else None,
                    request_id=None if status == "skipped" else f"req-{i // batch_size}",
                    batch=i // batch_size + 1, attempts=1)
    res.batch_records = [BatchRecord(b + 1, min(batch_size, n - b * batch_size), f"req-{b}", 202, 1, 0.05, "partial")
                         for b in range(-(-n // batch_size))]
    res.raw = [{"requestId": "req-0", "count": 6, "notQueuedCount": 2, "members": [{"contactKey": "k6"}]}]
    res.requests = len(res.batch_records)
    res.seconds = 1.5
    return res


class FlipToQueued:
    """A retry handle stand-in: every row that did not queue (skipped ones excepted) queues now."""

    def __init__(self, calls: list):
        self.calls = calls

    def retry(self, res: EntryResult, **options) -> None:
        self.calls.append(options)
        for pos in res.positions(["not_queued", "failed", "unknown"]):
            res.set_row(pos, "queued", event_instance_id=f"ev-retry-{pos}", request_id="req-retry", attempts=2)
        res.requests += 1
        res.retries += 1


class Broken:
    """A retry handle stand-in whose retry fails."""

    def retry(self, res: EntryResult, **options) -> None:
        raise RuntimeError("token expired while retrying")


def text(html_value: str) -> str:
    """Visible text of an HTML fragment (tags and the stylesheet dropped, entities decoded)."""
    no_style = re.sub(r"<style>.*?</style>", "", html_value, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", no_style))


def panel_html_size(panel: ResultPanel) -> int:
    parts = [panel.header.value, panel.notice.value, panel.summary_html.value, panel.raw_html.value]
    for pager in (panel.batches_pager, panel.errors_pager, panel.rows_pager):
        parts += [pager.label.value, pager.table.value]
    return sum(len(p.encode()) for p in parts)


# -- panel structure ---------------------------------------------------------------------------------

def test_panel_structure_and_header_counts():
    res = make_result()
    panel = res.show()
    assert isinstance(panel, ResultPanel)
    assert tuple(panel.tabs.titles) == TAB_TITLES == ("Summary", "Errors", "All rows", "Raw")
    assert "sfmc-panel" in panel._dom_classes
    assert "sfmc-counts" in panel.header._dom_classes
    assert "sfmc-tabs" in panel.tabs._dom_classes
    assert "sfmc-retry" in panel.retry_button._dom_classes
    assert "sfmc-save" in panel.save_button._dom_classes
    head = " ".join(text(panel.header.value).split())
    for expected in ("6 queued", "2 not queued", "1 failed", "1 unknown", "1 skipped", "1.5 s", "Demo-Event"):
        assert expected in head
    assert "contacts/s" in head
    # failures stand out: a filled red badge for not queued, none for queued
    assert re.search(r'sfmc-badge-not_queued" style="background:#b3261e', panel.header.value)
    assert not re.search(r'sfmc-badge-queued" style="background', panel.header.value)


def test_summary_tab_has_one_row_per_batch():
    res = make_result(n=250)
    panel = ResultPanel(res)
    assert len(panel.batches_pager.frame) == 3
    table = panel.batches_pager.table.value
    for col in ("batch", "requestId", "size", "httpStatus", "attempts", "seconds", "outcome"):
        assert f"<th>{col}</th>" in table
    assert "req-2" in table
    assert "250" in text(panel.summary_html.value)


def test_errors_tab_holds_only_rows_that_did_not_queue():
    res = make_result(n=22)
    panel = ResultPanel(res).select("Errors")
    frame = panel.errors_pager.frame
    assert set(frame["status"].astype(str)) == {"not_queued", "failed", "unknown", "skipped"}
    assert len(frame) == len(res.errors()) == 10
    table = panel.errors_pager.table.value
    assert ">k6<" in table and ">k10<" in table          # not queued, skipped
    assert ">k0<" not in table and ">k5<" not in table    # queued
    assert 'class="sfmc-status-not_queued"' in table
    assert "problem with row 6" in table


def test_errors_tab_when_everything_queued():
    panel = ResultPanel(make_result(pattern=["queued"])).select("Errors")
    assert panel.errors_pager.frame.empty
    assert "every row queued" in text(panel.errors_pager.label.value)
    assert panel.retry_button.disabled


def test_all_rows_tab_pages_with_prev_and_next():
    res = make_result(n=120)
    panel = ResultPanel(res, page_size=50).select("All rows")
    pager = panel.rows_pager
    assert "rows 1–50 of 120" in text(pager.label.value)
    assert pager.prev_button.disabled and not pager.next_button.disabled
    assert ">k0<" in pager.table.value and ">k49<" in pager.table.value and ">k50<" not in pager.table.value
    pager.next_button.click()
    assert "rows 51–100 of 120" in text(pager.label.value)
    assert ">k50<" in pager.table.value and ">k0<" not in pager.table.value
    pager.next_button.click()
    assert "rows 101–120 of 120" in text(pager.label.value)
    assert pager.next_button.disabled
    assert pager.table.value.count("<tr>") == 1 + 20   # header + rows of the last page
    pager.prev_button.click()
    assert "rows 51–100 of 120" in text(pager.label.value)


def test_raw_tab_is_escaped_pretty_json():
    res = make_result()
    res.raw = [{"requestId": "r1", "members": [{"contactKey": "<script>alert(1)</script>"}]}]
    panel = ResultPanel(res).select("Raw")
    assert "<pre>" in panel.raw_html.value
    assert "<script>alert" not in panel.raw_html.value
    assert "&lt;script&gt;" in panel.raw_html.value
    assert '&quot;requestId&quot;: &quot;r1&quot;' in panel.raw_html.value   # indented JSON, escaped


def test_table_cells_are_escaped():
    res = make_result()
    res.set_row(6, "not_queued", errorcode=10003, message='<img src=x onerror="alert(1)">')
    panel = ResultPanel(res).select("Errors")
    assert "<img" not in panel.errors_pager.table.value
    assert "&lt;img src=x" in panel.errors_pager.table.value


def test_panel_repr_is_short_and_free_of_timings():
    panel = ResultPanel(make_result())
    plain = panel._repr_mimebundle_()["text/plain"]
    assert plain == "ResultPanel('Demo-Event': 6 queued, 2 not queued, 1 failed, 1 unknown, 1 skipped)"
    assert len(plain) <= 110


# -- actions --------------------------------------------------------------------------------------

def test_retry_button_calls_retry_and_refreshes_in_place():
    res = make_result()
    calls: list = []
    res.attach_retry(FlipToQueued(calls))
    panel = ResultPanel(res).select("Errors")
    other = ResultPanel(res)              # a second view of the same result follows too
    assert not panel.retry_button.disabled
    assert panel.retry_button.description == "Retry 4 failed rows"   # skipped rows are not resent
    panel.retry_button.click()
    assert len(calls) == 1
    head = " ".join(text(panel.header.value).split())
    assert "10 queued" in head and "0 not queued" in head and "0 failed" in head and "1 skipped" in head
    assert "retry 1 done" in text(panel.notice.value)
    assert len(panel.errors_pager.frame) == 1          # only the skipped row is left
    assert panel.retry_button.disabled                  # nothing left to retry
    assert "10 queued" in text(other.header.value)
    assert panel.last_error is None


def test_retry_errors_are_shown_not_raised():
    res = make_result()
    res.attach_retry(Broken())
    panel = ResultPanel(res)
    assert panel.retry() is False
    assert "token expired while retrying" in text(panel.notice.value)
    assert isinstance(panel.last_error, RuntimeError)
    assert not panel.retry_button.disabled   # can be tried again


def test_retry_disabled_for_dry_runs_and_results_without_a_run():
    res = make_result()
    assert ResultPanel(res).retry_button.disabled      # no retry handle: not made by a live run
    res.attach_retry(FlipToQueued([]))
    res.dry_run = True
    assert ResultPanel(res).retry_button.disabled


def test_save_csv_writes_every_row_to_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = make_result(n=37, event_key="My Event/1")
    panel = ResultPanel(res)
    panel.save_button.click()
    path = panel.last_path
    assert path is not None and path.parent == tmp_path
    assert re.fullmatch(r"sfmc-entry-My-Event-1-\d{8}-\d{6}\.csv", path.name)
    saved = pd.read_csv(path, index_col=0)
    assert len(saved) == 37
    assert list(saved.columns) == list(res.to_frame().columns)
    assert str(path) in text(panel.notice.value)
    panel.save_csv()                       # a second save in the same second does not overwrite
    assert panel.last_path != path and len(list(tmp_path.glob("sfmc-entry-*.csv"))) == 2


def test_save_errors_are_shown_not_raised(tmp_path):
    panel = ResultPanel(make_result())
    assert panel.save_csv(tmp_path / "missing" / "folder") is None
    assert "save failed" in text(panel.notice.value)


# -- EntryResult reprs (the no-widget fallbacks) ----------------------------------------------------

def test_entry_result_text_and_html_reprs_are_bounded():
    res = make_result(n=1000)
    plain = repr(res)
    assert plain.splitlines()[0].startswith("Journey entry into 'Demo-Event'")
    assert len(plain.splitlines()) < 20
    page = res._repr_html_()
    assert "sfmc-entry-result" in page
    assert page.count("<tr") < 60
    assert len(page) < 30_000


# -- tabs built when first selected -------------------------------------------------------------------

def test_only_the_tab_on_view_is_built_and_the_others_when_first_selected():
    res = make_result(n=40)
    res.set_processing(0, "errored", "already entered journey")   # queued, then refused while processing
    panel = ResultPanel(res)
    assert panel.tabs.selected_index == 0 and "req-0" in panel.batches_pager.table.value
    assert panel.errors_pager.table.value == panel.rows_pager.table.value == panel.raw_html.value == ""
    assert panel.reasons_html.value == ""
    panel.tabs.selected_index = TAB_TITLES.index("Errors")     # what a click on the tab's title does
    frame = res.to_frame()
    expected = frame[(frame["status"] != "queued") | (frame["processing"] == "errored")]
    pd.testing.assert_frame_equal(panel.errors_pager.frame, expected)
    assert "rows 1–17 of 17" in text(panel.errors_pager.label.value)   # 16 that did not queue, 1 errored
    assert ">k0<" in panel.errors_pager.table.value and "already entered journey" in panel.errors_pager.table.value
    assert ">k6<" in panel.errors_pager.table.value and ">k1<" not in panel.errors_pager.table.value
    assert "By reason" in text(panel.reasons_html.value)
    assert panel.rows_pager.table.value == ""                  # still not selected
    assert "<pre>" in panel.select("Raw").raw_html.value


def test_pages_hold_the_rows_at_their_positions():
    n = 1_000
    res = EntryResult("E", pd.Index([f"L{i}" for i in range(n)]), [f"k{i}" for i in range(n)])
    for pos in range(n):
        res.set_row(pos, "not_queued" if pos % 10 == 3 else "queued", message=f"m{pos}" if pos % 10 == 3 else None)
    panel = ResultPanel(res, page_size=50).select("All rows")
    panel.rows_pager.go(7)
    table = panel.rows_pager.table.value
    assert "rows 351–400 of 1,000" in text(panel.rows_pager.label.value)
    assert table.count("<tr>") == 1 + 50 and ">L350<" in table and ">k399<" in table
    assert ">k349<" not in table and ">k400<" not in table
    errors = panel.select("Errors").errors_pager
    errors.go(1)                                   # error rows 50..99: input positions 503, 513, ..., 993
    table = errors.table.value
    assert "rows 51–100 of 100" in text(errors.label.value) and table.count("<tr>") == 1 + 50
    assert ">k503<" in table and ">m993<" in table and ">k493<" not in table and ">k504<" not in table
    assert errors.frame.index.tolist() == [f"L{p}" for p in range(3, n, 10)]


def test_a_retry_rebuilds_the_tab_on_view_and_the_others_when_next_selected():
    res = make_result(n=22)
    res.attach_retry(FlipToQueued([]))
    panel = ResultPanel(res, page_size=5).select("Errors").select("All rows")
    panel.rows_pager.go(1)
    assert ">k6<" in panel.rows_pager.table.value and "not_queued" in panel.rows_pager.table.value
    assert "rows 1–5 of 10" in text(panel.errors_pager.label.value)
    panel.retry()                                  # on view: the All rows tab, rebuilt now on the same page
    assert "rows 6–10 of 22" in text(panel.rows_pager.label.value)
    assert "not_queued" not in panel.rows_pager.table.value and "ev-retry-6" in panel.rows_pager.table.value
    assert "rows 1–5 of 10" in text(panel.errors_pager.label.value)   # not on view: left as it was, until...
    panel.select("Errors")
    assert "rows 1–2 of 2" in text(panel.errors_pager.label.value)    # ... selected: the skipped rows only
    assert set(panel.errors_pager.frame["status"].astype(str)) == {"skipped"}
    panel.select("Summary")
    assert "req-0" in panel.batches_pager.table.value


def test_a_pager_of_a_frame_and_a_pager_of_rows_fetched_a_page_at_a_time():
    from sfmc_nb.widgets import Pager

    frame = pd.DataFrame({"k": [f"k{i}" for i in range(12)]})
    asked: list[tuple[int, int]] = []

    def rows(start: int, end: int) -> pd.DataFrame:
        asked.append((start, end))
        return frame.iloc[start:end]

    pager = Pager(page_size=5)
    pager.set_rows(12, rows)
    pager.go(2)
    assert asked == [(0, 5), (10, 12)] and ">k11<" in pager.table.value and repr(pager) == "Pager(12 rows)"
    pager.set_rows(7, rows)                        # the current page kept when it still exists: here the last
    assert "rows 6–7 of 7" in text(pager.label.value) and asked[-1] == (5, 7)
    assert pager.frame["k"].tolist() == [f"k{i}" for i in range(7)]
    pager.set_frame(frame)
    assert pager.frame is frame and "rows 6–10 of 12" in text(pager.label.value)


# -- 100,000 rows -----------------------------------------------------------------------------------

def test_hundred_thousand_rows_render_small():
    res = make_result(n=100_000)
    assert len(res._repr_html_().encode()) < 200_000
    panel = ResultPanel(res)
    for title in TAB_TITLES:
        panel.select(title)
    assert panel_html_size(panel) < 200_000
    assert "rows 1–50 of 100,000" in text(panel.rows_pager.label.value)
    panel.rows_pager.go(1_999)
    assert "rows 99,951–100,000 of 100,000" in text(panel.rows_pager.label.value)
    assert panel_html_size(panel) < 200_000
    assert "Pager" not in repr(panel) and len(repr(panel)) < 110


# -- live progress ----------------------------------------------------------------------------------

def event(kind="batch", done=0, total=1000, wait=None, counts=None, elapsed=1.0, message=""):
    counts = counts or {"queued": done * 100, "not_queued": 0, "failed": 0, "unknown": 0, "skipped": 0}
    return ProgressEvent(ProgressKind(kind), done, total, total * 100, counts, elapsed, 1000.0, wait, message)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_text_progress_does_not_print_a_line_per_batch(capsys):
    clock = FakeClock()
    progress = LiveProgress(mode="text", clock=clock)
    progress(event("start"))
    for i in range(1, 1001):
        clock.now += 0.02                      # 1,000 batches over 20 s
        progress(event(done=i))
    progress(event("done", done=1000))
    lines = capsys.readouterr().out.splitlines()
    assert 2 <= len(lines) <= 7                # start, one every 5 s, done
    assert lines[0].startswith("sfmc: starting")
    assert lines[-1].startswith("sfmc: done") and "1,000/1,000 batches" in lines[-1]


def test_text_progress_instant_run_prints_two_lines():
    import io

    stream = io.StringIO()
    progress = LiveProgress(mode="text", stream=stream)
    progress(event("start"))
    for i in range(1, 1001):
        progress(event(done=i))
    progress(event("done", done=1000))
    assert len(stream.getvalue().splitlines()) == 2


def test_text_progress_shows_throttling(capsys):
    progress = LiveProgress(mode="text", clock=FakeClock())
    progress(event("start"))
    progress(event("throttle", done=3, wait=5.0))
    progress(event("throttle", done=3, wait=5.0))     # the same wait again: no second line
    out = capsys.readouterr().out
    assert out.count("throttled: waiting 5 s") == 1


def test_widget_progress_bar_counts_throttle_note_and_rate_limit():
    clock = FakeClock()
    progress = LiveProgress(mode="widget", display=False, clock=clock)
    progress(event("start", total=1000))
    view = progress.widget
    assert view is not None and "sfmc-progress" in view._dom_classes
    for i in range(1, 1001):
        progress(event(done=i))                 # all within the same instant: updates are throttled
    assert progress.updates <= 3
    progress.flush()
    assert view.bar.value == 1000 and view.bar.max == 1000
    progress(event("throttle", done=1000, wait=5.0))
    assert "throttled: waiting 5 s" in text(view.note.value)
    clock.now += 6
    progress(event("done", done=1000, counts={"queued": 99_990, "not_queued": 10}))
    assert text(view.note.value).strip() == ""
    assert "99,990 queued" in text(view.status.value) and "10 not queued" in text(view.status.value)
    assert view.bar.bar_style == "warning"
    assert repr(view) == "sfmc progress"


INTERRUPT_MESSAGE = "interrupted: finishing the batches in flight (press again to stop waiting)"


def interrupt_event(done=3):
    return ProgressEvent(ProgressKind.INTERRUPT, done, 1000, 100_000, {"queued": done * 100}, 2.0, 1000.0, None,
                         INTERRUPT_MESSAGE)


def test_text_progress_always_shows_the_interrupt():
    progress = LiveProgress(mode="text", clock=FakeClock())   # the clock never moves: batch lines are held back
    progress(event("start"))
    progress(event(done=3))
    progress(interrupt_event())
    assert len(progress.lines) == 2 and INTERRUPT_MESSAGE in progress.lines[-1]


def test_text_progress_shows_each_new_throttle_wait():
    progress = LiveProgress(mode="text", clock=FakeClock())
    progress(event("start"))
    progress(event("throttle", done=3, wait=1.0))
    progress(event("throttle", done=3, wait=4.0))   # a longer wait within the interval: news, shown
    assert [line.count("throttled: waiting") for line in progress.lines[1:]] == [1, 1]
    assert "waiting 4 s" in progress.lines[-1]


def test_widget_progress_shows_the_interrupt_until_the_run_ends():
    clock = FakeClock()
    progress = LiveProgress(mode="widget", display=False, clock=clock)
    progress(event("start"))
    view = progress.widget
    progress(interrupt_event())
    assert INTERRUPT_MESSAGE in text(view.note.value)
    clock.now += 1
    progress(event(done=4))                          # the batches in flight finish: the note stays
    progress(event("throttle", done=4, wait=2.0))
    assert INTERRUPT_MESSAGE in text(view.note.value) and "throttled: waiting 2 s" in text(view.note.value)
    clock.now += 3
    progress(event(done=5))
    assert INTERRUPT_MESSAGE in text(view.note.value) and "throttled" not in text(view.note.value)
    progress(event("done", done=5))
    assert text(view.note.value).strip() == ""


def test_plain_text_progress_always_shows_the_interrupt():
    import io

    stream = io.StringIO()
    progress = TextProgress(stream, every=3600)
    progress(event("start"))
    progress(event(done=3))
    progress(interrupt_event())
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and INTERRUPT_MESSAGE in lines[-1]


def test_widget_progress_is_safe_from_many_threads():
    progress = LiveProgress(mode="widget", display=False)
    progress(event("start"))

    def feed():
        for i in range(300):
            progress(event(done=i))

    threads = [threading.Thread(target=feed) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert progress.error is None and progress.events == 1201


def test_progress_modes(capsys):
    assert LiveProgress().mode == "text"            # no kernel here
    with pytest.raises(ValueError, match="mode must be one of"):
        LiveProgress(mode="loud")
    off = LiveProgress(mode="off")
    off(event("start"))
    off(event("done"))
    assert capsys.readouterr().out == "" and off.widget is None


def test_progress_never_raises_into_the_engine():
    progress = LiveProgress(mode="text", stream=object())   # a stream without write()
    progress(event("start"))
    assert progress.error is not None


# -- bounded tables for the exploration magics ------------------------------------------------------

@dataclass
class Journey:
    id: str
    key: str
    name: str
    version: int
    status: str
    entry_mode: str
    event_keys: list
    stats: dict
    raw: dict


def test_frame_html_is_bounded_titled_and_escaped():
    frame = pd.DataFrame({"key": [f"k{i}" for i in range(500)], "note": ["<b>x</b>"] * 500})
    page = frame_html(frame, max_rows=20, title="Members <all>")
    assert page.count("<tr>") == 21
    assert "rows 1–20 of 500" in text(page)
    assert "Members &lt;all&gt;" in page and "<b>x</b>" not in page
    assert "no rows" in frame_html(pd.DataFrame())
    long = frame_html(pd.DataFrame({"m": ["y" * 5000]}))
    assert "y" * 200 not in long and "…" in long


def test_frame_html_takes_objects_lists_and_dicts():
    j = Journey("id-1", "welcome", "Welcome <new>", 2, "Published", "SingleEntryAcrossAllVersions",
                ["ev-1"], {"current": 3}, {"huge": "x" * 10_000})
    page = journeys_html([j, j])
    assert "Welcome &lt;new&gt;" in page and "SingleEntryAcrossAllVersions" in page
    assert "huge" not in page and "<th>stats</th>" not in page
    one = frame_html(j, title="Journey")                        # one object: field/value rows
    assert "<td>entry_mode</td>" in one and "huge" not in one
    items = frame_html([{"contactKey": "c1", "status": "Exited"}, {"contactKey": "c2", "status": "Active"}])
    assert "Exited" in items and "Active" in items
    assert "value" in frame_html(["a", "b"])


def test_table_object_has_bounded_text_and_html():
    table = Table(pd.DataFrame({"k": range(300)}), title="Membership", max_rows=10)
    assert table._repr_html_().count("<tr>") == 11
    plain = repr(table)
    assert plain.startswith("Membership") and "290 more rows" in plain
    assert len(plain.splitlines()) < 15


def test_lower_layers_do_not_import_ipywidgets():
    code = ("import sys, sfmc_nb, sfmc_nb.client, sfmc_nb.auth, sfmc_nb.batching, sfmc_nb.engine, "
            "sfmc_nb.results, sfmc_nb.accessor; assert 'ipywidgets' not in sys.modules, 'ipywidgets imported'")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_statuses_cover_every_badge():
    head = ResultPanel(make_result()).header.value
    for status in STATUSES:
        assert f"sfmc-badge-{status}" in head


def test_retry_button_is_enabled_for_rows_an_interruption_left_unsent():
    from sfmc_nb.results import NOT_SENT

    res = EntryResult("APIEvent-x", pd.RangeIndex(3), ["a", "b", "c"])
    res.set_row(0, "queued", event_instance_id="e-1")
    res.set_row(1, "skipped", message=NOT_SENT)
    res.set_row(2, "skipped", message="blank contact key")
    res.interrupted = True
    res.attach_retry(FlipToQueued([]))
    panel = ResultPanel(res)
    assert panel.retryable() == 1 and not panel.retry_button.disabled


def test_panel_bundle_carries_an_html_table_for_static_renderers():
    res = EntryResult("APIEvent-x", pd.RangeIndex(2), ["a", "b"])
    res.set_row(0, "queued", event_instance_id="e-1")
    res.set_row(1, "not_queued", errorcode=10003, message="bad email")
    bundle = ResultPanel(res)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle       # live JupyterLab: the widget
    assert "1 not queued" in bundle["text/html"] and "bad email" in bundle["text/html"]
    assert bundle["text/plain"].startswith("ResultPanel(")


# -- errors by reason, and what static exports show ---------------------------------------------------

def test_the_errors_tab_groups_rows_by_reason_before_listing_them():
    res = make_result(n=30, pattern=["queued", "failed"])
    for pos in res.positions(["failed"]):
        res.set_row(pos, "failed", message="not queued after 6 failed attempts (last: HTTP 500 from POST /x)")
    panel = ResultPanel(res).select("Errors")
    errors_tab = panel.tabs.children[TAB_TITLES.index("Errors")]
    assert errors_tab.children[0] is panel.reasons_html and errors_tab.children[1] is panel.errors_pager
    shown = text(panel.reasons_html.value)
    assert "By reason" in shown and "HTTP 500" in shown and ".retry() later" in shown
    assert panel.reasons_html.value.count("<tr>") == 2          # 15 failed rows: one reason line
    assert "rows 1–15 of 15" in text(panel.errors_pager.label.value)


def test_static_exports_get_the_markdown_report_and_no_progress_text():
    bundle = ResultPanel(make_result())._repr_mimebundle_()
    assert bundle["text/markdown"].startswith("**Journey entry into 'Demo-Event'")
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/html" in bundle
    view = LiveProgress("widget", display=False)
    view(ProgressEvent(ProgressKind.START, 0, 1, 5, {"pending": 5}))
    progress_bundle = view.widget._repr_mimebundle_()
    assert progress_bundle["text/plain"] == "" and "application/vnd.jupyter.widget-view+json" in progress_bundle
    assert "5 pending" in text(view.widget.status.value)
