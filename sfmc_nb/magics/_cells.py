"""The body of a ``%%journey_enter`` cell as a DataFrame: CSV, JSON lines or a JSON list, never guessed.

A wrong guess here enters the wrong contacts without a word (a trailing comma once shifted every contact key
one column over), so every doubt is refused with the line to fix. Line numbers count the lines of the cell
body from 1 (the first line under ``%%journey_enter``), blank lines and lines inside quoted values included.

Which form: the first non-blank line decides. ``{`` starts JSON lines (one object per line), ``[`` a JSON
list of objects, anything else CSV with a header row.

CSV, read with the stdlib :mod:`csv` so every value stays text (``000123`` keeps its zeros):

- the separator is read from the header line, outside quotes: a comma if it has one; with no comma, a tab or
  a semicolon if it has one of them (both is refused); otherwise a comma (a single column);
- every row has as many fields as the header, or the cell is refused naming the row's line and what to change;
- header names are non-empty and unique; a header without rows is refused;
- white space around a value is stripped on both sides, unless the value is quoted (``"  kept  "``); header
  names are always stripped; a value is quoted when its field starts with ``"`` (after spaces), a quote
  inside it is written ``""``, and nothing but the separator may follow its closing quote;
- an empty value (``,,`` or ``""``) is missing (NaN), never the empty string, so a blank key is refused later;
- a UTF-8 BOM at the start is dropped; LF, CRLF and CR line ends all work; blank lines are skipped.

JSON: every row is an object whose values are text, numbers, true/false or null (the entry data extension
takes one value per field); nested objects or lists, and a field repeated in one object, are refused.
"""

from __future__ import annotations

import bisect
import collections
import csv
import io
import itertools
import json
import re
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from IPython.core.error import UsageError

from .._rules import plural
from ._errors import listed

__all__ = ["read_body"]

CELL_TEXT = pd.StringDtype("python", na_value=np.nan)
"""pandas' text dtype with Python storage: it holds any text a cell carries (with pyarrow installed, the default
text dtype is stored by Arrow, which refuses lone surrogates), the same whether pyarrow is installed or not."""

SEPARATOR_NAMES = {",": "comma", "\t": "tab", ";": "semicolon"}
EXCERPT_CHARS = 40
"""Characters of an offending line quoted in a refusal."""

_QUOTED_PART = re.compile(r'"[^"]*"')


def read_body(body: str, prog: str) -> pd.DataFrame:
    """The rows of a cell body (see the module docstring); a ``UsageError`` naming the line for anything doubtful."""
    text = body.removeprefix("\ufeff")
    lines = io.StringIO(text, newline="").readlines()  # \n, \r\n or \r; never the Unicode separators
    first = next((line.strip() for line in lines if line.strip()), None)
    if first is None:
        raise UsageError(f"{prog}: the cell body is empty: put CSV (a header row, then one row per contact) "
                         "or JSON lines in it")
    if first.startswith("{"):
        return _json_lines(lines, prog)
    if first.startswith("["):
        return _json_list(text, lines, prog)
    return _csv(lines, first, prog)


# --------------------------------------------------------------------------- CSV


class _Record(NamedTuple):
    line: int  # physical line where the record starts
    fields: list[str]  # as the csv module read them
    quoted: list[bool]  # which of them were quoted


def _csv(lines: list[str], header_line: str, prog: str) -> pd.DataFrame:
    sep = _separator(header_line, prog)
    records = _records(lines, sep, prog)
    head, rows = records[0], records[1:]
    names = _header(head, sep, prog)
    if not rows:
        raise UsageError(f"{prog}: the cell body has a header (line {head.line}) but no rows: add one line per "
                         "contact under the header")
    values = []
    for record in rows:
        if len(record.fields) != len(names):
            raise _count_error(record, len(names), sep, lines, prog)
        values.append([_value(v, q) for v, q in zip(record.fields, record.quoted, strict=True)])
    return pd.DataFrame(values, columns=names, dtype=CELL_TEXT)


def _separator(header_line: str, prog: str) -> str:
    """A comma, or a tab or semicolon when the header (outside quotes) has one of them and no comma."""
    outside = _QUOTED_PART.sub("", header_line)
    if "," in outside:
        return ","
    if "\t" in outside and ";" in outside:
        raise UsageError(f"{prog}: the header has both tabs and semicolons: separate the columns with one "
                         "of comma, tab or semicolon, and quote a name that contains another")
    if "\t" in outside:
        return "\t"
    return ";" if ";" in outside else ","


def _records(lines: list[str], sep: str, prog: str) -> list[_Record]:
    """The non-blank records, each with the line it starts on (the csv module counts the lines it reads)."""
    reader = csv.reader(lines, delimiter=sep, quotechar='"', doublequote=True, skipinitialspace=True,
                        strict=True)
    records: list[_Record] = []
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            raise _csv_error(exc, start, reader.line_num, lines, prog) from None
        raw = "".join(lines[start - 1:reader.line_num])
        if raw.strip():
            records.append(_Record(start, fields, _quoted_fields(raw, fields, sep)))
        start = reader.line_num + 1


def _quoted_fields(raw: str, fields: list[str], sep: str) -> list[bool]:
    """Which fields of a record were quoted: the csv module does not say, so follow its fields along the text.

    With ``skipinitialspace`` and ``strict``, a field is its leading spaces, then either its text as is, or
    ``"`` + its text with each ``"`` doubled + ``"``; then the separator.
    """
    flags = []
    pos = 0
    for value in fields:
        while raw.startswith(" ", pos):
            pos += 1
        quoted = raw.startswith('"', pos)
        pos += len(value) + (2 + value.count('"') if quoted else 0) + len(sep)
        flags.append(quoted)
    return flags


