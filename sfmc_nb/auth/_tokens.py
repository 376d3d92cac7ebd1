"""The access-token cache, and the token answer read strictly.

:class:`TokenManager` follows Salesforce's advice: reuse one token, ask for a new one a few minutes before
``expires_in`` runs out, and never ask twice at once (many threads needing a token make one request). OAuth
refusals (``invalid_client`` and friends) raise :class:`~sfmc_nb.errors.AuthError` at once and are never
retried. The token request never follows a redirect: the client secret goes to the configured host only.

The secret is revealed only inside the expression that builds the request body, and the token is wrapped the
moment it is read from the answer, so neither sits in a local variable a traceback's locals display could show.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from .._rules import backoff_delay, dumps_strict, one_line, scrub
from ..errors import AuthError, ConfigurationError, TransportError
from ._credentials import Credentials, Secret
from ._failures import transport_failure
from ._scrub import remember_token
from ._urls import check_url, redirect_target, shown_url

__all__ = ["Token", "TokenManager", "DEFAULT_TOKEN_LIFETIME", "MAX_TOKEN_LIFETIME", "token_lifetime"]

log = logging.getLogger("sfmc_nb.auth")

TOKEN_BACKOFF_BASE = 0.5   # seconds before the second token request; doubles, with jitter
TOKEN_BACKOFF_MAX = 8.0
TOKEN_PATH = "/v2/token"
DEFAULT_TOKEN_LIFETIME = 1079.0
"""Seconds a token is taken to last when ``expires_in`` is missing or unusable (what the service grants)."""
MIN_TOKEN_LIFETIME = 1.0
MAX_TOKEN_LIFETIME = 3600.0
"""A longer ``expires_in`` is cut to this; a token that dies earlier is replaced after its first 401."""


@dataclass(frozen=True)
class Token:
    """One access token. Its value is a :class:`Secret`; the rest is safe to show."""

    value: Secret = field(repr=False)
    expires_at: float  # time.monotonic() deadline
    lifetime: float
    scope: str | None
    rest_base_url: str

    def seconds_left(self, now: float | None = None) -> float:
        return self.expires_at - (time.monotonic() if now is None else now)


def _token_body(creds: Credentials) -> bytes:
    """The token request's JSON body, the secret revealed only inside this one expression."""
    return dumps_strict({"grant_type": "client_credentials", "client_id": creds.client_id,
                         "client_secret": creds.client_secret.reveal(),
                         **({} if creds.account_id is None else {"account_id": creds.account_id}),
                         **({} if creds.scope is None else {"scope": creds.scope})})


