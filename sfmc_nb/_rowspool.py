"""One :class:`~sfmc_nb.results.EntryResult` from a stream's chunks, its rows kept in files instead of memory.

Each chunk's compact columns are appended to one file per column as soon as the chunk is done (text columns
re-coded into one set of distinct strings, batch numbers carried on from chunk to chunk, figures added up), so
a stream holds about one chunk of rows in memory however many rows it has. :meth:`RowSpool.finish` maps the files
as the result's columns: reading rows reads them from disk (the operating system caches them), and ``retry()``
and ``wait()`` write into them. The folder (under ``TMPDIR``, 0700, its files 0600: they hold the contact keys)
goes when the result is garbage-collected or the interpreter exits, and the folder of a process that died without
removing it (``kill -9``) goes when the next stream starts; a pickled copy of the result carries its rows with it.
"""

from __future__ import annotations

import os
import weakref
from collections import Counter
from typing import IO, Any, cast

import numpy as np
import pandas as pd

from ._private import PrivateTempFolder, private_opener
from ._rowstore import MISSING_INT, IdColumn, KeyColumn, TextColumn
from .results import MAX_RAW_ANSWERS, EntryResult

__all__ = ["RowSpool", "FOLDER_PREFIX"]

FOLDER_PREFIX = "sfmc_nb-rows-"

_ARRAYS = {   # column -> dtype of its file (the compact column's own)
    "status": np.int8, "processing": np.int8, "errorcode": np.int64, "batch": np.int64, "attempts": np.int64,
    "sent_at": np.float64, "message": np.int32, "request_id": np.int32, "processing_message": np.int32,
}
_TEXT = ("message", "request_id", "processing_message")
_KEYS = {"key_blob": np.uint8, "key_offsets": np.int64, "key_missing": np.bool_, "id_bytes": np.uint8,
         "id_kind": np.int8}


class RowSpool:
    """Rows of finished chunks, appended in input order; :meth:`finish` turns them into one result."""

    def __init__(self, event_key: str, directory: str | os.PathLike[str] | None = None):
        self.event_key = event_key
        self._private = PrivateTempFolder(FOLDER_PREFIX, directory)
        self.folder = self._private.path
        self._remove = weakref.finalize(self, self._private.remove)   # a stream that fails leaves none
        self._files: dict[str, IO[bytes]] = {name: open(self._path(name), "wb", opener=private_opener)
                                             for name in [*_ARRAYS, *_KEYS]}
        np.zeros(1, dtype=np.int64).tofile(self._files["key_offsets"])
        self._texts = {name: TextColumn([]) for name in _TEXT}
        self._other_ids: dict[int, Any] = {}
        self._indexes: list[pd.Index] = []
        self._key_bytes = 0
        self.rows = 0
        self.result = EntryResult(event_key, pd.RangeIndex(0), [])   # figures and batch records; rows at finish

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def append(self, part: EntryResult) -> int:
        """Write ``part``'s rows after those already written; returns the number its first batch gets in the joined
        result (its batch records are renumbered in place: the joined result shares them)."""
        offset = len(self.result.batch_records)
        for name, dtype in _ARRAYS.items():
            values = getattr(part, name).values
            if name == "batch":
                values = np.where(values == MISSING_INT, values, values + offset)
            elif name in _TEXT:
                values = self._recode(name, cast(TextColumn, getattr(part, name)))
            np.asarray(values, dtype=dtype).tofile(self._files[name])
        self._append_keys(part.contact_keys)
        ids = cast(IdColumn, part.event_instance_id)
        ids.values.tofile(self._files["id_bytes"])
        ids.kind.tofile(self._files["id_kind"])
        self._other_ids.update({self.rows + pos: text for pos, text in ids.other.items()})
        for record in part.batch_records:
            record.number += offset
        self.result.batch_records.extend(part.batch_records)
        self._add_figures(part)
        self._indexes.append(part.index)
        self.rows += len(part)
        return offset

    def _recode(self, name: str, column: TextColumn) -> np.ndarray:
        joined = self._texts[name]
        remap = np.array([joined.intern(t) for t in column.texts] + [-1], dtype=np.int32)
        return remap[column.values]   # code -1 reads the last slot: still None

    def _append_keys(self, keys: Any) -> None:
        column = keys if isinstance(keys, KeyColumn) else KeyColumn(keys)
        blob = np.frombuffer(column.blob, dtype=np.uint8) if isinstance(column.blob, bytes) else column.blob
        blob.tofile(self._files["key_blob"])
        (column.offsets[1:] + self._key_bytes).tofile(self._files["key_offsets"])
        column.missing.tofile(self._files["key_missing"])
        self._key_bytes += len(blob)

    def _add_figures(self, part: EntryResult) -> None:
        merged = self.result
        merged.requests += part.requests
        merged.retries += part.retries
        merged.throttled_waits += part.throttled_waits
        merged.throttled_seconds += part.throttled_seconds
        merged.reconciliations += part.reconciliations
        merged.seconds += part.seconds
        merged.interrupted |= part.interrupted
        merged.dry_run |= part.dry_run
        merged.raw.extend(part.raw[:MAX_RAW_ANSWERS - len(merged.raw)])
        merged.preview = merged.preview or part.preview
        merged.warnings.extend(w for w in part.warnings if w not in merged.warnings)
        merged.concurrency = max(merged.concurrency, part.concurrency)
        if part.lowest_concurrency:
            merged.lowest_concurrency = min(merged.lowest_concurrency or part.lowest_concurrency,
                                            part.lowest_concurrency)
        merged._counts.update(part._counts)
        merged._processing_counts.update(part._processing_counts)
        if merged.key_column is None:
            merged.key_column, merged.journal = part.key_column, part.journal

    def finish(self) -> EntryResult:
        """The joined result, its columns mapped from the files (the folder now lives as long as the result)."""
        for handle in self._files.values():
            handle.close()
        merged, n = self.result, self.rows
        merged.index = self._indexes[0].append(self._indexes[1:]) if self._indexes else pd.RangeIndex(0)
        self._indexes = []
        for name, dtype in _ARRAYS.items():
            column = self._texts[name] if name in _TEXT else getattr(merged, name)
            column.values = self._map(name, dtype, (n,), "r+")
            setattr(merged, name, column)
        keys = KeyColumn([])
        keys.blob = self._map("key_blob", np.uint8, (self._key_bytes,), "r")
        keys.offsets = self._map("key_offsets", np.int64, (n + 1,), "r")
        keys.missing = self._map("key_missing", np.bool_, (n,), "r")
        merged.contact_keys = keys
        ids = IdColumn([])
        ids.values = self._map("id_bytes", np.uint8, (n, 16), "r+")
        ids.kind = self._map("id_kind", np.int8, (n,), "r+")
        ids.other = self._other_ids
        merged.event_instance_id = ids
        merged._counts = Counter({s: c for s, c in merged._counts.items() if c})
        self._remove.detach()
        weakref.finalize(merged, self._private.remove)
        return merged

    def _map(self, name: str, dtype: Any, shape: tuple[int, ...], mode: str) -> np.ndarray:
        if not np.prod(shape):   # a file of no bytes cannot be mapped
            return np.zeros(shape, dtype=dtype)
        return np.memmap(self._path(name), dtype=dtype, mode=mode, shape=shape)   # type: ignore[call-overload]
