"""Journeys and their entry events: list, read one, the entry event and its data extension's columns."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..errors import ApiError, NotFoundError
from ._transport import Transport
from .models import EventDefinition, FieldList, Journey, JourneyList

__all__ = ["JourneyEndpoints"]

JOURNEYS_PATH = "/interaction/v1/interactions"
MAX_JOURNEYS_PAGE = 50
"""The largest ``$pageSize`` the journeys endpoint takes."""


class JourneyEndpoints(Transport):
    """``journeys``, ``journey``, ``event_definition`` and ``entry_fields``."""

    def journeys(self, status: str | None = None, name: str | None = None, *, key: str | None = None,
                 most_recent_version_only: bool = True, extras: str | None = None,
                 page_size: int = 50) -> JourneyList:
        """``GET /interaction/v1/interactions``: every journey matching the filters (all pages)."""
        params: dict[str, Any] = {"status": status, "nameOrDescription": name, "key": key, "extras": extras,
                                  "mostRecentVersionOnly": str(most_recent_version_only).lower()}
        params = {k: v for k, v in params.items() if v not in (None, "")}
        return JourneyList(Journey.from_json(item) for item in
                           self.paged(JOURNEYS_PATH, params, min(page_size, MAX_JOURNEYS_PAGE)))

    def journey(self, id_or_key: str, version: int | None = None) -> Journey:
        """One journey by id or key (``key:`` prefix optional for keys that are not ids)."""
        ident = str(id_or_key)
        if not ident.startswith("key:") and not _looks_like_id(ident):
            ident = "key:" + ident
        params = {"versionNumber": version} if version is not None else None
        try:
            return Journey.from_json(self.get_json(f"{JOURNEYS_PATH}/{quote(ident, safe=':')}", params))
        except NotFoundError as exc:
            if version is None:
                hint = f" (if the newest version of {id_or_key!r} was deleted, pass version=N)"
                exc.args = (exc.args[0] + hint,)
            raise

    def event_definition(self, key: str) -> EventDefinition:
        """``GET /interaction/v1/eventDefinitions/key:{key}``."""
        return EventDefinition.from_json(
            self.get_json(f"/interaction/v1/eventDefinitions/key:{quote(str(key), safe='')}"))

    def entry_fields(self, event_key: str) -> FieldList:
        """The entry data extension's columns, from the data API, else the event definition's schema."""
        event = self.event_definition(event_key)
        if event.data_extension_id:
            de_id = quote(event.data_extension_id, safe="")
            try:
                data = self.get_json(f"/data/v1/customobjects/{de_id}/fields")
            except ApiError as exc:
                if exc.status not in (403, 404):
                    raise
            else:
                items = data.get("fields") if isinstance(data, dict) else data
                if isinstance(items, list) and items:
                    return FieldList.from_json(items, event_key=event_key)
        return FieldList(event.schema_fields, event_key=event_key)


def _looks_like_id(value: str) -> bool:
    """True for a GUID (8-4-4-4-12), which the endpoint takes as a journey id rather than a key."""
    parts = value.split("-")
    return len(value) == 36 and [len(p) for p in parts] == [8, 4, 4, 4, 12]