class TokenManager:
    """Thread-safe token cache with early refresh and a single request in flight.

    ``requests_sent`` counts the token requests that left this machine.
    """

    def __init__(self, credentials: Credentials, session: requests.Session, *,
                 timeout: tuple[float, float] = (5.0, 30.0), refresh_margin: float = 300.0,
                 max_attempts: int = 3):
        self.credentials = credentials
        self._session = session
        self._timeout = timeout
        self._refresh_margin = refresh_margin
        self._max_attempts = max_attempts
        self._lock = threading.Lock()
        self._token: Token | None = None
        self.requests_sent = 0

    @property
    def requests_made(self) -> int:
        return self.requests_sent

    @property
    def current(self) -> Token | None:
        return self._token

    def _fresh(self, token: Token | None) -> bool:
        if token is None:
            return False
        margin = min(self._refresh_margin, 0.2 * token.lifetime)
        return token.seconds_left() > margin

    def get(self) -> Token:
        """Return a usable token, fetching one only when the cached one is missing or near its end."""
        token = self._token
        if token is not None and self._fresh(token):
            return token
        with self._lock:
            token = self._token
            if token is None or not self._fresh(token):
                token = self._token = self._fetch()
            return token

    def invalidate(self, token: Token | None = None) -> None:
        """Drop the cached token (only if it is still ``token``, so racing threads fetch once)."""
        with self._lock:
            if token is None or self._token is token:
                self._token = None

    def _post(self) -> requests.Response | TransportError:
        """One token request, never redirected; the answer, or the error when none came back."""
        url = self.credentials.auth_base_url + TOKEN_PATH.lstrip("/")
        try:
            resp = self._session.post(url, data=_token_body(self.credentials),
                                      headers={"Content-Type": "application/json"}, timeout=self._timeout,
                                      allow_redirects=False)
        except (requests.exceptions.RequestException, ValueError) as exc:   # ValueError: http.client's refusals
            failure = transport_failure(exc, what="the token request", host=self.credentials.host, method="POST",
                                        path=TOKEN_PATH, read_timeout=self._timeout[1])
            self.requests_sent += int(failure.sent)
            return failure
        self.requests_sent += 1
        return resp

    def _fetch(self) -> Token:
        """Ask for a token: refusals raise at once; 5xx, 429 and lost answers are tried again a few times."""
        host = self.credentials.host
        for attempt in range(1, self._max_attempts + 1):
            answer = self._post()
            if isinstance(answer, TransportError):
                if attempt == self._max_attempts:
                    raise answer
            elif answer.status_code == 200:
                return self._parse(answer)
            elif answer.is_redirect:
                raise self._redirected(answer)
            elif answer.status_code < 500 and answer.status_code != 429:
                raise self._refusal(answer)
            elif attempt == self._max_attempts:
                raise AuthError(f"the token endpoint at {host} answered HTTP {answer.status_code} "
                                f"{self._max_attempts} times; try again later", status=answer.status_code)
            time.sleep(backoff_delay(attempt, TOKEN_BACKOFF_BASE, TOKEN_BACKOFF_MAX))
        raise AssertionError("unreachable")

    def _parse(self, resp: requests.Response) -> Token:
        """The token of a 200 answer; an answer without a usable token or REST URL is refused, saying what it had."""
        host = self.credentials.host
        try:
            answer = resp.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise AuthError(f"the token endpoint at {host} answered HTTP 200 without a JSON object; check the auth "
                            "base URL (it should be the tenant's https://<subdomain>.auth.marketingcloudapis.com/)",
                            status=200)
        value = _access_token(answer.pop("access_token", None), host)
        rest = _rest_url(answer.get("rest_instance_url"), host)
        lifetime = token_lifetime(answer.get("expires_in"), host)
        scope = answer.get("scope")
        log.debug("token granted for %s, expires in %.0f s", host, lifetime)
        token = Token(value, time.monotonic() + lifetime, lifetime, scope if isinstance(scope, str) else None, rest)
        remember_token(token)
        return token

    def _redirected(self, resp: requests.Response) -> AuthError:
        target = shown_url(redirect_target(resp.url or self.credentials.auth_base_url, resp.headers.get("Location")))
        return AuthError(f"the token endpoint at {self.credentials.host} answered HTTP {resp.status_code} pointing to "
                         f"{target}; the client secret is never sent after a redirect: check the auth base URL "
                         "(SFMC_SUBDOMAIN / SFMC_AUTH_BASE_URL)", status=resp.status_code, error="redirect",
                         error_description=f"redirected to {target}")

    def _refusal(self, resp: requests.Response) -> AuthError:
        try:
            data = resp.json()
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        error = data.get("error")
        error = one_line(error, 60) if error else None
        desc = data.get("error_description") or data.get("message")
        if desc:
            desc = one_line(scrub(str(desc), [self.credentials.client_secret.reveal()]), 300)
        hint = {
            "invalid_client": "check the client id and secret (SFMC_CLIENT_ID / SFMC_CLIENT_SECRET)",
            "invalid_grant": "check the account id (business unit MID) the package may access",
            "invalid_scope": "ask only for scopes the Installed Package grants (SFMC_SCOPE)",
            "unauthorized_client": "the package is not a Server-to-Server API integration",
        }.get(error or "", "check the credentials and the Installed Package")
        text = f"login refused by {self.credentials.host} (HTTP {resp.status_code}"
        text += f" {error})" if error else ")"
        if desc:
            text += f": {desc}"
        return AuthError(f"{text}; {hint}", status=resp.status_code, error=error, error_description=desc)


