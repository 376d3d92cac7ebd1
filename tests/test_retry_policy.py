"""The retry policy on its own: direct calls, and the request loop over a scripted transport (no server).

The same rules are exercised over real HTTP against the sandbox in test_client.py; these tests pin each
decision down in milliseconds.
"""

from __future__ import annotations

import io
import json
from email.utils import formatdate

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.response import HTTPResponse

from sfmc_nb.auth import Credentials
from sfmc_nb.client import Connection, RetryPolicy
from sfmc_nb.errors import (
    ApiError,
    ConnectError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    ValidationError,
)

POLICY = RetryPolicy(max_attempts=4, backoff_base=0.001, backoff_max=0.004, max_total_wait=1.0)


def api_error(kind=ApiError, status=400, **extra):
    return kind(status=status, method="GET", path="/x", **extra)


def transport_error(kind):
    return kind("lost", method="POST", path="/x")


# --------------------------------------------------------------------------- decisions


@pytest.mark.parametrize("error, on_read, on_change", [
    (api_error(RateLimitError, 429), True, True),           # refused: nothing happened
    (api_error(ServerError, 503), True, False),             # may have been carried out
    (transport_error(ConnectError), True, True),            # never left
    (transport_error(OutcomeUnknownError), True, False),    # answer lost
    (api_error(ApiError, 400), False, False),               # the caller's to fix
    (api_error(NotFoundError, 404), False, False),
    (api_error(ApiError, 401), False, False),
    (ValidationError("bad"), False, False),
])
def test_is_retry_by_error_and_whether_the_call_changes_state(error, on_read, on_change):
    assert POLICY.is_retry(error, changes_state=False) is on_read
    assert POLICY.is_retry(error, changes_state=True) is on_change


