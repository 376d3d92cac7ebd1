"""Read-only views of the tenant: journeys, entry events and data extension fields as JSON.

Separate from the tenant state because these are pure renderings and filters; the field names here are the
documented ones (docs/marketing-cloud-api.md, "Discovery") and are what a client's parser is checked against.
"""

from __future__ import annotations

import copy
from datetime import datetime

from .clock import api_date
from .demo import EventDefinition, JourneyVersion
from .errors import ApiError
from .schema import DataExtension
from .tenant import Tenant

JOURNEY_NOT_FOUND = (404, 30003, "Interaction matching criteria not found.")


def _date(tenant: Tenant, stamp: str) -> str:
    """A journey's date (kept in UTC) in the tenant's date style."""
    return api_date(datetime.fromisoformat(stamp.replace("Z", "+00:00")), tenant.faults.date_style)


def journey_json(tenant: Tenant, journey: JourneyVersion, with_activities: bool = True) -> dict:
    """One journey version; ``activities`` only when asked for (``extras`` all or activities)."""
    event = tenant.content.events.get(journey.event_key)
    current, cumulative = tenant.population(journey)
    published = journey.status in ("Published", "Stopped")
    answer = {
        "id": journey.id, "key": journey.key, "name": journey.name, "description": journey.description,
        "version": journey.version, "workflowApiVersion": 1.0, "definitionId": journey.definition_id,
        "createdDate": _date(tenant, journey.created), "modifiedDate": _date(tenant, journey.modified),
        "lastPublishedDate": _date(tenant, journey.modified) if published else None,
        "status": journey.status, "entryMode": journey.entry_mode, "definitionType": "Multistep",
        "channel": "", "executionMode": "Production", "categoryId": 0,
        "triggers": [{
            "id": journey.trigger_id, "key": "TRIGGER", "name": event.name if event else journey.event_key,
            "type": "APIEvent", "eventDefinitionKey": journey.event_key,
            "metaData": {"eventDefinitionKey": journey.event_key,
                         "eventDefinitionId": event.id if event else None},
            "configurationArguments": {},
        }],
        "goals": [], "exits": [],
        "stats": {"currentPopulation": current, "cumulativePopulation": cumulative, "metGoal": 0,
                  "metExitCriteria": 0, "goalPerformance": 0.0},
    }
    if with_activities:
        answer["activities"] = copy.deepcopy(journey.activities)
    return answer


def select_journeys(tenant: Tenant, q: dict[str, str]) -> list[JourneyVersion]:
    """Filters of ``GET /interactions``. Deleted versions only show when ``status=Deleted`` is asked for."""
    status = q.get("status", "").strip().lower()
    rows = [j for j in tenant.content.journeys if status == "deleted" or j.status != "Deleted"]
    if "versionnumber" in q:
        number = to_int(q["versionnumber"], "versionNumber", 1)
        rows = [j for j in rows if j.version == number]
    elif q.get("mostrecentversiononly", "true").strip().lower() != "false":
        newest = {}
        for j in rows:
            if j.key not in newest or j.version > newest[j.key].version:
                newest[j.key] = j
        rows = [j for j in rows if newest[j.key] is j]
    if status:
        rows = [j for j in rows if j.status.lower() == status]
    if q.get("nameordescription"):
        needle = q["nameordescription"].lower()
        rows = [j for j in rows if needle in j.name.lower() or needle in j.description.lower()]
    if q.get("key"):
        rows = [j for j in rows if j.key.lower() == q["key"].lower()]
    if q.get("id"):
        rows = [j for j in rows if q["id"].lower() in (j.id.lower(), j.definition_id.lower())]
    field, _, direction = q.get("$orderby", "").strip().partition(" ")
    sort_key = {"name": lambda j: j.name.lower(), "modifieddate": lambda j: j.modified,
                "createddate": lambda j: j.created, "version": lambda j: j.version}.get(field.lower())
    if sort_key:
        rows.sort(key=sort_key, reverse=direction.strip().lower() == "desc")
    return rows


