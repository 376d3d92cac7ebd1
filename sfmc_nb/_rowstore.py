"""Compact per-row columns for :class:`~sfmc_nb.results.EntryResult`: a few bytes a row, not an object a row.

Each column reads and writes like a list (``col[pos]``, ``col[pos] = value``, iteration, ``len``, ``==`` a
list), so the engine and the widgets keep indexing rows as before, and each turns a set of positions into a
pandas array without going through Python objects row by row where it can:

* :class:`CodeColumn`: one of a few fixed strings (status, processing), an ``int8`` code per row;
* :class:`IntColumn`: small integers (errorcode, batch, attempts), ``int64`` with a sentinel for "missing";
* :class:`FloatColumn`: epoch seconds (sent_at), ``float64`` with NaN for "missing";
* :class:`TextColumn`: text that repeats (messages, request ids), an ``int32`` code per row into the distinct
  strings seen;
* :class:`IdColumn`: ids that differ row by row (event instance ids): a lowercase UUID as its 16 bytes, any
  other text kept as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSequence, Sequence
from typing import Any, overload

import numpy as np
import pandas as pd

__all__ = ["CodeColumn", "IntColumn", "FloatColumn", "TextColumn", "IdColumn", "KeyColumn", "Repeated",
           "positions_array"]

MISSING_INT = np.iinfo(np.int64).min


class Repeated(Sequence[Any]):
    """``n`` times the same value: a new result's rows, filled by numpy instead of read one by one."""

    def __init__(self, value: Any, n: int):
        self.value, self.n = value, n

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, pos: int) -> Any: ...

    @overload
    def __getitem__(self, pos: slice) -> Sequence[Any]: ...

    def __getitem__(self, pos: int | slice) -> Any:
        if isinstance(pos, slice):
            return [self.value] * len(range(*pos.indices(self.n)))
        if not -self.n <= pos < self.n:
            raise IndexError(pos)
        return self.value


def positions_array(positions: Iterable[int] | None, n: int) -> np.ndarray:
    """Positions as an ``intp`` array (all ``n`` rows when ``None``)."""
    if positions is None:
        return np.arange(n, dtype=np.intp)
    if isinstance(positions, np.ndarray):
        return positions.astype(np.intp, copy=False)
    return np.fromiter(positions, dtype=np.intp)


class _Column(MutableSequence[Any]):
    """A fixed-length list-like column: rows are read and written, never inserted or deleted."""

    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def _get(self, pos: int) -> Any:
        raise NotImplementedError

    def _put(self, pos: int, value: Any) -> None:
        raise NotImplementedError

    def tolist(self) -> list[Any]:
        return [self._get(p) for p in range(len(self))]

    @overload
    def __getitem__(self, pos: int) -> Any: ...

    @overload
    def __getitem__(self, pos: slice) -> list[Any]: ...

    def __getitem__(self, pos: int | slice) -> Any:
        if isinstance(pos, slice):
            return [self._get(p) for p in range(*pos.indices(len(self)))]
        return self._get(pos)

    def __setitem__(self, pos: Any, value: Any) -> None:
        self._put(pos, value)   # one row at a time (a slice fails in _put)

    def __delitem__(self, pos: Any) -> None:
        raise TypeError("a result's rows cannot be deleted")

    def insert(self, index: int, value: Any) -> None:
        raise TypeError("a result's rows are fixed: one per input row")

    def __iter__(self) -> Iterator[Any]:
        return iter(self.tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (_Column, list, tuple)):
            return self.tolist() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = self[:5]
        return f"{type(self).__name__}({head}{' ...' if len(self) > 5 else ''}, {len(self):,} rows)"

    def take(self, positions: np.ndarray) -> Any:
        """The rows at ``positions`` as a pandas array."""
        raise NotImplementedError