def _value(value: str, quoted: bool) -> str | None:
    """White space stripped from an unquoted value; an empty value is missing."""
    if not quoted:
        value = value.strip()
    return value if value else None


def _header(head: _Record, sep: str, prog: str) -> list[str]:
    names = [name.strip() for name in head.fields]
    empty = [i for i, name in enumerate(names, start=1) if not name]
    if empty:
        where = f"column {empty[0]} of the header (line {head.line})"
        if empty[0] == len(names) > 1:
            raise UsageError(f"{prog}: {where} has no name: remove the trailing {SEPARATOR_NAMES[sep]} or name "
                             "the column")
        raise UsageError(f"{prog}: {where} has no name: name every column")
    repeated = sorted({name for name in names if names.count(name) > 1}, key=names.index)
    if repeated:
        raise UsageError(f"{prog}: the header (line {head.line}) repeats the column name {listed(repeated)}: "
                         "give every column its own name")
    return names


def _count_error(record: _Record, expected: int, sep: str, lines: list[str], prog: str) -> UsageError:
    got = len(record.fields)
    name = SEPARATOR_NAMES[sep]
    if got > expected and not any(v.strip() for v in record.fields[expected:]):
        fix = f"remove the trailing {name}" + ("s" if got - expected > 1 else "") + " or add a column name"
    elif got > expected:
        fix = f"quote the values that contain a {name} (\"...\") or add column names to the header"
    else:
        fix = f"add the missing values (an empty value is nothing between two {name}s) or remove header columns"
    return UsageError(f"{prog}: line {record.line} of the cell body {_excerpt(lines, record.line)} has "
                      f"{plural(got, 'field')} but the header has {expected}: {fix}")


def _csv_error(exc: csv.Error, start: int, line: int, lines: list[str], prog: str) -> UsageError:
    message = str(exc)
    if message.startswith("unexpected end of data"):
        return UsageError(f"{prog}: the row starting on line {start} of the cell body {_excerpt(lines, start)} "
                          "opens a quote that never closes: close it with \" (a quote inside a value is \"\")")
    if "expected after" in message:
        return UsageError(f"{prog}: line {line} of the cell body {_excerpt(lines, line)} has text after a closing "
                          "quote: put the whole value inside the quotes (a quote inside a value is \"\")")
    return UsageError(f"{prog}: line {line} of the cell body {_excerpt(lines, line)} is not valid CSV ({message})")


def _excerpt(lines: list[str], line: int) -> str:
    """``('000123,Ann,')``: the start of a line, its tabs and odd characters visible."""
    text = lines[line - 1].rstrip("\r\n") if 0 < line <= len(lines) else ""
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS - 3] + "..."
    return f"({text!r})"


# --------------------------------------------------------------------------- JSON


class _Object(dict):
    """A decoded JSON object that remembers the fields it was given more than once."""

    repeated: list[str]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    counts = collections.Counter(name for name, _ in pairs)
    obj.repeated = [name for name, count in counts.items() if count > 1]
    return obj


_DECODER = json.JSONDecoder(object_pairs_hook=_object)


def _json_lines(lines: list[str], prog: str) -> pd.DataFrame:
    rows = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = _DECODER.decode(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{prog}: line {n} of the cell body is not valid JSON ({exc.msg}); JSON lines need "
                             "one object per line") from None
        if not isinstance(row, dict):
            raise UsageError(f"{prog}: line {n} of the cell body is {_kind(row)}, not a JSON object; JSON lines "
                             "need one object per line")
        rows.append(_checked(row, f"line {n} of the cell body", prog))
    return pd.DataFrame.from_records(rows)


def _json_list(text: str, lines: list[str], prog: str) -> pd.DataFrame:
    try:
        whole = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{prog}: the cell body is not valid JSON ({exc.msg} at line {exc.lineno} column "
                         f"{exc.colno})") from None
    if not whole:  # a list: its first character is "["
        raise UsageError(f"{prog}: the JSON list is empty: the input has no rows")
    rows = []
    for number, (line, row) in enumerate(_list_items(text, lines), start=1):
        where = f"item {number} of the JSON list (line {line} of the cell body)"
        if not isinstance(row, dict):
            raise UsageError(f"{prog}: {where} is {_kind(row)}, not an object; a JSON cell body must be a list "
                             "of objects (or one object per line)")
        rows.append(_checked(row, where, prog))
    return pd.DataFrame.from_records(rows)


def _list_items(text: str, lines: list[str]) -> list[tuple[int, Any]]:
    """The items of a JSON list already known to be valid, each with the line it starts on."""
    starts = list(itertools.accumulate((len(line) for line in lines), initial=0))
    items = []
    pos = _after_space(text, text.index("[") + 1)
    while text[pos] != "]":
        item, end = _DECODER.raw_decode(text, pos)
        items.append((bisect.bisect_right(starts, pos), item))
        pos = _after_space(text, end)
        if text[pos] == ",":
            pos = _after_space(text, pos + 1)
    return items


def _after_space(text: str, pos: int) -> int:
    """The position of the first character at or after ``pos`` that is not JSON white space."""
    while pos < len(text) and text[pos] in " \t\n\r":
        pos += 1
    return pos


def _checked(row: dict, where: str, prog: str) -> dict:
    """A JSON row whose fields are given once each and hold one value each."""
    if isinstance(row, _Object) and row.repeated:
        raise UsageError(f"{prog}: {where} gives the field {listed(map(repr, row.repeated))} more than once: keep one")
    for name, value in row.items():
        if isinstance(value, (dict, list)):
            raise UsageError(f"{prog}: {where}: the field {name!r} holds {_kind(value)}; entry data takes text, "
                             "numbers, true/false or null: make it one value, or one field per value")
    return row


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "true/false"
    return "null" if value is None else "a number"
