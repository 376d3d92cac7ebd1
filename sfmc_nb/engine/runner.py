"""The run loop: batches of a prepared input sent by a pool of workers, their outcomes written into a result.

At most ``concurrency`` batches are in flight (fewer while throttled), a contact key sits in one batch in flight
(or parked) at a time, and Ctrl-C (or the kernel's stop button) never raises mid-step: the first press stops
sending new batches and lets those in flight finish; the second stops waiting for them. Each batch is sent by a
:class:`~sfmc_nb.engine.send.BatchSend`; only this loop writes to the result, so the result needs no lock.

A batch with a request in doubt is *parked* until that request's landing horizon while other batches go on,
then handed back to a worker to be looked up again. Rows a retry or a resume finds in doubt enter the same
way (:meth:`Runner.run` with ``in_doubt=``), so all three follow one rule. A stream's chunk may return with only
parked batches left (``leave_parked=True``) so the next chunk goes meanwhile; :meth:`Runner.settle` finishes them.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import FrameType
from typing import NamedTuple

from .._rules import PENDING, PROGRESS_STATUSES
from ..auth import hide_tokens
from ..batching import Batch, PreparedRows
from ..client import Connection
from ..results import BatchRecord, EntryResult
from .context import RunContext, RunOptions
from .journal import Journal
from .outcome import BatchOutcome
from .progress import ProgressEvent, ProgressKind
from .send import BatchSend, Doubt, in_doubt_message
from .throttle import Throttle

__all__ = ["Runner", "InFlight", "LeftInFlight"]

log = logging.getLogger("sfmc_nb.engine")


class InFlight(NamedTuple):
    """A batch a worker is sending (or a parked one: the keys stay taken)."""

    send: BatchSend
    keys: set[str]


LeftInFlight = list[tuple["Future[BatchOutcome]", BatchSend]]
"""Requests an interrupted run stopped waiting for, with their batch: a retry collects them first."""


class _Pending:
    """The batches not yet sent, in order; one may be held back while a key of it is in flight."""

    def __init__(self, batches: Iterator[Batch]):
        self._batches = batches
        self.held: Batch | None = None
        self.exhausted = False

    def take(self) -> Batch | None:
        batch, self.held = self.held or next(self._batches, None), None
        if batch is None:
            self.exhausted = True
        return batch

    def hold(self, batch: Batch) -> None:
        self.held = batch


class Runner:
    """Sends one set of positions of a prepared input and writes the outcome into a result."""

    def __init__(self, conn: Connection, event_key: str, prepared: PreparedRows, result: EntryResult,
                 options: RunOptions, *, journal: Journal | None = None, left_in_flight: LeftInFlight | None = None):
        self.prepared = prepared
        self.result = result
        self.options = options
        self.ctx = RunContext(conn, event_key, options, journal,
                              Throttle(options.concurrency, conn.retry.backoff_base, conn.retry.backoff_max,
                                       max_wait=options.max_seconds),
                              claimed={e for e in result.event_instance_id if e})
        self.left_in_flight: LeftInFlight = [] if left_in_flight is None else left_in_flight
        self.parked: list[tuple[float, InFlight]] = []   # (local epoch to look again, batch)
        self._keys_out: Counter[str] = Counter()          # keys of batches in flight or parked
        self._batches_done = 0
        self._batches_total = 0
        self._rows_answered = 0
        self._started = time.monotonic()
        self._waiting: set[int] = set()                   # rows this run has not answered yet: "pending"
        self._waiting_by_status: Counter[str] = Counter()  # the result's status of those rows meanwhile
        self._paused_counted = 0.0                        # throttle pauses already added to the result
        self._quiet = False                               # no progress events (settling after the run's end)

    # -- progress ---------------------------------------------------------------------------------

    def emit(self, kind: ProgressKind, wait_s: float | None = None, message: str = "") -> None:
        progress = self.options.progress
        if progress is None or self._quiet:
            return
        elapsed = time.monotonic() - self._started
        sent = self._rows_answered  # by this run only: a retry's speed must not count earlier runs' rows
        event = ProgressEvent(kind, self._batches_done, self._batches_total, len(self.result), self.progress_counts(),
                              elapsed, sent / elapsed if elapsed > 0 and sent else None, wait_s, message)
        try:
            progress(event)
        except Exception:  # a broken display must not break the run
            log.exception("progress callback failed")

    def progress_counts(self) -> dict[str, int]:
        """The result's counts with the rows this run has not answered yet as ``pending`` (never ``skipped``,
        which progress keeps for rows refused before sending)."""
        counts = self.result.counts
        for status, n in self._waiting_by_status.items():
            counts[status] -= n
        counts[PENDING] = len(self._waiting)
        return {s: counts.get(s, 0) for s in PROGRESS_STATUSES}

    def _answered(self, pos: int) -> None:
        """Row ``pos`` is about to get its outcome: it is no longer pending."""
        if pos in self._waiting:
            self._waiting.discard(pos)
            self._waiting_by_status[self.result.status[pos]] -= 1

    def drain_events(self) -> None:
        """Emit the events the workers queued (progress callbacks run on this thread only)."""
        while True:
            try:
                kind, wait_s, message = self.ctx.events.get_nowait()
            except queue.Empty:
                return
            self.emit(kind, wait_s, message)

    # -- the loop ---------------------------------------------------------------------------------

    def run(self, positions: Iterable[int], in_doubt: Iterable[int] = (), unsent_since: float | None = None, *,
            leave_parked: bool = False) -> None:
        """Send ``positions``; first look up ``in_doubt`` rows (sent before, fate unknown) by the one rule of
        the landing horizon. ``unsent_since``: the earliest such a row can have been sent when its time is
        not known. ``leave_parked``: return once every batch is sent and only parked ones are left (their rows
        ``unknown`` meanwhile, their keys taken); :meth:`settle` goes on with them."""
        positions = list(positions)
        size, res = self.options.batch_size, self.result
        parked = self._doubt_sends(in_doubt, time.time() if unsent_since is None else unsent_since)
        self._batches_total = (-(-len(positions) // size) if positions else 0) + len(parked)
        self._waiting = {p for p in positions if p not in self.prepared.skipped}
        self._waiting_by_status = Counter(res.status[p] for p in self._waiting)
        self._started = time.monotonic()
        pending = _Pending(self.prepared.batches(size, positions=positions))
        res.concurrency = res.concurrency or self.options.concurrency
        res.lowest_concurrency = min(res.lowest_concurrency or self.options.concurrency, self.options.concurrency)
        self.emit(ProgressKind.START)
        self._go(pending, leave_parked)

    def settle(self, wait: bool = True) -> None:
        """Go on with the batches :meth:`run` left parked: those due are looked up again (and resent once surely
        not entered); with ``wait`` until none is left, else only those due now. Reports no progress: the run
        reported its end. Ctrl-C stops as in :meth:`run` (the parked ones end ``unknown``)."""
        if self.parked:
            self._quiet = True
            try:
                self._go(_Pending(iter(())), leave_parked=not wait)
            finally:
                self._quiet = False

    def stop_waiting(self) -> None:
        """The batches left parked end ``unknown`` now, with when ``retry()`` can settle them (nothing is sent)."""
        self._give_up_parked()

    def _go(self, pending: _Pending, leave_parked: bool) -> None:
        res = self.result
        in_flight: dict[Future[BatchOutcome], InFlight] = {}
        pool = ThreadPoolExecutor(max_workers=self.options.concurrency, thread_name_prefix="sfmc-entry")
        restore = self._catch_sigint()
        try:
            try:
                self._loop(pool, pending, in_flight, leave_parked)
            except KeyboardInterrupt:
                self.interrupt(in_flight)
        finally:
            restore()
            pool.shutdown(wait=False, cancel_futures=True)
            paused = self.ctx.throttle.paused_seconds
            res.throttled_seconds += paused - self._paused_counted
            self._paused_counted = paused
            self.drain_events()
            self.emit(ProgressKind.DONE)

    def _doubt_sends(self, positions: Iterable[int], unsent_since: float) -> list[InFlight]:
        """Rows in doubt as parked batches, one per request they were sent in, due for a look now."""
        res, now = self.result, time.time()
        by_request: dict[float | None, list[int]] = {}
        for pos in sorted(set(positions)):
            by_request.setdefault(res.sent_at[pos], []).append(pos)
        parked = []
        for sent, group in by_request.items():
            doubt_since = unsent_since if sent is None else sent
            for batch in self.prepared.batches(self.options.batch_size, positions=group):
                record = BatchRecord(len(res.batch_records), len(batch.members), sent_at=sent,
                                     attempts=max(res.attempts[p] or 0 for p in batch.positions))
                res.batch_records.append(record)
                for pos in batch.positions:
                    res.batch[pos] = record.number
                doubt = Doubt(doubt_since, (now if sent is None else sent) + self.options.landing_horizon)
                flight = InFlight(BatchSend(self.ctx, record, batch.positions, batch.members, doubt=doubt),
                                  {m["contactKey"] for m in batch.members})
                self._keys_out.update(flight.keys)
                self.parked.append((now, flight))
                parked.append(flight)
        return parked

    def _loop(self, pool: ThreadPoolExecutor, pending: _Pending, in_flight: dict[Future[BatchOutcome], InFlight],
              leave_parked: bool = False) -> None:
        """Keep batches in flight until none is left (or the run stops; or, with ``leave_parked``, only parked
        ones are left); apply each outcome as it comes."""
        first_number = len(self.result.batch_records)
        while True:
            if self.ctx.stop.is_set():
                self._give_up_parked()
            self._wake(pool, in_flight)
            self._submit(pool, pending, in_flight, first_number)
            if not in_flight and not self.parked and (pending.held is None or self.ctx.stop.is_set()):
                break
            if leave_parked and not in_flight and pending.exhausted and pending.held is None:
                break   # only parked batches are left: the caller goes on meanwhile and settles them later
            if not in_flight:   # only parked batches: wait for the first one to fall due
                time.sleep(max(0.0, min(0.1, min(due for due, _ in self.parked) - time.time())))
                self.drain_events()
                continue
            done, _ = wait(in_flight, timeout=0.1, return_when=FIRST_COMPLETED)
            self.result.lowest_concurrency = min(self.result.lowest_concurrency, self.ctx.throttle.allowed)
            self.drain_events()
            for fut in done:
                self._collect(in_flight.pop(fut), fut.result())
            if self.ctx.abandon.is_set():
                self.leave_in_flight(in_flight)
                break

    def _collect(self, flight: InFlight, outcome: BatchOutcome) -> None:
        """Apply a worker's outcome; park its batch if a request of it is in doubt, else free its keys."""
        self.apply(outcome)
        if outcome.parked_until is not None:
            self.parked.append((outcome.parked_until, flight))
        else:
            self._keys_out.subtract(flight.keys)

    def _wake(self, pool: ThreadPoolExecutor, in_flight: dict[Future[BatchOutcome], InFlight]) -> None:
        """Hand parked batches whose time has come back to a worker (before any new batch)."""
        now = time.time()
        for item in sorted((p for p in self.parked if p[0] <= now), key=lambda p: p[0]):
            if len(in_flight) >= self.ctx.throttle.allowed:
                return
            self.parked.remove(item)
            in_flight[pool.submit(item[1].send.resume)] = item[1]

    def _give_up_parked(self) -> None:
        """The run stops: parked batches end ``unknown``, with when a retry can settle them."""
        for _, flight in self.parked:
            self.apply(flight.send.give_up())
            self._keys_out.subtract(flight.keys)
        self.parked.clear()

    def _submit(self, pool: ThreadPoolExecutor, pending: _Pending, in_flight: dict[Future[BatchOutcome], InFlight],
                first_number: int) -> None:
        """Start batches while the throttle allows more in flight."""
        keys_out = self._keys_out
        while not pending.exhausted and not self.ctx.stop.is_set() and len(in_flight) < self.ctx.throttle.allowed:
            batch = pending.take()
            if batch is None:
                break
            keys = {m["contactKey"] for m in batch.members}
            if any(keys_out[k] for k in keys):
                # a key may sit in one batch in flight (or parked) at a time, so that reconciling one
                # batch can never take another batch's entry for its own
                pending.hold(batch)
                break
            number = first_number + batch.number
            record = BatchRecord(number, len(batch.members))
            self.result.batch_records.append(record)
            for pos in batch.positions:
                self.result.batch[pos] = number
            send = BatchSend(self.ctx, record, batch.positions, batch.members)
            in_flight[pool.submit(send.run)] = InFlight(send, keys)
            keys_out.update(keys)

    # -- stopping ---------------------------------------------------------------------------------

    def _catch_sigint(self) -> Callable[[], None]:
        """While the run lasts, Ctrl-C (or the kernel's stop button) never raises mid-step: the first
        press stops sending new batches and lets those in flight finish; the second stops waiting for
        them (their rows end ``unknown``, and ``retry()`` waits for them before checking). Returns the
        function that puts the previous handler back."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGINT)

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            if self.ctx.stop.is_set():
                self.ctx.abandon.set()
                return
            self.ctx.stop.set()
            self.result.interrupted = True
            self.ctx.report(ProgressKind.INTERRUPT, None,
                            "interrupted: finishing the batches in flight (press again to stop waiting)")

        def restore() -> None:
            signal.signal(signal.SIGINT, previous)

        try:
            signal.signal(signal.SIGINT, on_sigint)
        except ValueError:  # not possible here (embedded interpreter): fall back to KeyboardInterrupt
            return lambda: None
        return restore

    def interrupt(self, in_flight: dict[Future[BatchOutcome], InFlight]) -> None:
        """A KeyboardInterrupt reached the loop: stop sending and let in-flight batches finish, within
        the time one request may take (a Ctrl-C meanwhile stops the wait)."""
        self.ctx.stop.set()
        self.result.interrupted = True
        timeout = self.ctx.conn.timeout
        deadline = time.monotonic() + timeout[0] + timeout[1] + 1
        try:
            while in_flight and not self.ctx.abandon.is_set() and time.monotonic() < deadline:
                done, _ = wait(in_flight, timeout=0.1)
                for fut in done:
                    self._collect(in_flight.pop(fut), fut.result())
        except KeyboardInterrupt:
            pass
        self._give_up_parked()
        self.leave_in_flight(in_flight)

    def leave_in_flight(self, in_flight: dict[Future[BatchOutcome], InFlight]) -> None:
        """Stop waiting: rows of batches still out end ``unknown``, in doubt until their landing horizon;
        retry() collects their answers first."""
        res = self.result
        for fut, flight in list(in_flight.items()):
            in_flight.pop(fut)
            if fut.done():
                self._collect(flight, fut.result())
                continue
            send = flight.send
            self.left_in_flight.append((fut, send))
            sent = send.attempt_sent or time.time()
            send.record.outcome = "unknown"
            send.record.message = "interrupted while in flight"
            message = in_doubt_message(sent + self.options.landing_horizon, "interrupted while in flight")
            for pos in send.positions:   # rows it settled but did not report yet included: retry() collects them
                self._answered(pos)
                if res.status[pos] not in ("queued", "not_queued"):
                    res.set_row(pos, "unknown", message=message, attempts=max(1, res.attempts[pos] or 0))
                    res.sent_at[pos] = sent
        self._give_up_parked()

    # -- outcomes ---------------------------------------------------------------------------------

    def apply(self, outcome: BatchOutcome) -> None:
        """Write one batch's outcome into the result (on the loop's thread only)."""
        res = self.result
        res.requests += outcome.requests
        res.retries += outcome.retries
        res.throttled_waits += outcome.throttled_waits
        res.reconciliations += outcome.reconciliations
        for raw in outcome.raw:
            res.add_raw(raw)
        attempts = outcome.record.attempts
        self._rows_answered += sum(1 for row in outcome.rows if row.status in ("queued", "not_queued"))
        for row in outcome.rows:
            self._answered(row.pos)
            res.set_row(row.pos, row.status, event_instance_id=row.event_instance_id, errorcode=row.errorcode,
                        message=row.message, request_id=row.request_id, attempts=attempts)
            if row.sent_at is not None:      # a row in doubt: dated by the request that may still enter it
                res.sent_at[row.pos] = row.sent_at
            elif outcome.record.sent_at is not None and res.sent_at[row.pos] is None:
                res.sent_at[row.pos] = outcome.record.sent_at
        if outcome.parked_until is None:
            self._batches_done += 1
        if outcome.fatal is not None:
            self.ctx.stop.set()
            self.ctx.stopped = True
            res.warnings.append(f"run stopped: {hide_tokens(str(outcome.fatal))}")
        self.emit(ProgressKind.BATCH)
