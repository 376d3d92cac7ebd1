"""The Marketing Cloud REST client: one method per endpoint the toolkit relies on.

A :class:`Connection` owns one ``requests.Session`` (a connection pool sized for the engine's
concurrency), one :class:`~sfmc_nb.auth.TokenManager`, explicit timeouts and a retry policy:

* every request carries a ``(connect, read)`` timeout;
* a 401 drops the token, fetches a new one and repeats the request once, never more;
* reads (GET, and POSTs that only look things up) are retried on 429, 5xx and lost connections,
  with exponential backoff and jitter, within a bounded number of attempts;
* calls that change state (batch entry, single entry, contact exit) are retried only when
  nothing can have happened: a 429 (refused) or a connection that never opened. Anything else
  raises, so the caller (the submission engine) decides what to reconcile before resending.

Swap the transport by passing ``session=`` (a ``requests.Session`` with your own adapters
mounted); the client never imports IPython or ipywidgets.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from .auth import Credentials, Secret, TokenManager, _never_sent, is_loopback
from .errors import (
    ApiError,
    ConfigurationError,
    ConnectError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = [
    "Connection", "connect", "default_connection", "set_default_connection", "RetryPolicy",
    "BatchAnswer", "Journey", "EventDefinition", "Field", "Membership", "MAX_BATCH",
]

log = logging.getLogger("sfmc_nb.client")

MAX_BATCH = 100
MAX_CONTACTS_PER_LOOKUP = 50
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a single call tries before raising."""

    max_attempts: int = 4          # attempts per call, the first one included
    backoff_base: float = 0.5      # seconds; doubles each attempt, with jitter
    backoff_max: float = 30.0      # cap of one wait
    max_total_wait: float = 120.0  # cap of all waits of one call

    def backoff(self, attempt: int) -> float:
        """Wait before attempt ``attempt + 1``: exponential with 'equal jitter'."""
        cap = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return cap / 2 + random.uniform(0, cap / 2)


def retry_after_seconds(resp: requests.Response, body: Any) -> float | None:
    """The wait a 429 asks for: ``Retry-After`` header (seconds or HTTP date), else body ``retryAfter``."""
    header = resp.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    if isinstance(body, dict):
        for key in ("retryAfter", "retry_after"):
            try:
                return max(0.0, float(body[key]))
            except (KeyError, TypeError, ValueError):
                continue
    return None