def _kind(value: Any) -> str:
    """What a JSON value is, for a message that must not show the value itself."""
    if value is None:
        return "null"
    return {bool: "a boolean", str: "an empty string", dict: "an object", list: "a list"}.get(type(value), "a number")


def _access_token(value: Any, host: str) -> Secret:
    """The answer's ``access_token``, wrapped at once; anything but printable ASCII without spaces is refused.

    A token goes into the ``Authorization`` header as it is: a line break there would add a header of the
    server's choosing, and text outside Latin-1 cannot be sent at all. The refusal never quotes the token.
    """
    if not isinstance(value, str) or not value.strip():
        raise AuthError(f"the token endpoint at {host} answered HTTP 200 with access_token {_kind(value)}, not a "
                        "token string; the service misbehaved or the auth base URL points elsewhere", status=200)
    value = Secret(value.strip())   # from here on, no frame holds the token in plain text
    problem = _malformed(value)
    if problem:
        raise AuthError(f"the token endpoint at {host} answered HTTP 200 with a malformed access_token ({problem}); "
                        "a token is printable ASCII without spaces, so it was not used and nothing was sent with it: "
                        "the service misbehaved or the auth base URL points elsewhere", status=200)
    return value


def _malformed(token: Secret) -> str | None:
    """What makes ``token`` unfit for an HTTP header (never the token itself), or ``None`` when it is fit."""
    text = token.reveal()
    if "\r" in text or "\n" in text:
        return "it holds a line break"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return "it holds a control character"
    if any(ord(c) > 0x7E for c in text):
        return "it holds a character outside ASCII"
    if any(c.isspace() for c in text):
        return "it holds a space"
    return None


def _rest_url(value: Any, host: str) -> str:
    """The answer's ``rest_instance_url``: an https URL without credentials (plain http only for loopback)."""
    if not isinstance(value, str) or not value.strip():
        raise AuthError(f"the token endpoint at {host} answered HTTP 200 with rest_instance_url {_kind(value)}, "
                        "not a URL; the service misbehaved or the auth base URL points elsewhere", status=200)
    try:
        return check_url(value, "rest_instance_url", example=None)
    except ConfigurationError as exc:
        problem = str(exc)
    raise AuthError(f"the token endpoint at {host} answered HTTP 200 with a REST URL sfmc_nb will not use: "
                    f"{problem}", status=200)


def token_lifetime(value: Any, host: str = "the token endpoint") -> float:
    """Seconds a token lasts, from ``expires_in``: a finite number of at least a second, at most an hour.

    Anything else (missing, null, a boolean, text that is not a number, NaN, infinity, zero or less) is logged as a
    warning and read as the usual :data:`DEFAULT_TOKEN_LIFETIME`, so odd answers never make every request
    fetch a new token; a longer lifetime is cut to :data:`MAX_TOKEN_LIFETIME`.
    """
    seconds: float | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = float(min(value, 10 * int(MAX_TOKEN_LIFETIME)))
    elif isinstance(value, float | str):
        try:
            seconds = float(value)
        except ValueError:
            seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds < MIN_TOKEN_LIFETIME:
        log.warning("the token answer of %s had expires_in %s; taking the token to last %.0f s",
                    host, one_line(repr(value), 40), DEFAULT_TOKEN_LIFETIME)
        return DEFAULT_TOKEN_LIFETIME
    if seconds > MAX_TOKEN_LIFETIME:
        log.warning("the token answer of %s had expires_in %s; taking the token to last %.0f s",
                    host, one_line(repr(value), 40), MAX_TOKEN_LIFETIME)
        return MAX_TOKEN_LIFETIME
    return seconds
