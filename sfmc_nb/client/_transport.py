"""The one request path: session, bearer token, timeouts, retries, error mapping, paging, server clock.

:class:`Transport` owns one ``requests.Session`` (a connection pool sized for the engine's concurrency) and
one :class:`~sfmc_nb.auth.TokenManager`. Every call goes through :meth:`Transport.request`:

* every request carries a ``(connect, read)`` timeout;
* a 401 drops the token, fetches a new one and repeats the request once, never more;
* after any other failure the :class:`~sfmc_nb.client.RetryPolicy` decides whether to wait and send again;
* every failure leaves as an error of :mod:`sfmc_nb.errors`: an :class:`~sfmc_nb.errors.ApiError` subclass for
  an HTTP error status, a :class:`~sfmc_nb.errors.TransportError` subclass when no answer came back.

Swap the transport by passing ``session=`` (a ``requests.Session`` with your own adapters mounted).
"""

from __future__ import annotations

import logging
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
from ..auth import Credentials, Token, TokenManager, is_loopback, never_sent
from ..errors import (
    ApiError,
    ConnectError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    SfmcError,
    TransportError,
)
from ._retry import RetryPolicy

__all__ = ["Transport", "read_json", "JSON_CONTENT_TYPE"]

log = logging.getLogger("sfmc_nb.client")

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"


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
        self.request_count = 0
        self.server_clock_offset: float | None = None  # server Date header minus local time, in seconds
        self.closed = False

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
                headers: dict | None = None, changes_state: bool = False, retry: bool = True
                ) -> tuple[requests.Response, int]:
        """Send one REST call; return the 2xx response and the number of attempts it took.

        ``changes_state=True`` marks calls that must not run twice (retried only when refused
        or never sent). ``retry=False`` makes the first failure raise (the engine retries itself);
        the 401 refresh-once applies in both cases.
        """
        call = self._prepare(method, path, params, json_body, headers, changes_state, retry)
        while True:
            call.attempts += 1
            token = self._token_for(call)
            answer = self._send(call, token)
            if isinstance(answer, TransportError):
                self._retry_or_raise(call, answer)
            elif answer.status_code == 401 and not call.refreshed:
                self._on_expired_token(call, token)
            elif 200 <= answer.status_code < 300:
                return answer, call.attempts
            else:
                self._retry_or_raise(call, self._api_error(answer, method, path))

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
            raise ConnectError(f"{call.method} {call.path}: no token ({exc})", method=call.method,
                               path=call.path) from None

    def _send(self, call: _Call, token: Token) -> requests.Response | TransportError:
        """One attempt: the HTTP answer (any status), or the transport error when none came back."""
        url = token.rest_base_url + call.path.lstrip("/")
        with self._counts_lock:
            self.request_count += 1
        started = time.monotonic()
        try:
            resp = self.session.request(call.method, url, params=call.params, data=call.body, headers=call.headers,
                                        auth=_BearerAuth(token), timeout=self.timeout)
        except requests.exceptions.RequestException as exc:  # incl. an answer cut off mid-body
            return self._transport_error(exc, call.method, call.path)
        self._note_server_clock(resp)
        log.debug("%s %s -> %s in %.3f s", call.method, call.path, resp.status_code, time.monotonic() - started)
        return resp

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

    def _transport_error(self, exc: BaseException, method: str, path: str) -> TransportError:
        """No answer: nothing sent (safe to resend) or the answer lost (the call may have been carried out)."""
        host = urlsplit(self.rest_base_url or self.credentials.auth_base_url).netloc
        if isinstance(exc, requests.exceptions.ConnectTimeout) or (
                isinstance(exc, requests.exceptions.ConnectionError) and never_sent(exc)):
            return ConnectError(f"{method} {path}: could not connect to {host} ({type(exc).__name__}); "
                                "nothing was sent", method=method, path=path)
        if isinstance(exc, requests.exceptions.Timeout):
            what = f"no answer within {self.timeout[1]:g} s"
        else:
            what = "the connection was closed before the answer arrived"
        return OutcomeUnknownError(f"{method} {path}: {what}; the request may have been carried out",
                                   method=method, path=path)

    def _api_error(self, resp: requests.Response, method: str, path: str) -> ApiError:
        """An error status as the matching :class:`~sfmc_nb.errors.ApiError`, with the envelope's code and text."""
        try:
            body = resp.json()
        except ValueError:
            body = None
        errorcode, message = _envelope(body)
        if not isinstance(body, dict) and resp.text:
            message = resp.text[:200].strip()
        kwargs: dict[str, Any] = dict(status=resp.status_code, method=method, path=path, errorcode=errorcode,
                                      message=message, body=body)
        if resp.status_code == 429:
            return RateLimitError(retry_after=self.retry.retry_after_seconds(resp.headers, body), **kwargs)
        if resp.status_code == 404:
            return NotFoundError(**kwargs)
        if resp.status_code >= 500:
            return ServerError(**kwargs)
        return ApiError(**kwargs)

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


def _envelope(body: Any) -> tuple[int | None, str | None]:
    """``errorcode`` and message of an error answer (REST envelope or OAuth shape; extra errors appended)."""
    if not isinstance(body, dict):
        return None, None
    errorcode = int_or_none(body.get("errorcode", body.get("errorCode")))
    message = body.get("message") or body.get("error_description") or body.get("error")
    extra = body.get("additionalErrors")
    if extra and isinstance(extra, list):
        details = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in extra[:5])
        message = f"{message} ({details})" if message else details
    return errorcode, message
