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
        _write_bytes(self._files["key_offsets"], np.zeros(1, dtype=np.int64))
        self._texts = {name: TextColumn([]) for name in _TEXT}
        self._other_ids: dict[int, Any] = {}
        self._indexes: list[pd.Index] = []
        self._key_bytes = 0
        self._disk_rows = 0   # rows in the files; those after them are held in memory (the files could not take them)
        self._held: list[dict[str, np.ndarray]] | None = None
        self._last: weakref.ref[EntryResult] | None = None
        self.rows = 0
        self.result = EntryResult(event_key, pd.RangeIndex(0), [])   # figures and batch records; rows at finish

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def append(self, part: EntryResult) -> int:
        """Write ``part``'s rows after those already written; returns the number its first batch gets in the joined
        result (its batch records are renumbered in place: the joined result shares them).

        All or nothing: when the files cannot take the rows (a full disk, Ctrl-C while writing) the part's rows are
        kept in memory instead (and every later part's: :meth:`finish` joins them after the files' rows) and the
        error is raised, so a part is never half written nor lost."""
        offset = len(self.result.batch_records)
        arrays = self._encode(part, offset)   # in memory: until they are written the files are as they were
        if self._held is None:
            try:
                self._write(arrays)
            except BaseException:   # the files stay as they were up to their rows; the rest is kept in memory
                self._held = []
                self._add(part, offset, arrays, held=True)
                raise
            self._disk_rows += len(part)
        self._add(part, offset, arrays, held=self._held is not None)
        return offset

    def holds(self, part: EntryResult) -> bool:
        """Whether ``part``'s rows are in the spool (appended, on disk or in memory)."""
        return self._last is not None and self._last() is part

    def _encode(self, part: EntryResult, offset: int) -> dict[str, np.ndarray]:
        """The bytes of ``part``'s rows for each file, as they follow the rows already written."""
        arrays: dict[str, np.ndarray] = {}
        for name, dtype in _ARRAYS.items():
            values = getattr(part, name).values
            if name == "batch":
                values = np.where(values == MISSING_INT, values, values + offset)
            elif name in _TEXT:
                values = self._recode(name, cast(TextColumn, getattr(part, name)))
            arrays[name] = np.ascontiguousarray(values, dtype=dtype)
        keys = part.contact_keys if isinstance(part.contact_keys, KeyColumn) else KeyColumn(part.contact_keys)
        blob = np.frombuffer(keys.blob, dtype=np.uint8) if isinstance(keys.blob, bytes) else keys.blob
        arrays["key_blob"] = np.ascontiguousarray(blob, dtype=np.uint8)
        arrays["key_offsets"] = np.ascontiguousarray(keys.offsets[1:] + self._key_bytes, dtype=np.int64)
        arrays["key_missing"] = np.ascontiguousarray(keys.missing, dtype=np.bool_)
        ids = cast(IdColumn, part.event_instance_id)
        arrays["id_bytes"] = np.ascontiguousarray(ids.values, dtype=np.uint8)
        arrays["id_kind"] = np.ascontiguousarray(ids.kind, dtype=np.int8)
        return arrays

    def _write(self, arrays: dict[str, np.ndarray]) -> None:
        """Each array at the end of its file, flushed: a write error (a full disk) is raised here, never lost in a
        buffer (``ndarray.tofile`` drops the error of a write smaller than its buffer)."""
        for name, values in arrays.items():
            _write_bytes(self._files[name], values)
        for handle in self._files.values():
            handle.flush()

    def _add(self, part: EntryResult, offset: int, arrays: dict[str, np.ndarray], held: bool) -> None:
        """Count ``part`` in (its rows' ``arrays`` kept in memory when ``held``)."""
        if held:
            cast(list, self._held).append(arrays)
        self._other_ids.update({self.rows + pos: text for pos, text in
                                cast(IdColumn, part.event_instance_id).other.items()})
        for record in part.batch_records:
            record.number += offset
        self.result.batch_records.extend(part.batch_records)
        self._add_figures(part)
        self._indexes.append(part.index)
        self._key_bytes += len(arrays["key_blob"])
        self._last = weakref.ref(part)
        self.rows += len(part)

    def _recode(self, name: str, column: TextColumn) -> np.ndarray:
        joined = self._texts[name]
        remap = np.array([joined.intern(t) for t in column.texts] + [-1], dtype=np.int32)
        return remap[column.values]   # code -1 reads the last slot: still None

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
        """The joined result, its columns mapped from the files (the folder now lives as long as the result).

        Rows the files could not take join them from memory. Calling it again (Ctrl-C came while it ran) gives
        the same result: nothing is changed until the last step."""
        for handle in self._files.values():
            try:
                handle.close()
            except OSError:   # what it could not flush was held in memory: the rows counted on disk are written
                pass
        merged = self.result
        index = self._indexes[0].append(self._indexes[1:]) if self._indexes else pd.RangeIndex(0)
        columns: dict[str, Any] = {}
        for name, dtype in _ARRAYS.items():
            column = self._texts[name] if name in _TEXT else getattr(merged, name)
            columns[name] = (column, self._joined(name, dtype, "r+"))
        keys = KeyColumn([])
        keys.blob = self._joined("key_blob", np.uint8, "r")
        keys.offsets = self._joined("key_offsets", np.int64, "r")
        keys.missing = self._joined("key_missing", np.bool_, "r")
        ids = IdColumn([])
        ids.values = self._joined("id_bytes", np.uint8, "r+")
        ids.kind = self._joined("id_kind", np.int8, "r+")
        ids.other = self._other_ids
        merged.index = index
        for name, (column, values) in columns.items():
            column.values = values
            setattr(merged, name, column)
        merged.contact_keys = keys
        merged.event_instance_id = ids
        merged._counts = Counter({s: c for s, c in merged._counts.items() if c})
        self._remove.detach()
        weakref.finalize(merged, self._private.remove)
        return merged

    def _joined(self, name: str, dtype: Any, mode: str) -> np.ndarray:
        """A column's rows: mapped from its file, followed by those held in memory (then all of it in memory)."""
        held = [arrays[name] for arrays in self._held or []]
        rows = self._disk_rows
        if name == "key_blob":
            rows = self._key_bytes - sum(len(part) for part in held)
        elif name == "key_offsets":
            rows += 1   # the file starts with offset 0
        if name == "key_offsets" and not self._disk_rows:
            on_disk = np.zeros(1, dtype=np.int64)   # the file's first offset may not have reached the disk
        else:
            on_disk = self._map(name, dtype, (rows, 16) if name == "id_bytes" else (rows,), mode)
        return np.concatenate([on_disk, *held]) if held else on_disk

    def _map(self, name: str, dtype: Any, shape: tuple[int, ...], mode: str) -> np.ndarray:
        if not np.prod(shape):   # a file of no bytes cannot be mapped
            return np.zeros(shape, dtype=dtype)
        return np.memmap(self._path(name), dtype=dtype, mode=mode, shape=shape)   # type: ignore[call-overload]


def _write_bytes(handle: IO[bytes], values: np.ndarray) -> None:
    """Append an array's bytes to a file (the one way the spool writes, so a full disk has one place to show)."""
    handle.write(np.ascontiguousarray(values).data.cast("B"))
