"""Entering a stream of chunks: each chunk is checked, prepared and sent before the next is read.

A chunk whose answers were lost (rows in doubt, looked up again once their request can no longer land) waits while
the next chunks are sent: its rows in doubt are looked up when due, between chunks, and it is written once they
are settled, in the input's order. At most ``MAX_WAITING`` chunks and ``MAX_WAITING_ROWS`` rows wait (the oldest is
waited for beyond that), and a chunk that repeats a key of an earlier chunk is sent only once the waiting chunks
are settled, so a lookup never takes another chunk's entry for its own.

Memory is bounded by the chunk (plus ``MAX_WAITING_ROWS`` rows while rows are in doubt; plus 8 bytes a row of key
digests): the schema is read once, every chunk is checked as a one-frame run checks its input, keys repeated from
an earlier chunk are found through 8-byte digests (:mod:`~sfmc_nb.engine.seen`), and each chunk's rows go to files
as soon as it is written (:mod:`~sfmc_nb._rowspool`), mapped as one result at the end. A chunk with rows left to
retry keeps its input.

With ``journal=``, the journal file lists the stream's chunks with a fingerprint each, and every chunk keeps its
own journal in a folder beside it (``<journal>.chunks/000003.jsonl``): running again resumes chunk by chunk (a
chunk already queued sends nothing), and refuses an input whose chunk differs from the one the journal recorded,
and a journal whose chunk journals are missing or belong to another run (else their contacts would be entered
again).

One guard covers the whole path of every chunk (read, accept, prepare, send, write its rows): Ctrl-C or an error at
any step ends the stream with the result of every row entered (the chunk being sent included, its unsent rows left
for ``retry()``) and a note naming the row to go on from; with a journal an error is raised instead, as the journal
resumes the run.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import count, islice
from pathlib import Path
from typing import Any, cast

from .._rowspool import RowSpool
from .._rules import MAX_BATCH_SIZE, plural
from ..batching import PreparedRows, prepare
from ..client import Connection, default_connection
from ..errors import ValidationError
from ..results import EntryResult
from ._streamprogress import StreamProgress, whole_stream_progress
from .checks import check_landing_horizon, check_options
from .columns import AUTO, Columns, resolve_columns
from .context import ProgressCallback, RunOptions, progress_callback
from .journal import Journal, Record, header, refuse_other_kind
from .processing import Processing
from .reentry import EntryGuard
from .retry import RunRetry
from .run import Run, new_result, settle_columns, warn_notes
from .runner import Runner
from .seen import SeenKeys, digests
from .sources import CHUNK_ROWS, fingerprint, iter_chunks

__all__ = ["enter_stream", "StreamJournal"]

MAX_WAITING = 8
"""Chunks sent and kept in memory while rows of theirs are in doubt (waiting for their landing horizon) as the next
chunks are sent; with more, the oldest is waited for."""
MAX_WAITING_ROWS = 300_000
"""The rows those chunks may hold in all (memory grows with rows: three chunks of a file read 100,000 at a time)."""


class StreamJournal:
    """The journal of a stream: which chunks it had (rows and fingerprint), each with its own journal file.

    The stream's first record carries an id that each chunk journal's first record repeats (with its chunk
    number), so a resume checks, before anything is sent, that every recorded chunk still has its journal and
    that it is this stream's. Journals written before chunk journals had a folder of their own keep theirs beside
    the stream journal (``<journal>.chunk000003``), without an id to check.
    """

    def __init__(self, path: str | os.PathLike[str], event_key: str):
        self.path = os.fspath(path)
        self.event_key = event_key
        refuse_other_kind(path, "stream")
        records = Journal.read(path)   # read before anything is written: a refused journal stays as it was
        if records and records[0].get("event_key") != event_key:
            raise ValidationError(f"the journal was written for event {records[0].get('event_key')!r}, not "
                                  f"{event_key!r}: use a new journal file for a different run")
        self.id: str | None = records[0].get("id") if records else uuid.uuid4().hex
        self.folder = Path(f"{self.path}.chunks")
        self.chunks = {r["chunk"]: r for r in records if r.get("kind") == "chunk"}
        for number in sorted(self.chunks):
            self._check_part(number)
        self.journal = Journal(path)
        if not records:
            self.journal.write({"kind": "stream", "event_key": event_key, "id": self.id, "time": time.time()},
                               durable=True)

    def part(self, number: int) -> Path:
        """Where chunk ``number``'s journal is."""
        if self.id is None:
            return Path(f"{self.path}.chunk{number:06d}")
        return self.folder / f"{number:06d}.jsonl"

    def _check_part(self, number: int) -> None:
        """A recorded chunk's journal must be there and be this stream's: a missing one is not "nothing sent"."""
        part = self.part(number)
        if not part.is_file():
            raise ValidationError(
                f"the journal {self.path} records chunk {number}, but that chunk's journal {os.fspath(part)} is "
                f"missing: it says which of the chunk's contacts were entered, so without it they would be entered "
                f"again. Put it back (a stream journal's chunk journals are kept in {os.fspath(part.parent)}: move "
                f"or copy them with it), or use a new journal file to enter the whole input again on purpose")
        if self.id is not None and not self._is_ours(header(part), number):
            raise ValidationError(
                f"{os.fspath(part)} is not the journal of chunk {number} of {self.path} (it belongs to another run, "
                "or was edited): put back the one this journal wrote, or use a new journal file")

    def _is_ours(self, first: Record | None, number: int) -> bool:
        return first is not None and first.get("kind") == "run" and first.get("stream") == self.id and \
            first.get("chunk") == number and first.get("event_key") == self.event_key

    def chunk(self, number: int, rows: int, print_: str) -> str:
        """The journal file of chunk ``number``; refuses a chunk unlike the one recorded under that number."""
        known = self.chunks.get(number)
        if known is not None and (known.get("rows") != rows or known.get("fingerprint") != print_):
            raise ValidationError(f"the input differs from the one the journal {self.path} was written for (chunk "
                                  f"{number}: {known.get('rows')} rows then, {rows} now, or other values): use a new "
                                  "journal file for a different input (and the same chunk size to resume)")
        if known is None:
            if self.id is not None:
                self._start_part(number, rows)
            self.journal.write({"kind": "chunk", "chunk": number, "rows": rows, "fingerprint": print_}, durable=True)
        return os.fspath(self.part(number))

    def _start_part(self, number: int, rows: int) -> None:
        """Chunk ``number``'s journal, begun with a first record naming this stream and the chunk; a file already
        there is taken only when it is that and nothing more (a run stopped between making it and recording it)."""
        part = self.part(number)
        if part.exists():
            records = Journal.read(part)
            if len(records) == 1 and self._is_ours(records[0], number) and records[0].get("rows") == rows:
                return
            raise ValidationError(f"{os.fspath(part)} is in the way: the journal {self.path} has no chunk {number} "
                                  "yet, so that file belongs to another run; move it away, or use a new journal file")
        Journal(part).write({"kind": "run", "event_key": self.event_key, "rows": rows, "stream": self.id,
                             "chunk": number, "journal": os.path.basename(self.path), "time": time.time()},
                            durable=True)


