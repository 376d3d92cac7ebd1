"""Journey history rows (sfmc-api.md 5.2) as a time-ordered events table.

The download API answers CSV (``TransactionTime, ContactKey, Status, DefinitionId, ActivityId, ActivityName,
ActivityType, Message, ...``) in no promised order, with dates in Marketing Cloud's system time written without
an offset (2.1). :func:`events_frame` reads that text, or the list of dicts ``Connection.journey_history()``
returns, into one row per history row, ordered by time, each row's original fields kept in ``raw``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pandas as pd
from pandas.api.typing import NaTType

from .._rules import is_missing
from ..client import read_history_csv
from ..errors import ValidationError

if TYPE_CHECKING:
    from .definition import JourneyGraph

__all__ = ["SYSTEM_TIME_OFFSET", "TRIGGER_TYPES", "ENTRY_REFUSALS", "REFUSED_STATUSES", "EVENT_COLUMNS", "parse_time",
           "read_rows", "events_frame", "events_from_table", "field_text", "message_text", "said_text",
           "contact_keys_in"]

SYSTEM_TIME_OFFSET = timedelta(hours=-6)
"""Marketing Cloud system time: US Central Standard Time all year (UTC-6); some stacks are reported at UTC-7."""

TRIGGER_TYPES = frozenset({"trigger", "entry", "eventsource", "apievent", "entryevent"})
"""``ActivityType`` values (lower case) of the rows written when a contact enters: the trigger, not a step."""

EVENT_COLUMNS = ("contactKey", "time", "activityId", "activityKey", "activityName", "activityType", "status",
                 "message")
MESSAGE_FIELDS = ("message", "result.messages", "resultmessages")
"""Where a history row says why (the download's ``Message`` or ``Result.Messages``, a search item's
``result.messages``), the first one present."""
ENTRY_REFUSALS = frozenset({"didnotmeetentrycriteria", "contactalreadyininteraction",
                            "contactpreviouslyinsameinteraction"})
"""Statuses (lower case) only an entry has: the contact was turned away at the trigger (whatever the row's
activity columns say) and never moves on."""
REFUSED_STATUSES = ENTRY_REFUSALS | {"failed"}
"""Statuses (lower case) of a trigger row whose contact was turned away at entry."""
_MESSAGE_PART = re.compile(r"(?:^|;)\s*Message\s*:(.*?)(?=;\s*\w+\s*:|$)", re.IGNORECASE | re.DOTALL)

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
                  r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?", re.IGNORECASE)
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*([AP]M)?)?",
                 re.IGNORECASE)
_EARLIEST_YEAR = 1900      # "0001-01-01T00:00:00" means "never" in these APIs


def _as_offset(offset: Any) -> timezone:
    """A fixed zone from a timedelta, a number of hours or a ``timezone``; anything else is refused."""
    if isinstance(offset, timezone):
        return offset
    try:
        return timezone(offset if isinstance(offset, timedelta) else timedelta(hours=float(offset)))
    except (TypeError, ValueError, OverflowError):
        raise ValidationError(f"offset must be a timedelta or a number of hours from UTC (-6 for Marketing "
                              f"Cloud system time); got {offset!r}") from None


def _zone(text: str | None, system: timezone) -> timezone:
    if not text:
        return system
    if text.upper() in ("Z", "UTC", "GMT"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
    return timezone(sign * timedelta(minutes=minutes))


def _parts(text: str) -> tuple[list[int], str | None] | None:
    """Year, month, day, hour, minute, second, microsecond and the zone text of an ISO or US-style date."""
    match = _ISO.fullmatch(text)
    if match:
        y, mo, d, h, mi, s, frac, zone = match.groups()
        fields = [int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0)]
    else:
        match = _US.fullmatch(text)
        if not match:
            return None
        mo, d, y, h, mi, s, frac, ampm = match.groups()
        hour = int(h or 0)
        if ampm:
            hour = hour % 12 + (12 if ampm.upper() == "PM" else 0)
        fields, zone = [int(y), int(mo), int(d), hour, int(mi or 0), int(s or 0)], None
    fields.append(int((frac or "0")[:6].ljust(6, "0")))
    return fields, zone


def parse_time(value: Any, offset: Any = SYSTEM_TIME_OFFSET) -> pd.Timestamp | NaTType:
    """A history date as a UTC timestamp, or ``NaT`` when it cannot be read (never raises).

    A date written without an offset is Marketing Cloud system time (``offset`` from UTC, UTC-6 unless
    told otherwise); a date with ``Z`` or an offset is taken as written. 0 to 3 fractional digits (more
    are cut to microseconds); ISO 8601 with ``T`` or a space, or ``M/D/YYYY h:mm:ss AM``.
    """
    if isinstance(value, datetime):
        stamp = pd.Timestamp(value)
        return stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize(_as_offset(offset)).tz_convert("UTC")
    if is_missing(value) or not isinstance(value, str):
        return pd.NaT
    parts = _parts(value.strip())
    if parts is None or parts[0][0] < _EARLIEST_YEAR:
        return pd.NaT
    (year, month, day, hour, minute, second, micro), zone = parts
    try:
        moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=_zone(zone, _as_offset(offset)))
    except ValueError:
        return pd.NaT
    return pd.Timestamp(moment).tz_convert("UTC")


def read_rows(data: Any) -> list[dict]:
    """History rows as a list of dicts: from CSV text or bytes (a :class:`~sfmc_nb.client.HistoryRows` with its
    ``notes``), a list of dicts, or a DataFrame."""
    if data is None:
        return []
    if isinstance(data, (str, bytes)):   # fields of any size; bytes that are not UTF-8 are replaced, with a note
        return read_history_csv(data)
    if isinstance(data, pd.DataFrame):
        return [dict(r) for r in data.to_dict(orient="records")]
    return [dict(r) for r in data if isinstance(r, Mapping)]


def field_text(row: Mapping[str, Any], name: str) -> str | None:
    """A row's value for ``name`` (any case of the column name), as stripped text; blank gives ``None``."""
    for key, value in row.items():
        if isinstance(key, str) and key.strip().lower() == name:
            if is_missing(value):
                return None
            text = str(value).strip()
            return text or None
    return None


