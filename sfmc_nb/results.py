"""``EntryResult``: what happened to every input row of one journey entry run.

The per-row state is kept in compact columns (a few bytes a row, :mod:`~sfmc_nb._rowstore`; a stream's are
memory-mapped files, :mod:`~sfmc_nb._rowspool`), one slot per input position, so a run of millions of rows is cheap
to update; :meth:`EntryResult.to_frame` builds the pandas table on demand. The
text and HTML reprs are bounded (summary, errors first, then the first rows), so notebooks,
nbval, nbconvert and terminals all show a small table without widgets. The result knows nothing of
widgets: :meth:`EntryResult.show` builds whatever panel was registered with :func:`set_panel_factory`
(``import sfmc_nb`` registers the ipywidgets panel, imported only when ``show()`` is called).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, MutableSequence, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd

from . import _resultview
from ._reasons import group_row_reasons
from ._resultview import HTML_ROWS, TEXT_WIDTH  # noqa: F401 (still importable from here)
from ._rowexport import CHUNK_ROWS, write_csv, write_parquet
from ._rowstore import (
    MISSING_INT,
    CodeColumn,
    FloatColumn,
    IdColumn,
    IntColumn,
    KeyColumn,
    Repeated,
    TextColumn,
    positions_array,
)
from ._rules import STATUSES
from .errors import ConfigurationError

__all__ = ["EntryResult", "BatchRecord", "RetryHandle", "ProcessingHandle", "set_panel_factory", "STATUSES",
           "PROCESSING", "ROW_COLUMNS", "DRY_RUN", "NOT_SENT"]

ROW_COLUMNS = ["contactKey", "status", "eventInstanceId", "errorcode", "message", "requestId", "batch", "attempts",
               "processing", "processing_message"]
PROCESSING = ("processed", "errored", "pending")
"""What :meth:`EntryResult.wait` found of a queued row; ``pending``: still queued when the wait ended."""
BATCH_COLUMNS = ["batch", "requestId", "size", "httpStatus", "attempts", "seconds", "outcome", "message"]
MAX_RAW_ANSWERS = 50
DRY_RUN = "dry run: not sent"   # the message of every row a dry run would have sent
NOT_SENT = "not sent: the run was interrupted (call .retry() or run again with the same journal)"
UNPICKLED = ("it was restored from a pickle, without the connection its run used; run enter_journey again with "
             "the same journal= to finish it")

PanelFactory = Callable[["EntryResult"], Any]
_panel_factory: PanelFactory | None = None


def set_panel_factory(factory: PanelFactory | None) -> None:
    """Register what :meth:`EntryResult.show` builds from a result (``None`` removes it)."""
    global _panel_factory
    _panel_factory = factory


class RetryHandle(Protocol):
    """What :meth:`EntryResult.retry` runs: the engine's ``RunRetry`` (holding what the run was made of)."""

    def retry(self, result: EntryResult, **options: Any) -> None: ...


class ProcessingHandle(Protocol):
    """What :meth:`EntryResult.wait` and :meth:`EntryResult.trace` run (the engine's, holding the connection)."""

    def wait(self, result: EntryResult, *, timeout: float, poll: float) -> None: ...

    def trace(self, result: EntryResult, journey: Any = None, *, follow: bool = False, timeout: float = 60.0,
              poll: float = 1.0, since: Any = None) -> Any: ...


@dataclass
class BatchRecord:
    """One batch as sent: its answer, attempts and time."""

    number: int
    size: int
    request_id: str | None = None
    http_status: int | None = None
    attempts: int = 0
    seconds: float = 0.0
    outcome: str = "pending"   # queued / partial / not_queued / failed / unknown / resumed
    message: str | None = None
    sent_at: float | None = None  # local epoch seconds of its first request (dates entries in a check)


