"""``enter_journey``: the public call, a short composition of the engine's parts.

Every option checked, the key and data columns, the pre-flight checks (whose entry fields choose the columns
of ``data="auto"``), the prepared rows, the journal of an earlier attempt, then the run; the run's notes are
issued once each as warnings; the result keeps a :class:`~sfmc_nb.engine.retry.RunRetry` so ``retry()``
can finish what the run could not.
"""

from __future__ import annotations

import os
import time
from collections.abc import Hashable, Iterable
from itertools import islice
from typing import cast

import pandas as pd

from .._rules import MAX_BATCH_SIZE
from ..batching import QUIET, PreparedRows, prepare
from ..client import Connection, default_connection
from ..errors import ValidationError, warn_caller
from ..results import DRY_RUN, NOT_SENT, EntryResult
from .checks import check_options
from .columns import AUTO, Columns, resolve_columns
from .context import DEFAULT_LANDING_HORIZON, ProgressCallback, RunOptions, progress_callback
from .journal import Journal, JournalState, refuse_other_kind, replay
from .preflight import EntrySchema, preflight
from .processing import Processing
from .reentry import EntryGuard
from .retry import RunRetry
from .runner import Runner
from .sources import CHUNK_ROWS

__all__ = ["enter_journey"]


def enter_journey(df: pd.DataFrame | Iterable[pd.DataFrame] | str | os.PathLike[str], event_key: str,
                  contact_key: str | None = None,
                  data: Iterable[Hashable] | str | None = AUTO, *, connection: Connection | None = None,
                  concurrency: int | None = None, dry_run: bool = False, validate: bool = True,
                  journal: str | os.PathLike[str] | None = None,
                  progress: ProgressCallback | bool | None = None,
                  batch_size: int = MAX_BATCH_SIZE, na: str = "null", duplicates: str = "keep",
                  float_keys: str = "convert", max_seconds: float = 300.0,
                  landing_horizon: float | None = None, chunk_rows: int | None = None,
                  again: bool = False) -> EntryResult:
    """Enter every row of ``df`` into the journey(s) of ``event_key``; return an :class:`EntryResult`.

    ``df`` is a DataFrame, or a source read and sent a chunk at a time: an iterable of DataFrames
    (``pd.read_csv(..., chunksize=)``, a warehouse cursor's batches), a polars DataFrame or LazyFrame, or the
    path of a ``.csv`` (every column read as text) or ``.parquet`` file (see :mod:`sfmc_nb.engine.stream`).
    ``chunk_rows``: rows read at a time from a file or a polars frame (default 100,000; an iterable's frames are
    taken as they come); resuming a stream from its journal needs the same chunks.

    ``contact_key`` names the key column (default: ``SubscriberKey`` or ``ContactKey``); ``data`` the
    columns sent as entry data: ``"auto"`` (default) the columns that are fields of the entry data
    extension, ``"all"`` every other column, or a list. ``journal`` names a JSON-lines file: running again
    with the same file resumes without re-entering queued contacts. ``progress`` is a callback receiving
    :class:`ProgressEvent` (``True``: a text line every few seconds on stderr). ``landing_horizon``: seconds
    after its send a request whose answer was lost may still land (default 150: Marketing Cloud's 120 s
    server-side timeout plus the status endpoint's lag); its contacts are only sent again once it is past and
    the status endpoint does not list them. ``max_seconds``: one batch's time budget (throttled waits,
    failures, waiting for a horizon). Every option is checked before anything is sent; notes about the run
    are issued once each as :class:`~sfmc_nb.errors.SfmcWarning` and kept in ``result.warnings``.

    A run whose contacts an earlier run of this process entered for the same event key (a cell run again) is
    refused before anything is sent with :class:`~sfmc_nb.errors.AlreadyEnteredError`; ``again=True`` enters them
    again on purpose, and a run resumed with its ``journal`` is not refused (see :mod:`sfmc_nb.engine.reentry`).
    """
    if not isinstance(df, pd.DataFrame):   # frames, a file, a polars frame: read and sent chunk by chunk
        from .stream import enter_stream
        return enter_stream(df, event_key, contact_key, data, connection=connection, concurrency=concurrency,
                            dry_run=dry_run, validate=validate, journal=journal, progress=progress,
                            batch_size=batch_size, na=na, duplicates=duplicates, float_keys=float_keys,
                            max_seconds=max_seconds, landing_horizon=landing_horizon,
                            chunk_rows=CHUNK_ROWS if chunk_rows is None else chunk_rows, again=again)
    if chunk_rows is not None:
        raise ValidationError("chunk_rows= is for a file, a polars frame or an iterable of DataFrames; a DataFrame "
                              "is entered as it is (pass an iterable of its slices to enter it in chunks)")
    _check_arguments(df, event_key)
    checked = check_options(connection=connection, concurrency=concurrency, dry_run=dry_run, validate=validate,
                            journal=journal, progress=progress, batch_size=batch_size, na=na,
                            duplicates=duplicates, float_keys=float_keys, max_seconds=max_seconds)
    if checked.journal is not None and not dry_run:
        refuse_other_kind(checked.journal, "dataframe")
    horizon = _horizon(landing_horizon)
    columns = resolve_columns(df, contact_key, data)   # every column check that needs no request
    options = RunOptions(concurrency=checked.concurrency, batch_size=checked.batch_size,
                         progress=progress_callback(progress), max_seconds=checked.max_seconds,
                         landing_horizon=horizon)
    conn = cast(Connection, connection or default_connection())   # default_connection() raises when there is none
    conn.ensure_pool(options.concurrency)
    guard = EntryGuard(conn, event_key, again=again, journal=checked.journal, dry_run=dry_run)
    columns, schema = _checked_columns(conn, event_key, df, columns, data, validate)
    limits = schema.limits([str(c) for c in columns.data])
    prepared = prepare(df, columns.key, columns.data, na=na, duplicates=duplicates, float_keys=float_keys,
                       max_lengths=limits or None, warn=False)
    result = _new_result(event_key, prepared, columns.notes + schema.notes, dry_run)
    if dry_run:
        result.preview = [b.members for b in islice(prepared.batches(checked.batch_size), 3)]
        _warn(result.warnings)
        return result
    guard.refuse(prepared)
    return guard.record(_send(conn, event_key, prepared, options, result, checked.journal))


