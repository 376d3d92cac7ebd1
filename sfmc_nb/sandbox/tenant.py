"""Tenant state: tokens, queued entries, journey membership, exits and journey history.

One re-entrant lock guards all of it, because the server handles requests on many threads at once.
Time-driven changes (queued -> processed/errored, exit queued -> completed) are applied lazily, in the order
they fell due, whenever state is read: no background thread, and the outcome does not depend on timing of
reads.
"""

from __future__ import annotations

import collections
import hmac
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from . import demo
from .demo import DemoTenant, EventDefinition, JourneyVersion
from .faults import Faults
from .schema import check_data

DOCS = "https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/error-handling.html"
SINGLE_ENTRY = "SingleEntryAcrossAllVersions"
INTERACTION_LIMIT = 10  # journeys one entry event may serve


class ApiError(Exception):
    """A refusal in the REST envelope shape ``{"message", "errorcode", "documentation"}``."""

    def __init__(self, status: int, errorcode: int | None, message: str):
        super().__init__(message)
        self.status, self.errorcode, self.message = status, errorcode, message

    def body(self) -> dict:
        """The envelope; ``errorcode`` is left out where the docs list none (405, 415)."""
        if self.errorcode is None:
            return {"message": self.message, "documentation": DOCS}
        return {"message": self.message, "errorcode": self.errorcode, "documentation": DOCS}


