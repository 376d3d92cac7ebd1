"""Endpoint handlers and the route table: turn parsed HTTP requests into tenant calls and JSON/CSV answers.

Kept free of socket code so the server module only deals with transport (framing, keep-alive, dropping
connections) and this module only with what Marketing Cloud answers.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import unquote

from . import catalog, history
from .clock import SYSTEM_TIME, api_date
from .errors import ApiError
from .schema import parse_date
from .tenant import Tenant, now_utc

READ = ("journeys_read",)
EXECUTE = ("journeys_execute",)
READ_OR_EXECUTE = ("journeys_read", "journeys_execute")
DE_READ = ("data_extensions_read",)
BATCH_PATH = "/interaction/v1/async/events"
HISTORY_PATH = "/interaction/v1/interactions/journeyhistory"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]          # parameter names lower-cased (the service ignores their case)
    headers: dict[str, str]        # header names lower-cased
    body: bytes
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class Answer:
    status: int
    payload: object = None         # JSON-serialisable, or str (or bytes) for text answers
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False             # close the connection without answering

    def encode(self) -> bytes:
        if isinstance(self.payload, bytes):
            return self.payload
        if isinstance(self.payload, str):
            return self.payload.encode("utf-8")
        return json.dumps(self.payload, ensure_ascii=False).encode("utf-8")


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(text: str) -> object:
    """JSON as the service reads it: NaN and Infinity are refused (ValueError)."""
    return json.loads(text, parse_constant=_reject_constant)


def json_body(req: Request, allow_empty: bool = False) -> object:
    """Strict JSON (no NaN/Infinity) from a request sent as application/json; 415 / 400 otherwise."""
    if allow_empty and not req.body.strip():
        return {}
    media = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, None, "Unsupported Media Type: send the body as Content-Type: application/json.")
    try:
        return loads_strict(req.body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, 10004, f"The request body is not valid JSON ({str(exc)[:120]}).") from None


# ---- entry -------------------------------------------------------------------------------------------

def batch_entry(t: Tenant, req: Request) -> Answer:
    return Answer(202, t.enter_batch(json_body(req)))


def single_entry(t: Tenant, req: Request) -> Answer:
    return Answer(201, t.fire_event(json_body(req)))


STATUS_FILTERS = {"requestid": "request_id", "eventinstanceid": "event_instance_id", "contactkey": "contact_key",
                  "eventdefinitionkey": "event_key"}


def batch_status(t: Tenant, req: Request) -> Answer:
    q = req.query
    wanted = {attr: q[name] for name, attr in STATUS_FILTERS.items() if q.get(name)}
    kind = q.get("type", "").strip().lower()
    if not wanted and not kind:
        raise ApiError(400, 10002, "At least one of requestId, eventInstanceId, contactKey, eventDefinitionKey "
                       "or type is required.")
    if kind and kind not in ("queued", "processed", "errored"):
        raise ApiError(400, 10005, "type must be queued, processed or errored.")
    now = now_utc()
    start = _moment(q.get("startdate"), "startDate") or now - timedelta(days=30)
    end = _moment(q.get("enddate"), "endDate")
    landed = now - timedelta(seconds=float(t.faults.status_lag))   # newer entries are not listed yet
    indexed = next((attr for attr in ("request_id", "event_instance_id", "contact_key") if attr in wanted), None)
    candidates = t.entries_with(indexed, wanted[indexed]) if indexed else t.entry_rows()
    rows = [e for e in candidates if e.request_id is not None
            and all(getattr(e, attr) == value for attr, value in wanted.items())
            and (not kind or e.status == kind) and start <= e.created <= landed and (end is None or e.created <= end)]
    order_field, _, direction = q.get("$orderby", "").strip().partition(" ")
    if order_field.lower() == "modifieddate":
        rows.sort(key=_modified, reverse=direction.strip().lower() == "desc")
    page, size, chunk = catalog.paged(rows, q, 50, 100)
    items, style = [], t.faults.date_style
    for e in chunk:
        item = {"requestId": e.request_id, "eventInstanceId": e.event_instance_id, "contactKey": e.contact_key,
                "eventDefinitionKey": e.event_key, "status": e.status, "createdDate": api_date(e.created, style),
                "modifiedDate": api_date(_modified(e), style)}
        if e.status == "errored":
            item["message"] = e.message
        items.append(item)
    return Answer(200, {"page": page, "pageSize": size, "count": len(rows), "items": items})


def _modified(entry) -> datetime:
    return entry.settled or entry.created


def _moment(text: object, name: str) -> datetime | None:
    """A filter date; one without an offset is read as system time, as the API writes them."""
    if text in (None, ""):
        return None
    moment = parse_date(text) if isinstance(text, str) else None
    if moment is None:
        raise ApiError(400, 10003, f"{name} must be a date or date-time (ISO 8601).")
    return moment if moment.tzinfo else moment.replace(tzinfo=SYSTEM_TIME)


# ---- discovery ---------------------------------------------------------------------------------------

def list_journeys(t: Tenant, req: Request) -> Answer:
    rows = catalog.select_journeys(t, req.query)
    page, size, chunk = catalog.paged(rows, req.query, 50, 50)
    links = {"self": {"href": f"/interaction/v1/interactions?$page={page}&$pageSize={size}"}}
    if page * size < len(rows):
        links["next"] = {"href": f"/interaction/v1/interactions?$page={page + 1}&$pageSize={size}"}
    return Answer(200, {"count": len(rows), "page": page, "pageSize": size, "links": links,
                        "items": [catalog.journey_json(t, j, _activities_wanted(req, False)) for j in chunk]})


def journey_by_id(t: Tenant, req: Request) -> Answer:
    journey = catalog.find_journey(t, req.params["ident"], False, req.query.get("versionnumber"))
    return Answer(200, catalog.journey_json(t, journey, _activities_wanted(req, True)))


def journey_by_key(t: Tenant, req: Request) -> Answer:
    journey = catalog.find_journey(t, req.params["ident"], True, req.query.get("versionnumber"))
    return Answer(200, catalog.journey_json(t, journey, _activities_wanted(req, True)))


def _activities_wanted(req: Request, default: bool) -> bool:
    """``extras`` (comma-separated) asks for ``all`` or ``activities``; absent: ``default``."""
    extras = req.query.get("extras")
    if extras is None or not extras.strip():
        return default
    return bool({part.strip().lower() for part in extras.split(",")} & {"all", "activities"})


def list_events(t: Tenant, req: Request) -> Answer:
    rows = list(t.content.events.values())
    page, size, chunk = catalog.paged(rows, req.query, 50, 100)
    return Answer(200, {"count": len(rows), "page": page, "pageSize": size,
                        "items": [catalog.event_json(t, e) for e in chunk]})


def event_by_id(t: Tenant, req: Request) -> Answer:
    return Answer(200, catalog.event_json(t, catalog.find_event(t, req.params["ident"], False)))


def event_by_key(t: Tenant, req: Request) -> Answer:
    return Answer(200, catalog.event_json(t, catalog.find_event(t, req.params["ident"], True)))


def de_fields(t: Tenant, req: Request) -> Answer:
    return Answer(200, catalog.fields_json(t, req.params["ident"]))


# ---- membership, exit, history -----------------------------------------------------------------------

def membership(t: Tenant, req: Request) -> Answer:
    body = json_body(req)
    keys = body.get("ContactKeyList") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not 1 <= len(keys) <= 50:
        raise ApiError(400, 10005, "ContactKeyList must be an array of 1 to 50 contact keys.")
    if not all(isinstance(k, str) and k.strip() for k in keys):
        raise ApiError(400, 10001, "Every entry of ContactKeyList must be a non-blank string.")
    found, missing = [], []
    for key in dict.fromkeys(keys):
        slots = t.memberships(key)
        found += [{"contactKey": key, "definitionKey": k, "version": v} for k, v in slots]
        if not slots:
            missing.append(key)
    return Answer(200, {"results": {"contactMemberships": found, "contactsNotFound": missing}})


def _exit_items(req: Request) -> list[dict]:
    body = json_body(req)
    if not isinstance(body, list) or not 1 <= len(body) <= 50:
        raise ApiError(400, 10005, "The body must be a JSON array of 1 to 50 "
                       "{ContactKey, DefinitionKey, Versions} objects.")
    for item in body:
        if not isinstance(item, dict):
            raise ApiError(400, 10001, "Each item must be an object with ContactKey, DefinitionKey and Versions.")
        for name in ("ContactKey", "DefinitionKey"):
            if not isinstance(item.get(name), str) or not item[name].strip():
                raise ApiError(400, 10002, f"{name} is required in every item.")
        versions = item.get("Versions")
        if versions is not None and (not isinstance(versions, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in versions)):
            raise ApiError(400, 10001, "Versions must be an array of journey version numbers.")
    return body


def contact_exit(t: Tenant, req: Request) -> Answer:
    return Answer(202, t.contact_exit(_exit_items(req)))


def exit_status(t: Tenant, req: Request) -> Answer:
    return Answer(200, t.exit_status(_exit_items(req)))


def _history_rows(t: Tenant, req: Request) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    """(columns, rows) a download or estimate covers: ``columns=``/``format=`` and the body's filters."""
    try:
        columns = history.columns_wanted(req.query.get("columns"))
        if req.query.get("format", "csv").strip().lower() != "csv":
            raise history.FilterError(10005, "format must be csv.")
        query = history.Query.from_body(json_body(req, allow_empty=True))
    except history.FilterError as exc:
        raise ApiError(400, *exc.args) from None
    lag = float(t.clock.history_lag)
    with t.lock:  # no lag: everything carried out so far (rows of one contact may be a few ms ahead of now)
        cutoff = now_utc() - timedelta(seconds=lag) if lag else None
        return columns, history.select(t.history_rows(), query, cutoff, t.seed)


