"""After entry: what became of each queued row (processed or errored), and where the contacts went.

Batch entry only *queues* members; Marketing Cloud processes them later, and some are refused then (a
single-entry journey turning a contact away a second time, a journey that is no longer published). Only the
status endpoint tells (docs: "Batch status"). :class:`Processing` is what ``EntryResult.wait()`` and
``EntryResult.trace()`` run; the engine attaches one to every live run.

``wait`` asks by ``requestId``, one request per batch of up to 100 members (``$pageSize`` 100; more pages only
if the service keeps pages smaller), and stops asking about a batch once none of its members is queued. A run of
more than ``BY_EVENT_AFTER`` batches is first asked about as a whole, by event key and date window (how many are
still queued, then which errored), in a few requests whatever its size; the per-batch lookups are the fallback. It
polls every ``poll`` seconds, the interval growing by half each time up to :data:`MAX_POLL`, for ``timeout``
seconds at most; rows still queued then are ``pending``.

The time limit holds whatever the status endpoint does (slow, hanging, failing, throttling): it is checked before
every request, each request's timeouts are cut to the time left (at least ``MIN_TIMEOUT``) and no retry or pause
runs past it, so ``wait`` returns within ``timeout`` plus one request at most. A failure or a 429 ends the round
(the endpoint is not asked again at once for the next batch). Batches are asked least recently asked first, so
a wait cut short by its limit (or by Ctrl-C) is taken up by the next ``wait()`` where it stopped.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from .._rules import int_or_none, one_line
from ..client import Connection
from ..errors import RateLimitError, SfmcError, ValidationError
from ..journeys import JourneyGraph, JourneyTrace, journey_for_event
from ..journeys import trace as trace_journey
from ..results import EntryResult
from .dates import tenant_time

__all__ = ["Processing", "STATUS_PAGE_SIZE", "MAX_POLL", "MAX_WAIT"]

STATUS_PAGE_SIZE = 100   # a whole batch in one answer (the documented default page is 50)
MAX_PAGES = 20           # pages read for one batch at most
MAX_POLL = 5.0           # seconds between two rounds at most
MAX_WAIT = 3600.0        # the longest wait() allowed
SANDBOX_SLACK = 0.001    # seconds before the run's first request that res.trace() reads history from
REAL_TENANT_SLACK = 3600.0   # the same on a real tenant, whose history dates' time zone is not certain
BY_EVENT_AFTER = 20      # batches: a wait about more asks by event key and date window first
EVENT_WINDOW_SLACK = 2.0  # seconds before the run's first request that window starts (the server clock is known to 1 s)
_FINAL = ("processed", "errored")
_MESSAGE_FIELDS = ("message", "errorMessage", "statusMessage", "error", "reason", "errors")

Lookup = tuple[str, str]   # ("request_id" | "event_instance_id", value): one status query


class _OutOfTime(Exception):
    """The wait's time ran out between two pages of one lookup (its rows stay as they were)."""