def _json_body(payload: Any) -> bytes:
    """Strict JSON (no NaN/Infinity), UTF-8."""
    try:
        return json.dumps(payload, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()
    except ValueError as exc:
        raise ValidationError(f"the request body is not valid JSON ({exc}); NaN and infinity cannot be "
                              "sent: map them to None first") from None
    except TypeError as exc:
        raise ValidationError(f"the request body is not JSON serialisable: {exc}") from None


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class BatchAnswer:
    """What ``POST /interaction/v1/async/events`` said about one batch."""

    request_id: str | None
    count: int | None
    not_queued_count: int | None
    members: list[dict]
    status_code: int
    attempts: int
    raw: Any = field(repr=False)


@dataclass(frozen=True)
class Journey:
    id: str | None
    key: str | None
    name: str | None
    version: int | None
    status: str | None
    entry_mode: str | None
    event_keys: list[str]
    stats: dict
    raw: dict = field(repr=False)

    @classmethod
    def from_json(cls, data: dict) -> Journey:
        keys = []
        for trig in data.get("triggers") or []:
            key = ((trig or {}).get("metaData") or {}).get("eventDefinitionKey")
            if key:
                keys.append(key)
        return cls(data.get("id"), data.get("key"), data.get("name"), data.get("version"),
                   data.get("status"), data.get("entryMode"), keys, data.get("stats") or {}, data)


@dataclass(frozen=True)
class Field:
    """One column of an entry data extension."""

    name: str
    type: str | None
    length: int | None
    is_primary_key: bool
    is_nullable: bool | None
    raw: dict = field(repr=False)


@dataclass(frozen=True)
class EventDefinition:
    id: str | None
    key: str
    name: str | None
    data_extension_id: str | None
    data_extension_name: str | None
    interaction_count: int | None
    published_interaction_count: int | None
    schema_fields: list[Field]
    raw: dict = field(repr=False)

    @classmethod
    def from_json(cls, data: dict) -> EventDefinition:
        schema = (data.get("schema") or {}).get("fields") or []
        fields = [Field(f.get("name"), f.get("dataType") or f.get("type"),
                        _int_or_none(f.get("maxLength", f.get("length"))), bool(f.get("isPrimaryKey")),
                        f.get("isNullable"), f) for f in schema if f.get("name")]
        return cls(data.get("id"), data.get("eventDefinitionKey") or data.get("key"), data.get("name"),
                   data.get("dataExtensionId"), data.get("dataExtensionName"),
                   _int_or_none(data.get("interactionCount")),
                   _int_or_none(data.get("publishedInteractionCount")), fields, data)


@dataclass(frozen=True)
class Membership:
    """Which journeys the asked contacts are in."""

    memberships: list[dict]
    not_found: list[str]
    raw: list = field(repr=False)


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


class _BearerAuth(requests.auth.AuthBase):
    """Adds the bearer header as the request is prepared, so the token sits in no local variable of ours."""

    def __init__(self, token: Any):
        self._token = token

    def __call__(self, req: requests.PreparedRequest) -> requests.PreparedRequest:
        req.headers["Authorization"] = "Bearer " + self._token.value.reveal()
        return req

    def __repr__(self) -> str:
        return "<bearer token>"


def read_json(resp: requests.Response, method: str, path: str, changes_state: bool = False) -> Any:
    """The JSON of a 2xx answer. An unreadable answer to a state-changing call leaves its fate unknown."""
    try:
        return resp.json() if resp.content else None
    except ValueError:
        text = f"{method} {path}: HTTP {resp.status_code} but the answer is not JSON"
        if changes_state:
            raise OutcomeUnknownError(text + "; the request may have been carried out", method=method,
                                      path=path) from None
        raise ApiError(status=resp.status_code, method=method, path=path, message="the answer is not JSON") from None


# --------------------------------------------------------------------------- the connection


class Connection:
    """A logged-in connection to one tenant (or the sandbox). Thread-safe.

    Create it with :func:`connect`. ``repr`` shows host, MID, scopes and minutes left on the
    token, never the secret or the token.
    """

    def __init__(self, credentials: Credentials, *, timeout: float | tuple[float, float] = (5.0, 30.0),
                 pool_size: int = 16, retry: RetryPolicy | None = None,
                 session: requests.Session | None = None, sandbox: Any = None):
        self.credentials = credentials
        self.timeout = timeout if isinstance(timeout, tuple) else (float(timeout), float(timeout))
        self.retry = retry or RetryPolicy()
        self.pool_size = pool_size
        self.sandbox = sandbox
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        session.trust_env = session.trust_env and not is_loopback(urlsplit(credentials.auth_base_url).hostname)
        self.session = session
        self.tokens = TokenManager(credentials, session, timeout=self.timeout)
        self._counts_lock = threading.Lock()
        self.request_count = 0
        self.server_clock_offset: float | None = None  # server Date header minus local time, in seconds
        self.closed = False

    # -- info ------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self.credentials.host

    @property
    def rest_base_url(self) -> str | None:
        token = self.tokens.current
        return token.rest_base_url if token else None

    @property
    def scopes(self) -> list[str]:
        token = self.tokens.current
        return (token.scope or "").split() if token else []

    @property
    def minutes_left(self) -> float | None:
        token = self.tokens.current
        return None if token is None else max(0.0, token.seconds_left() / 60)

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    def __repr__(self) -> str:
        left = self.minutes_left
        token = "no token" if left is None else f"token {left:.0f} min left"
        mid = self.credentials.account_id if self.credentials.account_id is not None else "default"
        scopes = ",".join(self.scopes) or "-"
        kind = " sandbox" if self.is_sandbox else ""
        return f"<sfmc_nb.Connection{kind} host={self.host} mid={mid} scopes={scopes} {token}>"

    def ensure_pool(self, size: int) -> None:
        """Grow the connection pool to ``size`` so that many concurrent requests reuse connections."""
        if size <= self.pool_size or not self._own_session:
            return
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.pool_size = size

    def login(self) -> Connection:
        """Fetch a token now, so bad credentials fail here rather than on the first call."""
        self.tokens.get()
        return self

    def close(self) -> None:
        self.session.close()
        self.closed = True

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one request path ------------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict | None = None, json_body: Any = None,
                headers: dict | None = None, changes_state: bool = False, retry: bool = True
                ) -> tuple[requests.Response, int]:
        """Send one REST call; return the 2xx response and the number of attempts it took.

        ``changes_state=True`` marks calls that must not run twice (retried only when refused
        or never sent). ``retry=False`` makes the first failure raise (the engine retries itself);
        the 401 refresh-once applies in both cases.
        """
        body = None if json_body is None else _json_body(json_body)
        send_headers = {"Accept": "application/json"}
        if body is not None:
            send_headers["Content-Type"] = JSON_CONTENT_TYPE
        send_headers.update(headers or {})
        attempts, refreshed, waited = 0, False, 0.0
        while True:
            attempts += 1
            try:
                token = self.tokens.get()
            except TransportError as exc:  # the token endpoint failed: this call itself never left
                raise ConnectError(f"{method} {path}: no token ({exc})", method=method, path=path) from None
            url = token.rest_base_url + path.lstrip("/")
            with self._counts_lock:
                self.request_count += 1
            started = time.monotonic()
            try:
                resp = self.session.request(method, url, params=params, data=body, headers=send_headers,
                                            auth=_BearerAuth(token), timeout=self.timeout)
            except requests.exceptions.RequestException as exc:  # incl. an answer cut off mid-body
                err = self._transport_error(exc, method, path)
                can_retry = retry and (not err.sent or not changes_state)
                wait = self.retry.backoff(attempts)
                if not can_retry or attempts >= self.retry.max_attempts or waited + wait > self.retry.max_total_wait:
                    raise err from None
                log.debug("%s %s: %s, retrying in %.2f s", method, path, type(err).__name__, wait)
                time.sleep(wait)
                waited += wait
                continue
            self._note_server_clock(resp)
            log.debug("%s %s -> %s in %.3f s", method, path, resp.status_code, time.monotonic() - started)
            if resp.status_code == 401 and not refreshed:
                refreshed = True
                attempts -= 1
                self.tokens.invalidate(token)
                continue
            if 200 <= resp.status_code < 300:
                return resp, attempts
            err = self._api_error(resp, method, path)
            retryable = isinstance(err, RateLimitError) or (isinstance(err, ServerError) and not changes_state)
            if not (retry and retryable) or attempts >= self.retry.max_attempts:
                raise err
            wait = self.retry.backoff(attempts)
            if isinstance(err, RateLimitError) and err.retry_after is not None:
                wait = max(err.retry_after, 0.05)
            if waited + wait > self.retry.max_total_wait:
                raise err
            log.debug("%s %s: HTTP %s, retrying in %.2f s", method, path, resp.status_code, wait)
            time.sleep(wait)
            waited += wait

    def _note_server_clock(self, resp: requests.Response) -> None:
        """Keep the server's clock offset (1 s resolution), so status items can be dated in local time."""
        date = resp.headers.get("Date")
        if date:
            try:
                self.server_clock_offset = parsedate_to_datetime(date).timestamp() - time.time()
            except (TypeError, ValueError):
                pass

    def _transport_error(self, exc: BaseException, method: str, path: str) -> TransportError:
        host = urlsplit(self.rest_base_url or self.credentials.auth_base_url).netloc
        if isinstance(exc, requests.exceptions.ConnectTimeout) or (
                isinstance(exc, requests.exceptions.ConnectionError) and _never_sent(exc)):
            return ConnectError(f"{method} {path}: could not connect to {host} ({type(exc).__name__}); "
                                "nothing was sent", method=method, path=path)
        if isinstance(exc, requests.exceptions.Timeout):
            what = f"no answer within {self.timeout[1]:g} s"
        else:
            what = "the connection was closed before the answer arrived"
        return OutcomeUnknownError(f"{method} {path}: {what}; the request may have been carried out",
                                   method=method, path=path)

    def _api_error(self, resp: requests.Response, method: str, path: str) -> ApiError:
        try:
            body = resp.json()
        except ValueError:
            body = None
        errorcode = message = None
        if isinstance(body, dict):
            errorcode = _int_or_none(body.get("errorcode", body.get("errorCode")))
            message = body.get("message") or body.get("error_description") or body.get("error")
            extra = body.get("additionalErrors")
            if extra and isinstance(extra, list):
                details = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e)
                                    for e in extra[:5])
                message = f"{message} ({details})" if message else details
        elif resp.text:
            message = resp.text[:200].strip()
        kwargs = dict(status=resp.status_code, method=method, path=path, errorcode=errorcode,
                      message=message, body=body)
        if resp.status_code == 429:
            return RateLimitError(retry_after=retry_after_seconds(resp, body), **kwargs)
        if resp.status_code == 404:
            return NotFoundError(**kwargs)
        if resp.status_code >= 500:
            return ServerError(**kwargs)
        return ApiError(**kwargs)

    def get_json(self, path: str, params: dict | None = None) -> Any:
        resp, _ = self.request("GET", path, params=params)
        return read_json(resp, "GET", path)

    def _paged(self, path: str, params: dict, page_size: int) -> Iterator[dict]:
        """Walk ``$page`` 1, 2, ... until a short or empty page (or ``count`` is reached)."""
        page, seen = 1, 0
        while True:
            data = self.get_json(path, {**params, "$page": page, "$pageSize": page_size})
            items = (data or {}).get("items") or []
            yield from items
            seen += len(items)
            count = _int_or_none((data or {}).get("count"))
            if not items or len(items) < page_size or (count is not None and seen >= count):
                return
            page += 1

    # -- batch entry --------------------------------------------------------------------

    def enter_batch(self, event_key: str, members: Sequence[dict], *, retry: bool = True) -> BatchAnswer:
        """``POST /interaction/v1/async/events``: enter 1..100 members into the journey(s) of ``event_key``.

        ``members`` are ``{"contactKey": ..., "data": {...}}`` dicts. A batch can partly succeed:
        read ``not_queued_count`` and every member's ``errorcode``.
        """
        if not event_key or not str(event_key).strip():
            raise ValidationError("event_key is empty: pass the entry event's key (Event Administration)")
        if not members:
            raise ValidationError("a batch needs at least one member")
        if len(members) > MAX_BATCH:
            raise ValidationError(f"a batch holds at most {MAX_BATCH} members, got {len(members)}; "
                                  "split it (df.sfmc.enter_journey does this for you)")
        payload = {"eventDefinitionKey": event_key, "members": list(members)}
        resp, attempts = self.request("POST", "/interaction/v1/async/events", json_body=payload,
                                      changes_state=True, retry=retry)
        data = read_json(resp, "POST", "/interaction/v1/async/events", changes_state=True)
        if not isinstance(data, dict) or not isinstance(data.get("members"), list):
            raise OutcomeUnknownError(f"POST /interaction/v1/async/events: HTTP {resp.status_code} without the "
                                      "members list; the batch may have been carried out",
                                      method="POST", path="/interaction/v1/async/events")
        answered = data["members"]
        return BatchAnswer(data.get("requestId"), _int_or_none(data.get("count")),
                           _int_or_none(data.get("notQueuedCount")), answered, resp.status_code, attempts, data)

    def batch_status(self, *, request_id: str | None = None, contact_key: str | None = None,
                     event_instance_id: str | None = None, event_key: str | None = None,
                     type: str | None = None, start_date: str | None = None, page_size: int = 50) -> list[dict]:
        """``GET /interaction/v1/async/events/status``: every status item matching the filters (all pages).

        ``start_date`` (ISO 8601) narrows the default window of the last 30 days.
        """
        params = _status_params(request_id, contact_key, event_instance_id, event_key, type, start_date)
        return list(self._paged(STATUS_PATH, params, page_size))

    def batch_status_page(self, *, page: int = 1, page_size: int = 50, request_id: str | None = None,
                          contact_key: str | None = None, event_instance_id: str | None = None,
                          event_key: str | None = None, type: str | None = None,
                          start_date: str | None = None) -> dict:
        """One page of the status endpoint, as answered: ``page``, ``pageSize``, ``count``, ``items``."""
        params = _status_params(request_id, contact_key, event_instance_id, event_key, type, start_date)
        data = self.get_json(STATUS_PATH, {**params, "$page": page, "$pageSize": page_size})
        return data if isinstance(data, dict) else {}

    def fire_event(self, event_key: str, contact_key: str, data: dict | None = None) -> dict:
        """``POST /interaction/v1/events``: enter one contact; returns the answer (``eventInstanceId``)."""
        if not contact_key or not str(contact_key).strip():
            raise ValidationError("contact_key is blank")
        if "." in event_key:
            raise ValidationError("the single-entry endpoint refuses event keys containing '.'")
        body = {"ContactKey": str(contact_key), "EventDefinitionKey": event_key, "Data": dict(data or {})}
        resp, _ = self.request("POST", "/interaction/v1/events", json_body=body, changes_state=True)
        return read_json(resp, "POST", "/interaction/v1/events", changes_state=True) or {}

    # -- journeys and events ------------------------------------------------------------

    def journeys(self, status: str | None = None, name: str | None = None, *, key: str | None = None,
                 most_recent_version_only: bool = True, extras: str | None = None,
                 page_size: int = 50) -> list[Journey]:
        """``GET /interaction/v1/interactions``: every journey matching the filters (all pages)."""
        params: dict[str, Any] = {"status": status, "nameOrDescription": name, "key": key, "extras": extras,
                                  "mostRecentVersionOnly": str(most_recent_version_only).lower()}
        params = {k: v for k, v in params.items() if v not in (None, "")}
        return [Journey.from_json(item) for item in
                self._paged("/interaction/v1/interactions", params, min(page_size, 50))]

    def journey(self, id_or_key: str, version: int | None = None) -> Journey:
        """One journey by id or key (``key:`` prefix optional for keys that are not ids)."""
        ident = str(id_or_key)
        if not ident.startswith("key:") and not _looks_like_id(ident):
            ident = "key:" + ident
        params = {"versionNumber": version} if version is not None else None
        try:
            return Journey.from_json(self.get_json(f"/interaction/v1/interactions/{quote(ident, safe=':')}",
                                                   params))
        except NotFoundError as exc:
            if version is None:
                hint = f" (if the newest version of {id_or_key!r} was deleted, pass version=N)"
                exc.args = (exc.args[0] + hint,)
            raise

    def event_definition(self, key: str) -> EventDefinition:
        """``GET /interaction/v1/eventDefinitions/key:{key}``."""
        return EventDefinition.from_json(
            self.get_json(f"/interaction/v1/eventDefinitions/key:{quote(str(key), safe='')}"))

    def entry_fields(self, event_key: str) -> list[Field]:
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
                    return [Field(f.get("name"), f.get("type") or f.get("fieldType") or f.get("dataType"),
                                  _int_or_none(f.get("length", f.get("maxLength"))),
                                  bool(f.get("isPrimaryKey")), f.get("isNullable"), f)
                            for f in items if isinstance(f, dict) and f.get("name")]
        return event.schema_fields

    # -- contacts -----------------------------------------------------------------------

    def contact_membership(self, keys: Iterable[str]) -> Membership:
        """Which journeys each contact is in (50 contacts per request)."""
        keys = _clean_keys(keys)
        memberships, not_found, raw = [], [], []
        for chunk in _chunks(keys, MAX_CONTACTS_PER_LOOKUP):
            resp, _ = self.request("POST", "/interaction/v1/interactions/contactMembership",
                                   json_body={"ContactKeyList": chunk})
            data = read_json(resp, "POST", "/interaction/v1/interactions/contactMembership")
            raw.append(data)
            results = (data or {}).get("results") or {}
            memberships.extend(results.get("contactMemberships") or [])
            not_found.extend(results.get("contactsNotFound") or [])
        return Membership(memberships, not_found, raw)

    def contact_exit(self, keys: Iterable[str], journey_key: str,
                     versions: Sequence[int] | None = None) -> list[dict]:
        """Take contacts out of a journey; returns the per-contact problems (empty when all accepted)."""
        errors: list[dict] = []
        for chunk in _chunks(_clean_keys(keys), MAX_CONTACTS_PER_LOOKUP):
            body = [self._exit_item(k, journey_key, versions) for k in chunk]
            resp, _ = self.request("POST", "/interaction/v1/interactions/contactexit", json_body=body,
                                   changes_state=True)
            data = read_json(resp, "POST", "/interaction/v1/interactions/contactexit", changes_state=True) or {}
            errors.extend((data or {}).get("errors") or [] if isinstance(data, dict) else [])
        return errors

    def contact_exit_status(self, keys: Iterable[str], journey_key: str,
                            versions: Sequence[int] | None = None) -> list[dict]:
        """Where each contact's exit request stands."""
        out: list[dict] = []
        for chunk in _chunks(_clean_keys(keys), MAX_CONTACTS_PER_LOOKUP):
            body = [self._exit_item(k, journey_key, versions) for k in chunk]
            resp, _ = self.request("POST", "/interaction/v1/interactions/contactexit/status", json_body=body)
            data = read_json(resp, "POST", "/interaction/v1/interactions/contactexit/status")
            out.extend(data if isinstance(data, list) else [data])
        return out

    @staticmethod
    def _exit_item(key: str, journey_key: str, versions: Sequence[int] | None) -> dict:
        item: dict[str, Any] = {"ContactKey": key, "DefinitionKey": journey_key}
        if versions:
            item["Versions"] = [int(v) for v in versions]
        return item

    def journey_history(self, *, contact_keys: Sequence[str] | None = None,
                        definition_ids: Sequence[str] | None = None, statuses: Sequence[str] | None = None,
                        start: str | None = None, end: str | None = None) -> list[dict]:
        """``POST .../journeyhistory/download``: the history rows (CSV) as dicts."""
        body = {"start": start, "end": end, "contactKeys": list(contact_keys or []) or None,
                "definitionIds": list(definition_ids or []) or None, "statuses": list(statuses or []) or None}
        body = {k: v for k, v in body.items() if v is not None}
        resp, _ = self.request("POST", "/interaction/v1/interactions/journeyhistory/download", json_body=body,
                               params={"columns": HISTORY_COLUMNS},
                               headers={"x-direct-pipe": "true", "Accept": "text/csv, application/json"})
        return list(csv.DictReader(io.StringIO(resp.text)))


