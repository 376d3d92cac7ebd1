"""The body of a ``%%journey_enter`` cell as a DataFrame: CSV, JSON lines or a JSON list.

CSV columns are all read as text, so contact keys such as ``00123`` keep their leading zeros.
"""

from __future__ import annotations

import io
import json

import pandas as pd
from IPython.core.error import UsageError

from .._rules import one_line
from ._errors import MAX_ERROR_CHARS, listed

__all__ = ["read_body"]


def read_body(body: str, prog: str) -> pd.DataFrame:
    """CSV (every column as text), JSON lines (first non-blank line starts with ``{``) or a JSON list."""
    first = next(line.strip() for line in body.splitlines() if line.strip())
    if first.startswith("{"):
        return _json_lines(body, prog)
    if first.startswith("["):
        return _json_list(body, prog)
    return _csv(body, prog)


def _json_lines(body: str, prog: str) -> pd.DataFrame:
    rows = []
    for n, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{prog}: line {n} of the cell is not valid JSON ({exc.msg}); JSON lines need "
                             "one object per line") from None
        if not isinstance(row, dict):
            raise UsageError(f"{prog}: line {n} of the cell is not a JSON object")
        rows.append(row)
    return pd.DataFrame.from_records(rows)


def _json_list(body: str, prog: str) -> pd.DataFrame:
    try:
        rows = json.loads(body)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{prog}: the cell is not valid JSON ({exc.msg})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UsageError(f"{prog}: a JSON cell body must be a list of objects (or one object per line)")
    return pd.DataFrame.from_records(rows)


def _csv(body: str, prog: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False, na_values=[""],
                            skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise UsageError(f"{prog}: the cell is not valid CSV ({one_line(str(exc), MAX_ERROR_CHARS)})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(set(frame.columns)) != len(frame.columns):
        raise UsageError(f"{prog}: the CSV header repeats a column name: {listed(frame.columns)}")
    return frame
