"""Data extension columns and the value checks Marketing Cloud applies to entry data.

Kept apart from the tenant so the rules (what a Number, Date or EmailAddress column accepts) can be read
and tested on their own. Each check answers ``None`` (accepted) or ``(errorcode, message)``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

TEXT_LIMIT = 4000  # a Text column without a length holds at most this many characters
INT32 = (-(2**31), 2**31 - 1)  # a Number column is a 32-bit integer
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_INTEGER = re.compile(r"^\s*[-+]?\d+\s*$")
_DECIMAL = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*$")
_US_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?\s*$")
_BOOLEAN_TEXT = {"true", "false", "1", "0", "yes", "no", "y", "n"}


@dataclass(frozen=True)
class Column:
    """One column of a data extension, as ``/data/v1/customobjects/{id}/fields`` describes it."""

    name: str
    type: str
    length: int | None = None
    is_primary_key: bool = False
    is_nullable: bool = True
    default: str | None = None
    scale: int | None = None


@dataclass(frozen=True)
class DataExtension:
    """An entry data extension; ``fields_listed=False`` makes its fields endpoint answer 404."""

    id: str
    key: str
    name: str
    columns: tuple[Column, ...]
    fields_listed: bool = True

    def column(self, name: str) -> Column | None:
        """Column by name, case-insensitively (data extension field names are not case-sensitive)."""
        return self._by_name.get(name.lower())

    @cached_property
    def _by_name(self) -> dict[str, Column]:
        """Lower-cased name -> column, built once: every batch member looks its fields up here."""
        return {c.name.lower(): c for c in self.columns}


def check_data(de: DataExtension, data: object) -> tuple[int, str] | None:
    """Check a member's ``data`` object against the entry data extension; first problem wins."""
    if data is None:
        return None
    if not isinstance(data, dict):
        return 10001, "data must be a JSON object of data extension fields."
    for name, value in data.items():
        column = de.column(name)
        if column is None:
            return 10005, f"Field '{name}' does not exist in data extension '{de.name}'."
        problem = check_value(column, value)
        if problem is not None:
            return problem
    return None


def check_value(column: Column, value: object) -> tuple[int, str] | None:
    """Does ``value`` fit ``column``? Mirrors the conversions the service makes (numbers as text, etc.)."""
    name, kind = column.name, column.type
    if value is None or (value == "" and kind not in ("Text", "EmailAddress", "Phone")):
        if column.is_nullable:
            return None
        return 10002, f"Field '{name}' is required and may not be empty."
    if kind in ("Text", "EmailAddress", "Phone"):
        return _check_text(column, value)
    if kind == "Number":
        return _check_number(name, value)
    if kind == "Decimal":
        ok = (_is_number(value) and math.isfinite(value)) or (isinstance(value, str) and _DECIMAL.match(value))
        return None if ok else (10001, f"Field '{name}' expects a decimal number, got {_show(value)}.")
    if kind == "Boolean":
        ok = (isinstance(value, bool) or (isinstance(value, int) and value in (0, 1))
              or (isinstance(value, str) and value.strip().lower() in _BOOLEAN_TEXT))
        return None if ok else (10001, f"Field '{name}' expects a boolean, got {_show(value)}.")
    if kind == "Date":
        ok = isinstance(value, str) and parse_date(value) is not None
        return None if ok else (10001, f"Field '{name}' expects a date, got {_show(value)}.")
    return None


def _check_text(column: Column, value: object) -> tuple[int, str] | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return 10001, f"Field '{column.name}' expects text, got {_show(value)}."
    text = value if isinstance(value, str) else repr(value)
    limit = column.length or TEXT_LIMIT
    if len(text) > limit:
        return 10005, (f"Value of field '{column.name}' is {len(text)} characters long; "
                       f"the column holds at most {limit}.")
    if column.type == "EmailAddress" and not _EMAIL.match(text):
        return 10003, f"Field '{column.name}' expects an email address, got {_show(text)}."
    return None


def _check_number(name: str, value: object) -> tuple[int, str] | None:
    number: int | None = None
    if _is_number(value) and (isinstance(value, int) or (math.isfinite(value) and value.is_integer())):
        number = int(value)
    elif isinstance(value, str) and _INTEGER.match(value):
        number = int(value)
    if number is None:
        return 10001, f"Field '{name}' expects a whole number, got {_show(value)}."
    if not INT32[0] <= number <= INT32[1]:
        return 10005, f"Field '{name}' holds a 32-bit whole number; {number} is out of range."
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_date(text: str) -> datetime | None:
    """ISO 8601 date or date-time (``Z`` allowed), or US ``M/D/YYYY [h:mm[:ss] [AM|PM]]``; else None."""
    text = text.strip()
    if not text:
        return None
    match = _US_DATE.match(text)
    if match:
        month, day, year, hour, minute, second, ampm = match.groups()
        hour_n = int(hour or 0)
        if ampm:
            if not 1 <= hour_n <= 12:
                return None
            hour_n = hour_n % 12 + (12 if ampm.lower() == "pm" else 0)
        try:
            return datetime(int(year), int(month), int(day), hour_n, int(minute or 0), int(second or 0))
        except ValueError:
            return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _show(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
