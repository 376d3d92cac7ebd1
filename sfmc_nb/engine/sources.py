"""Any input turned into DataFrame chunks: a DataFrame, an iterable of DataFrames (or of pyarrow record batches),
a ``.csv`` or ``.parquet`` file, a polars frame.

A file is read a chunk at a time, so the whole input never sits in memory: CSV with every column as text (leading
zeros and long numbers kept as written), Parquet through pyarrow's record batches (``sfmc_nb[parquet]``). A polars
DataFrame is sliced, a LazyFrame streamed by polars, into chunks of pandas rows (``sfmc_nb[polars]``). Arrow
columns of whole numbers or booleans become pandas' nullable dtypes, so a column has the same dtype in every chunk
whether that chunk holds a null or not. Empty chunks are passed over; an input with no rows at all is refused.
Each chunk carries a fingerprint, so a journal can tell the same input from a changed one.
"""

from __future__ import annotations

import functools
import hashlib
import lzma
import os
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._rules import one_line
from ..errors import ConfigurationError, ValidationError

__all__ = ["CHUNK_ROWS", "is_stream", "is_polars", "iter_chunks", "fingerprint", "describe"]

CHUNK_ROWS = 100_000
"""Rows read from a file at a time: the memory a run holds is about one chunk's worth."""


def is_stream(source: object) -> bool:
    """True for anything but a single pandas DataFrame (which the one-frame path enters as it always did)."""
    return not isinstance(source, pd.DataFrame)


def describe(source: object) -> str:
    """A short name for the source in messages."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return f"the polars {type(source).__name__}" if is_polars(source) else f"the {type(source).__name__}"


def iter_chunks(source: object, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The source's rows as DataFrames of at most ``chunk_rows`` rows (an iterable's own frames are passed as
    they come); the chunks of a file or a polars frame number their rows on from where the last chunk ended."""
    rows = 0
    for chunk in _chunks(source, chunk_rows):
        if len(chunk):
            rows += len(chunk)
            yield chunk
    if not rows:
        raise ValidationError(f"the input has no rows: {describe(source)} holds none")


def _chunks(source: object, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if isinstance(source, pd.DataFrame):
        yield source
    elif isinstance(source, (str, os.PathLike)):
        yield from _file_chunks(Path(source), chunk_rows)
    elif is_polars(source):
        yield from _polars_chunks(source, chunk_rows)
    elif isinstance(source, Iterable) and not isinstance(source, (bytes, dict)):
        start = 0
        for n, chunk in enumerate(source):
            if _is_arrow(chunk):   # record batches of a warehouse or pyarrow.dataset: typed as a Parquet file's
                chunk = _arrow_frame(chunk, start)
                start += len(chunk)
            elif not isinstance(chunk, pd.DataFrame):
                raise ValidationError(f"chunk {n} of the input is a {type(chunk).__name__}, not a pandas DataFrame "
                                      "or a pyarrow RecordBatch or Table")
            yield chunk
    else:
        raise ValidationError(f"expected a pandas DataFrame, an iterable of DataFrames, a polars DataFrame or "
                              f"LazyFrame, or a path to a .csv or .parquet file, got {type(source).__name__}")


def _file_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if not path.is_file():
        raise ValidationError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt") or path.name.lower().endswith(tuple(_COMPRESSED_CSV)):
        yield from _readable(_csv_chunks(path, chunk_rows), path, "CSV")
    elif suffix in (".parquet", ".pq"):
        _require_pyarrow("reading a .parquet file", "parquet")
        yield from _readable(_parquet_chunks(path, chunk_rows), path, "Parquet")
    else:
        raise ValidationError(f"{path.name}: read .csv or .parquet files (or pass DataFrames)")


_COMPRESSED_CSV = {".csv.gz": "gzip", ".csv.zip": "zip", ".csv.bz2": "bzip2"}


def _csv_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    with pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], chunksize=chunk_rows) as reader:
        yield from reader


def _readable(chunks: Iterator[pd.DataFrame], path: Path, kind: str) -> Iterator[pd.DataFrame]:
    """The file's chunks; a failure to read any of them, the first or a later one, is refused naming the file,
    where, and what to do (the rows before it are whole chunks already passed on)."""
    rows = 0
    try:
        for chunk in chunks:
            yield chunk
            rows += len(chunk)
    except Exception as exc:
        refusal = _unreadable(exc, path, kind, rows)
        if refusal is None:
            raise
        raise refusal from None


