"""Journey history: one row per activity a contact reached, and the download API's CSV.

A wait's row says ``Waiting`` until the wait ends, then ``Complete`` (the row keeps the moment the contact
reached the wait). The download writes dates in Marketing Cloud system time without an offset, filters on
the documented body fields, hides what is newer than the history's lag, and returns rows in no promised
order (a fixed, seeded shuffle). See docs/marketing-cloud-api.md, "Journey history".
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timezone

from .clock import SYSTEM_TIME, system_time
from .schema import parse_date

DEFAULT_COLUMNS = ("TransactionTime", "ContactKey", "Status", "DefinitionId", "DefinitionName", "ActivityId",
                   "ActivityName", "ActivityType")
OPTIONAL_COLUMNS = ("Message", "ClientStatus", "EventId", "DefinitionInstanceId", "EntrySource",
                    "OutcomeActivityId", "StartDate", "EndDate", "Result.Status", "Result.Outcome")
LIST_FILTERS = {"contactKeys": "ContactKey", "definitionIds": "DefinitionId",
                "definitionInstanceIds": "DefinitionInstanceId", "activityIds": "ActivityId",
                "activityTypes": "ActivityType", "statuses": "Status"}
HISTORY_TYPES = {"WAIT": "waitactivity", "MULTICRITERIADECISION": "multicriteriadecision",
                 "RANDOMSPLIT": "randomsplit", "ENGAGEMENTDECISION": "engagementdecision", "EMAILV2": "emailv2"}


class FilterError(ValueError):
    """A request the download refuses: (errorcode, message) in ``args``."""


def history_type(definition_type: str) -> str:
    """The lowercase activity type journey history (and its ``activityTypes`` filter) uses."""
    return HISTORY_TYPES.get(definition_type.upper(), definition_type.lower())


@dataclass(slots=True)
class HistoryRow:
    """One activity reached by one contact in one journey run.

    ``status``/``message`` are what the row says until ``ended`` (a wait in progress: ``Waiting``), the
    ``final_*`` fields what it says from then on; rows written complete have ``ended == time``.
    """

    seq: int
    time: datetime
    contact_key: str
    status: str
    message: str = ""
    definition_id: str = ""
    definition_key: str = ""
    definition_name: str = ""
    activity_id: str = ""
    activity_key: str = ""
    activity_name: str = ""
    activity_type: str = ""          # the history type, e.g. "waitactivity"
    event_id: str = ""
    instance_id: str = ""
    entry_source: str = ""
    ended: datetime | None = None
    final_status: str = ""
    final_message: str = ""
    outcome_activity_id: str = ""
    outcome: str = ""
    shared_definition_id: str = ""   # the id all versions of the journey share

    def finish(self, when: datetime, status: str, message: str = "", outcome_activity_id: str = "",
               outcome: str = "") -> None:
        self.ended, self.final_status, self.final_message = when, status, message or self.message
        self.outcome_activity_id, self.outcome = outcome_activity_id, outcome

    def values(self, cutoff: datetime | None) -> dict[str, str]:
        """Every column's text as the history shows it at ``cutoff`` (None: everything carried out so far)."""
        done = self.ended is not None and (cutoff is None or self.ended <= cutoff)
        status = self.final_status if done else self.status
        reached = system_time(self.time)
        return {
            "TransactionTime": reached, "ContactKey": self.contact_key, "Status": status,
            "DefinitionId": self.definition_id, "DefinitionName": self.definition_name,
            "ActivityId": self.activity_id, "ActivityName": self.activity_name, "ActivityType": self.activity_type,
            "Message": self.final_message if done else self.message, "ClientStatus": "",
            "EventId": self.event_id, "DefinitionInstanceId": self.instance_id, "EntrySource": self.entry_source,
            "OutcomeActivityId": self.outcome_activity_id if done else "",
            "StartDate": reached,
            "EndDate": system_time(self.ended) if done and self.ended else "",
            "Result.Status": status, "Result.Outcome": self.outcome if done else ""}


