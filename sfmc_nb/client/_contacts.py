"""Contacts in journeys: membership, exit and exit status (50 contacts a request), journey history."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .._rules import MAX_CONTACTS_PER_LOOKUP
from ..errors import ValidationError
from ._history import HistoryRows, HistoryTable, history_answer
from ._transport import Transport, read_json
from .models import ExitProblemList, ExitStatusList, Membership

__all__ = ["ContactEndpoints"]

MEMBERSHIP_PATH = "/interaction/v1/interactions/contactMembership"
EXIT_PATH = "/interaction/v1/interactions/contactexit"
EXIT_STATUS_PATH = "/interaction/v1/interactions/contactexit/status"
HISTORY_PATH = "/interaction/v1/interactions/journeyhistory/download"
LARGE_DOWNLOAD_TIMEOUT = 300.0
"""Seconds a history download by time window may take to answer (files up to 1 GB are documented)."""


class ContactEndpoints(Transport):
    """``contact_membership``, ``contact_exit``, ``contact_exit_status`` and ``journey_history``."""

    def contact_membership(self, keys: Iterable[str]) -> Membership:
        """Which journeys each contact is in (50 contacts per request)."""
        memberships: list[dict] = []
        not_found: list[str] = []
        raw: list[Any] = []
        for chunk in _chunks(_clean_keys(keys), MAX_CONTACTS_PER_LOOKUP):
            resp, _ = self.request("POST", MEMBERSHIP_PATH, json_body={"ContactKeyList": chunk})
            data = read_json(resp, "POST", MEMBERSHIP_PATH)
            raw.append(data)
            results = (data or {}).get("results") or {}
            memberships.extend(results.get("contactMemberships") or [])
            not_found.extend(results.get("contactsNotFound") or [])
        return Membership(memberships, not_found, raw)

    def contact_exit(self, keys: Iterable[str], journey_key: str,
                     versions: Sequence[int] | None = None) -> ExitProblemList:
        """Take contacts out of a journey; returns the per-contact problems (empty when all accepted)."""
        errors = ExitProblemList()
        for chunk in _chunks(_clean_keys(keys), MAX_CONTACTS_PER_LOOKUP):
            body = [_exit_item(k, journey_key, versions) for k in chunk]
            resp, _ = self.request("POST", EXIT_PATH, json_body=body, changes_state=True)
            data = read_json(resp, "POST", EXIT_PATH, changes_state=True) or {}
            errors.extend((data or {}).get("errors") or [] if isinstance(data, dict) else [])
        return errors

    def contact_exit_status(self, keys: Iterable[str], journey_key: str,
                            versions: Sequence[int] | None = None) -> ExitStatusList:
        """Where each contact's exit request stands."""
        out = ExitStatusList()
        for chunk in _chunks(_clean_keys(keys), MAX_CONTACTS_PER_LOOKUP):
            body = [_exit_item(k, journey_key, versions) for k in chunk]
            resp, _ = self.request("POST", EXIT_STATUS_PATH, json_body=body)
            data = read_json(resp, "POST", EXIT_STATUS_PATH)
            out.extend(data if isinstance(data, list) else [data])
        return out

    def journey_history(self, *, contact_keys: Sequence[str] | None = None,
                        definition_ids: Sequence[str] | None = None, statuses: Sequence[str] | None = None,
                        start: str | None = None, end: str | None = None) -> HistoryRows:
        """``POST .../journeyhistory/download``: the history rows (CSV) as dicts, with the answer's ``columns`` and
        ``notes``; an answer that is not that CSV (an HTML page, an empty body) is an ``UnexpectedAnswerError``."""
        resp = self._history_download(contact_keys, definition_ids, statuses, start, end)
        rows = history_answer(resp, "POST", HISTORY_PATH)
        assert isinstance(rows, HistoryRows)
        return rows

    def journey_history_table(self, *, contact_keys: Sequence[str] | None = None,
                              definition_ids: Sequence[str] | None = None, statuses: Sequence[str] | None = None,
                              start: str | None = None, end: str | None = None) -> HistoryTable:
        """The same download read as one DataFrame (:class:`HistoryTable`): for a large run's history, which one
        dict per row would make slow and big. The service writes a large file before it answers: the answer is
        awaited up to :data:`LARGE_DOWNLOAD_TIMEOUT` seconds."""
        resp = self._history_download(contact_keys, definition_ids, statuses, start, end, LARGE_DOWNLOAD_TIMEOUT)
        table = history_answer(resp, "POST", HISTORY_PATH, table=True)
        assert isinstance(table, HistoryTable)
        return table

    def _history_download(self, contact_keys: Sequence[str] | None, definition_ids: Sequence[str] | None,
                          statuses: Sequence[str] | None, start: str | None, end: str | None,
                          read_timeout: float | None = None) -> Any:
        body = {"start": start, "end": end, "contactKeys": list(contact_keys or []) or None,
                "definitionIds": list(definition_ids or []) or None, "statuses": list(statuses or []) or None}
        body = {k: v for k, v in body.items() if v is not None}
        resp, _ = self.request("POST", HISTORY_PATH, json_body=body, params={"columns": HISTORY_COLUMNS},
                               headers={"x-direct-pipe": "true", "Accept": "text/csv, application/json"},
                               read_timeout=read_timeout)
        return resp


# the documented default columns of a history download, plus Message (asking with columns= replaces the defaults)
HISTORY_COLUMNS = ",".join(("TransactionTime", "ContactKey", "Status", "DefinitionId", "DefinitionName", "ActivityId",
                            "ActivityName", "ActivityType", "Message"))


def _exit_item(key: str, journey_key: str, versions: Sequence[int] | None) -> dict:
    item: dict[str, Any] = {"ContactKey": key, "DefinitionKey": journey_key}
    if versions:
        item["Versions"] = [int(v) for v in versions]
    return item


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _clean_keys(keys: Iterable[str]) -> list[str]:
    """The keys as non-blank strings (one string is one key); none at all is an error."""
    if isinstance(keys, str):
        keys = [keys]
    out = [str(k) for k in keys if k is not None and str(k).strip()]
    if not out:
        raise ValidationError("no contact keys given")
    return out
