"""The one request path: session, bearer token, timeouts, retries, error mapping, paging, server clock.

:class:`Transport` owns one ``requests.Session`` (a connection pool sized for the engine's concurrency) and
one :class:`~sfmc_nb.auth.TokenManager`. Every call goes through :meth:`Transport.request`:

* every request carries a ``(connect, read)`` timeout; a call given a ``deadline`` cuts both to the time left
  (never below :data:`MIN_TIMEOUT`) and waits for no retry that would end past it;
* a 401 drops the token, fetches a new one and repeats the request once, never more;
* no redirect is followed by a call that changes state; a read (GET) follows at most a few, each to the same host
  over https (plain http only on loopback), so contact data and the token never go anywhere else;
* after any other failure the :class:`~sfmc_nb.client.RetryPolicy` decides whether to wait and send again;
* every failure leaves as an error of :mod:`sfmc_nb.errors`: an :class:`~sfmc_nb.errors.ApiError` subclass for
  an HTTP error status, a :class:`~sfmc_nb.errors.TransportError` subclass when no answer came back;
* :attr:`Transport.requests_sent` counts every REST request that left (retries and redirects included),
  :attr:`Transport.token_requests_sent` the token requests.

Swap the transport by passing ``session=`` (a ``requests.Session`` with your own adapters mounted).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from .._rules import dumps_strict, int_or_none
from ..auth import (
    MAX_REDIRECTS,
    Credentials,
    Token,
    TokenManager,
    host_of,
    is_loopback,
    may_follow_redirect,
    redirect_target,
    transport_failure,
)
from ..errors import ApiError, ConnectError, OutcomeUnknownError, SfmcError, TransportError
from ._answers import api_error, redirect_error
from ._retry import RetryPolicy

__all__ = ["Transport", "read_json", "JSON_CONTENT_TYPE", "MIN_TIMEOUT"]

log = logging.getLogger("sfmc_nb.client")

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
MIN_TIMEOUT = 1.0
"""Seconds an attempt of a call with a deadline may always take, however little time is left (an answer needs some)."""


class _BearerAuth(requests.auth.AuthBase):
    """Adds the bearer header as the request is prepared, so the token sits in no local variable of ours."""

    def __init__(self, token: Token):
        self._token = token

    def __call__(self, req: requests.PreparedRequest) -> requests.PreparedRequest:
        req.headers["Authorization"] = "Bearer " + self._token.value.reveal()
        return req

    def __repr__(self) -> str:
        return "<bearer token>"


@dataclass
class _Call:
    """One REST call and how far it got: what to send, and the attempts and waits spent on it."""

    method: str
    path: str
    params: dict | None
    body: bytes | None
    headers: dict[str, str]
    changes_state: bool
    retry: bool
    deadline: float | None = None   # time.monotonic() moment the call must be over by (one attempt's timeout aside)
    read_timeout: float | None = None   # a longer read timeout than the connection's, for a large download
    attempts: int = 0
    refreshed: bool = False
    waited: float = 0.0


def read_json(resp: requests.Response, method: str, path: str, changes_state: bool = False) -> Any:
    """The JSON of a 2xx answer. An unreadable answer to a state-changing call leaves its fate unknown."""
    try:
        return resp.json() if resp.content else None
    except ValueError:
        text = f"{method} {path}: HTTP {resp.status_code} but the answer is not JSON"
        if changes_state:
            raise OutcomeUnknownError(text + "; the request may have been carried out", method=method,
                                      path=path) from None
        raise ApiError(status=resp.status_code, method=method, path=path, message="the answer is not JSON") from None


class Transport:
    """Sends REST calls for one login; thread-safe. The endpoint groups build on it."""

    def __init__(self, credentials: Credentials, *, timeout: float | tuple[float, float] = (5.0, 30.0),
                 pool_size: int = 16, retry: RetryPolicy | None = None, session: requests.Session | None = None):
        self.credentials = credentials
        self.timeout = timeout if isinstance(timeout, tuple) else (float(timeout), float(timeout))
        self.retry = retry or RetryPolicy()
        self.pool_size = pool_size
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        session.trust_env = session.trust_env and not is_loopback(urlsplit(credentials.auth_base_url).hostname)
        self.session = session
        self.tokens = TokenManager(credentials, session, timeout=self.timeout)
        self._counts_lock = threading.Lock()
        self._requests_sent = 0
        self.server_clock_offset: float | None = None  # server Date header minus local time, in seconds
        self.closed = False

    @property
    def requests_sent(self) -> int:
        """REST requests that left so far: every attempt, retry and followed redirect (token requests apart)."""
        return self._requests_sent

    request_count = requests_sent

    @property
    def token_requests_sent(self) -> int:
        """Token requests that left so far."""
        return self.tokens.requests_sent

    @property
    def rest_base_url(self) -> str | None:
        token = self.tokens.current
        return token.rest_base_url if token else None

    def ensure_pool(self, size: int) -> None:
        """Grow the connection pool to ``size`` so that many concurrent requests reuse connections."""
        if size <= self.pool_size or not self._own_session:
            return
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.pool_size = size

    def close(self) -> None:
        self.session.close()
        self.closed = True

    # -- the one request path ------------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict | None = None, json_body: Any = None,
                headers: dict | None = None, changes_state: bool = False, retry: bool = True,
                deadline: float | None = None, read_timeout: float | None = None) -> tuple[requests.Response, int]:
        """Send one REST call; return the 2xx response and the number of attempts it took.

        ``changes_state=True`` marks calls that must not run twice (retried only when refused
        or never sent). ``retry=False`` makes the first failure raise (the engine retries itself);
        the 401 refresh-once applies in both cases. ``deadline`` (a ``time.monotonic()`` moment) bounds the call:
        each attempt's timeouts are cut to the time left (at least :data:`MIN_TIMEOUT`) and a retry that would
        start past it raises the last error instead, so a caller with a time limit overruns it by one attempt at most.
        ``read_timeout`` lengthens the wait for the answer of this call (a large download is written before it is
        sent).
        """
        call = self._prepare(method, path, params, json_body, headers, changes_state, retry)
        call.deadline, call.read_timeout = deadline, read_timeout
        while True:
            call.attempts += 1
            token = self._token_for(call)
            answer = self._send(call, token)
            if isinstance(answer, SfmcError):
                self._retry_or_raise(call, answer)
            elif answer.status_code == 401 and not call.refreshed:
                self._on_expired_token(call, token)
            elif 200 <= answer.status_code < 300:
                return answer, call.attempts
            else:
                self._retry_or_raise(call, api_error(answer, method, path, self.retry))

    @staticmethod
    def _prepare(method: str, path: str, params: dict | None, json_body: Any, headers: dict | None,
                 changes_state: bool, retry: bool) -> _Call:
        """The call to send: strict JSON body (refused before anything leaves) and its headers."""
        body = None if json_body is None else dumps_strict(json_body)
        send_headers = {"Accept": "application/json"}
        if body is not None:
            send_headers["Content-Type"] = JSON_CONTENT_TYPE
        send_headers.update(headers or {})
        return _Call(method, path, params, body, send_headers, changes_state, retry)

    def _token_for(self, call: _Call) -> Token:
        try:
            return self.tokens.get()
        except TransportError as exc:  # the token endpoint failed: this call itself never left
            failure = ConnectError(f"{call.method} {call.path}: no token ({exc})", method=call.method, path=call.path)
        raise failure   # outside the handler: the token error is not chained, its frames stay out of the traceback

    def _send(self, call: _Call, token: Token) -> requests.Response | SfmcError:
        """One attempt: the HTTP answer (any status but a redirect), or the error when none came back.

        A redirect is followed only by a read, only to the same host (see :func:`~sfmc_nb.auth.may_follow_redirect`)
        and at most :data:`~sfmc_nb.auth.MAX_REDIRECTS` times; any other is a :class:`~sfmc_nb.errors.RedirectError`.
        """
        url, params = token.rest_base_url + call.path.lstrip("/"), call.params
        for hops in range(MAX_REDIRECTS + 1):
            answer = self._send_once(call, token, url, params)
            if isinstance(answer, TransportError) or not answer.is_redirect:
                return answer
            target = redirect_target(url, answer.headers.get("Location"))
            if call.method != "GET":
                why = f"{call.method} calls never follow a redirect (contact data and tokens go only to the host " \
                      "the token named)"
            elif not may_follow_redirect(url, target):
                why = "reads follow redirects only to the same host and port over https"
            elif hops == MAX_REDIRECTS:
                why = f"more than {MAX_REDIRECTS} redirects in a row"
            else:
                url, params = target, None
                continue
            return redirect_error(answer, call.method, call.path, url, target, why)
        raise AssertionError("unreachable")

    def _send_once(self, call: _Call, token: Token, url: str, params: dict | None
                   ) -> requests.Response | TransportError:
        """One HTTP request, redirects not followed; counted in :attr:`requests_sent` when it left."""
        started = time.monotonic()
        timeout = self._timeout_for(call)
        try:
            resp = self.session.request(call.method, url, params=params, data=call.body, headers=call.headers,
                                        auth=_BearerAuth(token), timeout=timeout, allow_redirects=False)
        except (requests.exceptions.RequestException, ValueError) as exc:
            # incl. an answer cut off mid-body, and http.client refusing a header (its text quotes the value)
            failure = transport_failure(exc, what=f"{call.method} {call.path}", host=host_of(url),
                                        method=call.method, path=call.path, read_timeout=timeout[1],
                                        changes_state=call.changes_state)
            self._count(failure.sent)
            return failure
        self._count(True)
        self._note_server_clock(resp)
        log.debug("%s %s -> %s in %.3f s", call.method, call.path, resp.status_code, time.monotonic() - started)
        return resp

    def _timeout_for(self, call: _Call) -> tuple[float, float]:
        """The ``(connect, read)`` timeout of the next attempt: the connection's, cut to what the deadline leaves."""
        timeout = self.timeout if call.read_timeout is None else (self.timeout[0],
                                                                  max(self.timeout[1], call.read_timeout))
        if call.deadline is None:
            return timeout
        left = max(math.ceil((call.deadline - time.monotonic()) * 10) / 10, MIN_TIMEOUT)   # 0.1 s steps: "3 s"
        return min(timeout[0], left), min(timeout[1], left)

    def _count(self, sent: bool) -> None:
        if sent:
            with self._counts_lock:
                self._requests_sent += 1

    def _on_expired_token(self, call: _Call, token: Token) -> None:
        """A 401: drop the token and repeat the call once with a new one (not counted as an attempt)."""
        call.refreshed = True
        call.attempts -= 1
        self.tokens.invalidate(token)

    def _retry_or_raise(self, call: _Call, error: SfmcError) -> None:
        """Raise ``error``, unless the retry policy allows another attempt: then wait for it."""
        wait = None
        if call.retry:
            wait = self.retry.next_wait(error, attempts=call.attempts, waited=call.waited,
                                        changes_state=call.changes_state)
        if wait is not None and call.deadline is not None and time.monotonic() + wait >= call.deadline:
            wait = None   # the next attempt would start after the caller's time is up
        if wait is None:
            raise error from None
        what = f"HTTP {error.status}" if isinstance(error, ApiError) else type(error).__name__
        log.debug("%s %s: %s, retrying in %.2f s", call.method, call.path, what, wait)
        time.sleep(wait)
        call.waited += wait

    # -- answers -------------------------------------------------------------------------

    def _note_server_clock(self, resp: requests.Response) -> None:
        """Keep the server's clock offset (1 s resolution), so status items can be dated in local time."""
        date = resp.headers.get("Date")
        if date:
            try:
                self.server_clock_offset = parsedate_to_datetime(date).timestamp() - time.time()
            except (TypeError, ValueError):
                pass

    # -- reading -------------------------------------------------------------------------

    def get_json(self, path: str, params: dict | None = None) -> Any:
        resp, _ = self.request("GET", path, params=params)
        return read_json(resp, "GET", path)

    def paged(self, path: str, params: dict, page_size: int) -> Iterator[dict]:
        """Walk ``$page`` 1, 2, ... until a short or empty page (or ``count`` is reached)."""
        page, seen = 1, 0
        while True:
            data = self.get_json(path, {**params, "$page": page, "$pageSize": page_size})
            items = (data or {}).get("items") or []
            yield from items
            seen += len(items)
            count = int_or_none((data or {}).get("count"))
            if not items or len(items) < page_size or (count is not None and seen >= count):
                return
            page += 1

