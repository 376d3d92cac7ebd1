"""Checks made before anything is sent: the event key exists, a Published journey uses it, the data columns
are fields of its entry data extension (whose fields also choose the columns of ``data="auto"``). A run that
would be refused as a whole fails here, with the fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..client import Connection, Field
from ..errors import ApiError, NotFoundError, ValidationError

__all__ = ["preflight", "EntrySchema", "MAX_INTERACTIONS_PER_EVENT"]

TEXT_TYPES = {"text", "emailaddress", "phone", "locale"}
"""Entry data extension field types whose ``length`` is a limit on the characters of a value."""
MAX_INTERACTIONS_PER_EVENT = 10
"""Journeys one event key may feed before batch entry refuses it (Interaction Count Limit Exceeded)."""


@dataclass
class EntrySchema:
    """What the pre-flight checks learned: the entry data extension's fields (None when they could not be
    read) and notes for the run's warnings."""

    fields: list[Field] | None = None
    data_extension: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def field_names(self) -> list[str] | None:
        return None if self.fields is None else [f.name for f in self.fields]

    def limits(self, data_columns: Sequence[str]) -> dict[str, int]:
        """Text length limits of ``data_columns``; a column that is not a field raises :class:`ValidationError`."""
        if self.fields is None:
            return {}
        by_name = {f.name.lower(): f for f in self.fields}
        missing = [c for c in data_columns if str(c).lower() not in by_name]
        if missing:
            de = self.data_extension or "the entry data extension"
            raise ValidationError(
                f"data column(s) {missing} are not fields of {de}; its fields are {[f.name for f in self.fields]}. "
                "Leave them out of data= (data='auto' sends only the columns that are fields), rename them, or "
                "add them to the data extension")
        limits: dict[str, int] = {}
        for col in data_columns:
            f = by_name[str(col).lower()]
            if f.length and (f.type or "").lower() in TEXT_TYPES:
                limits[str(col)] = f.length
        return limits


def preflight(conn: Connection, event_key: str, read_fields: bool = True) -> EntrySchema:
    """Check the event key and its journeys, and read the entry data extension's fields (``read_fields``: a run
    sending no data needs none), before anything is sent.

    Raises :class:`ValidationError` naming the problem and the fix. A login that cannot read event
    definitions or fields skips those checks with a note.
    """
    try:
        event = conn.event_definition(event_key)
    except NotFoundError:
        raise ValidationError(
            f"event definition key {event_key!r} not found in this business unit: copy the key from "
            "Journey Builder > Event Administration (or list journeys with %sfmc_journeys)") from None
    except ApiError as exc:
        if exc.status == 403:
            return EntrySchema(notes=[f"pre-flight checks skipped: this login cannot read event definitions "
                                      f"({exc.message})"])
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
    de = event.data_extension_name or event.data_extension_id
    if not read_fields:
        return EntrySchema(None, de)
    try:
        fields = conn.entry_fields(event_key)
    except ApiError as exc:
        return EntrySchema(None, de, [f"data columns not checked: the entry data extension could not be read ({exc})"])
    if not fields:
        return EntrySchema(None, de, ["data columns not checked: the entry data extension's columns are not "
                                      "available"])
    return EntrySchema(list(fields), de)
