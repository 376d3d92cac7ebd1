"""Checks of the call itself (options, batch size, text limits, column names): a bad call raises at once."""

from __future__ import annotations

import difflib
import operator
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._rules import MAX_BATCH_SIZE
from ..errors import ValidationError

__all__ = ["NA_OPTIONS", "DUPLICATES_OPTIONS", "FLOAT_KEYS_OPTIONS", "check_option", "check_size",
           "check_max_lengths", "resolve_columns", "column_values"]

NA_OPTIONS = ("null", "omit")
DUPLICATES_OPTIONS = ("keep", "drop")
FLOAT_KEYS_OPTIONS = ("convert", "refuse")


def check_option(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValidationError(f"{name} must be one of {choices}; got {value!r}")


def check_size(size: Any) -> int:
    """``size`` as members per batch, from 1 to the API's limit."""
    if isinstance(size, bool):
        raise ValidationError(f"size must be an integer from 1 to {MAX_BATCH_SIZE}; got {size!r}")
    try:
        size = operator.index(size)
    except TypeError:
        raise ValidationError(f"size must be an integer from 1 to {MAX_BATCH_SIZE}; got {size!r}") from None
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise ValidationError(f"size must be from 1 to {MAX_BATCH_SIZE} (the API's limit per request); got {size}")
    return int(size)


def check_max_lengths(max_lengths: Mapping[Any, int] | None) -> dict[str, int]:
    """Text limits keyed by field name (the column name as text)."""
    if max_lengths is None:
        return {}
    if not isinstance(max_lengths, Mapping):
        raise ValidationError(f"max_lengths must map column names to lengths; got {type(max_lengths).__name__}")
    limits = {}
    for col, limit in max_lengths.items():
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
            raise ValidationError(f"max_lengths[{col!r}] must be a non-negative integer; got {limit!r}")
        limits[col if isinstance(col, str) else str(col)] = int(limit)
    return limits


def resolve_columns(df: pd.DataFrame, contact_key: Hashable, data: Any) -> list[Hashable]:
    """The data columns ``data`` names (``None``, ``"all"``, one name or several), each present once."""
    cols: list[Hashable]
    try:
        if isinstance(data, str) and data == "all":
            cols = [c for c in df.columns if c != contact_key]
        elif data is None:
            cols = []
        elif isinstance(data, str) or not isinstance(data, Iterable):
            cols = [data]
        else:
            cols = list(dict.fromkeys(data))
        wanted = list(dict.fromkeys([contact_key, *cols]))
    except TypeError:
        raise ValidationError(f"column names must be hashable labels; got contact_key={contact_key!r}, "
                              f"data={data!r}") from None
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise ValidationError(_missing_message(df, contact_key, missing))
    for c in wanted:
        if isinstance(df.columns.get_loc(c), (slice, np.ndarray)):
            raise ValidationError(f"column {c!r} appears more than once in the DataFrame; rename the copies")
    return cols


def _missing_message(df: pd.DataFrame, contact_key: Hashable, missing: list[Any]) -> str:
    by_lower = {str(c).lower(): str(c) for c in df.columns}
    what = []
    for i, c in enumerate(missing):
        role = "contact key column" if i == 0 and contact_key not in df.columns else "column"
        hint = [by_lower[m] for m in difflib.get_close_matches(str(c).lower(), list(by_lower), n=1)]
        what.append(f"{role} {c!r} not found" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    shown = ", ".join(repr(c) for c in df.columns[:50])
    if len(df.columns) > 50:
        shown += f", ... ({len(df.columns) - 50} more)"
    return "; ".join(what) + f". The DataFrame's columns are: {shown or '(none)'}"


def column_values(df: pd.DataFrame, col: Hashable) -> pd.Series:
    """Column ``col`` with categories decoded and sparse storage made dense, so one check fits all."""
    s = df[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        try:
            s = s.astype(s.cat.categories.dtype)
        except (TypeError, ValueError):
            s = s.astype(object)
    sparse = s.array
    if isinstance(sparse, pd.arrays.SparseArray):
        s = pd.Series(sparse.to_dense(), index=s.index, name=s.name, copy=False)
    return s
