"""One run of prepared rows, the same for a DataFrame and for each chunk of a stream.

A :class:`Run` opens (or resumes) its journal, owns the :class:`~sfmc_nb.engine.retry.RunRetry` that later
``retry()`` calls use and the runner that sends, and times the sending into its result. The helpers beside it
are the steps both entry points share: the columns the pre-flight settles, a result with every row "not sent"
yet, a journal's earlier attempt read back, and the run's notes issued once each.
"""

from __future__ import annotations

import os
import time
from collections.abc import Hashable, Iterable
from typing import Any

from ..batching import QUIET, PreparedRows
from ..client import Connection
from ..errors import warn_caller
from ..results import DRY_RUN, NOT_SENT, EntryResult
from .columns import AUTO, Columns, resolve_columns
from .context import RunOptions
from .journal import Journal, JournalState, replay
from .preflight import EntrySchema, preflight
from .retry import RunRetry
from .runner import Runner

__all__ = ["Run", "settle_columns", "new_result", "open_journal", "resume", "warn_notes", "is_auto"]


class Run:
    """Prepared rows sent into ``result``: resumed from ``journal`` when it records an earlier attempt.

    Made in two steps so its retry exists before anything can fail on the way to sending: ``Run(...)``
    opens the journal and makes the retry; :meth:`start` makes the runner and finds the rows still to send;
    :meth:`send` sends them."""

    def __init__(self, conn: Connection, event_key: str, prepared: PreparedRows, options: RunOptions,
                 result: EntryResult, journal: str | os.PathLike[str] | None):
        self.started, self.started_at = time.monotonic(), time.time()
        self.result = result
        self.prepared = prepared
        self.state: JournalState | None = None
        jrnl: Journal | None = None
        if journal is not None:
            self.state, jrnl = open_journal(journal, event_key, prepared.contact_key, prepared, result)
        self.retry = RunRetry(conn, event_key, prepared, options, journal=jrnl, started_at=self.started_at)
        self.runner: Runner | None = None
        self.todo: list[int] = []
        self.in_doubt: list[int] = []

    def start(self) -> Runner:
        """The runner, and the rows it sends: all sendable rows, or those the journal leaves to do."""
        self.runner = runner = self.retry.runner(self.result)
        self.todo, self.in_doubt = (self.prepared.sendable_positions, []) if self.state is None \
            else resume(runner, self.state)
        return runner

    def send(self, leave_parked: bool = False) -> None:
        """Send the rows; ``result.seconds`` is the run's time from its journal's opening, whatever happens."""
        runner = self.runner if self.runner is not None else self.start()
        try:
            runner.run(self.todo, in_doubt=self.in_doubt, unsent_since=self.started_at, leave_parked=leave_parked)
        finally:
            self.result.seconds = time.monotonic() - self.started


def is_auto(data: object) -> bool:
    return isinstance(data, str) and data == AUTO


def settle_columns(conn: Connection, event_key: str, frame: Any, columns: Columns,
                   data: Iterable[Hashable] | str | None, validate: bool) -> tuple[Columns, EntrySchema]:
    """The pre-flight checks (none when ``validate`` is off) and the columns they settle: with ``data="auto"``,
    the frame's columns that are fields of the entry data extension."""
    schema = preflight(conn, event_key, read_fields=is_auto(data) or bool(columns.data)) if validate \
        else EntrySchema()
    if is_auto(data):
        columns = resolve_columns(frame, columns.key, data, fields=schema.field_names)
    return columns, schema


def warn_notes(messages: list[str]) -> None:
    """Each note of a run once, as a :class:`SfmcWarning` pointing at the caller's line (notes that only
    confirm what the caller asked for, such as ``duplicates='drop'``, stay in ``result.warnings`` alone)."""
    for message in dict.fromkeys(messages):
        if not message.startswith(QUIET):
            warn_caller(message)


def new_result(event_key: str, prepared: PreparedRows, notes: list[str], dry_run: bool) -> EntryResult:
    """A result with every row skipped: refused rows with their reason, the rest "not sent" until sent."""
    result = EntryResult(event_key, prepared.index, prepared.keys, dry_run=dry_run,
                         key_column=str(prepared.contact_key))
    result.warnings.extend(notes + prepared.warnings)
    for pos, reason in prepared.skipped.items():
        result.set_row(pos, "skipped", message=reason)
    for pos in prepared.sendable_positions:
        result.set_row(pos, "skipped", message=DRY_RUN if dry_run else NOT_SENT)
    return result


def open_journal(path: str | os.PathLike[str], event_key: str, contact_key: Hashable, prepared: PreparedRows,
                 result: EntryResult) -> tuple[JournalState, Journal]:
    """Read what an earlier attempt with this journal did into ``result``; start the journal if it is new."""
    records = Journal.read(path, notes=result.warnings)
    state = replay(records, event_key, prepared.keys)
    journal = Journal(path)
    result.journal = str(path)
    if not records:
        journal.write({"kind": "run", "event_key": event_key, "rows": len(prepared.keys),
                       "contact_key": str(contact_key), "time": time.time()}, durable=True)
    for pos, when in state.sent_at.items():
        result.sent_at[pos] = when
    for pos, (eid, rid) in state.queued.items():
        result.set_row(pos, "queued", event_instance_id=eid, request_id=rid, message="queued in an earlier run")
    for pos in state.in_doubt:
        result.set_row(pos, "unknown", message="sent by an earlier run whose answer was not recorded: checked "
                       "before anything is resent")
    if state.queued or state.in_doubt:
        result.warnings.append(f"resumed from {path}: {len(state.queued)} rows already queued, "
                               f"{len(state.in_doubt)} in doubt (checked before resending)")
    return state, journal


def resume(runner: Runner, state: JournalState) -> tuple[list[int], list[int]]:
    """The rows still to send, and those the journal leaves in doubt (looked up first, by the same rule as
    ``retry()``: resent only once their request can no longer land)."""
    runner.ctx.claimed |= state.known_ids
    status = runner.result.status
    todo = [p for p in runner.prepared.sendable_positions if status[p] not in ("queued", "unknown")]
    return todo, sorted(state.in_doubt)
