"""Any input turned into DataFrame chunks: a DataFrame, an iterable of DataFrames, a ``.csv`` or ``.parquet`` file.

A file is read a chunk at a time, so the whole input never sits in memory: CSV with every column as text (leading
zeros and long numbers kept as written), Parquet through pyarrow's record batches (when pyarrow is installed).
A polars DataFrame or LazyFrame is sliced into pandas chunks (when polars is installed). Each chunk carries a
fingerprint, so a journal can tell the same input from a changed one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigurationError, ValidationError

__all__ = ["CHUNK_ROWS", "is_stream", "iter_chunks", "fingerprint", "describe"]

CHUNK_ROWS = 100_000
"""Rows read from a file at a time: the memory a run holds is about one chunk's worth."""


def is_stream(source: object) -> bool:
    """True for anything but a single pandas DataFrame (which the one-frame path enters as it always did)."""
    return not isinstance(source, pd.DataFrame)


def describe(source: object) -> str:
    """A short name for the source in messages."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return type(source).__name__


def iter_chunks(source: object, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The source as DataFrames of at most ``chunk_rows`` rows (an iterable's own frames are passed as they
    come); the chunks of one file number their rows on from where the last chunk ended."""
    if isinstance(source, pd.DataFrame):
        yield source
    elif isinstance(source, (str, os.PathLike)):
        yield from _file_chunks(Path(source), chunk_rows)
    elif _is_polars(source):
        yield from _polars_chunks(source, chunk_rows)
    elif isinstance(source, Iterable) and not isinstance(source, (bytes, dict)):
        for n, chunk in enumerate(source):
            if not isinstance(chunk, pd.DataFrame):
                raise ValidationError(f"chunk {n} of the input is a {type(chunk).__name__}, not a pandas DataFrame")
            yield chunk
    else:
        raise ValidationError(f"expected a pandas DataFrame, an iterable of DataFrames or a path to a .csv or "
                              f".parquet file, got {type(source).__name__}")


def _file_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if not path.is_file():
        raise ValidationError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt") or path.name.lower().endswith((".csv.gz", ".csv.zip", ".csv.bz2")):
        with pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], chunksize=chunk_rows) as reader:
            yield from reader
    elif suffix in (".parquet", ".pq"):
        yield from _parquet_chunks(path, chunk_rows)
    else:
        raise ValidationError(f"{path.name}: read .csv or .parquet files (or pass DataFrames)")


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise ConfigurationError("reading a .parquet file needs pyarrow: pip install pyarrow (or read it "
                                 "yourself and pass DataFrames)") from exc
    start = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
        chunk = batch.to_pandas()
        chunk.index = pd.RangeIndex(start, start + len(chunk))
        start += len(chunk)
        yield chunk


def _is_polars(source: object) -> bool:
    return type(source).__module__.split(".")[0] == "polars"


def _polars_chunks(source: Any, chunk_rows: int) -> Iterator[pd.DataFrame]:
    frame = source.collect() if hasattr(source, "collect") else source   # a LazyFrame is collected by polars
    for start in range(0, frame.height, chunk_rows):
        chunk = frame.slice(start, chunk_rows).to_pandas()
        chunk.index = pd.RangeIndex(start, start + len(chunk))
        yield chunk


def fingerprint(chunk: pd.DataFrame) -> str:
    """A digest of a chunk's column names and values (not its index): equal for the same rows read again."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr([str(c) for c in chunk.columns]).encode())
    digest.update(np.ascontiguousarray(pd.util.hash_pandas_object(chunk, index=False).to_numpy()).tobytes())
    return digest.hexdigest()