class OAuthError(Exception):
    """A refusal of the token endpoint in the OAuth shape ``{"error", "error_description"}``."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Token:
    expires: float  # time.monotonic() deadline
    scopes: frozenset[str]


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
    due: float
    due_wall: datetime
    status: str = "queued"
    message: str | None = None
    journeys: list[JourneyVersion] = field(default_factory=list)


@dataclass
class ExitRequest:
    seq: int
    contact_key: str
    journey: JourneyVersion
    instance_id: str
    due: float
    due_wall: datetime
    done: bool = False


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Tenant:
    """The emulated business unit. Every public method is thread-safe."""

    def __init__(self, content: DemoTenant, faults: Faults, seed: int, client_id: str, client_secret: str,
                 account_id: int):
        self.content, self.faults = content, faults
        self.client_id, self.client_secret, self.account_id = client_id, client_secret, account_id
        self.lock = threading.RLock()
        self._ids = random.Random(f"sfmc-sandbox-ids-{seed}")
        self._seq = 0
        self._tokens: dict[str, Token] = {}
        self._entries: list[Entry] = []
        self._exits: dict[tuple[str, str, int], ExitRequest] = {}
        self._pending: list[Entry | ExitRequest] = []
        self._members: dict[str, dict[tuple[str, int], str]] = collections.defaultdict(dict)
        self._entered: set[tuple[str, str]] = set()
        self._current: collections.Counter = collections.Counter()
        self._cumulative: collections.Counter = collections.Counter()
        self._history: list[dict] = []

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
        with self.lock:
            self.settle()
            return self._current[(journey.key, journey.version)], self._cumulative[(journey.key, journey.version)]

    # ---- tokens ----------------------------------------------------------------------------------

    def issue_token(self, fields: dict, base_url: str) -> dict:
        """``POST /v2/token``; raises OAuthError. The secret is compared, never echoed."""
        grant = fields.get("grant_type")
        if grant in (None, ""):
            raise OAuthError(400, "invalid_request", "The request is missing the grant_type parameter.")
        if grant != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "Only the client_credentials grant type is supported.")
        if not (_same(fields.get("client_id"), self.client_id)
                and _same(fields.get("client_secret"), self.client_secret)):
            raise OAuthError(401, "invalid_client", "Client authentication failed. Make sure that the client ID "
                             "and client secret are correct and that the installed package is enabled.")
        account = fields.get("account_id")
        if account not in (None, ""):
            numeric = isinstance(account, int) and not isinstance(account, bool)
            numeric = numeric or (isinstance(account, str) and account.strip().isdigit())
            if not numeric:
                raise OAuthError(400, "invalid_request", "account_id must be the MID of a business unit (a number).")
            if int(account) != self.account_id:
                raise OAuthError(401, "invalid_grant", "The client is not authorized for the requested account_id "
                                 "(business unit). Check the MID and the package's business unit access.")
        scope = fields.get("scope")
        if scope is None:
            granted = list(demo.SCOPES)
        elif not isinstance(scope, str):
            raise OAuthError(400, "invalid_request", "scope must be a space-separated string.")
        else:
            granted = list(dict.fromkeys(scope.split()))
            unknown = [name for name in granted if name not in demo.SCOPES]
            if unknown:
                raise OAuthError(400, "invalid_scope", f"Scope not granted to this package: {' '.join(unknown)}.")
        lifetime = self.faults.token_lifetime
        token = secrets.token_urlsafe(32)
        with self.lock:
            self._tokens[token] = Token(time.monotonic() + lifetime, frozenset(granted))
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": " ".join(granted),
                "soap_instance_url": base_url, "rest_instance_url": base_url}

    def authorize(self, header: str | None, any_scope: tuple[str, ...]) -> None:
        """Raise 401 errorcode 0 unless ``header`` holds a live token, 403 20002 unless it has a needed scope."""
        scheme, _, value = (header or "").strip().partition(" ")
        with self.lock:
            token = self._tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or time.monotonic() >= token.expires:
            raise ApiError(401, 0, "Not Authorized")
        if any_scope and not token.scopes.intersection(any_scope):
            raise ApiError(403, 20002, "Insufficient privileges: the token lacks the scope "
                           f"{' or '.join(any_scope)}.")

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self._tokens.values():
                token.expires = 0.0

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
                      time.monotonic() + delay, created + timedelta(seconds=delay))
        self._entries.append(entry)
        self._pending.append(entry)
        return entry

    # ---- lazy processing ---------------------------------------------------------------------------

    def settle(self) -> None:
        """Apply every queued entry and exit whose time has come, in the order they fell due."""
        with self.lock:
            now = time.monotonic()
            due = [item for item in self._pending if item.due <= now]
            if not due:
                return
            self._pending = [item for item in self._pending if item.due > now]
            for item in sorted(due, key=lambda i: (i.due, i.seq)):
                if isinstance(item, Entry):
                    self._process(item)
                else:
                    self._complete_exit(item)

    def _process(self, entry: Entry) -> None:
        ck = entry.contact_key
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
                self._fail(entry, refused, message)
                return
            for journey in refused:
                self._log(entry.due_wall, ck, "Failed", journey, "Entry", message)
        entry.status, entry.journeys = "processed", accepted
        for journey in accepted:
            slot = (journey.key, journey.version)
            self._entered.add((ck, journey.key))
            if slot not in self._members[ck]:
                self._current[slot] += 1
            self._members[ck][slot] = self.new_id()
            self._cumulative[slot] += 1
            self._log(entry.due_wall, ck, "Complete", journey, "Entry", "Contact entered the journey.")

    def _fail(self, entry: Entry, journeys: list[JourneyVersion], message: str) -> None:
        entry.status, entry.message, entry.journeys = "errored", message, journeys
        for journey in journeys or [None]:
            self._log(entry.due_wall, entry.contact_key, "Failed", journey, "Entry", message)

    def _complete_exit(self, request: ExitRequest) -> None:
        slot = (request.journey.key, request.journey.version)
        request.done = True
        if self._members[request.contact_key].get(slot) == request.instance_id:
            del self._members[request.contact_key][slot]
            self._current[slot] -= 1
            self._log(request.due_wall, request.contact_key, "Complete", request.journey, "Exit",
                      "Contact exited the journey through the contact exit API.")

    def _log(self, when: datetime, contact_key: str, status: str, journey: JourneyVersion | None,
             activity: str, message: str) -> None:
        self._history.append({
            "TransactionTime": when, "ContactKey": contact_key, "Status": status,
            "DefinitionId": journey.id if journey else "", "DefinitionName": journey.name if journey else "",
            "ActivityType": activity, "Message": message})

    # ---- reads -------------------------------------------------------------------------------------

    def entry_rows(self) -> list[Entry]:
        with self.lock:
            self.settle()
            return list(self._entries)

    def history_rows(self) -> list[dict]:
        with self.lock:
            self.settle()
            return sorted(self._history, key=lambda row: row["TransactionTime"])

    def memberships(self, contact_key: str) -> list[tuple[str, int]]:
        with self.lock:
            self.settle()
            return sorted(self._members.get(contact_key, {}))

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
                    instance = self._members.get(ck, {}).get((key, version))
                    if journey is None or instance is None:
                        problems.append({"version": version, "message": "Journey version not found"
                                         if journey is None else "Contact not found in journey"})
                        continue
                    pending = self._exits.get((ck, key, version))
                    if pending and not pending.done and pending.instance_id == instance:
                        continue
                    delay = float(self.faults.process_delay)
                    request = ExitRequest(self._next_seq(), ck, journey, instance, time.monotonic() + delay,
                                          now_utc() + timedelta(seconds=delay))
                    self._exits[(ck, key, version)] = request
                    self._pending.append(request)
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
                    instance = self._members.get(ck, {}).get((key, version))
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
        found = {v for (k, v) in self._members.get(ck, {}) if k == key}
        if with_exits:
            found |= {v for (c, k, v) in self._exits if c == ck and k == key}
        if found:
            return sorted(found)
        live = [j.version for j in self.content.journeys if j.key == key and j.status != "Deleted"]
        return [max(live)] if live else [1]


def _same(given: object, expected: str) -> bool:
    """Constant-time comparison that tolerates any JSON type in ``given``."""
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


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