@dataclass
class _Plan:
    """What the first chunk settled for the whole stream."""

    columns: Columns
    limits: dict[str, int]
    notes: list[str]


@whole_stream_progress
def enter_stream(source: object, event_key: str, contact_key: str | None = None,
                 data: Iterable[Hashable] | str | None = AUTO, *, connection: Connection | None = None,
                 concurrency: int | None = None, dry_run: bool = False, validate: bool = True,
                 journal: str | os.PathLike[str] | None = None, progress: ProgressCallback | bool | None = None,
                 batch_size: int = MAX_BATCH_SIZE, na: str = "null", duplicates: str = "keep",
                 float_keys: str = "convert", max_seconds: float = 300.0, landing_horizon: float | None = None,
                 chunk_rows: int = CHUNK_ROWS, again: bool = False) -> EntryResult:
    """:func:`~sfmc_nb.enter_journey` for a source read chunk by chunk (see :mod:`sfmc_nb.engine.sources`)."""
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValidationError(f"chunk_rows must be a whole number of rows above 0 (e.g. 100_000); got {chunk_rows!r}")
    checked = check_options(connection=connection, concurrency=concurrency, dry_run=dry_run, validate=validate,
                            journal=journal, progress=progress, batch_size=batch_size, na=na,
                            duplicates=duplicates, float_keys=float_keys, max_seconds=max_seconds)
    options = RunOptions(concurrency=checked.concurrency, batch_size=checked.batch_size,
                         progress=progress_callback(progress), max_seconds=checked.max_seconds,
                         landing_horizon=check_landing_horizon(landing_horizon))
    conn = cast(Connection, connection or default_connection())
    conn.ensure_pool(options.concurrency)
    guard = EntryGuard(conn, event_key, again=again, journal=checked.journal, dry_run=dry_run)
    manifest = StreamJournal(checked.journal, event_key) if checked.journal is not None and not dry_run else None
    stream = _Stream(conn, event_key, options, dry_run, na=na, duplicates=duplicates, float_keys=float_keys,
                     journaled=manifest is not None, spool=RowSpool(event_key), guard=guard)
    chunks = iter_chunks(source, chunk_rows)
    try:   # the whole path of every chunk, in one guard: read, accept, prepare, send, write its rows
        for number in count():
            chunk = stream.read(chunks, number)
            if chunk is None:   # the chunks still waiting for rows in doubt: settled, then written in order
                stream.step = "waiting for the rows in doubt of the chunks before it"
                stream.write_waiting(wait=True)
                break
            stream.accept(chunk, contact_key, data, validate)
            chunk_journal = manifest.chunk(number, len(chunk), fingerprint(chunk)) if manifest else None
            if stream.enter(chunk, number, chunk_journal):
                break
    except (Exception, KeyboardInterrupt) as exc:
        if not stream.stopped_by(exc):
            raise   # nothing entered, or the journal has it all: the error says what to fix
    try:
        return stream.result(manifest.path if manifest else None)
    except KeyboardInterrupt:   # Ctrl-C while the result is put together: every row is kept, so put it together again
        return stream.result(manifest.path if manifest else None)


