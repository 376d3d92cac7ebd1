"""The exploration magics: what is in the tenant, and where contacts stand.

``%sfmc_journeys``, ``%sfmc_journey``, ``%sfmc_membership``, ``%sfmc_exit`` and ``%sfmc_batch_status`` each
call one :class:`~sfmc_nb.client.Connection` method and return the ``to_frame()`` of the model it answers (or
a :class:`JourneyInfo`), so a Python user calling the same method gets the same table. ``%sfmc_journey`` also
draws the journey's map (:class:`~sfmc_nb.journeys.JourneyGraph`) under its card.
"""

from __future__ import annotations

import argparse
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class

from .._rules import default_contact_key, one_line, plural
from ..client import entry_fields_frame
from ..errors import ApiError
from ..journeys import JourneyGraph
from ._base import SfmcMagicsBase
from ._display import JourneyInfo
from ._errors import MAX_ERROR_CHARS, guard, listed
from ._parsing import MagicParser

__all__ = ["ExploreMagics"]


# --------------------------------------------------------------------------- parsers


def _journeys_parser() -> MagicParser:
    p = MagicParser("%sfmc_journeys", description="List the tenant's journeys (newest versions).")
    p.add_argument("--status", help="Draft, Published, Stopped, ...")
    p.add_argument("--name", help="text in the name or description")
    return p


def _journey_parser() -> MagicParser:
    p = MagicParser("%sfmc_journey", description="One journey, its entry events and entry schema.")
    p.add_argument("journey", metavar="KEY_OR_ID")
    p.add_argument("--version", type=int)
    return p


def _contacts_parser(prog: str, description: str) -> MagicParser:
    """Contacts as KEY [KEY ...] or --from DF --contact-key COL (read by ``_keys_from``)."""
    p = MagicParser(prog, description=description)
    p.add_argument("keys", nargs="*", metavar="KEY")
    p.add_argument("--from", dest="source", metavar="DF")
    p.add_argument("--contact-key", metavar="COL")
    return p


def _membership_parser() -> MagicParser:
    return _contacts_parser("%sfmc_membership", "Which journeys the contacts are in.")


def _exit_parser() -> MagicParser:
    p = _contacts_parser("%sfmc_exit", "Take contacts out of a journey (--status: follow the exit).")
    p.add_argument("--journey", required=True, metavar="JOURNEY_KEY")
    p.add_argument("--version", type=int, action="append", dest="versions", metavar="N",
                   help="only these versions (repeat the flag for more)")
    p.add_argument("--status", action="store_true", help="show where the exit requests stand")
    return p


def _batch_status_parser() -> MagicParser:
    p = MagicParser("%sfmc_batch_status", description="What became of the members of one batch.")
    p.add_argument("request_id", metavar="REQUEST_ID")
    p.add_argument("--type", choices=["queued", "processed", "errored"])
    return p


# --------------------------------------------------------------------------- the magics


