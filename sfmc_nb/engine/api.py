"""``enter_journey``: the public call, a short composition of the engine's parts.

Argument checks, the key and data columns, the pre-flight checks, the prepared rows, the journal of an
earlier attempt, then the run; the result keeps a :class:`~sfmc_nb.engine.retry.RunRetry` so ``retry()``
can finish what the run could not.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Hashable, Iterable
from itertools import islice
from typing import cast

import pandas as pd

from .._rules import DEFAULT_CONCURRENCY, MAX_BATCH_SIZE, check_concurrency
from ..batching import PreparedRows, prepare
from ..client import Connection, default_connection
from ..errors import ValidationError
from ..results import DRY_RUN, NOT_SENT, EntryResult
from .columns import resolve_columns
from .context import ProgressCallback, RunOptions, progress_callback
from .journal import Journal, JournalState, replay
from .preflight import preflight
from .processing import Processing
from .reconcile import first_sent
from .retry import RunRetry
from .runner import Runner

__all__ = ["enter_journey"]


def enter_journey(df: pd.DataFrame, event_key: str, contact_key: str | None = None,
                  data: Iterable[Hashable] | str | None = None, *, connection: Connection | None = None,
                  concurrency: int | None = None, dry_run: bool = False, validate: bool = True,
                  journal: str | os.PathLike[str] | None = None,
                  progress: ProgressCallback | bool | None = None,
                  batch_size: int = MAX_BATCH_SIZE, na: str = "null", duplicates: str = "keep",
                  float_keys: str = "convert", max_seconds: float = 300.0) -> EntryResult:
    """Enter every row of ``df`` into the journey(s) of ``event_key``; return an :class:`EntryResult`.

    ``contact_key`` names the key column (default: ``SubscriberKey`` or ``ContactKey``); ``data`` the
    columns sent as entry data (``"all"``: every other column; default: none). ``journal`` names a JSON-lines
    file: running again with the same file resumes without re-entering queued contacts. ``progress`` is a
    callback receiving :class:`ProgressEvent` (``True``: a text line every few seconds on stderr).
    """
    _check_arguments(df, event_key)
    key, data_cols = resolve_columns(df, contact_key, data)
    options = RunOptions(concurrency=check_concurrency(DEFAULT_CONCURRENCY if concurrency is None else concurrency),
                         batch_size=batch_size, progress=progress_callback(progress), max_seconds=max_seconds)
    conn = cast(Connection, connection or default_connection())   # default_connection() raises when there is none
    conn.ensure_pool(options.concurrency)
    limits, notes = preflight(conn, event_key, [str(c) for c in data_cols]) if validate else ({}, [])
    with warnings.catch_warnings():  # prepare's notes reach the user once, through result.warnings
        warnings.simplefilter("ignore", UserWarning)
        prepared = prepare(df, key, data_cols, na=na, duplicates=duplicates, float_keys=float_keys,
                           max_lengths=limits or None)
    result = _new_result(event_key, prepared, notes, dry_run)
    if dry_run:
        result.preview = [b.members for b in islice(prepared.batches(batch_size), 3)]
        return result

    started, started_at = time.monotonic(), time.time()
    state, jrnl = _open_journal(journal, event_key, key, prepared, result) if journal is not None else (None, None)
    retry = RunRetry(conn, event_key, prepared, options, journal=jrnl, started_at=started_at)
    result.attach_retry(retry)
    result.attach_processing(Processing(conn))
    runner = retry.runner(result)
    todo = prepared.sendable_positions if state is None else _resume(runner, state, started_at)
    try:
        runner.run(todo)
    finally:
        result.seconds = time.monotonic() - started
    return result


def _check_arguments(df: object, event_key: object) -> None:
    if not isinstance(event_key, str) or not event_key.strip():
        raise ValidationError("event_key is empty: pass the entry event's key (Journey Builder > Event Administration)")
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(f"expected a pandas DataFrame, got {type(df).__name__}")


def _new_result(event_key: str, prepared: PreparedRows, notes: list[str], dry_run: bool) -> EntryResult:
    """A result with every row skipped: refused rows with their reason, the rest "not sent" until sent."""
    result = EntryResult(event_key, prepared.index, prepared.keys, dry_run=dry_run)
    result.warnings.extend(notes + prepared.warnings)
    for pos, reason in prepared.skipped.items():
        result.set_row(pos, "skipped", message=reason)
    for pos in prepared.sendable_positions:
        result.set_row(pos, "skipped", message=DRY_RUN if dry_run else NOT_SENT)
    return result


def _open_journal(path: str | os.PathLike[str], event_key: str, contact_key: Hashable, prepared: PreparedRows,
                  result: EntryResult) -> tuple[JournalState, Journal]:
    """Read what an earlier attempt with this journal did into ``result``; start the journal if it is new."""
    records = Journal.read(path)
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
    if state.queued or state.in_doubt:
        result.warnings.append(f"resumed from {path}: {len(state.queued)} rows already queued, "
                               f"{len(state.in_doubt)} in doubt (checked before resending)")
    return state, journal


def _resume(runner: Runner, state: JournalState, started_at: float) -> list[int]:
    """Check the rows the journal left in doubt; return the rows still to send."""
    runner.ctx.claimed |= state.known_ids
    in_doubt = sorted(state.in_doubt)
    if in_doubt:
        runner.settle_in_doubt(in_doubt, first_sent(runner.result, in_doubt, started_at))
    status = runner.result.status
    return [p for p in runner.prepared.sendable_positions if status[p] not in ("queued", "unknown")]
