"""``%%journey_enter`` (and its line form ``%journey_enter --from DF``): enter contacts into a journey.

Glue only: the magic turns its line and cell into the arguments of :func:`sfmc_nb.enter_journey`,
with the defaults of ``SfmcMagics``, then shows the result once and stores it in the variable named first.
"""

from __future__ import annotations

import argparse
import keyword
import re
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.core.error import UsageError
from IPython.core.magic import line_cell_magic, magics_class, no_var_expand
from IPython.display import display

from .._rules import MAX_CONCURRENCY, check_concurrency
from ..errors import SfmcWarning, ValidationError
from ._base import SfmcMagicsBase
from ._cells import read_body
from ._errors import guard
from ._parsing import MagicParser

__all__ = ["EntryMagics"]

WAIT_SECONDS = 60.0


_ENTER_EXAMPLES = """\
examples:
  %%journey_enter res --event KEY           contacts in the cell body, one row per line:
  SubscriberKey,FirstName,Email
  000123,Ann,ann@example.com

  %journey_enter res --event KEY --from df  the line form: the contacts of the DataFrame df
  %journey_enter res --event KEY --from-file contacts.csv   a file larger than memory, a chunk at a time

cell body: CSV with a header row (commas; tabs or semicolons when the header has no comma),
every row with one field per header column (quote a value that holds the separator: "a, b");
every value is text, white space around an unquoted value is dropped, an empty value is
missing. Or JSON lines: one object per line. Anything doubtful is refused with its line.
"""


