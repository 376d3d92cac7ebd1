"""``res.wait()``: processing followed through the status endpoint of the sandbox, over HTTP.

Every sandbox here lasts an hour per journey day, so nothing moves on by itself during a test; entries are
processed ``process_delay`` seconds after they were queued, or when ``advance()`` moves the clock. Every wait
is bounded by its ``timeout``.
"""

from __future__ import annotations

import importlib

import pandas as pd
import pytest
from IPython.core.error import UsageError

import sfmc_nb
from sfmc_nb import sandbox as sandbox_module
from sfmc_nb.engine import Processing
from sfmc_nb.errors import ValidationError
from sfmc_nb.results import PROCESSING, EntryResult

processing_module = importlib.import_module("sfmc_nb.engine.processing")
STATUS_PATH = "/interaction/v1/async/events/status"
FAST = sfmc_nb.RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.02, max_total_wait=0.1)


@pytest.fixture
def sb():
    with sandbox_module.start(seed=2, day_seconds=3600, process_delay=0.02) as box:
        yield box


@pytest.fixture
def conn(sb):
    connection = sfmc_nb.connect(sandbox=sb, timeout=(2.0, 5.0), retry=FAST, set_default=False)
    yield connection
    connection.close()


def people(n: int, prefix: str = "p") -> pd.DataFrame:
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:03d}" for i in range(n)],
                         "Email": [f"{prefix}{i}@example.com" for i in range(n)]})


def status_requests(sb, since: int) -> int:
    return sum(1 for r in sb.request_log[since:] if r["path"] == STATUS_PATH)


def test_every_queued_row_ends_processed_with_one_request_per_batch(sb, conn):
    res = sfmc_nb.enter_journey(people(250), sb.event_key, data="all", connection=conn)
    sb.advance(days=1)                       # everything queued is processed now
    start = len(sb.request_log)
    assert res.wait(timeout=10, poll=0.05) is res
    frame = res.to_frame()
    assert (frame["processing"] == "processed").all() and frame["processing_message"].isna().all()
    assert list(frame["processing"].cat.categories) == list(PROCESSING)
    assert status_requests(sb, start) == 3   # 3 batches of at most 100: one page each
    assert {k: res.summary[k] for k in PROCESSING} == {"processed": 250, "errored": 0, "pending": 0}
    start = len(sb.request_log)
    res.wait(timeout=10, poll=0.05)          # nothing left to follow: no request at all
    assert status_requests(sb, start) == 0


def test_a_second_entry_into_a_single_entry_journey_is_errored_with_the_reason(sb, conn):
    first = sfmc_nb.enter_journey(people(3, "once"), sb.single_entry_event_key, data="all", connection=conn)
    first.wait(timeout=10, poll=0.02)
    again = pd.concat([people(3, "once").iloc[[1]], people(2, "new")], ignore_index=True)
    second = sfmc_nb.enter_journey(again, sb.single_entry_event_key, data="all", connection=conn,
                                   again=True)   # once-001 a second time, on purpose
    assert second.counts["queued"] == 3      # the batch answer accepts all three ...
    second.wait(timeout=10, poll=0.02)       # ... processing refuses the one that entered before
    frame = second.to_frame().set_index("contactKey")
    assert frame.loc["once-001", "processing"] == "errored"
    assert "does not allow re-entry" in frame.loc["once-001", "processing_message"]
    assert "once-001" in frame.loc["once-001", "processing_message"]
    assert (frame.loc[["new-000", "new-001"], "processing"] == "processed").all()
    assert frame.loc[["new-000", "new-001"], "processing_message"].isna().all()
    assert {k: second.summary[k] for k in PROCESSING} == {"processed": 2, "errored": 1, "pending": 0}
    refused = {e["contactKey"]: e["message"] for e in sb.entries(sb.single_entry_event_key)
               if e["status"] == "errored"}
    assert refused == {"once-001": frame.loc["once-001", "processing_message"]}   # the sandbox's own record


def test_rows_still_queued_when_the_time_is_up_are_pending_and_a_later_wait_finishes_them(sb, conn):
    sb.configure(process_delay=600)          # nothing is processed until the clock is moved
    res = sfmc_nb.enter_journey(people(5), sb.event_key, data="all", connection=conn)
    start = len(sb.request_log)
    res.wait(timeout=0.3, poll=0.05)
    frame = res.to_frame()
    assert (frame["processing"] == "pending").all()
    assert frame["processing_message"].str.contains("still queued after 0.3 s").all()
    asked = status_requests(sb, start)
    assert 2 <= asked <= 7                   # polled, with the interval growing, within the time limit
    sb.advance(days=1)
    res.wait(timeout=10, poll=0.05)
    assert (res.to_frame()["processing"] == "processed").all()


def test_rows_that_never_queued_have_no_processing(sb, conn):
    df = people(3)
    df.loc[1, "Email"] = "not-an-email"      # refused per member: not_queued
    res = sfmc_nb.enter_journey(df, sb.event_key, data="all", connection=conn, validate=False)
    res.wait(timeout=10, poll=0.02)
    frame = res.to_frame()
    assert frame.loc[1, "status"] == "not_queued" and pd.isna(frame.loc[1, "processing"])
    assert (frame.loc[[0, 2], "processing"] == "processed").all()


