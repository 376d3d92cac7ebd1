"""Dates as Marketing Cloud writes them: system time without an offset, read on each connection's evidence.

The Interaction API writes dates such as ``"2020-04-30T03:54:17.993"`` (0 to 3 fractional digits) in the
tenant's system time: UTC-6 all year, UTC-7 on stack S4 (docs: "Dates: Marketing Cloud's system time"). A
connection learns which from evidence: a status item of an entry whose answer came back (its request was made
between two known local moments) against the server's clock (the ``Date`` header), or a recent entry that would
lie in the future in one of the two zones. Until it has, a zone-less
date is read as UTC-6 while UTC-7 is still allowed for, so no decision that could send a contact twice rests on
the guess. Dates with an offset or ``Z`` are taken as given.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from datetime import datetime, timezone
from typing import Any

__all__ = ["TenantTime", "tenant_time", "SYSTEM_ZONES", "CLOCK_ALLOWANCE"]

HOUR = 3600.0
SYSTEM_ZONES = (-6 * HOUR, -7 * HOUR)   # UTC-6 (documented, all year), UTC-7 (stack S4): seconds east of UTC
ZONE_STEP = 900.0                       # time zones are whole quarter hours
CLOCK_ALLOWANCE = 300.0                 # clock difference allowed for when the server sends no Date header
EVIDENCE_KEPT = 20                      # answered requests kept per connection as evidence
EVIDENCE_MAX_AGE = 3600.0               # older answers are not used to learn the zone
FUTURE_ALLOWANCE = 60.0                 # a date this far past the server's clock still counts as not in the future

StatusItem = dict[str, Any]


def parse_date(text: object) -> tuple[float, bool] | None:
    """(seconds, has_offset): the instant when an offset or Z is written, else the clock reading taken as UTC."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc).timestamp(), False
    return moment.timestamp(), True


def system_text(instant: float, zone: float) -> str:
    """``instant`` (epoch seconds) as a zone-less clock reading in ``zone``, cut to the second."""
    return datetime.fromtimestamp(int(instant + zone), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


class TenantTime:
    """What one connection knows about its tenant's dates: the zone of zone-less dates, once learned."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.zone: float | None = None      # seconds east of UTC of zone-less dates, once learned
        self.writes_offsets = False         # the tenant writes dates with an offset (or Z): no zone needed
        self._answered: deque[tuple[str, float, float]] = deque(maxlen=EVIDENCE_KEPT)
        self._tried: set[str] = set()

    # -- evidence ---------------------------------------------------------------------------------

    def note_answer(self, request_id: str | None, sent: float, answered: float) -> None:
        """A batch answered: its entries were made between ``sent`` and ``answered`` (local epoch)."""
        if request_id:
            with self._lock:
                self._answered.append((request_id, sent, answered))

    @property
    def learned(self) -> bool:
        return self.zone is not None or self.writes_offsets

    def evidence(self) -> str | None:
        """The newest answered request not yet asked about, to learn the zone from (None: none left)."""
        now = time.time()
        with self._lock:
            for request_id, _sent, answered in reversed(self._answered):
                if request_id not in self._tried and now - answered < EVIDENCE_MAX_AGE:
                    self._tried.add(request_id)
                    return request_id
        return None

    def learn_from(self, items: list[StatusItem], server_offset: float | None) -> None:
        """Learn the zone from any item of an answered request among ``items`` (free evidence)."""
        if self.learned:
            return
        with self._lock:
            known = {rid: (sent, answered) for rid, sent, answered in self._answered}
        for item in items:
            window = known.get(str(item.get("requestId"))) if isinstance(item, dict) else None
            if window is not None and self._learn(item.get("createdDate"), *window, server_offset):
                return

    def rule_out(self, items: list[StatusItem], server_offset: float | None) -> bool:
        """Learn the zone from dates that would lie in the future in every zone allowed for but one (an entry
        made in the last hour on a UTC-6 tenant, read as UTC-7). True when the zone was learned now."""
        if self.learned or server_offset is None:
            return False
        readings = []
        for item in items:
            for name in ("createdDate", "modifiedDate"):
                parsed = parse_date(item.get(name)) if isinstance(item, dict) else None
                if parsed is not None and parsed[1]:
                    self.writes_offsets = True
                    return True
                if parsed is not None:
                    readings.append(parsed[0])
        if not readings:
            return False
        now = time.time() + server_offset + FUTURE_ALLOWANCE
        possible = [zone for zone in SYSTEM_ZONES if max(readings) - zone <= now]
        if len(possible) == 1:
            self.zone = possible[0]
            return True
        return False

    def _learn(self, text: object, sent: float, answered: float, server_offset: float | None) -> bool:
        parsed = parse_date(text)
        if parsed is None:
            return False
        reading, has_offset = parsed
        if has_offset:
            self.writes_offsets = True
            return True
        slack = 1.0 if server_offset is not None else CLOCK_ALLOWANCE   # the Date header has 1 s resolution
        shift = server_offset or 0.0
        lowest = reading - (answered + shift) - slack       # zone = clock reading - true instant
        highest = reading - (sent + shift) + slack
        zone = round((lowest + highest) / 2 / ZONE_STEP) * ZONE_STEP
        if highest - lowest < ZONE_STEP and lowest - 60 <= zone <= highest + 60 and abs(zone) <= 14 * HOUR:
            self.zone = zone
            return True
        return False

    # -- reading and writing dates ----------------------------------------------------------------

    def zones(self) -> tuple[float, ...]:
        """The zones a zone-less date may be in: the learned one, else UTC-6 and UTC-7."""
        return (self.zone,) if self.zone is not None else SYSTEM_ZONES

    def interval(self, text: object, server_offset: float | None) -> tuple[float, float] | None:
        """The local epoch interval a written date can stand for (None: no readable date)."""
        parsed = parse_date(text)
        if parsed is None:
            return None
        reading, has_offset = parsed
        instants = [reading] if has_offset else [reading - zone for zone in self.zones()]
        earliest, latest = min(instants), max(instants)
        if server_offset is None:
            return earliest - CLOCK_ALLOWANCE, latest + CLOCK_ALLOWANCE
        return earliest - server_offset, latest - server_offset

    def start_date(self, local: float, server_offset: float | None) -> str:
        """A ``startDate`` the tenant cannot read as later than ``local`` (local epoch).

        In system time, as the tenant writes its dates: in the learned zone, else in the westernmost zone
        allowed for, so a tenant on UTC-6 reads it an hour early (more items to read, none missed). A tenant
        that writes its dates in UTC with ``Z`` gets one in that form.
        """
        instant = local + (server_offset if server_offset is not None else -CLOCK_ALLOWANCE)
        if self.writes_offsets:
            return system_text(instant, 0.0) + "Z"
        return system_text(instant, self.zone if self.zone is not None else min(SYSTEM_ZONES))


_registry: weakref.WeakKeyDictionary[Any, TenantTime] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def tenant_time(conn: Any) -> TenantTime:
    """The :class:`TenantTime` of a connection (one per connection, kept as long as it lives)."""
    with _registry_lock:
        found = _registry.get(conn)
        if found is None:
            found = _registry[conn] = TenantTime()
        return found