class CodeColumn(_Column):
    """One of ``categories`` (or None) per row, as an ``int8`` code (-1: None)."""

    def __init__(self, categories: Sequence[str], rows: Sequence[Any]):
        self.categories = list(categories)
        self._code = {c: i for i, c in enumerate(self.categories)}
        self._code[None] = -1   # type: ignore[index]
        self._lookup = [*self.categories, None]   # code -1 reads the last: None
        if isinstance(rows, Repeated):
            self.values = np.full(len(rows), self._code[rows.value], dtype=np.int8)
        else:
            self.values = np.fromiter((self._code[v] for v in rows), dtype=np.int8, count=len(rows))

    def _get(self, pos: int) -> Any:
        return self._lookup[self.values[pos]]

    def _put(self, pos: int, value: Any) -> None:
        self.values[pos] = self._code[value]

    def code(self, value: Any) -> int:
        return self._code[value]

    def tolist(self) -> list[Any]:
        lookup = self._lookup
        return [lookup[c] for c in self.values.tolist()]

    def counts(self) -> dict[Any, int]:
        """Rows by value (None included), counted on the codes."""
        found = np.bincount(self.values.astype(np.intp) + 1, minlength=len(self._lookup)).tolist()
        return {self._lookup[code - 1]: n for code, n in enumerate(found) if n}

    def where(self, wanted: Iterable[str]) -> np.ndarray:
        """Positions whose value is one of ``wanted``."""
        codes = [self._code[w] for w in wanted if w in self._code]
        return np.flatnonzero(np.isin(self.values, codes))

    def take(self, positions: np.ndarray) -> pd.Categorical[str]:
        return pd.Categorical.from_codes(self.values[positions], categories=pd.Index(self.categories))


class IntColumn(_Column):
    """An integer or None per row (``int64``; None is a sentinel)."""

    def __init__(self, rows: Sequence[Any]):
        if isinstance(rows, Repeated):
            self.values = np.full(len(rows), MISSING_INT if rows.value is None else int(rows.value), dtype=np.int64)
            return
        self.values = np.fromiter((MISSING_INT if v is None else int(v) for v in rows), dtype=np.int64,
                                  count=len(rows))

    def _get(self, pos: int) -> Any:
        v = int(self.values[pos])
        return None if v == MISSING_INT else v

    def _put(self, pos: int, value: Any) -> None:
        self.values[pos] = MISSING_INT if value is None else int(value)

    def tolist(self) -> list[Any]:
        return [None if v == MISSING_INT else v for v in self.values.tolist()]

    def take(self, positions: np.ndarray) -> pd.api.extensions.ExtensionArray:
        values = self.values[positions]
        mask = values == MISSING_INT
        return pd.arrays.IntegerArray(np.where(mask, 0, values), mask)


class FloatColumn(_Column):
    """A float or None per row (``float64``; None is NaN)."""

    def __init__(self, rows: Sequence[Any]):
        if isinstance(rows, Repeated):
            self.values = np.full(len(rows), np.nan if rows.value is None else float(rows.value), dtype=np.float64)
            return
        self.values = np.fromiter((np.nan if v is None else float(v) for v in rows), dtype=np.float64,
                                  count=len(rows))

    def _get(self, pos: int) -> Any:
        v = float(self.values[pos])
        return None if v != v else v

    def _put(self, pos: int, value: Any) -> None:
        self.values[pos] = np.nan if value is None else float(value)

    def tolist(self) -> list[Any]:
        return [None if v != v else v for v in self.values.tolist()]

    def take(self, positions: np.ndarray) -> np.ndarray:
        return self.values[positions]


class TextColumn(_Column):
    """A string or None per row, as an ``int32`` code into the distinct strings seen (-1: None)."""

    def __init__(self, rows: Sequence[Any]):
        self.texts: list[Any] = []
        self._code: dict[Any, int] = {}
        if isinstance(rows, Repeated):
            self.values = np.full(len(rows), self.intern(rows.value), dtype=np.int32)
            return
        self.values = np.fromiter((self.intern(v) for v in rows), dtype=np.int32, count=len(rows))

    def intern(self, value: Any) -> int:
        if value is None:
            return -1
        code = self._code.get(value)
        if code is None:
            code = self._code[value] = len(self.texts)
            self.texts.append(value)
        return code

    def codes(self, values: Any) -> Any:
        """The code of one value, or an ``int32`` array of the codes of a sequence of values (a batch's rows)."""
        if values is None or isinstance(values, str):
            return self.intern(values)
        intern = self.intern
        return np.fromiter(map(intern, values), dtype=np.int32, count=len(values))

    def code_of(self, value: Any) -> int | None:
        """The code of ``value`` when some row has held it (None: no row has), for comparing whole columns."""
        return self._code.get(value)

    def _get(self, pos: int) -> Any:
        code = int(self.values[pos])
        return None if code < 0 else self.texts[code]

    def _put(self, pos: int, value: Any) -> None:
        self.values[pos] = self.intern(value)

    def tolist(self) -> list[Any]:
        lookup = [*self.texts, None]
        return [lookup[c] for c in self.values.tolist()]

    def take(self, positions: np.ndarray) -> np.ndarray:
        lookup = np.empty(len(self.texts) + 1, dtype=object)
        lookup[:-1] = self.texts
        return lookup[self.values[positions]]   # code -1 reads the last slot: None


