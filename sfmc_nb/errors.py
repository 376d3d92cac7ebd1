"""The one exception hierarchy of sfmc_nb.

Every error the package raises on purpose derives from :class:`SfmcError`, so
``except sfmc_nb.SfmcError`` catches them all. None of them ever carries the
client secret, an access token or request headers in its text or attributes.

    SfmcError
    ├── ConfigurationError      missing or malformed settings (subdomain, URL, credentials)
    ├── ValidationError         input refused before anything was sent (bad rows, columns, batch size)
    │   └── AlreadyEnteredError contacts an earlier run of this process entered for the same event key:
    │                           ``entered``, ``total``, ``started`` (``again=True`` enters them again)
    ├── AuthError               the token endpoint refused: ``error`` / ``error_description``
    ├── ApiError                a REST call answered with an error: ``status``, ``errorcode``, ``message``,
    │   │                       ``method``, ``path``
    │   ├── NotFoundError       404: unknown journey, version or event definition
    │   ├── RateLimitError      429: ``retry_after`` seconds, when the service said
    │   ├── ServerError         5xx: the request may or may not have been carried out
    │   ├── RedirectError       3xx not followed: ``location`` (credentials and contact data never go there)
    │   └── UnexpectedAnswerError  2xx, but not what was asked for: an HTML page (a login or proxy page), an
    │                           empty body, CSV without the columns asked for
    └── TransportError          no HTTP answer at all: ``method``, ``path``, ``sent``
        ├── ConnectError        the request never left (connection refused, DNS): safe to resend
        └── OutcomeUnknownError the request went out, the answer was lost (read timeout, reset):
                                the call may have taken effect, so check before resending

    SfmcWarning (UserWarning)   something to know about a run that did not stop it (repeated keys, keys
                                converted from floats, data columns left out, a resumed run): issued once
                                per run with :func:`warnings.warn`, and kept in ``EntryResult.warnings``
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

__all__ = [
    "SfmcError",
    "ConfigurationError",
    "ValidationError",
    "AlreadyEnteredError",
    "AuthError",
    "ApiError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "RedirectError",
    "UnexpectedAnswerError",
    "TransportError",
    "ConnectError",
    "OutcomeUnknownError",
    "SfmcWarning",
    "warn_caller",
]


class SfmcError(Exception):
    """Root of every error sfmc_nb raises on purpose."""


class ConfigurationError(SfmcError, ValueError):
    """A setting is missing or malformed; the message says which one and how to fix it."""


class ValidationError(SfmcError, ValueError):
    """Input was refused before anything was sent to Marketing Cloud."""


class AlreadyEnteredError(ValidationError):
    """A run was refused, nothing sent: ``entered`` of its ``total`` contacts were entered for the same event key by
    an earlier run of this process, the latest of which started at ``started`` (epoch seconds)."""

    def __init__(self, message: str, *, entered: int, total: int, started: float):
        super().__init__(message)
        self.entered = entered
        self.total = total
        self.started = started


class AuthError(SfmcError):
    """The token endpoint refused the credentials. Never retried: it is a configuration problem."""

    def __init__(self, message: str, *, status: int | None = None, error: str | None = None,
                 error_description: str | None = None):
        super().__init__(message)
        self.status = status
        self.error = error
        self.error_description = error_description


class ApiError(SfmcError):
    """A REST call answered with an HTTP error status (or, :class:`UnexpectedAnswerError`, with a success whose body
    is not what was asked for).

    ``body`` is the parsed JSON answer, else the answer's text (or ``None``); the message carries only a short
    excerpt of a text answer. Request headers are never kept.
    """

    def __init__(self, *, status: int, method: str, path: str, errorcode: int | None = None,
                 message: str | None = None, body: Any = None):
        self.status = status
        self.method = method
        self.path = path
        self.errorcode = errorcode
        self.message = message
        self.body = body
        super().__init__(self._text())

    def _text(self) -> str:
        code = f" errorcode {self.errorcode}" if self.errorcode is not None else ""
        msg = f": {self.message}" if self.message else ""
        return f"HTTP {self.status}{code} from {self.method} {self.path}{msg}"


class NotFoundError(ApiError):
    """404: the journey, version or event definition does not exist (errorcode 30003 for journeys)."""


class RateLimitError(ApiError):
    """429: the tenant is throttling. ``retry_after`` is the wait in seconds the service asked for, if any."""

    def __init__(self, *, retry_after: float | None = None, **kwargs: Any):
        self.retry_after = retry_after
        super().__init__(**kwargs)


class ServerError(ApiError):
    """5xx: the service failed; the request may or may not have been carried out."""


class RedirectError(ApiError):
    """3xx that sfmc_nb did not follow: calls that change state never follow a redirect, reads only to the same
    host over https (a redirected token request is an :class:`AuthError`, ``error="redirect"``). ``location`` is
    where it pointed, without any user name or password.
    """

    def __init__(self, *, location: str | None = None, **kwargs: Any):
        self.location = location
        super().__init__(**kwargs)


class UnexpectedAnswerError(ApiError):
    """A success status whose body is not what was asked for (an HTML "session expired" page, an empty body, CSV
    without the columns asked for): nothing can be read from it, and reading it as "no rows" would mislead.
    ``body`` keeps a short excerpt of the answer."""


class TransportError(SfmcError):
    """No HTTP answer came back. ``sent`` tells whether the request may have reached the service."""

    sent: bool = True

    def __init__(self, message: str, *, method: str, path: str):
        super().__init__(message)
        self.method = method
        self.path = path


class ConnectError(TransportError):
    """The connection could not be made; nothing was sent, so resending is safe."""

    sent = False


class OutcomeUnknownError(TransportError):
    """The request was sent but its answer was lost: it may have been carried out."""

    sent = True


class SfmcWarning(UserWarning):
    """A note about a run that did not stop it; ``warnings.simplefilter("error", SfmcWarning)`` makes it stop."""


def warn_caller(message: str) -> None:
    """Issue ``message`` as a :class:`SfmcWarning` attributed to the caller's code: the first frame outside
    sfmc_nb, so the warning names the user's line whichever public function was called."""
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).split(".")[0] == "sfmc_nb":
        frame = frame.f_back
        level += 1
    warnings.warn(message, SfmcWarning, stacklevel=level)
