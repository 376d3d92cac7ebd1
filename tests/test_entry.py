"""The submission engine against the sandbox over real HTTP.

Each fault test asserts from the sandbox's own state that every contact entered exactly once and
that every input row ends with a status.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import pandas as pd
import pytest
from _sandbox_helpers import fast_conn, kill_run_after, killed_run_frame, status_gets

import sfmc_nb
from sfmc_nb import enter_journey
from sfmc_nb.errors import SfmcWarning, ValidationError
from sfmc_nb.results import NOT_SENT

HORIZON = 0.5   # seconds a request in doubt may still land here (the sandbox works on no request longer)
DATA = ["Email", "FirstName"]   # the columns contacts() makes besides the key: named when the checks are off


def contacts(n, prefix="c", start=0):
    return pd.DataFrame({
        "SubscriberKey": [f"{prefix}-{i:05d}" for i in range(start, start + n)],
        "Email": [f"{prefix}{i}@example.com" for i in range(start, start + n)],
        "FirstName": ["Ann", "Bo", None, "Cy"] * (n // 4) + ["Di"] * (n % 4),
    }, index=pd.RangeIndex(1000, 1000 + n, name="row"))


def assert_exactly_once(sb, df, res, key="SubscriberKey"):
    counts = sb.entry_counts(sb.event_key)
    assert set(counts) == set(df[key]), "every contact entered"
    assert max(counts.values()) == 1, f"entered twice: {[k for k, v in counts.items() if v > 1][:5]}"
    frame = res.to_frame()
    assert len(frame) == len(df) and frame["status"].notna().all()
    assert (frame["status"] == "queued").all(), frame[frame["status"] != "queued"].head()
    assert frame.index.equals(df.index)


def test_enters_every_row_once_with_per_row_results(sandbox):
    conn = fast_conn(sandbox)
    df = contacts(250)
    res = enter_journey(df, sandbox.event_key, data=["Email", "FirstName"], connection=conn)
    assert_exactly_once(sandbox, df, res)
    frame = res.to_frame()
    assert list(frame.columns) == ["contactKey", "status", "eventInstanceId", "errorcode", "message", "requestId",
                                   "batch", "attempts", "processing", "processing_message"]
    assert frame["eventInstanceId"].notna().all() and frame["requestId"].nunique() == 3
    assert sorted(frame["batch"].unique().tolist()) == [0, 1, 2]
    assert res.summary["queued"] == 250 and res.summary["batches"] == 3 and res.summary["requests"] == 3
    first = [e for e in sandbox.entries(sandbox.event_key) if e["contactKey"] == "c-00000"]   # batches go at once
    assert first[0]["data"] == {"Email": "c0@example.com", "FirstName": "Ann"}
    nulls = [e for e in sandbox.entries(sandbox.event_key) if e["contactKey"] == "c-00002"]
    assert nulls[0]["data"]["FirstName"] is None


def test_429_with_retry_after_header_pauses_and_enters_once(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(retry_after=0.2)
    sandbox.inject("429", count=5)
    df = contacts(400)
    res = enter_journey(df, sandbox.event_key, connection=conn, concurrency=4)
    assert_exactly_once(sandbox, df, res)
    assert res.throttled_waits >= 5 and res.throttled_seconds >= 0.2
    assert res.throttled_seconds <= res.seconds      # overlapping waits of parallel batches count once


def test_429_with_only_a_body_backs_off_and_enters_once(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(rate_limit=10, rate_limit_style="body")
    sandbox.inject("429-body", count=3)
    df = contacts(1500)
    res = enter_journey(df, sandbox.event_key, connection=conn, concurrency=8)
    assert_exactly_once(sandbox, df, res)
    assert sandbox.stats["throttled"] >= 1 and res.throttled_waits >= 1


def test_5xx_is_reconciled_then_resent_once(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(error_rate=0.25)
    df = contacts(1000)
    res = enter_journey(df, sandbox.event_key, connection=conn, landing_horizon=HORIZON)
    assert_exactly_once(sandbox, df, res)
    assert sandbox.stats["server_errors"] >= 1 and res.retries >= 1 and res.reconciliations >= 1


def test_token_expiry_mid_run_is_invisible(sandbox):
    conn = fast_conn(sandbox)
    expired = []

    def expire_twice(event):
        if event.kind == "batch" and event.batches_done in (2, 5):
            sandbox.expire_tokens()
            expired.append(event.batches_done)

    df = contacts(800)
    res = enter_journey(df, sandbox.event_key, connection=conn, progress=expire_twice, concurrency=2)
    assert_exactly_once(sandbox, df, res)
    assert expired == [2, 5] and sandbox.stats["token_requests"] >= 3


def test_lost_answers_are_reconciled_not_resent(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(lost_answer_rate=0.3)
    df = contacts(600)
    res = enter_journey(df, sandbox.event_key, connection=conn, concurrency=4)
    assert_exactly_once(sandbox, df, res)
    assert sandbox.stats["lost_answers"] >= 1 and res.reconciliations >= sandbox.stats["lost_answers"]


def test_dropped_before_processing_is_resent_once(sandbox):
    conn = fast_conn(sandbox)
    sandbox.inject("drop", count=2)
    df = contacts(300)
    res = enter_journey(df, sandbox.event_key, connection=conn, concurrency=2, landing_horizon=HORIZON)
    assert_exactly_once(sandbox, df, res)
    assert res.reconciliations >= 2


def test_duplicate_keys_across_batches_with_lost_answers_enter_as_often_as_given(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(lost_answer_rate=0.4)
    df = pd.concat([contacts(150), contacts(150)], ignore_index=True)
    with pytest.warns(SfmcWarning, match="150 rows repeat the contact key of an earlier row"):
        res = enter_journey(df, sandbox.event_key, connection=conn, concurrency=3)
    assert any("uplicate" in w for w in res.warnings)
    counts = sandbox.entry_counts(sandbox.event_key)
    assert set(counts.values()) == {2} and len(counts) == 150
    assert (res.to_frame()["status"] == "queued").all()


def test_request_quota_forces_concurrency_down_and_all_enter(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(rate_limit=10, rate_limit_style="header", retry_after=0.3, latency=0.02)
    df = contacts(3000)
    res = enter_journey(df, sandbox.event_key, connection=conn, concurrency=8)
    assert_exactly_once(sandbox, df, res)
    assert res.concurrency == 8 and res.lowest_concurrency < 8
    assert res.throttled_waits >= 1


def test_failures_past_the_budget_end_failed_and_retry_finishes_them(sandbox):
    conn = fast_conn(sandbox)
    sandbox.inject("500", count=6)        # one batch fails every attempt
    df = contacts(150)
    res = enter_journey(df, sandbox.event_key, connection=conn, concurrency=1, landing_horizon=0.1)
    assert res.counts["failed"] == 100 and res.counts["queued"] == 50
    assert "failed attempts" in res.errors()["message"].iloc[0]
    res.retry()
    assert_exactly_once(sandbox, df, res)


def test_unknown_when_status_cannot_be_read_then_retry_reconciles_without_resending(sandbox, monkeypatch):
    conn = fast_conn(sandbox)
    df = contacts(40)
    sandbox.inject("lost-answer", count=1)
    monkeypatch.setattr(conn, "batch_status_read", _failing_status)   # the status endpoint is down too
    res = enter_journey(df, sandbox.event_key, connection=conn)
    assert res.counts["unknown"] == 40 and sandbox.entry_counts(sandbox.event_key).total() == 40
    assert "not resent" in res.errors()["message"].iloc[0]
    monkeypatch.undo()                                           # the status endpoint is back
    res.retry()
    assert_exactly_once(sandbox, df, res)
    assert sandbox.stats["batches_accepted"] == 1


def _failing_status(*args, **kwargs):
    raise sfmc_nb.ServerError(status=503, method="GET", path="/interaction/v1/async/events/status")


def test_interrupted_run_resumes_from_its_journal(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    sandbox.configure(latency=0.02)
    journal = tmp_path / "run.jsonl"
    df = contacts(2000)

    def interrupt(event):
        if event.kind == "batch" and event.batches_done == 5:
            raise KeyboardInterrupt

    res = enter_journey(df, sandbox.event_key, connection=conn, journal=journal, progress=interrupt, concurrency=4)
    assert res.interrupted
    counts = res.counts
    assert 0 < counts["queued"] < 2000 and counts["skipped"] > 0
    assert sum(counts.values()) == 2000
    assert set(res.to_frame()["message"][res.to_frame()["status"] == "skipped"]) == {NOT_SENT}
    entered_before = sandbox.entry_counts(sandbox.event_key).total()
    assert entered_before == counts["queued"]

    with pytest.warns(SfmcWarning, match="resumed from .*rows already queued"):
        again = enter_journey(df, sandbox.event_key, connection=conn, journal=journal, concurrency=4)
    assert_exactly_once(sandbox, df, again)
    assert any("resumed" in w for w in again.warnings)
    assert again.summary["batches"] < 20


def test_interrupted_run_can_be_finished_with_retry(sandbox):
    conn = fast_conn(sandbox)
    df = contacts(1000)

    def interrupt(event):
        if event.kind == "batch" and event.batches_done == 3:
            raise KeyboardInterrupt

    res = enter_journey(df, sandbox.event_key, connection=conn, progress=interrupt, concurrency=2)
    assert res.interrupted and res.counts["queued"] < 1000
    res.retry(progress=None)             # the interrupting callback stays behind
    assert_exactly_once(sandbox, df, res)
    assert not res.interrupted


def test_run_killed_with_sigkill_resumes_from_its_journal(sandbox, tmp_path):
    sandbox.configure(latency=0.05)
    journal = tmp_path / "killed.jsonl"
    kill_run_after(sandbox, journal, batches=6)
    time.sleep(0.2)
    before = sandbox.entry_counts(sandbox.event_key).total()
    assert 0 < before < 3000
    records = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    assert records[0]["kind"] == "run" and any(r["kind"] == "sent" for r in records)

    sandbox.configure(latency=0.0)
    df = killed_run_frame()
    conn = fast_conn(sandbox)
    # a batch journalled as sent may have been killed before it left: it is resent once past its horizon
    with pytest.warns(SfmcWarning, match="resumed from .*rows already queued"):
        res = enter_journey(df, sandbox.event_key, connection=conn, journal=journal, landing_horizon=HORIZON)
    assert_exactly_once(sandbox, df, res)


def test_journal_of_another_input_is_refused(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    journal = tmp_path / "j.jsonl"
    enter_journey(contacts(10), sandbox.event_key, connection=conn, journal=journal)
    with pytest.raises(ValidationError, match="journal"):
        enter_journey(contacts(12), sandbox.event_key, connection=conn, journal=journal)
    with pytest.raises(ValidationError, match="journal"):
        enter_journey(contacts(10, prefix="z"), sandbox.event_key, connection=conn, journal=journal)


# --------------------------------------------------------------------------- validation and input


def test_unknown_event_key_is_refused_before_sending(sandbox):
    conn = fast_conn(sandbox)
    with pytest.raises(ValidationError, match="not found"):
        enter_journey(contacts(5), "No-Such-Event", connection=conn)
    assert sandbox.stats["batches_accepted"] == 0


def test_draft_only_event_is_refused_with_the_fix(sandbox):
    conn = fast_conn(sandbox)
    with pytest.raises(ValidationError, match="Published"):
        enter_journey(contacts(5), sandbox.draft_event_key, connection=conn)


def test_event_shared_by_too_many_journeys_is_refused(sandbox):
    conn = fast_conn(sandbox)
    with pytest.raises(ValidationError, match="at most 10"):
        enter_journey(contacts(5), sandbox.shared_event_key, connection=conn)


def test_data_column_missing_from_the_entry_data_extension_is_named(sandbox):
    conn = fast_conn(sandbox)
    df = contacts(5).assign(Shoe="42")
    with pytest.raises(ValidationError, match="Shoe") as info:
        enter_journey(df, sandbox.event_key, data="all", connection=conn)
    assert "FirstName" in str(info.value)
    assert sandbox.stats["batches_accepted"] == 0


def test_text_too_long_for_its_column_skips_the_row(sandbox):
    conn = fast_conn(sandbox)
    df = contacts(8)
    df.loc[1003, "FirstName"] = "x" * 51
    res = enter_journey(df, sandbox.event_key, data=["Email", "FirstName"], connection=conn)
    frame = res.to_frame()
    assert frame.loc[1003, "status"] == "skipped" and "50" in frame.loc[1003, "message"]
    assert res.counts["queued"] == 7 and "c-00003" not in sandbox.entry_counts(sandbox.event_key)


def test_blank_keys_are_skipped_and_bad_emails_not_queued(sandbox):
    conn = fast_conn(sandbox)
    df = contacts(6)
    df.loc[1001, "SubscriberKey"] = "  "
    df.loc[1002, "SubscriberKey"] = None
    df.loc[1004, "Email"] = "not-an-email"
    res = enter_journey(df, sandbox.event_key, data=["Email"], connection=conn)
    frame = res.to_frame()
    assert list(frame["status"]) == ["queued", "skipped", "skipped", "queued", "not_queued", "queued"]
    assert frame.loc[1004, "errorcode"] is not pd.NA and frame.loc[1004, "message"]
    assert len(res.errors()) == 3
    assert sandbox.entry_counts(sandbox.event_key).total() == 3


def test_dry_run_sends_nothing_and_previews_payloads(sandbox):
    conn = fast_conn(sandbox)
    res = enter_journey(contacts(250), sandbox.event_key, data=["Email"], connection=conn, dry_run=True)
    assert res.dry_run and sandbox.stats["batches_accepted"] == 0
    assert len(res.preview) == 3 and len(res.preview[0]) == 100
    assert res.preview[0][0] == {"contactKey": "c-00000", "data": {"Email": "c0@example.com"}}
    assert repr(res).startswith("Dry run for 'APIEvent-welcome': 250 rows: 250 would be sent, 0 refused")
    assert res.errors().empty


def test_dry_run_errors_list_only_the_rows_refused_before_sending(sandbox):
    conn = fast_conn(sandbox)
    df = contacts(30)
    df.loc[1004, "SubscriberKey"] = " "
    res = enter_journey(df, sandbox.event_key, connection=conn, dry_run=True)
    assert list(res.errors().index) == [1004]
    assert "29 would be sent, 1 refused" in repr(res) and "1 row would not be sent" in repr(res)


def test_contact_key_defaults_to_subscriber_key_and_bad_options_are_clear(sandbox):
    conn = fast_conn(sandbox)
    df = pd.DataFrame({"contactkey": ["a", "b"]})
    res = enter_journey(df, sandbox.event_key, connection=conn)
    assert res.counts["queued"] == 2
    with pytest.raises(ValidationError, match="contact_key"):
        enter_journey(pd.DataFrame({"Id": ["a"]}), sandbox.event_key, connection=conn)
    with pytest.raises(ValidationError, match="concurrency"):
        enter_journey(df, sandbox.event_key, connection=conn, concurrency=0)


def test_default_connection_is_used(sandbox):
    sfmc_nb.connect(sandbox=sandbox)
    res = enter_journey(contacts(3), sandbox.event_key)
    assert res.counts["queued"] == 3


def test_result_reprs_are_bounded_and_name_the_errors(sandbox):
    conn = fast_conn(sandbox)
    df = contacts(300)
    df.loc[1010:1040, "Email"] = "broken"
    res = enter_journey(df, sandbox.event_key, data=["Email"], connection=conn)
    text = repr(res)
    assert "269 queued" in text and "31 not queued" in text and "first 10" in text
    html = res._repr_html_()
    assert html.count("<tr") < 60 and "not queued" in html
    assert len(res.batches) == 3 and set(res.batches["httpStatus"]) == {202}


def test_accessor_enters_a_dataframe_after_a_plain_import(sandbox):
    code = "import pandas as pd, sfmc_nb; assert hasattr(pd.DataFrame(), 'sfmc')"
    import subprocess as sp
    assert sp.run([sys.executable, "-c", code], timeout=60).returncode == 0
    sfmc_nb.connect(sandbox=sandbox)
    df = contacts(120)
    res = df.sfmc.enter_journey(sandbox.event_key, data=["Email"], concurrency=2)
    assert_exactly_once(sandbox, df, res)
    assert [len(b) for b in df.sfmc.batches("SubscriberKey", size=50)] == [50, 50, 20]


def test_a_401_surviving_the_token_refresh_is_sent_again_not_failed(sandbox, monkeypatch):
    conn = fast_conn(sandbox)
    handed = []
    real_get = conn.tokens.get

    def revoked_twice():
        token = real_get()
        handed.append(token)
        if len(handed) <= 2:              # the token and its one refresh are both revoked at once
            sandbox.expire_tokens()
        return token

    monkeypatch.setattr(conn.tokens, "get", revoked_twice)
    df = contacts(50)
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, validate=False)
    assert_exactly_once(sandbox, df, res)
    assert res.retries == 1 and res.to_frame()["attempts"].eq(2).all()


def test_reconciliation_never_takes_an_earlier_runs_entry(sandbox):
    conn = fast_conn(sandbox)
    df = pd.DataFrame({"SubscriberKey": ["A1", "B2"]})
    first = enter_journey(df, sandbox.event_key, connection=conn, validate=False)
    time.sleep(3.5)   # beyond the 2 s allowance plus the 1 s resolution of the server's Date header
    sandbox.inject("500", count=1)                 # answered 500, not carried out: must be resent
    second = enter_journey(df, sandbox.event_key, connection=conn, validate=False, landing_horizon=HORIZON,
                           again=True)   # the same contacts on purpose: two entries of each to tell apart
    assert sandbox.entry_counts(sandbox.event_key) == {"A1": 2, "B2": 2}
    assert set(second.to_frame()["eventInstanceId"]).isdisjoint(first.to_frame()["eventInstanceId"])
    assert second.reconciliations == 2 and second.retries == 1   # looked up at once, and again past the horizon


def test_a_key_is_in_one_batch_in_flight_at_a_time(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(latency=0.05)
    sandbox.inject("lost-answer", count=2)         # the first two batches are carried out, answers lost
    df = pd.DataFrame({"SubscriberKey": ["X1", "K", "Y2", "K"]})
    with pytest.warns(SfmcWarning, match="1 row repeat the contact key of an earlier row"):
        res = enter_journey(df, sandbox.event_key, connection=conn, validate=False, batch_size=2, concurrency=2)
    frame = res.to_frame()
    assert sandbox.entry_counts(sandbox.event_key) == {"X1": 1, "K": 2, "Y2": 1}
    assert (frame["status"] == "queued").all()
    k_ids = frame.loc[frame["contactKey"] == "K", "eventInstanceId"]
    assert k_ids.nunique() == 2                    # each K row holds its own entry


def test_ctrl_c_stops_sending_lets_batches_in_flight_finish_and_retry_completes(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(latency=0.02)
    df = contacts(1500)

    def press_ctrl_c(event):
        if event.kind == "batch" and event.batches_done == 3:
            os.kill(os.getpid(), signal.SIGINT)   # what the kernel's stop button does

    res = enter_journey(df, sandbox.event_key, connection=conn, progress=press_ctrl_c, concurrency=4)
    counts = res.counts
    assert res.interrupted and counts["unknown"] == 0 and counts["failed"] == 0
    assert 0 < counts["queued"] < 1500 and counts["queued"] + counts["skipped"] == 1500
    assert sandbox.entry_counts(sandbox.event_key).total() == counts["queued"]
    assert res.retryable() == counts["skipped"]
    res.retry(progress=None)
    assert_exactly_once(sandbox, df, res)


def test_reconciliation_reads_the_recent_window_when_that_is_cheaper(sandbox):
    conn = fast_conn(sandbox)
    sandbox.inject("lost-answer", count=1)
    df = contacts(300)
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, validate=False, concurrency=1)
    assert_exactly_once(sandbox, df, res)
    assert res.reconciliations == 1 and status_gets(sandbox) <= 3   # 100 entries: 2 pages, not 100 lookups


def test_reconciliation_finds_the_request_by_its_id_when_the_window_is_busy(sandbox):
    conn = fast_conn(sandbox)
    earlier = contacts(2000, prefix="old")
    enter_journey(earlier, sandbox.event_key, data=DATA, connection=conn, validate=False)
    sandbox.inject("lost-answer", count=1)
    df = contacts(20)
    before = status_gets(sandbox)
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, validate=False)
    assert set(sandbox.entry_counts(sandbox.event_key).values()) == {1}
    assert (res.to_frame()["status"] == "queued").all()
    # the zone learned once, one page of the window (2,020 entries: too many to read), one contact asked
    # about unless that page shows the request already, then the request by requestId: not one per contact
    reads = status_gets(sandbox) - before
    assert reads <= 4 and res.requests == 1 + reads


def test_keys_the_window_does_not_show_are_asked_about_one_by_one(sandbox):
    conn = fast_conn(sandbox)
    df = contacts(100)
    df.loc[[1010, 1050, 1090], "Email"] = "not-an-email"      # refused per member: never in the status list
    sandbox.inject("lost-answer", count=1)
    res = enter_journey(df, sandbox.event_key, data=["Email"], connection=conn, validate=False,
                        landing_horizon=HORIZON)
    counts = sandbox.entry_counts(sandbox.event_key)
    assert len(counts) == 97 and set(counts.values()) == {1}
    assert res.counts["queued"] == 97 and res.counts["not_queued"] == 3   # resent once, refused again
    # one page of the window shows the request; its 97 entries by requestId (2 pages); once past the horizon,
    # the request again (2 pages): the three keys it lacks were refused, not entered, and are sent again
    assert status_gets(sandbox) == 1 + 2 + 2


def test_rows_in_doubt_from_a_crashed_run_are_dated_by_their_own_send(sandbox, tmp_path, monkeypatch):
    conn = fast_conn(sandbox)
    journal = tmp_path / "crash.jsonl"
    df = contacts(3)
    sandbox.inject("lost-answer", count=1)
    monkeypatch.setattr(conn, "batch_status_read", _failing_status)   # status endpoint down: rows stay unknown
    first = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, journal=journal, validate=False)
    assert first.counts["unknown"] == 3
    time.sleep(3.5)                                                    # the next session starts much later
    with pytest.warns(SfmcWarning, match="resumed from .*: 0 rows already queued, 3 in doubt"):
        second = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, journal=journal, validate=False)
    assert second.counts["unknown"] == 3
    monkeypatch.undo()                                                 # the endpoint is back
    second.retry()
    assert_exactly_once(sandbox, df, second)                           # found, not sent a second time


def test_pressing_ctrl_c_twice_stops_waiting_and_retry_collects_the_batches_in_flight(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(latency=0.3, jitter=0.2)   # answers spread out: some batch is still out after the second
    df = contacts(2000)

    def press_twice(event):
        if event.kind == "batch" and event.batches_done == 2:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    res = enter_journey(df, sandbox.event_key, connection=conn, progress=press_twice, concurrency=4)
    assert res.interrupted and res.counts["unknown"] > 0          # left in flight, not waited for
    assert sum(res.counts.values()) == 2000
    res.retry(progress=None)
    assert_exactly_once(sandbox, df, res)


def test_dating_status_items():
    from sfmc_nb.engine.dates import TenantTime
    from sfmc_nb.engine.reconcile import dated

    since = 1_800_000_000.0
    iso = lambda t: datetime.fromtimestamp(t, tz=timezone.utc).isoformat()  # noqa: E731
    system = lambda t, hours=-6: datetime.fromtimestamp(t + hours * 3600, tz=timezone.utc).replace(  # noqa: E731
        tzinfo=None).isoformat(timespec="milliseconds")
    guessing = TenantTime()                      # nothing learned: UTC-6, with UTC-7 (stack S4) allowed for
    item = lambda text: {"createdDate": text}   # noqa: E731
    assert dated(item(iso(since + 0.5)), since, 0.0, guessing) == "after"
    assert dated(item(iso(since - 10)), since, 0.0, guessing) == "before"
    assert dated(item(iso(since - 1)), since, 0.0, guessing) == "after"      # within the 2 s allowance
    assert dated(item(iso(since + 60)), since, 60.0, guessing) == "after"    # server clock a minute ahead
    assert dated(item(system(since + 0.5)), since, 0.0, guessing) == "after"     # zone-less, read as UTC-6
    assert dated(item(system(since - 600)), since, 0.0, guessing) == "undated"   # UTC-7 would make it ours
    assert dated(item(system(since - 2 * 3600)), since, 0.0, guessing) == "before"
    assert dated(item(system(since + 0.5, -7)), since, 0.0, guessing) == "undated"  # an S4 tenant, not learned
    assert dated({}, since, 0.0, guessing) == "undated"
    assert dated(item(iso(since - 100)), since, None, guessing) == "undated"  # no Date header: minutes of doubt
    assert dated(item(iso(since - 1000)), since, None, guessing) == "before"
    s4 = TenantTime()
    s4.note_answer("r1", since - 5, since - 4)
    s4.learn_from([{"requestId": "r1", "createdDate": system(since - 4.5, -7)}], 0.0)
    assert s4.zone == -7 * 3600
    assert dated(item(system(since + 0.5, -7)), since, 0.0, s4) == "after"
    assert dated(item(system(since - 600, -7)), since, 0.0, s4) == "before"
    assert s4.start_date(since, 0.0) == system(since, -7)[:19]               # startDate in its system time
    assert guessing.start_date(since, 0.0) == system(since, -7)[:19]         # never later than meant


def test_entries_that_cannot_be_dated_leave_the_row_unknown_not_queued(sandbox):
    df = pd.DataFrame({"SubscriberKey": ["A1"]})
    enter_journey(df, sandbox.event_key, connection=fast_conn(sandbox), validate=False)   # an earlier entry of A1
    sandbox.backdate(minutes=10)             # ... made ten minutes ago
    fresh = fast_conn(sandbox)               # a new connection: no answered entry to learn the zone from
    sandbox.inject("500", count=1)           # not carried out: only the earlier entry exists
    res = enter_journey(df, sandbox.event_key, connection=fresh, validate=False, landing_horizon=HORIZON,
                        again=True)   # A1 again on purpose
    # on a UTC-7 tenant it would be this run's: neither taken as queued nor sent again
    assert res.counts["unknown"] == 1 and "cannot show" in res.errors()["message"].iloc[0]
    assert sandbox.entry_counts(sandbox.event_key)["A1"] == 1


# --------------------------------------------------------------------------- engine parts without a server


def test_data_columns_resolve_in_one_place_with_one_default():
    from sfmc_nb.engine import resolve_columns

    df = pd.DataFrame({"subscriberkey": ["a"], "Email": ["a@x"], "City": ["Oslo"]})
    auto = resolve_columns(df, None)                                    # "auto" without the entry fields
    assert auto[:2] == ("subscriberkey", ["Email", "City"]) and "every column but the key" in auto.notes[0]
    fitted = resolve_columns(df, None, "auto", fields=["SubscriberKey", "email"])   # with them: the fields only
    assert fitted[:2] == ("subscriberkey", ["Email"]) and "left out 'City'" in fitted.notes[0]
    assert resolve_columns(df, None, None)[:2] == ("subscriberkey", [])
    assert resolve_columns(df, "Email", "all")[:2] == ("Email", ["subscriberkey", "City"])
    assert resolve_columns(df, None, "City")[:2] == ("subscriberkey", ["City"])
    assert resolve_columns(df, None, pd.Index(["City", "Email"]))[:2] == ("subscriberkey", ["City", "Email"])
    with pytest.raises(ValidationError, match="--contact-key"):
        resolve_columns(df[["Email"]], None, None, key_option="--contact-key")


def test_a_throttled_run_waits_per_retry_after_or_backs_off_and_lowers_what_is_in_flight():
    import threading

    from sfmc_nb.engine.throttle import Throttle

    throttle = Throttle(8, backoff_base=2.0, backoff_max=60.0)
    first = throttle.throttled(None)                  # no Retry-After: the shared backoff, first step
    assert 1.0 <= first <= 2.0 and throttle.allowed == 4
    assert 2.9 < throttle.throttled(3.0) <= 3.0      # Retry-After wins over the backoff
    stop = threading.Event()
    stop.set()
    assert throttle.wait(stop) == 0.0                 # a stopped run does not sit out the pause
    for _ in range(40):                               # one more in flight per round of clean answers
        throttle.success()
    assert throttle.allowed == 8 and throttle.limit == 8.0   # back to the limit, never past it


def test_show_needs_a_registered_panel_and_results_never_import_the_widgets():
    from sfmc_nb import results
    from sfmc_nb.errors import ConfigurationError

    res = results.EntryResult("E", pd.RangeIndex(1), ["a"])
    saved = results._panel_factory
    try:
        results.set_panel_factory(None)
        with pytest.raises(ConfigurationError, match="no result panel is registered"):
            res.show()
        results.set_panel_factory(lambda r: ("panel", r))
        assert res.show() == ("panel", res)
    finally:
        results.set_panel_factory(saved)
    code = ("import sys, sfmc_nb, pandas as pd; r = sfmc_nb.EntryResult('E', pd.RangeIndex(1), ['a']); "
            "r._repr_html_(); repr(r); assert 'sfmc_nb.widgets' not in sys.modules, 'widgets imported'")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_a_live_result_carries_its_retry_as_an_object(sandbox):
    from sfmc_nb.engine import RunRetry

    conn = fast_conn(sandbox)
    res = enter_journey(contacts(3), sandbox.event_key, data=DATA, connection=conn, validate=False)
    assert res.can_retry and isinstance(res._retry_handle, RunRetry)
    assert res._retry_handle.event_key == sandbox.event_key and res._retry_handle.left_in_flight == []
    with pytest.raises(ValidationError, match="concurrency"):
        res.retry(concurrency=0)
    dry = enter_journey(contacts(3), sandbox.event_key, data=DATA, connection=conn, validate=False, dry_run=True)
    assert not dry.can_retry
