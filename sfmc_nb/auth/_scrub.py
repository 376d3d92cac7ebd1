"""Access tokens kept out of every message: the live tokens and any ``Bearer <value>`` masked in text and logs.

A token is wrapped in a :class:`~sfmc_nb.auth.Secret` the moment it is read, but an exception raised by a
library that held it (``requests``, ``http.client``: "Invalid header value b'Bearer ...'") quotes it in its own
text. :func:`hide_tokens` masks every token this process holds, in the forms such texts quote it (as written,
escaped as in a ``repr``, as JSON, folded on one line), and anything that follows the word ``Bearer``. The log
filter does the same for every record of the package's loggers, tracebacks included.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._rules import SECRET_MASK, scrub

if TYPE_CHECKING:
    from ._tokens import Token

__all__ = ["hide_tokens", "remember_token", "TokenLogFilter", "PROTECTED_LOGGERS"]

_BEARER = re.compile(r"\b(bearer)(?:\s|\\[rnt]|%20)+[^\s'\"]+", re.IGNORECASE)
PROTECTED_LOGGERS = ("sfmc_nb", "sfmc_nb.auth", "sfmc_nb.client", "sfmc_nb.engine", "sfmc_nb.journeys",
                     "sfmc_nb.widgets", "sfmc_nb.magics")
"""The package's loggers (the sandbox apart): each carries :class:`TokenLogFilter`."""


_live: weakref.WeakSet[Token] = weakref.WeakSet()   # tokens some TokenManager or call still holds
_live_lock = threading.Lock()   # a token granted in one thread while another scrubs a message


def remember_token(token: Token) -> None:
    """Note a token just granted, so every message is scrubbed of it for as long as it is alive."""
    with _live_lock:
        _live.add(token)


def _spellings(token: str) -> set[str]:
    """The ways an error text may quote ``token``: as is, ``repr`` escaped (str and bytes), JSON, on one line."""
    return {token, repr(token)[1:-1], repr(token.encode("latin-1", "backslashreplace"))[2:-1],
            repr(token.encode("utf-8", "backslashreplace"))[2:-1], json.dumps(token)[1:-1], " ".join(token.split())}


def hide_tokens(text: str, tokens: Iterable[str] = ()) -> str:
    """``text`` with every live access token (and ``tokens``) masked, and whatever follows ``Bearer`` too."""
    with _live_lock:
        live = list(_live)
    values = [*tokens, *(token.value.reveal() for token in live)]
    text = scrub(text, {s for value in values if value for s in _spellings(value)})
    return _BEARER.sub(lambda m: f"{m.group(1)} {SECRET_MASK}", text)


class TokenLogFilter(logging.Filter):
    """Masks access tokens in a record's message and in its traceback text before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):   # a record whose arguments do not fit: the handler reports it
            return True
        hidden = hide_tokens(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            trace = logging.Formatter().formatException(record.exc_info)
            hidden = hide_tokens(trace)
            if hidden != trace:
                record.exc_text = hidden
        if record.stack_info:
            record.stack_info = hide_tokens(record.stack_info)
        return True


_FILTER = TokenLogFilter()
for _name in PROTECTED_LOGGERS:
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, TokenLogFilter) for f in _logger.filters):
        _logger.addFilter(_FILTER)