def test_a_failing_status_endpoint_leaves_rows_pending_with_the_reason(sb, conn):
    res = sfmc_nb.enter_journey(people(2), sb.event_key, data="all", connection=conn)
    sb.configure(error_rate=1.0)
    res.wait(timeout=0.2, poll=0.05)
    frame = res.to_frame()
    assert (frame["processing"] == "pending").all()
    assert frame["processing_message"].str.startswith("the status endpoint failed").all()


def test_batches_are_read_page_by_page_when_pages_are_small(sb, conn, monkeypatch):
    monkeypatch.setattr(processing_module, "STATUS_PAGE_SIZE", 30)
    res = sfmc_nb.enter_journey(people(100), sb.event_key, data="all", connection=conn)
    sb.advance(days=1)
    start = len(sb.request_log)
    res.wait(timeout=10, poll=0.05)
    assert (res.to_frame()["processing"] == "processed").all()
    assert status_requests(sb, start) == 4   # 30 + 30 + 30 + 10


def test_a_retried_row_is_followed_again(sb, conn):
    res = sfmc_nb.enter_journey(people(2), sb.event_key, data="all", connection=conn)
    res.wait(timeout=10, poll=0.02)
    res.set_row(0, "queued", event_instance_id="x", request_id=None)   # as a resend would
    assert pd.isna(res.to_frame().loc[0, "processing"])


def test_wait_refuses_bad_limits_and_results_that_cannot_follow(sb, conn):
    res = sfmc_nb.enter_journey(people(1), sb.event_key, data="all", connection=conn)
    with pytest.raises(ValidationError, match="timeout"):
        res.wait(timeout=-1)
    with pytest.raises(ValidationError, match="poll"):
        res.wait(poll=0)
    dry = sfmc_nb.enter_journey(people(1), sb.event_key, data="all", connection=conn, dry_run=True)
    with pytest.raises(RuntimeError, match="not made by a live run"):
        dry.wait()
    copy = EntryResult(sb.event_key, res.index, list(res.contact_keys), status=list(res.status),
                       event_instance_id=list(res.event_instance_id), request_id=list(res.request_id))
    with pytest.raises(RuntimeError, match="Processing"):
        copy.wait()
    Processing(conn).wait(copy, timeout=10, poll=0.02)   # what the message says to do
    assert copy.processing == ["processed"]


def test_the_panel_shows_what_processing_found(sb, conn):
    from sfmc_nb.widgets import ResultPanel

    sfmc_nb.enter_journey(people(1, "twice"), sb.single_entry_event_key, data="all",
                          connection=conn).wait(timeout=10, poll=0.02)
    res = sfmc_nb.enter_journey(pd.concat([people(1, "twice"), people(1, "first")], ignore_index=True),
                                sb.single_entry_event_key, data="all", connection=conn,
                                again=True)   # twice-000 a second time, on purpose
    panel = ResultPanel(res).select("Errors")
    assert "processing:" not in panel.header.value
    res.wait(timeout=10, poll=0.02)          # the panel listens to the result: no refresh call needed
    assert "processing:" in panel.header.value and "1 errored" in panel.header.value
    assert "1 processed" in panel.header.value
    assert "twice-000" in panel.errors_pager.table.value
    assert "already entered journey" in panel.errors_pager.table.value
    assert "first-000" not in panel.errors_pager.table.value


def test_journey_enter_wait_follows_processing(sb, conn, shell):
    sfmc_nb.set_default_connection(conn)
    shell.run_line_magic("load_ext", "sfmc_nb")
    shell.run_line_magic("config", "SfmcMagics.display = 'text'")
    shell.run_line_magic("config", "SfmcMagics.progress = False")
    body = "SubscriberKey,Email\nw-1,w1@example.com\nw-2,w2@example.com\n"
    shell.run_cell_magic("journey_enter", f"res --event {sb.event_key} --wait=10", body)
    assert shell.user_ns["res"].processing == ["processed", "processed"]
    shell.run_cell_magic("journey_enter", f"res2 --event {sb.event_key} --wait", body.replace("w-", "v-"))
    assert shell.user_ns["res2"].processing == ["processed", "processed"]
    shell.run_cell_magic("journey_enter", f"res3 --event {sb.event_key}", body.replace("w-", "u-"))
    assert shell.user_ns["res3"].processing == [None, None]             # without --wait: not followed
    entered = sb.entry_counts(sb.event_key)
    with pytest.raises(UsageError, match="timeout"):   # refused before anything is sent
        shell.run_cell_magic("journey_enter", f"res4 --event {sb.event_key} --wait=-5 --again", body)
    assert sb.entry_counts(sb.event_key) == entered
    with pytest.raises(UsageError, match="--wait"):
        shell.run_cell_magic("journey_enter", f"res4 --event {sb.event_key} --wait=soon", body)


def test_ctrl_c_ends_the_wait_and_says_so(sb, conn):
    sb.configure(process_delay=600)
    res = sfmc_nb.enter_journey(people(2), sb.event_key, data="all", connection=conn)

    def stop(seconds):
        raise KeyboardInterrupt

    Processing(conn, sleep=stop).wait(res, timeout=10, poll=0.05)     # returns: Ctrl-C ends the wait only
    frame = res.to_frame()
    assert (frame["processing"] == "pending").all()
    assert frame["processing_message"].str.startswith("the wait was interrupted").all()