class IdColumn(_Column):
    """A string or None per row; a lowercase UUID (``8-4-4-4-12`` hex) is kept as 16 bytes, other text as is."""

    def __init__(self, rows: Sequence[Any]):
        self.values = np.zeros((len(rows), 16), dtype=np.uint8)   # row p's UUID (may be a memory-mapped file)
        self.kind = np.zeros(len(rows), dtype=np.int8)    # 0: None, 1: a UUID in values, 2: text in other
        self.other: dict[int, Any] = {}
        if isinstance(rows, Repeated) and rows.value is None:
            return
        for pos, value in enumerate(rows):
            if value is not None:
                self._put(pos, value)

    @property
    def values(self) -> np.ndarray:
        """The packed UUIDs as a (rows, 16) ``uint8`` array."""
        return self._values

    @values.setter
    def values(self, array: np.ndarray) -> None:
        self._values = np.asarray(array, dtype=np.uint8).reshape(-1, 16)
        self._bytes = self._values.reshape(-1).data   # a memoryview: row p at [16p, 16p + 16): a slice write is cheap

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_bytes"]   # a memoryview does not pickle; rebuilt from the array
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        values = state.pop("_values")
        self.__dict__.update(state)
        self.values = values

    def _put(self, pos: int, value: Any) -> None:
        self.other.pop(pos, None)
        if value is None:
            self.kind[pos] = 0
            return
        packed = _uuid_bytes(value)
        if packed is None:
            self.kind[pos], self.other[pos] = 2, value
        else:
            self.kind[pos] = 1
            self._bytes[16 * pos:16 * pos + 16] = packed

    def put_many(self, positions: np.ndarray, values: Sequence[Any]) -> None:
        """Write the rows at ``positions`` at once: the lowercase UUIDs among ``values`` are parsed by numpy (not a
        Python call per row); anything else goes row by row."""
        if self.other:
            for pos in positions[np.isin(positions, np.fromiter(self.other, dtype=np.intp))].tolist():
                del self.other[pos]
        packed, is_uuid = _uuid_bytes_many(values)
        kind = np.where(is_uuid, 1, 0).astype(np.int8)
        self.kind[positions] = kind
        if is_uuid.any():
            self._values[positions[is_uuid]] = packed[is_uuid]
        if not is_uuid.all():
            for i in np.flatnonzero(~is_uuid).tolist():
                if values[i] is not None:
                    self._put(int(positions[i]), values[i])

    def __len__(self) -> int:
        return len(self.kind)

    def _get(self, pos: int) -> Any:
        kind = self.kind[pos]
        if kind == 1:
            return _uuid_text(self._bytes[16 * pos:16 * pos + 16].hex())
        return self.other.get(pos) if kind == 2 else None

    def tolist(self) -> list[Any]:
        return self.take(np.arange(len(self), dtype=np.intp)).tolist()

    def take(self, positions: np.ndarray) -> np.ndarray:
        out = np.full(len(positions), None, dtype=object)
        kind = self.kind[positions]
        uuids = np.flatnonzero(kind == 1)
        if len(uuids):
            out[uuids] = _uuid_texts(self.values[positions[uuids]])
        for i in np.flatnonzero(kind == 2).tolist():
            out[i] = self.other[int(positions[i])]
        return out


