"""Tenant state: queued entries, exits, and the journeys contacts run through (``journeys``); tokens live in
``tokens``.

One re-entrant lock guards all of it, because the server handles requests on many threads at once.
Time-driven changes (queued -> processed/errored, a wait ending, exit queued -> completed) are applied
lazily, in the order they fell due on the sandbox's clock, whenever state is read: no background thread, and
the outcome does not depend on the timing of reads.
"""

from __future__ import annotations

import heapq
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .clock import Clock, now_utc
from .demo import DemoTenant, EventDefinition, JourneyVersion
from .errors import DOCS, ApiError, OAuthError
from .faults import Faults
from .history import HistoryRow
from .journeys import Journeys, Wake
from .schema import check_data
from .tokens import Tokens

__all__ = ["DOCS", "ApiError", "OAuthError", "Tenant", "Entry", "ExitRequest", "iso", "now_utc"]

SINGLE_ENTRY = "SingleEntryAcrossAllVersions"
REENTRY_REFUSED = "ContactPreviouslyInSameInteraction"   # the history status of an entry its entry mode refused
INTERACTION_LIMIT = 10  # journeys one entry event may serve


@dataclass
class Entry:
    """One queued member (batch or single entry) and, once due, its outcome."""

    seq: int
    contact_key: str
    event_key: str
    event_instance_id: str
    request_id: str | None
    data: dict
    created: datetime
    due: float                       # moment on the sandbox's clock
    status: str = "queued"
    message: str | None = None
    journeys: list[JourneyVersion] = field(default_factory=list)
    settled: datetime | None = None  # when it was processed or errored


