"""DataFrame rows to strict-JSON ``members`` payloads for batch entry (at most 100 per request).

Work is done per column with numpy/pandas, not per row: :func:`prepare` checks every column once
(keys, missing values, values JSON cannot carry, text limits) and records which rows are refused and
why; :meth:`PreparedRows.batches` then converts columns a slice at a time and builds member dicts
one batch at a time, so a million rows never exist as a million dicts at once.

Value rules (what the entry data extension receives):

- NaN, NaT, None and ``pd.NA`` are JSON ``null`` (``na="null"``) or the field is left out (``na="omit"``).
- numpy scalars become Python ``int``/``float``/``bool``; booleans stay booleans.
- datetimes become ISO 8601 text like ``Timestamp.isoformat()``: ``2024-05-01T09:30:00``, a fraction only
  when non-zero, the UTC offset kept for tz-aware values; ``datetime.date`` objects stay date-only.
- ``Decimal`` becomes plain-notation text (``format(d, "f")``) so no digits are lost to a binary float.
- infinities, complex numbers, timedeltas, bytes, nested containers (dict/list/tuple/set/array) and other
  objects refuse their row; so does text with lone surrogates (it cannot be encoded as UTF-8).
- ``max_lengths`` applies to text values (str columns and str elements of object columns).

Contact keys are text, kept exactly as given (no stripping); integers become their decimal text.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import difflib
import json
import math
import operator
import warnings
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np
import pandas as pd

from sfmc_nb.errors import ValidationError

__all__ = ["MAX_BATCH_SIZE", "Batch", "PreparedRows", "prepare", "to_json_bytes"]

MAX_BATCH_SIZE = 100
"""The batch entry endpoint takes 1..100 members per request."""

_NA_OPTIONS = ("null", "omit")
_DUPLICATES_OPTIONS = ("keep", "drop")
_FLOAT_KEYS_OPTIONS = ("convert", "refuse")
_QUIET = "(duplicates='drop') "  # notes that only confirm what the caller asked for: not raised as warnings
_CHUNK_ROWS = 10_000  # rows converted per slice: big enough for numpy to pay off, small enough for memory
_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def to_json_bytes(payload: Any) -> bytes:
    """Encode a request body as strict, compact UTF-8 JSON (NaN/inf raise instead of writing bad JSON)."""
    return json.dumps(payload, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Batch:
    """One request's worth of members and the input positions they came from (same order)."""

    number: int
    positions: list[int]
    members: list[dict[str, Any]]


# --------------------------------------------------------------------------------------------------
# prepare()


