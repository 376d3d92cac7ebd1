"""``res.wait()``: processing followed through the status endpoint of the sandbox, over HTTP.

Every sandbox here lasts an hour per journey day, so nothing moves on by itself during a test; entries are
processed ``process_delay`` seconds after they were queued, or when ``advance()`` moves the clock. Every wait
is bounded by its ``timeout``.
"""

from __future__ import annotations

import importlib
import os
import signal
import threading
import time

import pandas as pd
import pytest
from IPython.core.error import UsageError

import sfmc_nb
from sfmc_nb import sandbox as sandbox_module
from sfmc_nb.engine import Processing
from sfmc_nb.errors import OutcomeUnknownError, RateLimitError, ValidationError
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


# -- a wait against a status endpoint that misbehaves: the time limit holds --------------------------------------

BATCHES = 60          # a whole pass over them takes far longer than any wait below allows
READ_TIMEOUT = 5.0    # the connection's own read timeout: the most a wait may overrun by (plus a margin)
MARGIN = 5.0          # generous: the machine is shared and noisy


@pytest.fixture
def queued(sb, monkeypatch):
    """A run of BATCHES batches that stay queued (nothing is processed until the clock is moved), and a
    connection with the default retry policy (real backoff, the way a user's connection retries). Followed
    batch by batch, as a run whose date window holds other runs' entries is (the window's requests are bounded
    the same way: test_a_hanging_status_endpoint_ends_a_wait_by_event_window_in_time)."""
    monkeypatch.setattr(processing_module, "BY_EVENT_AFTER", BATCHES)
    sb.configure(process_delay=600)
    connection = sfmc_nb.connect(sandbox=sb, timeout=(2.0, READ_TIMEOUT), set_default=False)
    res = sfmc_nb.enter_journey(people(BATCHES * 100, "q"), sb.event_key, data="all", connection=connection)
    assert res.counts["queued"] == BATCHES * 100
    yield res
    connection.close()


def timed_wait(res: EntryResult, timeout: float) -> float:
    started = time.monotonic()
    res.wait(timeout=timeout, poll=0.05)
    return time.monotonic() - started


def notes(res: EntryResult) -> pd.Series:
    """Rows by processing message."""
    return res.to_frame()["processing_message"].value_counts()


def batches_with(res: EntryResult, start: str) -> set[int]:
    frame = res.to_frame()
    return set(frame.loc[frame["processing_message"].str.startswith(start, na=False), "batch"])


def finish(sb, res: EntryResult) -> None:
    """Faults off, everything processed: a later wait follows every row to the end."""
    sb.configure(latency=0, error_rate=0.0, rate_limit=None)
    sb.advance(days=1)
    res.wait(timeout=60, poll=0.05)
    assert res.processing_counts == {"processed": BATCHES * 100, "errored": 0, "pending": 0}


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


def test_a_large_run_is_followed_by_event_and_date_window_in_a_few_requests(sb, conn):
    first = sfmc_nb.enter_journey(people(30, "big"), sb.single_entry_event_key, data="all", connection=conn)
    first.wait(timeout=10, poll=0.02)
    sb.backdate(hours=3)                     # the earlier run was hours ago (before the window, whatever the zone)
    big = people(2500, "big")                # 25 batches; big-000 .. big-029 entered before: refused again
    res = sfmc_nb.enter_journey(big, sb.single_entry_event_key, data="all", connection=conn, again=True)
    assert res.counts["queued"] == 2500
    start = len(sb.request_log)
    res.wait(timeout=60, poll=0.05)
    assert status_requests(sb, start) < 25 // 2      # not one request per batch
    frame = res.to_frame().set_index("contactKey")
    record = {e["contactKey"]: (e["status"], e["message"]) for e in sb.entries(sb.single_entry_event_key)
              if e["createdDate"] >= min(x["createdDate"] for x in sb.entries(sb.single_entry_event_key)[30:])}
    assert len(record) == 2500
    for key, (status, message) in record.items():    # the sandbox's own record, row by row
        assert frame.loc[key, "processing"] == status, key
        assert (frame.loc[key, "processing_message"] == message) if status == "errored" else pd.isna(
            frame.loc[key, "processing_message"])
    assert res.processing_counts == {"processed": 2470, "errored": 30, "pending": 0}


def test_a_large_run_sharing_its_window_with_another_run_is_followed_batch_by_batch(sb, conn):
    res = sfmc_nb.enter_journey(people(2500, "own"), sb.event_key, data="all", connection=conn)
    sfmc_nb.enter_journey(people(5, "other"), sb.event_key, data="all", connection=conn)   # in the same window
    start = len(sb.request_log)
    res.wait(timeout=60, poll=0.05)
    assert status_requests(sb, start) >= 25          # the window holds entries of another run: per batch
    assert res.processing_counts == {"processed": 2500, "errored": 0, "pending": 0}


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


def test_a_slow_status_endpoint_ends_the_wait_in_time_and_the_next_wait_goes_on(sb, queued):
    res = queued
    sb.configure(latency=0.5)                # a whole pass: 60 x 0.5 s = 30 s
    start = len(sb.request_log)
    assert timed_wait(res, 1.5) <= 1.5 + READ_TIMEOUT + MARGIN
    asked = status_requests(sb, start)
    checked = batches_with(res, "still queued after 1.5 s")
    reached = checked | batches_with(res, "the status endpoint failed")   # asked, but no answer in time
    assert 1 <= len(checked) <= asked <= len(checked) + 1 < BATCHES
    unasked = f"wait timed out after 1.5 s: {len(checked)} of {BATCHES} batches checked; call .wait() again to go on"
    assert notes(res).get(unasked) >= (BATCHES - len(checked) - 1) * 100
    assert res.processing_counts == {"processed": 0, "errored": 0, "pending": BATCHES * 100}

    sb.advance(days=1)                       # every entry is processed now: what the next wait asks, it finishes
    assert timed_wait(res, 1.5) <= 1.5 + READ_TIMEOUT + MARGIN
    done = set(res.to_frame().query("processing == 'processed'")["batch"])
    assert done and not done & reached       # it went on with the batches the first wait did not reach
    assert min(done) == max(reached) + 1
    assert res.processing_counts["processed"] == len(done) * 100
    finish(sb, res)