def _uuid_bytes(value: Any) -> bytes | None:
    """The 16 bytes of a lowercase canonical UUID string (None for anything else, kept as text)."""
    if not isinstance(value, str) or len(value) != 36 or value != value.lower():
        return None
    if value[8] != "-" or value[13] != "-" or value[18] != "-" or value[23] != "-":
        return None
    try:
        return bytes.fromhex(value[:8] + value[9:13] + value[14:18] + value[19:23] + value[24:])
    except ValueError:
        return None


_NIBBLE = np.full(256, 255, dtype=np.uint8)   # the value of a lowercase hex digit; 255 for any other byte
_NIBBLE[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)
_UUID_HEX_AT = np.array([i for i in range(36) if i not in (8, 13, 18, 23)], dtype=np.intp)


def _uuid_bytes_many(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The 16 bytes of each lowercase canonical UUID among ``values`` and which ones are such UUIDs, parsed by
    numpy at once; the same rule as :func:`_uuid_bytes`."""
    n = len(values)
    is_uuid = np.zeros(n, dtype=bool)
    if not n:
        return np.zeros((0, 16), dtype=np.uint8), is_uuid
    fits = [isinstance(v, str) and len(v) == 36 for v in values]
    texts = [v if ok else "-" * 36 for v, ok in zip(values, fits, strict=True)]
    joined = "".join(texts)
    if not joined.isascii():
        texts = [t if t.isascii() else "-" * 36 for t in texts]
        joined = "".join(texts)
    chars = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(n, 36)
    nibbles = _NIBBLE[chars[:, _UUID_HEX_AT]]
    dashes = chars[:, [8, 13, 18, 23]] == ord("-")
    is_uuid[:] = np.asarray(fits) & dashes.all(axis=1) & (nibbles != 255).all(axis=1)
    packed = (nibbles[:, 0::2] << 4) | (nibbles[:, 1::2] & 15)
    return packed.astype(np.uint8), is_uuid


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_SPANS = ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24))   # hex from, to, text at


def _uuid_texts(packed: np.ndarray) -> np.ndarray:
    """UUID strings of many 16-byte rows at once (formatted by numpy, not one Python call per row)."""
    hexed = np.empty((len(packed), 32), dtype=np.uint8)
    hexed[:, 0::2], hexed[:, 1::2] = _HEX[packed >> 4], _HEX[packed & 15]
    text = np.full((len(packed), 36), ord("-"), dtype=np.uint8)
    for start, end, at in _UUID_SPANS:
        text[:, at:at + end - start] = hexed[:, start:end]
    return text.view("S36").ravel().astype("U36").astype(object)


def _uuid_text(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class KeyColumn(_Column):
    """Fixed text per row (a stream's contact keys): UTF-8 bytes in one blob with offsets, not an object a row.

    ``blob``, ``offsets`` and ``missing`` may be arrays read from files (a stream's result keeps them on disk)."""

    def __init__(self, rows: Sequence[Any]):
        encoded = [b"" if k is None else str(k).encode() for k in rows]
        self.missing = np.fromiter((k is None for k in rows), dtype=bool, count=len(rows))
        self.offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=self.offsets[1:])
        self.blob: bytes | np.ndarray = b"".join(encoded)

    def __len__(self) -> int:
        return len(self.missing)

    def _get(self, pos: int) -> Any:
        if self.missing[pos]:
            return None
        return bytes(self.blob[self.offsets[pos]:self.offsets[pos + 1]]).decode()

    def _put(self, pos: int, value: Any) -> None:
        raise TypeError("contact keys are fixed: they are the input's")

    def tolist(self) -> list[Any]:
        return self.take(np.arange(len(self), dtype=np.intp)).tolist()

    def take(self, positions: np.ndarray) -> np.ndarray:
        out = np.empty(len(positions), dtype=object)
        if not len(positions):
            return out
        starts, ends = self.offsets[positions], self.offsets[positions + 1]
        low, high = int(starts.min()), int(ends.max())
        if high - low > 4 * int((ends - starts).sum()) + 65536:   # scattered rows: read each on its own
            blob, low = self.blob, 0
        else:
            blob = bytes(self.blob[low:high])   # a page or a run of rows: one read, then sliced
        missing = self.missing[positions].tolist()
        out[:] = [None if gone else bytes(blob[s:e]).decode()
                  for gone, s, e in zip(missing, (starts - low).tolist(), (ends - low).tolist(), strict=True)]
        return out