STATUS_PATH = "/interaction/v1/async/events/status"
# the documented default columns of a history download, plus Message (asking with columns= replaces the defaults)
HISTORY_COLUMNS = ",".join(("TransactionTime", "ContactKey", "Status", "DefinitionId", "DefinitionName", "ActivityId",
                            "ActivityName", "ActivityType", "Message"))


def _status_params(request_id, contact_key, event_instance_id, event_key, type, start_date) -> dict:
    params = {"requestId": request_id, "contactKey": contact_key, "eventInstanceId": event_instance_id,
              "eventDefinitionKey": event_key, "type": type, "startDate": start_date}
    params = {k: v for k, v in params.items() if v not in (None, "")}
    if not set(params) - {"startDate"}:
        raise ValidationError("batch status needs a filter: request_id, contact_key, event_instance_id, "
                              "event_key or type")
    return params


def _clean_keys(keys: Iterable[str]) -> list[str]:
    if isinstance(keys, str):
        keys = [keys]
    out = [str(k) for k in keys if k is not None and str(k).strip()]
    if not out:
        raise ValidationError("no contact keys given")
    return out


def _looks_like_id(value: str) -> bool:
    parts = value.split("-")
    return len(value) == 36 and [len(p) for p in parts] == [8, 4, 4, 4, 12]


