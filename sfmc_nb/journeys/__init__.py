"""Journey behaviour: a journey's definition as a graph, contacts traced through it, and the journey map.

    from sfmc_nb.journeys import trace
    tr = trace("Welcome", ["c-1", "c-2"])          # the definition and the history, in two requests
    tr.paths                                       # contactKey -> path, at, status
    tr.assert_paths({"c-1": ["Score decision", "High value email"]})

``JourneyGraph.from_definition(json)`` reads a definition (sfmc-api.md 5.1); :func:`events_frame` reads
journey history rows (5.2) with their system-time dates (2.1). Both draw or compute without a connection;
only :func:`trace` (with :func:`history_freshness`, the history's lag, and :func:`journey_for_event`, the
journey an entry event feeds) talks to Marketing Cloud. ``trace(..., follow=True)`` (:mod:`.follow`) reads
the history again until the contacts stop moving, redrawing the map through a registered live view.
"""

from __future__ import annotations

from .definition import Activity, Edge, JourneyGraph, Trigger
from .follow import follow_trace, set_live_view
from .freshness import history_freshness
from .history import SYSTEM_TIME_OFFSET, events_frame, parse_time, read_rows
from .lookup import journey_for_event
from .svg import journey_svg
from .trace import HISTORY_CONTACTS_PER_REQUEST, HISTORY_DAYS, STATES, JourneyTrace, trace

__all__ = [
    "JourneyGraph", "Activity", "Edge", "Trigger", "JourneyTrace", "trace", "events_frame", "read_rows",
    "parse_time", "journey_svg", "SYSTEM_TIME_OFFSET", "HISTORY_CONTACTS_PER_REQUEST", "HISTORY_DAYS", "STATES",
    "journey_for_event", "history_freshness", "follow_trace", "set_live_view",
]
