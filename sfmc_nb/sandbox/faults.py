"""Fault injection: latency, throttling, 5xx answers, lost answers, slow processing, short-lived tokens, journey
history downloads that are not the CSV asked for.

Throttling is a token bucket, the usual shape of an API quota: ``rate_limit`` REST requests a second on
average, with bursts of up to ``rate_limit`` requests after a quiet second; a request finding the bucket empty
is answered 429 without being carried out.

Every random decision comes from one ``random.Random(seed)``, drawn in a fixed order per request, so a run
of sequential requests misbehaves the same way every time it is repeated with the same seed.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from dataclasses import dataclass

from .settings import Settings

DEFAULTS = {
    "latency": 0.0,             # seconds added to every REST answer
    "jitter": 0.0,              # plus uniform [0, jitter] seconds
    "rate_limit": None,         # REST requests a second (token bucket, bursts of as many) before 429
    "rate_limit_style": "header",  # "header": Retry-After + errorcode 50100; "body": errorcode 50200
    "retry_after": 1,           # seconds announced by header-style 429s; a string is sent as written ("1e309")
    "error_rate": 0.0,          # share of REST requests answered 500/503 without being carried out
    "lost_answer_rate": 0.0,    # share of batch entries carried out, then the connection dropped
    "token_lifetime": 1079,     # expires_in of issued tokens
    "process_delay": 0.3,       # seconds before a queued member is processed (or errored)
    "slow_answer_rate": 0.0,    # share of batch entries worked on slow_answer_seconds before they land
    "slow_answer_seconds": 0.0,  # ... and are answered (after a client's read timeout, if it is shorter)
    "status_lag": 0.0,          # seconds before the status endpoint lists a new entry
    "date_style": "system",     # dates in answers: "system" (UTC-6, no offset, as Marketing Cloud) or "utc" (Z)
    "history_answer": "csv",    # journey history downloads answer 200 with: "csv", or one of HISTORY_ANSWERS
}
NOT_FAULTS = ("process_delay", "date_style")  # kept by reset_faults(): a pace and a format, not faults
KINDS = ("429", "429-body", "500", "503", "lost-answer", "drop", "slow-answer")
HISTORY_ANSWERS = {
    "csv": "the CSV asked for",
    "html": "an HTML 'session expired' page, as a login page or proxy in front of the service gives",
    "empty": "an empty body",
    "gzip": "the CSV gzip-compressed without a Content-Encoding header",
    "cp1252": "the CSV written in Windows-1252 instead of UTF-8",
}
"""What a journey history download answers (200) under the ``history_answer`` fault."""


@dataclass(frozen=True)
class Plan:
    """What to do to one request: wait, answer a fault instead, and/or drop the answer afterwards."""

    delay: float = 0.0
    answer: str | None = None   # one of KINDS except "lost-answer": answer this without carrying out
    lose_answer: bool = False   # carry the request out, then close the connection without answering
    slow: float = 0.0           # seconds worked on before it lands (is carried out) and is answered


def seconds_text(value: float | str) -> str:
    """``1`` -> "1", ``0.2`` -> "0.2": whole seconds stay integers, fractions are written as decimals.
    A string is already the text to send (a malformed or absurd wait a test wants the client to meet)."""
    if isinstance(value, str):
        return value
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def seconds_value(value: float | str) -> int | float | str:
    if isinstance(value, str):
        return value
    value = float(value)
    return int(value) if value.is_integer() else value


class Faults(Settings):
    """Thread-safe fault settings plus the seeded generator and the rate limiter's token bucket."""

    def __init__(self, seed: int = 0, **options):
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._tokens: float | None = None   # the bucket's tokens; None: full (a new or changed limit)
        self._refilled = 0.0                # when the bucket was last topped up (time.monotonic)
        self._injected: collections.deque[tuple[str, float]] = collections.deque()
        self._settings = dict(DEFAULTS)
        self._released = threading.Event()   # set while the server stops: every latency pause ends at once
        self.configure(**options)

    def _validate_setting(self, name: str, value) -> None:
        _validate(name, value)

    def _configured(self, options: dict) -> None:
        if "rate_limit" in options:   # a new limit starts with a full bucket
            self._tokens = None

    def reset(self) -> None:
        """Switch every fault off (the processing pace is kept) and forget pending injections."""
        with self._lock:
            for name, value in DEFAULTS.items():
                if name not in NOT_FAULTS:
                    self._settings[name] = value
            self._injected.clear()
            self._tokens = None

    def pause(self, seconds: float) -> None:
        """Wait out a latency of ``seconds`` (an hour makes a hanging endpoint), cut short when the server stops."""
        self._released.wait(seconds)

    def release_pauses(self, released: bool = True) -> None:
        """End every latency pause now and skip later ones (the server is stopping); ``False`` restores them."""
        if released:
            self._released.set()
        else:
            self._released.clear()

    def inject(self, kind: str, count: int = 1, seconds: float | None = None) -> None:
        """The next ``count`` batch entries get ``kind``; ``slow-answer`` lands and answers after ``seconds``."""
        kind = kind.replace("_", "-") if isinstance(kind, str) else kind
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(KINDS)}")
        if not isinstance(count, int) or count < 0:
            raise ValueError("count must be a whole number >= 0")
        if (seconds is None) != (kind != "slow-answer"):
            raise ValueError("seconds= goes with 'slow-answer' (how long it is worked on), and only with it")
        if seconds is not None:
            _validate("slow_answer_seconds", seconds)
        with self._lock:
            self._injected.extend([(kind, float(seconds or 0.0))] * count)

    def plan(self, is_batch: bool) -> Plan:
        """Decide the fate of one REST request (token requests never come here)."""
        with self._lock:
            s, rng = self._settings, self._rng
            delay = float(s["latency"]) + (rng.uniform(0, s["jitter"]) if s["jitter"] else 0.0)
            if is_batch and self._injected:
                kind, seconds = self._injected.popleft()
                if kind == "lost-answer":
                    return Plan(delay, lose_answer=True)
                if kind == "slow-answer":
                    return Plan(delay, slow=seconds)
                return Plan(delay, answer=kind)
            if s["rate_limit"] is not None and not self._admit(float(s["rate_limit"])):
                return Plan(delay, answer="429" if s["rate_limit_style"] == "header" else "429-body")
            if s["error_rate"] and rng.random() < s["error_rate"]:
                return Plan(delay, answer=rng.choice(("500", "503")))
            lose = bool(is_batch and s["lost_answer_rate"] and rng.random() < s["lost_answer_rate"])
            slow = bool(is_batch and s["slow_answer_rate"] and rng.random() < s["slow_answer_rate"])
            return Plan(delay, lose_answer=lose, slow=float(s["slow_answer_seconds"]) if slow else 0.0)

    def _admit(self, rate: float) -> bool:
        """Take a token from the bucket (``rate`` a second, holding as many, at least one); False when empty."""
        now, capacity = time.monotonic(), max(1.0, rate)
        tokens = capacity if self._tokens is None else min(capacity, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        admitted = tokens >= 1.0
        self._tokens = tokens - 1.0 if admitted else tokens
        return admitted


def _validate(name: str, value) -> None:
    if name not in DEFAULTS:
        raise TypeError(f"unknown sandbox option {name!r}; known: {', '.join(DEFAULTS)}")
    if name == "rate_limit_style":
        if value not in ("header", "body"):
            raise ValueError("rate_limit_style must be 'header' or 'body'")
        return
    if name == "date_style":
        if value not in ("system", "utc"):
            raise ValueError("date_style must be 'system' or 'utc'")
        return
    if name == "history_answer":
        if value not in HISTORY_ANSWERS:
            raise ValueError(f"history_answer must be one of {', '.join(map(repr, HISTORY_ANSWERS))}")
        return
    if name == "rate_limit" and value is None:
        return
    if name == "retry_after" and isinstance(value, str):
        if not value.strip() or not value.isprintable() or not value.isascii():
            raise ValueError("retry_after as text must be a printable ASCII header value")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(f"{name} must be a number")
    if name in ("error_rate", "lost_answer_rate", "slow_answer_rate") and not 0 <= value <= 1:
        raise ValueError(f"{name} must be between 0 and 1")
    if name in ("rate_limit", "token_lifetime") and value <= 0:
        raise ValueError(f"{name} must be > 0")
    if value < 0:
        raise ValueError(f"{name} must be >= 0")
    if name in ("slow_answer_seconds", "status_lag") and value == float("inf"):
        raise ValueError(f"{name} must be finite")
