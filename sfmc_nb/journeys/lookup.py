"""Which journey an entry event feeds: the journey whose trigger carries the event key.

An event key may feed several journeys (up to 10): the Published one is meant when there is exactly one; with
several, or with none published and several using the key, the caller has to name the journey.
"""

from __future__ import annotations

from typing import Any, Protocol

from .._rules import join_limited
from ..errors import ValidationError

__all__ = ["journey_for_event"]


class JourneyListing(Protocol):
    def journeys(self, status: str | None = None, name: str | None = None, *, key: str | None = None,
                 most_recent_version_only: bool = True, extras: str | None = None,
                 page_size: int = 50) -> Any: ...


def _by_key(journeys: Any, event_key: str) -> dict[str, Any]:
    """The journeys using ``event_key``, one per journey key (its highest version)."""
    found: dict[str, Any] = {}
    for j in journeys:
        if event_key not in (j.event_keys or []):
            continue
        key = j.key or j.id
        if key not in found or (j.version or 0) > (found[key].version or 0):
            found[key] = j
    return found


def journey_for_event(conn: JourneyListing, event_key: str) -> Any:
    """The journey (a :class:`~sfmc_nb.client.Journey`) that ``event_key`` enters contacts into.

    Costs one listing of the Published journeys (every version, 50 a page), and one more of all journeys
    when none is published. Raises :class:`ValidationError` naming the candidates when it cannot choose.
    """
    if not isinstance(event_key, str) or not event_key.strip():
        raise ValidationError("no event key to find the journey by: name the journey (journey=...)")
    published = _by_key(conn.journeys(status="Published", most_recent_version_only=False), event_key)
    if len(published) == 1:
        return next(iter(published.values()))
    if published:
        raise ValidationError(f"{len(published)} Published journeys use event {event_key!r} ({join_limited(published)})"
                              f": name one, e.g. .trace(journey={next(iter(published))!r})")
    others = _by_key(conn.journeys(most_recent_version_only=True), event_key)
    if len(others) == 1:
        return next(iter(others.values()))
    if not others:
        raise ValidationError(f"no journey uses event {event_key!r}: name the journey (journey=...)")
    raise ValidationError(f"{len(others)} journeys use event {event_key!r} and none is Published "
                          f"({join_limited(others)}): name one, e.g. .trace(journey={next(iter(others))!r})")
