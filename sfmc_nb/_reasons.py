"""Rows that did not queue, grouped by reason, with the fix where it is known.

A hundred rows failing with the same HTTP 500 read as one line: the reason (the row's message with the
parts that differ from row to row, such as the offending value, folded away), how many rows, one example,
and what to do about it. :meth:`sfmc_nb.results.EntryResult.error_reasons` returns this table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._rowstore import MISSING_INT, CodeColumn, IntColumn, TextColumn
from ._rules import MAX_CONTACT_KEY_LENGTH, STATUSES, is_missing

__all__ = ["REASON_COLUMNS", "reason_text", "fix_for", "group_reasons", "group_row_reasons"]

REASON_COLUMNS = ["reason", "status", "errorcode", "count", "example", "fix"]

# Parts of a message that differ from row to row, folded so equal causes group together.
_FOLDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"""\bgot (?:'[^']*'|"[^"]*"|[^\s.;,)]+)"""), "got '…'"),
    (re.compile(r"\bduplicate of row .*?(?=;|$)"), "duplicate of an earlier row"),
    (re.compile(r"\btext of \d+ characters exceeds the limit of (\d+)"), r"text exceeds the limit of \1 characters"),
    (re.compile(r"\bafter \d+ (failed|refused) attempts"), r"after repeated \1 attempts"),
    (re.compile(r"\bcontact key \S+ is not a whole number"), "contact key is not a whole number"),
    (re.compile(r"\bchecking \d+ contacts"), "checking contacts"),
]

_RETRY_LATER = ".retry() later"
# (test on status and folded reason, fix): the first that matches gives the fix.
_FIXES: list[tuple[Callable[[str, str], bool], str]] = [
    (lambda s, r: "contact key" in r and ("missing" in r or "blank" in r or "invisible" in r),
     "fill in the {key} column"),
    (lambda s, r: "contact key longer than" in r,
     f"shorten the keys: Marketing Cloud takes at most {MAX_CONTACT_KEY_LENGTH} characters"),
    (lambda s, r: "duplicate of an earlier row" in r, "none needed: duplicates='drop' sent the first row of each key"),
    (lambda s, r: "contact key" in r and ("whole number" in r or "must be text" in r),
     "read {key} as text: pd.read_csv(..., dtype={{'{key}': str}})"),
    (lambda s, r: "exceeds the limit" in r, "shorten the values, or widen the field in the entry data extension"),
    (lambda s, r: "lone surrogate" in r, "repair the text: it holds a broken character"),
    (lambda s, r: "JSON" in r or "entry data" in r, "convert the column to numbers or text"),
    (lambda s, r: s == "skipped" and r.startswith("not sent"), ".retry() sends them"),
    (lambda s, r: s == "failed" and "throttled" in r, _RETRY_LATER + " (or with a lower concurrency)"),
    (lambda s, r: s == "failed" and ("HTTP 5" in r or "attempts" in r), _RETRY_LATER),
    (lambda s, r: s == "unknown", ".retry() checks them with the status endpoint before resending"),
    (lambda s, r: s == "not_queued" and "email" in r.lower(), "correct the email addresses, then enter these rows "
                                                               "again"),
    (lambda s, r: s in ("not_queued", "failed"), "correct what the message names, then enter these rows again"),
]


def reason_text(message: Any, status: str) -> str:
    """The reason of one row: its message with row-specific parts folded (or the status when it has none)."""
    if is_missing(message) or not str(message).strip():
        return status.replace("_", " ")
    text = " ".join(str(message).split())
    for pattern, replacement in _FOLDS:
        text = pattern.sub(replacement, text)
    return text


def fix_for(status: str, reason: str, key_column: str | None = None) -> str:
    """What to do about rows with this status and reason ("" when no fix is known)."""
    key = key_column or "contact key"
    for test, fix in _FIXES:
        if test(status, reason):
            return fix.format(key=key)
    return ""


