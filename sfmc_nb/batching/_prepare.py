"""``prepare()``: check every column once, then build batches of member dicts lazily, a slice at a time."""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np
import pandas as pd

from .._rules import MAX_BATCH_SIZE
from ..errors import ValidationError, warn_caller
from ._columns import Column, prepare_column
from ._keys import QUIET, check_duplicates, prepare_keys
from ._options import (
    DUPLICATES_OPTIONS,
    FLOAT_KEYS_OPTIONS,
    NA_OPTIONS,
    check_columns,
    check_max_lengths,
    check_option,
    check_size,
    column_values,
)
from ._refusals import Refusals

__all__ = ["Batch", "PreparedRows", "prepare"]

_CHUNK_ROWS = 10_000  # rows converted per slice: big enough for numpy to pay off, small enough for memory

MemberBuilder = Callable[..., list[dict[str, Any]]]
"""``build(keys, *column_values)``: one member dict per key, the data fields in column order."""


@dataclass(frozen=True)
class Batch:
    """One request's worth of members and the input positions they came from (same order)."""

    number: int
    positions: list[int]
    members: list[dict[str, Any]]


def prepare(
    df: pd.DataFrame,
    contact_key: Hashable = "SubscriberKey",
    data: Iterable[Hashable] | None = None,
    *,
    na: str = "null",
    duplicates: str = "keep",
    float_keys: str = "convert",
    max_lengths: Mapping[Any, int] | None = None,
    warn: bool = True,
) -> PreparedRows:
    """Check ``df`` column by column and return a :class:`PreparedRows` that builds batches on demand.

    ``data`` lists the columns sent as each member's ``data`` (``None``: none), as
    :func:`sfmc_nb.engine.resolve_columns` chose them. Rows that cannot be sent are listed in
    ``PreparedRows.skipped`` with the reason; problems with the call itself raise ``ValidationError``.
    Notes (converted keys, repeated keys) are kept in ``warnings`` and, with ``warn``, issued as
    :class:`~sfmc_nb.errors.SfmcWarning`.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(f"expected a pandas DataFrame, got {type(df).__name__}")
    check_option("na", na, NA_OPTIONS)
    check_option("duplicates", duplicates, DUPLICATES_OPTIONS)
    check_option("float_keys", float_keys, FLOAT_KEYS_OPTIONS)
    limits = check_max_lengths(max_lengths)
    data_cols = check_columns(df, contact_key, data)

    refusals = Refusals()
    notes: list[str] = []
    key_values = prepare_keys(column_values(df, contact_key), contact_key, float_keys, refusals, notes)
    columns: list[Column] = []
    names: list[str] = []
    for col in data_cols:
        name = col if isinstance(col, str) else str(col)
        if name in names:
            raise ValidationError(f"data columns {names[names.index(name)]!r} and {col!r} both send field {name!r}")
        names.append(name)
        columns.append(prepare_column(column_values(df, col), name, limits.get(name), refusals))
    check_duplicates(key_values, refusals.mask(len(df)), df.index, duplicates, refusals, notes)

    if warn:
        for note in notes:
            if not note.startswith(QUIET):
                warn_caller(note)
    return PreparedRows(index=df.index, contact_key=contact_key, columns=names, key_values=key_values,
                        data_columns=columns, skipped=refusals.reasons(), warnings=list(notes), na=na)


class PreparedRows:
    """The checked rows of one DataFrame: keys, refusals and a lazy batch builder.

    Positions are 0-based row numbers of the input (``index[pos]`` gives the label), so non-unique or
    non-integer indexes are fine.
    """

    def __init__(self, *, index: pd.Index, contact_key: Hashable, columns: list[str], key_values: np.ndarray,
                 data_columns: list[Column], skipped: dict[int, str], warnings: list[str], na: str):
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

    def refuse(self, reasons: dict[int, str]) -> None:
        """Refuse more rows (e.g. repeats of keys sent in an earlier chunk of a stream), before any batch is built."""
        if not reasons:
            return
        self.skipped.update(reasons)
        self._sendable[np.fromiter(reasons, dtype=np.intp, count=len(reasons))] = False
        self._sendable_pos = np.flatnonzero(self._sendable)
        self.__dict__.pop("sendable_positions", None)   # the cached list is built again

    def __repr__(self) -> str:
        return (f"<PreparedRows {self.n_rows} rows: {len(self._sendable_pos)} sendable, "
                f"{len(self.skipped)} skipped, {len(self.columns)} data columns>")

    @cached_property
    def keys(self) -> list[str | None]:
        """Contact key per input position (``None`` when missing, blank or unusable)."""
        keys: list[str | None] = self._keys.tolist()
        return keys

    @cached_property
    def sendable_positions(self) -> list[int]:
        """Positions that will be sent, in input order."""
        positions: list[int] = self._sendable_pos.tolist()
        return positions

    def n_batches(self, size: int = MAX_BATCH_SIZE) -> int:
        """How many requests the sendable rows make at ``size`` members each."""
        size = check_size(size)
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
        size = check_size(size)
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
def _member_factory(n_data: int) -> Callable[[tuple[str, ...]], MemberBuilder]:
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
    factory: Callable[[tuple[str, ...]], MemberBuilder] = namespace["factory"]
    return factory
