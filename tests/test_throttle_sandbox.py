"""Throttling against the sandbox over HTTP: its quota (a token bucket), waits the run cannot afford, pacing.

Counts come from the sandbox's own record (requests it saw, contacts it queued) and from the result; nothing is
timed. Every run is bounded: a run that should end promptly runs in a thread joined with a generous timeout.
"""

from __future__ import annotations

import math
import threading
import time

import pandas as pd
import pytest
from _sandbox_helpers import BATCH, fast_conn

from sfmc_nb import enter_journey

DATA = ["Email"]   # the column contacts() makes besides the key: named, as the checks are off


def contacts(n: int, prefix: str = "t") -> pd.DataFrame:
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:05d}" for i in range(n)],
                         "Email": [f"{prefix}{i}@example.com" for i in range(n)]})


def batch_posts(sb) -> int:
    return sum(1 for r in sb.request_log if r["method"] == "POST" and r["path"].rstrip("/").endswith(BATCH))


def bounded(call, timeout: float = 120.0):
    """Run ``call`` in a thread; fail (instead of hanging the suite) if it has not returned within ``timeout``."""
    box: dict = {}
    worker = threading.Thread(target=lambda: box.update(result=call()), daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), f"still running after {timeout:g} s"
    return box["result"]


# ---- waits the run cannot afford ---------------------------------------------------------------------------

def test_a_one_hour_retry_after_ends_a_five_second_budget_run_promptly(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(retry_after=3600)
    sandbox.inject("429", count=4)
    df = contacts(1000)
    events = []
    res = bounded(lambda: enter_journey(df, sandbox.event_key, data=DATA, connection=conn, concurrency=4,
                                        validate=False, max_seconds=5, progress=events.append))
    assert res.counts["failed"] == 1000 and sandbox.entries() == []
    assert batch_posts(sandbox) <= 4                          # the batches in flight at the 429, nothing after
    messages = set(res.to_frame()["message"])
    assert messages == {"the service asked to wait 3600 s, beyond max_seconds=5: call .retry() later"}
    assert res.throttled_seconds == 0.0
    assert [e.message for e in events if e.kind == "throttle"] == [f"throttled: {messages.pop()}"]
    sandbox.reset_faults()
    bounded(res.retry)                                        # later, the quota back: everything enters once
    assert (res.to_frame()["status"] == "queued").all()
    assert set(sandbox.entry_counts(sandbox.event_key).values()) == {1} and len(sandbox.entries()) == 1000


def test_a_retry_after_of_1e309_fails_the_rows_left_and_waits_nothing(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(retry_after="1e309")                    # sent as written: float("1e309") is infinite
    sandbox.inject("429")
    res = bounded(lambda: enter_journey(contacts(250), sandbox.event_key, data=DATA, connection=conn, concurrency=1,
                                        validate=False))
    assert res.counts["failed"] == 250 and batch_posts(sandbox) == 1
    assert res.to_frame()["message"].str.contains("asked to wait 86400 s or more, beyond max_seconds=300").all()
    assert math.isfinite(res.summary["throttled_seconds"]) and res.throttled_seconds == 0.0


def test_the_rows_of_batches_in_flight_that_were_answered_keep_their_outcome(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(retry_after=3600, latency=0.05)
    sandbox.inject("429", count=1)                           # one of the four batches in flight is refused
    res = bounded(lambda: enter_journey(contacts(2000), sandbox.event_key, data=DATA, connection=conn, concurrency=4,
                                        validate=False, max_seconds=5))
    queued = res.counts["queued"]
    assert queued == len(sandbox.entries()) and queued <= 300 and queued + res.counts["failed"] == 2000
    assert batch_posts(sandbox) <= 4


# ---- pacing to the quota -----------------------------------------------------------------------------------

def test_under_a_tight_quota_every_row_queues_once_and_few_calls_are_refused(sandbox):
    conn = fast_conn(sandbox)
    sandbox.configure(rate_limit=20, retry_after=0.2, latency=0.02)
    df = contacts(8000)
    res = bounded(lambda: enter_journey(df, sandbox.event_key, data=DATA, connection=conn, concurrency=8,
                                        validate=False))
    assert (res.to_frame()["status"] == "queued").all()
    counts = sandbox.entry_counts(sandbox.event_key)
    assert len(counts) == 8000 and set(counts.values()) == {1}
    assert 1 <= sandbox.stats["throttled"] == res.throttled_waits <= 20    # unpaced, 30 or more
    assert res.requests == 80 + res.throttled_waits


def test_429s_without_retry_after_escalate_the_backoff_once_per_burst(sandbox, conn):
    sandbox.configure(rate_limit=10, rate_limit_style="body", latency=0.02)
    df = contacts(5000)
    res = bounded(lambda: enter_journey(df, sandbox.event_key, data=DATA, connection=conn, concurrency=8,
                                        validate=False))
    assert (res.to_frame()["status"] == "queued").all() and len(sandbox.entries()) == 5000
    assert sandbox.stats["throttled"] >= 1
    assert res.throttled_seconds < 5     # pauses chosen by the default backoff; each 429 escalating it: 10 s and more
    assert res.throttled_waits <= 25


# ---- the sandbox's quota -----------------------------------------------------------------------------------

def test_the_quota_is_a_token_bucket_bursts_of_the_rate_then_its_refill(raw_sandbox):
    c = raw_sandbox(rate_limit=4)
    codes = [c.journeys().status_code for _ in range(6)]
    assert codes[:4] == [200] * 4 and codes[-1] == 429        # a full bucket, then empty
    time.sleep(0.3)                                           # a token (0.25 s at 4 a second) came back
    assert c.journeys().status_code == 200
    c.sb.configure(rate_limit=4)                              # a new limit starts with a full bucket
    assert [c.journeys().status_code for _ in range(4)] == [200] * 4


def test_retry_after_may_be_sent_as_written(raw_sandbox):
    c = raw_sandbox(rate_limit=1, retry_after="1e309")
    c.journeys()
    refused = c.journeys()
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1e309"
    with pytest.raises(ValueError):
        c.sb.configure(retry_after="")
    with pytest.raises(ValueError):
        c.sb.configure(retry_after="1\r\nX-Evil: 1")


def test_the_command_line_refuses_a_quota_that_is_not_positive(capsys):
    from sfmc_nb.sandbox.__main__ import main

    for argv in (["--rate-limit", "0"], ["--rate-limit", "-3"], ["--rate-limit-style", "smoke"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert "--rate-limit" in capsys.readouterr().err
