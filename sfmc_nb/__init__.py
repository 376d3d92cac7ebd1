"""sfmc_nb: enter contacts into Marketing Cloud journeys from Jupyter, and explore how journeys behave.

    import sfmc_nb
    conn = sfmc_nb.connect(sandbox=True)        # or connect() with SFMC_* variables for a real tenant
    result = df.sfmc.enter_journey(conn.sandbox.event_key, contact_key="SubscriberKey")

In a notebook: ``%load_ext sfmc_nb``, then ``%sfmc_auth`` and ``%%journey_enter``.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import accessor, errors, results, sandbox  # noqa: F401 - importing accessor registers df.sfmc
from .client import Connection, RetryPolicy, connect, default_connection, set_default_connection
from .engine import ProgressEvent, enter_journey
from .errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    ConnectError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    SfmcError,
    TransportError,
    ValidationError,
)
from .results import EntryResult

__version__ = "0.1.0"

__all__ = [
    "connect", "enter_journey", "EntryResult", "ProgressEvent",
    "Connection", "RetryPolicy", "default_connection", "set_default_connection", "sandbox", "errors",
    "SfmcError", "ConfigurationError", "ValidationError", "AuthError", "ApiError", "NotFoundError",
    "RateLimitError", "ServerError", "TransportError", "ConnectError", "OutcomeUnknownError",
    "load_ipython_extension", "unload_ipython_extension",
]


def _result_panel(result: EntryResult) -> Any:
    """``EntryResult.show()``: the ipywidgets panel; ``sfmc_nb.widgets`` (and ipywidgets) is imported only now."""
    return importlib.import_module(f"{__name__}.widgets").ResultPanel(result)


results.set_panel_factory(_result_panel)


def load_ipython_extension(ipython):  # pragma: no cover - exercised through %load_ext in tests
    """``%load_ext sfmc_nb``: register the magics (IPython is imported only here)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):  # pragma: no cover
    from .magics import unload_ipython_extension as unload

    unload(ipython)
