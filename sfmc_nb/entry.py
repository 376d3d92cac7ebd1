"""The submission engine behind ``df.sfmc.enter_journey``.

It sends batches of at most 100 members to ``POST /interaction/v1/async/events`` with a bounded
number in flight, and keeps three promises:

* **Nothing sent twice by accident.** A batch whose fate is unknown (answer lost, read timeout,
  a 5xx that may have been carried out) is reconciled with the status endpoint, contact by contact,
  and only the members not found there are sent again. Members that cannot be reconciled end
  ``unknown``, never silently resent.
* **Nothing lost.** Every input row ends with a status; a run that dies can be resumed from its
  journal (JSON lines: a record before each request leaves and one per answer).
* **Polite under throttling.** A 429 pauses every worker for ``Retry-After`` (header or body) or an
  exponential backoff, and halves the number of batches in flight; clean answers let it climb back
  by one per round (additive increase, multiplicative decrease).

Progress is reported as :class:`ProgressEvent` objects to a callback, so plain scripts and the widget
layer can both show it. This module never imports IPython or ipywidgets.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import signal
import threading
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any

import pandas as pd

from ._rules import int_or_none as _int_or_none
from .batching import MAX_BATCH_SIZE, PreparedRows, prepare
from .client import Connection, default_connection
from .engine.progress import ProgressEvent, ProgressKind, TextProgress
from .errors import (
    ApiError,
    ConnectError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    SfmcError,
    ValidationError,
)
from .results import DRY_RUN, NOT_SENT, BatchRecord, EntryResult

__all__ = ["enter_journey", "ProgressEvent", "TextProgress", "default_contact_key", "preflight",
           "DEFAULT_CONCURRENCY", "NOT_SENT"]

log = logging.getLogger("sfmc_nb.entry")

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32
CONTACT_KEY_NAMES = ("SubscriberKey", "ContactKey")
TEXT_TYPES = {"text", "emailaddress", "phone", "locale"}
MAX_INTERACTIONS_PER_EVENT = 10
CLOCK_ALLOWANCE = 300.0  # seconds of clock difference tolerated when the server sends no Date header
WINDOW_MIN_KEYS = 10     # below this, reconcile contact by contact
UNDATED_MESSAGE = ("the status endpoint lists an entry for this contact whose date cannot show whether this run "
                   "made it; not resent: check it (%sfmc_batch_status) before entering it again")
STATUS_PAGE = 50         # the status endpoint's documented default page size


def default_contact_key(columns: Iterable[Any]) -> str | None:
    """The column to use as contact key when none is named: ``SubscriberKey`` or ``ContactKey``."""
    cols = list(columns)
    for name in CONTACT_KEY_NAMES:
        for col in cols:
            if isinstance(col, str) and col.lower() == name.lower():
                return col
    return None


# --------------------------------------------------------------------------- pre-flight checks


def preflight(conn: Connection, event_key: str, data_columns: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Check the event key, its journeys and the data columns before anything is sent.

    Returns the Text-column length limits to enforce per row and warnings. Raises
    :class:`ValidationError` naming the problem and the fix.
    """
    notes: list[str] = []
    try:
        event = conn.event_definition(event_key)
    except NotFoundError:
        raise ValidationError(
            f"event definition key {event_key!r} not found in this business unit: copy the key from "
            "Journey Builder > Event Administration (or list journeys with %sfmc_journeys)") from None
    except ApiError as exc:
        if exc.status == 403:
            return {}, [f"pre-flight checks skipped: this login cannot read event definitions ({exc.message})"]
        raise
    if event.interaction_count is not None and event.interaction_count > MAX_INTERACTIONS_PER_EVENT:
        raise ValidationError(
            f"event key {event_key!r} is used by {event.interaction_count} journeys; batch entry allows at most "
            f"{MAX_INTERACTIONS_PER_EVENT} per key (Interaction Count Limit Exceeded): give the journey its own "
            "entry event")
    published = event.published_interaction_count
    if published is None:
        published = sum(1 for j in conn.journeys(status="Published") if event_key in j.event_keys)
    if not published:
        raise ValidationError(
            f"no Published journey uses event key {event_key!r}: publish the journey in Journey Builder (a Draft "
            "or Stopped journey does not take entries), or skip the checks with validate=False "
            "(--no-validate in %%journey_enter)")
    limits: dict[str, int] = {}
    if not data_columns:
        return limits, notes
    try:
        fields = conn.entry_fields(event_key)
    except ApiError as exc:
        return limits, [f"data columns not checked: the entry data extension could not be read ({exc})"]
    if not fields:
        return limits, ["data columns not checked: the entry data extension's columns are not available"]
    by_name = {f.name.lower(): f for f in fields}
    missing = [c for c in data_columns if str(c).lower() not in by_name]
    if missing:
        de = event.data_extension_name or event.data_extension_id or "the entry data extension"
        raise ValidationError(
            f"data column(s) {missing} are not fields of {de}; its fields are {[f.name for f in fields]}. "
            "Leave them out of data=, rename them, or add them to the data extension")
    for col in data_columns:
        f = by_name[str(col).lower()]
        if f.length and (f.type or "").lower() in TEXT_TYPES:
            limits[str(col)] = f.length
    return limits, notes


