"""Writing a result's rows straight to a file, a chunk of rows at a time, never the whole frame at once."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pandas as pd

from .errors import ConfigurationError

__all__ = ["CHUNK_ROWS", "write_csv", "write_parquet"]

CHUNK_ROWS = 100_000

RowsFrame = Callable[[range], pd.DataFrame]


def write_csv(rows_frame: RowsFrame, total: int, path: str | os.PathLike[str], chunk_rows: int = CHUNK_ROWS) -> None:
    """The rows as CSV (the header once, then each chunk appended)."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        for start in range(0, max(total, 1), chunk_rows):
            chunk = rows_frame(range(start, min(start + chunk_rows, total)))
            chunk.to_csv(out, header=start == 0)


def write_parquet(rows_frame: RowsFrame, total: int, path: str | os.PathLike[str],
                  chunk_rows: int = CHUNK_ROWS) -> None:
    """The rows as one Parquet file written in row groups of ``chunk_rows`` (needs pyarrow)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ConfigurationError('to_parquet() needs pyarrow: pip install "sfmc_nb[parquet]" (or pyarrow), or '
                                 "use to_csv()") from exc
    writer: Any = None
    schema: Any = None
    try:
        for start in range(0, max(total, 1), chunk_rows):
            chunk = rows_frame(range(start, min(start + chunk_rows, total)))
            if schema is None:   # text columns all None in the first chunk must still be text
                inferred = pa.Schema.from_pandas(chunk, preserve_index=True)
                schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in inferred],
                                   metadata=inferred.metadata)
                writer = pq.ParquetWriter(os.fspath(path), schema)
            writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=True))
    finally:
        if writer is not None:
            writer.close()