def history_download(t: Tenant, req: Request) -> Answer:
    if req.headers.get("x-direct-pipe", "").strip().lower() != "true":
        raise ApiError(400, 10002, "This download needs the header x-direct-pipe: true.")
    columns, rows = _history_rows(t, req)
    return _download_answer(history.to_csv(rows, columns), t.faults.history_answer)


SESSION_EXPIRED = ("<!DOCTYPE html>\n<html><head><title>Session expired</title></head><body><h1>Your session has "
                   "expired</h1><p>Please log in again.</p></body></html>\n")


def _download_answer(text: str, style: str) -> Answer:
    """The download's 200 answer as the ``history_answer`` fault has it (faults.HISTORY_ANSWERS)."""
    if style == "html":
        return Answer(200, SESSION_EXPIRED, "text/html; charset=utf-8")
    if style == "empty":
        return Answer(200, b"", "text/csv; charset=utf-8")
    if style == "gzip":
        return Answer(200, gzip.compress(text.encode("utf-8")), "text/csv; charset=utf-8")
    if style == "cp1252":
        return Answer(200, text.encode("cp1252", errors="replace"), "text/csv; charset=utf-8")
    return Answer(200, text, "text/csv; charset=utf-8")


def history_estimate(t: Tenant, req: Request) -> Answer:
    columns, rows = _history_rows(t, req)
    return Answer(200, history.estimate(history.to_csv(rows, columns), len(rows)))


