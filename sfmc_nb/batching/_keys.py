"""Contact keys: text kept exactly as given, whole numbers as decimal text, everything else refused.

Keys come back as an object array of ``str``/``None``; a refused row gets ``None`` and a reason: missing,
blank, made only of invisible characters (zero-width, control, white space), or longer than Marketing
Cloud's 254 characters. White space around a key is kept (it makes another contact key), with a note. Notes
(what was converted, padded and repeated keys) go to ``notes`` for the caller to warn about.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable
from typing import cast

import numpy as np
import pandas as pd

from .._rules import MAX_CONTACT_KEY_LENGTH, is_missing, plural
from ..errors import ValidationError
from ._refusals import Refusals
from ._text import all_text, is_object, is_text_dtype, obj_array, present, refuse_bad_text, text_values

__all__ = ["QUIET", "prepare_keys", "check_duplicates"]

QUIET = "(duplicates='drop') "
"""Prefix of notes that only confirm what the caller asked for: kept in ``warnings``, not raised."""

_BAD_TEXT = "contact key is not valid UTF-8 text (lone surrogate)"
_BLANK = "blank contact key (empty or only whitespace)"
_INVISIBLE = "contact key holds only invisible characters (zero-width, control or white space)"
_TOO_LONG = f"contact key longer than {MAX_CONTACT_KEY_LENGTH} characters (Marketing Cloud's limit)"
# A character that shows: not white space, not a control character, not a zero-width or other format mark.
_VISIBLE = re.compile("[^\\s\x00-\x1f\x7f-\x9f\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")


def prepare_keys(s: pd.Series, col: Hashable, float_keys: str, refusals: Refusals, notes: list[str]) -> np.ndarray:
    """Keys as an object array of str/None; refused rows get ``None`` and a reason."""
    dtype = s.dtype
    if is_text_dtype(dtype) or (is_object(dtype) and all_text(s)):
        keys = text_values(s)
        _refuse_missing_and_blank(keys, refusals, notes=notes, col=col)
        refuse_bad_text(keys, refusals, _BAD_TEXT)
        return keys
    if pd.api.types.is_bool_dtype(dtype):
        raise ValidationError(f"contact key column {col!r} holds booleans; contact keys are text")
    if pd.api.types.is_integer_dtype(dtype):
        return _int_keys(s, refusals)
    if pd.api.types.is_float_dtype(dtype):
        return _float_keys(s, col, float_keys, refusals, notes)
    if is_object(dtype):
        return _object_keys(s, col, float_keys, refusals, notes)
    raise ValidationError(
        f"contact key column {col!r} has dtype {dtype}; contact keys are text: read the column as text "
        f"(e.g. pd.read_csv(..., dtype={{{str(col)!r}: str}})) or convert it with .astype(str)")


def _int_keys(s: pd.Series, refusals: Refusals) -> np.ndarray:
    missing = s.isna().to_numpy()
    dtype = s.dtype  # numpy, or a nullable extension dtype (Int64, pyarrow) that names its numpy dtype
    numpy_dtype = dtype if isinstance(dtype, np.dtype) else cast(np.dtype, getattr(dtype, "numpy_dtype", dtype))
    ints = s.to_numpy(dtype=numpy_dtype, na_value=0)
    keys = obj_array(list(map(str, ints.tolist())))
    keys[missing] = None
    refusals.add(np.flatnonzero(missing), "missing contact key")
    return keys


def _float_keys(s: pd.Series, col: Hashable, float_keys: str, refusals: Refusals, notes: list[str]) -> np.ndarray:
    values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    found = values[~missing]
    keys = np.full(len(values), None, dtype=object)
    refusals.add(np.flatnonzero(missing), "missing contact key")
    if not len(found):
        return keys
    integral = np.isfinite(found) & (found == np.floor(found))
    if not integral.all():
        bad = found[~integral][:3].tolist()
        raise ValidationError(
            f"contact key column {col!r} holds numbers that are not whole ({', '.join(map(repr, bad))}); "
            f"contact keys are text: read the column as text (pd.read_csv(..., dtype={{{str(col)!r}: str}}))")
    if float_keys == "refuse":
        raise ValidationError(
            f"contact key column {col!r} holds numbers stored as floats (e.g. {float(found[0])!r}), which read_csv "
            f"makes of numeric ids when a value is missing; read the column as text "
            f"(pd.read_csv(..., dtype={{{str(col)!r}: str}})) so keys keep their exact form")
    keys[~missing] = _int_strings(found)
    notes.append(_float_key_note(col, float(found[0]), big=bool((np.abs(found) >= 2**53).any())))
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


def _object_keys(s: pd.Series, col: Hashable, float_keys: str, refusals: Refusals, notes: list[str]) -> np.ndarray:
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
        if is_missing(v):
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
    keys = obj_array(out)
    refusals.add(bad_pos, bad_reason)
    if converted_floats:
        notes.append(_float_key_note(col, float(converted_floats[0])))
    _refuse_missing_and_blank(keys, refusals, missing_done=True, notes=notes, col=col)
    refuse_bad_text(keys, refusals, _BAD_TEXT)
    return keys


def _refuse_missing_and_blank(keys: np.ndarray, refusals: Refusals, missing_done: bool = False,
                              notes: list[str] | None = None, col: Hashable = None) -> None:
    """Refuse missing, blank, invisible-only and over-long keys; note keys with white space around them."""
    found = present(keys)
    if not missing_done:
        refusals.add(np.flatnonzero(~found), "missing contact key")
    idx = np.flatnonzero(found)
    values: list[str] = keys[idx].tolist()
    search = _VISIBLE.search
    shown = np.fromiter((search(k) is not None for k in values), dtype=bool, count=len(values))
    long = np.fromiter(map(len, values), dtype=np.int64, count=len(values)) > MAX_CONTACT_KEY_LENGTH
    for mask, reason in ((~shown, None), (shown & long, _TOO_LONG)):
        if mask.any():
            where = idx[mask]
            if reason is None:
                reasons = [_BLANK if k.isspace() or not k else _INVISIBLE for k in keys[where].tolist()]
                refusals.add(where, reasons)
            else:
                refusals.add(where, reason)
            keys[where] = None
    if notes is not None:
        padded = [k for k, ok in zip(values, shown & ~long, strict=True) if ok and (k[0].isspace() or k[-1].isspace())]
        if padded:
            verb = "has" if len(padded) == 1 else "have"
            notes.append(f"{plural(len(padded), 'contact key')} in {col!r} {verb} white space at the start or end "
                         f"(e.g. {padded[0]!r}); sent as given, which makes them other contacts than the trimmed keys. "
                         f"Strip them first if that is not meant: df[{str(col)!r}] = df[{str(col)!r}].str.strip()")


def check_duplicates(keys: np.ndarray, refused: np.ndarray, index: pd.Index, duplicates: str,
                     refusals: Refusals, notes: list[str]) -> None:
    """Among rows otherwise sendable, find repeated keys; warn, or refuse all but the first."""
    ok = np.flatnonzero(~refused & present(keys))
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
        notes.append(f"{QUIET}{plural(len(later), 'row')} repeating the contact key of an earlier row skipped, "
                     f"e.g. {examples}")
    else:
        notes.append(f"{plural(len(later), 'row')} repeat the contact key of an earlier row ({len(repeated)} keys, "
                     f"e.g. {examples}); the API enters every occurrence. Pass duplicates='drop' to send only the "
                     f"first")
