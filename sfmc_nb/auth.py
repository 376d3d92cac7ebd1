"""Credentials and the access-token cache.

Credentials come from explicit arguments first, then ``SFMC_*`` environment variables, then a
``.env`` file in the working folder, then (only for the secret) a prompt callable supplied by the
caller. The secret lives in a :class:`Secret` whose repr hides it, so it cannot leak through a repr,
a traceback's locals display or a log line.

:class:`TokenManager` follows Salesforce's advice: reuse one token, ask for a new one a few minutes
before ``expires_in`` runs out, and never ask twice at once (many threads needing a token make one
request). OAuth refusals (``invalid_client`` and friends) raise :class:`~sfmc_nb.errors.AuthError`
at once and are never retried.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from ._rules import SECRET_MASK, backoff_delay, scrub
from .errors import AuthError, ConfigurationError, ConnectError, OutcomeUnknownError

__all__ = ["Secret", "Credentials", "TokenManager", "Token", "check_url", "read_dotenv", "is_loopback",
           "never_sent", "ENV_NAMES"]

log = logging.getLogger("sfmc_nb.auth")

SUBDOMAIN_RE = re.compile(r"^[a-z0-9-]{28}$")
ENV_NAMES = {
    "subdomain": "SFMC_SUBDOMAIN",
    "auth_base_url": "SFMC_AUTH_BASE_URL",
    "client_id": "SFMC_CLIENT_ID",
    "client_secret": "SFMC_CLIENT_SECRET",
    "account_id": "SFMC_ACCOUNT_ID",
    "scope": "SFMC_SCOPE",
}
LOOPBACK_NAMES = {"localhost"}
TOKEN_BACKOFF_BASE = 0.5   # seconds before the second token request; doubles, with jitter
TOKEN_BACKOFF_MAX = 8.0


class Secret:
    """A string that never shows itself: repr and str are masked; ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{SECRET_MASK}')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> NoReturn:  # pickling would write the secret to disk
        raise TypeError("a Secret cannot be pickled")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str) -> str:
    """Return ``url`` with a trailing slash, refusing plain http anywhere but loopback."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"{what} {url!r} is not an http(s) URL; expected e.g. "
                                 "'https://<subdomain>.auth.marketingcloudapis.com/'")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(f"{what} {url!r} uses plain http; Marketing Cloud hosts need https "
                                 "(http is allowed only for 127.0.0.1, localhost and ::1)")
    return url.strip() if url.strip().endswith("/") else url.strip() + "/"


def read_dotenv(path: str | os.PathLike = ".env") -> dict[str, str]:
    """Read ``KEY=VALUE`` lines of a ``.env`` file (comments, ``export`` and quotes allowed)."""
    p = Path(path)
    if not p.is_file():
        return {}
    values: dict[str, str] = {}
    for line in p.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


@dataclass(frozen=True)
class Credentials:
    """Where and how to log in. The secret is a :class:`Secret`, hidden from every repr."""

    auth_base_url: str
    client_id: str
    client_secret: Secret = field(repr=False)
    account_id: int | None = None
    scope: str | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.auth_base_url).netloc

    @classmethod
    def resolve(
        cls,
        *,
        subdomain: str | None = None,
        auth_base_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | Secret | None = None,
        account_id: int | str | None = None,
        scope: str | None = None,
        environ: Mapping[str, str] | None = None,
        dotenv: str | os.PathLike | None = ".env",
        prompt: Callable[[str], str] | None = None,
    ) -> Credentials:
        """Fill each setting from the arguments, else the environment, else ``.env``; prompt for the secret last."""
        settings = _Settings.read(environ, dotenv)
        url = settings.auth_base_url(subdomain, auth_base_url)
        cid = settings.pick("client_id", client_id)
        if not cid:
            raise ConfigurationError("no client id: pass client_id= or set SFMC_CLIENT_ID")
        secret = settings.client_secret(client_secret, prompt, f"Client secret for {cid} at {urlsplit(url).netloc}: ")
        account = _account_number(settings.pick("account_id", account_id))
        return cls(url, str(cid).strip(), secret, account, settings.pick("scope", scope))


class _Settings:
    """The ``SFMC_*`` settings found outside the call: the environment, over the ``.env`` file."""

    def __init__(self, values: Mapping[str, str]):
        self._values = values

    @classmethod
    def read(cls, environ: Mapping[str, str] | None, dotenv: str | os.PathLike | None) -> _Settings:
        values = dict(read_dotenv(dotenv)) if dotenv else {}
        values.update(os.environ if environ is None else environ)
        return cls(values)

    def pick(self, name: str, given: Any) -> Any:
        """The argument when given, else the setting, else ``None`` (empty counts as not given)."""
        if given not in (None, ""):
            return given
        value = self._values.get(ENV_NAMES[name])
        return value if value not in (None, "") else None

    def auth_base_url(self, subdomain: str | None, auth_base_url: str | None) -> str:
        """The token host, from a subdomain or a URL; one given as an argument overrides both settings."""
        if subdomain or auth_base_url:
            subdomain, auth_base_url = subdomain or None, auth_base_url or None
        else:
            subdomain, auth_base_url = self.pick("subdomain", None), self.pick("auth_base_url", None)
        if subdomain and auth_base_url:
            raise ConfigurationError("give either a subdomain or an auth base URL, not both "
                                     "(SFMC_SUBDOMAIN / SFMC_AUTH_BASE_URL)")
        if subdomain:
            auth_base_url = _subdomain_url(subdomain)
        if not auth_base_url:
            raise ConfigurationError("no tenant configured: set SFMC_SUBDOMAIN (or SFMC_AUTH_BASE_URL), "
                                     "SFMC_CLIENT_ID and SFMC_CLIENT_SECRET, or use the sandbox (SFMC_SANDBOX=1)")
        return check_url(auth_base_url, "auth base URL")

    def client_secret(self, given: str | Secret | None, prompt: Callable[[str], str] | None,
                      question: str) -> Secret:
        """The secret from the argument, the settings, or (last) the prompt, wrapped so it never shows."""
        secret = given if isinstance(given, Secret) else self.pick("client_secret", given)
        if not secret and prompt is not None:
            secret = prompt(question)
        if not secret:
            raise ConfigurationError("no client secret: set SFMC_CLIENT_SECRET (environment or .env)")
        return secret if isinstance(secret, Secret) else Secret(str(secret).strip())


def _subdomain_url(subdomain: str) -> str:
    subdomain = subdomain.strip()
    if not SUBDOMAIN_RE.match(subdomain) or not subdomain.startswith("mc"):
        raise ConfigurationError(
            f"subdomain {subdomain!r} is malformed: a tenant subdomain is 28 characters of a-z, 0-9 "
            "and '-', starting with 'mc' (copy it from the Installed Package's auth base URI)")
    return f"https://{subdomain}.auth.marketingcloudapis.com/"


def _account_number(account: Any) -> int | None:
    """The business unit's MID as an int (``None``: the package's own unit)."""
    if account is None:
        return None
    try:
        return int(str(account).strip())
    except ValueError:
        raise ConfigurationError(f"account id {account!r} is not a number: use the business "
                                 "unit's MID, e.g. 514000001") from None


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


class TokenManager:
    """Thread-safe token cache with early refresh and a single request in flight."""

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
        self.requests_made = 0

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

    def _fetch(self) -> Token:
        creds = self.credentials
        body: dict[str, Any] = {"grant_type": "client_credentials", "client_id": creds.client_id,
                      "client_secret": creds.client_secret.reveal()}
        if creds.account_id is not None:
            body["account_id"] = creds.account_id
        if creds.scope is not None:
            body["scope"] = creds.scope
        url = creds.auth_base_url + "v2/token"
        for attempt in range(1, self._max_attempts + 1):
            self.requests_made += 1
            try:
                resp = self._session.post(url, json=body, timeout=self._timeout)
            except requests.exceptions.ConnectionError as exc:
                kind = ConnectError if never_sent(exc) else OutcomeUnknownError
                err = kind(f"could not reach the token endpoint at {creds.host}: {type(exc).__name__}",
                           method="POST", path="/v2/token")
                if attempt == self._max_attempts:
                    raise err from None
            except requests.exceptions.Timeout:
                err = OutcomeUnknownError(f"the token endpoint at {creds.host} did not answer in time",
                                          method="POST", path="/v2/token")
                if attempt == self._max_attempts:
                    raise err from None
            else:
                if resp.status_code == 200:
                    return self._parse(resp)
                if resp.status_code < 500 and resp.status_code != 429:
                    raise self._refusal(resp)
                if attempt == self._max_attempts:
                    raise AuthError(f"the token endpoint at {creds.host} answered HTTP {resp.status_code} "
                                    f"{self._max_attempts} times; try again later", status=resp.status_code)
            time.sleep(backoff_delay(attempt, TOKEN_BACKOFF_BASE, TOKEN_BACKOFF_MAX))
        raise AssertionError("unreachable")

    def _parse(self, resp: requests.Response) -> Token:
        try:
            data = resp.json()
            value = data["access_token"]
            lifetime = float(data.get("expires_in") or 1079)
            rest = data["rest_instance_url"]
        except (ValueError, KeyError, TypeError):
            raise AuthError("the token endpoint answered 200 without access_token / rest_instance_url",
                            status=200) from None
        rest = check_url(rest, "rest_instance_url from the token answer")
        log.debug("token granted for %s, expires in %.0f s", self.credentials.host, lifetime)
        return Token(Secret(value), time.monotonic() + lifetime, lifetime, data.get("scope"), rest)

    def _refusal(self, resp: requests.Response) -> AuthError:
        try:
            data = resp.json()
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        error = data.get("error")
        desc = data.get("error_description") or data.get("message")
        if desc:
            desc = scrub(str(desc), [self.credentials.client_secret.reveal()])
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


def never_sent(exc: BaseException) -> bool:
    """True when a requests ConnectionError happened before the request could leave (so resending is safe)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, (NewConnectionError, NameResolutionError, ConnectTimeoutError,
                            requests.exceptions.ConnectTimeout, ConnectionRefusedError)):
            return True
        stack.extend([cur.__cause__, cur.__context__, getattr(cur, "reason", None)])
        stack.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
    return False