def columns_wanted(text: str | None) -> tuple[str, ...]:
    """The ``columns=`` query parameter as canonical names; the documented defaults when absent."""
    if text is None or not text.strip():
        return DEFAULT_COLUMNS
    known = {name.lower(): name for name in DEFAULT_COLUMNS + OPTIONAL_COLUMNS}
    wanted = []
    for part in text.split(","):
        name = known.get(part.strip().lower())
        if name is None:
            raise FilterError(10005, f"Unknown journey history column '{part.strip()}'. Known columns: "
                              f"{', '.join(DEFAULT_COLUMNS + OPTIONAL_COLUMNS)}.")
        wanted.append(name)
    return tuple(dict.fromkeys(wanted))


@dataclass
class Query:
    """The body filters of a download or estimate."""

    start: datetime | None = None
    end: datetime | None = None
    lists: dict[str, set[str]] | None = None

    @classmethod
    def from_body(cls, body: object) -> Query:
        if not isinstance(body, dict):
            raise FilterError(10004, "The request body must be a JSON object of filters.")
        lists = {}
        for name, column in LIST_FILTERS.items():
            value = body.get(name)
            if value is None:
                continue
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise FilterError(10001, f"{name} must be an array of strings.")
            lists[column] = {v.strip().lower() for v in value}
        return cls(_moment(body.get("start"), "start"), _moment(body.get("end"), "end"), lists)

    def keeps(self, row: HistoryRow, shown: dict[str, str]) -> bool:
        if (self.start and row.time < self.start) or (self.end and row.time > self.end):
            return False
        for column, allowed in (self.lists or {}).items():
            value = shown[column].lower()
            if column == "DefinitionId":
                if not allowed & {value, row.shared_definition_id.lower()}:
                    return False
            elif value not in allowed:
                return False
        return True


def _moment(text: object, name: str) -> datetime | None:
    """An ISO 8601 filter date; one without an offset is read as system time, as the API writes them."""
    if text in (None, ""):
        return None
    moment = parse_date(text) if isinstance(text, str) else None
    if moment is None:
        raise FilterError(10003, f"{name} must be a date or date-time (ISO 8601).")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SYSTEM_TIME)
    return moment.astimezone(timezone.utc)


def select(rows: list[HistoryRow], query: Query, cutoff: datetime | None, seed: int) -> list[dict[str, str]]:
    """The rows visible at ``cutoff`` (None: all) that pass ``query``, in the seeded order, as column -> text."""
    kept = []
    contacts = (query.lists or {}).get("ContactKey")
    for row in rows:
        if cutoff is not None and row.time > cutoff:
            continue
        if (query.start and row.time < query.start) or (query.end and row.time > query.end) or (
                contacts is not None and row.contact_key.lower() not in contacts):
            continue      # decided without writing the row out: a large history is read fast
        shown = row.values(cutoff)
        if query.keeps(row, shown):
            kept.append((_shuffle_key(seed, row.seq), shown))
    kept.sort(key=lambda pair: pair[0])
    return [shown for _, shown in kept]


def _shuffle_key(seed: int, seq: int) -> bytes:
    return hashlib.sha256(f"sfmc-sandbox-history-{seed}-{seq}".encode()).digest()


def to_csv(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for shown in rows:
        writer.writerow([shown[c] for c in columns])
    return out.getvalue()


def estimate(text: str, count: int) -> dict:
    """Rows and bytes a download would give (the field names are the sandbox's: the real ones are unknown)."""
    data = text.encode("utf-8")
    return {"rowCount": count, "sizeInBytes": len(data), "compressedSizeInBytes": len(gzip.compress(data))}


def seconds(value: float) -> int | float:
    """Whole seconds as an integer, fractions as they are."""
    value = float(value)
    return int(value) if value.is_integer() else value