def history_freshness(t: Tenant, req: Request) -> Answer:
    return Answer(200, {"freshnessInSeconds": history.seconds(t.clock.history_lag)})


# ---- routing -------------------------------------------------------------------------------------------

LITERAL = {
    BATCH_PATH: {"POST": (batch_entry, EXECUTE)},
    "/interaction/v1/async/events/status": {"GET": (batch_status, READ_OR_EXECUTE)},
    "/interaction/v1/events": {"POST": (single_entry, EXECUTE)},
    "/interaction/v1/interactions": {"GET": (list_journeys, READ)},
    "/interaction/v1/interactions/contactmembership": {"POST": (membership, READ)},
    "/interaction/v1/interactions/contactexit": {"POST": (contact_exit, EXECUTE)},
    "/interaction/v1/interactions/contactexit/status": {"POST": (exit_status, READ_OR_EXECUTE)},
    HISTORY_PATH + "/download": {"POST": (history_download, READ)},
    HISTORY_PATH + "/estimate": {"POST": (history_estimate, READ)},
    HISTORY_PATH + "/freshness": {"GET": (history_freshness, READ)},
    "/interaction/v1/eventdefinitions": {"GET": (list_events, READ)},
}
PATTERNS = [
    (re.compile(r"^/interaction/v1/interactions/key:(?P<ident>[^/]+)$", re.I), {"GET": (journey_by_key, READ)}),
    (re.compile(r"^/interaction/v1/interactions/(?P<ident>[^/]+)$", re.I), {"GET": (journey_by_id, READ)}),
    (re.compile(r"^/interaction/v1/eventdefinitions/key:(?P<ident>[^/]+)$", re.I), {"GET": (event_by_key, READ)}),
    (re.compile(r"^/interaction/v1/eventdefinitions/(?P<ident>[^/]+)$", re.I), {"GET": (event_by_id, READ)}),
    (re.compile(r"^/data/v1/customobjects/(?P<ident>[^/]+)/fields$", re.I), {"GET": (de_fields, DE_READ)}),
]


def route(req: Request):
    """(handler, scopes) for the request, filling ``req.params``; ApiError 404 or 405 when there is none."""
    path = req.path.rstrip("/") or "/"
    methods = LITERAL.get(path.lower())
    if methods is None:
        for pattern, candidates in PATTERNS:
            match = pattern.match(path)
            if match:
                req.params = {k: unquote(v) for k, v in match.groupdict().items()}
                methods = candidates
                break
    if methods is None:
        raise ApiError(404, 30000, f"Resource not found: {req.method} {req.path}")
    if req.method not in methods:
        raise MethodNotAllowed(sorted(methods))
    return methods[req.method]


class MethodNotAllowed(ApiError):
    def __init__(self, allowed: list[str]):
        super().__init__(405, None, f"Method not allowed here; use {', '.join(allowed)}.")
        self.allowed = allowed