def prepare(
    df: pd.DataFrame,
    contact_key: Hashable = "SubscriberKey",
    data: Iterable[Hashable] | str | None = None,
    *,
    na: str = "null",
    duplicates: str = "keep",
    float_keys: str = "convert",
    max_lengths: Mapping[Any, int] | None = None,
) -> PreparedRows:
    """Check ``df`` column by column and return a :class:`PreparedRows` that builds batches on demand.

    ``data`` names the columns sent as each member's ``data`` (``None``: none, ``"all"``: every column but
    the contact key, a single name is one column). Rows that cannot be sent are listed in
    ``PreparedRows.skipped`` with the reason; problems with the call itself raise ``ValidationError``.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(f"expected a pandas DataFrame, got {type(df).__name__}")
    _check_option("na", na, _NA_OPTIONS)
    _check_option("duplicates", duplicates, _DUPLICATES_OPTIONS)
    _check_option("float_keys", float_keys, _FLOAT_KEYS_OPTIONS)
    limits = _check_max_lengths(max_lengths)
    data_cols = _resolve_columns(df, contact_key, data)

    n = len(df)
    refusals = _Refusals()
    notes: list[str] = []

    key_values = _prepare_keys(_column(df, contact_key), contact_key, float_keys, refusals, notes)
    columns: list[_Column] = []
    names: list[str] = []
    for col in data_cols:
        name = col if isinstance(col, str) else str(col)
        if name in names:
            raise ValidationError(f"data columns {names[names.index(name)]!r} and {col!r} both send field {name!r}")
        names.append(name)
        columns.append(_prepare_column(_column(df, col), name, limits.get(name), refusals))

    refused = refusals.mask(n)
    _check_duplicates(key_values, refused, df.index, duplicates, refusals, notes)

    for note in notes:
        if not note.startswith(_QUIET):
            warnings.warn(note, UserWarning, stacklevel=2)
    return PreparedRows(
        index=df.index,
        contact_key=contact_key,
        columns=names,
        key_values=key_values,
        data_columns=columns,
        skipped=refusals.reasons(),
        warnings=list(notes),
        na=na,
    )


class PreparedRows:
    """The checked rows of one DataFrame: keys, refusals and a lazy batch builder.

    Positions are 0-based row numbers of the input (``index[pos]`` gives the label), so non-unique or
    non-integer indexes are fine.
    """

    def __init__(self, *, index: pd.Index, contact_key: Hashable, columns: list[str], key_values: np.ndarray,
                 data_columns: list[_Column], skipped: dict[int, str], warnings: list[str], na: str):
        self.index = index
        self.n_rows = len(index)
        self.contact_key = contact_key
        self.columns = columns
        self.skipped = skipped
        self.warnings = warnings
        self.na = na
        self._keys = key_values
        self._data = data_columns
        self._build = _member_factory(len(columns))(tuple(columns))
        sendable = np.ones(self.n_rows, dtype=bool)
        if skipped:
            sendable[np.fromiter(skipped, dtype=np.intp, count=len(skipped))] = False
        self._sendable = sendable
        self._sendable_pos = np.flatnonzero(sendable)

    def __repr__(self) -> str:
        return (f"<PreparedRows {self.n_rows} rows: {len(self._sendable_pos)} sendable, "
                f"{len(self.skipped)} skipped, {len(self.columns)} data columns>")

    @cached_property
    def keys(self) -> list[str | None]:
        """Contact key per input position (``None`` when missing, blank or unusable)."""
        return self._keys.tolist()

    @cached_property
    def sendable_positions(self) -> list[int]:
        """Positions that will be sent, in input order."""
        return self._sendable_pos.tolist()

    def n_batches(self, size: int = MAX_BATCH_SIZE) -> int:
        """How many requests the sendable rows make at ``size`` members each."""
        size = _check_size(size)
        return -(-len(self._sendable_pos) // size)

    def member(self, pos: int) -> dict[str, Any]:
        """The member dict for one input position; a refused row raises ``ValidationError`` with its reason."""
        pos = operator.index(pos)
        if not 0 <= pos < self.n_rows:
            raise IndexError(f"position {pos} out of range for {self.n_rows} rows")
        if pos in self.skipped:
            raise ValidationError(f"row {self.index[pos]!r} is not sent: {self.skipped[pos]}")
        return next(self._iter(np.array([pos], dtype=np.intp), 1)).members[0]

    def batches(self, size: int = MAX_BATCH_SIZE, positions: Iterable[int] | None = None) -> Iterator[Batch]:
        """Yield batches of at most ``size`` members in input order, each built only when asked for.

        ``positions`` restricts the run to those rows (resume/retry); refused rows among them are left out
        since they are never sent. Arguments are checked now, not at the first ``next()``.
        """
        size = _check_size(size)
        if positions is None:
            pos = self._sendable_pos
        else:
            pos = self._select(positions)
        return self._iter(pos, size)

    def _select(self, positions: Iterable[int]) -> np.ndarray:
        try:
            pos = np.unique(np.fromiter((operator.index(p) for p in positions), dtype=np.int64))
        except TypeError as exc:
            raise ValidationError(f"positions must be integers: {exc}") from None
        if len(pos) and (pos[0] < 0 or pos[-1] >= self.n_rows):
            bad = pos[(pos < 0) | (pos >= self.n_rows)][:5].tolist()
            raise ValidationError(f"positions out of range 0..{self.n_rows - 1}: {bad}")
        pos = pos.astype(np.intp)
        return pos[self._sendable[pos]]

    def _iter(self, pos: np.ndarray, size: int) -> Iterator[Batch]:
        omit = self.na == "omit"
        names = self.columns
        number = 0
        step = max(1, _CHUNK_ROWS // size) * size
        for start in range(0, len(pos), step):
            chunk = pos[start:start + step]
            keys = self._keys[chunk].tolist()
            values = [c.take(chunk) for c in self._data]
            missing = [c.missing[chunk] if omit and c.missing is not None else None for c in self._data]
            positions = chunk.tolist()
            for lo in range(0, len(chunk), size):
                hi = lo + size
                members = self._build(keys[lo:hi], *[v[lo:hi] for v in values])
                if omit:
                    for name, miss in zip(names, missing, strict=True):
                        if miss is not None:
                            for i in np.flatnonzero(miss[lo:hi]).tolist():
                                del members[i]["data"][name]
                yield Batch(number, positions[lo:hi], members)
                number += 1


@cache
def _member_factory(n_data: int):
    """Generate a builder with a dict display per row: about twice as fast as ``dict(zip(names, row))``.

    The source depends only on the column count; the field names are bound through the factory's
    arguments, never written into the source, so any column name is safe.
    """
    args = ", ".join(f"v{i}" for i in range(n_data))
    if n_data == 0:
        src = "def factory(names):\n    return lambda keys: [{'contactKey': k} for k in keys]\n"
    else:
        unpack = "".join(f"    n{i} = names[{i}]\n" for i in range(n_data))
        fields = ", ".join(f"n{i}: v{i}" for i in range(n_data))
        src = (f"def factory(names):\n{unpack}"
               f"    def build(keys, {args}):\n"
               f"        return [{{'contactKey': k, 'data': {{{fields}}}}} for k, {args} in zip(keys, {args})]\n"
               f"    return build\n")
    namespace: dict[str, Any] = {}
    exec(compile(src, f"<sfmc_nb member builder for {n_data} columns>", "exec"), namespace)
    return namespace["factory"]


# --------------------------------------------------------------------------------------------------
# option and column checks


def _check_option(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValidationError(f"{name} must be one of {choices}; got {value!r}")


def _check_size(size: Any) -> int:
    if isinstance(size, bool):
        raise ValidationError(f"size must be an integer from 1 to {MAX_BATCH_SIZE}; got {size!r}")
    try:
        size = operator.index(size)
    except TypeError:
        raise ValidationError(f"size must be an integer from 1 to {MAX_BATCH_SIZE}; got {size!r}") from None
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise ValidationError(f"size must be from 1 to {MAX_BATCH_SIZE} (the API's limit per request); got {size}")
    return size


def _check_max_lengths(max_lengths: Mapping[Any, int] | None) -> dict[str, int]:
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


def _resolve_columns(df: pd.DataFrame, contact_key: Hashable, data: Any) -> list[Hashable]:
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


def _column(df: pd.DataFrame, col: Hashable) -> pd.Series:
    s = df[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        try:
            s = s.astype(s.cat.categories.dtype)
        except (TypeError, ValueError):
            s = s.astype(object)
    if isinstance(s.dtype, pd.SparseDtype):
        s = s.sparse.to_dense()
    return s


class _Refusals:
    """Reasons per refused position, gathered column by column."""

    def __init__(self):
        self._by_pos: dict[int, list[str]] = {}

    def add(self, positions: Iterable[int] | np.ndarray, reason: str | list[str]) -> None:
        """Refuse ``positions`` with one shared reason or one reason each."""
        if isinstance(positions, np.ndarray):
            positions = positions.tolist()
        reasons = [reason] * len(positions) if isinstance(reason, str) else reason
        by_pos = self._by_pos
        for p, r in zip(positions, reasons, strict=True):
            if p in by_pos:
                by_pos[p].append(r)
            else:
                by_pos[p] = [r]

    def mask(self, n: int) -> np.ndarray:
        m = np.zeros(n, dtype=bool)
        if self._by_pos:
            m[np.fromiter(self._by_pos, dtype=np.intp, count=len(self._by_pos))] = True
        return m

    def reasons(self) -> dict[int, str]:
        return {p: "; ".join(self._by_pos[p]) for p in sorted(self._by_pos)}


# --------------------------------------------------------------------------------------------------
# contact keys


def _prepare_keys(s: pd.Series, col: Hashable, float_keys: str, refusals: _Refusals,
                  notes: list[str]) -> np.ndarray:
    """Keys as an object array of str/None; refused rows get ``None`` and a reason."""
    dtype = s.dtype
    if isinstance(dtype, pd.StringDtype) or (_is_object(dtype) and _all_text(s)):
        keys = _text_values(s)
        _refuse_missing_and_blank(keys, refusals)
        _refuse_bad_text(keys, refusals, "contact key is not valid UTF-8 text (lone surrogate)")
        return keys
    if pd.api.types.is_bool_dtype(dtype):
        raise ValidationError(f"contact key column {col!r} holds booleans; contact keys are text")
    if pd.api.types.is_integer_dtype(dtype):
        missing = s.isna().to_numpy()
        ints = s.to_numpy(dtype=getattr(dtype, "numpy_dtype", dtype), na_value=0)
        keys = _obj_array(list(map(str, ints.tolist())))
        keys[missing] = None
        refusals.add(np.flatnonzero(missing), "missing contact key")
        return keys
    if pd.api.types.is_float_dtype(dtype):
        return _float_keys(s, col, float_keys, refusals, notes)
    if _is_object(dtype):
        return _object_keys(s, col, float_keys, refusals, notes)
    raise ValidationError(
        f"contact key column {col!r} has dtype {dtype}; contact keys are text: read the column as text "
        f"(e.g. pd.read_csv(..., dtype={{{str(col)!r}: str}})) or convert it with .astype(str)")


def _float_keys(s: pd.Series, col: Hashable, float_keys: str, refusals: _Refusals,
                notes: list[str]) -> np.ndarray:
    values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    present = values[~missing]
    keys = np.full(len(values), None, dtype=object)
    refusals.add(np.flatnonzero(missing), "missing contact key")
    if not len(present):
        return keys
    integral = np.isfinite(present) & (present == np.floor(present))
    if not integral.all():
        bad = present[~integral][:3].tolist()
        raise ValidationError(
            f"contact key column {col!r} holds numbers that are not whole ({', '.join(map(repr, bad))}); "
            f"contact keys are text: read the column as text (pd.read_csv(..., dtype={{{str(col)!r}: str}}))")
    if float_keys == "refuse":
        raise ValidationError(
            f"contact key column {col!r} holds numbers stored as floats (e.g. {float(present[0])!r}), which read_csv "
            f"makes of numeric ids when a value is missing; read the column as text "
            f"(pd.read_csv(..., dtype={{{str(col)!r}: str}})) so keys keep their exact form")
    keys[~missing] = _int_strings(present)
    notes.append(_float_key_note(col, float(present[0]), big=bool((np.abs(present) >= 2**53).any())))
    return keys


def _float_key_note(col: Hashable, example: float, big: bool = False) -> str:
    note = (f"contact key column {col!r} holds whole numbers stored as floats; sent without the '.0' "
            f"(e.g. {example!r} -> {str(int(example))!r}). Read it as text (dtype=str) to keep keys exactly "
            f"as written, e.g. leading zeros")
    if big:
        note += "; keys above 2**53 may already have lost digits as floats"
    return note


def _int_strings(values: np.ndarray) -> list[str]:
    if len(values) and np.abs(values).max() < 2**63:
        return list(map(str, values.astype(np.int64).tolist()))
    return [str(int(v)) for v in values.tolist()]


def _object_keys(s: pd.Series, col: Hashable, float_keys: str, refusals: _Refusals,
                 notes: list[str]) -> np.ndarray:
    """Mixed object keys: text kept, ints as text, whole floats per ``float_keys``, anything else refused."""
    out: list[str | None] = []
    bad_pos: list[int] = []
    bad_reason: list[str] = []
    converted_floats = []
    for i, v in enumerate(s.tolist()):
        if isinstance(v, str):
            out.append(v if type(v) is str else str(v))
            continue
        out.append(None)
        if _is_missing_scalar(v):
            reason = "missing contact key"
        elif isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            out[-1] = str(int(v))
            continue
        elif isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
            if float_keys == "refuse":
                raise ValidationError(
                    f"contact key column {col!r} holds numbers stored as floats (e.g. {float(v)!r}); read the "
                    f"column as text (pd.read_csv(..., dtype={{{str(col)!r}: str}}))")
            out[-1] = str(int(v))
            converted_floats.append(v)
            continue
        elif isinstance(v, (float, np.floating)):
            reason = f"contact key {float(v)!r} is not a whole number; contact keys are text"
        else:
            reason = f"contact key must be text, got {type(v).__name__}"
        bad_pos.append(i)
        bad_reason.append(reason)
    keys = _obj_array(out)
    refusals.add(bad_pos, bad_reason)
    if converted_floats:
        notes.append(_float_key_note(col, float(converted_floats[0])))
    _refuse_missing_and_blank(keys, refusals, missing_done=True)
    _refuse_bad_text(keys, refusals, "contact key is not valid UTF-8 text (lone surrogate)")
    return keys


def _refuse_missing_and_blank(keys: np.ndarray, refusals: _Refusals, missing_done: bool = False) -> None:
    present = np.not_equal(keys, None)
    if not missing_done:
        refusals.add(np.flatnonzero(~present), "missing contact key")
    idx = np.flatnonzero(present)
    values = keys[idx]
    blank = (values == "") | np.fromiter(map(str.isspace, values.tolist()), dtype=bool, count=len(idx))
    if blank.any():
        where = idx[blank]
        keys[where] = None
        refusals.add(where, "blank contact key (empty or only whitespace)")


def _check_duplicates(keys: np.ndarray, refused: np.ndarray, index: pd.Index, duplicates: str,
                      refusals: _Refusals, notes: list[str]) -> None:
    """Among rows otherwise sendable, find repeated keys; warn, or refuse all but the first."""
    ok = np.flatnonzero(~refused & np.not_equal(keys, None))
    if len(ok) < 2:
        return
    codes, uniques = pd.factorize(keys[ok])
    counts = np.bincount(codes)
    if counts.max() < 2:
        return
    _, first = np.unique(codes, return_index=True)  # where in ``ok`` each key first appears
    first_of = first[codes]
    is_later = first_of != np.arange(len(codes))
    later = ok[is_later]
    repeated = np.flatnonzero(counts > 1)
    examples = ", ".join(f"{uniques[c]!r} x{counts[c]}" for c in repeated[:3].tolist())
    if duplicates == "drop":
        labels = index[ok[first_of[is_later]]]
        refusals.add(later, [f"duplicate of row {label}" for label in labels])
        notes.append(f"{_QUIET}{_rows(len(later))} repeating the contact key of an earlier row skipped, "
                     f"e.g. {examples}")
    else:
        notes.append(f"{_rows(len(later))} repeat the contact key of an earlier row ({len(repeated)} keys, e.g. "
                     f"{examples}); the API enters every occurrence. Pass duplicates='drop' to send only the first")


# --------------------------------------------------------------------------------------------------
# data columns


class _Column:
    """A checked data column: ``take(positions)`` gives JSON-safe Python values (``None`` for missing)."""

    def __init__(self, values: np.ndarray, missing: np.ndarray | None, none_filled: bool):
        self.values = values
        self.missing = missing if missing is not None and missing.any() else None
        self._none_filled = none_filled

    def take(self, pos: np.ndarray) -> list:
        out = self.values[pos].tolist()
        if self.missing is not None and not self._none_filled:
            for i in np.flatnonzero(self.missing[pos]).tolist():
                out[i] = None
        return out


class _DatetimeColumn(_Column):
    """Datetimes kept as integers and formatted to ISO text a slice at a time."""

    def __init__(self, wall: np.ndarray, unit: str, missing: np.ndarray, offsets: np.ndarray | None):
        super().__init__(wall, missing, none_filled=False)
        self._unit = unit
        self._offsets = offsets

    def take(self, pos: np.ndarray) -> list:
        v = self.values[pos]
        miss = self.missing[pos] if self.missing is not None else None
        if miss is not None:
            v = np.where(miss, 0, v)
        out = _iso_strings(v, self._unit, None if self._offsets is None else self._offsets[pos])
        if miss is not None:
            for i in np.flatnonzero(miss).tolist():
                out[i] = None
        return out


def _prepare_column(s: pd.Series, name: str, limit: int | None, refusals: _Refusals) -> _Column:
    dtype = s.dtype
    label = repr(name)
    if isinstance(dtype, pd.StringDtype):
        return _text_column(_text_values(s), s.isna().to_numpy(), name, limit, refusals)
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        return _datetime_column(s)
    if isinstance(dtype, np.dtype) and dtype.kind == "m" or isinstance(dtype, np.dtype) and dtype.kind == "c":
        missing = s.isna().to_numpy()
        kind = "timedelta" if dtype.kind == "m" else "complex number"
        refusals.add(np.flatnonzero(~missing), f"column {label}: {kind} value is not valid JSON; convert it to "
                                               f"a number or text first")
        return _Column(np.full(len(s), None, dtype=object), missing, none_filled=True)
    numpy_dtype = dtype if isinstance(dtype, np.dtype) else getattr(dtype, "numpy_dtype", None)
    if numpy_dtype is not None and numpy_dtype.kind in "biuf" and not _is_object(dtype):
        return _numeric_column(s, numpy_dtype, name, refusals)
    if _is_object(dtype) and _all_text(s):
        return _text_column(_text_values(s), pd.isna(s).to_numpy(), name, limit, refusals)
    return _object_column(s.astype(object) if not _is_object(dtype) else s, name, limit, refusals)


def _numeric_column(s: pd.Series, numpy_dtype: np.dtype, name: str, refusals: _Refusals) -> _Column:
    if isinstance(s.dtype, np.dtype):
        values = s.to_numpy()
        missing = np.isnan(values) if numpy_dtype.kind == "f" else None
    else:  # nullable extension (Int64, Float64, boolean, pyarrow numbers)
        missing = s.isna().to_numpy()
        fill = np.nan if numpy_dtype.kind == "f" else 0 if numpy_dtype.kind in "iu" else False
        values = s.to_numpy(dtype=numpy_dtype, na_value=fill)
        if numpy_dtype.kind == "f":
            missing = missing | np.isnan(values)
    if numpy_dtype.kind == "f":
        inf = np.isinf(values)
        if inf.any():
            where = np.flatnonzero(inf)
            refusals.add(where, [f"column {name!r}: float value {v!r} is not valid JSON"
                                 for v in values[where].tolist()])
    return _Column(values, missing, none_filled=False)


def _datetime_column(s: pd.Series) -> _Column:
    missing = s.isna().to_numpy()
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        wall = s.dt.tz_localize(None).to_numpy()
        utc = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        unit = np.datetime_data(wall.dtype)[0]
        wall_i = wall.view(np.int64)
        offsets = (wall_i - utc.view(np.int64)) // _PER_SECOND[unit]
        return _DatetimeColumn(wall_i, unit, missing, offsets)
    values = s.to_numpy()
    unit = np.datetime_data(values.dtype)[0]
    if unit not in _PER_SECOND:
        values = values.astype("datetime64[s]") if unit in ("Y", "M", "W", "D", "h", "m") else \
            values.astype("datetime64[ns]")
        unit = np.datetime_data(values.dtype)[0]
    return _DatetimeColumn(values.view(np.int64), unit, missing, None)


def _text_column(values: np.ndarray, missing: np.ndarray, name: str, limit: int | None,
                 refusals: _Refusals) -> _Column:
    """Text with ``None`` at missing positions; refuses over-long and non-encodable text."""
    if limit is not None:
        present = np.flatnonzero(~missing)
        lengths = np.fromiter(map(len, values[present].tolist()), dtype=np.int64, count=len(present))
        over = lengths > limit
        if over.any():
            refusals.add(present[over], [f"column {name!r}: text of {n} characters exceeds the limit of {limit}"
                                         for n in lengths[over].tolist()])
    _refuse_bad_text(values, refusals, f"column {name!r}: text is not valid UTF-8 (lone surrogate)")
    return _Column(values, missing, none_filled=True)


def _object_column(s: pd.Series, name: str, limit: int | None, refusals: _Refusals) -> _Column:
    """Mixed object values converted one by one (unavoidable: each element may be any type)."""
    out: list[Any] = []
    missing: list[bool] = []
    bad_pos: list[int] = []
    bad_reason: list[str] = []
    label = repr(name)
    for i, v in enumerate(s.tolist()):
        value, is_missing, problem = _convert_scalar(v)
        if problem is None and limit is not None and isinstance(value, str) and len(value) > limit:
            problem = f"text of {len(value)} characters exceeds the limit of {limit}"
        if problem is not None:
            bad_pos.append(i)
            bad_reason.append(f"column {label}: {problem}")
            value = None
        out.append(value)
        missing.append(is_missing)
    values = _obj_array(out)
    refusals.add(bad_pos, bad_reason)
    _refuse_bad_text(values, refusals, f"column {label}: text is not valid UTF-8 (lone surrogate)", all_text=False)
    return _Column(values, np.array(missing, dtype=bool), none_filled=True)


def _convert_scalar(v: Any) -> tuple[Any, bool, str | None]:
    """(JSON-safe value, is missing, reason the row is refused or None) for one object element."""
    if isinstance(v, str):
        return (v if type(v) is str else str(v)), False, None
    if v is None or v is pd.NA or v is pd.NaT:
        return None, True, None
    if isinstance(v, (bool, np.bool_)):
        return bool(v), False, None
    if isinstance(v, (int, np.integer)):
        return int(v), False, None
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None, True, None
        if math.isinf(f):
            return None, False, f"float value {f!r} is not valid JSON"
        return f, False, None
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
    if isinstance(v, (dict, list, tuple, set, frozenset, np.ndarray, pd.Series, pd.DataFrame)):
        return None, False, f"{type(v).__name__} value (nested object) cannot be sent as entry data; " \
                            f"flatten it into columns or text"
    if isinstance(v, (bytes, bytearray, memoryview)):
        return None, False, f"{type(v).__name__} value cannot be sent as JSON; decode it to text first"
    if isinstance(v, np.timedelta64) and np.isnat(v):
        return None, True, None
    return None, False, f"{type(v).__name__} value cannot be sent as JSON; convert it to a number or text first"


# --------------------------------------------------------------------------------------------------
# helpers


def _obj_array(values: list) -> np.ndarray:
    """An object array from a list of scalars (``np.array`` would try to nest sequences)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _is_object(dtype: Any) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind == "O"


