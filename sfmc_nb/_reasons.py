"""Rows that did not queue, grouped by reason, with the fix where it is known.

A hundred rows failing with the same HTTP 500 read as one line: the reason (the row's message with the
parts that differ from row to row, such as the offending value, folded away), how many rows, one example,
and what to do about it. :meth:`sfmc_nb.results.EntryResult.error_reasons` returns this table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ._rules import STATUSES, is_missing

__all__ = ["REASON_COLUMNS", "reason_text", "fix_for", "group_reasons"]

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
    (lambda s, r: "contact key longer than" in r, "shorten the keys: Marketing Cloud takes at most 254 characters"),
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
    """One row per (status, errorcode, reason) of ``errors`` (``EntryResult.errors()``), most rows first.

    ``example`` is the contact key of the first such row (``row <label>`` when its key is blank). The rows are
    grouped by their (status, errorcode, message) codes with numpy, so only the distinct messages are folded in
    Python: a million refused rows with a handful of messages cost a few milliseconds.
    """
    groups: dict[tuple[str, Any, str], list[int]] = {}   # (status, code, reason) -> [count, first row]
    folded: dict[tuple[Any, str], str] = {}
    for status, code, message, count, first in _distinct(errors):
        reason = folded.get((message, status))
        if reason is None:
            reason = folded[(message, status)] = reason_text(message, status)
        group = groups.get((status, code, reason))
        if group is None:
            groups[(status, code, reason)] = [count, first]
        else:   # messages that differ only in what the folds remove; the first row stays the earliest
            group[0] += count
    order = {s: i for i, s in enumerate(STATUSES)}
    # groups are in the order they first appear: the stable sort keeps it among equal counts
    rows = sorted(groups.items(), key=lambda item: (-item[1][0], order.get(item[0][0], 99)))
    keys, labels = errors["contactKey"], errors.index
    frame = pd.DataFrame([[reason, status, code, count, _example(keys.iloc[first], labels[first]),
                           fix_for(status, reason, key_column)]
                          for (status, code, reason), (count, first) in rows], columns=REASON_COLUMNS)
    return frame.astype({"errorcode": "Int64", "count": "int64"})


def _distinct(errors: pd.DataFrame) -> list[tuple[str, int | None, Any, int, int]]:
    """Each distinct (status, errorcode, message) of ``errors`` with its row count and first row, in the order
    they first appear."""
    if errors.empty:
        return []
    status_codes, statuses = pd.factorize(errors["status"], use_na_sentinel=False)   # a missing one reads "nan"
    code_codes, codes = pd.factorize(errors["errorcode"])
    message_codes, messages = pd.factorize(errors["message"])
    width_code, width_message = len(codes) + 1, len(messages) + 1   # code -1 (missing) becomes 0
    combined = ((status_codes.astype(np.int64) * width_code + code_codes + 1) * width_message + message_codes + 1)
    _, firsts, counts = np.unique(combined, return_index=True, return_counts=True)
    out = []
    for first, count in sorted(zip(firsts.tolist(), counts.tolist(), strict=True)):
        code, message = code_codes[first], message_codes[first]
        out.append((str(statuses[status_codes[first]]), None if code < 0 else int(codes[code]),
                    None if message < 0 or is_missing(messages[message]) else messages[message], count, first))
    return out


def _example(key: Any, label: Any) -> str:
    return key if isinstance(key, str) and key.strip() else f"row {label}"
