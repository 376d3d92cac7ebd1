"""Journey behaviour: a journey's definition as a graph, contacts traced through it, and the journey map.

    from sfmc_nb.journeys import trace
    tr = trace("Welcome", ["c-1", "c-2"])          # the definition and the history, in two requests
    tr.paths                                       # contactKey -> path, at, status
    tr.assert_paths({"c-1": ["Score decision", "High value email"]})

``JourneyGraph.from_definition(json)`` reads a definition (sfmc-api.md 5.1); :func:`events_frame` reads
journey history rows (5.2) with their system-time dates (2.1). Both draw or compute without a connection;
only :func:`trace` talks to Marketing Cloud.
"""

from __future__ import annotations

from .definition import Activity, Edge, JourneyGraph, Trigger
from .history import SYSTEM_TIME_OFFSET, events_frame, parse_time, read_rows
from .svg import journey_svg
from .trace import HISTORY_CONTACTS_PER_REQUEST, JourneyTrace, trace

__all__ = [
    "JourneyGraph", "Activity", "Edge", "Trigger", "JourneyTrace", "trace", "events_frame", "read_rows",
    "parse_time", "journey_svg", "SYSTEM_TIME_OFFSET", "HISTORY_CONTACTS_PER_REQUEST",
]