@dataclass
class ExitRequest:
    seq: int
    contact_key: str
    journey: JourneyVersion
    instance_id: str                 # the newest run when the exit was asked for
    run_ids: set[str]                # every run it takes out
    due: float
    done: bool = False


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Tenant:
    """The emulated business unit. Every public method is thread-safe."""

    def __init__(self, content: DemoTenant, faults: Faults, clock: Clock, seed: int, client_id: str,
                 client_secret: str, account_id: int):
        self.content, self.faults, self.clock, self.seed = content, faults, clock, seed
        self.tokens = Tokens(client_id, client_secret, account_id, lambda: self.faults.token_lifetime)
        self.lock = threading.RLock()
        self._ids = random.Random(f"sfmc-sandbox-ids-{seed}")
        self._seq = 0
        self._entries: list[Entry] = []
        self._by_field: dict[str, dict[str, list[Entry]]] = {"request_id": {}, "event_instance_id": {},
                                                            "contact_key": {}}   # the status endpoint's lookups
        self._exits: dict[tuple[str, str, int], ExitRequest] = {}
        self._pending: list[tuple[float, int, Entry | ExitRequest | Wake]] = []  # a heap, soonest first
        self._entered: set[tuple[str, str]] = set()
        self.journeys = Journeys(clock, seed, self.new_id, self._schedule)

    # ---- ids and lookups -------------------------------------------------------------------------

    def new_id(self) -> str:
        """A UUID-shaped id drawn from the seeded generator (formatted by hand: it runs once per member)."""
        with self.lock:
            h = f"{self._ids.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def journeys_of_event(self, event_key: str, published_only: bool = False) -> list[JourneyVersion]:
        return [j for j in self.content.journeys if j.event_key == event_key and j.status != "Deleted"
                and (j.status == "Published" or not published_only)]

    def interaction_counts(self, event_key: str) -> tuple[int, int]:
        """(journeys using the event, journeys with a Published version using it), counted by journey key."""
        return (len({j.key for j in self.journeys_of_event(event_key)}),
                len({j.key for j in self.journeys_of_event(event_key, published_only=True)}))

    def population(self, journey: JourneyVersion) -> tuple[int, int]:
        """(current, cumulative): contacts in the journey version now, runs it ever started."""
        with self.lock:
            self.settle()
            return self.journeys.population(journey)

    # ---- entry -----------------------------------------------------------------------------------

    def entry_event(self, key: object, field_name: str) -> EventDefinition:
        """The event a request enters through; unknown key 400, key shared by > 10 journeys 400 10000."""
        if key is None or (isinstance(key, str) and not key.strip()):
            raise ApiError(400, 10002, f"{field_name} is required.")
        if not isinstance(key, str):
            raise ApiError(400, 10001, f"{field_name} must be a string.")
        event = self.content.events.get(key)
        if event is None:
            raise ApiError(400, 10005, f"Event definition '{key}' was not found. Check the {field_name}.")
        if self.interaction_counts(key)[0] > INTERACTION_LIMIT:
            raise ApiError(400, 10000, "Interaction Count Limit Exceeded")
        return event

    def enter_batch(self, body: object) -> dict:
        """``POST /interaction/v1/async/events``: request-level checks, then per-member checks."""
        if not isinstance(body, dict):
            raise ApiError(400, 10004, "The request body must be a JSON object.")
        members = body.get("members")
        if members is None:
            raise ApiError(400, 10002, "members is required.")
        if not isinstance(members, list):
            raise ApiError(400, 10001, "members must be an array.")
        if not members:
            raise ApiError(400, 10005, "members must hold at least 1 member.")
        if len(members) > 100:
            raise ApiError(400, 10005, f"members holds {len(members)} members; at most 100 are allowed.")
        event = self.entry_event(body.get("eventDefinitionKey"), "eventDefinitionKey")
        answers = []
        delay = float(self.faults.process_delay)
        created = now_utc()
        with self.lock:
            request_id = self.new_id()
            for member in members:
                contact_key, problem = _check_member(event, member)
                if problem:
                    answers.append({"contactKey": contact_key, "eventInstanceId": "",
                                    "errorcode": problem[0], "message": problem[1]})
                else:
                    entry = self._queue(contact_key, event, member.get("data") or {}, request_id, delay, created)
                    answers.append({"contactKey": contact_key, "eventInstanceId": entry.event_instance_id})
        refused = sum(1 for a in answers if "errorcode" in a)
        return {"requestId": request_id, "count": len(members), "notQueuedCount": refused, "members": answers}

    def fire_event(self, body: object) -> dict:
        """``POST /interaction/v1/events`` (single entry, PascalCase)."""
        if not isinstance(body, dict):
            raise ApiError(400, 10004, "The request body must be a JSON object.")
        key = body.get("EventDefinitionKey")
        if isinstance(key, str) and "." in key:
            raise ApiError(400, 10005, "EventDefinitionKey may not contain a period.")
        event = self.entry_event(key, "EventDefinitionKey")
        contact_key = body.get("ContactKey")
        if not isinstance(contact_key, str) or not contact_key.strip():
            raise ApiError(400, 10002, "ContactKey is required and must be a non-blank string.")
        problem = check_data(event.de, body.get("Data"))
        if problem:
            raise ApiError(400, *problem)
        with self.lock:
            entry = self._queue(contact_key, event, body.get("Data") or {}, None)
        return {"eventInstanceId": entry.event_instance_id}

    def _queue(self, contact_key: str, event: EventDefinition, data: dict, request_id: str | None,
               delay: float | None = None, created: datetime | None = None) -> Entry:
        delay = float(self.faults.process_delay) if delay is None else delay
        created = now_utc() if created is None else created
        entry = Entry(self._next_seq(), contact_key, event.key, self.new_id(), request_id, dict(data), created,
                      self.clock.now() + delay)
        self._entries.append(entry)
        for name, index in self._by_field.items():
            value = getattr(entry, name)
            if value is not None:
                index.setdefault(value, []).append(entry)
        self._schedule(entry.due, entry)
        return entry

    # ---- lazy processing ---------------------------------------------------------------------------

    def _schedule(self, due: float, item: Entry | ExitRequest | Wake) -> None:
        heapq.heappush(self._pending, (due, self._next_seq(), item))

    def settle(self, horizon: float | None = None) -> None:
        """Carry out every entry, wait end and exit due by ``horizon`` (default: now), soonest first."""
        with self.lock:
            limit = self.clock.now() if horizon is None else horizon
            while self._pending and self._pending[0][0] <= limit:
                due, _, item = heapq.heappop(self._pending)
                if isinstance(item, Entry):
                    self._process(item)
                elif isinstance(item, Wake):
                    self.journeys.wake(item, due)
                else:
                    self._complete_exit(item)

    def advance(self, seconds: float) -> None:
        """Move the clock forward: what falls due in the next ``seconds`` happens now, in order."""
        with self.lock:
            now = self.clock.now()
            self.settle(now + seconds)
            self.clock.add(seconds)

    def end_waits(self) -> None:
        """Every contact in a wait moves on now (skip-waits mode was switched on)."""
        with self.lock:
            now = self.clock.now()
            self._pending = [(min(due, now) if isinstance(item, Wake) else due, seq, item)
                             for due, seq, item in self._pending]
            heapq.heapify(self._pending)
            self.settle()

    def _process(self, entry: Entry) -> None:
        ck = entry.contact_key
        entry.settled = self.clock.wall(entry.due)
        event = self.content.events[entry.event_key]
        targets = self.journeys_of_event(entry.event_key, published_only=True)
        if not targets:
            listeners = self.journeys_of_event(entry.event_key)
            states = ", ".join(f"'{j.name}' v{j.version} is {j.status}" for j in listeners) or "none"
            self._fail(entry, listeners, f"No published journey uses entry event '{entry.event_key}' ({states}).")
            return
        accepted = [j for j in targets if not (j.entry_mode == SINGLE_ENTRY and (ck, j.key) in self._entered)]
        refused = [j for j in targets if j not in accepted]
        if refused:
            names = ", ".join(f"'{j.name}'" for j in refused)
            message = (f"Contact '{ck}' already entered journey {names}; its entry mode {SINGLE_ENTRY} "
                       "does not allow re-entry.")
            if not accepted:
                self._fail(entry, refused, message, REENTRY_REFUSED)
                return
            for journey in refused:
                self.journeys.refuse(ck, journey, entry.event_instance_id, entry.due, event.key, event.name, message,
                                     REENTRY_REFUSED)
        entry.status, entry.journeys = "processed", accepted
        for journey in accepted:
            self._entered.add((ck, journey.key))
            self.journeys.start(ck, journey, entry.data, entry.event_instance_id, entry.due, event.name)

    def _fail(self, entry: Entry, journeys: list[JourneyVersion], message: str, status: str = "Failed") -> None:
        entry.status, entry.message, entry.journeys = "errored", message, journeys
        event = self.content.events[entry.event_key]
        for journey in journeys or [None]:
            self.journeys.refuse(entry.contact_key, journey, entry.event_instance_id, entry.due, event.key,
                                 event.name, message, status)

    def _complete_exit(self, request: ExitRequest) -> None:
        request.done = True
        self.journeys.exit(request.run_ids, request.contact_key, request.journey, request.due)

    def backdate(self, seconds: float) -> None:
        """Date every entry made so far ``seconds`` earlier (its creation and, once processed, its settling)."""
        shift = timedelta(seconds=seconds)
        with self.lock:
            self.settle()
            for entry in self._entries:
                entry.created -= shift
                if entry.settled is not None:
                    entry.settled -= shift

    # ---- reads -------------------------------------------------------------------------------------

    def entry_rows(self) -> list[Entry]:
        with self.lock:
            self.settle()
            return list(self._entries)

    def entries_with(self, field: str, value: str) -> list[Entry]:
        """Entries whose ``request_id``, ``event_instance_id`` or ``contact_key`` is ``value`` (an index, so a
        status query about one batch does not read every entry of a large run)."""
        with self.lock:
            self.settle()
            return list(self._by_field[field].get(value, ()))

    def history_rows(self) -> list[HistoryRow]:
        with self.lock:
            self.settle()
            return list(self.journeys.rows)

    def memberships(self, contact_key: str) -> list[tuple[str, int]]:
        with self.lock:
            self.settle()
            return self.journeys.memberships(contact_key)

    # ---- exits -------------------------------------------------------------------------------------

    def contact_exit(self, items: list[dict]) -> dict:
        """Queue exits for contacts that are in the journey version; report the others in ``errors``."""
        errors = []
        with self.lock:
            self.settle()
            for item in items:
                ck, key = item["ContactKey"], item["DefinitionKey"]
                problems = []
                for version in self._versions_for(ck, key, item.get("Versions")):
                    journey = self._version(key, version)
                    runs = self.journeys.active_ids(ck, key, version)
                    instance = runs[-1] if runs else None
                    if journey is None or instance is None:
                        problems.append({"version": version, "message": "Journey version not found"
                                         if journey is None else "Contact not found in journey"})
                        continue
                    pending = self._exits.get((ck, key, version))
                    if pending and not pending.done and pending.instance_id == instance:
                        continue
                    request = ExitRequest(self._next_seq(), ck, journey, instance, set(runs),
                                          self.clock.now() + float(self.faults.process_delay))
                    self._exits[(ck, key, version)] = request
                    self._schedule(request.due, request)
                if problems:
                    errors.append({"contactKey": ck, "definitionKey": key, "status": problems})
        return {"errors": errors}

    def exit_status(self, items: list[dict]) -> list[dict]:
        out = []
        with self.lock:
            self.settle()
            for item in items:
                ck, key = item["ContactKey"], item["DefinitionKey"]
                status = []
                for version in self._versions_for(ck, key, item.get("Versions"), with_exits=True):
                    request = self._exits.get((ck, key, version))
                    runs = self.journeys.active_ids(ck, key, version)
                    instance = runs[-1] if runs else None
                    if request and (instance is None or instance == request.instance_id):
                        message = "Exit process Completed" if request.done else "Exit process Queued"
                        status.append({"version": version, "message": message,
                                       "definitionInstanceId": request.instance_id})
                    elif instance:
                        status.append({"version": version, "message": "Contact is in journey; no exit requested",
                                       "definitionInstanceId": instance})
                    else:
                        status.append({"version": version, "message": "Contact not found in journey",
                                       "definitionInstanceId": None})
                out.append({"contactKey": ck, "definitionKey": key, "status": status})
        return out

    def _version(self, key: str, version: int) -> JourneyVersion | None:
        return next((j for j in self.content.journeys if j.key == key and j.version == version), None)

    def _versions_for(self, ck: str, key: str, versions: list | None, with_exits: bool = False) -> list[int]:
        """Versions named in the request, else those the contact is in (or has exits in), else the newest."""
        if versions:
            return list(dict.fromkeys(versions))
        found = {v for (k, v) in self.journeys.memberships(ck) if k == key}
        if with_exits:
            found |= {v for (c, k, v) in self._exits if c == ck and k == key}
        if found:
            return sorted(found)
        live = [j.version for j in self.content.journeys if j.key == key and j.status != "Deleted"]
        return [max(live)] if live else [1]


def _check_member(event: EventDefinition, member: object) -> tuple[object, tuple[int, str] | None]:
    """(contactKey to echo, problem or None) for one batch member."""
    if not isinstance(member, dict):
        return "", (10001, "Each member must be a JSON object with contactKey and data.")
    ck = member.get("contactKey")
    if ck is None or (isinstance(ck, str) and not ck.strip()):
        return ck if ck is not None else "", (10002, "contactKey is required and may not be blank.")
    if not isinstance(ck, str):
        return ck, (10001, "contactKey must be a string.")
    return ck, check_data(event.de, member.get("data"))
