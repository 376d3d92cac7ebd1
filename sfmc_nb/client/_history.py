"""Journey history downloads read as rows: CSV fields of any size, bytes that are not text replaced with a note,
and an answer that is not the CSV asked for (an HTML page, an empty body, other columns) refused.

A 200 answer that holds no history is not "no rows": a login page or an empty body read as CSV would trace
2,000 contacts as never entered. Only a CSV with its header line says there are no rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

import pandas as pd
import requests

from .._rules import join_limited, one_line
from ..errors import UnexpectedAnswerError, ValidationError
from ._answers import text_excerpt

__all__ = ["HistoryRows", "HistoryTable", "read_history_csv", "read_history_table", "history_answer", "KEY_COLUMN",
           "ACTIVITY_COLUMNS"]

KEY_COLUMN = "ContactKey"
ACTIVITY_COLUMNS = ("ActivityId", "ActivityName", "ActivityType")
"""A history answer needs the contact's key and at least one of these (what the contact reached) to be traced."""
_EXCERPT = 200              # characters of an unexpected answer kept in the error
_PEEK = 4096               # bytes of an answer looked at to tell what it is
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)


class HistoryRows(list[dict[str, Any]]):
    """History rows (one dict per CSV row, values as text) with the header's ``columns`` and ``notes`` on what was
    read around (bytes that are not text, shown as U+FFFD)."""

    def __init__(self, rows: Iterable[dict[str, Any]] = (), columns: Iterable[str] = (),
                 notes: Iterable[str] = ()):
        super().__init__(rows)
        self.columns: tuple[str, ...] = tuple(columns)
        self.notes: list[str] = list(notes)


class HistoryTable(NamedTuple):
    """A history download read as one DataFrame (text columns; the many-times-repeated ones as categories), for
    downloads too large to hold as one dict per row, with the header's ``columns`` and ``notes``."""

    frame: pd.DataFrame
    columns: tuple[str, ...]
    notes: list[str]


_REPEATED = {"status", "definitionid", "definitionname", "activityid", "activityname", "activitytype", "message",
             "result.messages", "eventname"}


def read_history_table(data: bytes, charset: str | None = None) -> HistoryTable:
    """CSV bytes as a :class:`HistoryTable`: read straight from the bytes by pandas (no text copy, no dict per row),
    missing values as empty text, repeated columns stored once per distinct value."""
    encoding = _encoding(charset)
    if not data[:_PEEK].strip() and not data.strip():
        return HistoryTable(pd.DataFrame(), (), [])
    line = data[:data.find(b"\n") + 1 or len(data)].decode(encoding, errors="replace").lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(line)), [])
    dtypes = {name: ("category" if name.strip().lower() in _REPEATED else object) for name in header}
    try:      # straight from the bytes: no text copy of a large answer
        frame = pd.read_csv(io.BytesIO(data), encoding=encoding, dtype=dtypes, keep_default_na=False, na_values=[],
                            index_col=False)
        notes: list[str] = []
    except UnicodeDecodeError:     # bytes that are not text: read them replaced, with a note
        text, note = _decode(data, charset)
        notes = [note] if note else []
        try:
            frame = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), dtype=dtypes, keep_default_na=False,
                                na_values=[], index_col=False)
        except (pd.errors.EmptyDataError, ValueError) as exc:
            raise ValidationError(f"the journey history cannot be read as CSV: {one_line(exc, 300)}") from None
    except pd.errors.EmptyDataError:
        return HistoryTable(pd.DataFrame(), (), [])
    except ValueError as exc:
        raise ValidationError(f"the journey history cannot be read as CSV: {one_line(exc, 300)}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return HistoryTable(frame, tuple(frame.columns), notes)


def read_history_csv(data: str | bytes, charset: str | None = None) -> HistoryRows:
    """CSV text or bytes (in ``charset``, UTF-8 unless told) as history rows.

    Fields of any size are read (pandas' parser has no field size limit, and the process-wide ``csv`` limit is
    left alone); bytes that are not text are replaced by U+FFFD with a note; blank text has no rows and no
    columns. Text the CSV parser cannot read (an unclosed quote) raises :class:`ValidationError`.
    """
    notes: list[str] = []
    if isinstance(data, (bytes, bytearray)):
        text, note = _decode(bytes(data), charset)
        notes += [note] if note else []
    else:
        text = data
    text = text.lstrip("\ufeff")
    if not text.strip():
        return HistoryRows(notes=notes)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=object, keep_default_na=False, na_values=[], index_col=False)
    except pd.errors.EmptyDataError:
        return HistoryRows(notes=notes)
    except ValueError as exc:      # ParserError: an unclosed quote, a line with more fields than the header
        raise ValidationError(f"the journey history cannot be read as CSV: {one_line(exc, 300)}") from None
    columns = [str(c).strip() for c in frame.columns]
    values = [[None if v is None or v != v else v for v in frame.iloc[:, n].tolist()] if frame.iloc[:, n].hasnans
              else frame.iloc[:, n].tolist() for n in range(len(columns))]       # a missing value is None
    return HistoryRows((dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)), columns, notes)


