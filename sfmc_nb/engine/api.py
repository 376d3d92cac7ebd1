"""``enter_journey``: the public call, a short composition of the engine's parts.

Every option checked, the key and data columns, the pre-flight checks (whose entry fields choose the columns
of ``data="auto"``), the prepared rows, the journal of an earlier attempt, then the run; the run's notes are
issued once each as warnings; the result keeps a :class:`~sfmc_nb.engine.retry.RunRetry` so ``retry()``
can finish what the run could not.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable
from itertools import islice
from typing import cast

import pandas as pd

from .._rules import MAX_BATCH_SIZE
from ..batching import prepare
from ..client import Connection, default_connection
from ..errors import ValidationError
from ..results import EntryResult
from .checks import check_landing_horizon, check_options
from .columns import AUTO, resolve_columns
from .context import ProgressCallback, RunOptions, progress_callback
from .journal import refuse_other_kind
from .processing import Processing
from .reentry import EntryGuard
from .run import Run, new_result, settle_columns, warn_notes
from .sources import CHUNK_ROWS
from .stream import enter_stream

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
    horizon = check_landing_horizon(landing_horizon)
    columns = resolve_columns(df, contact_key, data)   # every column check that needs no request
    options = RunOptions(concurrency=checked.concurrency, batch_size=checked.batch_size,
                         progress=progress_callback(progress), max_seconds=checked.max_seconds,
                         landing_horizon=horizon)
    conn = cast(Connection, connection or default_connection())   # default_connection() raises when there is none
    conn.ensure_pool(options.concurrency)
    guard = EntryGuard(conn, event_key, again=again, journal=checked.journal, dry_run=dry_run)
    columns, schema = settle_columns(conn, event_key, df, columns, data, validate)
    limits = schema.limits([str(c) for c in columns.data])
    prepared = prepare(df, columns.key, columns.data, na=na, duplicates=duplicates, float_keys=float_keys,
                       max_lengths=limits or None, warn=False)
    result = new_result(event_key, prepared, columns.notes + schema.notes, dry_run)
    if dry_run:
        result.preview = [b.members for b in islice(prepared.batches(checked.batch_size), 3)]
        warn_notes(result.warnings)
        return result
    guard.refuse(prepared)
    run = Run(conn, event_key, prepared, options, result, checked.journal)
    result.attach_retry(run.retry)
    result.attach_processing(Processing(conn))
    run.start()
    warn_notes(result.warnings)
    warned = len(result.warnings)
    run.send()
    warn_notes(result.warnings[warned:])
    return guard.record(result)


def _check_arguments(df: object, event_key: object) -> None:
    if not isinstance(event_key, str) or not event_key.strip():
        raise ValidationError("event_key is empty: pass the entry event's key (Journey Builder > Event Administration)")
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(f"expected a pandas DataFrame, got {type(df).__name__}")
