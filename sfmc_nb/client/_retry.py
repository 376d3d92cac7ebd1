"""When a failed REST call is sent again, and how long to wait first: decisions only, no HTTP.

Shaped like urllib3's ``Retry``: the transport sends and sleeps, and asks the policy what to do after each
failure (:meth:`RetryPolicy.is_retry`, :meth:`~RetryPolicy.get_backoff_time`,
:meth:`~RetryPolicy.retry_after_seconds`, :meth:`~RetryPolicy.within_budget`). Every rule is a plain method
on a frozen object, so it can be tested with direct calls, in milliseconds, without a server.

The rules, from Salesforce's advice: a 429 was refused, so nothing happened and it is always retried (after
the wait the service asked for, if it said). A 5xx or an answer lost on the way back may have been carried
out, so only calls that merely read are retried; calls that change state (batch entry, single entry, contact
exit) raise and let the caller reconcile. A connection that never opened sent nothing and is always retried.
Other errors (400, 403, 404, ...) are the caller's to fix and never retried.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from .._rules import MAX_RETRY_AFTER, backoff_delay
from ..errors import RateLimitError, ServerError, SfmcError, TransportError

__all__ = ["RetryPolicy", "MIN_RETRY_AFTER"]

MIN_RETRY_AFTER = 0.05
"""Shortest wait after a 429, even when the service says ``Retry-After: 0``."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a single call tries before raising."""

    max_attempts: int = 4          # attempts per call, the first one included
    backoff_base: float = 0.5      # seconds; doubles each attempt, with jitter
    backoff_max: float = 30.0      # cap of one wait
    max_total_wait: float = 120.0  # cap of all waits of one call

    def is_retry(self, error: SfmcError, *, changes_state: bool) -> bool:
        """May a call that failed with ``error`` be sent again (attempt count and wait budget aside)?"""
        if isinstance(error, RateLimitError):
            return True
        if isinstance(error, TransportError):
            return not error.sent or not changes_state
        if isinstance(error, ServerError):
            return not changes_state
        return False

    def is_exhausted(self, attempts: int) -> bool:
        """True once ``attempts`` calls were made: no more may follow."""
        return attempts >= self.max_attempts

    def get_backoff_time(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): the shared backoff rule."""
        return backoff_delay(attempt, self.backoff_base, self.backoff_max)

    backoff = get_backoff_time   # the name the submission engine calls

    def wait_before_retry(self, error: SfmcError, attempt: int) -> float:
        """The wait the service asked for after a 429, else the backoff for ``attempt``."""
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return max(error.retry_after, MIN_RETRY_AFTER)
        return self.get_backoff_time(attempt)

    def within_budget(self, waited: float, wait: float) -> bool:
        """True when waiting ``wait`` more seconds keeps the call's waits within ``max_total_wait``."""
        return waited + wait <= self.max_total_wait

    def next_wait(self, error: SfmcError, *, attempts: int, waited: float, changes_state: bool) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` when the call must raise ``error`` now."""
        if not self.is_retry(error, changes_state=changes_state) or self.is_exhausted(attempts):
            return None
        wait = self.wait_before_retry(error, attempts)
        return wait if self.within_budget(waited, wait) else None

    @staticmethod
    def retry_after_seconds(headers: Mapping[str, str], body: Any, now: float | None = None) -> float | None:
        """The wait a 429 asks for: ``Retry-After`` header (seconds or HTTP date), else body ``retryAfter``.

        Always a finite number or ``None``: a wait past ``MAX_RETRY_AFTER`` (a day), infinite ones such as
        ``1e309`` included, reads as that ceiling, a negative one as 0, and one that is no number (``nan``,
        ``soon``) as not given, like a missing header.
        """
        header = headers.get("Retry-After")
        if header:
            seconds = _seconds(header)
            if seconds is not None:
                return seconds
            try:
                when = parsedate_to_datetime(header).timestamp()
            except (TypeError, ValueError, OverflowError):
                pass
            else:
                return _seconds(when - (time.time() if now is None else now))
        if isinstance(body, dict):
            for key in ("retryAfter", "retry_after"):
                seconds = _seconds(body.get(key))
                if seconds is not None:
                    return seconds
        return None


def _seconds(value: Any) -> float | None:
    """``value`` as a wait in seconds within [0, MAX_RETRY_AFTER]; ``None`` when it is no number at all."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)
