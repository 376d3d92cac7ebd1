"""One batch, from first request to an outcome for every member: the never-send-twice state machine.

Each request ends one of a few ways, and each has its handler:

* an answer: members are read one by one (queued or refused); members it does not account for are
  looked up by its ``requestId`` (:meth:`BatchSend._on_answer`);
* 429: every worker pauses and the same members go again, unless the service asks for a wait longer than
  the run may take: then the members left fail, like every batch after them (:meth:`BatchSend._on_throttled`);
* answer lost, read timeout or 5xx: the request is *in doubt* (:meth:`BatchSend._on_in_doubt`);
* never connected, or a 401 after the client's token refresh: nothing was carried out, so sending again
  is safe (:meth:`BatchSend._on_not_sent`);
* another 4xx: the batch is refused as a whole (:meth:`BatchSend._on_refused`);
* credentials revoked and the like: the run stops (:meth:`BatchSend._on_fatal`).

A request in doubt may still land until its *landing horizon* (sent + ``landing_horizon``: Marketing Cloud
gives up on a REST call after 120 s, plus the status endpoint's lag). Its members are looked up at once (found:
queued); the rest wait, parked by the run loop while other batches go on, and are looked up again once the
horizon has passed (:meth:`BatchSend.resume`): found, queued; not found, surely not entered, sent again. A
batch whose horizon lies beyond its time budget, or a run that stops first, leaves them ``unknown`` with the
moment from which ``retry()`` (or a resume from the journal) can settle them. Past the attempt or time budget
the members left end ``failed``; a stopped run ends them ``skipped`` (never sent) or ``failed`` (sent before).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .._rules import int_or_none
from ..client import BatchAnswer
from ..errors import ApiError, ConnectError, OutcomeUnknownError, RateLimitError, ServerError, SfmcError
from ..results import NOT_SENT, BatchRecord
from .context import RunContext
from .dates import tenant_time
from .outcome import BatchOutcome, RowOutcome, batch_outcome
from .progress import ProgressKind
from .reconcile import UNDATED, UNDATED_MESSAGE, Check, find_queued

__all__ = ["BatchSend", "Doubt", "in_doubt_message", "clock_text"]

log = logging.getLogger("sfmc_nb.engine")

Member = dict[str, Any]


def clock_text(epoch: float) -> str:
    """A local wall-clock time for messages (``14:03:27``)."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def in_doubt_message(until: float, why: str = "in doubt") -> str:
    return (f"{why}: the request may still land until {clock_text(until)}, so it was not resent; from then on "
            ".retry() (or running again with the same journal) settles it")


@dataclass
class Doubt:
    """The one request of a batch that may still land: when it was sent, until when, and its id once known.

    Members are only resent once it is surely not entered, so a batch never has two requests in doubt.
    """

    sent: float                     # local epoch: entries made before are not its
    until: float                    # local epoch of its landing horizon
    request_id: str | None = None


