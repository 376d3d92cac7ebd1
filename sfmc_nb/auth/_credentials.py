"""Credentials: from explicit arguments, then ``SFMC_*`` environment variables, then ``.env``, then a prompt.

The secret is wrapped in a :class:`Secret` the moment it is read (an argument on entry, a variable by name, the
``.env`` file as it is parsed), so no local variable or dict of settings ever holds it in plain text: a
traceback's locals display, a repr or a log line cannot show it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlsplit

from dotenv import dotenv_values

from .._rules import SECRET_MASK
from ..errors import ConfigurationError
from ._urls import check_url, has_credentials, host_of

__all__ = ["Secret", "Credentials", "read_dotenv", "ENV_NAMES"]

SUBDOMAIN_RE = re.compile(r"^[a-z0-9-]{28}$")
ENV_NAMES = {
    "subdomain": "SFMC_SUBDOMAIN",
    "auth_base_url": "SFMC_AUTH_BASE_URL",
    "client_id": "SFMC_CLIENT_ID",
    "client_secret": "SFMC_CLIENT_SECRET",
    "account_id": "SFMC_ACCOUNT_ID",
    "scope": "SFMC_SCOPE",
}
SECRET_NAME = ENV_NAMES["client_secret"]


class Secret:
    """A string that never shows itself: repr and str are masked; ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    @classmethod
    def wrap(cls, value: str | Secret | None) -> Secret | None:
        """``value`` as a :class:`Secret` (surrounding blanks dropped); ``None`` when it is missing or empty."""
        if isinstance(value, Secret):
            return value if value else None
        if value is None or not str(value).strip():
            return None
        return cls(str(value).strip())

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


def read_dotenv(path: str | os.PathLike = ".env") -> dict[str, str]:
    """The ``KEY=VALUE`` settings of a ``.env`` file, read by python-dotenv (``os.environ`` is left alone).

    Quotes, ``export``, comments (inline ones too) follow python-dotenv's rules; ``${VAR}`` is not expanded,
    so a secret containing ``$`` arrives as written. A missing file gives ``{}``.
    """
    return {key: value for key, value in dotenv_values(path, interpolate=False, encoding="utf-8").items()
            if value is not None}


def _dotenv_settings(path: str | os.PathLike) -> dict[str, str | Secret]:
    """The ``SFMC_*`` settings of a ``.env`` file, the secret wrapped as the file is read."""
    return {key: (Secret(value.strip()) if key == SECRET_NAME else value)
            for key, value in dotenv_values(path, interpolate=False, encoding="utf-8").items()
            if key in ENV_NAMES.values() and value is not None}


@dataclass(frozen=True)
class Credentials:
    """Where and how to log in. The secret is a :class:`Secret`, hidden from every repr."""

    auth_base_url: str
    client_id: str
    client_secret: Secret = field(repr=False)
    account_id: int | None = None
    scope: str | None = None

    def __post_init__(self) -> None:
        if has_credentials(self.auth_base_url):
            raise ConfigurationError(f"auth base URL (host {host_of(self.auth_base_url)}) must not contain a user "
                                     "name or password")

    @property
    def host(self) -> str:
        return host_of(self.auth_base_url)

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
        client_secret = Secret.wrap(client_secret)   # before anything that can fail, so no frame holds it plain
        settings = _Settings(environ, dotenv)
        url = settings.auth_base_url(subdomain, auth_base_url)
        cid = settings.pick("client_id", client_id)
        if not cid:
            raise ConfigurationError("no client id: pass client_id= or set SFMC_CLIENT_ID")
        secret = settings.client_secret(client_secret, prompt, f"Client secret for {cid} at {host_of(url)}: ")
        account = _account_number(settings.pick("account_id", account_id))
        return cls(url, str(cid).strip(), secret, account, settings.pick("scope", scope))


class _Settings:
    """The ``SFMC_*`` settings found outside the call: the environment (read by name), over the ``.env`` file.

    Nothing here copies the environment, and the secret is a :class:`Secret` from the moment it is read.
    """

    def __init__(self, environ: Mapping[str, str] | None, dotenv: str | os.PathLike | None):
        self._environ = environ
        self._dotenv = _dotenv_settings(dotenv) if dotenv else {}

    def _variable(self, name: str) -> str | None:
        """One variable of the environment (``os.environ`` unless the caller gave its own mapping)."""
        return (os.environ if self._environ is None else self._environ).get(name)

    def pick(self, name: str, given: Any) -> Any:
        """The argument when given, else the setting, else ``None`` (empty counts as not given)."""
        if given not in (None, ""):
            return given
        value: Any = self._variable(ENV_NAMES[name])
        if value in (None, ""):
            value = self._dotenv.get(ENV_NAMES[name])
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

    def client_secret(self, given: Secret | None, prompt: Callable[[str], str] | None, question: str) -> Secret:
        """The secret from the argument, the environment, ``.env`` or (last) the prompt, each wrapped as read."""
        secret = given or Secret.wrap(self._variable(SECRET_NAME)) or Secret.wrap(self._dotenv.get(SECRET_NAME))
        if not secret and prompt is not None:
            secret = Secret.wrap(prompt(question))
        if not secret:
            raise ConfigurationError("no client secret: set SFMC_CLIENT_SECRET (environment or .env)")
        return secret


def _subdomain_url(subdomain: str) -> str:
    """The auth base URL of a tenant subdomain. A wrong one is described, never quoted: it may hold a password."""
    subdomain = subdomain.strip()
    if SUBDOMAIN_RE.match(subdomain) and subdomain.startswith("mc"):
        return f"https://{subdomain}.auth.marketingcloudapis.com/"
    expected = ("a tenant subdomain is 28 characters of a-z, 0-9 and '-', starting with 'mc' (copy it from the "
                "Installed Package's auth base URI)")
    if "@" in subdomain:
        raise ConfigurationError(f"subdomain{_host_named(subdomain)} must not contain a user name or password: "
                                 f"{expected}; give the client id and secret as SFMC_CLIENT_ID / SFMC_CLIENT_SECRET")
    if "://" in subdomain:
        raise ConfigurationError(f"subdomain{_host_named(subdomain)} is a URL: {expected}; or give the URL as "
                                 "auth_base_url= / --auth-base-url / SFMC_AUTH_BASE_URL")
    raise ConfigurationError(f"subdomain is malformed ({_subdomain_problem(subdomain)}): {expected}")


def _subdomain_problem(subdomain: str) -> str:
    """What is wrong with a subdomain, in words that do not quote it."""
    if len(subdomain) != 28:
        return f"it has {len(subdomain)} characters"
    if any(c.isupper() for c in subdomain):
        return "it has upper-case letters"
    if not re.fullmatch(r"[a-z0-9-]*", subdomain):
        return "it holds characters other than a-z, 0-9 and '-'"
    return "it does not start with 'mc'"


def _host_named(url: str) -> str:
    """`` (host h)`` for a URL whose host can be read with certainty, else nothing: never its user or password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return ""
    trustworthy = host and "@" not in parts.path + parts.query + parts.fragment   # else a '/' split the password
    return f" (host {host})" if trustworthy else ""


def _account_number(account: Any) -> int | None:
    """The business unit's MID as an int (``None``: the package's own unit)."""
    if account is None:
        return None
    try:
        return int(str(account).strip())
    except ValueError:
        raise ConfigurationError(f"account id {account!r} is not a number: use the business "
                                 "unit's MID, e.g. 514000001") from None
