"""Reconciliation: what became of members whose answer was lost, asked of the status endpoint.

A batch in doubt (answer lost, read timeout, a 5xx that may have been carried out) is never simply sent
again: its contacts are looked up first, and only those surely not entered are resent. "Not found" proves
nothing before the request could have landed, and an entry made before the request went out (a previous
run's) is never taken as this one's; zone-less dates are only trusted a day apart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

from .._rules import int_or_none
from ..client import Connection
from ..errors import SfmcError
from ..results import NOT_SENT, EntryResult
from .context import RunContext

__all__ = ["UNDATED", "UNDATED_MESSAGE", "find_queued", "settle_in_doubt", "first_sent"]

log = logging.getLogger("sfmc_nb.engine")

CLOCK_ALLOWANCE = 300.0  # seconds of clock difference tolerated when the server sends no Date header
WINDOW_MIN_KEYS = 10     # below this, reconcile contact by contact
STATUS_PAGE = 50         # the status endpoint's documented default page size
UNDATED_MESSAGE = ("the status endpoint lists an entry for this contact whose date cannot show whether this run "
                   "made it; not resent: check it (%sfmc_batch_status) before entering it again")

StatusItem = dict[str, Any]
UNDATED: StatusItem = {"undated": True}
"""What :func:`find_queued` gives for a key with an entry that cannot be told apart from an earlier one."""


class CountsRequests(Protocol):
    """Where the status requests a lookup makes are counted (a batch's outcome, or the result)."""

    requests: int


def find_queued(conn: Connection, event_key: str, keys: Sequence[str | None], claimed: set[str],
                lock: threading.Lock, out: CountsRequests | None = None, since: float | None = None,
                likely_entered: bool = True) -> list[StatusItem | None] | None:
    """For each key (in order): a status item of this event made since ``since`` and not yet claimed by
    another row; ``UNDATED`` when only entries that cannot be dated exist; or None (not entered).

    ``since`` is the local time the requests in doubt were first sent; entries made before (a
    previous run's) never count. When the members were ``likely_entered`` (answer lost rather than
    refused with a 5xx) the event's recent items are read first, page by page, if that is cheaper; a
    listing read in pages can shift under the reader, so only what it shows counts, and every key it
    does not account for is asked about on its own. Returns None when the status endpoint fails.
    Items found are added to ``claimed`` so two rows never take the same entry.
    """
    lookup = _StatusLookup(conn, event_key, keys, claimed, lock, time.time() if since is None else since)
    try:
        window = None
        if likely_entered:
            window = _recent_items(conn, event_key, lookup.since, len(lookup.distinct), out)
        for item in window or []:
            if item.get("contactKey") in lookup.items_by_key:
                lookup.take(item, item["contactKey"])
        lookup.ask_each(out, window_read=window is not None)
    except SfmcError as exc:
        log.warning("status endpoint failed during reconciliation: %s", exc)
        return None
    return lookup.pick()


class _StatusLookup:
    """The status items seen so far for each key of one lookup, kept only when they can be this run's."""

    def __init__(self, conn: Connection, event_key: str, keys: Sequence[str | None], claimed: set[str],
                 lock: threading.Lock, since: float):
        self.conn, self.event_key, self.keys = conn, event_key, keys
        self.claimed, self.lock, self.since = claimed, lock, since
        self.distinct = list(dict.fromkeys(keys))
        self.need = Counter(keys)
        self.items_by_key: dict[str | None, dict[str, StatusItem]] = {k: {} for k in self.distinct}  # eid -> item
        self.undated: Counter[str | None] = Counter()

    def take(self, item: StatusItem, key: str | None) -> None:
        """Keep an item of this event made after ``since``; count the ones that cannot be dated."""
        if item.get("eventDefinitionKey") not in (None, self.event_key):
            return
        when = _dated(item, self.since, self.conn.server_clock_offset)
        eid = item.get("eventInstanceId")
        if when == "after" and eid:
            self.items_by_key[key][eid] = item
        elif when != "before" and eid not in self.claimed:
            self.undated[key] += 1

    def ask_each(self, out: CountsRequests | None, *, window_read: bool) -> None:
        """Ask about every key the window did not account for (every key when no window was read)."""
        for key in self.distinct:
            with self.lock:
                unclaimed = sum(1 for eid in self.items_by_key[key] if eid not in self.claimed)
            if window_read and unclaimed >= self.need[key]:
                continue
            if out is not None:
                out.requests += 1
            self.items_by_key[key].clear()
            self.undated[key] = 0
            for item in self.conn.batch_status(contact_key=key, event_key=self.event_key):
                if item.get("contactKey") in (None, key):
                    self.take(item, key)

    def pick(self) -> list[StatusItem | None]:
        """One unclaimed item per key occurrence, claimed now; ``UNDATED`` or None when there is none."""
        found: list[StatusItem | None] = []
        with self.lock:
            for key in self.keys:
                pick = next((item for eid, item in self.items_by_key[key].items() if eid not in self.claimed), None)
                if pick is not None:
                    self.claimed.add(pick["eventInstanceId"])
                elif self.undated[key]:
                    self.undated[key] -= 1
                    pick = UNDATED
                found.append(pick)
        return found


def _recent_items(conn: Connection, event_key: str, since: float, n_keys: int,
                  out: CountsRequests | None) -> list[StatusItem] | None:
    """Every status item of the event from a day before ``since`` on, when that takes fewer requests
    than asking contact by contact; else None.

    The window starts a whole day early so that however the service reads ``startDate`` (time zone,
    date only) it cannot start after the requests in doubt; older items are dropped by their date.
    """
    if n_keys < WINDOW_MIN_KEYS:
        return None
    start = datetime.fromtimestamp(since - 86400, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    first = conn.batch_status_page(event_key=event_key, start_date=start, page_size=STATUS_PAGE)
    if out is not None:
        out.requests += 1
    count = int_or_none(first.get("count"))
    items = list(first.get("items") or [])
    pages = -(-count // STATUS_PAGE) if count is not None else None
    if pages is None or pages >= n_keys:   # cheaper (or only possible) to ask per contact
        return None
    for page in range(2, pages + 1):
        if out is not None:
            out.requests += 1
        batch = conn.batch_status_page(event_key=event_key, start_date=start, page=page, page_size=STATUS_PAGE)
        items.extend(batch.get("items") or [])
    return items


def _dated(item: StatusItem, since: float, offset: float | None) -> str:
    """Was this status item made by a request sent at ``since`` (local epoch) or later?

    ``"after"``: yes, it can be this request's. ``"before"``: surely not (a previous run's, say).
    ``"undated"``: cannot tell (no createdDate, no time zone on it, no server clock), so the row
    it would settle is left ``unknown`` rather than called queued or sent again.
    """
    text = item.get("createdDate")
    try:
        created = datetime.fromisoformat(text.strip().replace("Z", "+00:00")) if isinstance(text, str) else None
    except ValueError:
        created = None
    if created is None:
        return "undated"
    if created.tzinfo is None:  # local time of an unknown zone: only a day's distance tells
        earliest = created.replace(tzinfo=timezone.utc).timestamp() - 14 * 3600
        latest = earliest + 28 * 3600
    else:
        earliest = latest = created.timestamp()
    if offset is None:  # no Date header: allow for clocks that disagree by minutes
        earliest, latest, margin = earliest - CLOCK_ALLOWANCE, latest + CLOCK_ALLOWANCE, 0.0
    else:
        # the Date header is cut to the second, so ``offset`` can only read low: createdDate - offset is
        # never earlier than the local moment our request made the entry. 2 s covers a createdDate cut
        # to the second and a stale offset.
        earliest, latest, margin = earliest - offset, latest - offset, 2.0
    if latest < since - margin:
        return "before"
    if earliest >= since - margin:
        return "after"
    return "undated"


def settle_in_doubt(ctx: RunContext, result: EntryResult, keys: Sequence[str | None], positions: list[int],
                    since: float | None) -> None:
    """Reconcile rows whose fate is unknown (a resumed journal, a retry); found ones become queued, the
    rest are left to send. ``since``: when the requests in doubt were first sent."""
    found = find_queued(ctx.conn, ctx.event_key, [keys[p] for p in positions], ctx.claimed, ctx.claimed_lock,
                        result, since=since)
    result.reconciliations += 1
    if found is None:
        for p in positions:
            result.set_row(p, "unknown", message="fate unknown and the status endpoint could not be read; not resent")
        return
    rows = []
    for p, item in zip(positions, found, strict=True):
        if item is UNDATED:
            result.set_row(p, "unknown", message=UNDATED_MESSAGE)
        elif item is not None:
            result.set_row(p, "queued", event_instance_id=item.get("eventInstanceId"),
                           request_id=item.get("requestId"), message="found queued by the status endpoint")
            rows.append([p, "queued", item.get("eventInstanceId"), item.get("requestId")])
        else:
            result.set_row(p, "skipped", message=NOT_SENT)
    ctx.note({"kind": "reconciled", "run": ctx.run_id, "rows": rows,
              "not_found": [p for p, item in zip(positions, found, strict=True) if item is None]})


def first_sent(result: EntryResult, positions: Sequence[int], default: float) -> float:
    """The earliest moment any of these rows was sent (entries made before it are not theirs)."""
    times = [t for t in (result.sent_at[p] for p in positions) if t is not None]
    return min(times) if times else default
