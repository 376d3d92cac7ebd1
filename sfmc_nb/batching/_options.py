"""Checks of the call itself (options, batch size, text limits, column names): a bad call raises at once."""

from __future__ import annotations

import operator
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._rules import MAX_BATCH_SIZE
from ..errors import ValidationError

__all__ = ["NA_OPTIONS", "DUPLICATES_OPTIONS", "FLOAT_KEYS_OPTIONS", "check_option", "check_size",
           "check_max_lengths", "check_columns", "column_values"]

NA_OPTIONS = ("null", "omit")
DUPLICATES_OPTIONS = ("keep", "drop")
FLOAT_KEYS_OPTIONS = ("convert", "refuse")


def check_option(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValidationError(f"{name} must be one of {choices}; got {value!r}")


def check_size(size: Any, what: str = "size") -> int:
    """``size`` as members per batch, from 1 to the API's limit (``what`` names the option in the message)."""
    wanted = f"{what} must be a whole number from 1 to {MAX_BATCH_SIZE} (the API's limit per request)"
    if isinstance(size, (bool, np.bool_)):
        raise ValidationError(f"{wanted}; got {size!r}")
    try:
        size = operator.index(size)
    except TypeError:
        raise ValidationError(f"{wanted}; got {size!r}") from None
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise ValidationError(f"{wanted}; got {size}")
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


def check_columns(df: pd.DataFrame, contact_key: Hashable, data: Any) -> list[Hashable]:
    """``data`` as a list of columns of ``df`` (resolved by :func:`sfmc_nb.engine.resolve_columns`), each once.

    ``prepare`` takes columns already chosen; this only makes sure they are there, so a bad call fails with
    a :class:`ValidationError` rather than a ``KeyError``.
    """
    if isinstance(data, str) or (data is not None and not isinstance(data, Iterable)):
        raise ValidationError(f"data must be a list of column names (resolve 'auto', 'all' or one name with "
                              f"sfmc_nb.engine.resolve_columns); got {data!r}")
    cols = list(dict.fromkeys(data or []))
    for c in [contact_key, *cols]:
        try:
            found = c in df.columns
        except TypeError:
            found = False
        if not found:
            raise ValidationError(f"column {c!r} not found; the DataFrame's columns are {list(df.columns)[:50]}")
        if isinstance(df.columns.get_loc(c), (slice, np.ndarray)):
            raise ValidationError(f"column {c!r} appears more than once in the DataFrame; rename the copies")
    return cols


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
