"""Polite under throttling: one shared pause and an AIMD limit on the batches in flight.

A 429 pauses every worker for ``Retry-After`` (header or body) or an exponential backoff, and halves the
number of batches in flight; clean answers let it climb back by one per round (additive increase,
multiplicative decrease).
"""

from __future__ import annotations

import threading
import time

from .._rules import backoff_delay

__all__ = ["Throttle"]


class Throttle:
    """Shared pause and AIMD limit on batches in flight."""

    def __init__(self, limit: int, backoff_base: float = 1.0, backoff_max: float = 60.0):
        self.max = limit
        self.limit = float(limit)
        self._lock = threading.Lock()
        self._pause_until = 0.0
        self.paused_seconds = 0.0   # wall time all workers stood still (overlapping waits counted once)
        self._last_decrease = 0.0
        self._consecutive = 0
        self._base, self._cap = backoff_base, backoff_max

    @property
    def allowed(self) -> int:
        return max(1, int(self.limit))

    def throttled(self, retry_after: float | None) -> float:
        """Record a 429; return how long every worker now waits."""
        with self._lock:
            now = time.monotonic()
            self._consecutive += 1
            if retry_after is None:
                wait_s = backoff_delay(self._consecutive, self._base, self._cap)
            else:
                wait_s = max(0.05, retry_after)
            until = max(self._pause_until, now + wait_s)
            self.paused_seconds += until - max(self._pause_until, now)
            self._pause_until = until
            if now - self._last_decrease > min(1.0, wait_s):
                self.limit = max(1.0, self.limit / 2)
                self._last_decrease = now
            return max(0.0, self._pause_until - now)

    def success(self) -> None:
        with self._lock:
            self._consecutive = 0
            self.limit = min(float(self.max), self.limit + 1.0 / self.limit)

    def wait(self, stop: threading.Event) -> float:
        """Sleep out a pause (waking early when the run stops); return the time slept."""
        waited = 0.0
        while not stop.is_set():
            left = self._pause_until - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.1))
            waited += min(left, 0.1)
        return waited
