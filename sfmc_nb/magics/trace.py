"""``%sfmc_trace``: where contacts went in a journey, drawn on its map (:func:`sfmc_nb.trace`).

Glue only: the magic reads its line into the arguments of :func:`sfmc_nb.trace` (or of
``EntryResult.trace()`` for ``--from res``) and returns the :class:`~sfmc_nb.journeys.JourneyTrace`, whose
HTML is the journey map with counts and paths.
"""

from __future__ import annotations

import argparse
import keyword
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class

from .._rules import default_contact_key
from ..journeys import trace as trace_journey
from ..results import EntryResult
from ._base import SfmcMagicsBase
from ._errors import guard, listed
from ._parsing import MagicParser

__all__ = ["TraceMagics"]

FOLLOW_SECONDS = 60.0

_EXAMPLES = """\
examples:
  %sfmc_trace welcome-journey 000123 000124     these contacts in that journey (key, id or name of a version)
  %sfmc_trace --from res                        the queued contacts of an entry result, in the journey its
                                                event key feeds (--journey names another)
  %sfmc_trace welcome-journey --from df --contact-key SubscriberKey
  tr = %sfmc_trace --from res --follow          read again until everyone waits or reached an end
"""


def _trace_parser() -> MagicParser:
    p = MagicParser("%sfmc_trace", description="Trace contacts through a journey: paths, counts, the map.",
                    epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("words", nargs="*", metavar="JOURNEY KEY", help="the journey, then contact keys")
    p.add_argument("--from", dest="source", metavar="VAR", help="an EntryResult (res) or a DataFrame")
    p.add_argument("--journey", help="the journey, with --from res (default: the one the event key feeds)")
    p.add_argument("--contact-key", metavar="COL", help="key column, with --from DF")
    p.add_argument("--since", help="history from this moment on (ISO 8601, Marketing Cloud system time)")
    p.add_argument("--follow", action="store_true", help="read again until every contact waits or ended")
    p.add_argument("--timeout", type=float, default=FOLLOW_SECONDS,
                   help=f"seconds --follow goes on at most (default {FOLLOW_SECONDS:g})")
    return p


@magics_class
class TraceMagics(SfmcMagicsBase):
    """``%sfmc_trace``: contacts traced through a journey, as a JourneyTrace (the map, paths and counts)."""

    def __init__(self, shell: Any, settings: Any):
        super().__init__(shell, settings)
        self._parser = _trace_parser()

    @line_magic("sfmc_trace")
    @guard
    def sfmc_trace(self, line: str = ""):
        """``%sfmc_trace JOURNEY KEY [KEY ...]``, ``%sfmc_trace --from res [--journey J]`` or
        ``%sfmc_trace JOURNEY --from DF [--contact-key COL]``; ``--follow [--timeout S]``, ``--since WHEN``.
        Returns the :class:`~sfmc_nb.journeys.JourneyTrace`."""
        args = self._parser.parse_line(line, intermixed=True)
        options = {"follow": args.follow, "timeout": args.timeout, "since": args.since}
        source = self._source(args.source) if args.source else None
        if isinstance(source, EntryResult):
            if args.words or args.contact_key:
                raise UsageError("%sfmc_trace: with --from RESULT give no journey or keys on the line (name the "
                                 "journey with --journey)")
            self.connection()   # a clear "log in first" before anything else
            return source.trace(args.journey, **options)
        if args.journey:
            raise UsageError("%sfmc_trace: --journey goes with --from RESULT; otherwise the journey comes first")
        if not args.words:
            raise UsageError("%sfmc_trace: name the journey and the contacts: JOURNEY KEY [KEY ...], or --from res")
        journey, keys = args.words[0], args.words[1:]
        if source is not None:
            if keys:
                raise UsageError("%sfmc_trace: give contact keys on the line or --from DF, not both")
            keys = self._frame_keys(source, args)
        elif args.contact_key:
            raise UsageError("%sfmc_trace: --contact-key goes with --from DF")
        if not keys:
            raise UsageError(f"%sfmc_trace: no contact keys: %sfmc_trace {journey} KEY [KEY ...]")
        return trace_journey(journey, list(dict.fromkeys(keys)), connection=self.connection(), **options)

    def _source(self, name: str) -> Any:
        """The EntryResult or DataFrame named by ``--from``."""
        if not name.isidentifier() or keyword.iskeyword(name):
            raise UsageError(f"%sfmc_trace: --from needs a variable name, got {name!r}")
        if name not in self.shell.user_ns:
            raise UsageError(f"%sfmc_trace: no variable named {name!r} in the notebook")
        value = self.shell.user_ns[name]
        if isinstance(value, EntryResult):
            return value
        return self.frame_var(name, "%sfmc_trace")   # a DataFrame, or a one-line error saying what it is

    @staticmethod
    def _frame_keys(df: Any, args: argparse.Namespace) -> list[str]:
        col = args.contact_key or default_contact_key(df.columns)
        if col is None or col not in df.columns:
            raise UsageError(f"%sfmc_trace: name the key column with --contact-key; columns are {listed(df.columns)}")
        return [str(v) for v in df[col].dropna().tolist() if str(v).strip()]