def message_text(row: Mapping[str, Any]) -> str | None:
    """Why a history row is as it is, in words: ``Message``, else ``Result.Messages`` (whose
    ``Type:User;Level:Error;ErrorCode:...;Message:...`` parts joined by ``|`` give their ``Message`` parts),
    else a search item's nested ``result.messages``."""
    text = next((t for t in (field_text(row, name) for name in MESSAGE_FIELDS) if t), None)
    if text is None:
        result = next((v for k, v in row.items() if isinstance(k, str) and k.strip().lower() == "result"), None)
        if isinstance(result, Mapping):
            nested = field_text(result, "messages")
            text = nested if nested and not nested.startswith("[") else None
            if text is None and isinstance(result.get("messages"), list):
                text = "|".join(str(m) for m in result["messages"] if not is_missing(m)) or None
    return said_text(text)


def said_text(text: str | None) -> str | None:
    """A ``Message`` or ``Result.Messages`` text in words: the ``Message:`` parts of
    ``Type:...;Level:...;ErrorCode:...;Message:...`` items joined by ``|``; other text as it is."""
    if text is None or not text.strip():
        return None
    parts = []
    for part in text.split("|"):
        said = [m.group(1).strip() for m in _MESSAGE_PART.finditer(part)]
        parts.append("; ".join(m for m in said if m) if said else part.strip())
    return " | ".join(dict.fromkeys(p for p in parts if p)) or None


def _resolve(graph: JourneyGraph | None, activity_id: str | None, name: str | None,
             kind: str | None) -> tuple[str | None, str | None, str | None, int]:
    """Key, name, type and drawing column of a row's activity: by id in the graph, else by its name or type."""
    if graph is None:
        return None, name or kind, kind, 0 if (kind or "").lower() in TRIGGER_TYPES else 1
    trigger = graph.trigger
    if (activity_id and trigger.id and activity_id.lower() == trigger.id.lower()) or (
            not graph.by_id(activity_id) and (kind or "").lower() in TRIGGER_TYPES) or (
            not activity_id and not kind and name and name == trigger.name
            and all(name not in (a.label, a.name) for a in graph.activities)):   # a download without those columns
        return trigger.key, trigger.name, kind or trigger.type, 0
    found = graph.by_id(activity_id)
    if found is None and name:
        same = [a for a in graph.activities if name in (a.label, a.name)]
        found = same[0] if len(same) == 1 else None
    if found is None:
        return None, name or kind, kind, len(graph.activities) + 1
    return found.key, found.label, kind or found.type, graph.depth.get(found.key, 0) + 1


def _event(row: Mapping[str, Any], graph: JourneyGraph | None, offset: Any) -> dict:
    def get(name: str) -> str | None:
        return field_text(row, name)

    key, name, kind, rank = _resolve(graph, get("activityid"), get("activityname"), get("activitytype"))
    return {"contactKey": get("contactkey"), "time": parse_time(get("transactiontime"), offset),
            "activityId": get("activityid"), "activityKey": key, "activityName": name, "activityType": kind,
            "status": get("status"), "message": message_text(row), "_rank": rank}


