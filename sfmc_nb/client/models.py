"""What the endpoints answer: small typed objects that keep the raw JSON, and lists with ``to_frame()``.

Every model keeps what the service said (``raw``, or the raw dicts themselves for lists of items), because
several answer shapes are only partly documented. The list models are ``list`` subclasses, so code that
iterates, indexes or compares them keeps working, and each ``to_frame()`` gives the table the exploration
magics show, so a Python user gets the same table as a notebook user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._rules import int_or_none

__all__ = [
    "BatchAnswer", "Journey", "JourneyList", "Field", "FieldList", "EventDefinition", "Membership",
    "ExitProblemList", "ExitStatusList", "StatusItemList", "entry_fields_frame",
]


@dataclass(frozen=True)
class BatchAnswer:
    """What ``POST /interaction/v1/async/events`` said about one batch."""

    request_id: str | None
    count: int | None
    not_queued_count: int | None
    members: list[dict]
    status_code: int
    attempts: int
    raw: Any = field(repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], status_code: int, attempts: int) -> BatchAnswer:
        return cls(data.get("requestId"), int_or_none(data.get("count")), int_or_none(data.get("notQueuedCount")),
                   data["members"], status_code, attempts, data)


# --------------------------------------------------------------------------- journeys


@dataclass(frozen=True)
class Journey:
    """One journey (one version of it), with the keys of its API entry events."""

    id: str | None
    key: str | None
    name: str | None
    version: int | None
    status: str | None
    entry_mode: str | None
    event_keys: list[str]
    stats: dict
    raw: dict = field(repr=False)

    @classmethod
    def from_json(cls, data: dict) -> Journey:
        keys = []
        for trig in data.get("triggers") or []:
            key = ((trig or {}).get("metaData") or {}).get("eventDefinitionKey")
            if key:
                keys.append(key)
        return cls(data.get("id"), data.get("key"), data.get("name"), data.get("version"),
                   data.get("status"), data.get("entryMode"), keys, data.get("stats") or {}, data)


class JourneyList(list[Journey]):
    """The journeys ``Connection.journeys()`` found; ``to_frame()`` is the table ``%sfmc_journeys`` shows."""

    COLUMNS = ["name", "key", "version", "status", "entryMode", "eventKeys", "currentPopulation",
               "cumulativePopulation", "id"]

    @property
    def raw(self) -> list[dict]:
        return [j.raw for j in self]

    def to_frame(self) -> pd.DataFrame:
        """One row per journey; versions and populations as nullable integers."""
        rows = [{"name": j.name, "key": j.key, "version": j.version, "status": j.status,
                 "entryMode": j.entry_mode, "eventKeys": list(j.event_keys),
                 "currentPopulation": (j.stats or {}).get("currentPopulation"),
                 "cumulativePopulation": (j.stats or {}).get("cumulativePopulation"), "id": j.id}
                for j in self]
        frame = pd.DataFrame(rows, columns=self.COLUMNS)
        return frame.astype({"version": "Int64", "currentPopulation": "Int64", "cumulativePopulation": "Int64"})


# --------------------------------------------------------------------------- entry events and their fields


@dataclass(frozen=True)
class Field:
    """One column of an entry data extension."""

    name: str
    type: str | None
    length: int | None
    is_primary_key: bool
    is_nullable: bool | None
    raw: dict = field(repr=False)

    @classmethod
    def from_json(cls, data: dict) -> Field:
        """Either answer shape: the data API's (``type``, ``length``) or an event schema's (``dataType``,
        ``maxLength``). When both spellings are present, ``maxLength`` and ``dataType`` win."""
        length = int_or_none(data.get("maxLength"))
        if length is None:
            length = int_or_none(data.get("length"))
        kind = data.get("dataType") or data.get("type") or data.get("fieldType")
        return cls(data["name"], kind, length, bool(data.get("isPrimaryKey")), data.get("isNullable"), data)


FIELD_COLUMNS = ["eventKey", "name", "type", "length", "isPrimaryKey", "isNullable"]


class FieldList(list[Field]):
    """The columns of one entry event's data extension; ``to_frame()`` is the entry schema ``%sfmc_journey``
    shows (with the event key in the first column)."""

    def __init__(self, fields: Iterable[Field] = (), event_key: str | None = None):
        super().__init__(fields)
        self.event_key = event_key

    @classmethod
    def from_json(cls, items: Iterable[Any], event_key: str | None = None) -> FieldList:
        """The named fields of an answer (nameless or non-object items are left out)."""
        return cls((Field.from_json(f) for f in items if isinstance(f, dict) and f.get("name")), event_key)

    @property
    def raw(self) -> list[dict]:
        return [f.raw for f in self]

    def to_frame(self) -> pd.DataFrame:
        return entry_fields_frame([self])


def entry_fields_frame(field_lists: Iterable[FieldList]) -> pd.DataFrame:
    """One table of the fields of several entry events (a journey may have more than one)."""
    rows = [{"eventKey": fields.event_key, "name": f.name, "type": f.type, "length": f.length,
             "isPrimaryKey": f.is_primary_key, "isNullable": f.is_nullable}
            for fields in field_lists for f in fields]
    return pd.DataFrame(rows, columns=FIELD_COLUMNS).astype({"length": "Int64"})


@dataclass(frozen=True)
class EventDefinition:
    """An entry event: its key, its data extension and how many journeys listen to it."""

    id: str | None
    key: str | None
    name: str | None
    data_extension_id: str | None
    data_extension_name: str | None
    interaction_count: int | None
    published_interaction_count: int | None
    schema_fields: FieldList
    raw: dict = field(repr=False)

    @classmethod
    def from_json(cls, data: dict) -> EventDefinition:
        key = data.get("eventDefinitionKey") or data.get("key")
        fields = FieldList.from_json((data.get("schema") or {}).get("fields") or [], event_key=key)
        return cls(data.get("id"), key, data.get("name"), data.get("dataExtensionId"),
                   data.get("dataExtensionName"), int_or_none(data.get("interactionCount")),
                   int_or_none(data.get("publishedInteractionCount")), fields, data)


# --------------------------------------------------------------------------- contacts


@dataclass(frozen=True)
class Membership:
    """Which journeys the asked contacts are in; ``to_frame()`` is the table ``%sfmc_membership`` shows."""

    memberships: list[dict]
    not_found: list[str]
    raw: list = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per contact and journey version; ``attrs["not_found"]`` lists the contacts not found."""
        frame = pd.DataFrame([{"contactKey": m.get("contactKey"), "definitionKey": m.get("definitionKey"),
                               "version": m.get("version")} for m in self.memberships],
                             columns=["contactKey", "definitionKey", "version"]).astype({"version": "Int64"})
        frame.attrs["not_found"] = list(self.not_found)
        return frame


