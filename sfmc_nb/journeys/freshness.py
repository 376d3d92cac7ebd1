"""How far journey history trails the journey: ``GET .../journeyhistory/freshness`` (docs: "Estimate and freshness").

Documentation pages disagree on the path (``interactions`` or ``interaction``) and nobody documents the answer's
field name, so the probe tries both paths, takes the first number it finds, and treats a 404 (or any other
failure) as "not known". The answer is kept per connection for a few minutes: following a trace reads the
history again and again, the lag it is read against once.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from ..errors import NotFoundError, SfmcError

__all__ = ["FRESHNESS_PATHS", "history_freshness", "first_number"]

FRESHNESS_PATHS = ("/interaction/v1/interactions/journeyhistory/freshness",
                   "/interaction/v1/interaction/journeyhistory/freshness")
KEEP_SECONDS = 300.0
"""How long one connection's answer is reused."""

_known: weakref.WeakKeyDictionary[Any, tuple[float, float | None]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def first_number(data: Any) -> float | None:
    """The first number in an answer of unknown shape: a number, or a field whose name says freshness first."""
    if isinstance(data, bool):
        return None
    if isinstance(data, (int, float)):
        return float(data)
    if isinstance(data, str):
        try:
            return float(data.strip())
        except ValueError:
            return None
    if isinstance(data, Mapping):
        named = [v for k, v in data.items() if isinstance(k, str) and "fresh" in k.lower()]
        for value in named + list(data.values()):
            found = first_number(value)
            if found is not None:
                return found
    if isinstance(data, list):
        for value in data:
            found = first_number(value)
            if found is not None:
                return found
    return None


def _probe(conn: Any) -> float | None:
    get_json = getattr(conn, "get_json", None)
    if get_json is None:
        return None
    for path in FRESHNESS_PATHS:
        try:
            return first_number(get_json(path))
        except NotFoundError:
            continue
        except SfmcError:   # refused (scope) or failing: the trace goes on without it
            return None
    return None


def history_freshness(conn: Any, *, refresh: bool = False) -> float | None:
    """Seconds journey history lags behind what happens, or ``None`` when the tenant does not say."""
    now = time.monotonic()
    with _lock:
        try:
            when, value = _known.get(conn, (float("-inf"), None))
        except TypeError:          # an object that cannot be weakly referenced: ask every time
            when, value = float("-inf"), None
    if not refresh and now - when < KEEP_SECONDS:
        return value
    value = _probe(conn)
    if value is not None and value < 0:
        value = None
    with _lock:
        try:
            _known[conn] = (now, value)
        except TypeError:
            pass
    return value
