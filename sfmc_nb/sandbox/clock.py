"""The sandbox's clock and the settings of journeys that run on it.

Journeys wait in days; a test or a workshop cannot. One journey day lasts ``day_seconds`` real seconds, and
``advance()`` moves the clock forward so what would happen in the next days happens now. ``skip_waits``
makes every wait end at once, like Journey Builder's Test Mode.

Times come in two forms: a *moment* on the sandbox's own scale (``time.monotonic()`` plus everything
``advance()`` added), used to order what falls due, and the wall-clock time written into answers. A step
carried out ahead of time by ``advance()`` is dated when it was carried out, never in the future.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from .settings import Settings

JOURNEY_DEFAULTS = {
    "day_seconds": 5.0,         # real seconds one journey day lasts
    "skip_waits": False,        # every wait ends at once (Test Mode)
    "engagement_rate": 0.5,     # share of sent emails opened (and of those, clicked) in engagement splits
    "history_lag": 0.0,         # seconds journey history trails behind (what .../freshness answers)
}
UNIT_DAYS = {"MINUTES": 1 / 1440, "HOURS": 1 / 24, "DAYS": 1.0, "WEEKS": 7.0}
# Marketing Cloud's servers keep US Central Standard Time all year (docs/marketing-cloud-api.md, "Dates")
SYSTEM_TIME = timezone(timedelta(hours=-6), "CST")


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def system_time(moment: datetime) -> str:
    """``2026-11-27T03:54:17.993``: Marketing Cloud system time, milliseconds, no offset written."""
    return moment.astimezone(SYSTEM_TIME).replace(tzinfo=None).isoformat(timespec="milliseconds")


def api_date(moment: datetime, style: str) -> str:
    """A date as the Interaction API writes it in ``style``.

    ``"system"``: system time without an offset and with 0 to 3 fractional digits (``2020-04-30T03:54:17.99``),
    the form Marketing Cloud writes; ``"utc"``: UTC with milliseconds and ``Z``.
    """
    if style == "utc":
        utc = moment.astimezone(timezone.utc)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return system_time(moment).rstrip("0").rstrip(".")


class Clock(Settings):
    """Thread-safe: the offset ``advance()`` added, and the journey settings."""

    def __init__(self, **options):
        self._lock = threading.Lock()
        self._settings = dict(JOURNEY_DEFAULTS)
        self._offset = 0.0
        self._mono0, self._wall0 = time.monotonic(), now_utc()
        self.configure(**options)

    def _validate_setting(self, name: str, value) -> None:
        _validate(name, value)

    def now(self) -> float:
        """The current moment on the sandbox's scale."""
        with self._lock:
            return time.monotonic() + self._offset

    def add(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def wall(self, moment: float) -> datetime:
        """Wall-clock time of ``moment``; moments reached only through ``advance()`` are dated now."""
        when = self._wall0 + timedelta(seconds=moment - self._offset - self._mono0)
        return min(when, now_utc())

    def wait_seconds(self, duration: float, unit: str) -> float:
        """Real seconds a journey wait of ``duration`` ``unit`` lasts (0 when skipping waits)."""
        if self.skip_waits:
            return 0.0
        return float(duration) * UNIT_DAYS[unit.upper()] * float(self.day_seconds)


def span_seconds(day_seconds: float, *, weeks: float = 0, days: float = 0, hours: float = 0,
                 minutes: float = 0) -> float:
    """Real seconds of a journey span; each part must be a number >= 0."""
    parts = {"weeks": weeks, "days": days, "hours": hours, "minutes": minutes}
    for name, value in parts.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"{name} must be a number >= 0")
    total_days = sum(value * UNIT_DAYS[name.upper()] for name, value in parts.items())
    return total_days * float(day_seconds)


def _validate(name: str, value) -> None:
    if name not in JOURNEY_DEFAULTS:
        raise TypeError(f"unknown sandbox option {name!r}")
    if name == "skip_waits":
        if not isinstance(value, bool):
            raise ValueError("skip_waits must be True or False")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(f"{name} must be a number")
    if name == "day_seconds" and value <= 0:
        raise ValueError("day_seconds must be > 0")
    if name == "engagement_rate" and not 0 <= value <= 1:
        raise ValueError("engagement_rate must be between 0 and 1")
    if value < 0:
        raise ValueError(f"{name} must be >= 0")