def _all_text(s: pd.Series) -> bool:
    return pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")


def _text_values(s: pd.Series) -> np.ndarray:
    """Text column as an object array of exact ``str`` with ``None`` where missing."""
    # Always a copy: to_numpy may return a view of the caller's data (writable for pandas 3 str columns),
    # and keys are blanked in place below; the caller's DataFrame must never change.
    values = s.to_numpy(dtype=object, na_value=None, copy=True)
    if _is_object(s.dtype) and not all(type(v) is str or v is None for v in values.tolist()):
        values = _obj_array([v if v is None or type(v) is str else str(v) for v in values.tolist()])
    return values


def _is_missing_scalar(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)):
        return math.isnan(v)
    if isinstance(v, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(v))
    if isinstance(v, decimal.Decimal):
        return v.is_nan()
    return False


def _refuse_bad_text(values: np.ndarray, refusals: _Refusals, reason: str, all_text: bool = True) -> None:
    """Refuse text UTF-8 cannot encode (lone surrogates) and set it to ``None``.

    One join+encode per slice keeps the common all-good case cheap. ``all_text``: every element is
    ``str`` or ``None``; otherwise non-text elements are skipped.
    """
    step = 100_000
    for start in range(0, len(values), step):
        chunk = values[start:start + step].tolist()
        try:
            "".join(filter(None, chunk) if all_text else [v for v in chunk if type(v) is str]).encode("utf-8")
            continue
        except UnicodeEncodeError:
            pass
        for i, v in enumerate(chunk):
            if type(v) is str:
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError:
                    refusals.add([start + i], reason)
                    values[start + i] = None


