"""Polite under throttling: one shared pause, an AIMD limit on batches in flight, and a send rate learned from 429s.

A burst of 429s pauses every worker (for the ``Retry-After`` the service gave, header or body, else the shared
exponential backoff), halves the batches allowed in flight, and from then on paces sends to a rate learned from
the 429s (:class:`Pacer`): lowered multiplicatively at each burst, raised additively with clean answers. Until the
first 429 nothing is paced, so a run without a quota never waits.

One burst counts once, whichever style it came in: each request carries the throttle's *epoch* from when it was
sent, and a 429 for a request sent before the current burst began (already in flight when the first 429 came) is
part of that burst: it neither escalates the backoff nor lowers the limits again.

Waits are bounded: a 429 asking for longer than the run may take (``max_wait``, the run's ``max_seconds``) ends
the run's sending instead of stalling it: :attr:`Throttle.gave_up` says why, and every batch left ends ``failed``.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable

from .._rules import backoff_delay, retry_after_text

__all__ = ["Throttle", "Pacer", "MIN_WAIT"]

MIN_WAIT = 0.05
"""Shortest pause after a 429, even when the service says ``Retry-After: 0``."""


class Pacer:
    """The client-side send rate: spacing between sends, none until the first burst of 429s.

    At the first burst the rate starts from the clean answers of the second before it (what the service
    admitted); each later burst multiplies it by :attr:`DECREASE`. Every clean
    answer raises it by ``INCREASE x reference / rate``: about ``INCREASE`` of the rate set at the last burst per
    second, whatever the quota's size, but only while the pace is what holds sends back (so it cannot grow
    without bound while the concurrency limit or the input is the bottleneck). Plain arithmetic on times
    passed in: the :class:`Throttle` holds the lock and the clock.
    """

    DECREASE = 0.8     # rate kept at a burst of 429s
    INCREASE = 0.05    # share of the reference rate added per second of clean answers
    FLOOR = 0.5        # sends a second: the rate never goes lower
    WINDOW = 1.0       # seconds of clean answers the first estimate counts
    BURST = 1.0        # seconds of sends that may go at once after a quiet spell
    MIN_SAMPLES = 3    # clean answers needed for a first estimate; fewer: keep sending unpaced

    def __init__(self) -> None:
        self.rate: float | None = None   # sends a second; None: not pacing
        self.reference = 0.0             # the rate set at the last burst: the additive step scales with it
        self.next_slot = 0.0             # the earliest time the next send may go
        self._answers: collections.deque[float] = collections.deque()   # clean answers of the last WINDOW

    def reserve(self, now: float) -> float:
        """The time the next send may go (``now`` when not pacing); the slot after it is kept for the next."""
        if self.rate is None:
            return now
        slot = max(now, self.next_slot - self.BURST)
        self.next_slot = max(self.next_slot, now) + 1.0 / self.rate
        return slot

    def admitted(self, now: float) -> None:
        """A clean answer: count it, and raise the rate while the pace is what holds sends back."""
        if self.rate is None:
            self._answers.append(now)
            while self._answers and self._answers[0] <= now - self.WINDOW:
                self._answers.popleft()
        elif self.next_slot - now >= self.BURST / 2:   # sends use up the burst allowance: the pace holds them back
            self.rate += self.INCREASE * self.reference / self.rate

    def refused(self, now: float) -> None:
        """A new burst of 429s: lower the rate (the first time, learn it from what was admitted)."""
        if self.rate is None:
            recent = [t for t in self._answers if t > now - self.WINDOW]
            if len(recent) < self.MIN_SAMPLES:
                return   # nothing to learn from yet: the pause and the concurrency limit act alone
            rate = len(recent) / self.WINDOW
            self._answers.clear()
        else:
            rate = self.DECREASE * self.rate
        self.rate = self.reference = max(self.FLOOR, rate)
        self.next_slot = max(self.next_slot, now + self.BURST)   # the service's bucket is empty: so is ours


class Throttle:
    """Shared pause, AIMD limit on batches in flight and learned send rate, for the workers of one run."""

    def __init__(self, limit: int, backoff_base: float = 1.0, backoff_max: float = 60.0,
                 max_wait: float = math.inf, clock: Callable[[], float] = time.monotonic):
        self.max = limit
        self.limit = float(limit)
        self.max_wait = max_wait
        self.pacer = Pacer()
        self.epoch = 0              # bursts of 429s so far; a request carries the value from when it was sent
        self.paused_seconds = 0.0   # wall time all workers stood still (overlapping waits counted once)
        self.gave_up: str | None = None   # why sending stopped: a wait longer than the run may take
        self._lock = threading.Lock()
        self._clock = clock
        self._pause_until = 0.0
        self._burst_began = 0.0
        self._consecutive = 0       # bursts with no clean answer between them: the backoff's exponent
        self._base, self._cap = backoff_base, backoff_max

    @property
    def allowed(self) -> int:
        """Batches allowed in flight (all of them once sending has stopped: they end without a request)."""
        return self.max if self.gave_up else max(1, int(self.limit))

    @property
    def rate(self) -> float | None:
        """The send rate paced to, in requests a second; ``None`` until the first 429."""
        return self.pacer.rate

    def throttled(self, retry_after: float | None, epoch: int | None = None) -> float:
        """Record a 429 for a request sent in ``epoch`` (``None``: the current one); return how long every
        worker now waits. A wait past ``max_wait`` sets :attr:`gave_up` instead and returns 0."""
        with self._lock:
            now = self._clock()
            if retry_after is not None and not retry_after <= self.max_wait:
                self.gave_up = self.gave_up or (f"the service asked to wait {retry_after_text(retry_after)}, beyond "
                                                f"max_seconds={self.max_wait:g}: call .retry() later")
                return 0.0
            if epoch is None or epoch >= self.epoch:   # the first 429 of a new burst
                self.epoch += 1
                self._consecutive += 1
                self.limit = max(1.0, self.limit / 2)
                self.pacer.refused(now)
                self._burst_began = now
                wait_s = backoff_delay(self._consecutive, self._base, self._cap) if retry_after is None \
                    else max(MIN_WAIT, retry_after)
                until = max(self._pause_until, now + wait_s)
            else:   # sent before this burst began: counted already; only a longer wait the service asks for counts
                until = self._pause_until if retry_after is None else \
                    max(self._pause_until, self._burst_began + retry_after)
            self.paused_seconds += max(0.0, until - max(self._pause_until, now))
            self._pause_until = until
            return max(0.0, until - now)

    def success(self, epoch: int | None = None) -> None:
        """A clean answer to a request sent in ``epoch``. One sent before the last burst says nothing about
        the pace since, so only answers to requests sent after it raise the limits."""
        with self._lock:
            if epoch is not None and epoch < self.epoch:
                return
            self._consecutive = 0
            self.limit = min(float(self.max), self.limit + 1.0 / self.limit)
            self.pacer.admitted(self._clock())

    def acquire(self, stop: threading.Event) -> int:
        """Wait until a request may go (the pause over, its pacing slot reached); return its epoch.

        Returns at once when the run stops or sending has stopped (:attr:`gave_up`); the caller checks.
        """
        return self._acquire(stop)[0]

    def wait(self, stop: threading.Event) -> float:
        """Sleep out a pause and the pacing (waking early when the run stops); return the time slept."""
        return self._acquire(stop)[1]

    def _acquire(self, stop: threading.Event) -> tuple[int, float]:
        slept, slot = 0.0, None
        while True:
            with self._lock:
                now = self._clock()
                if self.gave_up or stop.is_set():
                    return self.epoch, slept
                if now < self._pause_until:       # a pause (begun since the slot was taken, maybe): wait it out
                    slot, left = None, self._pause_until - now
                else:
                    if slot is None:
                        slot = self.pacer.reserve(now)
                    left = slot - now
                if left <= 0:
                    return self.epoch, slept
            step = min(left, 0.1)   # short steps: a stop or a give-up is seen within 0.1 s
            if stop.wait(step):
                return self.epoch, slept
            slept += step
