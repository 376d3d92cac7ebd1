"""IPython magics: ``%sfmc_auth``, ``%%journey_enter`` and the journey exploration magics.

Load them with ``%load_ext sfmc_nb``. This package is glue only: every magic calls the Python API
(:func:`sfmc_nb.connect`, :func:`sfmc_nb.enter_journey`, the :class:`~sfmc_nb.client.Connection`
methods) and returns something usable from Python:

=============================  =======================================================================
magic                          returns
=============================  =======================================================================
``%sfmc_auth``                 the :class:`~sfmc_nb.client.Connection` (``conn = %sfmc_auth --sandbox``)
``%sfmc_auth --status``        an :class:`AuthStatus` card (host, MID, scopes, minutes left, sandbox)
``%sfmc_auth --logout``        ``None``
``%%journey_enter [var] ...``  ``None``: the result is *displayed* once (per ``SfmcMagics.display``) and
                               stored in ``var`` when a name is given (also in ``SfmcMagics.last_result``)
``%sfmc_journeys``             a DataFrame, one row per journey
``%sfmc_journey KEY``          a :class:`JourneyInfo` (a dict with an HTML card)
``%sfmc_membership``           a DataFrame (``contactKey, definitionKey, version``); ``.attrs["not_found"]``
``%sfmc_exit``                 a DataFrame of per-contact problems (empty: all accepted) or, with
                               ``--status``, of exit statuses
``%sfmc_batch_status ID``      a DataFrame of the status items of one batch
``%sfmc_trace J KEY ...``      a :class:`~sfmc_nb.journeys.JourneyTrace` (the journey map, paths, counts);
                               ``--from res`` traces an entry result's queued contacts
=============================  =======================================================================

Defaults are traits of :class:`SfmcMagics`: ``%config SfmcMagics.concurrency = 4``.

Errors: a mistake on the magic line (unknown flag, missing column, unknown DataFrame, ...) is a one-line
``UsageError``. An error from the library (:class:`~sfmc_nb.errors.SfmcError`) is shown as a one-line
``UsageError`` (HTTP status, errorcode, message) while ``SfmcMagics.short_errors`` is on, and raised with
its traceback when it is off. Nothing shown or returned carries the client secret or a token.

Where things are: ``auth.py`` (``%sfmc_auth``), ``entry.py`` (``%%journey_enter``), ``explore.py`` (the
exploration magics), ``trace.py`` (``%sfmc_trace``), each magic with its argument parser; ``_config.py``
(the ``SfmcMagics`` traits all of them read), ``_parsing.py`` (the parser class), ``_errors.py`` (one-line
errors, secret scrubbing), ``_cells.py`` (the cell body), ``_display.py`` (the cards). A new magic goes into the
class of its topic (or a new class listed in :data:`MAGIC_CLASSES`); loading and unloading follow from that list.
"""

from __future__ import annotations

from typing import Any

from ._config import SfmcMagics
from ._display import AuthStatus, JourneyInfo
from .auth import AuthMagics
from .entry import EntryMagics
from .explore import ExploreMagics
from .trace import TraceMagics

__all__ = ["SfmcMagics", "AuthStatus", "JourneyInfo", "AuthMagics", "EntryMagics", "ExploreMagics",
           "TraceMagics", "MAGIC_CLASSES", "load_ipython_extension", "unload_ipython_extension"]

MAGIC_CLASSES = (AuthMagics, EntryMagics, ExploreMagics, TraceMagics)
"""Every magics class ``%load_ext sfmc_nb`` registers (and ``%unload_ext`` removes)."""


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext sfmc_nb``: one :class:`SfmcMagics` for ``%config``, and the magics classes reading it."""
    if any(isinstance(c, SfmcMagics) for c in getattr(ip, "configurables", [])):  # loaded twice: keep one
        return
    settings = SfmcMagics(ip)
    ip.configurables.append(settings)
    for cls in MAGIC_CLASSES:
        ip.register_magics(cls(ip, settings))  # each appends itself to ip.configurables


def unload_ipython_extension(ip: Any) -> None:
    """``%unload_ext sfmc_nb``: remove what loading registered (connections and sandboxes are left as they are).

    The magic names come from the registered instances themselves, so a magic added to a class is removed
    with it, and a magic of the same name that something else registered since is left alone.
    """
    manager = ip.magics_manager
    removed: list[Any] = []
    for cls in MAGIC_CLASSES:
        instance = manager.registry.get(cls.__name__)
        if not isinstance(instance, cls):
            continue
        for kind, table in instance.magics.items():
            for name in table:
                if getattr(manager.magics[kind].get(name), "__self__", None) is instance:
                    del manager.magics[kind][name]
        del manager.registry[cls.__name__]
        removed.append(instance)
    ip.configurables[:] = [c for c in ip.configurables
                           if not isinstance(c, SfmcMagics) and not any(c is r for r in removed)]