def test_backoff_grows_with_equal_jitter_and_stops_at_the_cap():
    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (9, 4.0)]:
        waits = [policy.get_backoff_time(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits), (attempt, waits)
    assert RetryPolicy.backoff is RetryPolicy.get_backoff_time


def test_a_429_waits_what_the_service_asked_else_the_backoff():
    assert POLICY.wait_before_retry(api_error(RateLimitError, 429, retry_after=2.5), 1) == 2.5
    assert POLICY.wait_before_retry(api_error(RateLimitError, 429, retry_after=0.0), 1) == 0.05
    assert 0.0005 <= POLICY.wait_before_retry(api_error(RateLimitError, 429), 1) <= 0.001
    assert 0.0005 <= POLICY.wait_before_retry(api_error(ServerError, 503), 1) <= 0.001


def test_attempts_and_the_total_wait_are_bounded():
    assert not POLICY.is_exhausted(3) and POLICY.is_exhausted(4)
    assert POLICY.within_budget(0.5, 0.5) and not POLICY.within_budget(0.5, 0.51)
    throttled = api_error(RateLimitError, 429, retry_after=0.3)
    assert POLICY.next_wait(throttled, attempts=1, waited=0.0, changes_state=True) == 0.3
    assert POLICY.next_wait(throttled, attempts=4, waited=0.0, changes_state=True) is None
    assert POLICY.next_wait(throttled, attempts=1, waited=0.8, changes_state=True) is None
    assert POLICY.next_wait(api_error(ServerError, 503), attempts=1, waited=0.0, changes_state=True) is None


def test_retry_after_from_header_seconds_date_or_body():
    assert RetryPolicy.retry_after_seconds({"Retry-After": "5"}, None) == 5.0
    assert RetryPolicy.retry_after_seconds({"Retry-After": "-3"}, None) == 0.0
    now = 1_700_000_000.0
    date = formatdate(now + 30, usegmt=True)
    assert RetryPolicy.retry_after_seconds({"Retry-After": date}, None, now=now) == pytest.approx(30)
    assert RetryPolicy.retry_after_seconds({"Retry-After": "soon"}, {"retryAfter": 7}) == 7.0
    assert RetryPolicy.retry_after_seconds({}, {"retry_after": "2"}) == 2.0
    assert RetryPolicy.retry_after_seconds({}, {"errorcode": 50200}) is None
    assert RetryPolicy.retry_after_seconds({}, "not a dict") is None


# --------------------------------------------------------------------------- the loop over a scripted transport


class ScriptedAdapter(HTTPAdapter):
    """Answers the token request, then plays ``script`` (statuses, ``(status, headers)`` or exceptions)."""

    def __init__(self, script):
        super().__init__()
        self.script = list(script)
        self.sent: list[str] = []
        self.token_requests = 0

    def send(self, request, **kwargs):
        if request.url.endswith("/v2/token"):
            self.token_requests += 1
            return self._answer(request, 200, {}, {"access_token": f"tok-{self.token_requests}", "expires_in": 1079,
                                                   "rest_instance_url": "http://127.0.0.1:9/"})
        self.sent.append(request.method)
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        status, headers = step if isinstance(step, tuple) else (step, {})
        return self._answer(request, status, headers, {"errorcode": 1, "message": f"HTTP {status}"})

    def _answer(self, request, status, headers, body):
        raw = HTTPResponse(body=io.BytesIO(json.dumps(body).encode()), status=status, preload_content=False,
                           headers={"Content-Type": "application/json", **headers})
        return self.build_response(request, raw)


def scripted(*script, policy=POLICY):
    adapter = ScriptedAdapter(script)
    session = requests.Session()
    session.mount("http://", adapter)
    creds = Credentials.resolve(auth_base_url="http://127.0.0.1:9/", client_id="a", client_secret="b",
                                environ={}, dotenv=None)
    return Connection(creds, retry=policy, session=session), adapter


def test_a_read_rides_through_server_errors():
    conn, adapter = scripted(503, 502, 200)
    resp, attempts = conn.request("GET", "/x")
    assert resp.status_code == 200 and attempts == 3 and len(adapter.sent) == 3


def test_a_state_change_is_not_resent_after_a_server_error_or_a_lost_answer():
    conn, adapter = scripted(503)
    with pytest.raises(ServerError):
        conn.request("POST", "/x", json_body={}, changes_state=True)
    conn, adapter = scripted(requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknownError):
        conn.request("POST", "/x", json_body={}, changes_state=True)
    assert adapter.sent == ["POST"]


def test_a_state_change_is_resent_when_refused_or_never_sent():
    conn, adapter = scripted((429, {"Retry-After": "0"}), requests.exceptions.ConnectTimeout("no route"), 202)
    resp, attempts = conn.request("POST", "/x", json_body={}, changes_state=True)
    assert resp.status_code == 202 and attempts == 3 and adapter.sent == ["POST"] * 3


def test_attempts_run_out_then_the_last_error_is_raised():
    conn, adapter = scripted(503, 503, 503, 503, 200)
    with pytest.raises(ServerError):
        conn.request("GET", "/x")
    assert len(adapter.sent) == POLICY.max_attempts


def test_a_wait_past_the_budget_raises_at_once():
    conn, adapter = scripted((429, {"Retry-After": "5"}), 200)
    with pytest.raises(RateLimitError) as info:
        conn.request("GET", "/x")
    assert info.value.retry_after == 5.0 and len(adapter.sent) == 1


def test_retry_false_raises_the_first_failure():
    conn, adapter = scripted((429, {"Retry-After": "0"}), 200)
    with pytest.raises(RateLimitError):
        conn.request("POST", "/x", json_body={}, changes_state=True, retry=False)
    assert len(adapter.sent) == 1


def test_a_401_fetches_a_new_token_once_and_is_not_an_attempt():
    conn, adapter = scripted(401, 200)
    resp, attempts = conn.request("GET", "/x")
    assert resp.status_code == 200 and attempts == 1 and adapter.token_requests == 2
    conn, adapter = scripted(401, 401, 200)
    with pytest.raises(ApiError) as info:
        conn.request("GET", "/x")
    assert info.value.status == 401 and len(adapter.sent) == 2


def test_a_body_that_is_not_json_is_refused_before_sending():
    conn, adapter = scripted(200)
    with pytest.raises(ValidationError, match="NaN"):
        conn.request("POST", "/x", json_body={"x": float("nan")})
    assert adapter.sent == []
