"""A logged-in :class:`Connection` (the transport plus every endpoint group), ``connect()`` and the default."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import requests

from ..auth import Credentials, Secret
from ..errors import ConfigurationError
from ._contacts import ContactEndpoints
from ._entry import EntryEndpoints
from ._journeys import JourneyEndpoints
from ._retry import RetryPolicy

__all__ = ["Connection", "connect", "default_connection", "set_default_connection"]


class Connection(EntryEndpoints, JourneyEndpoints, ContactEndpoints):
    """A logged-in connection to one tenant (or the sandbox). Thread-safe.

    Create it with :func:`connect`. ``repr`` shows host, MID, scopes and minutes left on the
    token, never the secret or the token. :meth:`close` (or leaving a ``with`` block) also stops the sandbox
    when this connection started it (``owns_sandbox``), never one it was handed.
    """

    def __init__(self, credentials: Credentials, *, timeout: float | tuple[float, float] = (5.0, 30.0),
                 pool_size: int = 16, retry: RetryPolicy | None = None,
                 session: requests.Session | None = None, sandbox: Any = None, owns_sandbox: bool = False):
        super().__init__(credentials, timeout=timeout, pool_size=pool_size, retry=retry, session=session)
        self.sandbox = sandbox
        self.owns_sandbox = owns_sandbox and sandbox is not None

    @property
    def host(self) -> str:
        return self.credentials.host

    @property
    def scopes(self) -> list[str]:
        token = self.tokens.current
        return (token.scope or "").split() if token else []

    @property
    def minutes_left(self) -> float | None:
        token = self.tokens.current
        return None if token is None else max(0.0, token.seconds_left() / 60)

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    def __repr__(self) -> str:
        left = self.minutes_left
        token = "no token" if left is None else f"token {left:.0f} min left"
        mid = self.credentials.account_id if self.credentials.account_id is not None else "default"
        scopes = ",".join(self.scopes) or "-"
        kind = " sandbox" if self.is_sandbox else ""
        return f"<sfmc_nb.Connection{kind} host={self.host} mid={mid} scopes={scopes} {token}>"

    def login(self) -> Connection:
        """Fetch a token now, so bad credentials fail here rather than on the first call."""
        self.tokens.get()
        return self

    def close(self) -> None:
        """Close the connection pool, and stop the sandbox this connection started (if it did). Safe twice."""
        super().close()
        if self.owns_sandbox:
            self.sandbox.stop()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- connect and the default


_default: Connection | None = None
_default_lock = threading.Lock()

_TRUE = {"1", "true", "yes", "on"}


def connect(*, subdomain: str | None = None, auth_base_url: str | None = None, client_id: str | None = None,
            client_secret: str | Secret | None = None, account_id: int | str | None = None,
            scope: str | None = None, sandbox: Any = None, timeout: float | tuple[float, float] = (5.0, 30.0),
            pool_size: int = 16, retry: RetryPolicy | None = None, session: requests.Session | None = None,
            set_default: bool = True, prompt: Callable[[str], str] | None = None,
            dotenv: str | None = ".env") -> Connection:
    """Log in and return a :class:`Connection` (also made the default for ``df.sfmc`` and the magics).

    Settings come from the arguments, else ``SFMC_*`` environment variables, else ``.env``.
    ``sandbox=True`` (or ``SFMC_SANDBOX=1`` with no tenant given) starts the built-in sandbox and
    logs in to it (``close()`` stops it again); ``sandbox=<running sandbox>`` logs in to that one.
    """
    client_secret = Secret.wrap(client_secret)   # no frame of a failed login holds the secret in plain text
    explicit = any(v is not None for v in (subdomain, auth_base_url, client_id, client_secret))
    if sandbox is None and not explicit and os.environ.get("SFMC_SANDBOX", "").strip().lower() in _TRUE:
        sandbox = True
    started = None
    if sandbox is True or sandbox == 1:
        from .. import sandbox as sandbox_module

        sandbox = started = sandbox_module.start()
    try:
        if sandbox is not None and sandbox is not False:
            creds = _sandbox_credentials(sandbox, client_id, client_secret, account_id, scope)
        else:
            sandbox = None
            creds = Credentials.resolve(subdomain=subdomain, auth_base_url=auth_base_url, client_id=client_id,
                                        client_secret=client_secret, account_id=account_id, scope=scope,
                                        dotenv=dotenv, prompt=prompt)
        conn = Connection(creds, timeout=timeout, pool_size=pool_size, retry=retry, session=session,
                          sandbox=sandbox, owns_sandbox=started is not None)
    except BaseException:
        if started is not None:
            started.stop()
        raise
    try:
        conn.login()
    except BaseException:
        conn.close()
        raise
    if set_default:
        set_default_connection(conn)
    return conn


def _sandbox_credentials(sandbox: Any, client_id: str | None, client_secret: Secret | None,
                         account_id: int | str | None, scope: str | None) -> Credentials:
    """The login of a running sandbox (what the caller gave wins); the environment and ``.env`` are ignored."""
    if account_id is None:
        account_id = getattr(sandbox, "account_id", None)
    return Credentials.resolve(auth_base_url=sandbox.auth_base_url, client_id=client_id or sandbox.client_id,
                               client_secret=client_secret or sandbox.client_secret, account_id=account_id,
                               scope=scope, environ={}, dotenv=None)


def set_default_connection(conn: Connection | None) -> None:
    global _default
    with _default_lock:
        _default = conn


def default_connection(required: bool = True) -> Connection | None:
    """The connection made by the last :func:`connect` / ``%sfmc_auth``."""
    if _default is None and required:
        raise ConfigurationError("not logged in: call sfmc_nb.connect() (or %sfmc_auth in a notebook) first, "
                                 "or pass connection=")
    return _default
