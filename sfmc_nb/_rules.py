"""Rules the whole package shares, each written once: limits, defaults, backoff, strict JSON, plain text.

Everything here is small and pure (no I/O, no IPython): the client, batching, the engine, the results,
the widgets and the magics all read their limits and formulas from this one place.
"""

from __future__ import annotations

import decimal
import json
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .errors import ValidationError

__all__ = [
    "MAX_BATCH_SIZE", "MAX_CONTACTS_PER_LOOKUP", "DEFAULT_CONCURRENCY", "MAX_CONCURRENCY", "CONTACT_KEY_NAMES",
    "STATUSES", "STATUS_LABELS", "STATUS_COLOURS", "SECRET_MASK",
    "check_concurrency", "backoff_delay", "dumps_strict", "is_missing", "int_or_none",
    "plural", "counts_text", "one_line",
    "join_limited", "scrub", "default_contact_key",
    "PENDING", "PROGRESS_STATUSES", "PROGRESS_LABELS", "PROGRESS_COLOURS", "MAX_CONTACT_KEY_LENGTH",
]

MAX_BATCH_SIZE = 100
"""Members per batch entry request: the API takes 1..100."""
MAX_CONTACTS_PER_LOOKUP = 50
"""Contacts per membership / exit / exit-status request."""
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32
CONTACT_KEY_NAMES = ("SubscriberKey", "ContactKey")
"""Column names taken as the contact key when none is named (case-insensitive), in this order."""

STATUSES = ("queued", "not_queued", "failed", "unknown", "skipped")
"""Every per-row status, in the order tables and counts show them."""
STATUS_LABELS = {s: s.replace("_", " ") for s in STATUSES}
STATUS_COLOURS = {"queued": "#1b7f3b", "not_queued": "#b3261e", "failed": "#b3261e", "unknown": "#b26a00",
                  "skipped": "#6b6b6b"}
SECRET_MASK = "********"


def check_concurrency(value: Any, what: str = "concurrency") -> int:
    """``value`` as an int from 1 to :data:`MAX_CONCURRENCY`, or a :class:`ValidationError` saying so."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValidationError(f"{what} must be a whole number from 1 to {MAX_CONCURRENCY}; got {value!r}")
    value = int(value)
    if not 1 <= value <= MAX_CONCURRENCY:
        raise ValidationError(f"{what} must be from 1 to {MAX_CONCURRENCY}; got {value}")
    return value


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failure number ``attempt`` (1, 2, ...): exponential with equal jitter.

    The ceiling ``min(cap, base * 2**(attempt-1))`` is split in half: half is always waited (so retries
    really back off), the other half is random (so many clients do not retry in step).
    """
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return ceiling / 2 + rand() * ceiling / 2


def dumps_strict(payload: Any) -> bytes:
    """A request body as strict, compact UTF-8 JSON: NaN, infinity and non-JSON types raise clearly."""
    try:
        return json.dumps(payload, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except ValueError as exc:
        raise ValidationError(f"the request body is not valid JSON ({exc}); NaN and infinity cannot be "
                              "sent: map them to None first") from None
    except TypeError as exc:
        raise ValidationError(f"the request body is not JSON serialisable: {exc}") from None


def is_missing(value: Any) -> bool:
    """True for every spelling of "no value": None, NaN (float, numpy, Decimal), NaT, pd.NA."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    if isinstance(value, decimal.Decimal):
        return value.is_nan()
    return False


def int_or_none(value: Any) -> int | None:
    """An int from an API field that may be missing, empty, a string or junk (junk gives ``None``)."""
    if isinstance(value, bool):
        return None
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``1 row``, ``2,500 rows`` (``many`` for irregular plurals)."""
    return f"{n:,} {noun if n == 1 else (many or noun + 's')}"


def counts_text(counts: Mapping[str, int], order: Sequence[str] = STATUSES, empty: str = "no rows") -> str:
    """``100 queued, 3 not queued`` for the statuses with a non-zero count, in table order."""
    parts = [f"{int(counts.get(s, 0)):,} {STATUS_LABELS.get(s, s)}" for s in order if counts.get(s)]
    return ", ".join(parts) or empty


def one_line(text: Any, limit: int | None = None) -> str:
    """``text`` on one line (runs of white space folded), cut with ``...`` past ``limit`` characters."""
    text = " ".join(str(text).split())
    if limit is not None and len(text) > limit:
        return text[:max(limit - 3, 1)] + "..."
    return text


def join_limited(items: Iterable[Any], limit: int = 10) -> str:
    """``a, b, c, ... (7 more)``: a list for a message, never unbounded."""
    items = [str(i) for i in items]
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret of at least 4 characters replaced by the mask (longest first)."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, SECRET_MASK)
    return text


def default_contact_key(columns: Iterable[Any]) -> str | None:
    """The column to use as contact key when none is named: ``SubscriberKey`` or ``ContactKey``."""
    cols = list(columns)
    for name in CONTACT_KEY_NAMES:
        for col in cols:
            if isinstance(col, str) and col.lower() == name.lower():
                return col
    return None


# -- progress: rows a run has not answered yet ------------------------------------------------------------

PENDING = "pending"
"""Progress only (never a row status): rows a run has yet to send or hear back about."""
PROGRESS_STATUSES = ("queued", "not_queued", "failed", "unknown", PENDING, "skipped")
"""The counts of a progress event, in the order progress displays show them."""
PROGRESS_LABELS = {**STATUS_LABELS, PENDING: "pending"}
PROGRESS_COLOURS = {**STATUS_COLOURS, PENDING: "#3b6ea8"}


# -- contact keys: Marketing Cloud's limit -----------------------------------------------------------------

MAX_CONTACT_KEY_LENGTH = 254
"""Characters a contact key may hold in Marketing Cloud; longer keys are refused before sending."""


# -- the longest wait a 429 may ask for ------------------------------------------------------------------------

MAX_RETRY_AFTER = 86_400.0
"""A ``Retry-After`` longer than a day (or infinite: ``1e309``) is read as a day, so waits stay finite numbers."""


def retry_after_text(seconds: float) -> str:
    """A wait a 429 asked for, for messages: ``"3600 s"``; at the ceiling, ``"86400 s or more"``."""
    return f"{seconds:g} s or more" if seconds >= MAX_RETRY_AFTER else f"{seconds:g} s"


__all__ += ["MAX_RETRY_AFTER", "retry_after_text"]
