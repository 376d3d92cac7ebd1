"""Progress of a run as typed events, and the plain-text reporter for terminals and scripts.

The engine calls one ``progress(event)`` callback per step; the widget layer and :class:`TextProgress`
are two such callbacks. Events carry the counts as they stand (kept up to date by the result, never
recounted), so a reporter costs the same at row 100 as at row 1,000,000.
"""

from __future__ import annotations

import enum
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

from .._rules import PROGRESS_STATUSES, counts_text

__all__ = ["ProgressKind", "ProgressEvent", "TextProgress", "ALWAYS_SHOWN"]


class ProgressKind(str, enum.Enum):
    """What happened. A ``str`` enum, so ``event.kind == "batch"`` keeps working in user callbacks."""

    START = "start"          # the run begins (totals known)
    BATCH = "batch"          # a batch got its answer
    THROTTLE = "throttle"    # a 429: every worker waits ``wait`` seconds
    RECONCILE = "reconcile"  # a batch in doubt is being checked against the status endpoint
    INTERRUPT = "interrupt"  # Ctrl-C / stop button: no new batch; ``message`` says how to stop waiting
    DONE = "done"            # the run ended (finished, interrupted or out of time)

    def __str__(self) -> str:
        return self.value


ALWAYS_SHOWN = frozenset({ProgressKind.START, ProgressKind.THROTTLE, ProgressKind.INTERRUPT, ProgressKind.DONE})
"""Kinds a rate-limited reporter must never drop: the user needs to see each of them."""


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run, for progress displays.

    ``counts`` holds the rows by status as they stand, plus ``pending``: the rows this run has yet to send or
    hear back about (``skipped`` counts only rows refused before sending).
    """

    kind: ProgressKind
    batches_done: int
    batches_total: int
    rows_total: int
    counts: Mapping[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    contacts_per_second: float | None = None
    wait: float | None = None
    message: str = ""

    @property
    def always_shown(self) -> bool:
        return self.kind in ALWAYS_SHOWN


class TextProgress:
    """A progress callback for terminals and scripts: one line every few seconds, not one per batch."""

    def __init__(self, stream: IO[str] | None = None, every: float = 5.0):
        self.stream = stream or sys.stderr
        self.every = every
        self._last = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        if not event.always_shown and now - self._last < self.every:
            return
        self._last = now
        speed = f", {event.contacts_per_second:,.0f}/s" if event.contacts_per_second else ""
        note = f" ({event.message})" if event.message else ""
        counts = counts_text(event.counts, PROGRESS_STATUSES, empty="none yet")
        print(f"[sfmc_nb] {event.kind}: batch {event.batches_done}/{event.batches_total}; {counts}{speed}{note}",
              file=self.stream, flush=True)