def group_reasons(errors: pd.DataFrame, key_column: str | None = None) -> pd.DataFrame:
    """One row per (status, errorcode, reason) of ``errors`` (a frame like ``EntryResult.errors()``), most rows
    first. ``example`` is the contact key of the first such row (``row <label>`` when its key is blank)."""
    status, statuses = pd.factorize(errors["status"], use_na_sentinel=False)   # a missing status reads "nan"
    code, codes = pd.factorize(errors["errorcode"])
    message, messages = pd.factorize(errors["message"])
    keys, labels = errors["contactKey"], errors.index
    return _reason_table(_Coded(status, list(statuses)), _Coded(code, list(codes)), _Coded(message, list(messages)),
                         lambda row: _example(keys.iloc[row], labels[row]), key_column)


def group_row_reasons(positions: np.ndarray, status: CodeColumn, errorcode: IntColumn, message: TextColumn,
                      key_and_label: Callable[[int], tuple[Any, Any]], key_column: str | None = None) -> pd.DataFrame:
    """:func:`group_reasons` of the rows at ``positions`` of a result's compact columns, grouped on the columns'
    codes: no frame is built, so a million error rows cost tens of milliseconds. ``key_and_label(pos)`` gives
    a row's contact key and index label (for the example)."""
    code, codes = pd.factorize(errorcode.values[positions])
    missing = np.flatnonzero(codes == MISSING_INT)
    if len(missing):
        code[code == missing[0]] = -1
    return _reason_table(_Coded(status.values[positions], status.categories), _Coded(code, list(codes)),
                         _Coded(message.values[positions], message.texts),
                         lambda row: _example(*key_and_label(int(positions[row]))), key_column)


@dataclass
class _Coded:
    """One column of the error rows as integer codes (-1: missing) into its distinct ``values``."""

    codes: np.ndarray
    values: Sequence[Any]

    def value(self, row: int) -> Any:
        code = int(self.codes[row])
        return None if code < 0 else self.values[code]


def _reason_table(status: _Coded, errorcode: _Coded, message: _Coded, example: Callable[[int], str],
                  key_column: str | None) -> pd.DataFrame:
    """Rows grouped by their (status, errorcode, message) codes with numpy; only the distinct messages are
    folded in Python, and groups whose messages fold alike are merged."""
    groups: dict[tuple[str, Any, str], list[int]] = {}   # (status, code, reason) -> [count, first row]
    folded: dict[tuple[Any, str], str] = {}
    for count, first in _distinct(status, errorcode, message):
        state = status.value(first)
        state = "nan" if state is None else str(state)
        code, text = errorcode.value(first), message.value(first)
        code, text = None if code is None else int(code), None if is_missing(text) else text
        reason = folded.get((text, state))
        if reason is None:
            reason = folded[(text, state)] = reason_text(text, state)
        group = groups.get((state, code, reason))
        if group is None:
            groups[(state, code, reason)] = [count, first]
        else:   # messages that differ only in what the folds remove; the first row stays the earliest
            group[0] += count
    order = {s: i for i, s in enumerate(STATUSES)}
    # groups are in the order they first appear: the stable sort keeps it among equal counts
    rows = sorted(groups.items(), key=lambda item: (-item[1][0], order.get(item[0][0], 99)))
    frame = pd.DataFrame([[reason, state, code, count, example(first), fix_for(state, reason, key_column)]
                          for (state, code, reason), (count, first) in rows], columns=REASON_COLUMNS)
    return frame.astype({"errorcode": "Int64", "count": "int64"})


def _distinct(status: _Coded, errorcode: _Coded, message: _Coded) -> list[tuple[int, int]]:
    """(row count, first row) of each distinct (status, errorcode, message), in the order they first appear."""
    if not len(status.codes):
        return []
    combined = (((status.codes.astype(np.int64) + 1) * (len(errorcode.values) + 1) + errorcode.codes + 1)
                * (len(message.values) + 1) + message.codes + 1)
    group, _ = pd.factorize(combined)   # numbered in the order they first appear
    firsts = np.flatnonzero(np.diff(np.maximum.accumulate(group), prepend=-1) > 0)
    return list(zip(np.bincount(group).tolist(), firsts.tolist(), strict=True))


def _example(key: Any, label: Any) -> str:
    return key if isinstance(key, str) and key.strip() else f"row {label}"