# --------------------------------------------------------------------------- journal


class Journal:
    """Append-only JSON-lines record of a run: each batch before it is sent, and each answer.

    ``sent`` records are flushed and fsynced before the request leaves, so a run killed at any
    point can tell which batches may have reached Marketing Cloud.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict, durable: bool = False) -> None:
        """Append one record; opened per write so no file handle outlives a run (or a kernel interrupt)."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            if durable:
                os.fsync(fh.fileno())

    @staticmethod
    def read(path: str | os.PathLike) -> list[dict]:
        p = Path(path)
        if not p.exists():
            return []
        records = []
        with open(p, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue  # a line cut short by a crash: the record before it still stands
        return records


@dataclass
class JournalState:
    """What a journal says about each input position."""

    queued: dict[int, tuple] = field(default_factory=dict)   # pos -> (eventInstanceId, requestId)
    in_doubt: set[int] = field(default_factory=set)           # sent, answer unknown or never recorded
    known_ids: set[str] = field(default_factory=set)
    sent_at: dict[int, float] = field(default_factory=dict)   # pos -> when it was first sent


def replay(records: list[dict], event_key: str, keys: Sequence[str | None]) -> JournalState:
    """Fold journal records into the state of each position; refuse a journal of another run."""
    state = JournalState()
    open_sends: dict[tuple[int, int, int], list[int]] = {}
    for rec in records:
        kind = rec.get("kind")
        if kind == "run":
            if rec.get("event_key") != event_key or rec.get("rows") != len(keys):
                raise ValidationError(
                    f"the journal was written for event {rec.get('event_key')!r} with {rec.get('rows')} rows, "
                    f"not {event_key!r} with {len(keys)} rows: use a new journal file for a different run")
            continue
        ident = (rec.get("run", 0), rec.get("batch"), rec.get("attempt"))
        if kind == "sent":
            positions = rec.get("positions") or []
            for pos, key in zip(positions, rec.get("keys") or [], strict=False):
                if pos >= len(keys) or keys[pos] != key:
                    raise ValidationError("the journal does not match this input (contact keys differ at the "
                                          "same rows): use a new journal file for a different input")
            open_sends[ident] = positions
            state.in_doubt.update(positions)
            when = rec.get("time")
            if isinstance(when, (int, float)):
                for pos in positions:
                    state.sent_at[pos] = min(state.sent_at.get(pos, when), when)
        elif kind in ("answer", "reconciled"):
            if kind == "answer":
                open_sends.pop(ident, None)
            for pos, status, eid, rid in rec.get("rows") or []:
                if status == "queued":
                    state.queued[pos] = (eid, rid)
                    if eid:
                        state.known_ids.add(eid)
                state.in_doubt.discard(pos)
            for pos in rec.get("not_found") or []:
                state.in_doubt.discard(pos)
        elif kind == "refused":  # 429, 4xx, never connected: nothing happened
            for pos in open_sends.pop(ident, []):
                state.in_doubt.discard(pos)
    state.in_doubt -= set(state.queued)
    return state


# --------------------------------------------------------------------------- throttle


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
                cap = min(self._cap, self._base * 2 ** (self._consecutive - 1))
                wait_s = cap / 2 + random.uniform(0, cap / 2)
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


# --------------------------------------------------------------------------- one run


@dataclass
class RowOutcome:
    pos: int
    status: str
    event_instance_id: str | None = None
    errorcode: int | None = None
    message: str | None = None
    request_id: str | None = None


@dataclass
class BatchOutcome:
    record: BatchRecord
    rows: list[RowOutcome]
    requests: int = 0
    retries: int = 0
    throttled_waits: int = 0
    reconciliations: int = 0
    raw: list = field(default_factory=list)
    fatal: BaseException | None = None


class Runner:
    """Sends one set of positions of a prepared input and writes the outcome into a result."""

    def __init__(self, conn: Connection, event_key: str, prepared: PreparedRows, result: EntryResult, *,
                 concurrency: int, batch_size: int, journal: Journal | None, progress: Callable | None,
                 max_attempts: int = 6, max_seconds: float = 300.0, reconcile_delay: float = 0.2):
        self.conn = conn
        self.event_key = event_key
        self.prepared = prepared
        self.result = result
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.journal = journal
        self.progress = progress
        self.max_attempts = max_attempts
        self.max_seconds = max_seconds
        self.reconcile_delay = reconcile_delay
        self.throttle = Throttle(concurrency, conn.retry.backoff_base, conn.retry.backoff_max)
        self.stop = threading.Event()      # send no new batch
        self.abandon = threading.Event()   # and stop waiting for those in flight
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self._claimed_lock = threading.Lock()
        self.claimed: set[str] = {e for e in result.event_instance_id if e}
        self.run_id = int(time.time() * 1000)
        self._batches_done = 0
        self._batches_total = 0
        self._rows_answered = 0
        self._started = time.monotonic()

    # -- progress ------------------------------------------------------------------------

    def emit(self, kind: ProgressKind, wait_s: float | None = None, message: str = "") -> None:
        if self.progress is None:
            return
        elapsed = time.monotonic() - self._started
        sent = self._rows_answered  # by this run only: a retry's speed must not count earlier runs' rows
        event = ProgressEvent(kind, self._batches_done, self._batches_total, len(self.result), self.result.counts,
                              elapsed, sent / elapsed if elapsed > 0 and sent else None, wait_s, message)
        try:
            self.progress(event)
        except Exception:  # a broken display must not break the run
            log.exception("progress callback failed")

    def drain_events(self) -> None:
        while True:
            try:
                kind, wait_s, message = self.events.get_nowait()
            except queue.Empty:
                return
            self.emit(kind, wait_s, message)

    # -- the loop ------------------------------------------------------------------------

    def run(self, positions: Iterable[int]) -> None:
        positions = list(positions)
        self._batches_total = -(-len(positions) // self.batch_size) if positions else 0
        self._started = time.monotonic()
        first_number = len(self.result.batch_records)
        batches = self.prepared.batches(self.batch_size, positions=positions)
        self.result.concurrency = self.result.concurrency or self.concurrency
        self.result.lowest_concurrency = min(self.result.lowest_concurrency or self.concurrency, self.concurrency)
        self.emit(ProgressKind.START)
        in_flight: dict[Future, Any] = {}
        keys_in_flight: Counter = Counter()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="sfmc-entry")
        exhausted, held = False, None
        restore = self._catch_sigint()
        try:
            try:
                while True:
                    while not exhausted and not self.stop.is_set() and len(in_flight) < self.throttle.allowed:
                        batch, held = held or next(batches, None), None
                        if batch is None:
                            exhausted = True
                            break
                        keys = {m["contactKey"] for m in batch.members}
                        if any(keys_in_flight[k] for k in keys):
                            # a key may sit in one batch in flight at a time, so that reconciling one
                            # batch can never take another batch's entry for its own
                            held = batch
                            break
                        number = first_number + batch.number
                        record = BatchRecord(number, len(batch.members))
                        self.result.batch_records.append(record)
                        for pos in batch.positions:
                            self.result.batch[pos] = number
                        in_flight[pool.submit(self.send, record, batch.positions, batch.members)] = (
                            record, batch.positions, keys)
                        keys_in_flight.update(keys)
                    if not in_flight and (held is None or self.stop.is_set()):
                        break
                    done, _ = wait(in_flight, timeout=0.1, return_when=FIRST_COMPLETED)
                    self.result.lowest_concurrency = min(self.result.lowest_concurrency, self.throttle.allowed)
                    self.drain_events()
                    for fut in done:
                        keys_in_flight.subtract(in_flight.pop(fut)[2])
                        self.apply(fut.result())
                    if self.abandon.is_set():
                        self.leave_in_flight(in_flight)
                        break
            except KeyboardInterrupt:
                self.interrupt(in_flight)
        finally:
            restore()
            pool.shutdown(wait=False, cancel_futures=True)
            self.result.throttled_seconds += self.throttle.paused_seconds
            self.drain_events()
            self.emit(ProgressKind.DONE)

    def _catch_sigint(self) -> Callable[[], None]:
        """While the run lasts, Ctrl-C (or the kernel's stop button) never raises mid-step: the first
        press stops sending new batches and lets those in flight finish; the second stops waiting for
        them (their rows end ``unknown``, and ``retry()`` waits for them before checking). Returns the
        function that puts the previous handler back."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGINT)

        def on_sigint(signum, frame):
            if self.stop.is_set():
                self.abandon.set()
                return
            self.stop.set()
            self.result.interrupted = True
            self.events.put((ProgressKind.INTERRUPT, None,
                             "interrupted: finishing the batches in flight (press again to stop waiting)"))

        try:
            signal.signal(signal.SIGINT, on_sigint)
        except ValueError:  # not possible here (embedded interpreter): fall back to KeyboardInterrupt
            return lambda: None
        return lambda: signal.signal(signal.SIGINT, previous)

    def interrupt(self, in_flight: dict) -> None:
        """A KeyboardInterrupt reached the loop: stop sending and let in-flight batches finish, within
        the time one request may take (a Ctrl-C meanwhile stops the wait)."""
        self.stop.set()
        self.result.interrupted = True
        deadline = time.monotonic() + self.conn.timeout[0] + self.conn.timeout[1] + 1
        try:
            while in_flight and not self.abandon.is_set() and time.monotonic() < deadline:
                done, _ = wait(in_flight, timeout=0.1)
                for fut in done:
                    in_flight.pop(fut)
                    self.apply(fut.result())
        except KeyboardInterrupt:
            pass
        self.leave_in_flight(in_flight)

    def leave_in_flight(self, in_flight: dict) -> None:
        """Stop waiting: rows of batches still out end ``unknown``; retry() collects their answers first."""
        for fut, (record, positions, _keys) in list(in_flight.items()):
            in_flight.pop(fut)
            if fut.done():
                self.apply(fut.result())
                continue
            self.result._in_flight.append((fut, positions))
            record.outcome = "unknown"
            record.message = "interrupted while in flight"
            for pos in positions:
                self.result.set_row(pos, "unknown", message="interrupted while in flight: reconcile with .retry()",
                                    attempts=max(1, self.result.attempts[pos] or 0))
                if self.result.sent_at[pos] is None:
                    self.result.sent_at[pos] = record.sent_at

    def apply(self, outcome: BatchOutcome) -> None:
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
            res.set_row(row.pos, row.status, event_instance_id=row.event_instance_id, errorcode=row.errorcode,
                        message=row.message, request_id=row.request_id, attempts=attempts)
            if outcome.record.sent_at is not None and res.sent_at[row.pos] is None:
                res.sent_at[row.pos] = outcome.record.sent_at
        self._batches_done += 1
        if outcome.fatal is not None:
            self.stop.set()
            res.warnings.append(f"run stopped: {outcome.fatal}")
        self.emit(ProgressKind.BATCH)

    # -- one batch (worker thread) -------------------------------------------------------

    def send(self, record: BatchRecord, positions: list[int], members: list[dict]) -> BatchOutcome:
        """Send one batch until every member has an outcome; never raises (rows are never lost)."""
        out = BatchOutcome(record, [])
        started = time.monotonic()
        try:
            self._send(out, positions, members, started)
        except Exception as exc:  # an unexpected answer or a bug: keep the rows, stop the run
            log.exception("batch %s stopped by an unexpected error", record.number)
            done = {row.pos for row in out.rows}
            out.rows.extend(RowOutcome(p, "unknown", message=f"stopped by an unexpected error ({type(exc).__name__}); "
                                       "not resent: call .retry() to check and finish") for p in positions
                            if p not in done)
            out.fatal = exc
        record.seconds = time.monotonic() - started
        statuses = Counter(r.status for r in out.rows)
        record.outcome = ("queued" if set(statuses) == {"queued"} else
                          "partial" if statuses.get("queued") else (next(iter(statuses)) if statuses else "pending"))
        if statuses.get("not_queued") and not statuses.get("queued"):
            record.outcome = "not_queued"
        return out

    def _send(self, out: BatchOutcome, positions: list[int], members: list[dict], started: float) -> None:
        record = out.record
        deadline = started + self.max_seconds
        first_sent: float | None = None
        remaining = list(range(len(members)))
        keys = [m["contactKey"] for m in members]
        failures = 0

        def finish(status: str, message: str, errorcode: int | None = None) -> None:
            out.rows.extend(RowOutcome(positions[i], status, errorcode=errorcode, message=message)
                            for i in remaining)
            remaining.clear()

        def gave_up(failures: int, message: str) -> bool:
            """Past the attempt or time budget: the rest fail. Otherwise back off before the next try."""
            if failures >= self.max_attempts or time.monotonic() > deadline:
                finish("failed", message)
                return True
            time.sleep(self.conn.retry.backoff(failures))
            return False

        while remaining:
            self.throttle.wait(self.stop)
            if self.stop.is_set():
                if record.attempts == 0:
                    finish("skipped", NOT_SENT)
                else:
                    finish("failed", "not sent again: the run was interrupted (call .retry())")
                break
            record.attempts += 1
            out.requests += 1
            if record.attempts > 1:
                out.retries += 1
            sub_pos = [positions[i] for i in remaining]
            if self.journal:
                self.journal.write({"kind": "sent", "run": self.run_id, "batch": record.number,
                                    "attempt": record.attempts, "positions": sub_pos,
                                    "keys": [keys[i] for i in remaining], "time": time.time()}, durable=True)
            ident = {"run": self.run_id, "batch": record.number, "attempt": record.attempts}
            first_sent = first_sent or time.time()
            record.sent_at = record.sent_at or first_sent
            try:
                answer = self.conn.enter_batch(self.event_key, [members[i] for i in remaining], retry=False)
            except RateLimitError as exc:
                record.http_status = 429
                self._journal({"kind": "refused", **ident, "http": 429})
                wait_s = self.throttle.throttled(exc.retry_after)
                out.throttled_waits += 1
                self.events.put((ProgressKind.THROTTLE, wait_s, f"throttled: waiting {wait_s:.1f} s"))
                if time.monotonic() + wait_s > deadline:
                    finish("failed", f"throttled for more than {self.max_seconds:g} s; call .retry() later",
                           exc.errorcode)
                continue
            except (OutcomeUnknownError, ServerError) as exc:
                record.http_status = getattr(exc, "status", None)
                self._journal({"kind": "unknown", **ident, "error": str(exc)})
                failures += 1
                if not self.reconcile(first_sent, positions, keys, remaining, out, str(exc),
                                      likely_entered=isinstance(exc, OutcomeUnknownError)):
                    break
                if not remaining or gave_up(failures, f"not queued after {failures} failed attempts (last: {exc})"):
                    break
                continue
            except (ConnectError, ApiError) as exc:
                if isinstance(exc, ApiError) and exc.status != 401:
                    record.http_status = exc.status
                    self._journal({"kind": "refused", **ident, "http": exc.status, "errorcode": exc.errorcode})
                    out.raw.append(exc.body)
                    finish("failed", exc.message or str(exc), exc.errorcode)
                    break
                # never connected, or a 401 that survived the client's one token refresh (the token was
                # revoked again meanwhile): nothing was carried out, so sending again is safe
                self._journal({"kind": "refused", **ident, "error": str(exc)})
                failures += 1
                if gave_up(failures, f"not sent after {failures} refused attempts (last: {exc})"):
                    break
                continue
            except SfmcError as exc:  # AuthError (credentials revoked) and the like: stop the run
                self._journal({"kind": "refused", **ident, "error": str(exc)})
                finish("failed", str(exc))
                out.fatal = exc
                break
            self.throttle.success()
            record.http_status = answer.status_code
            record.request_id = answer.request_id
            out.raw.append(answer.raw)
            self.read_answer(answer, positions, keys, remaining, out, ident, first_sent)

    def read_answer(self, answer, positions, keys, remaining, out: BatchOutcome, ident: dict, since: float) -> None:
        """Match answer members to the sent ones (request order); mismatches go to reconciliation."""
        members = answer.members
        rows, journal_rows = [], []
        if len(members) == len(remaining) and all(
                (m or {}).get("contactKey") in (None, keys[i]) for m, i in zip(members, remaining, strict=True)):
            pairs = list(zip(remaining, members, strict=True))
        else:  # not in request order: pair by contact key, first come first served
            by_key: dict[str, list[dict]] = defaultdict(list)
            for m in members:
                by_key[str((m or {}).get("contactKey"))].append(m)
            pairs = [(i, by_key[keys[i]].pop(0) if by_key[keys[i]] else None) for i in remaining]
        unmatched = []
        for i, m in pairs:
            if m is None:
                unmatched.append(i)
                continue
            eid = m.get("eventInstanceId") or None
            code = m.get("errorcode", m.get("errorCode"))
            if code is None and not eid:  # neither queued nor refused: its fate is unknown, so check it
                unmatched.append(i)
                continue
            if code is None:
                row = RowOutcome(positions[i], "queued", eid, None, None, answer.request_id)
                with self._claimed_lock:
                    self.claimed.add(eid)
            else:
                msg = m.get("message") or ("not queued" if code is not None else "answer had no eventInstanceId")
                row = RowOutcome(positions[i], "not_queued", eid, _int_or_none(code), msg, answer.request_id)
            rows.append(row)
            journal_rows.append([row.pos, row.status, row.event_instance_id, row.request_id])
        self._journal({"kind": "answer", **ident, "http": answer.status_code, "requestId": answer.request_id,
                       "rows": journal_rows})
        out.rows.extend(rows)
        remaining[:] = []
        if unmatched:
            remaining.extend(unmatched)
            self.reconcile(since, positions, keys, remaining, out, "the answer did not say what became of these")
            for i in remaining:
                out.rows.append(RowOutcome(positions[i], "unknown", message="the answer did not say what became of "
                                           "it and the status endpoint does not list it", request_id=answer.request_id))
            remaining.clear()

    def reconcile(self, since: float | None, positions, keys, remaining: list[int], out: BatchOutcome,
                  why: str, likely_entered: bool = True) -> bool:
        """Look up members of a batch in doubt; keep in ``remaining`` only those surely not queued.

        Returns False when the status endpoint could not answer: the members end ``unknown``.
        """
        out.reconciliations += 1
        self.events.put((ProgressKind.RECONCILE, None, f"checking {len(remaining)} contacts after: {why}"))
        time.sleep(self.reconcile_delay)
        found = find_queued(self.conn, self.event_key, [keys[i] for i in remaining], self.claimed,
                            self._claimed_lock, out, since=since, likely_entered=likely_entered)
        if found is None:
            for i in remaining:
                out.rows.append(RowOutcome(positions[i], "unknown", message=f"{why}; the status endpoint could not "
                                           "be read, so it was not resent: call .retry() to check again"))
            remaining.clear()
            return False
        still, journal_rows, not_found = [], [], []
        for j, i in enumerate(remaining):
            item = found[j]
            if item is None:
                still.append(i)
                not_found.append(positions[i])
                continue
            if item is UNDATED:
                out.rows.append(RowOutcome(positions[i], "unknown", message=f"{why}; {UNDATED_MESSAGE}"))
                continue
            row = RowOutcome(positions[i], "queued", item.get("eventInstanceId"), None, None, item.get("requestId"))
            out.rows.append(row)
            journal_rows.append([row.pos, "queued", row.event_instance_id, row.request_id])
        self._journal({"kind": "reconciled", "run": self.run_id, "rows": journal_rows, "not_found": not_found})
        remaining[:] = still
        return True

    def _journal(self, record: dict) -> None:
        if self.journal:
            self.journal.write(record)


UNDATED = {"undated": True}  # find_queued: an entry exists but cannot be told apart from an earlier one


def find_queued(conn: Connection, event_key: str, keys: Sequence[str], claimed: set[str],
                lock: threading.Lock, out: BatchOutcome | None = None, since: float | None = None,
                likely_entered: bool = True) -> list[dict | None] | None:
    """For each key (in order): a status item of this event made since ``since`` and not yet claimed by
    another row; ``UNDATED`` when only entries that cannot be dated exist; or None (not entered).

    ``since`` is the local time the requests in doubt were first sent; entries made before (a
    previous run's) never count. When the members were ``likely_entered`` (answer lost rather than
    refused with a 5xx) the event's recent items are read first, page by page, if that is cheaper; a
    listing read in pages can shift under the reader, so only what it shows counts, and every key it
    does not account for is asked about on its own. Returns None when the status endpoint fails.
    Items found are added to ``claimed`` so two rows never take the same entry.
    """
    since = time.time() if since is None else since
    distinct = list(dict.fromkeys(keys))
    need = Counter(keys)
    items_by_key: dict[str, dict[str, dict]] = {k: {} for k in distinct}   # key -> eventInstanceId -> item
    undated: Counter = Counter()

    def take(item: dict, key: str) -> None:
        if item.get("eventDefinitionKey") not in (None, event_key):
            return
        when = _dated(item, since, conn.server_clock_offset)
        eid = item.get("eventInstanceId")
        if when == "after" and eid:
            items_by_key[key][eid] = item
        elif when != "before" and eid not in claimed:
            undated[key] += 1

    try:
        window = None
        if likely_entered:
            window = _recent_items(conn, event_key, since, len(distinct), out)
        for item in window or []:
            if item.get("contactKey") in items_by_key:
                take(item, item["contactKey"])
        for key in distinct:
            with lock:
                unclaimed = sum(1 for eid in items_by_key[key] if eid not in claimed)
            if window is not None and unclaimed >= need[key]:
                continue
            if out is not None:
                out.requests += 1
            items_by_key[key].clear()
            undated[key] = 0
            for item in conn.batch_status(contact_key=key, event_key=event_key):
                if item.get("contactKey") in (None, key):
                    take(item, key)
    except SfmcError as exc:
        log.warning("status endpoint failed during reconciliation: %s", exc)
        return None
    found: list[dict | None] = []
    with lock:
        for key in keys:
            pick = next((item for eid, item in items_by_key[key].items() if eid not in claimed), None)
            if pick is not None:
                claimed.add(pick["eventInstanceId"])
            elif undated[key]:
                undated[key] -= 1
                pick = UNDATED
            found.append(pick)
    return found


def _recent_items(conn: Connection, event_key: str, since: float, n_keys: int,
                  out: BatchOutcome | None) -> list[dict] | None:
    """Every status item of the event from a day before ``since`` on, when that takes fewer requests
    than asking contact by contact; else None.

    The window starts a whole day early so that however the service reads ``startDate`` (time zone,
    date only) it cannot start after the requests in doubt; older items are dropped by their date.
    """
    if n_keys < WINDOW_MIN_KEYS:
        return None
    start = datetime.fromtimestamp(since - 86400, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    first = conn.batch_status_page(event_key=event_key, start_date=start, page_size=STATUS_PAGE)
    if out is not None:
        out.requests += 1
    count = _int_or_none(first.get("count"))
    items = list(first.get("items") or [])
    pages = -(-count // STATUS_PAGE) if count is not None else None
    if pages is None or pages >= n_keys:   # cheaper (or only possible) to ask per contact
        return None
    for page in range(2, pages + 1):
        if out is not None:
            out.requests += 1
        batch = conn.batch_status_page(event_key=event_key, start_date=start, page=page, page_size=STATUS_PAGE)
        items.extend(batch.get("items") or [])
    return items


def _dated(item: dict, since: float, offset: float | None) -> str:
    """Was this status item made by a request sent at ``since`` (local epoch) or later?

    ``"after"``: yes, it can be this request's. ``"before"``: surely not (a previous run's, say).
    ``"undated"``: cannot tell (no createdDate, no time zone on it, no server clock), so the row
    it would settle is left ``unknown`` rather than called queued or sent again.
    """
    text = item.get("createdDate")
    try:
        created = datetime.fromisoformat(text.strip().replace("Z", "+00:00")) if isinstance(text, str) else None
    except ValueError:
        created = None
    if created is None:
        return "undated"
    if created.tzinfo is None:  # local time of an unknown zone: only a day's distance tells
        earliest = created.replace(tzinfo=timezone.utc).timestamp() - 14 * 3600
        latest = earliest + 28 * 3600
    else:
        earliest = latest = created.timestamp()
    if offset is None:  # no Date header: allow for clocks that disagree by minutes
        earliest, latest, margin = earliest - CLOCK_ALLOWANCE, latest + CLOCK_ALLOWANCE, 0.0
    else:
        # the Date header is cut to the second, so ``offset`` can only read low: createdDate - offset is
        # never earlier than the local moment our request made the entry. 2 s covers a createdDate cut
        # to the second and a stale offset.
        earliest, latest, margin = earliest - offset, latest - offset, 2.0
    if latest < since - margin:
        return "before"
    if earliest >= since - margin:
        return "after"
    return "undated"


# --------------------------------------------------------------------------- the public call


def enter_journey(df: pd.DataFrame, event_key: str, contact_key: str | None = None,
                  data: Sequence[str] | str | None = None, *, connection: Connection | None = None,
                  concurrency: int | None = None, dry_run: bool = False, validate: bool = True,
                  journal: str | os.PathLike | None = None,
                  progress: Callable[[ProgressEvent], None] | bool | None = None,
                  batch_size: int = MAX_BATCH_SIZE, na: str = "null", duplicates: str = "keep",
                  float_keys: str = "convert", max_seconds: float = 300.0) -> EntryResult:
    """Enter every row of ``df`` into the journey(s) of ``event_key``; return an :class:`EntryResult`.

    ``contact_key`` names the key column (default: ``SubscriberKey`` or ``ContactKey``); ``data`` the
    columns sent as entry data (``"all"``: every other column). ``journal`` names a JSON-lines file:
    running again with the same file resumes without re-entering queued contacts. ``progress`` is a
    callback receiving :class:`ProgressEvent` (``True``: a text line every few seconds on stderr).
    """
    if not isinstance(event_key, str) or not event_key.strip():
        raise ValidationError("event_key is empty: pass the entry event's key (Journey Builder > Event Administration)")
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if contact_key is None:
        contact_key = default_contact_key(df.columns)
        if contact_key is None:
            raise ValidationError(f"name the contact key column with contact_key=; columns are {list(df.columns)}")
    concurrency = DEFAULT_CONCURRENCY if concurrency is None else int(concurrency)
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValidationError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, got {concurrency}")
    if progress is True:
        progress = TextProgress()
    conn = connection or default_connection()
    conn.ensure_pool(concurrency)

    data_cols = [c for c in df.columns if c != contact_key] if data == "all" else (
        [data] if isinstance(data, str) else list(data or []))
    limits, notes = ({}, [])
    if validate:
        limits, notes = preflight(conn, event_key, [str(c) for c in data_cols])
    with warnings.catch_warnings():  # prepare's notes reach the user once, through result.warnings
        warnings.simplefilter("ignore", UserWarning)
        prepared = prepare(df, contact_key, data_cols, na=na, duplicates=duplicates, float_keys=float_keys,
                           max_lengths=limits or None)
    result = EntryResult(event_key, prepared.index, prepared.keys, dry_run=dry_run)
    result.warnings.extend(notes + prepared.warnings)
    for pos, reason in prepared.skipped.items():
        result.set_row(pos, "skipped", message=reason)
    todo = prepared.sendable_positions
    for pos in todo:
        result.set_row(pos, "skipped", message=DRY_RUN if dry_run else NOT_SENT)
    if dry_run:
        result.preview = [b.members for b in islice(prepared.batches(batch_size), 3)]
        return result

    started, started_at = time.monotonic(), time.time()
    jrnl = None
    if journal is not None:
        records = Journal.read(journal)
        state = replay(records, event_key, prepared.keys)
        jrnl = Journal(journal)
        result.journal = str(journal)
        if not records:
            jrnl.write({"kind": "run", "event_key": event_key, "rows": len(prepared.keys),
                        "contact_key": str(contact_key), "time": time.time()}, durable=True)
        for pos, when in state.sent_at.items():
            result.sent_at[pos] = when
        for pos, (eid, rid) in state.queued.items():
            result.set_row(pos, "queued", event_instance_id=eid, request_id=rid, message="queued in an earlier run")
        if state.queued or state.in_doubt:
            result.warnings.append(f"resumed from {journal}: {len(state.queued)} rows already queued, "
                                   f"{len(state.in_doubt)} in doubt (checked before resending)")
    runner = Runner(conn, event_key, prepared, result, concurrency=concurrency, batch_size=batch_size,
                    journal=jrnl, progress=progress, max_seconds=max_seconds)
    if journal is not None:
        runner.claimed |= state.known_ids
        in_doubt = sorted(state.in_doubt)
        if in_doubt:
            _settle_in_doubt(runner, in_doubt, _first_sent(result, in_doubt, started_at))
        todo = [p for p in todo if result.status[p] not in ("queued", "unknown")]

    def retry(res: EntryResult, **options: Any) -> None:
        again = Runner(conn, event_key, prepared, res, concurrency=options.get("concurrency", concurrency),
                       batch_size=batch_size, journal=jrnl, progress=options.get("progress", progress),
                       max_seconds=max_seconds)
        t0 = time.monotonic()
        still_out = _collect_in_flight(res, again)
        res.interrupted = False
        unknown = [p for p in res.positions(["unknown"]) if p not in still_out]
        if unknown:
            _settle_in_doubt(again, unknown, _first_sent(res, unknown, started_at))
        targets = [p for p in res.resendable_positions() if p not in still_out]
        again.run(targets)
        if still_out:
            res.warnings.append(f"{len(still_out)} rows were still in flight from an interrupted run and were not "
                                "checked or resent: call .retry() again in a minute")
        res.seconds += time.monotonic() - t0

    result._retry = retry
    try:
        runner.run(todo)
    finally:
        result.seconds = time.monotonic() - started
    return result


def _collect_in_flight(result: EntryResult, runner: Runner) -> set[int]:
    """Wait (bounded) for requests an interrupted run left in flight, and record what they did.

    Checking their rows before those requests land could find nothing and resend them. Returns
    the positions of requests still out after the wait.
    """
    grace = runner.conn.timeout[0] + runner.conn.timeout[1] + 1
    still: list = []
    for fut, positions in result._in_flight:
        try:
            runner.apply(fut.result(timeout=grace))
        except FutureTimeout:
            still.append((fut, positions))
        except CancelledError:  # never started, so never sent: its rows are checked like any unknown
            pass
    result._in_flight = still
    return {p for _, positions in still for p in positions}


def _settle_in_doubt(runner: Runner, positions: list[int], since: float | None) -> None:
    """Reconcile rows whose fate is unknown; found ones become queued, the rest are left to send.

    ``since``: when the requests in doubt were first sent (entries older than that are not theirs).
    """
    keys = runner.prepared.keys
    out = BatchOutcome(BatchRecord(-1, len(positions)), [])
    found = find_queued(runner.conn, runner.event_key, [keys[p] for p in positions], runner.claimed,
                        runner._claimed_lock, out, since=since)
    res = runner.result
    res.requests += out.requests
    res.reconciliations += 1
    if found is None:
        for p in positions:
            res.set_row(p, "unknown", message="fate unknown and the status endpoint could not be read; not resent")
        return
    rows = []
    for p, item in zip(positions, found, strict=True):
        if item is UNDATED:
            res.set_row(p, "unknown", message=UNDATED_MESSAGE)
        elif item is not None:
            res.set_row(p, "queued", event_instance_id=item.get("eventInstanceId"), request_id=item.get("requestId"),
                        message="found queued by the status endpoint")
            rows.append([p, "queued", item.get("eventInstanceId"), item.get("requestId")])
        else:
            res.set_row(p, "skipped", message=NOT_SENT)
    if runner.journal:
        runner.journal.write({"kind": "reconciled", "run": runner.run_id, "rows": rows,
                              "not_found": [p for p, item in zip(positions, found, strict=True) if item is None]})


def _first_sent(result: EntryResult, positions: Sequence[int], default: float) -> float:
    """The earliest moment any of these rows was sent (entries made before it are not theirs)."""
    times = [result.sent_at[p] for p in positions if result.sent_at[p] is not None]
    return min(times) if times else default
