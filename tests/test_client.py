"""The client against the sandbox over real HTTP: retries, every endpoint, every error shape (logging in: test_auth)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import requests

import sfmc_nb
from sfmc_nb.auth import Credentials
from sfmc_nb.client import Connection, RetryPolicy
from sfmc_nb.errors import (
    ApiError,
    ConfigurationError,
    ConnectError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    ValidationError,
)

FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05, max_total_wait=5)


def member(key, **data):
    return {"contactKey": key, "data": data}


# --------------------------------------------------------------------------- connect and the default


def test_sandbox_environment_variable_starts_the_sandbox(monkeypatch):
    monkeypatch.setenv("SFMC_SANDBOX", "1")
    conn = sfmc_nb.connect()
    try:
        assert conn.is_sandbox and sfmc_nb.default_connection() is conn
        assert conn.journeys()
    finally:
        conn.close()
        conn.sandbox.stop()


def test_default_connection_missing_says_how_to_log_in():
    sfmc_nb.set_default_connection(None)
    with pytest.raises(ConfigurationError, match="connect"):
        sfmc_nb.default_connection()


def test_client_imports_neither_ipython_nor_ipywidgets():
    code = ("import sys, sfmc_nb.client, sfmc_nb.auth, sfmc_nb.engine, sfmc_nb.batching; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('IPython', 'ipywidgets', 'ipykernel')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- batch entry


def test_enter_batch_answers_one_member_per_member_in_order(sandbox, conn):
    members = [member(f"c-{i}", Email=f"c{i}@example.com", FirstName="Ann") for i in range(5)]
    answer = conn.enter_batch(sandbox.event_key, members)
    assert answer.request_id and answer.count == 5 and answer.not_queued_count == 0
    assert [m["contactKey"] for m in answer.members] == [f"c-{i}" for i in range(5)]
    assert all(m["eventInstanceId"] for m in answer.members)
    assert 200 <= answer.status_code < 300 and answer.raw["requestId"] == answer.request_id
    assert sandbox.entry_counts(sandbox.event_key) == {f"c-{i}": 1 for i in range(5)}


def test_batch_of_101_or_0_is_refused_before_sending(sandbox, conn):
    before = sandbox.stats["rest_requests"]
    with pytest.raises(ValidationError, match="at most 100"):
        conn.enter_batch(sandbox.event_key, [member(f"k{i}") for i in range(101)])
    with pytest.raises(ValidationError, match="at least one"):
        conn.enter_batch(sandbox.event_key, [])
    assert sandbox.stats["rest_requests"] == before


def test_nan_is_refused_before_sending(sandbox, conn):
    with pytest.raises(ValidationError, match="NaN"):
        conn.enter_batch(sandbox.event_key, [member("k", Points=float("nan"))])


def test_partial_success_is_reported_per_member(sandbox, conn):
    answer = conn.enter_batch(sandbox.event_key, [member("ok-1", Email="a@example.com"),
                                                  member("bad-1", Email="not-an-email"),
                                                  member("bad-2", Nope="x")])
    assert answer.not_queued_count == 2
    assert "errorcode" not in answer.members[0]
    assert answer.members[1]["errorcode"] and answer.members[1]["message"]
    assert answer.members[2]["errorcode"]


def test_unknown_event_key_is_an_api_error_with_the_envelope(sandbox, conn):
    with pytest.raises(ApiError) as info:
        conn.enter_batch("no-such-key", [member("k")])
    err = info.value
    assert err.status == 400 and err.errorcode is not None and err.message
    assert err.method == "POST" and err.path == "/interaction/v1/async/events"
    assert "Bearer" not in str(err) and "Authorization" not in str(err)


def test_shared_key_gives_the_documented_batch_error(sandbox, conn):
    with pytest.raises(ApiError) as info:
        conn.enter_batch(sandbox.shared_event_key, [member("k")])
    assert info.value.errorcode == 10000 and "Interaction Count" in info.value.message


def test_batch_status_pages_through_every_item(sandbox, conn):
    answer = conn.enter_batch(sandbox.event_key, [member(f"s-{i}") for i in range(100)])
    items = conn.batch_status(request_id=answer.request_id)
    assert len(items) == 100                     # two pages of 50
    assert {i["contactKey"] for i in items} == {f"s-{i}" for i in range(100)}
    assert {i["eventInstanceId"] for i in items} == {m["eventInstanceId"] for m in answer.members}
    assert conn.batch_status(contact_key="s-7", event_key=sandbox.event_key)[0]["contactKey"] == "s-7"
    with pytest.raises(ValidationError, match="filter"):
        conn.batch_status()


def test_single_entry(sandbox, conn):
    answer = conn.fire_event(sandbox.event_key, "single-1", {"Email": "s@example.com"})
    assert answer["eventInstanceId"]
    assert sandbox.entry_counts(sandbox.event_key)["single-1"] == 1
    with pytest.raises(ApiError) as info:
        conn.fire_event("no-such-key", "single-2")
    assert info.value.status == 400


# --------------------------------------------------------------------------- retries and faults


def test_get_is_retried_on_429_with_retry_after_header(sandbox, conn):
    sandbox.configure(rate_limit=2, rate_limit_style="header", retry_after=0.3)
    conn.retry = RetryPolicy(max_attempts=10, backoff_base=0.01, max_total_wait=10)
    for _ in range(5):
        conn.journeys(status="Published")
    assert sandbox.stats["throttled"] >= 1


def test_rate_limit_error_carries_the_wait_from_header_or_body(sandbox, conn):
    sandbox.configure(retry_after=0.5)
    sandbox.inject("429", count=1)
    with pytest.raises(RateLimitError) as info:
        conn.enter_batch(sandbox.event_key, [member("r1")], retry=False)
    assert info.value.retry_after == pytest.approx(0.5)
    assert info.value.errorcode == 50100
    sandbox.inject("429-body", count=1)
    with pytest.raises(RateLimitError) as info:
        conn.enter_batch(sandbox.event_key, [member("r2")], retry=False)
    assert info.value.errorcode == 50200
    assert sandbox.entry_counts(sandbox.event_key) == {}


def test_post_429_is_retried_because_nothing_happened(sandbox, conn):
    conn.retry = FAST_RETRY
    sandbox.configure(retry_after=0.05)
    sandbox.inject("429", count=2)
    answer = conn.enter_batch(sandbox.event_key, [member("p1")])
    assert answer.attempts == 3
    assert sandbox.entry_counts(sandbox.event_key) == {"p1": 1}


def test_get_is_retried_on_5xx_but_batch_entry_is_not(sandbox, conn):
    conn.retry = FAST_RETRY
    sandbox.configure(error_rate=0.5)
    for _ in range(6):
        conn.journeys()                   # reads ride through 5xx
    sandbox.reset_faults()
    sandbox.inject("503", count=1)
    with pytest.raises(ServerError) as info:
        conn.enter_batch(sandbox.event_key, [member("x1")])
    assert info.value.status == 503


def test_lost_answer_is_outcome_unknown_not_resent(sandbox, conn):
    conn.retry = FAST_RETRY
    sandbox.inject("lost-answer", count=1)
    with pytest.raises(OutcomeUnknownError) as info:
        conn.enter_batch(sandbox.event_key, [member("lost-1")])
    assert info.value.sent is True
    assert sandbox.entry_counts(sandbox.event_key) == {"lost-1": 1}   # carried out exactly once


def test_connection_refused_is_a_connect_error(sandbox):
    creds = Credentials.resolve(auth_base_url="http://127.0.0.1:9/", client_id="a", client_secret="b",
                                environ={}, dotenv=None)
    conn = Connection(creds, timeout=(1, 1))
    with pytest.raises(ConnectError) as info:
        conn.login()
    assert info.value.sent is False


def test_read_timeout_is_outcome_unknown(sandbox):
    sandbox.configure(latency=1.5)
    conn = sfmc_nb.connect(sandbox=sandbox, timeout=(2, 0.3), set_default=False,
                           retry=RetryPolicy(max_attempts=1))
    with pytest.raises(OutcomeUnknownError, match="may have been carried out"):
        conn.enter_batch(sandbox.event_key, [member("slow-1")])
    conn.close()


def test_a_read_without_answer_says_it_may_be_asked_again_not_that_it_was_carried_out(sandbox):
    sandbox.configure(latency=1.5)
    conn = sfmc_nb.connect(sandbox=sandbox, timeout=(2, 0.3), set_default=False,
                           retry=RetryPolicy(max_attempts=1))
    for read in (lambda: conn.journey_history(contact_keys=["slow-1"]),
                 lambda: conn.batch_status_page(page=1, page_size=10, request_id="r-1")):
        with pytest.raises(OutcomeUnknownError) as info:
            read()
        assert "carried out" not in str(info.value)
        assert "may simply be asked again" in str(info.value)
    conn.close()


def test_a_history_download_by_window_waits_longer_for_its_answer_than_other_calls(sandbox):
    conn = sfmc_nb.connect(sandbox=sandbox, timeout=(2, 0.5), set_default=False, retry=RetryPolicy(max_attempts=1))
    conn.login()
    sandbox.configure(latency=1.0)                 # longer than the connection's read timeout
    with pytest.raises(OutcomeUnknownError):
        conn.journey_history(contact_keys=["h-1"])
    table = conn.journey_history_table(start="2020-01-01T00:00:00")   # a large file takes long to be written
    assert "ContactKey" in table.columns
    conn.close()


def test_connection_pool_is_reused(sandbox, conn):
    for _ in range(5):
        conn.journeys()
    adapter = conn.session.get_adapter(conn.rest_base_url)
    pools = list(adapter.poolmanager.pools._container.values())
    assert pools and all(p.num_connections <= 2 for p in pools)


# --------------------------------------------------------------------------- journeys, events, contacts


def test_journeys_list_and_filter(sandbox, conn):
    journeys = conn.journeys()
    statuses = {j.status for j in journeys}
    assert {"Published", "Draft", "Stopped"} <= statuses
    welcome = [j for j in journeys if sandbox.event_key in j.event_keys]
    assert welcome and welcome[0].entry_mode == "MultipleEntries"
    assert all(j.status == "Published" for j in conn.journeys(status="Published"))
    assert all(j.raw for j in journeys)


def test_journeys_page_through_more_than_fifty():
    with sfmc_nb.sandbox.start(extra_journeys=60) as sb:
        conn = sfmc_nb.connect(sandbox=sb, set_default=False)
        journeys = conn.journeys()
        assert len(journeys) >= 60 and len({j.id for j in journeys}) == len(journeys)
        assert sum(1 for r in sb.request_log if r["path"] == "/interaction/v1/interactions") >= 2
        conn.close()


def test_journey_by_key_and_id_and_deleted_newest_version(sandbox, conn):
    welcome = next(j for j in conn.journeys() if sandbox.event_key in j.event_keys)
    assert conn.journey(welcome.key).id == welcome.id
    assert conn.journey(welcome.id).key == welcome.key
    with pytest.raises(NotFoundError) as info:
        conn.journey("no-such-journey")
    assert info.value.errorcode == 30003 and "version=" in str(info.value)


def test_event_definition_and_entry_fields(sandbox, conn):
    event = conn.event_definition(sandbox.event_key)
    assert event.key == sandbox.event_key and event.data_extension_id
    fields = {f.name: f for f in conn.entry_fields(sandbox.event_key)}
    assert {"SubscriberKey", "Email", "FirstName"} <= set(fields)
    assert fields["FirstName"].length == 50
    draft = {f.name for f in conn.entry_fields(sandbox.draft_event_key)}   # falls back to the event's schema
    assert draft
    with pytest.raises(NotFoundError):
        conn.event_definition("no-such-key")


def test_membership_exit_and_exit_status(sandbox, conn):
    conn.enter_batch(sandbox.event_key, [member("m-1"), member("m-2")])
    welcome = next(j for j in conn.journeys() if sandbox.event_key in j.event_keys)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = conn.contact_membership(["m-1", "m-2", "ghost"])
        if len(found.memberships) >= 2:
            break
        time.sleep(0.1)
    assert {m["contactKey"] for m in found.memberships} >= {"m-1", "m-2"}
    assert "ghost" in found.not_found
    problems = conn.contact_exit(["m-1", "ghost"], welcome.key)
    assert any("ghost" in str(p) for p in problems)
    status = conn.contact_exit_status(["m-1"], welcome.key)
    assert status and status[0]["contactKey"] == "m-1"


def test_membership_is_chunked_by_fifty(sandbox, conn):
    found = conn.contact_membership([f"n-{i}" for i in range(120)])
    assert len(found.raw) == 3 and len(found.not_found) == 120


def test_journey_history_csv(sandbox, conn):
    conn.enter_batch(sandbox.event_key, [member("h-1")])
    deadline = time.monotonic() + 10
    rows = []
    while time.monotonic() < deadline and not rows:
        rows = conn.journey_history(contact_keys=["h-1"])
        time.sleep(0.1)
    assert rows and rows[0]["ContactKey"] == "h-1"


def test_other_endpoints_need_a_token(sandbox):
    resp = requests.get(sandbox.rest_base_url + "interaction/v1/interactions", timeout=5)
    assert resp.status_code == 401 and resp.json()["errorcode"] == 0


def test_missing_scope_is_a_403_with_its_errorcode(sandbox):
    conn = sfmc_nb.connect(sandbox=sandbox, scope="journeys_read", set_default=False)
    assert conn.scopes == ["journeys_read"]
    assert conn.journeys()
    with pytest.raises(ApiError) as info:
        conn.enter_batch(sandbox.event_key, [member("scoped-1")])
    assert info.value.status == 403 and info.value.errorcode in (20000, 20001, 20002)
    assert sandbox.entry_counts(sandbox.event_key) == {}
    conn.close()


def test_preflight_is_skipped_with_a_warning_when_the_login_cannot_read_events(sandbox):
    import pandas as pd

    from sfmc_nb import SfmcWarning, enter_journey

    conn = sfmc_nb.connect(sandbox=sandbox, scope="journeys_execute", set_default=False)
    with pytest.warns(SfmcWarning, match="pre-flight checks skipped: this login cannot read event definitions"):
        res = enter_journey(pd.DataFrame({"SubscriberKey": ["p-1", "p-2"]}), sandbox.event_key, connection=conn)
    assert res.counts["queued"] == 2
    assert any("pre-flight checks skipped" in w for w in res.warnings)
    conn.close()


class _CutOffServer:
    """A raw HTTP server on 127.0.0.1 that grants tokens, then cuts every REST answer short mid-body."""

    def __init__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.posts = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        import json as _json

        for _ in range(20):                       # bounded: a test makes only a few requests
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length")), b"0"))
                while len(body) < length:
                    body += conn.recv(65536)
                if b"/v2/token" in head.split(b"\r\n")[0]:
                    payload = _json.dumps({"access_token": "tok-" + "x" * 20, "expires_in": 1079,
                                           "rest_instance_url": self.url, "scope": "journeys_execute"}).encode()
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                                 b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
                else:
                    self.posts += 1
                    conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nConnection: close\r\n"
                                 b"Content-Length: 500\r\n\r\n{\"requestId\": \"r-1\", \"count\"")

    def close(self):
        self.sock.close()


def test_an_answer_cut_off_mid_body_is_outcome_unknown_not_a_crash():
    server = _CutOffServer()
    try:
        conn = sfmc_nb.connect(auth_base_url=server.url, client_id="a", client_secret="b", set_default=False,
                               timeout=(2, 2), retry=FAST_RETRY)
        with pytest.raises(OutcomeUnknownError, match="may have been carried out"):
            conn.enter_batch("APIEvent-x", [member("cut-1")])
        assert server.posts == 1                  # a state-changing call is never repeated blindly
        conn.close()
    finally:
        server.close()