@cache
def _time_table() -> np.ndarray:
    """``THH:MM:SS`` for each second of a day, indexed by seconds since midnight."""
    return np.array([f"T{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)])


def _iso_strings(values: np.ndarray, unit: str, offsets: np.ndarray | None) -> list[str]:
    """ISO 8601 text for integer datetimes in ``unit``, matching ``Timestamp.isoformat()``.

    ``np.datetime_as_string`` costs about 0.5 s per million values; formatting the few distinct dates
    and looking the time of day up in a table is several times faster.
    """
    if not len(values):
        return []
    per_s = _PER_SECOND[unit]
    secs, frac = np.divmod(values, per_s)
    days, sod = np.divmod(secs, 86400)
    uniq, inv = np.unique(days, return_inverse=True)
    dates = np.datetime_as_string(uniq.astype("datetime64[D]"))
    out = np.strings.add(dates[inv], _time_table()[sod])
    if per_s > 1 and frac.any():
        micro = frac * (10**6 // per_s) if per_s <= 10**6 else frac // 1000
        text = np.strings.add(".", np.strings.zfill(micro.astype(str), 6))
        if per_s == 10**9:
            nano = frac % 1000 != 0
            if nano.any():
                text = np.where(nano, np.strings.add(".", np.strings.zfill(frac.astype(str), 9)), text)
        out = np.strings.add(out, np.where(frac != 0, text, ""))
    if offsets is not None:
        uo, oinv = np.unique(offsets, return_inverse=True)
        out = np.strings.add(out, np.array([_offset_text(o) for o in uo.tolist()])[oinv])
    return out.tolist()


def _offset_text(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    h, rest = divmod(abs(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")
