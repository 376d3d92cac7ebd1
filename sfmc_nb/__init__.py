"""sfmc_nb: enter contacts into Marketing Cloud journeys from Jupyter, and explore how journeys behave.

    import sfmc_nb
    conn = sfmc_nb.connect(sandbox=True)        # or connect() with SFMC_* variables for a real tenant
    res = sfmc_nb.enter_journey(df, conn.sandbox.event_key, contact_key="SubscriberKey")   # or df.sfmc...
    tr = sfmc_nb.trace("welcome", ["000123"])   # where the contacts went: paths, counts, the journey map

In a notebook: ``%load_ext sfmc_nb``, then ``%sfmc_auth`` and ``%%journey_enter``.

This module is the public API: everything a notebook, a script or a test needs is importable from here.
Modules and names starting with ``_`` are internal.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import accessor, errors, journeys, results, sandbox  # noqa: F401 - importing accessor registers df.sfmc
from ._version import __version__
from .client import Connection, RetryPolicy, connect, default_connection, set_default_connection
from .engine import ProgressEvent, ProgressKind, TextProgress, enter_journey
from .errors import (
    AlreadyEnteredError,
    ApiError,
    AuthError,
    ConfigurationError,
    ConnectError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    RedirectError,
    ServerError,
    SfmcError,
    SfmcWarning,
    TransportError,
    UnexpectedAnswerError,
    ValidationError,
)
from .journeys import JourneyGraph, JourneyTrace, trace
from .results import EntryResult

__all__ = [
    "__version__",
    # connecting
    "connect", "Connection", "RetryPolicy", "default_connection", "set_default_connection", "sandbox",
    # entering contacts
    "enter_journey", "EntryResult", "ProgressEvent", "ProgressKind", "TextProgress",
    # journey behaviour
    "trace", "JourneyTrace", "JourneyGraph",
    # errors
    "errors", "SfmcError", "ConfigurationError", "ValidationError", "AuthError", "ApiError", "NotFoundError",
    "RateLimitError", "RedirectError", "ServerError", "UnexpectedAnswerError", "TransportError", "ConnectError",
    "OutcomeUnknownError", "SfmcWarning", "AlreadyEnteredError",
    # IPython
    "load_ipython_extension", "unload_ipython_extension",
]


def _result_panel(result: EntryResult) -> Any:
    """``EntryResult.show()``: the ipywidgets panel; ``sfmc_nb.widgets`` (and ipywidgets) is imported only now."""
    return importlib.import_module(f"{__name__}.widgets").ResultPanel(result)


def _live_journey_map(trace: JourneyTrace) -> Any:
    """``trace(..., follow=True)``: the map redrawn live in a kernel (None elsewhere); widgets imported only now."""
    return importlib.import_module(f"{__name__}.widgets").live_map(trace)


results.set_panel_factory(_result_panel)
journeys.set_live_view(_live_journey_map)


def load_ipython_extension(ipython: Any) -> None:  # pragma: no cover - exercised through %load_ext in tests
    """``%load_ext sfmc_nb``: register the magics (IPython is imported only here)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:  # pragma: no cover
    """``%unload_ext sfmc_nb``: remove exactly what loading registered."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
