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
from .context import DEFAULT_LANDING_HORIZON, ProgressCallback, RunOptions, progress_callback
from .journal import Journal, JournalState, replay
from .preflight import preflight
from .retry import RunRetry
from .runner import Runner

__all__ = ["enter_journey"]


def enter_journey(df: pd.DataFrame, event_key: str, contact_key: str | None = None,
                  data: Iterable[Hashable] | str | None = None, *, connection: Connection | None = None,
                  concurrency: int | None = None, dry_run: bool = False, validate: bool = True,
                  journal: str | os.PathLike[str] | None = None,
                  progress: ProgressCallback | bool | None = None,
                  batch_size: int = MAX_BATCH_SIZE, na: str = "null", duplicates: str = "keep",
                  float_keys: str = "convert", max_seconds: float = 300.0,
                  landing_horizon: float | None = None) -> EntryResult:
    """Enter every row of ``df`` into the journey(s) of ``event_key``; return an :class:`EntryResult`.

    ``contact_key`` names the key column (default: ``SubscriberKey`` or ``ContactKey``); ``data`` the
    columns sent as entry data (``"all"``: every other column; default: none). ``journal`` names a JSON-lines
    file: running again with the same file resumes without re-entering queued contacts. ``progress`` is a
    callback receiving :class:`ProgressEvent` (``True``: a text line every few seconds on stderr).
    ``landing_horizon``: seconds after its send a request whose answer was lost may still land (default 150:
    Marketing Cloud's 120 s server-side timeout plus the status endpoint's lag); its contacts are only sent
    again once it is past and the status endpoint does not list them. ``max_seconds``: one batch's time budget
    (throttled waits, failures, waiting for a horizon).
    """
    _check_arguments(df, event_key)
    key, data_cols = resolve_columns(df, contact_key, data)
    options = RunOptions(concurrency=check_concurrency(DEFAULT_CONCURRENCY if concurrency is None else concurrency),
                         batch_size=batch_size, progress=progress_callback(progress), max_seconds=max_seconds,
                         landing_horizon=_horizon(landing_horizon))
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
    runner = retry.runner(result)
    todo, in_doubt = (prepared.sendable_positions, []) if state is None else _resume(runner, state)
    try:
        runner.run(todo, in_doubt=in_doubt, unsent_since=started_at)
    finally:
        result.seconds = time.monotonic() - started
    return result


def _horizon(value: float | None) -> float:
    if value is None:
        return DEFAULT_LANDING_HORIZON
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValidationError(f"landing_horizon must be a number of seconds >= 0, got {value!r}")
    return float(value)


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


def _resume(runner: Runner, state: JournalState) -> tuple[list[int], list[int]]:
    """The rows still to send, and those the journal leaves in doubt (looked up first, by the same rule as
    ``retry()``: resent only once their request can no longer land)."""
    runner.ctx.claimed |= state.known_ids
    status = runner.result.status
    todo = [p for p in runner.prepared.sendable_positions if status[p] not in ("queued", "unknown")]
    return todo, sorted(state.in_doubt)
