"""The Marketing Cloud REST client: one method per endpoint the toolkit relies on.

A :class:`Connection` is the transport (``_transport``: one ``requests.Session``, the token, timeouts,
redirects, request counts, paging; error answers read in ``_answers``, retry decisions in ``_retry``) plus the
endpoint groups, one module each:

* ``_entry``: ``enter_batch``, ``batch_status``, ``batch_status_page``, ``fire_event``;
* ``_journeys``: ``journeys``, ``journey``, ``event_definition``, ``entry_fields``;
* ``_contacts``: ``contact_membership``, ``contact_exit``, ``contact_exit_status``, ``journey_history``.

The answers are the models of :mod:`sfmc_nb.client.models`; the lists among them have ``to_frame()``.
To add an endpoint, add a method to the group it belongs to (or a new group that ``Connection`` inherits)
and its answer's model to ``models``. The client never imports IPython or ipywidgets.
"""

from __future__ import annotations

from ._connection import Connection, connect, default_connection, set_default_connection
from ._history import HistoryRows, HistoryTable, read_history_csv, read_history_table
from ._retry import RetryPolicy
from .models import (
    BatchAnswer,
    EventDefinition,
    ExitProblemList,
    ExitStatusList,
    Field,
    FieldList,
    Journey,
    JourneyList,
    Membership,
    StatusItemList,
    entry_fields_frame,
)

__all__ = [
    "Connection", "connect", "default_connection", "set_default_connection", "RetryPolicy",
    "BatchAnswer", "Journey", "JourneyList", "EventDefinition", "Field", "FieldList", "entry_fields_frame",
    "Membership", "ExitProblemList", "ExitStatusList", "StatusItemList", "HistoryRows", "HistoryTable",
    "read_history_csv", "read_history_table",
]