def _checked_columns(conn: Connection, event_key: str, df: pd.DataFrame, columns: Columns,
                     data: Iterable[Hashable] | str | None, validate: bool) -> tuple[Columns, EntrySchema]:
    """The pre-flight checks (none when ``validate`` is off) and the columns they settle: with ``data="auto"``,
    the frame's columns that are fields of the entry data extension."""
    schema = preflight(conn, event_key, read_fields=_is_auto(data) or bool(columns.data)) if validate \
        else EntrySchema()
    if _is_auto(data):
        columns = resolve_columns(df, columns.key, data, fields=schema.field_names)
    return columns, schema


def _send(conn: Connection, event_key: str, prepared: PreparedRows, options: RunOptions, result: EntryResult,
          journal: str | os.PathLike[str] | None) -> EntryResult:
    """Send the prepared rows (resuming from ``journal`` when it records an earlier attempt) into ``result``,
    which keeps what ``retry()`` and ``wait()`` need; each note of the run is issued once as a warning."""
    started, started_at = time.monotonic(), time.time()
    state, jrnl = _open_journal(journal, event_key, prepared.contact_key, prepared, result) if journal is not None \
        else (None, None)
    retry = RunRetry(conn, event_key, prepared, options, journal=jrnl, started_at=started_at)
    result.attach_retry(retry)
    result.attach_processing(Processing(conn))
    runner = retry.runner(result)
    todo, in_doubt = (prepared.sendable_positions, []) if state is None else _resume(runner, state)
    _warn(result.warnings)
    warned = len(result.warnings)
    try:
        runner.run(todo, in_doubt=in_doubt, unsent_since=started_at)
    finally:
        result.seconds = time.monotonic() - started
    _warn(result.warnings[warned:])
    return result


def _is_auto(data: object) -> bool:
    return isinstance(data, str) and data == AUTO


def _warn(messages: list[str]) -> None:
    """Each note of a run once, as a :class:`SfmcWarning` pointing at the caller's line (notes that only
    confirm what the caller asked for, such as ``duplicates='drop'``, stay in ``result.warnings`` alone)."""
    for message in dict.fromkeys(messages):
        if not message.startswith(QUIET):
            warn_caller(message)


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
    result = EntryResult(event_key, prepared.index, prepared.keys, dry_run=dry_run,
                         key_column=str(prepared.contact_key))
    result.warnings.extend(notes + prepared.warnings)
    result.set_rows(list(prepared.skipped), "skipped", messages=list(prepared.skipped.values()))
    result.set_rows(prepared.sendable_positions, "skipped", messages=DRY_RUN if dry_run else NOT_SENT)
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