def _unreadable(exc: Exception, path: Path, kind: str, rows: int) -> ValidationError | None:
    """The clear error for a file that cannot be read (None: ``exc`` is not about reading the file)."""
    where = f" in the rows after row {rows:,}" if rows else ""
    name, problem = path.name, one_line(exc).rstrip(".")
    if isinstance(exc, pd.errors.EmptyDataError) and not rows:
        return ValidationError(f"the input has no rows: {path} is empty (not even a header)")
    if isinstance(exc, UnicodeDecodeError):
        utf16 = not (rows or exc.start) and exc.object[:2] in (b"\xff\xfe", b"\xfe\xff")   # its byte order mark
        what = "UTF-16 text, not UTF-8" if utf16 else f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}{where})"
        return ValidationError(
            f"{name} is {what}: save it as UTF-8 (Excel: 'CSV UTF-8'), or read it in its encoding and pass the "
            f"chunks, e.g. pd.read_csv(path, dtype=str, encoding='{'utf-16' if utf16 else 'cp1252'}', "
            "chunksize=100_000)")
    compression = next((c for end, c in _COMPRESSED_CSV.items() if name.lower().endswith(end)), None)
    if compression and isinstance(exc, (OSError, EOFError, zlib.error, zipfile.BadZipFile, lzma.LZMAError)):
        return ValidationError(f"{name} cannot be decompressed{where} ({type(exc).__name__}: {problem}): it is "
                               f"damaged, cut short or not {compression} data; compress it again, or pass the .csv")
    if kind == "CSV" and isinstance(exc, ValueError):   # ParserError: an unclosed quote, a ragged line
        return ValidationError(f"{name} cannot be read as CSV{where}: {problem}; fix the file there (every quote "
                               "closed, as many fields as the header), or read it yourself and pass DataFrames")
    if kind == "CSV" and isinstance(exc, OSError):      # no permission, a disk or network share failing
        return ValidationError(f"{name} cannot be read{where}: {problem}")
    if kind == "Parquet" and (isinstance(exc, (ValueError, OSError, EOFError))
                              or type(exc).__module__.startswith("pyarrow")):   # ArrowInvalid, a damaged page
        return ValidationError(f"{name} is not a readable Parquet file{where}: {problem}; write it again, or read "
                               "it yourself and pass DataFrames")
    return None


def _is_arrow(chunk: object) -> bool:
    """A pyarrow RecordBatch or Table (recognised without importing pyarrow)."""
    kind = type(chunk)
    return kind.__module__.startswith("pyarrow") and kind.__name__ in ("RecordBatch", "Table")


def _require_pyarrow(purpose: str, extra: str) -> None:
    """A ConfigurationError saying how to install pyarrow, when it is not."""
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(f'{purpose} needs pyarrow: pip install "sfmc_nb[{extra}]" (or pyarrow), or read '
                                 "the input yourself and pass pandas DataFrames") from exc


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        start = 0
        for batch in file.iter_batches(batch_size=chunk_rows):   # batches span row groups: chunk_rows each
            yield _arrow_frame(batch, start)
            start += batch.num_rows


def _arrow_frame(table: Any, start: int) -> pd.DataFrame:
    """An Arrow table or record batch as pandas rows numbered from ``start`` (a file's own index is not kept).

    Whole numbers and booleans become nullable ``Int64``/``boolean`` columns: left to Arrow, a chunk with a null
    makes them float64/object and a chunk without keeps int64/bool, so an integer key would turn into a float key
    (``float_keys``) and 3 be sent as 3.0 in some chunks only."""
    frame = table.to_pandas(types_mapper=_nullable_types().get)
    frame.index = pd.RangeIndex(start, start + len(frame))
    return frame


@functools.cache
def _nullable_types() -> dict[Any, Any]:
    """Arrow integer and boolean types -> pandas nullable dtypes (built on first use: pyarrow is optional)."""
    import pyarrow as pa

    ints = {f"{sign}int{bits}": f"{sign.upper()}Int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)}
    types = {pa.type_for_alias(name): pd.api.types.pandas_dtype(dtype) for name, dtype in ints.items()}
    return {**types, pa.bool_(): pd.BooleanDtype()}


def is_polars(source: object) -> bool:
    """True for a polars object (recognised by its module, without importing polars)."""
    return type(source).__module__.split(".")[0] == "polars"


def _polars_chunks(source: Any, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """A polars DataFrame sliced, or a LazyFrame streamed by polars, into chunks of exactly ``chunk_rows`` rows
    (whatever sizes polars streams in, so a resumed run cuts the same chunks)."""
    kind = type(source).__name__
    if kind not in ("DataFrame", "LazyFrame"):
        raise ValidationError(f"expected a polars DataFrame or LazyFrame, got a polars {kind}")
    _require_pyarrow("entering a polars frame", "polars")
    start, pending = 0, None
    for frame in _polars_frames(source):
        pending = frame if pending is None else pending.vstack(frame)
        while pending.height >= chunk_rows:
            yield _arrow_frame(pending.slice(0, chunk_rows).to_arrow(), start)
            start, pending = start + chunk_rows, pending.slice(chunk_rows)
    if pending is not None and pending.height:
        yield _arrow_frame(pending.to_arrow(), start)


def _polars_frames(source: Any) -> Iterator[Any]:
    """A DataFrame as is; a LazyFrame streamed in row order (a resumed run must cut the same chunks) where polars
    can, else collected."""
    if not hasattr(source, "collect"):
        yield source
        return
    batches = getattr(source, "collect_batches", None)
    yield from batches(maintain_order=True) if batches is not None else [source.collect()]


def fingerprint(chunk: pd.DataFrame) -> str:
    """A digest of a chunk's column names and values (not its index): equal for the same rows read again."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr([str(c) for c in chunk.columns]).encode())
    try:
        hashed = pd.util.hash_pandas_object(chunk, index=False)
    except TypeError:   # nested values (Parquet or polars lists and structs) cannot be hashed: their full text is
        with np.printoptions(threshold=sys.maxsize):
            texts = {n: [repr(v) for v in chunk.iloc[:, n].tolist()] for n in range(chunk.shape[1])}
        hashed = pd.util.hash_pandas_object(pd.DataFrame(texts), index=False)
    digest.update(np.ascontiguousarray(hashed.to_numpy()).tobytes())
    return digest.hexdigest()
