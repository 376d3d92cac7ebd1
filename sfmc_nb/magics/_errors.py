"""How the magics show errors: one line, no traceback, never a secret.

IPython prints exactly ``UsageError`` (not a subclass) as one line without a traceback, so every mistake on
a magic line and, while ``SfmcMagics.short_errors`` is on, every library error becomes a plain ``UsageError``
(the library error rides along as ``.sfmc_error``, as jupysql does). Each text shown is scrubbed of the client
secret and the tokens the session knows.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from typing import Any

from IPython.core.error import UsageError

from .. import client as _client
from .._rules import join_limited, one_line, scrub
from ..auth import ENV_NAMES, hide_tokens, read_dotenv
from ..errors import ApiError, SfmcError

__all__ = ["MAX_ERROR_CHARS", "MAX_LISTED", "HelpShown", "listed", "usage_error", "known_secrets", "session_secrets",
           "short_message", "guard"]

MAX_ERROR_CHARS = 600
MAX_LISTED = 20
"""Names listed in one message (column names, contact keys) before ``... (n more)``."""


class HelpShown(Exception):
    """``-h`` printed the help; the magic returns ``None``."""


def listed(items: Iterable[Any]) -> str:
    """``a, b, c, ... (7 more)``: names for a message, at most :data:`MAX_LISTED` of them."""
    return join_limited(items, MAX_LISTED)


def usage_error(message: str, original: SfmcError | None = None) -> UsageError:
    """A plain ``UsageError`` carrying the library error as ``.sfmc_error``."""
    err = UsageError(message)
    err.sfmc_error = original  # type: ignore[attr-defined]
    return err


def known_secrets() -> list[str]:
    """The client secret as configured in the environment or the ``.env`` file (if any)."""
    found = [os.environ.get(ENV_NAMES["client_secret"], "")]
    try:
        found.append(read_dotenv(".env").get(ENV_NAMES["client_secret"], ""))
    except (OSError, UnicodeDecodeError):
        pass
    return [s for s in found if s and len(s) >= 4]


def session_secrets(own_sandboxes: Iterable[Any] = ()) -> list[str]:
    """Every secret the session knows: the configured one, and the secret and token of each live connection."""
    values = known_secrets()
    conn = _client.default_connection(required=False)
    for c in [conn, *own_sandboxes]:
        if c is None:
            continue
        try:
            values.append(c.credentials.client_secret.reveal())
            token = c.tokens.current
            if token is not None:
                values.append(token.value.reveal())
        except AttributeError:
            continue
    return [v for v in values if v and len(v) >= 4]


def short_message(exc: SfmcError) -> str:
    """A library error on one line: API errors as they are (HTTP status, errorcode), others with their class."""
    text = str(exc) if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
    return one_line(text, MAX_ERROR_CHARS)


def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one-line UsageErrors (``short_errors`` on), scrub secrets, hide the help exit.

    Wraps a method of a magics class that has ``settings`` (the shared :class:`SfmcMagics`).
    """

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except HelpShown:
            return None
        except UsageError as exc:
            raise UsageError(hide_tokens(scrub(str(exc), session_secrets(self.settings.own_sandboxes)))) from None
        except SfmcError as exc:
            if not self.settings.short_errors:
                raise
            text = hide_tokens(scrub(short_message(exc), session_secrets(self.settings.own_sandboxes)))
            raise usage_error(text, exc) from None

    return wrapper
