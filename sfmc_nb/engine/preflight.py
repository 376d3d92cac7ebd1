"""Checks made before anything is sent: the event key exists, a Published journey uses it, the data columns
are fields of its entry data extension. A run that would be refused as a whole fails here, with the fix."""

from __future__ import annotations

from collections.abc import Sequence

from ..client import Connection
from ..errors import ApiError, NotFoundError, ValidationError

__all__ = ["preflight", "MAX_INTERACTIONS_PER_EVENT"]

TEXT_TYPES = {"text", "emailaddress", "phone", "locale"}
"""Entry data extension field types whose ``length`` is a limit on the characters of a value."""
MAX_INTERACTIONS_PER_EVENT = 10
"""Journeys one event key may feed before batch entry refuses it (Interaction Count Limit Exceeded)."""


def preflight(conn: Connection, event_key: str, data_columns: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Check the event key, its journeys and the data columns before anything is sent.

    Returns the Text-column length limits to enforce per row and warnings. Raises
    :class:`ValidationError` naming the problem and the fix.
    """
    notes: list[str] = []
    try:
        event = conn.event_definition(event_key)
    except NotFoundError:
        raise ValidationError(
            f"event definition key {event_key!r} not found in this business unit: copy the key from "
            "Journey Builder > Event Administration (or list journeys with %sfmc_journeys)") from None
    except ApiError as exc:
        if exc.status == 403:
            return {}, [f"pre-flight checks skipped: this login cannot read event definitions ({exc.message})"]
        raise
    if event.interaction_count is not None and event.interaction_count > MAX_INTERACTIONS_PER_EVENT:
        raise ValidationError(
            f"event key {event_key!r} is used by {event.interaction_count} journeys; batch entry allows at most "
            f"{MAX_INTERACTIONS_PER_EVENT} per key (Interaction Count Limit Exceeded): give the journey its own "
            "entry event")
    published = event.published_interaction_count
    if published is None:
        published = sum(1 for j in conn.journeys(status="Published") if event_key in j.event_keys)
    if not published:
        raise ValidationError(
            f"no Published journey uses event key {event_key!r}: publish the journey in Journey Builder (a Draft "
            "or Stopped journey does not take entries), or skip the checks with validate=False "
            "(--no-validate in %%journey_enter)")
    if not data_columns:
        return {}, notes
    return _check_data_columns(conn, event_key, event.data_extension_name or event.data_extension_id, data_columns)


def _check_data_columns(conn: Connection, event_key: str, data_extension: str | None,
                        data_columns: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Every data column must be a field of the entry data extension; Text fields give length limits."""
    try:
        fields = conn.entry_fields(event_key)
    except ApiError as exc:
        return {}, [f"data columns not checked: the entry data extension could not be read ({exc})"]
    if not fields:
        return {}, ["data columns not checked: the entry data extension's columns are not available"]
    by_name = {f.name.lower(): f for f in fields}
    missing = [c for c in data_columns if str(c).lower() not in by_name]
    if missing:
        de = data_extension or "the entry data extension"
        raise ValidationError(
            f"data column(s) {missing} are not fields of {de}; its fields are {[f.name for f in fields]}. "
            "Leave them out of data=, rename them, or add them to the data extension")
    limits: dict[str, int] = {}
    for col in data_columns:
        f = by_name[str(col).lower()]
        if f.length and (f.type or "").lower() in TEXT_TYPES:
            limits[str(col)] = f.length
    return limits, []
