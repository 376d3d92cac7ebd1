"""No contact entered twice, on a real tenant's terms: requests that land after the read timeout, runs that
die or are stopped with requests in flight, zone-less dates, busy events. Against the sandbox over HTTP; every
check of "entered once" reads the sandbox's own record of entries.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import threading
import time

import pandas as pd
import pytest
from _sandbox_helpers import STATUS, fast_conn, kill_run_after, killed_run_frame, status_gets

import sfmc_nb
from sfmc_nb import SfmcWarning, enter_journey

DATA = ["Email"]   # the column contacts() makes besides the key: named, as the checks are off


def contacts(n, prefix="c"):
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:05d}" for i in range(n)],
                         "Email": [f"{prefix}{i}@example.com" for i in range(n)]})


def assert_exactly_once(sb, df, res):
    counts = sb.entry_counts(sb.event_key)
    keys = set(df["SubscriberKey"])
    assert keys <= set(counts), "every contact entered"
    twice = [k for k in keys if counts[k] > 1]
    assert not twice, f"entered twice: {twice[:5]} ({len(twice)} in all)"
    frame = res.to_frame()
    assert (frame["status"] == "queued").all(), frame[frame["status"] != "queued"].head()


# --------------------------------------------------------------------------- requests that land late


def test_a_post_answered_after_the_read_timeout_is_found_not_sent_again(sandbox):
    conn = fast_conn(sandbox, read=1.0)
    sandbox.inject("slow-answer", 1, seconds=2.0)   # worked on for 2 s, lands, answers: the client gave up at 1 s
    df = contacts(250)
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, validate=False, landing_horizon=3.0)
    assert_exactly_once(sandbox, df, res)
    assert sandbox.stats["slow_answers"] == 1 and sandbox.stats["batches_accepted"] == 3   # none sent twice
    assert res.reconciliations == 2 and res.ok   # looked up at once (not there yet), then past the horizon


def test_a_fifth_of_posts_slower_than_the_read_timeout_enter_each_contact_once(sandbox):
    conn = fast_conn(sandbox, read=1.0)
    sandbox.configure(slow_answer_rate=0.2, slow_answer_seconds=1.5)
    df = contacts(2000)
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, validate=False, concurrency=4,
                        landing_horizon=2.5)
    assert_exactly_once(sandbox, df, res)
    assert sandbox.stats["slow_answers"] >= 2 and sandbox.stats["batches_accepted"] == 20


def test_entries_listed_late_by_the_status_endpoint_are_waited_for(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(status_lag=1.0)               # a new entry shows in the status endpoint a second later
    sandbox.inject("lost-answer", 1)
    df = contacts(100)
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, validate=False, landing_horizon=1.5)
    assert_exactly_once(sandbox, df, res)
    assert sandbox.stats["batches_accepted"] == 1


def test_a_run_that_ends_before_the_horizon_leaves_rows_unknown_and_retry_settles_them(sandbox):
    conn = fast_conn(sandbox, read=1.0)
    sandbox.inject("slow-answer", 1, seconds=1.5)
    df = contacts(100)
    # the batch's budget (max_seconds) ends before its landing horizon: the run stops waiting for it
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, validate=False, landing_horizon=3.0,
                        max_seconds=2.0)
    assert res.counts["unknown"] == 100 and not res.ok
    message = res.errors()["message"].iloc[0]
    assert "may still land until" in message and "not resent" in message and ".retry()" in message
    time.sleep(3.2)                                 # past the horizon
    res.retry()
    assert_exactly_once(sandbox, df, res)
    assert sandbox.stats["batches_accepted"] == 1 and res.retryable() == 0


def test_a_5xx_is_resent_only_past_the_horizon_while_other_batches_go_on(sandbox):
    conn = fast_conn(sandbox)
    sandbox.inject("503", 1)                        # one batch: refused, but it might have been carried out
    sandbox.configure(latency=0.02)
    df = contacts(1000)
    events = []
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, validate=False, concurrency=2,
                        landing_horizon=1.0, progress=events.append)
    assert_exactly_once(sandbox, df, res)
    parked = [e for e in events if e.kind == "reconcile" and "checking again at" in e.message]
    assert len(parked) == 1
    frame = res.to_frame()
    resent = set(frame.loc[frame["attempts"] == 2, "contactKey"])
    entered = [e["contactKey"] for e in sandbox.entries(sandbox.event_key)]
    assert len(resent) == 100 and set(entered[-100:]) == resent   # entered last: the others went on meanwhile
    assert res.summary["batches"] == 10 and sandbox.stats["batches_accepted"] == 10


# --------------------------------------------------------------------------- runs that die or are stopped


def test_resume_never_resends_a_batch_that_was_in_flight_when_the_run_died(sandbox, tmp_path):
    journal = tmp_path / "crash.jsonl"
    df = contacts(100)
    # what a run killed right after sending its one batch leaves behind: the batch journalled as sent, no
    # answer, and the request still being worked on (it lands 1.5 s later)
    sent = time.time()
    lines = [{"kind": "run", "event_key": sandbox.event_key, "rows": 100, "contact_key": "SubscriberKey",
              "time": sent},
             {"kind": "sent", "run": 1, "batch": 0, "attempt": 1, "positions": list(range(100)),
              "keys": list(df["SubscriberKey"]), "time": sent}]
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines))
    sandbox.inject("slow-answer", 1, seconds=1.5)
    members = [{"contactKey": key} for key in df["SubscriberKey"]]
    in_flight = threading.Thread(target=_send_and_forget, args=(fast_conn(sandbox), sandbox.event_key, members))
    in_flight.start()
    try:
        time.sleep(0.3)
        with pytest.warns(SfmcWarning, match="resumed from .*: 0 rows already queued, 100 in doubt"):
            res = enter_journey(df, sandbox.event_key, data=DATA, connection=fast_conn(sandbox), journal=journal,
                                validate=False, landing_horizon=2.5)
    finally:
        in_flight.join(timeout=10)
    assert_exactly_once(sandbox, df, res)
    assert sandbox.stats["batches_accepted"] == 1
    assert any("in doubt" in w for w in res.warnings)


def _send_and_forget(conn, event_key, members):
    try:
        conn.enter_batch(event_key, members, retry=False)
    except sfmc_nb.SfmcError:
        pass


def test_kill_9_with_batches_in_flight_then_resume_enters_each_once(sandbox, tmp_path):
    sandbox.configure(slow_answer_rate=1.0, slow_answer_seconds=0.6)   # every batch lands 0.6 s after it is sent
    journal = tmp_path / "killed.jsonl"
    kill_run_after(sandbox, journal, batches=2, validate=False)   # four batches in flight, not landed yet
    sandbox.configure(slow_answer_rate=0.0)
    df = killed_run_frame()
    with pytest.warns(SfmcWarning, match="resumed from .*rows already queued, .* in doubt"):
        res = enter_journey(df, sandbox.event_key, connection=fast_conn(sandbox), journal=journal, validate=False,
                            landing_horizon=1.5)
    assert_exactly_once(sandbox, df, res)
    assert sandbox.entry_counts(sandbox.event_key).total() == 3000


def test_ctrl_c_twice_with_requests_in_flight_then_resume_enters_each_once(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    sandbox.configure(slow_answer_rate=1.0, slow_answer_seconds=0.5, jitter=0.3)
    journal = tmp_path / "stopped.jsonl"
    df = contacts(1500)
    pressed = []

    def press_twice(event):
        stats = sandbox.stats
        being_worked_on = stats["rest_requests"] - stats["batches_accepted"]   # entries only: none fails here
        if event.kind == "batch" and event.batches_done >= 2 and being_worked_on and not pressed:
            pressed.append(event.batches_done)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)                    # two presses, not one signal delivered once
            os.kill(os.getpid(), signal.SIGINT)

    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, journal=journal, progress=press_twice,
                        concurrency=4, validate=False, landing_horizon=1.5)
    assert pressed and res.interrupted and res.counts["unknown"] > 0
    assert "may still land until" in res.errors().query("status == 'unknown'")["message"].iloc[0]
    sandbox.configure(slow_answer_rate=0.0, jitter=0.0)
    with pytest.warns(SfmcWarning, match="resumed from .*rows already queued, .* in doubt"):
        again = enter_journey(df, sandbox.event_key, data=DATA, connection=fast_conn(sandbox), journal=journal,
                              validate=False, landing_horizon=1.5)
    assert_exactly_once(sandbox, df, again)


# --------------------------------------------------------------------------- dates as the tenant writes them


@pytest.mark.parametrize("style", ["system", "utc"])
def test_lost_answers_settle_as_queued_in_either_date_style(sandbox, style):
    sandbox.configure(date_style=style, lost_answer_rate=0.3)
    conn = fast_conn(sandbox)
    df = contacts(600)
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, validate=False, concurrency=4)
    assert_exactly_once(sandbox, df, res)
    assert res.counts["unknown"] == 0 and sandbox.stats["lost_answers"] >= 1
    assert sandbox.stats["batches_accepted"] == 6                      # nothing resent
    written = conn.batch_status_page(event_key=sandbox.event_key)["items"][0]["createdDate"]
    assert written.endswith("Z") == (style == "utc")


def test_a_first_batch_lost_before_anything_was_learned_settles_as_queued(sandbox):
    sandbox.inject("lost-answer", 1)                 # zone-less dates, and no answered entry to learn from
    df = contacts(100)
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=fast_conn(sandbox), validate=False)
    assert_exactly_once(sandbox, df, res)
    assert res.counts["unknown"] == 0 and sandbox.stats["batches_accepted"] == 1


# --------------------------------------------------------------------------- cheap on a busy event


def _busy_event(sb):
    """5,000 entries of other contacts on the event, made an hour ago (through another connection)."""
    enter_journey(contacts(5000, prefix="old"), sb.event_key, data=DATA, connection=fast_conn(sb), validate=False,
                  concurrency=8)
    sb.backdate(hours=1)


@pytest.mark.parametrize("fault", ["lost-answer", "500"])
def test_a_batch_in_doubt_on_a_busy_event_takes_at_most_5_status_requests(sandbox, fault):
    _busy_event(sandbox)
    conn = fast_conn(sandbox)
    enter_journey(contacts(3, prefix="warm"), sandbox.event_key, data=DATA, connection=conn, validate=False)
    sandbox.inject(fault, 1)
    before = status_gets(sandbox)
    df = contacts(100)
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, validate=False, landing_horizon=0.5)
    assert_exactly_once(sandbox, df, res)
    spent = status_gets(sandbox) - before
    assert spent <= 5, spent
    assert res.requests == spent + (2 if fault == "500" else 1)   # the entry requests, and every status one


def test_a_first_batch_lost_on_a_busy_event_is_found_by_its_request_id(sandbox):
    _busy_event(sandbox)
    sandbox.inject("lost-answer", 1)
    before = status_gets(sandbox)
    df = contacts(100)
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=fast_conn(sandbox), validate=False)
    assert_exactly_once(sandbox, df, res)
    assert status_gets(sandbox) - before <= 5


# --------------------------------------------------------------------------- what the result says


def test_summary_requests_counts_every_request_of_the_run_with_the_clients_retries(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(error_rate=0.1, lost_answer_rate=0.3)   # 5xx on entries and on status reads alike
    before = len(sandbox.request_log)
    df = contacts(800)
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn, validate=False, concurrency=1,
                        landing_horizon=0.3)
    assert_exactly_once(sandbox, df, res)
    made = [r for r in sandbox.request_log[before:] if r["path"] != "/v2/token"]
    status_errors = [r for r in made if r["path"] == "/" + STATUS and r["status"] >= 500]
    assert status_errors, "the client retried some status reads"
    assert res.summary["requests"] == len(made)


def test_a_result_can_be_pickled_and_says_why_it_cannot_be_retried(sandbox):
    conn = fast_conn(sandbox)
    sandbox.inject("500", 6)
    res = enter_journey(contacts(150), sandbox.event_key, data=DATA, connection=conn, validate=False, concurrency=1,
                        landing_horizon=0.05)
    res.on_change(lambda r: None)
    assert res.can_retry and res.counts["failed"] == 100
    copy = pickle.loads(pickle.dumps(res))
    assert copy.to_frame().equals(res.to_frame()) and copy.summary == res.summary
    assert repr(copy) == repr(res)
    assert not copy.can_retry and "pickle" in copy.no_retry_reason
    with pytest.raises(RuntimeError, match="restored from a pickle"):
        copy.retry()
    res.retry()                                   # the original keeps its connection
    assert res.counts["queued"] == 150