# --------------------------------------------------------------------------- connect and the default


_default: Connection | None = None
_default_lock = threading.Lock()

_TRUE = {"1", "true", "yes", "on"}


def connect(*, subdomain: str | None = None, auth_base_url: str | None = None, client_id: str | None = None,
            client_secret: str | Secret | None = None, account_id: int | str | None = None,
            scope: str | None = None, sandbox: Any = None, timeout: float | tuple[float, float] = (5.0, 30.0),
            pool_size: int = 16, retry: RetryPolicy | None = None, session: requests.Session | None = None,
            set_default: bool = True, prompt=None, dotenv: str | None = ".env") -> Connection:
    """Log in and return a :class:`Connection` (also made the default for ``df.sfmc`` and the magics).

    Settings come from the arguments, else ``SFMC_*`` environment variables, else ``.env``.
    ``sandbox=True`` (or ``SFMC_SANDBOX=1`` with no tenant given) starts the built-in sandbox and
    logs in to it; ``sandbox=<running sandbox>`` logs in to that one.
    """
    explicit = any(v is not None for v in (subdomain, auth_base_url, client_id, client_secret))
    if sandbox is None and not explicit and os.environ.get("SFMC_SANDBOX", "").strip().lower() in _TRUE:
        sandbox = True
    if sandbox is True or sandbox == 1:
        from . import sandbox as sandbox_module

        sandbox = sandbox_module.start()
    if sandbox is not None and sandbox is not False:
        auth_base_url = sandbox.auth_base_url
        client_id = client_id or sandbox.client_id
        client_secret = client_secret or sandbox.client_secret
        account_id = account_id if account_id is not None else getattr(sandbox, "account_id", None)
        subdomain = None
        creds = Credentials.resolve(auth_base_url=auth_base_url, client_id=client_id,
                                    client_secret=client_secret, account_id=account_id, scope=scope,
                                    environ={}, dotenv=None)
    else:
        sandbox = None
        creds = Credentials.resolve(subdomain=subdomain, auth_base_url=auth_base_url, client_id=client_id,
                                    client_secret=client_secret, account_id=account_id, scope=scope,
                                    dotenv=dotenv, prompt=prompt)
    conn = Connection(creds, timeout=timeout, pool_size=pool_size, retry=retry, session=session,
                      sandbox=sandbox)
    try:
        conn.login()
    except BaseException:
        conn.close()
        raise
    if set_default:
        set_default_connection(conn)
    return conn


def set_default_connection(conn: Connection | None) -> None:
    global _default
    with _default_lock:
        _default = conn


def default_connection(required: bool = True) -> Connection | None:
    """The connection made by the last :func:`connect` / ``%sfmc_auth``."""
    if _default is None and required:
        raise ConfigurationError("not logged in: call sfmc_nb.connect() (or %sfmc_auth in a notebook) first, "
                                 "or pass connection=")
    return _default
