"""Which columns a run sends: the contact key and the ``data=`` columns, resolved in one place.

The Python API, the accessor and ``%%journey_enter`` all resolve ``data=`` here, with one default, ``"auto"``:
the frame's columns (other than the key) that are fields of the entry data extension, read by the pre-flight
checks. Columns left out are named in one note (a warning of the run). Without the fields (``validate=False``,
or a login that cannot read them) ``"auto"`` sends every column but the key, with a note saying so.
``"all"`` is every column but the key; a name or a list of names is exactly those; ``None`` or ``[]`` none.

Everything is checked here, before anything is sent: the key column exists, named columns exist (with a
"did you mean" for typos), no column label appears twice, and no data column is a field name Marketing Cloud
reserves (``eventInstanceId``).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Hashable, Iterable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .._rules import default_contact_key, join_limited
from ..errors import ValidationError

__all__ = ["AUTO", "ALL", "RESERVED_FIELDS", "Columns", "resolve_columns"]

AUTO = "auto"
ALL = "all"
RESERVED_FIELDS = ("eventInstanceId",)
"""Entry data field names Marketing Cloud keeps for itself (compared without case)."""


class Columns(NamedTuple):
    """The columns of a run: the contact key, the data columns (in frame order for "auto"/"all") and notes."""

    key: Hashable
    data: list[Hashable]
    notes: list[str]


def resolve_columns(frame: pd.DataFrame, contact_key: Hashable | None = None, data: Any = AUTO, *,
                    fields: Collection[str] | None = None, key_option: str = "contact_key=",
                    data_option: str = "data=") -> Columns:
    """The contact-key column, the data columns and notes for a run on ``frame``.

    ``contact_key`` None: the column named ``SubscriberKey`` or ``ContactKey`` (any case). ``data``: ``"auto"``
    (with ``fields``, the entry data extension's field names: the columns that are fields; without: every
    column but the key), ``"all"``, one column name, several, or None for none. ``key_option`` and
    ``data_option`` name the options in messages (``--contact-key`` in the magic). Raises
    :class:`ValidationError` for a missing or repeated column and a reserved field name.
    """
    key = _key_column(frame, contact_key, key_option)
    notes: list[str] = []
    if isinstance(data, str) and data == AUTO:
        cols, notes = _auto_columns(frame, key, fields, data_option)
    elif isinstance(data, str) and data == ALL:
        cols = [c for c in frame.columns if c != key]
    else:
        cols = _named_columns(frame, key, data, data_option)
    _check_unique(frame, [key, *cols])
    reserved = [c for c in cols if str(c).lower() in {r.lower() for r in RESERVED_FIELDS}]
    if reserved:
        raise ValidationError(
            f"data column {reserved[0]!r} is a field name Marketing Cloud reserves for itself "
            f"({', '.join(RESERVED_FIELDS)}): rename the column or leave it out of {data_option}")
    return Columns(key, cols, notes)


def _key_column(frame: pd.DataFrame, contact_key: Hashable | None, key_option: str) -> Hashable:
    if contact_key is None:
        found = default_contact_key(frame.columns)
        if found is None:
            raise ValidationError(f"name the contact key column with {key_option}; columns are "
                                  f"{_shown(frame.columns)}")
        return found
    if not _is_label(contact_key) or contact_key not in frame.columns:
        raise ValidationError(_missing_message(frame, [contact_key], key=True))
    return contact_key


def _named_columns(frame: pd.DataFrame, key: Hashable, data: Any, data_option: str) -> list[Hashable]:
    if data is None:
        return []
    if isinstance(data, str) or not isinstance(data, Iterable):
        names = [data]
    else:
        names = list(data)
    if not all(_is_label(c) for c in names):
        raise ValidationError(f"{data_option} takes column names, 'auto' or 'all'; got {data!r}")
    names = list(dict.fromkeys(names))
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValidationError(_missing_message(frame, missing, key=False))
    return names


def _auto_columns(frame: pd.DataFrame, key: Hashable, fields: Collection[str] | None,
                  data_option: str) -> tuple[list[Hashable], list[str]]:
    """"auto": the columns that are fields (with ``fields``), else every column but the key; one note."""
    others: list[Hashable] = [c for c in frame.columns if c != key]
    reserved = {r.lower() for r in RESERVED_FIELDS}
    kept_out = [c for c in others if str(c).lower() in reserved]
    others = [c for c in others if c not in kept_out]
    auto = f"{data_option}'auto'" if data_option.endswith("=") else f"{data_option} auto"
    notes = [f"{auto} left out {_names(kept_out)}: field names Marketing Cloud reserves"] if kept_out else []
    if fields is None:
        if others:
            notes.append(f"{auto} without the entry data extension's fields (checks off or not "
                         f"readable): sending every column but the key: {_names(others)}. Name the columns with "
                         f"{data_option} to choose")
        return others, notes
    by_lower = {str(f).lower() for f in fields}
    chosen: list[Hashable] = [c for c in others if str(c).lower() in by_lower]
    left = [c for c in others if c not in chosen]
    if left:
        notes.append(f"{auto} left out {_names(left)}: not fields of the entry data extension "
                     f"(its fields: {join_limited(fields, 20)}); sent: {_names(chosen) if chosen else 'none'}")
    return chosen, notes


def _check_unique(frame: pd.DataFrame, wanted: list[Hashable]) -> None:
    for c in dict.fromkeys(wanted):
        if isinstance(frame.columns.get_loc(c), (slice, np.ndarray)):
            raise ValidationError(f"column {c!r} appears more than once in the DataFrame; rename the copies")


def _is_label(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _names(cols: Iterable[Any]) -> str:
    return join_limited((repr(c) for c in cols), 20)


def _shown(columns: pd.Index) -> str:
    return join_limited((repr(c) for c in columns), 50) or "(none)"


def _missing_message(frame: pd.DataFrame, missing: list[Any], *, key: bool) -> str:
    """Each missing column with the closest existing name, then the frame's columns."""
    by_lower = {str(c).lower(): str(c) for c in frame.columns}
    what = []
    for c in missing:
        role = "contact key column" if key else "column"
        hint = [by_lower[m] for m in difflib.get_close_matches(str(c).lower(), list(by_lower), n=1)]
        what.append(f"{role} {c!r} not found" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    return "; ".join(what) + f". The DataFrame's columns are: {_shown(frame.columns)}"