@magics_class
class ExploreMagics(SfmcMagicsBase):
    """Journeys, one journey, membership, exit and batch status, as DataFrames."""

    def __init__(self, shell: Any, settings: Any):
        super().__init__(shell, settings)
        self._parsers = {"journeys": _journeys_parser(), "journey": _journey_parser(),
                         "membership": _membership_parser(), "exit": _exit_parser(),
                         "batch_status": _batch_status_parser()}

    @line_magic("sfmc_journeys")
    @guard
    def sfmc_journeys(self, line: str = ""):
        """``%sfmc_journeys [--status S] [--name TEXT]``: a DataFrame of the tenant's journeys."""
        args = self._parsers["journeys"].parse_line(line)
        conn = self.connection()
        return conn.journeys(status=args.status, name=args.name).to_frame()

    @line_magic("sfmc_journey")
    @guard
    def sfmc_journey(self, line: str = ""):
        """``%sfmc_journey KEY_OR_ID [--version N]``: status, entry events, entry schema, populations."""
        args = self._parsers["journey"].parse_line(line)
        conn = self.connection()
        j = conn.journey(args.journey, version=args.version)
        info = _journey_info(j)
        schemas = []
        problems: list[str] = []
        for key in j.event_keys:
            try:
                schemas.append(conn.entry_fields(key))
            except ApiError as exc:
                problems.append(f"entry schema of {key!r} not readable: {one_line(str(exc), MAX_ERROR_CHARS)}")
        if not j.event_keys:
            problems.append("the journey has no API entry event")
        info["entryFields"] = entry_fields_frame(schemas)
        info["problems"] = problems
        info.graph = JourneyGraph.from_definition(j.raw)
        return info

    @line_magic("sfmc_membership")
    @guard
    def sfmc_membership(self, line: str = ""):
        """``%sfmc_membership KEY [KEY ...]`` or ``--from DF [--contact-key COL]``: which journeys they are in."""
        args = self._parsers["membership"].parse_line(line, intermixed=True)
        keys = self._keys_from(args, "%sfmc_membership")
        conn = self.connection()
        found = conn.contact_membership(keys)
        frame = found.to_frame()
        if found.not_found:
            print(f"{plural(len(found.not_found), 'contact')} not found: {listed(found.not_found)}")
        return frame

    @line_magic("sfmc_exit")
    @guard
    def sfmc_exit(self, line: str = ""):
        """``%sfmc_exit --journey KEY CONTACT [CONTACT ...]`` (or ``--from DF``): take contacts out of a journey.
        ``--status``: where the exit requests stand. ``--version N`` (repeatable) limits the versions."""
        args = self._parsers["exit"].parse_line(line, intermixed=True)
        keys = self._keys_from(args, "%sfmc_exit")
        conn = self.connection()
        if args.status:
            items = conn.contact_exit_status(keys, args.journey, versions=args.versions)
        else:
            items = conn.contact_exit(keys, args.journey, versions=args.versions)
        frame = items.to_frame()
        if not args.status and frame.empty:
            print(f"exit requested for {plural(len(keys), 'contact')} from {args.journey!r}: all accepted")
        return frame

    @line_magic("sfmc_batch_status")
    @guard
    def sfmc_batch_status(self, line: str = ""):
        """``%sfmc_batch_status REQUEST_ID [--type queued|processed|errored]``: the batch's status items."""
        args = self._parsers["batch_status"].parse_line(line)
        conn = self.connection()
        frame = conn.batch_status(request_id=args.request_id, type=args.type).to_frame()
        if frame.empty:
            print(f"no status items for request {args.request_id!r} (yet)")
        return frame

    def _keys_from(self, args: argparse.Namespace, prog: str) -> list[str]:
        """Contact keys from the line or from ``--from DF --contact-key COL`` (blank and repeated keys dropped)."""
        if args.source and args.keys:
            raise UsageError(f"{prog}: give contact keys on the line or --from DF, not both")
        if args.source:
            df = self.frame_var(args.source, prog)
            col = args.contact_key
            if col is None:
                col = default_contact_key(df.columns)
                if col is None:
                    raise UsageError(f"{prog}: name the key column with --contact-key; columns are "
                                     f"{listed(df.columns)}")
            if col not in df.columns:
                raise UsageError(f"{prog}: no column {col!r} in {args.source}; columns are {listed(df.columns)}")
            keys = [str(v) for v in df[col].dropna().tolist() if str(v).strip()]
            keys = list(dict.fromkeys(keys))
            if not keys:
                raise UsageError(f"{prog}: column {col!r} of {args.source} holds no contact keys")
            return keys
        if args.contact_key:
            raise UsageError(f"{prog}: --contact-key goes with --from DF")
        if not args.keys:
            raise UsageError(f"{prog}: give contact keys (KEY [KEY ...]) or --from DF --contact-key COL")
        return list(dict.fromkeys(args.keys))


# --------------------------------------------------------------------------- the journey card


class JourneyMapInfo(JourneyInfo):
    """The ``%sfmc_journey`` card with the journey's map under it; ``.graph`` is the
    :class:`~sfmc_nb.journeys.JourneyGraph` (None when the answer carried no definition)."""

    graph: JourneyGraph | None = None

    def __repr__(self) -> str:
        text = super().__repr__()
        return text + "\n" + repr(self.graph) if self.graph is not None and len(self.graph) else text

    def _repr_html_(self) -> str:
        card = super()._repr_html_()
        return card + self.graph._repr_html_() if self.graph is not None and len(self.graph) else card


def _journey_info(j: Any) -> JourneyMapInfo:
    """The summary part of the ``%sfmc_journey`` card (``Connection.journey()``)."""
    stats = j.stats or {}
    return JourneyMapInfo(name=j.name, key=j.key, id=j.id, version=j.version, status=j.status,
                       entryMode=j.entry_mode, eventKeys=list(j.event_keys),
                       currentPopulation=stats.get("currentPopulation"),
                       cumulativePopulation=stats.get("cumulativePopulation"))