def _note_stop(result: EntryResult, number: int, why: str, rows: int, sent_part: bool, with_journal: bool) -> None:
    """The stream ended at chunk ``number`` before its end (Ctrl-C, an error, a run stopped): the result is
    marked interrupted, with a note on what happened and how to go on without entering any row twice (without
    a journal the result is the only record of the rows entered so far)."""
    covers = f"the {rows:,} rows of the chunks {'up to' if sent_part else 'before'} it (.retry() settles those in " \
        "doubt and sends those not sent)"
    then = "fix the input if needed and run again with the same journal to finish" if with_journal else \
        f"to finish, enter the rest of the input from row {rows:,} on (or the rows before it are entered again)"
    result.warnings.append(f"the stream stopped at chunk {number}, {why}; the result covers {covers}: {then}")
    result.interrupted = True


@dataclass
class _Chunk:
    """A chunk being entered or waiting to be written: its result (rows and batches) and, once it reaches sending,
    its retry and its run (which may have batches parked until their landing horizon)."""

    number: int
    part: EntryResult
    start: int                     # its first row's number in the stream
    retry: RunRetry | None = None
    runner: Runner | None = None

    @property
    def in_doubt(self) -> bool:
        return self.runner is not None and bool(self.runner.parked)

    @property
    def stopped(self) -> bool:
        """Its run was stopped (Ctrl-C, an answer that stops a run): the stream ends."""
        return self.part.interrupted or (self.runner is not None and self.runner.ctx.stopped)


