"""Data columns to JSON-safe values, one rule per dtype, checked once per column.

Numbers and booleans stay numbers and booleans (a float as the shortest text of its own precision, so a float32
0.1 is sent as 0.1), datetimes become ISO text, ``Decimal`` plain-notation
text; values JSON cannot carry (infinities, complex numbers, timedeltas, bytes, nested containers, text
with lone surrogates) refuse their row. Values are converted a slice at a time by :meth:`Column.take`.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
from typing import Any

import numpy as np
import pandas as pd

from ._dates import PER_SECOND, iso_strings
from ._refusals import Refusals
from ._text import all_text, is_object, is_text_dtype, obj_array, refuse_bad_text, text_values

__all__ = ["Column", "prepare_column"]


class Column:
    """A checked data column: ``take(positions)`` gives JSON-safe Python values (``None`` for missing)."""

    def __init__(self, values: np.ndarray, missing: np.ndarray | None, none_filled: bool):
        self.values = values
        self.missing = missing if missing is not None and missing.any() else None
        self._none_filled = none_filled

    def take(self, pos: np.ndarray) -> list[Any]:
        out: list[Any] = self.values[pos].tolist()
        if self.missing is not None and not self._none_filled:
            for i in np.flatnonzero(self.missing[pos]).tolist():
                out[i] = None
        return out


class DatetimeColumn(Column):
    """Datetimes kept as integers and formatted to ISO text a slice at a time."""

    def __init__(self, wall: np.ndarray, unit: str, missing: np.ndarray, offsets: np.ndarray | None):
        super().__init__(wall, missing, none_filled=False)
        self._unit = unit
        self._offsets = offsets

    def take(self, pos: np.ndarray) -> list[Any]:
        v = self.values[pos]
        miss = self.missing[pos] if self.missing is not None else None
        if miss is not None:
            v = np.where(miss, 0, v)
        out: list[Any] = iso_strings(v, self._unit, None if self._offsets is None else self._offsets[pos])
        if miss is not None:
            for i in np.flatnonzero(miss).tolist():
                out[i] = None
        return out


def prepare_column(s: pd.Series, name: str, limit: int | None, refusals: Refusals) -> Column:
    """Check column ``s`` (sent as field ``name``) and return it ready to convert; bad rows go to ``refusals``."""
    dtype = s.dtype
    if is_text_dtype(dtype):
        return _text_column(text_values(s), s.isna().to_numpy(), name, limit, refusals)
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        return _datetime_column(s)
    if isinstance(dtype, np.dtype) and dtype.kind in "mc":
        missing = s.isna().to_numpy()
        kind = "timedelta" if dtype.kind == "m" else "complex number"
        refusals.add(np.flatnonzero(~missing), f"column {name!r}: {kind} value is not valid JSON; convert it to "
                                               f"a number or text first")
        return Column(np.full(len(s), None, dtype=object), missing, none_filled=True)
    numpy_dtype = dtype if isinstance(dtype, np.dtype) else getattr(dtype, "numpy_dtype", None)
    if numpy_dtype is not None and numpy_dtype.kind in "biuf" and not is_object(dtype):
        return _numeric_column(s, numpy_dtype, name, refusals)
    if is_object(dtype) and all_text(s):
        return _text_column(text_values(s), pd.isna(s).to_numpy(), name, limit, refusals)
    return _object_column(s.astype(object) if not is_object(dtype) else s, name, limit, refusals)


def _numeric_column(s: pd.Series, numpy_dtype: np.dtype, name: str, refusals: Refusals) -> Column:
    missing: np.ndarray | None
    if isinstance(s.dtype, np.dtype):
        values = s.to_numpy()
        missing = np.isnan(values) if numpy_dtype.kind == "f" else None
    else:  # nullable extension (Int64, Float64, boolean, pyarrow numbers)
        missing = s.isna().to_numpy()
        fill = np.nan if numpy_dtype.kind == "f" else 0 if numpy_dtype.kind in "iu" else False
        values = s.to_numpy(dtype=numpy_dtype, na_value=fill)
        if numpy_dtype.kind == "f":
            missing = missing | np.isnan(values)
    if numpy_dtype.kind == "f" and values.dtype.itemsize < 8:
        # float32/float16 as the shortest text of their own precision, read back as float64: 0.1 stays 0.1
        # (float32 0.1 widened directly is 0.10000000149011612)
        values = values.astype(str).astype(np.float64)
    if numpy_dtype.kind == "f":
        inf = np.isinf(values)
        if inf.any():
            where = np.flatnonzero(inf)
            refusals.add(where, [f"column {name!r}: float value {v!r} is not valid JSON"
                                 for v in values[where].tolist()])
    return Column(values, missing, none_filled=False)


def _datetime_column(s: pd.Series) -> Column:
    missing = s.isna().to_numpy()
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        wall = s.dt.tz_localize(None).to_numpy()
        utc = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        unit = np.datetime_data(wall.dtype)[0]
        wall_i = wall.view(np.int64)
        offsets = (wall_i - utc.view(np.int64)) // PER_SECOND[unit]
        return DatetimeColumn(wall_i, unit, missing, offsets)
    values = s.to_numpy()
    unit = np.datetime_data(values.dtype)[0]
    if unit not in PER_SECOND:
        values = values.astype("datetime64[s]") if unit in ("Y", "M", "W", "D", "h", "m") else \
            values.astype("datetime64[ns]")
        unit = np.datetime_data(values.dtype)[0]
    return DatetimeColumn(values.view(np.int64), unit, missing, None)


def _text_column(values: np.ndarray, missing: np.ndarray, name: str, limit: int | None,
                 refusals: Refusals) -> Column:
    """Text with ``None`` at missing positions; refuses over-long and non-encodable text."""
    if limit is not None:
        found = np.flatnonzero(~missing)
        lengths = np.fromiter(map(len, values[found].tolist()), dtype=np.int64, count=len(found))
        over = lengths > limit
        if over.any():
            refusals.add(found[over], [f"column {name!r}: text of {n} characters exceeds the limit of {limit}"
                                       for n in lengths[over].tolist()])
    refuse_bad_text(values, refusals, f"column {name!r}: text is not valid UTF-8 (lone surrogate)")
    return Column(values, missing, none_filled=True)


def _object_column(s: pd.Series, name: str, limit: int | None, refusals: Refusals) -> Column:
    """Mixed object values converted one by one (unavoidable: each element may be any type)."""
    out: list[Any] = []
    missing: list[bool] = []
    bad_pos: list[int] = []
    bad_reason: list[str] = []
    label = repr(name)
    for i, v in enumerate(s.tolist()):
        value, is_missing, problem = convert_scalar(v)
        if problem is None and limit is not None and isinstance(value, str) and len(value) > limit:
            problem = f"text of {len(value)} characters exceeds the limit of {limit}"
        if problem is not None:
            bad_pos.append(i)
            bad_reason.append(f"column {label}: {problem}")
            value = None
        out.append(value)
        missing.append(is_missing)
    values = obj_array(out)
    refusals.add(bad_pos, bad_reason)
    refuse_bad_text(values, refusals, f"column {label}: text is not valid UTF-8 (lone surrogate)", all_text=False)
    return Column(values, np.array(missing, dtype=bool), none_filled=True)


def convert_scalar(v: Any) -> tuple[Any, bool, str | None]:
    """(JSON-safe value, is missing, reason the row is refused or None) for one object element."""
    if isinstance(v, str):
        return (v if type(v) is str else str(v)), False, None
    if v is None or v is pd.NA or v is pd.NaT:
        return None, True, None
    if isinstance(v, (bool, np.bool_)):
        return bool(v), False, None
    if isinstance(v, (int, np.integer)):
        return int(v), False, None
    if isinstance(v, np.floating) and v.dtype.itemsize < 8:
        return _float_value(float(str(v)))   # float32 0.1 is sent as 0.1, not 0.10000000149011612
    if isinstance(v, (float, np.floating)):
        return _float_value(float(v))
    if isinstance(v, decimal.Decimal):
        if v.is_nan():
            return None, True, None
        if v.is_infinite():
            return None, False, f"Decimal value {v} is not valid JSON"
        return format(v, "f"), False, None
    if isinstance(v, np.datetime64):
        if np.isnat(v):
            return None, True, None
        return pd.Timestamp(v).isoformat(), False, None
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        return v.isoformat(), False, None
    if isinstance(v, np.timedelta64) and np.isnat(v):
        return None, True, None
    return None, False, _refusal(v)


def _float_value(f: float) -> tuple[float | None, bool, str | None]:
    if math.isnan(f):
        return None, True, None
    if math.isinf(f):
        return None, False, f"float value {f!r} is not valid JSON"
    return f, False, None


def _refusal(v: Any) -> str:
    """Why ``v``, of a type JSON cannot carry, refuses its row."""
    if isinstance(v, (dict, list, tuple, set, frozenset, np.ndarray, pd.Series, pd.DataFrame)):
        return f"{type(v).__name__} value (nested object) cannot be sent as entry data; flatten it into columns " \
               f"or text"
    if isinstance(v, (bytes, bytearray, memoryview)):
        return f"{type(v).__name__} value cannot be sent as JSON; decode it to text first"
    return f"{type(v).__name__} value cannot be sent as JSON; convert it to a number or text first"
