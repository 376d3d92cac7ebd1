"""One :class:`~sfmc_nb.results.EntryResult` from the results of a stream's chunks, one row per input row.

The chunks' compact columns are joined array by array (text columns re-coded into one set of distinct strings),
their batches numbered on from one chunk to the next, and their figures added up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import cast

import numpy as np
import pandas as pd

from ._rowstore import CodeColumn, IdColumn, IntColumn, KeyColumn, TextColumn
from .results import MAX_RAW_ANSWERS, EntryResult

__all__ = ["concat_results", "batch_offsets"]

_NUMERIC = ("status", "processing", "errorcode", "batch", "attempts", "sent_at")
_TEXT = ("message", "request_id", "processing_message")


def batch_offsets(parts: Sequence[EntryResult]) -> list[int]:
    """The number the first batch of each part gets in the joined result."""
    offsets, total = [], 0
    for part in parts:
        offsets.append(total)
        total += len(part.batch_records)
    return offsets


def concat_results(parts: Sequence[EntryResult], event_key: str,
                   release: Sequence[bool] | None = None) -> EntryResult:
    """The parts joined in order (their batch records are renumbered in place). A part marked in ``release`` gives
    up each column as soon as it is joined, so the joined result is never held twice over."""
    sizes = [len(p) for p in parts]
    drop = [part for part, gone in zip(parts, release or [False] * len(parts), strict=True) if gone]
    index = parts[0].index.append([p.index for p in parts[1:]]) if parts else pd.RangeIndex(0)
    merged = EntryResult(event_key, index, [], dry_run=any(p.dry_run for p in parts))
    merged.contact_keys = KeyColumn.join([_keys(p) for p in parts])   # bytes in a blob, not a string a row
    _release(drop, "contact_keys")
    empty = EntryResult(event_key, pd.RangeIndex(0), [])
    for name in _NUMERIC:
        column = getattr(empty, name)
        column.values = np.concatenate([column.values, *(getattr(p, name).values for p in parts)])
        setattr(merged, name, column)
        _release(drop, name)
    batch = cast(IntColumn, merged.batch).values
    start = 0
    for part, size, offset in zip(parts, sizes, batch_offsets(parts), strict=True):
        rows = slice(start, start + size)
        batch[rows] = np.where(batch[rows] == np.iinfo(np.int64).min, batch[rows], batch[rows] + offset)
        start += size
        for record in part.batch_records:
            record.number += offset
        merged.batch_records.extend(part.batch_records)
    for name in _TEXT:
        setattr(merged, name, _join_text([cast(TextColumn, getattr(p, name)) for p in parts]))
        _release(drop, name)
    merged.event_instance_id = _join_ids([cast(IdColumn, p.event_instance_id) for p in parts])
    _release(drop, "event_instance_id")
    merged._counts = sum((p._counts for p in parts), Counter())
    merged._processing_counts = Counter(cast(CodeColumn, merged.processing).tolist())
    _add_figures(merged, parts)
    return merged


def _keys(part: EntryResult) -> KeyColumn:
    keys = part.contact_keys
    return keys if isinstance(keys, KeyColumn) else KeyColumn(keys)


def _release(parts: list[EntryResult], name: str) -> None:
    for part in parts:
        setattr(part, name, [])


def _join_ids(columns: list[IdColumn]) -> IdColumn:
    joined = IdColumn([])
    joined.values = np.concatenate([joined.values, *(c.values for c in columns)])
    joined.kind = np.concatenate([joined.kind, *(c.kind for c in columns)])
    start = 0
    for column in columns:
        joined.other.update({start + pos: text for pos, text in column.other.items()})
        start += len(column)
    return joined


def _join_text(columns: list[TextColumn]) -> TextColumn:
    joined = TextColumn([])
    codes = []
    for column in columns:
        remap = np.array([joined.intern(t) for t in column.texts] + [-1], dtype=np.int32)
        codes.append(remap[column.values])   # code -1 reads the last slot: still None
    joined.values = np.concatenate([np.empty(0, dtype=np.int32), *codes])
    return joined


def _add_figures(merged: EntryResult, parts: Sequence[EntryResult]) -> None:
    for part in parts:
        merged.requests += part.requests
        merged.retries += part.retries
        merged.throttled_waits += part.throttled_waits
        merged.throttled_seconds += part.throttled_seconds
        merged.reconciliations += part.reconciliations
        merged.seconds += part.seconds
        merged.interrupted |= part.interrupted
        merged.raw.extend(part.raw[:MAX_RAW_ANSWERS - len(merged.raw)])
        merged.preview = merged.preview or part.preview
    merged.warnings = list(dict.fromkeys(w for p in parts for w in p.warnings))
    merged.concurrency = max((p.concurrency for p in parts), default=0)
    merged.lowest_concurrency = min((p.lowest_concurrency for p in parts if p.lowest_concurrency), default=0)
    if parts:
        merged.key_column, merged.journal = parts[0].key_column, parts[0].journal