@dataclass
class _Stream:
    """What every chunk of one stream is entered with; the first chunk settles the columns and limits."""

    conn: Connection
    event_key: str
    options: RunOptions
    dry_run: bool
    na: str
    duplicates: str
    float_keys: str
    journaled: bool
    spool: RowSpool
    guard: EntryGuard | None = None
    plan: _Plan | None = None
    seen: SeenKeys = field(default_factory=SeenKeys)
    kept: list[tuple[EntryResult, RunRetry, int, int]] = field(default_factory=list)   # chunks retry() finishes
    number: int = 0
    step: str = "reading it"       # what is being done with chunk ``number``, for the note if the stream stops
    current: _Chunk | None = None  # the chunk being entered, from its result on until it waits to be written
    waiting: deque[_Chunk] = field(default_factory=deque)   # chunks sent, not written yet (in order)
    first_row: int = 0             # chunk ``number``'s first row in the stream

    def read(self, chunks: Iterator[Any], number: int) -> Any:
        """The next chunk (None at the end)."""
        self.number, self.step, self.current = number, "reading it", None
        self.first_row = self._rows_so_far()
        return next(chunks, None)

    def _rows_so_far(self) -> int:
        """Rows of the chunks written and waiting: the number of the next chunk's first row."""
        return self.spool.rows + sum(len(c.part) for c in self.waiting)

    def accept(self, chunk: Any, contact_key: str | None, data: Any, validate: bool) -> None:
        """Plan from the first chunk (with one pre-flight for the whole stream); check each later one has its
        columns."""
        if self.plan is None:
            self.plan = _plan(self.conn, chunk, self.event_key, contact_key, data, validate)
        else:
            resolve_columns(chunk, self.plan.columns.key, list(self.plan.columns.data))

    def enter(self, chunk: Any, number: int, journal: str | None) -> bool:
        """One chunk checked, prepared and sent (or previewed in a dry run), its rows written to the spool;
        True when its run stopped (Ctrl-C, an answer that stops the run): the stream ends there."""
        plan = cast(_Plan, self.plan)
        self.step = "preparing it"
        prepared = prepare(chunk, plan.columns.key, plan.columns.data, na=self.na, duplicates=self.duplicates,
                           float_keys=self.float_keys, max_lengths=plan.limits or None, warn=False)
        entered = self.guard.screen(prepared, number) if self.guard else []   # chunk 0: refuses the run
        repeats = _refuse_repeats(prepared, self.seen, self.duplicates)
        part = new_result(self.event_key, prepared, plan.notes if number == 0 else [], self.dry_run)
        part.warnings.extend(entered)
        if repeats and self.duplicates != "drop":
            part.warnings.append(f"{plural(repeats, 'row')} of chunk {number} repeat a contact key of an earlier "
                                 "chunk; the API enters every occurrence. duplicates='drop' sends the first only")
        self.current = current = _Chunk(number, part, self._rows_so_far())
        if self.dry_run:
            batches = prepared.batches(self.options.batch_size)
            part.preview = [b.members for b in islice(batches, 3)] if number == 0 else []
        else:
            self.step = "sending it"
            # a repeated key may be in doubt in a waiting chunk, settled first: its lookup never takes this entry
            if repeats and self.duplicates != "drop" and self.write_waiting(wait=True):
                self.current = None
                return True
            _run_chunk(self.conn, self.event_key, prepared, current, self.options, journal)
        self.step = "writing its rows"
        self.waiting.append(current)
        self.current = None
        if current.stopped:
            self.stop_waiting()
            _note_stop(self.spool.result, number, "interrupted while sending it" if part.interrupted else
                       "its run stopped", self.spool.rows, True, self.journaled)
            return True
        return self.write_waiting(wait=False)

    def write_waiting(self, wait: bool) -> bool:
        """Write the waiting chunks whose rows are settled, oldest first (the input's order), after looking up
        the rows in doubt that are due. With ``wait``, or more than ``MAX_WAITING`` chunks or ``MAX_WAITING_ROWS``
        rows waiting, the oldest are waited for. True when a chunk's run stopped meanwhile (the stream ends, the
        waiting chunks written)."""
        for chunk in list(self.waiting):
            if chunk.in_doubt and not any(c.stopped for c in self.waiting):
                self._settle(chunk, wait=False)
        while self.waiting:
            stopped = next((c for c in self.waiting if c.stopped), None)
            if stopped is not None:
                self.stop_waiting()
                _note_stop(self.spool.result, stopped.number, "interrupted while checking its rows in doubt"
                           if stopped.part.interrupted else "its run stopped", self.spool.rows, True, self.journaled)
                return True
            oldest = self.waiting[0]
            if oldest.in_doubt:
                if not wait and len(self.waiting) <= MAX_WAITING and \
                        sum(len(c.part) for c in self.waiting) <= MAX_WAITING_ROWS:
                    break
                self._settle(oldest, wait=True)   # Ctrl-C meanwhile ends its wait: looked at again above
                continue
            self.keep(oldest)
            self.waiting.popleft()
        return False

    def _settle(self, chunk: _Chunk, wait: bool) -> None:
        """Look up a waiting chunk's parked batches (those due, or all with ``wait``); the stream's progress
        learns how its rows changed since its run reported its end."""
        before = chunk.part.counts
        cast(Runner, chunk.runner).settle(wait=wait)
        if isinstance(self.options.progress, StreamProgress):
            self.options.progress.recount(before, chunk.part.counts)

    def stop_waiting(self) -> None:
        """The stream ends: the waiting chunks' parked batches end ``unknown`` (``retry()`` settles them) and
        every waiting chunk is written, in order."""
        while self.waiting:
            oldest = self.waiting[0]
            try:
                if oldest.runner is not None:
                    oldest.runner.stop_waiting()
                if not self.spool.holds(oldest.part):
                    self.keep(oldest)
            finally:
                if self.spool.holds(oldest.part):   # written (or held in memory when its files failed)
                    self.waiting.popleft()

    def keep(self, current: _Chunk) -> None:
        """A chunk's rows into the spool (held in memory when its files cannot take them); a chunk with rows
        to retry keeps its retry (and its input), the others let go of them."""
        part, retry = current.part, current.retry
        if retry is not None and part.retryable() and not any(k[0] is part for k in self.kept):
            self.kept.append((part, retry, len(self.spool.result.batch_records), current.start))
        if self.guard is not None and not self.dry_run:
            self.guard.add(part)   # its keys are at hand now: no reading them back from the result's files
        self.spool.append(part)

    def stopped_by(self, exc: BaseException) -> bool:
        """The stream ends on ``exc``, raised at any step of chunk ``number``. When rows were entered and no
        journal records them, the result is kept (with the chunk being sent, if it was): returns True, and the
        result notes where to go on. False: the error is raised (nothing entered, or the journal has it all)."""
        current = self.current
        if current is not None and current.retry is not None and not any(c is current for c in self.waiting):
            self.waiting.append(current)
        for _ in range(len(self.waiting) + 2):   # the waiting chunks (and the one being sent) written, in order
            try:
                self.stop_waiting()
                break
            except (Exception, KeyboardInterrupt):
                continue   # a chunk whose files failed is held in memory; one interrupted is written again
        if not self.spool.rows or (self.journaled and not isinstance(exc, KeyboardInterrupt)):
            return False
        why = f"interrupted while {self.step}" if isinstance(exc, KeyboardInterrupt) else \
            f"{self.step} failed: {type(exc).__name__}: {exc}"
        _note_stop(self.spool.result, self.number, why, self.spool.rows, self.spool.rows > self.first_row,
                   self.journaled)
        return True

    def result(self, journal: str | None) -> EntryResult:
        """The stream's one result, its rows mapped from the spool; its notes issued once each as warnings."""
        result = self.spool.finish()
        if journal is not None:
            result.journal = journal
        if not self.dry_run:
            result.attach_retry(StreamRetry(self.kept))
            result.attach_processing(Processing(self.conn))
            if self.guard is not None:
                self.guard.record(result)
        warn_notes(result.warnings)
        return result