def test_a_hanging_status_endpoint_ends_the_wait_in_time(sb, queued):
    res = queued
    sb.configure(latency=3600)               # every status request hangs (until the sandbox stops)
    asked = sb.stats["rest_requests"]
    assert timed_wait(res, 1) <= 1 + READ_TIMEOUT + MARGIN
    assert 1 <= sb.stats["rest_requests"] - asked <= 2
    frame = res.to_frame()
    assert (frame["processing"] == "pending").all()
    first = frame["batch"] == frame["batch"].min()
    assert frame.loc[first, "processing_message"].str.contains("the status endpoint failed: .* no answer").all()
    assert frame.loc[~first, "processing_message"].str.match(
        rf"wait timed out after 1 s: 0 of {BATCHES} batches checked \(the status endpoint failed: .*no answer").all()
    finish(sb, res)                          # new connections, answered at once: the result is still usable


def test_a_hanging_status_endpoint_ends_a_wait_by_event_window_in_time(sb, queued, monkeypatch):
    monkeypatch.setattr(processing_module, "BY_EVENT_AFTER", 20)   # this run is asked about by event window first
    sb.configure(latency=3600)                                      # every status answer hangs
    assert timed_wait(queued, 1.5) <= 1.5 + READ_TIMEOUT + MARGIN
    assert queued.processing_counts["pending"] == BATCHES * 100
    sb.configure(latency=0)
    finish(sb, queued)


def test_a_status_endpoint_answering_500_ends_the_wait_in_time(sb, queued):
    res = queued
    sb.configure(error_rate=1.0)             # with backoff, a whole pass would take minutes
    asked = sb.stats["rest_requests"]
    assert timed_wait(res, 1) <= 1 + READ_TIMEOUT + MARGIN
    requests = sb.stats["rest_requests"] - asked
    assert 1 <= requests <= 12               # the failing endpoint is not asked once per batch
    frame = res.to_frame()
    assert (frame["processing"] == "pending").all()
    assert frame["processing_message"].str.contains(r"the status endpoint failed: HTTP 50[03]").all()
    unasked = frame["processing_message"].str.startswith(f"wait timed out after 1 s: 0 of {BATCHES} batches checked")
    assert unasked.sum() >= (BATCHES - requests) * 100
    finish(sb, res)


def test_a_429_with_a_long_retry_after_ends_the_wait_in_time(sb, queued):
    res = queued
    sb.configure(rate_limit=0.01, retry_after=60)   # one request admitted, then 429 asking for a minute
    start = len(sb.request_log)
    assert timed_wait(res, 1) <= 1 + READ_TIMEOUT + MARGIN
    log = [r["status"] for r in sb.request_log[start:] if r["path"] == STATUS_PATH]
    assert log == [200, 429]                 # one answer, one refusal, then no more asking before the minute is up
    by_batch = res.to_frame().groupby("batch")["processing_message"].first()
    assert by_batch.iloc[0] == "still queued after 1 s: call .wait() again later"
    assert by_batch.iloc[1].startswith("the status endpoint failed: HTTP 429")
    assert by_batch.iloc[2:].str.startswith(f"wait timed out after 1 s: 1 of {BATCHES} batches checked").all()
    finish(sb, res)


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="Ctrl-C is not turned into KeyboardInterrupt here")
def test_ctrl_c_during_a_hanging_status_request_returns_at_once_and_the_result_stays_usable(sb, queued):
    res = queued
    sb.configure(latency=3600)
    ctrl_c = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    ctrl_c.start()
    try:
        seconds = timed_wait(res, 20)        # the request alone would hang for its whole read timeout
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped wait()")
    finally:
        ctrl_c.cancel()
        ctrl_c.join()
    assert seconds < READ_TIMEOUT            # it did not wait the request out
    assert (notes(res).index == [f"the wait was interrupted: 0 of {BATCHES} batches checked; "
                                 "call .wait() again to go on"]).all()
    assert res.processing_counts["pending"] == BATCHES * 100
    finish(sb, res)


def test_a_status_request_with_a_deadline_times_out_with_it_and_waits_for_no_retry_past_it(sb, queued):
    conn = sfmc_nb.connect(sandbox=sb, timeout=(2.0, 30.0), set_default=False)   # 30 s read timeout of its own
    rid = queued.request_id[0]
    sb.configure(latency=3600)
    started = time.monotonic()
    with pytest.raises(OutcomeUnknownError, match="no answer from .* within 1 s"):
        conn.batch_status_page(request_id=rid, deadline=time.monotonic() + 1)
    assert time.monotonic() - started <= 1 + MARGIN
    sb.configure(latency=0, rate_limit=0.01, retry_after=60)
    conn.batch_status_page(request_id=rid)                        # the one request the bucket admits
    started = time.monotonic()
    with pytest.raises(RateLimitError):                           # not after waiting out the 60 s asked for
        conn.batch_status_page(request_id=rid, deadline=time.monotonic() + 2)
    assert time.monotonic() - started <= 2 + MARGIN
    conn.close()