def events_frame(data: Any, graph: JourneyGraph | None = None, *, offset: Any = None) -> pd.DataFrame:
    """One row per history row, ordered by ``time`` (tz-aware UTC).

    Columns: ``contactKey, time, activityId, activityKey, activityName, activityType, status, message`` (why, from
    ``Message`` or ``Result.Messages``; None when the row says nothing) and ``raw`` (the row as received).
    Activities are found in ``graph`` by ``ActivityId`` (else by a name unique in the journey; else the row's own
    ``ActivityName``). Rows with the same time keep journey order (trigger first), then their order in the download;
    rows whose date could not be read (``NaT``) come last. The index is each row's position in the download.
    """
    rows = read_rows(data)
    offset = _as_offset(SYSTEM_TIME_OFFSET if offset is None else offset)
    records = [_event(row, graph, offset) for row in rows]
    columns = list(EVENT_COLUMNS)
    frame = pd.DataFrame({c: pd.Series([r[c] for r in records], dtype=object) for c in columns + ["_rank"]})
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["_rank"] = frame["_rank"].astype("int64")
    frame["raw"] = pd.Series(rows, dtype=object)
    frame.index.name = "row"
    frame = frame.sort_values(["time", "_rank"], kind="stable", na_position="last")
    return frame.drop(columns="_rank")


def events_from_table(table: pd.DataFrame, graph: JourneyGraph | None = None, *, offset: Any = None,
                      keep: Any = None) -> pd.DataFrame:
    """The events of :func:`events_frame` from a download read as one DataFrame (text columns, any case of the
    names), computed column by column: a large history without one dict per row. No ``raw`` column (the table is
    the raw data). ``keep`` (a set of contact keys) drops the rows of other contacts first."""
    names = {str(c).strip().lower(): c for c in table.columns}

    def text(name: str) -> pd.Series:
        """A column as stripped text, blanks as None (a repeated column: each distinct value stripped once)."""
        if name not in names:
            return pd.Series(None, index=table.index, dtype=object)
        column = table[names[name]]
        if isinstance(column.dtype, pd.CategoricalDtype):
            cleaned = {v: (str(v).strip() or None) for v in column.cat.categories}
            return pd.Series(column.cat.categories.map(cleaned).to_numpy(dtype=object)[column.cat.codes.to_numpy()],
                             index=column.index, dtype=object).where(column.cat.codes.to_numpy() >= 0, None)
        column = column.astype(object)
        column = column.where(column.notna(), "").map(lambda v: v.strip() if isinstance(v, str) else str(v))
        return column.where(column != "", None)

    contacts = text("contactkey")
    if keep is not None:
        wanted = contacts.isin(keep).to_numpy()
        table, contacts = table[wanted], contacts[wanted]
    ids, labels, kinds = text("activityid"), text("activityname"), text("activitytype")
    trio = pd.DataFrame({"id": ids, "name": labels, "type": kinds})
    codes = trio.groupby(["id", "name", "type"], dropna=False, sort=False).ngroup().to_numpy()
    firsts = pd.Series(range(len(trio))).groupby(codes).first() if len(trio) else pd.Series(dtype="int64")
    combos = [tuple(None if pd.isna(v) else v for v in trio.iloc[int(i)]) for i in firsts]
    found = [_resolve(graph, *combo) for combo in combos]

    def part(n: int) -> Any:
        return pd.Series([f[n] for f in found], dtype=object).to_numpy()[codes] if found else []

    said = next((text(n) for n in MESSAGE_FIELDS if n in names), pd.Series(None, index=table.index, dtype=object))
    frame = pd.DataFrame({
        "contactKey": contacts, "time": _times(text("transactiontime"), _as_offset(
            SYSTEM_TIME_OFFSET if offset is None else offset)),
        "activityId": ids, "activityKey": part(0), "activityName": part(1), "activityType": part(2),
        "status": text("status"), "message": said.map({v: said_text(v) for v in said.dropna().unique()}),
        "_rank": pd.Series(part(3), index=table.index, dtype="int64") if found else pd.Series(dtype="int64")},
        index=table.index)
    frame = frame.astype({c: object for c in EVENT_COLUMNS if c != "time"})
    frame.index = pd.RangeIndex(len(frame), name="row")
    frame = frame.sort_values(["time", "_rank"], kind="stable", na_position="last")
    return frame.drop(columns="_rank")


def _times(texts: pd.Series, system: timezone) -> pd.Series:
    """History dates as UTC timestamps, column-wise: ISO dates with a zone as written, without one in system time;
    any other form (US style) one by one through :func:`parse_time`."""
    out = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[us, UTC]")
    present = texts.notna()
    zoned = present & texts.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", case=False, regex=True, na=False)
    plain = present & ~zoned
    if zoned.any():
        out[zoned] = pd.to_datetime(texts[zoned], format="ISO8601", utc=True, errors="coerce")
    if plain.any():
        local = pd.to_datetime(texts[plain], format="ISO8601", errors="coerce")
        out[plain] = local.dt.tz_localize(system).dt.tz_convert("UTC")
    old = out.notna() & (out.dt.year < _EARLIEST_YEAR)
    out[old] = pd.NaT
    missed = present & out.isna() & ~old
    if missed.any():
        out[missed] = [parse_time(t, system) for t in texts[missed]]
    return out


def contact_keys_in(frame: pd.DataFrame) -> list[str]:
    """Contacts in the order they first appear in ``frame`` (blank keys left out)."""
    return [k for k in dict.fromkeys(frame["contactKey"]) if isinstance(k, str) and k]