@dataclass
class EntryResult:
    """Per-row outcome of ``df.sfmc.enter_journey(...)`` (or ``%%journey_enter``)."""

    event_key: str
    index: pd.Index
    contact_keys: Sequence[Any]   # a list, or a KeyColumn in a stream's result
    status: MutableSequence[Any] = field(default_factory=list)
    event_instance_id: MutableSequence[Any] = field(default_factory=list)
    errorcode: MutableSequence[Any] = field(default_factory=list)
    message: MutableSequence[Any] = field(default_factory=list)
    request_id: MutableSequence[Any] = field(default_factory=list)
    batch: MutableSequence[Any] = field(default_factory=list)
    attempts: MutableSequence[Any] = field(default_factory=list)
    sent_at: MutableSequence[Any] = field(default_factory=list, repr=False)  # when the request that may enter it went
    processing: MutableSequence[Any] = field(default_factory=list)           # PROCESSING, once wait() followed it
    processing_message: MutableSequence[Any] = field(default_factory=list)
    batch_records: list[BatchRecord] = field(default_factory=list)
    raw: list = field(default_factory=list, repr=False)
    warnings: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    throttled_waits: int = 0
    throttled_seconds: float = 0.0
    reconciliations: int = 0
    concurrency: int = 0           # batches in flight allowed at the start
    lowest_concurrency: int = 0    # the least it was lowered to by throttling
    seconds: float = 0.0
    dry_run: bool = False
    interrupted: bool = False
    preview: list = field(default_factory=list, repr=False)
    journal: str | None = None
    key_column: str | None = None  # the input's contact key column, named in the fixes of error_reasons()
    _retry_handle: RetryHandle | None = field(default=None, init=False, repr=False, compare=False)
    _processing_handle: ProcessingHandle | None = field(default=None, init=False, repr=False, compare=False)
    _listeners: list = field(default_factory=list, repr=False)
    _no_retry: str | None = field(default=None, init=False, repr=False, compare=False)   # why retry() cannot run
    _counts: Counter[Any] = field(default_factory=Counter, init=False, repr=False, compare=False)
    _processing_counts: Counter[Any] = field(default_factory=Counter, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.contact_keys)
        for name in ("status", "event_instance_id", "errorcode", "message", "request_id", "batch", "attempts",
                     "sent_at", "processing", "processing_message"):
            if not getattr(self, name):
                value = "skipped" if name == "status" else (0 if name == "attempts" else None)
                setattr(self, name, Repeated(value, n))
        # a few bytes a row (see _rowstore)
        self.status = CodeColumn(STATUSES, self.status)
        self.processing = CodeColumn(PROCESSING, self.processing)
        self.errorcode, self.batch, self.attempts = (IntColumn(c) for c in (self.errorcode, self.batch, self.attempts))
        self.sent_at = FloatColumn(self.sent_at)
        self.message, self.request_id, self.processing_message = (
            TextColumn(c) for c in (self.message, self.request_id, self.processing_message))
        self.event_instance_id = IdColumn(self.event_instance_id)
        # counted once here, then kept up to date by set_row(s) / set_processing: reading counts never recounts
        self._counts = Counter(cast(CodeColumn, self.status).counts())
        self._processing_counts = Counter(cast(CodeColumn, self.processing).counts())

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the rows and figures; the retry and processing handles (connection, threads) and the listeners
        stay behind."""
        state = dict(self.__dict__)
        state["_retry_handle"], state["_processing_handle"], state["_listeners"] = None, None, []
        if self._retry_handle is not None or self._no_retry:
            state["_no_retry"] = self._no_retry or UNPICKLED
        return state

    # -- building --------------------------------------------------------------------------

    def set_row(self, pos: int, status: str, *, event_instance_id=None, errorcode=None, message=None,
                request_id=None, batch=None, attempts=None) -> None:
        # straight into the columns' arrays: this runs once per row answered, a million times in a large run
        codes = cast(CodeColumn, self.status)
        self._counts[codes.categories[codes.values[pos]]] -= 1
        self._counts[status] += 1
        codes.values[pos] = codes.code(status)
        self.event_instance_id[pos] = event_instance_id
        cast(IntColumn, self.errorcode).values[pos] = MISSING_INT if errorcode is None else errorcode
        message_col, request_col = cast(TextColumn, self.message), cast(TextColumn, self.request_id)
        message_col.values[pos] = message_col.intern(message)
        request_col.values[pos] = request_col.intern(request_id)
        if batch is not None:
            cast(IntColumn, self.batch).values[pos] = batch
        if attempts is not None:
            cast(IntColumn, self.attempts).values[pos] = attempts
        followed = cast(CodeColumn, self.processing).values[pos] >= 0
        if followed or cast(TextColumn, self.processing_message).values[pos] >= 0:
            self.set_processing(pos, None)   # a new entry: not followed yet

    def set_rows(self, positions: Sequence[int] | np.ndarray, status: str | Sequence[str], *,
                 event_instance_ids: Sequence[Any] | None = None, errorcodes: Sequence[Any] | None = None,
                 messages: str | Sequence[Any] | None = None, request_ids: str | Sequence[Any] | None = None,
                 attempts: int | None = None) -> None:
        """:meth:`set_row` for many rows at once (a batch's answer): array writes, not a Python call per row.

        ``status``, ``messages`` and ``request_ids`` are one value for every row or one per row;
        ``event_instance_ids`` and ``errorcodes`` one per row (None: none)."""
        pos = np.asarray(positions, dtype=np.intp)
        if not len(pos):
            return
        codes = cast(CodeColumn, self.status)
        new = codes.code(status) if isinstance(status, str) else np.fromiter(
            map(codes.code, status), dtype=np.int8, count=len(pos))
        self._count_codes(codes.values[pos], -1)
        codes.values[pos] = new
        self._count_codes(codes.values[pos], 1)
        ids = cast(IdColumn, self.event_instance_id)
        if event_instance_ids is None:
            if ids.other:
                ids.put_many(pos, [None] * len(pos))
            else:
                ids.kind[pos] = 0
        else:
            ids.put_many(pos, event_instance_ids)
        cast(IntColumn, self.errorcode).values[pos] = MISSING_INT if errorcodes is None else np.fromiter(
            (MISSING_INT if c is None else c for c in errorcodes), dtype=np.int64, count=len(pos))
        message_col, request_col = cast(TextColumn, self.message), cast(TextColumn, self.request_id)
        message_col.values[pos] = message_col.codes(messages)
        request_col.values[pos] = request_col.codes(request_ids)
        if attempts is not None:
            cast(IntColumn, self.attempts).values[pos] = attempts
        followed = (cast(CodeColumn, self.processing).values[pos] >= 0) | (
            cast(TextColumn, self.processing_message).values[pos] >= 0)
        for p in pos[followed].tolist():
            self.set_processing(p, None)   # a new entry: not followed yet

    def _count_codes(self, codes: np.ndarray, sign: int) -> None:
        """Add (``sign`` 1) or take away (-1) rows with these status codes from the kept counts."""
        categories = cast(CodeColumn, self.status).categories
        for code, n in enumerate(np.bincount(codes, minlength=len(categories)).tolist()):
            if n:
                self._counts[categories[code]] += sign * n

    def set_batch(self, positions: Sequence[int] | np.ndarray, number: int) -> None:
        """Rows ``positions`` go in batch ``number`` (one array write)."""
        cast(IntColumn, self.batch).values[np.asarray(positions, dtype=np.intp)] = number

    def set_processing(self, pos: int, state: str | None, message: str | None = None) -> None:
        """What :meth:`wait` found of row ``pos`` (one of PROCESSING, or None: not followed)."""
        self._processing_counts[self.processing[pos]] -= 1
        self._processing_counts[state] += 1
        self.processing[pos] = state
        self.processing_message[pos] = message

    def add_raw(self, answer: Any) -> None:
        if len(self.raw) < MAX_RAW_ANSWERS:
            self.raw.append(answer)

    def attach_retry(self, handle: RetryHandle | None) -> None:
        """Give the result what :meth:`retry` runs (the engine does this for every live run)."""
        self._retry_handle = handle

    def attach_processing(self, handle: ProcessingHandle | None) -> None:
        """Give the result what :meth:`wait` and :meth:`trace` run (the engine does this for every live run)."""
        self._processing_handle = handle

    def on_change(self, listener: Callable[[EntryResult], None]) -> None:
        """Call ``listener(self)`` after :meth:`retry` updates this result (the widget panel uses it)."""
        self._listeners.append(listener)

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.contact_keys)

    @property
    def counts(self) -> dict[str, int]:
        """Rows by status (a fresh dict; the counts are kept up to date as rows change, never recounted)."""
        c = self._counts
        return {s: c.get(s, 0) for s in STATUSES}

    @property
    def ok(self) -> bool:
        """True when every row that could be sent is queued."""
        counts = self.counts
        return counts["not_queued"] == counts["failed"] == counts["unknown"] == 0 and not self.interrupted

    @property
    def summary(self) -> dict[str, Any]:
        """Counts by status and the run's figures (batches, requests, retries, waits, speed)."""
        counts = self.counts
        sent = counts["queued"] + counts["not_queued"]
        return {
            "rows": len(self), **counts,
            "batches": len(self.batch_records), "requests": self.requests, "retries": self.retries,
            "throttled_waits": self.throttled_waits, "throttled_seconds": round(self.throttled_seconds, 3),
            "reconciliations": self.reconciliations, "concurrency": self.concurrency,
            "lowest_concurrency": self.lowest_concurrency, "seconds": round(self.seconds, 3),
            "contacts_per_second": round(sent / self.seconds, 1) if self.seconds > 0 else None,
            "dry_run": self.dry_run, "interrupted": self.interrupted,
            **self.processing_counts,
        }

    @property
    def processing_counts(self) -> dict[str, int]:
        """Queued rows by what :meth:`wait` found: processed, errored, pending (zeros before any wait)."""
        c = self._processing_counts
        return {s: c.get(s, 0) for s in PROCESSING}

    def to_frame(self) -> pd.DataFrame:
        """One row per input row, the input index kept."""
        return self.rows_frame(None)

    def rows_frame(self, positions: Iterable[int] | None) -> pd.DataFrame:
        """The rows at ``positions`` (all rows when None) as :meth:`to_frame` gives them, built for those only."""
        pos = positions_array(positions, len(self))
        column = self._columns()
        return pd.DataFrame({
            "contactKey": _objects(self.contact_keys, pos),
            "status": column["status"].take(pos),
            "eventInstanceId": column["event_instance_id"].take(pos),
            "errorcode": column["errorcode"].take(pos),
            "message": column["message"].take(pos),
            "requestId": column["request_id"].take(pos),
            "batch": column["batch"].take(pos),
            "attempts": column["attempts"].take(pos),
            "processing": column["processing"].take(pos),
            "processing_message": column["processing_message"].take(pos),
        }, index=self.index[pos])

    def to_csv(self, path: str | os.PathLike[str], chunk_rows: int = CHUNK_ROWS) -> None:
        """Write :meth:`to_frame` to a CSV file, ``chunk_rows`` rows at a time (never the whole frame at once)."""
        write_csv(self.rows_frame, len(self), path, chunk_rows)

    def to_parquet(self, path: str | os.PathLike[str], chunk_rows: int = CHUNK_ROWS) -> None:
        """Write :meth:`to_frame` to a Parquet file, one row group per ``chunk_rows`` rows (needs pyarrow)."""
        write_parquet(self.rows_frame, len(self), path, chunk_rows)

    def _columns(self) -> dict[str, Any]:
        """The compact columns (a result built from lists has them after __post_init__)."""
        names = ("status", "event_instance_id", "errorcode", "message", "request_id", "batch", "attempts", "processing",
                 "processing_message")
        return {name: getattr(self, name) for name in names}

    def error_positions(self) -> np.ndarray:
        """Positions of the rows :meth:`errors` lists."""
        status = self._columns()["status"]
        keep = status.values != STATUSES.index("queued")
        if self.dry_run:
            message = self._columns()["message"]
            dry = message.code_of(DRY_RUN)
            if dry is not None:
                keep &= message.values != dry
        return np.flatnonzero(keep)

    def errors(self) -> pd.DataFrame:
        """The rows that did not queue, with their reason (in a dry run: the rows that would not be sent)."""
        return self.rows_frame(self.error_positions())

    def error_reasons(self) -> pd.DataFrame:
        """The rows that did not queue grouped by reason, most rows first: ``reason``, ``status``,
        ``errorcode``, ``count``, ``example`` (a contact key) and ``fix`` (what to do, where known)."""
        column = self._columns()
        return group_row_reasons(self.error_positions(), column["status"], column["errorcode"], column["message"],
                                 lambda pos: (self.contact_keys[pos], self.index[pos]), self.key_column)

    @property
    def batches(self) -> pd.DataFrame:
        """One row per batch: requestId, size, HTTP status, attempts, seconds."""
        rows = [[b.number, b.request_id, b.size, b.http_status, b.attempts, round(b.seconds, 3), b.outcome,
                 b.message] for b in self.batch_records]
        frame = pd.DataFrame(rows, columns=BATCH_COLUMNS)
        return frame.astype({"httpStatus": "Int64"})

    def positions(self, statuses: Iterable[str]) -> list[int]:
        return self._columns()["status"].where(statuses).tolist()

    def resendable_positions(self) -> list[int]:
        """Rows :meth:`retry` sends again: refused or failed ones, and those an interruption left unsent."""
        return np.flatnonzero(self._resendable()).tolist()

    def _resendable(self) -> np.ndarray:
        """Which rows :meth:`retry` sends again, as a mask (compared on the columns' codes, not row by row)."""
        column = self._columns()
        status, message = column["status"], column["message"]
        resend = np.isin(status.values, [status.code("not_queued"), status.code("failed")])
        unsent = message.code_of(NOT_SENT)
        if unsent is not None:
            resend |= (status.values == status.code("skipped")) & (message.values == unsent)
        return resend

    def retryable(self) -> int:
        """How many rows :meth:`retry` would act on: the resendable ones and the ``unknown`` ones it checks."""
        return int(np.count_nonzero(self._resendable())) + self.counts["unknown"]

    @property
    def can_retry(self) -> bool:
        """True when :meth:`retry` can act: the result came from a live run (not a dry run or a copy)."""
        return self._retry_handle is not None and not self.dry_run

    @property
    def no_retry_reason(self) -> str | None:
        """Why :meth:`retry` cannot act on this result (None when it can)."""
        if self.can_retry:
            return None
        if self.dry_run:
            return "a dry run sent nothing"
        return self._no_retry or "it was not made by a live run"

    # -- acting ----------------------------------------------------------------------------

    def retry(self, **options: Any) -> EntryResult:
        """Send again only the rows that did not queue (``unknown`` ones are reconciled first).

        Updates this result in place and returns it. Rows skipped for bad input are not resent:
        fix the data and run again.
        """
        if self._retry_handle is None:
            raise RuntimeError(f"this result cannot be retried: {self.no_retry_reason}")
        self._retry_handle.retry(self, **options)
        for listener in list(self._listeners):
            listener(self)
        return self

    def wait(self, timeout: float = 60.0, poll: float = 0.5) -> EntryResult:
        """Follow the status endpoint until no queued row is still waiting to be processed (or ``timeout`` s).

        Fills ``processing`` (processed, errored, pending) and ``processing_message`` (why an entry was refused
        while being processed, e.g. a single-entry journey turning a contact away); returns this result. It
        returns within ``timeout`` plus one status request however the endpoint behaves; rows it did not reach
        are ``pending`` with a note saying how far it got, and the next ``wait()`` goes on from there.
        """
        self._processing().wait(self, timeout=timeout, poll=poll)
        for listener in list(self._listeners):
            listener(self)
        return self

    def trace(self, journey: Any = None, *, follow: bool = False, timeout: float = 60.0, poll: float = 1.0,
              since: Any = None) -> Any:
        """Where the run's queued contacts went: a :class:`~sfmc_nb.journeys.JourneyTrace` (paths, counts, map).

        ``journey`` defaults to the journey whose trigger carries the event key (the Published one); history is
        read from just before the run. ``follow``, ``timeout``, ``poll``, ``since``: see :func:`sfmc_nb.trace`.
        """
        return self._processing().trace(self, journey, follow=follow, timeout=timeout, poll=poll, since=since)

    def _processing(self) -> ProcessingHandle:
        if self._processing_handle is None or self.dry_run:
            raise RuntimeError("this result cannot follow processing (it was not made by a live run): use "
                               "sfmc_nb.engine.Processing(connection).wait(result)")
        return self._processing_handle

    def show(self) -> Any:
        """The ipywidgets panel (summary, errors, all rows, raw answers, retry and save)."""
        if _panel_factory is None:
            raise ConfigurationError("no result panel is registered: import sfmc_nb (it registers the ipywidgets "
                                     "panel), or register one with sfmc_nb.results.set_panel_factory()")
        return _panel_factory(self)

    # -- reprs (built by _resultview) -------------------------------------------------------

    def headline(self) -> str:
        return _resultview.headline(self)

    def __repr__(self) -> str:
        return _resultview.render_text(self)

    def _repr_markdown_(self) -> str:
        """The result as a short report for terminals and Markdown exports (JupyterLab shows the HTML)."""
        return _resultview.render_markdown(self)

    def _repr_html_(self) -> str:
        return _resultview.render_html(self)


def _objects(values: Any, positions: np.ndarray) -> np.ndarray:
    """The values at ``positions`` of a list as an object array (pandas infers text columns from it, as before)."""
    if isinstance(values, KeyColumn):
        return values.take(positions)
    if len(positions) == len(values):
        return np.asarray(values, dtype=object)
    return np.asarray([values[p] for p in positions.tolist()], dtype=object)