def _check(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise ValidationError(f"{name} must be a number of seconds from {low:g} to {high:g}; got {value!r}")
    return float(value)


def _state(item: dict) -> str | None:
    """``processed``, ``errored``, or None while queued. Unknown words end the wait as processed."""
    text = str(item.get("status") or item.get("type") or "").strip().lower()
    if not text or "queue" in text or "pending" in text:
        return None
    if "error" in text or "fail" in text or "reject" in text:
        return "errored"
    return "processed"


def _message(item: dict) -> str | None:
    """The reason the service gives on an item (its field name is not documented: the usual ones are tried)."""
    for name in _MESSAGE_FIELDS:
        value = item.get(name)
        if isinstance(value, list):
            value = "; ".join(str(v.get("message", v)) if isinstance(v, dict) else str(v) for v in value)
        if isinstance(value, str) and value.strip():
            return one_line(value)
    status = str(item.get("status") or "").strip()
    return f"status {status!r}" if status and status.lower() not in _FINAL else None


class Processing:
    """Follows processing and traces contacts for the results of one connection's runs."""

    def __init__(self, conn: Connection, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.conn = conn
        self._clock, self._sleep = clock, sleep
        self._journeys: dict[str, JourneyGraph] = {}   # event key -> the definition of the journey it feeds
        self._asked: dict[Lookup, int] = {}   # open lookup -> when it was last asked (a rising count)
        self._turn = itertools.count()

    # -- wait ---------------------------------------------------------------------------------------------

    def wait(self, result: EntryResult, *, timeout: float = 60.0, poll: float = 0.5) -> None:
        """Fill ``result.processing`` for every queued row not yet processed or errored, within ``timeout`` s."""
        timeout = _check("timeout", timeout, 0, MAX_WAIT)
        poll = _check("poll", poll, 0.01, MAX_POLL)
        open_ = self._lookups(result)
        total = len(open_)
        deadline, delay = self._clock() + timeout, poll
        checked: set[Lookup] = set()         # answered at least once in this wait
        problems: dict[Lookup, str] = {}
        stopped = ""
        try:
            if len(open_) > BY_EVENT_AFTER:
                self._by_event(result, open_, deadline, poll, checked)
            while open_:
                pause = self._round(result, open_, deadline, checked, problems)
                remaining = deadline - self._clock()
                if not open_ or remaining <= 0:
                    break
                self._sleep(min(max(delay, pause), remaining))
                delay = min(delay * 1.5, MAX_POLL)
        except KeyboardInterrupt:      # Ctrl-C (the kernel's stop button) ends the wait, as it ends a run
            stopped = "the wait was interrupted"
        finally:
            self._leave_pending(result, open_, timeout, stopped, checked, problems, total)

    def _round(self, result: EntryResult, open_: dict[Lookup, list[int]], deadline: float, checked: set[Lookup],
               problems: dict[Lookup, str]) -> float:
        """Ask about each open lookup once, least recently asked first, until the deadline, a failure or a 429;
        returns the pause a 429 asked for (0 otherwise)."""
        for lookup in sorted(open_, key=lambda known: self._asked.get(known, -1)):
            if self._clock() >= deadline:
                return 0.0
            try:
                items = self._items(lookup, deadline)
            except _OutOfTime:
                return 0.0
            except RateLimitError as exc:   # refused, not carried out: ask this one first next round
                problems[lookup] = f"the status endpoint failed: {one_line(str(exc), 200)}"
                return exc.retry_after or 0.0
            except SfmcError as exc:
                problems[lookup] = f"the status endpoint failed: {one_line(str(exc), 200)}"
                self._asked[lookup] = next(self._turn)
                return 0.0
            self._asked[lookup] = next(self._turn)
            checked.add(lookup)
            problems.pop(lookup, None)
            if self._apply(result, open_[lookup], items):
                del open_[lookup]
                del self._asked[lookup]
        return 0.0

    def _by_event(self, result: EntryResult, open_: dict[Lookup, list[int]], deadline: float, poll: float,
                  checked: set[Lookup]) -> None:
        """A large run asked about as a whole: how many entries of its event since just before its first request
        are still queued (one request a round), then, once none is, whether that window holds exactly this run's
        entries and which of them errored (a page per 100 errors). Then every other row is processed: a few
        requests instead of one per batch. Anything else (entries of another run in the window, an answer
        without ``count``, a failure) leaves the rows to the per-batch lookups."""
        sent = [t for t in (result.sent_at[p] for ps in open_.values() for p in ps) if t is not None]
        if not sent or not result.event_key:
            return
        ours = sum(1 for status in result.status if status == "queued")
        clock = tenant_time(self.conn)
        delay = poll
        try:
            if not clock.learned:    # one batch's items tell the tenant's time zone: the window starts when it should
                lookup = next(iter(open_))
                items = self._items(lookup, deadline)
                clock.learn_from(items, self.conn.server_clock_offset)
                checked.add(lookup)
                if self._apply(result, open_[lookup], items):
                    del open_[lookup]
            window = {"event_key": result.event_key,
                      "start_date": clock.start_date(min(sent) - EVENT_WINDOW_SLACK, self.conn.server_clock_offset)}
            while True:
                queued = self._count(window, "queued", deadline)
                if queued is None:
                    return
                if queued == 0:
                    break
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return
                self._sleep(min(delay, remaining))
                delay = min(delay * 1.5, MAX_POLL)
            if self._count(window, None, deadline) != ours:
                return
            errored = self._errored(window, deadline)
        except (SfmcError, _OutOfTime):
            return
        if errored is None:
            return
        for lookup, positions in list(open_.items()):
            for pos in positions:
                item = errored.get(str(result.event_instance_id[pos] or ""))
                if item is not None:
                    result.set_processing(pos, "errored", _message(item))
                elif result.processing[pos] not in _FINAL:
                    result.set_processing(pos, "processed", None)
            checked.add(lookup)
            del open_[lookup]
            self._asked.pop(lookup, None)

    def _count(self, window: dict, kind: str | None, deadline: float) -> int | None:
        """How many status items of the window (of one ``type``); None when the answer does not say."""
        left = deadline - self._clock()
        if left <= 0:
            raise _OutOfTime
        data = self.conn.batch_status_page(page=1, page_size=1, type=kind, deadline=time.monotonic() + left, **window)
        return int_or_none(data.get("count"))

    def _errored(self, window: dict, deadline: float) -> dict[str, dict] | None:
        """The window's errored items by eventInstanceId, every page read; None when they did not all come."""
        found: dict[str, dict] = {}
        page, expected = 1, None
        while expected is None or len(found) < expected:
            left = deadline - self._clock()
            if left <= 0:
                raise _OutOfTime
            data = self.conn.batch_status_page(page=page, page_size=STATUS_PAGE_SIZE, type="errored",
                                               deadline=time.monotonic() + left, **window)
            expected = int_or_none(data.get("count"))
            got = [i for i in data.get("items") or [] if isinstance(i, dict) and i.get("eventInstanceId")]
            if expected is None or (not got and len(found) < expected):
                return None
            found.update((str(i["eventInstanceId"]), i) for i in got)
            page += 1
        return found

    @staticmethod
    def _leave_pending(result: EntryResult, open_: dict[Lookup, list[int]], timeout: float, stopped: str,
                       checked: set[Lookup], problems: dict[Lookup, str], total: int) -> None:
        """Mark the rows still open ``pending``, each with why: still queued when last asked, the endpoint's
        failure, or not asked in this wait (then how far the wait got)."""
        ended = stopped or f"wait timed out after {timeout:g} s"
        progress = f"{ended}: {len(checked)} of {total} batches checked"
        failure = next(reversed(problems.values()), None)
        unasked = f"{progress} ({failure}); call .wait() again to go on" if failure \
            else f"{progress}; call .wait() again to go on"
        for lookup, positions in open_.items():
            if lookup in problems:
                why = problems[lookup]
            elif lookup not in checked:
                why = unasked
            elif stopped:
                why = f"{stopped} while it was still queued: call .wait() again"
            else:
                why = f"still queued after {timeout:g} s: call .wait() again later"
            for pos in positions:
                if result.processing[pos] not in _FINAL:
                    result.set_processing(pos, "pending", why)

    def _lookups(self, result: EntryResult) -> dict[Lookup, list[int]]:
        """The status queries to make, each with its rows: one per request id, one per row queued without one."""
        open_: dict[Lookup, list[int]] = {}
        for pos, status in enumerate(result.status):
            if status != "queued" or result.processing[pos] in _FINAL:
                continue
            rid, eid = result.request_id[pos], result.event_instance_id[pos]
            if rid:
                open_.setdefault(("request_id", str(rid)), []).append(pos)
            elif eid:
                open_.setdefault(("event_instance_id", str(eid)), []).append(pos)
            else:
                result.set_processing(pos, "pending", "neither requestId nor eventInstanceId is known to look it up")
        return open_

    def _items(self, lookup: Lookup, deadline: float) -> list[dict]:
        """Every status item of one query; pages are read until ``count`` items (or a short page) came.
        Raises :class:`_OutOfTime` when the deadline passes before a later page."""
        name, value = lookup
        items: list[dict] = []
        for page in range(1, MAX_PAGES + 1):
            left = deadline - self._clock()
            if page > 1 and left <= 0:
                raise _OutOfTime
            data = self.conn.batch_status_page(page=page, page_size=STATUS_PAGE_SIZE,
                                               deadline=time.monotonic() + left, **{name: value})
            got = [i for i in data.get("items") or [] if isinstance(i, dict)]
            items.extend(got)
            count = int_or_none(data.get("count"))
            size = int_or_none(data.get("pageSize")) or STATUS_PAGE_SIZE
            if not got or (count is not None and len(items) >= count) or (count is None and len(got) < size):
                break
        return items

    @staticmethod
    def _apply(result: EntryResult, positions: Sequence[int], items: list[dict]) -> bool:
        """Write what the items say into the rows (matched by eventInstanceId, else by contact key); True when
        every row is processed or errored."""
        by_eid = {str(i["eventInstanceId"]): i for i in items if i.get("eventInstanceId")}
        spare = [i for i in items if not i.get("eventInstanceId")]
        done = True
        for pos in positions:
            item = by_eid.get(str(result.event_instance_id[pos] or ""))
            if item is None:
                key = result.contact_keys[pos]
                item = next((i for i in spare if i.get("contactKey") == key), None)
                if item is not None:
                    spare.remove(item)
            state = _state(item) if item is not None else None
            if state is None:
                done = False
                continue
            result.set_processing(pos, state, _message(item) if item is not None else None)
        return done

    # -- trace --------------------------------------------------------------------------------------------

    def trace(self, result: EntryResult, journey: Any = None, *, follow: bool = False, timeout: float = 60.0,
              poll: float = 1.0, since: Any = None) -> JourneyTrace:
        """Trace the run's queued contacts through ``journey`` (default: the one the event key feeds)."""
        positions = [p for p, s in enumerate(result.status) if s == "queued"]
        keys = list(dict.fromkeys(str(result.contact_keys[p]) for p in positions))
        if not keys:
            raise ValidationError("no row of this run is queued: there is nothing to trace")
        if journey is None:
            journey = self._journeys.get(result.event_key)
            if journey is None:
                found = journey_for_event(self.conn, result.event_key)
                journey = JourneyGraph.from_definition(self.conn.journey(found.id or found.key, found.version).raw)
                self._journeys[result.event_key] = journey
        if since is None:
            since = self._run_start(result, positions)
        sent = [t for t in (result.sent_at[p] for p in positions) if t is not None]
        until = datetime.fromtimestamp(max(sent) + (self.conn.server_clock_offset or 0.0) + 1.0, tz=timezone.utc) \
            if sent else None
        return trace_journey(journey, keys, connection=self.conn, since=since, follow=follow, timeout=timeout,
                             poll=poll, until=until)

    def _run_start(self, result: EntryResult, positions: Sequence[int]) -> datetime | None:
        """Just before the run's first request (so an earlier run's steps are left out): a moment ago on the
        sandbox, which shares this machine's clock; an hour earlier on a real tenant, whose clock is only known
        to the second and whose history's time zone is not certain."""
        sent = [t for t in (result.sent_at[p] for p in positions) if t is not None]
        if not sent:
            return None
        if getattr(self.conn, "is_sandbox", False):
            moment = min(sent) - SANDBOX_SLACK
        else:
            moment = min(sent) + (self.conn.server_clock_offset or 0.0) - REAL_TENANT_SLACK
        return datetime.fromtimestamp(moment, tz=timezone.utc)
