"""A stream's progress as one run: its chunks' runs summed into one ``start`` .. ``done``.

Each chunk of a stream is entered by a run of its own, and each run reports its own ``start`` and ``done``
with the counts of its chunk. :class:`StreamProgress` stands between those runs and the caller's callback:
the caller sees one ``start`` when the first chunk begins, one ``done`` when the stream ends, and in between
events whose counts, batches, rows and speed add the finished chunks' final figures to the current chunk's.
Each event costs a few additions, whatever the number of rows before it.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from .._rules import PENDING, PROGRESS_STATUSES
from .context import ProgressCallback, progress_callback
from .progress import ProgressEvent, ProgressKind
from .sources import is_polars

__all__ = ["StreamProgress", "known_rows", "whole_stream_progress"]

log = logging.getLogger("sfmc_nb.engine")

P = ParamSpec("P")
R = TypeVar("R")


def known_rows(source: object) -> int | None:
    """The rows of a stream when they can be known without reading it: a Parquet file's metadata (with pyarrow),
    a list or tuple of DataFrames, a polars DataFrame. None otherwise (a CSV file, a generator, a LazyFrame)."""
    try:
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if path.suffix.lower() not in (".parquet", ".pq") or not path.is_file():
                return None
            import pyarrow.parquet as pq  # type: ignore[import-not-found,import-untyped,unused-ignore]

            return int(pq.ParquetFile(path).metadata.num_rows)
        if isinstance(source, (list, tuple)):
            return sum(len(chunk) for chunk in source)
        if is_polars(source) and not hasattr(source, "collect"):
            return int(source.height)   # type: ignore[attr-defined]
    except Exception:   # no pyarrow, an unreadable file, odd items: the run says what is wrong, progress guesses not
        return None
    return None


class StreamProgress:
    """The progress callback given to each chunk's run: passes the caller one run's worth of events.

    A chunk's ``start`` (but the first's) is held back; its ``done`` adds the chunk's final figures to the finished
    chunks' (passed on as a ``batch`` event only when they differ from the last event's: an interrupt, a chunk
    resumed with nothing to send); :meth:`finish` sends the one ``done``.
    Other kinds (batch, throttle, reconcile, interrupt) pass with the stream's figures. After :meth:`finish`,
    events pass unchanged (a ``retry()`` of the stream's result runs chunk by chunk).
    """

    def __init__(self, progress: ProgressCallback, rows_total: int | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.progress = progress
        self.rows_total = rows_total
        self.clock = clock
        self.chunk = -1
        self.finished = False
        self._started: float | None = None
        self._counts = dict.fromkeys(PROGRESS_STATUSES, 0)   # the finished chunks' final counts
        self._batches_done = 0
        self._batches_total = 0
        self._rows = 0          # rows of the finished chunks
        self._sent = 0.0        # rows the finished chunks' runs sent and heard back about
        self._last_counts: dict[str, int] | None = None   # of the last event passed on

    def __call__(self, event: ProgressEvent) -> None:
        if self.finished:
            self._send(event)
        elif event.kind == ProgressKind.START:
            self.chunk += 1
            if self._started is None:
                self._started = self.clock()
                self._forward(self._whole(event))
        elif event.kind == ProgressKind.DONE:
            whole = self._whole(event, ProgressKind.BATCH)
            self._fold(event)
            if whole.counts != self._last_counts:   # the chunk's end changed rows its last batch did not report
                self._forward(whole)
        else:
            self._forward(self._whole(event))

    def finish(self, message: str = "") -> None:
        """The stream ended: send its one ``done`` (none if no chunk started, as a dry run sends none)."""
        if self.finished:
            return
        self.finished = True
        if self._started is not None:
            self._send(self._event(ProgressKind.DONE, self._counts, self._batches_done, self._batches_total,
                                   self._rows, self._sent, message=message))

    def _forward(self, event: ProgressEvent) -> None:
        self._last_counts = dict(event.counts)
        self._send(event)

    def recount(self, before: Mapping[str, int], after: Mapping[str, int]) -> None:
        """A finished chunk's rows changed after its run reported its end (its rows in doubt were settled while
        later chunks were sent): its counts among the finished chunks' follow."""
        for status in PROGRESS_STATUSES:
            self._counts[status] += after.get(status, 0) - before.get(status, 0)

    def _send(self, event: ProgressEvent) -> None:
        try:
            self.progress(event)
        except Exception:  # a broken display must not break the run
            log.exception("progress callback failed")

    def _fold(self, done: ProgressEvent) -> None:
        """A chunk's run ended: its final figures join the finished chunks'."""
        for status in PROGRESS_STATUSES:
            self._counts[status] += done.counts.get(status, 0)
        self._batches_done += done.batches_done
        self._batches_total += done.batches_total
        self._rows += done.rows_total
        self._sent += _sent(done)

    def _whole(self, event: ProgressEvent, kind: ProgressKind | None = None) -> ProgressEvent:
        """``event`` of the current chunk as an event of the stream (the finished chunks' figures added)."""
        counts = {s: n + event.counts.get(s, 0) for s, n in self._counts.items()}
        return self._event(kind or event.kind, counts, self._batches_done + event.batches_done,
                           self._batches_total + event.batches_total, self._rows + event.rows_total,
                           self._sent + _sent(event), event.wait, event.message)

    def _event(self, kind: ProgressKind, counts: Mapping[str, int], batches_done: int, batches_total: int,
               rows_read: int, sent: float, wait: float | None = None, message: str = "") -> ProgressEvent:
        elapsed = self.clock() - (self._started or 0.0)
        rows_total = rows_read if self.rows_total is None else self.rows_total
        return ProgressEvent(kind, batches_done, batches_total, rows_total, dict(counts), elapsed,
                             sent / elapsed if elapsed > 0 and sent else None, wait, message,
                             chunk=max(self.chunk, 0), rows_done=rows_read - counts.get(PENDING, 0),
                             total_known=self.rows_total is not None)


def _sent(event: ProgressEvent) -> float:
    """The rows a chunk's run sent and heard back about so far (its speed is those rows over its time)."""
    return event.contacts_per_second * event.elapsed if event.contacts_per_second else 0.0


def whole_stream_progress(enter: Callable[P, R]) -> Callable[P, R]:
    """Wraps ``enter_stream`` so that its ``progress=`` callback sees the stream as one run: the callback is
    wrapped in a :class:`StreamProgress`, whose ``done`` is sent when the stream returns or raises."""

    @functools.wraps(enter)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        given: Any = kwargs.get("progress")
        if not (given is None or isinstance(given, bool) or callable(given)):
            return enter(*args, **kwargs)   # the option checks refuse it
        callback = progress_callback(given)
        if callback is None:
            return enter(*args, **kwargs)
        adapter = StreamProgress(callback, known_rows(args[0] if args else kwargs.get("source")))
        kwargs["progress"] = adapter
        ended = False
        try:
            result = enter(*args, **kwargs)
            ended = True
            return result
        finally:
            adapter.finish("" if ended else "the stream stopped on an error")

    return wrapper