def _plan(conn: Connection, chunk: Any, event_key: str, contact_key: str | None, data: Any, validate: bool) -> _Plan:
    """Columns and the schema's limits, from the first chunk and one pre-flight for the whole stream."""
    columns, schema = settle_columns(conn, event_key, chunk, resolve_columns(chunk, contact_key, data), data, validate)
    return _Plan(columns, schema.limits([str(c) for c in columns.data]), columns.notes + schema.notes)


def _refuse_repeats(prepared: PreparedRows, seen: SeenKeys, duplicates: str) -> int:
    """Rows repeating a key of an earlier chunk: refused with ``duplicates='drop'``; returns how many."""
    positions = prepared.sendable_positions
    keys = prepared.keys
    found = digests([cast(str, keys[p]) for p in positions])
    again = seen.seen(found)
    seen.add(found[~again] if duplicates == "drop" else found)
    repeated = [positions[i] for i in again.nonzero()[0].tolist()]
    if duplicates == "drop":
        prepared.refuse({p: "duplicate of a row in an earlier chunk" for p in repeated})
    return len(repeated)


def _run_chunk(conn: Connection, event_key: str, prepared: PreparedRows, current: _Chunk, options: RunOptions,
               journal: str | None) -> None:
    """Send a chunk's rows into its result; its retry is on ``current`` before anything is sent."""
    run = Run(conn, event_key, prepared, options, current.part, journal)
    current.retry = run.retry
    current.runner = run.start()
    run.send(leave_parked=True)   # batches left in doubt wait for their horizon while the next chunks are sent


class StreamRetry:
    """``retry()`` of a stream's result: each chunk that kept its rows retries, its rows copied back."""

    def __init__(self, chunks: list[tuple[EntryResult, RunRetry, int, int]]):
        self._chunks = chunks   # (part, its retry, the number of its first batch, its first row) per kept chunk

    def retry(self, result: EntryResult, **options: Any) -> None:
        for part, retry, offset, start in self._chunks:
            if part.retryable():
                before, requests, retries = len(part.batch_records), part.requests, part.retries
                touched = part.positions(("not_queued", "failed", "unknown", "skipped"))
                retry.retry(part, **options)
                numbers: dict[int, int] = {}
                for record in part.batch_records[before:]:
                    numbers[record.number] = record.number = len(result.batch_records)
                    result.batch_records.append(record)
                _copy_rows(part, result, start, touched, numbers, offset)
                result.requests += part.requests - requests
                result.retries += part.retries - retries


def _copy_rows(part: EntryResult, result: EntryResult, start: int, positions: list[int], numbers: dict[int, int],
               offset: int) -> None:
    """Rows a chunk's retry may have changed, into the stream's result (batches renumbered as the result's)."""
    for p in positions:
        batch = part.batch[p]
        result.set_row(start + p, part.status[p], event_instance_id=part.event_instance_id[p],
                       errorcode=part.errorcode[p], message=part.message[p], request_id=part.request_id[p],
                       batch=None if batch is None else numbers.get(batch, batch + offset), attempts=part.attempts[p])
        result.sent_at[start + p] = part.sent_at[p]
