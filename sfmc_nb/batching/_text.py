"""Text and object arrays: exact ``str`` values, ``None`` for missing, and text UTF-8 cannot carry."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._refusals import Refusals

__all__ = ["obj_array", "is_object", "is_text_dtype", "all_text", "text_values", "present", "refuse_bad_text"]

_NONE = np.array(None, dtype=object)
_NA_AS_NONE: Any = None  # pandas takes None as ``na_value``; its type stubs do not list it


def obj_array(values: list[Any]) -> np.ndarray:
    """An object array from a list of scalars (``np.array`` would try to nest sequences)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def is_object(dtype: Any) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind == "O"


def is_text_dtype(dtype: Any) -> bool:
    """Any pandas text dtype: ``str``/``string`` (python or pyarrow storage) and pyarrow-backed ``string`` or
    ``large_string`` (``pd.read_csv(..., dtype_backend="pyarrow")``)."""
    if isinstance(dtype, pd.StringDtype):
        return True
    return isinstance(dtype, pd.ArrowDtype) and str(dtype.pyarrow_dtype) in ("string", "large_string", "string_view")


def all_text(s: pd.Series) -> bool:
    """True when every present value of ``s`` is text (or there is none)."""
    return pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")


def present(values: np.ndarray) -> np.ndarray:
    """True where an object array holds something other than ``None``."""
    return np.not_equal(values, _NONE)


def text_values(s: pd.Series) -> np.ndarray:
    """Text column as an object array of exact ``str`` with ``None`` where missing."""
    # Always a copy: to_numpy may return a view of the caller's data (writable for pandas 3 str columns),
    # and keys are blanked in place later; the caller's DataFrame must never change.
    values = s.to_numpy(dtype=object, na_value=_NA_AS_NONE, copy=True)
    if is_object(s.dtype) and not all(type(v) is str or v is None for v in values.tolist()):
        values = obj_array([v if v is None or type(v) is str else str(v) for v in values.tolist()])
    return values


def refuse_bad_text(values: np.ndarray, refusals: Refusals, reason: str, all_text: bool = True) -> None:
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