def find_journey(tenant: Tenant, ident: str, by_key: bool, version: str | None) -> JourneyVersion:
    """One journey version by id (version or definition id) or key; Deleted or missing -> 404 30003."""
    journeys = tenant.content.journeys
    if by_key:
        versions = [j for j in journeys if j.key.lower() == ident.lower()]
    else:
        hit = next((j for j in journeys if ident.lower() in (j.id.lower(), j.definition_id.lower())), None)
        versions = [j for j in journeys if hit and j.key == hit.key]
        if hit and hit.id.lower() == ident.lower() and version is None:
            versions = [hit]
    if version is not None:
        number = to_int(version, "versionNumber", 1)
        versions = [j for j in versions if j.version == number]
    newest = max(versions, key=lambda j: j.version, default=None)
    if newest is None or newest.status == "Deleted":
        raise ApiError(*JOURNEY_NOT_FOUND)
    return newest


def event_json(tenant: Tenant, event: EventDefinition) -> dict:
    used, published = tenant.interaction_counts(event.key)
    return {
        "id": event.id, "type": "APIEvent", "name": event.name, "description": "",
        "mode": "Production", "eventDefinitionKey": event.key,
        "dataExtensionId": event.de.id, "dataExtensionName": event.de.name,
        "sourceApplicationExtensionId": "", "filterDefinitionId": "", "filterDefinitionTemplate": "",
        "iconUrl": "", "arguments": {}, "configurationArguments": {}, "metaData": {},
        "interactionCount": used, "publishedInteractionCount": published,
        "isVisibleInPicker": False, "category": "Event", "disableDEDataLogging": False,
        "schema": {"fields": [
            {"name": c.name, "dataType": c.type, "maxLength": c.length, "isNullable": c.is_nullable,
             "isPrimaryKey": c.is_primary_key, "defaultValue": c.default} for c in event.de.columns]},
    }


def find_event(tenant: Tenant, ident: str, by_key: bool) -> EventDefinition:
    if by_key:
        event = tenant.content.events.get(ident)
    else:
        event = next((e for e in tenant.content.events.values() if e.id.lower() == ident.lower()), None)
    if event is None:
        raise ApiError(404, 30000, "Event definition not found.")
    return event


def fields_json(tenant: Tenant, de_id: str) -> dict:
    de: DataExtension | None = next((d for d in tenant.content.data_extensions.values()
                                     if d.id.lower() == de_id.lower() and d.fields_listed), None)
    if de is None:
        raise ApiError(404, 30000, f"Data extension '{de_id}' was not found.")
    return {"id": de.id, "key": de.key, "name": de.name, "fields": [
        {"name": c.name, "type": c.type, "length": c.length, "scale": c.scale, "isPrimaryKey": c.is_primary_key,
         "isNullable": c.is_nullable, "defaultValue": c.default, "ordinal": n, "isHidden": False,
         "isReadOnly": False, "isTemplateField": False, "storageType": "Plain"}
        for n, c in enumerate(de.columns)]}


def paged(rows: list, q: dict[str, str], default_size: int, max_size: int) -> tuple[int, int, list]:
    """(page, pageSize, rows of that page). ``$page`` is 1-based; a ``$pageSize`` above the maximum is capped."""
    page = to_int(q.get("$page", "1"), "$page", 1)
    size = min(to_int(q.get("$pagesize", str(default_size)), "$pageSize", 1), max_size)
    return page, size, rows[(page - 1) * size: page * size]


def to_int(text: str, name: str, minimum: int) -> int:
    try:
        value = int(text.strip())
    except (ValueError, AttributeError):
        raise ApiError(400, 10005, f"{name} must be a whole number.") from None
    if value < minimum:
        raise ApiError(400, 10005, f"{name} must be at least {minimum}.")
    return value