def _enter_parser() -> MagicParser:
    p = MagicParser("%%journey_enter", description="Enter the contacts of the cell (CSV or JSON lines) or of "
                    "--from DF\ninto the journey(s) of an entry event.", epilog=_ENTER_EXAMPLES,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("result_var", nargs="?", help="variable that receives the EntryResult")
    p.add_argument("--event", required=True, help="the entry event definition key")
    p.add_argument("--contact-key", help="contact key column (default: SubscriberKey or ContactKey)")
    p.add_argument("--data", help="columns sent as entry data: COL,COL, 'all' (every column but the key) or "
                   "'auto' (default: the columns that are fields of the entry data extension)")
    p.add_argument("--from", dest="source", metavar="DF", help="a DataFrame variable instead of the cell body")
    p.add_argument("--from-file", dest="from_file", metavar="PATH",
                   help="a .csv (every column read as text) or .parquet file, read and sent a chunk at a time")
    p.add_argument("--dry-run", action="store_true", help="check and build the batches, send nothing")
    p.add_argument("--concurrency", type=int, help="batches in flight (default: SfmcMagics.concurrency)")
    p.add_argument("--no-validate", action="store_true", help="skip the journey and schema checks")
    p.add_argument("--journal", help="JSON-lines journal file (resume a run that died)")
    p.add_argument("--again", action="store_true", help="enter contacts an earlier run of this session entered for "
                   "this event (without it such a run is refused, nothing sent)")
    p.add_argument("--wait", nargs="?", type=float, const=WAIT_SECONDS, metavar="SECONDS",
                   help=f"then follow processing for up to SECONDS (default {WAIT_SECONDS:g}): processed or errored")
    return p


@magics_class
class EntryMagics(SfmcMagicsBase):
    """``%%journey_enter``: contacts from the cell body or a DataFrame into a journey's entry event."""

    def __init__(self, shell: Any, settings: Any):
        super().__init__(shell, settings)
        self._parser = _enter_parser()

    @line_cell_magic("journey_enter")
    @no_var_expand
    @guard
    def journey_enter(self, line: str = "", cell: str | None = None):
        """Enter contacts into a journey. ``%%journey_enter [result_var] --event KEY [--contact-key COL]
        [--data COL,COL|all|auto] [--from DF | --from-file PATH] [--dry-run] [--concurrency N] [--no-validate]
        [--journal PATH] [--again]``

        The cell body holds CSV with a header row (every value read as text; tabs or semicolons when the
        header has no comma) or JSON lines; a row whose field count differs from the header's, or anything
        else doubtful, is refused with its line. Or ``--from DF`` names a DataFrame, also as a line magic::

            %journey_enter res --event KEY --from df

        ``--data`` defaults to ``auto``, as ``data=`` in Python: the columns that are fields of the entry data
        extension (one warning names those left out). The result is displayed once, with the run's warnings,
        and stored in ``result_var``; the magic returns None.

        Running the cell again refuses to enter its contacts a second time (nothing is sent; the error says when
        they were entered): ``--again`` enters them again on purpose, the same ``--journal`` resumes a run.
        """
        prog = "%%journey_enter" if cell is not None else "%journey_enter"
        args = self._parser.parse_line(line)
        var = args.result_var
        if var is not None and (not var.isidentifier() or keyword.iskeyword(var)):
            raise UsageError(f"{prog}: {var!r} is not a valid variable name for the result")
        if not args.event.strip():
            raise UsageError(f"{prog}: --event needs the entry event definition key")
        from .. import engine as _engine  # the engine is loaded on first use, not by %load_ext
        from ..engine.processing import MAX_WAIT

        if args.wait is not None and not 0 <= args.wait <= MAX_WAIT:   # checked before anything is sent
            raise UsageError(f"{prog}: --wait takes a timeout of 0 to {MAX_WAIT:g} seconds; got {args.wait:g}")

        source: Any
        if args.from_file:
            source = self._file(args, cell, prog)
            df = _head(source, prog)   # the columns are checked on the first rows
        else:
            source = df = self._contacts(args, cell, prog)
        contact_key, data = _columns(_engine, args, df, prog)
        concurrency = self._concurrency(args, prog)
        conn = self.connection()
        with warnings.catch_warnings():  # the result shown below carries the run's warnings
            warnings.simplefilter("ignore", SfmcWarning)
            result = _engine.enter_journey(source, args.event, contact_key=contact_key, data=data, connection=conn,
                                          concurrency=concurrency, dry_run=args.dry_run,
                                          validate=self.settings.validate and not args.no_validate,
                                          journal=self._journal(args), progress=self._progress(),
                                          again=args.again)
        if args.wait is not None and not result.dry_run:
            result.wait(timeout=args.wait)
        self.settings.last_result = result
        if var is not None:
            self.shell.user_ns[var] = result
        self._show(result)
        return None

    def _contacts(self, args: argparse.Namespace, cell: str | None, prog: str) -> pd.DataFrame:
        """The input rows: the cell body, or the DataFrame named by ``--from`` (never both)."""
        body = cell if cell is not None else ""
        if args.source:
            if body.strip():
                raise UsageError(f"{prog}: give the contacts in the cell body or with --from {args.source}, not both")
            df = self.frame_var(args.source, prog)
        else:
            if not body.strip():
                raise UsageError(f"{prog}: no contacts: put CSV or JSON lines in the cell body, or use --from DF")
            df = read_body(body, prog)
        if len(df) == 0:
            raise UsageError(f"{prog}: the input has no rows")
        return df

    def _file(self, args: argparse.Namespace, cell: str | None, prog: str) -> str:
        """The path of ``--from-file`` (never with --from or a cell body)."""
        if args.source or (cell or "").strip():
            raise UsageError(f"{prog}: give the contacts with --from-file, --from or in the cell body: one of them")
        path = Path(args.from_file).expanduser()
        if not path.is_file():
            raise UsageError(f"{prog}: --from-file {args.from_file}: no such file")
        return str(path)

    def _concurrency(self, args: argparse.Namespace, prog: str) -> int:
        value = self.settings.concurrency if args.concurrency is None else args.concurrency
        try:
            return check_concurrency(value, "--concurrency")
        except ValidationError:
            raise UsageError(f"{prog}: --concurrency must be at least 1 and at most {MAX_CONCURRENCY}") from None

    def _journal(self, args: argparse.Namespace) -> str | None:
        """``--journal``, or a new file in ``SfmcMagics.journal_dir`` (none for a dry run)."""
        if args.journal is not None or not self.settings.journal_dir or args.dry_run:
            return args.journal
        folder = Path(self.settings.journal_dir).expanduser()   # made by the journal itself, private (0700)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", args.event)[:60]
        return str(folder / f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")

    def _progress(self):
        if not self.settings.progress:
            return None
        try:
            from ..widgets import LiveProgress
        except ImportError:  # no ipywidgets: run without a bar
            return None
        return LiveProgress("text" if self.settings.display == "text" else "auto")

    def _show(self, result: Any) -> None:
        mode = self.settings.display
        if mode == "widget":
            try:
                panel = result.show()
            except ImportError:
                mode = "html"
            else:
                display(panel)
                return
        if mode == "html":
            display({"text/html": result._repr_html_(), "text/plain": repr(result)}, raw=True)
        else:
            print(repr(result))


def _head(path: str, prog: str) -> pd.DataFrame:
    """The first rows of a file, read as the run will read it (an unreadable file is a usage error)."""
    from ..engine.sources import iter_chunks

    try:
        head = next(iter_chunks(path, 5), None)
    except (ValidationError, ValueError, OSError) as exc:
        raise UsageError(f"{prog}: --from-file {path}: {exc}") from None
    if head is None or len(head) == 0:
        raise UsageError(f"{prog}: the input has no rows")
    return head


def _columns(engine: Any, args: argparse.Namespace, df: pd.DataFrame, prog: str) -> tuple[Any, Any]:
    """The contact key column and ``data=`` as :func:`sfmc_nb.engine.resolve_columns` reads them (the Python
    API's one resolver): ``--data`` names, ``all``, or ``auto`` (the default); checked now, before any request."""
    data: Any = engine.AUTO
    if args.data is not None:
        words = [c.strip() for c in args.data.split(",") if c.strip()]
        if len(words) == 1 and words[0].lower() in (engine.AUTO, engine.ALL):
            data = words[0].lower()
        else:
            data = words
    try:
        columns = engine.resolve_columns(df, args.contact_key, data, key_option="--contact-key",
                                         data_option="--data")
    except ValidationError as exc:
        raise UsageError(f"{prog}: {exc}") from None
    return columns.key, data if isinstance(data, str) else columns.data
