"""Entering contacts: the batch entry endpoint, its status endpoint and single entry."""

from __future__ import annotations

from collections.abc import Sequence

from .._rules import MAX_BATCH_SIZE
from ..errors import OutcomeUnknownError, ValidationError
from ._transport import Transport, read_json
from .models import BatchAnswer, StatusItemList

__all__ = ["EntryEndpoints", "ENTRY_PATH", "STATUS_PATH"]

ENTRY_PATH = "/interaction/v1/async/events"
STATUS_PATH = "/interaction/v1/async/events/status"
SINGLE_ENTRY_PATH = "/interaction/v1/events"


class EntryEndpoints(Transport):
    """``enter_batch``, ``batch_status``, ``batch_status_page``, ``batch_status_read`` and ``fire_event``."""

    def enter_batch(self, event_key: str, members: Sequence[dict], *, retry: bool = True) -> BatchAnswer:
        """``POST /interaction/v1/async/events``: enter 1..100 members into the journey(s) of ``event_key``.

        ``members`` are ``{"contactKey": ..., "data": {...}}`` dicts. A batch can partly succeed:
        read ``not_queued_count`` and every member's ``errorcode``.
        """
        if not event_key or not str(event_key).strip():
            raise ValidationError("event_key is empty: pass the entry event's key (Event Administration)")
        if not members:
            raise ValidationError("a batch needs at least one member")
        if len(members) > MAX_BATCH_SIZE:
            raise ValidationError(f"a batch holds at most {MAX_BATCH_SIZE} members, got {len(members)}; "
                                  "split it (df.sfmc.enter_journey does this for you)")
        payload = {"eventDefinitionKey": event_key, "members": list(members)}
        resp, attempts = self.request("POST", ENTRY_PATH, json_body=payload, changes_state=True, retry=retry)
        data = read_json(resp, "POST", ENTRY_PATH, changes_state=True)
        if not isinstance(data, dict) or not isinstance(data.get("members"), list):
            raise OutcomeUnknownError(f"POST {ENTRY_PATH}: HTTP {resp.status_code} without the members list; "
                                      "the batch may have been carried out", method="POST", path=ENTRY_PATH)
        return BatchAnswer.from_json(data, resp.status_code, attempts)

    def batch_status(self, *, request_id: str | None = None, contact_key: str | None = None,
                     event_instance_id: str | None = None, event_key: str | None = None,
                     type: str | None = None, start_date: str | None = None, page_size: int = 50) -> StatusItemList:
        """``GET /interaction/v1/async/events/status``: every status item matching the filters (all pages).

        ``start_date`` (ISO 8601) narrows the default window of the last 30 days.
        """
        params = _status_params(request_id, contact_key, event_instance_id, event_key, type, start_date)
        return StatusItemList(self.paged(STATUS_PATH, params, page_size))

    def batch_status_page(self, *, page: int = 1, page_size: int = 50, request_id: str | None = None,
                          contact_key: str | None = None, event_instance_id: str | None = None,
                          event_key: str | None = None, type: str | None = None,
                          start_date: str | None = None, deadline: float | None = None) -> dict:
        """One page of the status endpoint, as answered: ``page``, ``pageSize``, ``count``, ``items``.

        ``deadline`` (a ``time.monotonic()`` moment) bounds the request and its retries (see ``request``).
        """
        params = _status_params(request_id, contact_key, event_instance_id, event_key, type, start_date)
        resp, _ = self.request("GET", STATUS_PATH, params={**params, "$page": page, "$pageSize": page_size},
                               deadline=deadline)
        data = read_json(resp, "GET", STATUS_PATH)
        return data if isinstance(data, dict) else {}

    def batch_status_read(self, params: dict, *, page: int = 1, page_size: int = 50,
                          retry: bool = True) -> tuple[dict, int]:
        """One page of the status endpoint for ``params`` (its query filters, e.g. ``eventDefinitionKey``,
        ``startDate``, ``$orderBy``) and the requests it took, for callers that count every request."""
        resp, attempts = self.request("GET", STATUS_PATH, params={**params, "$page": page, "$pageSize": page_size},
                                      retry=retry)
        data = read_json(resp, "GET", STATUS_PATH)
        return (data if isinstance(data, dict) else {}), attempts

    def fire_event(self, event_key: str, contact_key: str, data: dict | None = None) -> dict:
        """``POST /interaction/v1/events``: enter one contact; returns the answer (``eventInstanceId``)."""
        if not contact_key or not str(contact_key).strip():
            raise ValidationError("contact_key is blank")
        if "." in event_key:
            raise ValidationError("the single-entry endpoint refuses event keys containing '.'")
        body = {"ContactKey": str(contact_key), "EventDefinitionKey": event_key, "Data": dict(data or {})}
        resp, _ = self.request("POST", SINGLE_ENTRY_PATH, json_body=body, changes_state=True)
        return read_json(resp, "POST", SINGLE_ENTRY_PATH, changes_state=True) or {}


def _status_params(request_id: str | None, contact_key: str | None, event_instance_id: str | None,
                   event_key: str | None, type: str | None, start_date: str | None) -> dict:
    """The status endpoint's filters; it needs at least one besides the date."""
    params = {"requestId": request_id, "contactKey": contact_key, "eventInstanceId": event_instance_id,
              "eventDefinitionKey": event_key, "type": type, "startDate": start_date}
    params = {k: v for k, v in params.items() if v not in (None, "")}
    if not set(params) - {"startDate"}:
        raise ValidationError("batch status needs a filter: request_id, contact_key, event_instance_id, "
                              "event_key or type")
    return params