EXIT_COLUMNS = ["contactKey", "definitionKey", "version", "message"]


def _exit_rows(items: Iterable[Any]) -> list[dict]:
    """One row per contact and version message (either capitalisation of the keys)."""
    rows: list[dict] = []
    for item in items:
        if not isinstance(item, dict):
            rows.append({"message": str(item)})
            continue
        base = {"contactKey": item.get("contactKey", item.get("ContactKey")),
                "definitionKey": item.get("definitionKey", item.get("DefinitionKey"))}
        statuses = item.get("status") or []
        if not isinstance(statuses, list) or not statuses:
            rows.append({**base, "message": item.get("message") or (None if not statuses else str(statuses))})
            continue
        for st in statuses:
            st = st if isinstance(st, dict) else {"message": str(st)}
            rows.append({**base, "version": st.get("version"), "message": st.get("message"),
                         "definitionInstanceId": st.get("definitionInstanceId")})
    return rows


class _ExitItems(list[Any]):
    """Exit answers as received; ``to_frame()`` gives one row per contact and version message."""

    COLUMNS = EXIT_COLUMNS

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(_exit_rows(self), columns=self.COLUMNS).astype({"version": "Int64"})


class ExitProblemList(_ExitItems):
    """The per-contact problems of an exit request (empty when every contact was accepted);
    ``to_frame()`` is the table ``%sfmc_exit`` shows."""


class ExitStatusList(_ExitItems):
    """Where each contact's exit request stands; ``to_frame()`` is the table ``%sfmc_exit --status`` shows."""

    COLUMNS = EXIT_COLUMNS + ["definitionInstanceId"]


# --------------------------------------------------------------------------- batch status


class StatusItemList(list[dict]):
    """Status items of the async entry endpoint, as answered; ``to_frame()`` is ``%sfmc_batch_status``
    (the items flattened, nested fields as dotted columns)."""

    def to_frame(self) -> pd.DataFrame:
        return pd.json_normalize(list(self)) if self else pd.DataFrame()
