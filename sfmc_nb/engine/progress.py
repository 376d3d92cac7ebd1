"""Progress of a run as typed events, and the plain-text reporter for terminals and scripts.

The engine calls one ``progress(event)`` callback per step; the widget layer and :class:`TextProgress`
are two such callbacks. Events carry the counts as they stand (kept up to date by the result, never
recounted), so a reporter costs the same at row 100 as at row 1,000,000.

A stream (a file or an iterable of DataFrames, entered chunk by chunk) reports as one run: one ``start``, one
``done``, and counts, batches, rows and speed summed over its chunks (:mod:`sfmc_nb.engine._streamprogress`).
Its events say which chunk is being entered and how many rows are done; its total is often unknown.
"""

from __future__ import annotations

import enum
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

from .._rules import PROGRESS_STATUSES, counts_text

__all__ = ["ProgressKind", "ProgressEvent", "TextProgress", "ALWAYS_SHOWN", "stream_text"]


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

    A stream's events (``chunk`` is not None) count from the start of the stream: ``chunk`` is the number of the
    chunk being entered (from 0, as the stream's warnings and journal number them), ``rows_done`` the rows read
    so far that have their outcome, and ``batches_total`` the batches of the chunks read so far. ``rows_total``
    is the input's row count when it is known (a Parquet file's metadata, a list of DataFrames); when it is not
    (a CSV file, a generator), ``total_known`` is False and ``rows_total`` counts the rows read so far.
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
    chunk: int | None = None
    rows_done: int | None = None
    total_known: bool = True

    @property
    def always_shown(self) -> bool:
        return self.kind in ALWAYS_SHOWN

    @property
    def streamed(self) -> bool:
        """True for the events of a stream, which count over all its chunks."""
        return self.chunk is not None


def stream_text(event: ProgressEvent) -> str:
    """``chunk 3 · 250,000 rows · 12,000/s``; ``250,000 of 1,000,000 rows (25%)`` when the total is known."""
    done = event.rows_done or 0
    if event.total_known and event.rows_total:
        rows = f"{done:,} of {event.rows_total:,} rows ({done / event.rows_total:.0%})"
    else:
        rows = f"{done:,} rows"
    speed = f" · {event.contacts_per_second:,.0f}/s" if event.contacts_per_second else ""
    return f"chunk {event.chunk} · {rows}{speed}"


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
        note = f" ({event.message})" if event.message else ""
        counts = counts_text(event.counts, PROGRESS_STATUSES, empty="none yet")
        if event.streamed:
            line = f"{stream_text(event)}; {counts}"
        else:
            speed = f", {event.contacts_per_second:,.0f}/s" if event.contacts_per_second else ""
            line = f"batch {event.batches_done}/{event.batches_total}; {counts}{speed}"
        print(f"[sfmc_nb] {event.kind}: {line}{note}", file=self.stream, flush=True)