def _encoding(charset: str | None) -> str:
    """The codec of an answer's charset: UTF-8 (a leading byte-order mark skipped) unless it names a known one."""
    encoding = "utf-8"
    if charset:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            pass
    return "utf-8-sig" if encoding == "utf-8" else encoding


def _decode(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """The text, and a note when some bytes were not text in the answer's charset (they become U+FFFD)."""
    encoding = _encoding(charset)
    try:
        return data.decode(encoding), None
    except UnicodeDecodeError as exc:
        return data.decode(encoding, errors="replace"), (
            f"the journey history held bytes that are not {encoding.removesuffix('-sig').upper()} text (the first "
            f"at byte {exc.start:,}): they are shown as \ufffd")


def history_answer(resp: requests.Response, method: str, path: str, *, table: bool = False
                   ) -> HistoryRows | HistoryTable:
    """The rows of a history download (``table=True``: a :class:`HistoryTable`); an answer that is not the CSV
    asked for is an :class:`UnexpectedAnswerError` saying what came instead and what to do."""
    data = resp.content or b""
    content_type = resp.headers.get("Content-Type") or ""
    media = content_type.split(";")[0].strip().lower()
    first = data[:_PEEK].lstrip(b"\xef\xbb\xbf \t\r\n")[:1]    # a prefix: a large answer is not copied
    excerpt = text_excerpt(_printable(data[:_EXCERPT * 20].decode("utf-8", errors="replace")), _EXCERPT)

    def refuse(what: str) -> UnexpectedAnswerError:
        return UnexpectedAnswerError(status=resp.status_code, method=method, path=path, body=excerpt,
                                     message=f"the journey history answer is {what}")

    if not data[:_PEEK].strip() and not data.strip():
        raise refuse("empty, not the CSV asked for (a download without rows still has its header line): ask "
                     "again; if it stays empty, the tenant's journey history service is not answering")
    if data[:2] == b"\x1f\x8b":
        raise refuse("gzip-compressed data sent without saying so (no Content-Encoding), not CSV text: a proxy "
                     "in between may be compressing answers")
    if "html" in media or first == b"<":
        raise refuse(f"an HTML page, not the CSV asked for (a login, error or proxy page; the session may have "
                     f"expired): log in again and trace again. It says: {excerpt!r}")
    if "json" in media or first in (b"{", b"["):
        raise refuse(f"JSON, not the CSV asked for: {_json_message(data)}")
    match = _CHARSET.search(content_type)
    try:
        read = read_history_table if table else read_history_csv
        rows = read(data, match.group(1) if match else None)
    except ValidationError as exc:
        raise refuse(f"not CSV that can be read: {exc}") from None
    names = {c.lower() for c in rows.columns}
    if KEY_COLUMN.lower() not in names or not names & {c.lower() for c in ACTIVITY_COLUMNS}:
        raise refuse(f"not the CSV asked for: a history needs the columns {KEY_COLUMN} and one of "
                     f"{', '.join(ACTIVITY_COLUMNS)}, its first line has "
                     f"{one_line(_printable(join_limited(rows.columns, 12)), _EXCERPT) or 'none'}")
    return rows


def _printable(text: str) -> str:
    """``text`` with control characters (binary data read as text) shown as ``?``."""
    return "".join(c if c.isprintable() or c.isspace() else "?" for c in text)


def _json_message(data: bytes) -> str:
    try:
        answer = json.loads(data.decode("utf-8", errors="replace"))
    except ValueError:
        return "it cannot be read either"
    message = answer.get("message") if isinstance(answer, dict) else None
    return one_line(message, _EXCERPT) if isinstance(message, str) and message.strip() else "it says no more"
