"""One batch, from first request to an outcome for every member: the never-send-twice state machine.

Each request ends one of a few ways, and each has its handler:

* an answer: members are read one by one (queued or refused); members it does not account for are
  reconciled (:meth:`BatchSend._on_answer`);
* 429: every worker pauses and the same members go again, unless the service asks for a wait longer than
  the run may take: then the members left fail, like every batch after them (:meth:`BatchSend._on_throttled`);
* answer lost or 5xx: the members are in doubt, so they are looked up before any is resent
  (:meth:`BatchSend._on_in_doubt`);
* never connected, or a 401 after the client's token refresh: nothing was carried out, so sending again
  is safe (:meth:`BatchSend._on_not_sent`);
* another 4xx: the batch is refused as a whole (:meth:`BatchSend._on_refused`);
* credentials revoked and the like: the run stops (:meth:`BatchSend._on_fatal`).

Past the attempt or time budget the members left end ``failed``; a stopped run ends them ``skipped`` (never
sent) or ``failed`` (sent before). A member is only resent once the status endpoint shows it did not queue.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

from .._rules import int_or_none
from ..client import BatchAnswer
from ..errors import ApiError, ConnectError, OutcomeUnknownError, RateLimitError, ServerError, SfmcError
from ..results import NOT_SENT, BatchRecord
from .context import RunContext
from .outcome import BatchOutcome, RowOutcome, batch_outcome
from .progress import ProgressKind
from .reconcile import UNDATED, UNDATED_MESSAGE, find_queued

__all__ = ["BatchSend"]

log = logging.getLogger("sfmc_nb.engine")

Member = dict[str, Any]


class BatchSend:
    """Sends one batch until every member has an outcome (runs in a worker thread)."""

    def __init__(self, ctx: RunContext, record: BatchRecord, positions: list[int], members: list[Member]):
        self.ctx = ctx
        self.record = record
        self.positions = positions
        self.members = members
        self.keys = [m["contactKey"] for m in members]
        self.out = BatchOutcome(record, [])
        self.remaining = list(range(len(members)))   # members (by index) without an outcome yet
        self.failures = 0                            # requests that failed without an answer
        self.first_sent: float | None = None
        self.deadline = 0.0
        self.sent_epoch = 0                          # the throttle's epoch when the last request went

    def run(self) -> BatchOutcome:
        """Send until every member has an outcome; never raises (rows are never lost)."""
        started = time.monotonic()
        self.deadline = started + self.ctx.options.max_seconds
        try:
            while self.remaining and self._attempt():
                pass
        except Exception as exc:  # an unexpected answer or a bug: keep the rows, stop the run
            log.exception("batch %s stopped by an unexpected error", self.record.number)
            done = {row.pos for row in self.out.rows}
            self.out.rows.extend(
                RowOutcome(p, "unknown", message=f"stopped by an unexpected error ({type(exc).__name__}); "
                           "not resent: call .retry() to check and finish") for p in self.positions if p not in done)
            self.out.fatal = exc
        self.record.seconds = time.monotonic() - started
        self.record.outcome = batch_outcome(self.out.rows)
        return self.out

    def _attempt(self) -> bool:
        """One request for the members left, and its outcome handled. False: the batch is settled."""
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
        self.ctx.note({"kind": "sent", "run": self.ctx.run_id, "batch": record.number, "attempt": record.attempts,
                       "positions": [self.positions[i] for i in self.remaining],
                       "keys": [self.keys[i] for i in self.remaining], "time": time.time()}, durable=True)
        self.first_sent = self.first_sent or time.time()
        record.sent_at = record.sent_at or self.first_sent
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
        """Answer lost or 5xx: the members may be queued. Look them up; resend only those surely not."""
        self.record.http_status = getattr(exc, "status", None)
        self.ctx.note({"kind": "unknown", **ident, "error": str(exc)})
        self.failures += 1
        if not self._reconcile(str(exc), likely_entered=isinstance(exc, OutcomeUnknownError)):
            return False
        if not self.remaining:
            return False
        return not self._budget_spent(f"not queued after {self.failures} failed attempts (last: {exc})")

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
        """An answer: members it accounts for are queued or not; the rest are reconciled, never resent."""
        self.ctx.throttle.success(self.sent_epoch)
        self.record.http_status = answer.status_code
        self.record.request_id = answer.request_id
        self.out.raw.append(answer.raw)
        unmatched = self._read_answer(answer, ident)
        self.remaining[:] = unmatched
        if unmatched:
            why = "the answer did not say what became of these"
            self._reconcile(why)
            for i in self.remaining:
                self.out.rows.append(RowOutcome(self.positions[i], "unknown", message="the answer did not say what "
                                                "became of it and the status endpoint does not list it",
                                                request_id=answer.request_id))
            self.remaining.clear()
        return True

    # -- helpers ----------------------------------------------------------------------------------

    def _finish(self, status: str, message: str, errorcode: int | None = None) -> None:
        """Every member left ends with this status."""
        self.out.rows.extend(RowOutcome(self.positions[i], status, errorcode=errorcode, message=message)
                             for i in self.remaining)
        self.remaining.clear()

    def _budget_spent(self, message: str) -> bool:
        """Past the attempt or time budget: the rest fail. Otherwise back off before the next try."""
        if self.failures >= self.ctx.options.max_attempts or time.monotonic() > self.deadline:
            self._finish("failed", message)
            return True
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
        rows, journal_rows, unmatched = [], [], []
        for i, m in self._pairs(answer):
            eid: str | None = (m or {}).get("eventInstanceId") or None
            code = (m or {}).get("errorcode", (m or {}).get("errorCode"))
            if m is None or (code is None and not eid):  # neither queued nor refused: its fate is unknown
                unmatched.append(i)
                continue
            if code is None and eid:
                row = RowOutcome(self.positions[i], "queued", eid, None, None, answer.request_id)
                self.ctx.claim(eid)
            else:
                msg = m.get("message") or "not queued"
                row = RowOutcome(self.positions[i], "not_queued", eid, int_or_none(code), msg, answer.request_id)
            rows.append(row)
            journal_rows.append([row.pos, row.status, row.event_instance_id, row.request_id])
        self.ctx.note({"kind": "answer", **ident, "http": answer.status_code, "requestId": answer.request_id,
                       "rows": journal_rows})
        self.out.rows.extend(rows)
        return unmatched

    def _reconcile(self, why: str, likely_entered: bool = True) -> bool:
        """Look up the members left; keep in ``remaining`` only those surely not queued.

        Returns False when the status endpoint could not answer: the members end ``unknown``.
        """
        ctx, out = self.ctx, self.out
        out.reconciliations += 1
        ctx.report(ProgressKind.RECONCILE, None, f"checking {len(self.remaining)} contacts after: {why}")
        time.sleep(ctx.options.reconcile_delay)
        found = find_queued(ctx.conn, ctx.event_key, [self.keys[i] for i in self.remaining], ctx.claimed,
                            ctx.claimed_lock, out, since=self.first_sent, likely_entered=likely_entered)
        if found is None:
            for i in self.remaining:
                out.rows.append(RowOutcome(self.positions[i], "unknown", message=f"{why}; the status endpoint could "
                                           "not be read, so it was not resent: call .retry() to check again"))
            self.remaining.clear()
            return False
        still, journal_rows, not_found = [], [], []
        for i, item in zip(self.remaining, found, strict=True):
            if item is None:
                still.append(i)
                not_found.append(self.positions[i])
            elif item is UNDATED:
                out.rows.append(RowOutcome(self.positions[i], "unknown", message=f"{why}; {UNDATED_MESSAGE}"))
            else:
                row = RowOutcome(self.positions[i], "queued", item.get("eventInstanceId"), None, None,
                                 item.get("requestId"))
                out.rows.append(row)
                journal_rows.append([row.pos, "queued", row.event_instance_id, row.request_id])
        ctx.note({"kind": "reconciled", "run": ctx.run_id, "rows": journal_rows, "not_found": not_found})
        self.remaining[:] = still
        return True