class BatchSend:
    """Sends one batch until every member has an outcome (runs in a worker thread; may be parked by the
    run loop while a request of it is in doubt, then resumed)."""

    def __init__(self, ctx: RunContext, record: BatchRecord, positions: list[int], members: list[Member], *,
                 doubt: Doubt | None = None):
        self.ctx = ctx
        self.record = record
        self.positions = positions
        self.members = members
        self.keys = [m["contactKey"] for m in members]
        self.out = BatchOutcome(record, [])
        self.remaining = list(range(len(members)))   # members (by index) without an outcome yet
        self.failures = 0                            # requests that failed without an answer
        self.attempt_sent: float | None = None       # local epoch the latest request went out
        self.doubt = doubt
        self.parked_until: float | None = None
        self.last_error = ""
        self.deadline = time.monotonic() + ctx.options.max_seconds
        self.sent_epoch = 0                          # the throttle's epoch when the last request went

    def run(self) -> BatchOutcome:
        """Send until every member has an outcome or the batch is parked; never raises (rows are never lost)."""
        return self._drive(self._send_until_settled)

    def resume(self) -> BatchOutcome:
        """Look up the members of the request in doubt again, then go on as :meth:`run` does."""
        return self._drive(lambda: self._settle_doubt("checked again") and self._send_until_settled())

    def give_up(self) -> BatchOutcome:
        """The run stops while this batch is parked: its members in doubt end ``unknown`` (never resent)."""
        self.out = BatchOutcome(self.record, [])
        self.parked_until = None
        self._finish_in_doubt()
        self.record.outcome = batch_outcome(self.out.rows)
        return self.out

    @property
    def remaining_positions(self) -> list[int]:
        return [self.positions[i] for i in self.remaining]

    def _drive(self, step: Any) -> BatchOutcome:
        self.out = BatchOutcome(self.record, [])
        self.parked_until = None
        started = time.monotonic()
        try:
            step()
        except Exception as exc:  # an unexpected answer or a bug: keep the rows, stop the run
            log.exception("batch %s stopped by an unexpected error", self.record.number)
            self.parked_until = None
            self._finish("unknown", f"stopped by an unexpected error ({type(exc).__name__}); "
                         "not resent: call .retry() to check and finish",
                         sent_at=self.doubt.sent if self.doubt else self.attempt_sent)
            self.out.fatal = exc
        self.record.seconds += time.monotonic() - started
        self.out.parked_until = self.parked_until
        if self.parked_until is None:
            self.record.outcome = batch_outcome(self.out.rows)
        else:
            self.out.rows.extend(self._in_doubt_rows(f"in doubt: the request may still land until "
                                                     f"{clock_text(self.parked_until)}; checked again then"))
        return self.out

    def _send_until_settled(self) -> bool:
        while self.remaining and self.parked_until is None and self._attempt():
            pass
        return False

    def _attempt(self) -> bool:
        """One request for the members left, and its outcome handled. False: the batch is settled or parked."""
        self.sent_epoch = self.ctx.throttle.acquire(self.ctx.stop)
        if self.ctx.stop.is_set():
            return self._on_stopped()
        if self.ctx.throttle.gave_up:   # a 429 asked for a longer wait than the run may take
            self._finish("failed", self.ctx.throttle.gave_up)
            return False
        ident = self._journal_sent()
        try:
            answer = self.ctx.conn.enter_batch(self.ctx.event_key, [self.members[i] for i in self.remaining],
                                               retry=False)
        except RateLimitError as exc:
            return self._on_throttled(exc, ident)
        except (OutcomeUnknownError, ServerError) as exc:
            return self._on_in_doubt(exc, ident)
        except ApiError as exc:
            return self._on_not_sent(exc, ident) if exc.status == 401 else self._on_refused(exc, ident)
        except ConnectError as exc:
            return self._on_not_sent(exc, ident)
        except SfmcError as exc:
            return self._on_fatal(exc, ident)
        return self._on_answer(answer, ident)

    def _journal_sent(self) -> dict[str, Any]:
        """Count the request and journal it (durably) before it leaves; return its journal ident."""
        record, out = self.record, self.out
        record.attempts += 1
        out.requests += 1
        if record.attempts > 1:
            out.retries += 1
        self.attempt_sent = time.time()
        if self.ctx.journal is not None:   # the record's lists are built only when there is a journal to write
            self.ctx.note({"kind": "sent", "run": self.ctx.run_id, "batch": record.number,
                           "attempt": record.attempts, "positions": [self.positions[i] for i in self.remaining],
                           "keys": [self.keys[i] for i in self.remaining], "time": self.attempt_sent}, durable=True)
        record.sent_at = record.sent_at or self.attempt_sent
        return self.ctx.ident(record.number, record.attempts)

    # -- one handler per outcome ------------------------------------------------------------------

    def _on_stopped(self) -> bool:
        """The run stopped: members never sent are skipped; members sent before fail (retry() checks them)."""
        if self.record.attempts == 0:
            self._finish("skipped", NOT_SENT)
        else:
            self._finish("failed", "not sent again: the run was interrupted (call .retry())")
        return False

    def _on_throttled(self, exc: RateLimitError, ident: dict[str, Any]) -> bool:
        """429: nothing was carried out. Every worker pauses (once per burst of 429s); the same members go again
        after the wait. A wait longer than the run may take ends them ``failed`` now, and the run's sending."""
        self.record.http_status = 429
        self.ctx.note({"kind": "refused", **ident, "http": 429})
        throttle = self.ctx.throttle
        first_give_up = throttle.gave_up is None
        wait_s = throttle.throttled(exc.retry_after, self.sent_epoch)
        self.out.throttled_waits += 1
        if throttle.gave_up:
            if first_give_up:
                self.ctx.report(ProgressKind.THROTTLE, 0.0, f"throttled: {throttle.gave_up}")
            self._finish("failed", throttle.gave_up, exc.errorcode)
            return False
        self.ctx.report(ProgressKind.THROTTLE, wait_s, f"throttled: waiting {wait_s:.1f} s")
        if time.monotonic() + wait_s > self.deadline:
            self._finish("failed", f"throttled for more than {self.ctx.options.max_seconds:g} s; call .retry() later",
                         exc.errorcode)
        return True

    def _on_in_doubt(self, exc: OutcomeUnknownError | ServerError, ident: dict[str, Any]) -> bool:
        """Answer lost, read timeout or 5xx: the members may be queued, now or until the landing horizon."""
        self.record.http_status = getattr(exc, "status", None)
        self.ctx.note({"kind": "unknown", **ident, "error": str(exc)})
        self.failures += 1
        self.last_error = str(exc)
        sent = self.attempt_sent or time.time()
        self.doubt = Doubt(sent, sent + self.ctx.options.landing_horizon)
        time.sleep(self.ctx.options.reconcile_delay)
        return self._settle_doubt(str(exc))

    def _on_not_sent(self, exc: SfmcError, ident: dict[str, Any]) -> bool:
        """Never connected, or a 401 that survived the client's one token refresh (the token was revoked
        again meanwhile): nothing was carried out, so sending again is safe."""
        self.ctx.note({"kind": "refused", **ident, "error": str(exc)})
        self.failures += 1
        return not self._budget_spent(f"not sent after {self.failures} refused attempts (last: {exc})")

    def _on_refused(self, exc: ApiError, ident: dict[str, Any]) -> bool:
        """Another 4xx: the service refused the batch as a whole; its members fail with its reason."""
        self.record.http_status = exc.status
        self.ctx.note({"kind": "refused", **ident, "http": exc.status, "errorcode": exc.errorcode})
        self.out.raw.append(exc.body)
        self._finish("failed", exc.message or str(exc), exc.errorcode)
        return False

    def _on_fatal(self, exc: SfmcError, ident: dict[str, Any]) -> bool:
        """AuthError (credentials revoked) and the like: the members fail and the run stops."""
        self.ctx.note({"kind": "refused", **ident, "error": str(exc)})
        self._finish("failed", str(exc))
        self.out.fatal = exc
        return False

    def _on_answer(self, answer: BatchAnswer, ident: dict[str, Any]) -> bool:
        """An answer: members it accounts for are queued or not; the rest are looked up, never resent."""
        self.ctx.throttle.success(self.sent_epoch)
        self.record.http_status = answer.status_code
        self.record.request_id = answer.request_id
        self.out.raw.append(answer.raw)
        sent = self.attempt_sent or time.time()
        tenant_time(self.ctx.conn).note_answer(answer.request_id, sent, time.time())
        unmatched = self._read_answer(answer, ident)
        self.remaining[:] = unmatched
        if unmatched:
            why = "the answer did not say what became of these"
            self.doubt = Doubt(sent, time.time(), answer.request_id)
            if self._check(why, final=True) is not None:
                self._finish("unknown", "the answer did not say what became of it and the status endpoint does "
                             "not list it", request_id=answer.request_id)
        self.doubt = None
        return True

    # -- the request in doubt ---------------------------------------------------------------------

    def _settle_doubt(self, why: str) -> bool:
        """Look the members up. Found: queued. Not found past the horizon: sent again (True). Not found
        before it: parked until then, or ``unknown`` when the budget or the run ends first (False)."""
        doubt = self.doubt
        if doubt is None:
            return bool(self.remaining)
        final = time.time() >= doubt.until
        if self._check(why, final) is None or not self.remaining:
            self.doubt = None
            return False
        if final:   # past the horizon and not found: surely not entered
            self.doubt = None
            last = self.last_error or why
            return not self._budget_spent(f"not queued after {self.failures} failed attempts (last: {last})")
        if self.ctx.stop.is_set() or time.monotonic() + (doubt.until - time.time()) > self.deadline:
            self._finish_in_doubt()
            return False
        self.parked_until = doubt.until
        self.ctx.report(ProgressKind.RECONCILE, None, f"{len(self.remaining)} contacts in doubt: checking again "
                        f"at {clock_text(doubt.until)} (other batches go on)")
        return False

    def _check(self, why: str, final: bool) -> list | None:
        """Look up the members left; keep in ``remaining`` only those not found.

        Returns None when the status endpoint could not answer: the members end ``unknown``.
        """
        ctx, out, doubt = self.ctx, self.out, self.doubt
        assert doubt is not None
        out.reconciliations += 1
        ctx.report(ProgressKind.RECONCILE, None, f"checking {len(self.remaining)} contacts after: {why}")
        check = Check([self.keys[i] for i in self.remaining], doubt.sent, doubt.request_id, final)
        found = find_queued(ctx.conn, ctx.event_key, check, ctx.claimed, ctx.claimed_lock, out)
        if found is None:
            self._finish("unknown", f"{why}; the status endpoint could not be read, so it was not resent: "
                         "call .retry() to check again", sent_at=doubt.sent)
            return None
        doubt.request_id = doubt.request_id or found.request_id
        still, journal_rows = [], []
        for i, item in zip(self.remaining, found.items, strict=True):
            if item is None:
                still.append(i)
            elif item is UNDATED:
                out.rows.append(RowOutcome(self.positions[i], "unknown", message=f"{why}; {UNDATED_MESSAGE}",
                                           sent_at=doubt.sent))
            else:
                row = RowOutcome(self.positions[i], "queued", item.get("eventInstanceId"), None, None,
                                 item.get("requestId"))
                out.rows.append(row)
                journal_rows.append([row.pos, "queued", row.event_instance_id, row.request_id])
        # "not found" is journalled only once it proves something: a resume must not take it as "not entered"
        ctx.note({"kind": "reconciled", "run": ctx.run_id, "rows": journal_rows,
                  "not_found": [self.positions[i] for i in still] if final else []})
        self.remaining[:] = still
        return found.items

    def _in_doubt_rows(self, message: str) -> list[RowOutcome]:
        sent = self.doubt.sent if self.doubt else None
        return [RowOutcome(self.positions[i], "unknown", message=message, sent_at=sent) for i in self.remaining]

    def _finish_in_doubt(self) -> None:
        if self.doubt is not None:
            self.out.rows.extend(self._in_doubt_rows(in_doubt_message(self.doubt.until)))
            self.remaining.clear()

    # -- helpers ----------------------------------------------------------------------------------

    def _finish(self, status: str, message: str, errorcode: int | None = None, *, request_id: str | None = None,
                sent_at: float | None = None) -> None:
        """Every member left ends with this status."""
        self.out.rows.extend(RowOutcome(self.positions[i], status, errorcode=errorcode, message=message,
                                        request_id=request_id, sent_at=sent_at) for i in self.remaining)
        self.remaining.clear()

    def _budget_spent(self, message: str) -> bool:
        """Past the attempt or time budget: the rest fail. Otherwise back off before the next try."""
        if self.failures >= self.ctx.options.max_attempts or time.monotonic() > self.deadline:
            self._finish("failed", message)
            return True
        if self.failures:
            time.sleep(self.ctx.conn.retry.backoff(self.failures))
        return False

    def _pairs(self, answer: BatchAnswer) -> list[tuple[int, Member | None]]:
        """Answer members matched to the members sent: in request order, else by contact key."""
        members = answer.members
        if len(members) == len(self.remaining) and all(
                (m or {}).get("contactKey") in (None, self.keys[i])
                for m, i in zip(members, self.remaining, strict=True)):
            return list(zip(self.remaining, members, strict=True))
        by_key: dict[str, list[Member]] = defaultdict(list)   # first come first served
        for m in members:
            by_key[str((m or {}).get("contactKey"))].append(m)
        return [(i, by_key[self.keys[i]].pop(0) if by_key[self.keys[i]] else None) for i in self.remaining]

    def _read_answer(self, answer: BatchAnswer, ident: dict[str, Any]) -> list[int]:
        """Turn answer members into row outcomes and journal them; return the members it did not settle."""
        rows, claimed, unmatched = [], [], []
        positions, request_id = self.positions, answer.request_id
        for i, m in self._pairs(answer):
            if m is None:
                unmatched.append(i)
                continue
            eid: str | None = m.get("eventInstanceId") or None
            code = m.get("errorcode", m.get("errorCode"))
            if code is None:
                if not eid:   # neither queued nor refused: its fate is unknown
                    unmatched.append(i)
                    continue
                rows.append(RowOutcome(positions[i], "queued", eid, None, None, request_id))
                claimed.append(eid)
            else:
                rows.append(RowOutcome(positions[i], "not_queued", eid, int_or_none(code),
                                       m.get("message") or "not queued", request_id))
        if claimed:
            with self.ctx.claimed_lock:   # one lock a batch, not one a row
                self.ctx.claimed.update(claimed)
        if self.ctx.journal is not None:
            self.ctx.note({"kind": "answer", **ident, "http": answer.status_code, "requestId": request_id,
                           "rows": [[r.pos, r.status, r.event_instance_id, r.request_id] for r in rows]})
        self.out.rows.extend(rows)
        return unmatched
