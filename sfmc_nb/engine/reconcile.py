"""Reconciliation: what became of members whose request is in doubt, asked of the status endpoint.

A batch in doubt (answer lost, read timeout, a 5xx) is never simply sent again: its contacts are looked up
first. An entry found is this batch's when it was made after the request went out and no other row owns it.
"Not found" only counts as "not entered" once the request can no longer land (``Check.final``, decided by the
caller from the landing horizon); before that, a key not found stays in doubt.

One look costs few requests however busy the event: the event's entries since just before the send, newest
first (one page gives their count and usually this request's id), then that request's own entries by
``requestId``. Contact by contact only when the window is too big to read and absence must be proven.
Every request is counted, the client's retries of a read included.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .._rules import int_or_none
from ..client import Connection
from ..errors import ApiError, ServerError, SfmcError
from .dates import TenantTime, tenant_time

__all__ = ["UNDATED", "UNDATED_MESSAGE", "Check", "Found", "find_queued", "StatusReader"]

log = logging.getLogger("sfmc_nb.engine")

WINDOW_MARGIN = 10.0     # seconds the window starts before the send, when the server's clock is known
DATE_MARGIN = 2.0        # a createdDate cut to the second and a Date header read low
STATUS_PAGE = 50         # the status endpoint's documented default page size
PROBES = 2               # contacts asked about one by one to find the request's id in a busy window
MAX_PAGES = 2000         # a listing is never read further (100,000 items)
UNDATED_MESSAGE = ("the status endpoint lists an entry for this contact whose date cannot show whether this run "
                   "made it; not resent: check it (%sfmc_batch_status) before entering it again")

StatusItem = dict[str, Any]
UNDATED: StatusItem = {"undated": True}
"""What :func:`find_queued` gives for a key with an entry that cannot be told apart from an earlier one."""


class CountsRequests(Protocol):
    """Where the status requests a lookup makes are counted (a batch's outcome, or the result)."""

    requests: int


@dataclass
class Check:
    """One look at the status endpoint for the members of one request in doubt."""

    keys: Sequence[str | None]     # contact key of each member, in order
    since: float                   # local epoch the request was sent: entries made before are not its
    request_id: str | None = None  # its requestId when known: only its entries are read
    final: bool = False            # it can no longer land: a key not found is surely not entered


@dataclass
class Found:
    items: list[StatusItem | None]   # per key: its entry, UNDATED, or None (not found)
    request_id: str | None = None    # the request found to hold this batch's entries, once read whole


class StatusReader:
    """Reads status pages and counts every request; the client's retry policy is applied here, one
    attempt at a time, so each attempt is counted."""

    def __init__(self, conn: Connection, counter: CountsRequests | None):
        self.conn, self.counter = conn, counter

    def page(self, params: dict, page: int = 1, size: int = STATUS_PAGE) -> dict:
        attempts, waited = 0, 0.0
        while True:
            attempts += 1
            if self.counter is not None:
                self.counter.requests += 1
            try:
                data, _ = self.conn.batch_status_read(params, page=page, page_size=size, retry=False)
                return data
            except SfmcError as exc:
                wait = self.conn.retry.next_wait(exc, attempts=attempts, waited=waited, changes_state=False)
                if wait is None:
                    raise
                time.sleep(wait)
                waited += wait

    def every(self, params: dict) -> tuple[list[StatusItem], bool]:
        """All items for ``params`` in the endpoint's order; False when the listing grew while it was read."""
        first = self.page(params)
        items = _items(first)
        count = int_or_none(first.get("count"))
        if count is None:   # no count: page on until a short page
            page, last = 1, items
            while len(last) >= STATUS_PAGE and page < MAX_PAGES:
                page += 1
                last = _items(self.page(params, page))
                items.extend(last)
            return items, len(last) < STATUS_PAGE
        pages = min(-(-count // STATUS_PAGE), MAX_PAGES)
        last_count = count
        for number in range(2, pages + 1):
            data = self.page(params, number)
            items.extend(_items(data))
            last_count = int_or_none(data.get("count")) or last_count
        return items, last_count == count and len(items) >= count


def _items(data: dict) -> list[StatusItem]:
    return [item for item in data.get("items") or [] if isinstance(item, dict)]


def find_queued(conn: Connection, event_key: str, check: Check, claimed: set[str], lock: threading.Lock,
                counter: CountsRequests | None = None) -> Found | None:
    """For each key of ``check`` (in order): an entry of this event made since ``check.since`` and not yet
    claimed by another row (claimed now); ``UNDATED`` when only entries that cannot be dated exist; or None.

    Returns None when the status endpoint fails.
    """
    lookup = _Lookup(conn, event_key, check, claimed, lock, StatusReader(conn, counter))
    try:
        if check.request_id:
            lookup.read_request(check.request_id)
        else:
            lookup.search()
    except SfmcError as exc:
        log.warning("status endpoint failed during reconciliation: %s", exc)
        return None
    return Found(lookup.pick(), lookup.request_read)


class _Lookup:
    """The status items seen so far for each key of one check, kept only when they can be its request's."""

    def __init__(self, conn: Connection, event_key: str, check: Check, claimed: set[str], lock: threading.Lock,
                 reader: StatusReader):
        self.conn, self.event_key, self.check = conn, event_key, check
        self.claimed, self.lock, self.reader = claimed, lock, reader
        self.clock: TenantTime = tenant_time(conn)
        self.distinct = list(dict.fromkeys(check.keys))
        self.need = Counter(check.keys)
        self.items_by_key: dict[str | None, dict[str, StatusItem]] = {k: {} for k in self.distinct}  # eid -> item
        self.undated: dict[str | None, set[str]] = {k: set() for k in self.distinct}   # entries that cannot be dated
        self.request_read: str | None = None   # a request of ours read whole: keys it lacks are not entered
        self.settled = False                   # every key's fate is known from what was read
        self._newest: list[StatusItem] = []    # the window's first page (newest first)
        self._ordered = True                   # ask for the newest first (documented: $orderBy on modifiedDate)

    # -- the strategies ---------------------------------------------------------------------------

    def search(self) -> None:
        """Window first (one page, newest first), then the request it shows, then proof for the rest."""
        self._learn_zone()
        if len(self.distinct) == 1:
            self.ask_each(self.distinct)
            return
        params = self._window_params()
        try:
            count = self._first_page(params)
            if count is not None and not self.settled and not self._candidate() and self.clock.rule_out(
                    self._newest, self.conn.server_clock_offset):
                for key in self.distinct:                # the zone is known now: what was seen is dated anew,
                    self.items_by_key[key].clear()       # and the window read from the right moment
                    self.undated[key].clear()
                params = self._window_params()
                count = self._first_page(params)
        except ApiError as exc:
            if isinstance(exc, ServerError):
                raise
            self.ask_each(self.distinct, dated=False)    # the window cannot be read: contact by contact
            return
        if self.settled:
            return
        request_id = self._candidate() or self._probe()
        if request_id:
            self.read_request(request_id)
        if self.check.final and not self.settled:
            self._prove_absence(params, count)

    def _first_page(self, params: dict) -> int | None:
        """The window's newest entries (one page) and how many it holds; settled when that is all of them."""
        try:
            first = self.reader.page({**params, "$orderBy": "modifiedDate desc"} if self._ordered else params)
        except ApiError as exc:
            if isinstance(exc, ServerError) or not self._ordered:
                raise
            self._ordered = False            # the order refused: the same page in the endpoint's own order
            first = self.reader.page(params)
        self._newest = _items(first)
        count = int_or_none(first.get("count"))
        self.take_all(self._newest)
        self.settled = count is not None and count <= len(self._newest)
        return count

    def read_request(self, request_id: str) -> None:
        """Every entry of one request; when it is this batch's own, a key it lacks is not entered by it."""
        items, whole = self.reader.every({"requestId": request_id})
        self.take_all(items)
        keys = set(self.distinct)
        with self.lock:
            ours = all(item.get("contactKey") in keys or item.get("eventInstanceId") in self.claimed
                       for item in items)
        if whole and ours and items:
            self.request_read = request_id
            self.settled = self.check.final   # past the horizon its listing is complete

    def ask_each(self, keys: Sequence[str | None], dated: bool = True) -> None:
        """Ask about each key on its own (its entries of this event since the window's start)."""
        for key in keys:
            self.items_by_key[key].clear()
            self.undated[key].clear()
            params: dict[str, Any] = {"contactKey": key, "eventDefinitionKey": self.event_key}
            if dated:
                params["startDate"] = self._window_params()["startDate"]
            items, _ = self.reader.every(params)
            self.take_all([item for item in items if item.get("contactKey") in (None, key)], key)
        self.settled = True

    def _prove_absence(self, params: dict, count: int | None) -> None:
        """Past the horizon, every key not found must be proven absent: read the window, or ask each."""
        missing = self._unaccounted()
        if not missing:
            return
        pages = -(-count // STATUS_PAGE) if count is not None else None
        if pages is not None and pages < len(missing):
            items, whole = self.reader.every(params)
            if whole:
                self.take_all(items)
                self.settled = True
                return
        self.ask_each(self._unaccounted())

    def _probe(self) -> str | None:
        """Ask about a few keys on their own until one shows this request's id."""
        for key in self._unaccounted()[:PROBES]:
            items, _ = self.reader.every({"contactKey": key, "eventDefinitionKey": self.event_key,
                                          "startDate": self._window_params()["startDate"]})
            self.take_all([item for item in items if item.get("contactKey") in (None, key)], key)
            found = self._candidate()
            if found:
                return found
        return None

    def _learn_zone(self) -> None:
        """One request, once per connection, to learn the tenant's zone from an answered request's entry."""
        if self.clock.learned:
            return
        request_id = self.clock.evidence()
        if request_id:
            data = self.reader.page({"requestId": request_id}, size=1)
            self.clock.learn_from(_items(data), self.conn.server_clock_offset)

    def _window_params(self) -> dict[str, Any]:
        offset = self.conn.server_clock_offset
        start = self.check.since - (WINDOW_MARGIN if offset is not None else 0.0)
        return {"eventDefinitionKey": self.event_key, "startDate": self.clock.start_date(start, offset)}

    # -- what was seen ----------------------------------------------------------------------------

    def take_all(self, items: list[StatusItem], key: str | None = None) -> None:
        self.clock.learn_from(items, self.conn.server_clock_offset)
        for item in items:
            owner = key if key is not None else item.get("contactKey")
            if owner in self.items_by_key:
                self.take(item, owner)

    def take(self, item: StatusItem, key: str | None) -> None:
        """Keep an item of this event made after ``since``; count the ones that cannot be dated."""
        if item.get("eventDefinitionKey") not in (None, self.event_key):
            return
        when = dated(item, self.check.since, self.conn.server_clock_offset, self.clock)
        eid = item.get("eventInstanceId")
        if when == "after" and eid:
            self.items_by_key[key][eid] = item
        elif when != "before" and eid not in self.claimed:
            self.undated[key].add(str(eid or sorted(item.items())))

    def _candidate(self) -> str | None:
        """The requestId most of this check's unclaimed entries carry."""
        with self.lock:
            ids = Counter(item.get("requestId") for found in self.items_by_key.values()
                          for eid, item in found.items() if eid not in self.claimed and item.get("requestId"))
        return ids.most_common(1)[0][0] if ids else None

    def _unaccounted(self) -> list[str | None]:
        with self.lock:
            return [key for key in self.distinct
                    if sum(1 for eid in self.items_by_key[key] if eid not in self.claimed) < self.need[key]]

    def pick(self) -> list[StatusItem | None]:
        """One unclaimed item per key occurrence, claimed now; ``UNDATED`` or None when there is none."""
        found: list[StatusItem | None] = []
        undated = Counter({key: len(ids) for key, ids in self.undated.items()})
        with self.lock:
            for key in self.check.keys:
                pick = next((item for eid, item in self.items_by_key[key].items() if eid not in self.claimed), None)
                if pick is not None:
                    self.claimed.add(pick["eventInstanceId"])
                elif undated[key]:
                    undated[key] -= 1
                    pick = UNDATED
                found.append(pick)
        return found


def dated(item: StatusItem, since: float, server_offset: float | None, clock: TenantTime) -> str:
    """Was this status item made by a request sent at ``since`` (local epoch) or later?

    ``"after"``: yes, it can be this request's. ``"before"``: surely not (a previous run's, say).
    ``"undated"``: cannot tell (no createdDate, or a zone-less one the zones allowed for leave open), so the
    row it would settle is left ``unknown`` rather than called queued or sent again.
    """
    span = clock.interval(item.get("createdDate"), server_offset)
    if span is None:
        return "undated"
    earliest, latest = span
    # the Date header is cut to the second, so the offset can only read low: an entry's local moment is never
    # earlier than the request that made it; DATE_MARGIN covers a createdDate cut to the second.
    margin = DATE_MARGIN if server_offset is not None else 0.0
    if latest < since - margin:
        return "before"
    if earliest >= since - margin:
        return "after"
    return "undated"
