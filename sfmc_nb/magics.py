"""IPython magics: ``%sfmc_auth``, ``%%journey_enter`` and the journey exploration magics.

Load them with ``%load_ext sfmc_nb``. This module is glue only: every magic calls the Python API
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
=============================  =======================================================================

Defaults are traits of :class:`SfmcMagics`: ``%config SfmcMagics.concurrency = 4``.

Errors: a mistake on the magic line (unknown flag, missing column, unknown DataFrame, ...) is a one-line
``UsageError``. An error from the library (:class:`~sfmc_nb.errors.SfmcError`) is shown as a one-line
``UsageError`` (HTTP status, errorcode, message) while ``SfmcMagics.short_errors`` is on, and raised with
its traceback when it is off. Nothing shown or returned carries the client secret or a token.
"""

from __future__ import annotations

import argparse
import getpass
import html
import io
import json
import keyword
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.display import display
from IPython.utils.process import arg_split
from traitlets import Bool, Enum, Int, Unicode
from traitlets import validate as _validate_trait
from traitlets.config.configurable import Configurable

from . import client as _client
from .auth import ENV_NAMES, read_dotenv
from .errors import ApiError, ConfigurationError, SfmcError

__all__ = ["SfmcMagics", "AuthStatus", "JourneyInfo", "load_ipython_extension", "unload_ipython_extension"]

NOT_LOGGED_IN = "not logged in: run %sfmc_auth first (or %sfmc_auth --sandbox to try the built-in sandbox)"
SETUP_HINT = ("set SFMC_SUBDOMAIN (or SFMC_AUTH_BASE_URL), SFMC_CLIENT_ID and SFMC_CLIENT_SECRET in the "
              "environment or a .env file, or run %sfmc_auth --sandbox")
MAX_ERROR_CHARS = 600
MAX_LISTED = 20


def _usage_error(message: str, original: SfmcError | None = None) -> UsageError:
    """A plain ``UsageError`` (IPython prints exactly that class as one line, without a traceback; a
    subclass would get the full traceback), carrying the library error as ``.sfmc_error``, like jupysql."""
    err = UsageError(message)
    err.sfmc_error = original
    return err


class _HelpShown(Exception):
    """``-h`` printed the help; the magic returns ``None``."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises a one-line ``UsageError`` instead of exiting, and refuses abbreviations."""

    def __init__(self, name: str, **kwargs: Any):
        super().__init__(prog=name, allow_abbrev=False, **kwargs)

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see {self.prog.split()[0]} -h)")

    def exit(self, status: int = 0, message: str | None = None):
        if message:
            print(message, file=sys.stderr)
        raise _HelpShown()

    def print_help(self, file=None):  # always print to the current stdout (captured in notebooks)
        super().print_help(file or sys.stdout)


def _split(line: str, prog: str) -> list[str]:
    try:
        return arg_split(line or "", posix=os.name != "nt", strict=True)
    except ValueError as exc:
        raise UsageError(f"{prog}: cannot split the line ({exc}): check the quotes") from None


def _join(items, limit: int = MAX_LISTED) -> str:
    items = [str(i) for i in items]
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 3] + "..."


# --------------------------------------------------------------------------- secrets on the magic line

_SECRET_NAME = re.compile(r"secret|passw(or)?d|\bpwd\b|token|api[-_]?key|bearer|credential", re.I)
_SECRET_VALUE = re.compile(r"secret|passw(or)?d", re.I)
_TOKENISH = re.compile(r"[A-Za-z0-9+/=_\-.~!@#$%^&*]+")
_SAFE_VALUE_FLAGS = {"--client-id", "--subdomain", "--auth-base-url", "--account-id"}


def _looks_random(value: str) -> bool:
    """A long value mixing character classes, like a client secret or a token."""
    if len(value) < 16 or "://" in value or not _TOKENISH.fullmatch(value):
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return classes >= 3 or (len(value) >= 24 and classes >= 2 and bool(re.search(r"[0-9]", value)))


def _known_secrets() -> list[str]:
    found = [os.environ.get(ENV_NAMES["client_secret"], "")]
    try:
        found.append(read_dotenv(".env").get(ENV_NAMES["client_secret"], ""))
    except (OSError, UnicodeDecodeError):
        pass
    return [s for s in found if s and len(s) >= 4]


def _secret_on_line(tokens: list[str]) -> str | None:
    """Why the token list looks like it holds a secret, or None."""
    known = _known_secrets()
    flag_before: str | None = None
    for tok in tokens:
        name, eq, inline = tok.partition("=") if tok.startswith("-") else ("", "", "")
        if tok.startswith("-") and len(tok) > 1:
            if _SECRET_NAME.search(name):
                return f"{name} puts a secret on the magic line"
            flag_before = name if not eq else None
            values = [inline] if eq else []
            context = name
        else:
            values, context, flag_before = [tok], flag_before, None
            left, sep, _ = tok.partition("=")
            if sep and _SECRET_NAME.search(left):
                return f"'{left}=...' puts a secret on the magic line"
        for value in values:
            if any(s in value for s in known):
                return "the line contains the client secret"
            if _SECRET_VALUE.search(value) and context not in ("--auth-base-url",):
                return "a value on the line looks like a secret"
            if context not in _SAFE_VALUE_FLAGS and _looks_random(value):
                return "a value on the line looks like a secret or a token (long and random)"
    return None


def _can_prompt(shell: Any) -> bool:
    """Whether a hidden prompt can be answered: a kernel that allows stdin, or a terminal."""
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        return bool(getattr(kernel, "_allow_stdin", False))
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _prompt_secret(text: str) -> str | None:
    try:
        return getpass.getpass(text)
    except (StdinNotImplementedError, EOFError, OSError):
        return None
    except KeyboardInterrupt:
        raise UsageError("%sfmc_auth: login cancelled") from None


# --------------------------------------------------------------------------- result objects


@dataclass
class AuthStatus:
    """What ``%sfmc_auth --status`` shows: never the secret or the token."""

    logged_in: bool
    host: str | None = None
    account_id: int | None = None
    scopes: list[str] = field(default_factory=list)
    minutes_left: float | None = None
    sandbox: bool = False

    @classmethod
    def of(cls, conn: Any) -> AuthStatus:
        if conn is None or getattr(conn, "closed", False):
            return cls(False)
        return cls(True, conn.host, conn.credentials.account_id, list(conn.scopes), conn.minutes_left,
                   bool(conn.is_sandbox))

    def rows(self) -> list[tuple[str, str]]:
        left = "no token yet" if self.minutes_left is None else f"{self.minutes_left:.1f}"
        return [("host", str(self.host)), ("MID", "default" if self.account_id is None else str(self.account_id)),
                ("scopes", " ".join(self.scopes) or "-"), ("minutes left on the token", left),
                ("sandbox", "yes" if self.sandbox else "no")]

    def __repr__(self) -> str:
        if not self.logged_in:
            return "sfmc_nb: not logged in (run %sfmc_auth)"
        return "sfmc_nb connection\n" + "\n".join(f"  {k}: {v}" for k, v in self.rows())

    def _repr_pretty_(self, p, cycle):
        p.text(repr(self))

    def _repr_html_(self) -> str:
        if not self.logged_in:
            return '<div class="sfmc-auth-status"><b>sfmc_nb</b>: not logged in (run <code>%sfmc_auth</code>)</div>'
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in self.rows())
        return f'<div class="sfmc-auth-status"><b>sfmc_nb connection</b><table>{rows}</table></div>'


class JourneyInfo(dict):
    """One journey as ``%sfmc_journey`` shows it: a dict (``info["status"]``) with a text and HTML card.

    Keys: name, key, id, version, status, entryMode, eventKeys, currentPopulation, cumulativePopulation,
    entryFields (a DataFrame: eventKey, name, type, length, isPrimaryKey, isNullable), problems.
    """

    SUMMARY = ("name", "key", "id", "version", "status", "entryMode", "eventKeys", "currentPopulation",
               "cumulativePopulation")

    def _summary_rows(self) -> list[tuple[str, str]]:
        def fmt(v):
            return ", ".join(map(str, v)) or "-" if isinstance(v, list) else ("-" if v is None else str(v))
        return [(k, fmt(self.get(k))) for k in self.SUMMARY]

    def __repr__(self) -> str:
        lines = [f"Journey {self.get('name')!r}"] + [f"  {k}: {v}" for k, v in self._summary_rows()[1:]]
        fields = self.get("entryFields")
        if isinstance(fields, pd.DataFrame) and len(fields):
            lines.append("entry data extension columns:")
            lines.append(fields.to_string(index=False))
        lines.extend(f"note: {p}" for p in self.get("problems") or [])
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):
        p.text(repr(self))

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in self._summary_rows())
        out = [f'<div class="sfmc-journey"><b>Journey {html.escape(str(self.get("name")))}</b><table>{rows}</table>']
        fields = self.get("entryFields")
        if isinstance(fields, pd.DataFrame) and len(fields):
            out.append("<p>Entry data extension columns:</p>")
            out.append(_frame_html(fields))
        out.extend(f"<p>note: {html.escape(str(p))}</p>" for p in self.get("problems") or [])
        out.append("</div>")
        return "\n".join(out)


def _frame_html(frame: pd.DataFrame) -> str:
    try:
        from .widgets import frame_html
    except Exception:  # widgets missing or not importable: pandas' own table
        return frame.to_html(index=False, max_rows=60, notebook=False)
    return frame_html(frame, index=False)


# --------------------------------------------------------------------------- the magics


def _guard(fn):
    """Turn library errors into one-line UsageErrors (short_errors on), hide the help exit."""

    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except _HelpShown:
            return None
        except UsageError as exc:
            raise UsageError(self._scrub(str(exc))) from None
        except SfmcError as exc:
            if not self.short_errors:
                raise
            raise _usage_error(self._short(exc), exc) from None

    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@magics_class
class SfmcMagics(Magics, Configurable):
    """Magics for Marketing Cloud journey entry. Set defaults with ``%config SfmcMagics.<trait> = value``."""

    concurrency = Int(8, help="Batches in flight at once for %%journey_enter (1-32).").tag(config=True)
    progress = Bool(True, help="Show a live progress bar while %%journey_enter runs.").tag(config=True)
    display = Enum(["widget", "html", "text"], default_value="widget",
                   help="How %%journey_enter shows its result: widget panel, HTML table or text.").tag(config=True)
    short_errors = Bool(True, help="Show library errors as one line; False shows the full traceback."
                        ).tag(config=True)
    validate = Bool(True, help="Check the journey and entry schema before sending (%%journey_enter)."
                    ).tag(config=True)
    journal_dir = Unicode("", help="Folder for %%journey_enter journals ('' = no journal unless --journal)."
                          ).tag(config=True)

    @_validate_trait("concurrency")
    def _check_concurrency(self, proposal):
        if proposal["value"] < 1:
            raise ValueError("SfmcMagics.concurrency must be at least 1")
        return proposal["value"]

    def __init__(self, shell=None, **kwargs: Any):
        super().__init__(shell=shell, **kwargs)  # Magics appends self to shell.configurables (%config)
        self.last_result = None
        self._own_sandboxes: list[Any] = []   # connections whose sandbox %sfmc_auth started
        self._parsers = {
            "sfmc_auth": self._auth_parser(),
            "journey_enter": self._enter_parser(),
            "sfmc_journeys": self._journeys_parser(),
            "sfmc_journey": self._journey_parser(),
            "sfmc_membership": self._membership_parser(),
            "sfmc_exit": self._exit_parser(),
            "sfmc_batch_status": self._batch_status_parser(),
        }

    # -- parsers ---------------------------------------------------------------------------

    @staticmethod
    def _auth_parser() -> _Parser:
        p = _Parser("%sfmc_auth", description="Log in to Marketing Cloud (the secret comes from "
                    "SFMC_CLIENT_SECRET, .env or a hidden prompt: never from this line).")
        where = p.add_mutually_exclusive_group()
        where.add_argument("--subdomain", help="the tenant's 28-character subdomain (mc...)")
        where.add_argument("--auth-base-url", help="the auth base URL (https://<subdomain>.auth...)")
        p.add_argument("--client-id", help="the Installed Package's client id")
        p.add_argument("--account-id", help="the business unit MID")
        p.add_argument("--scope", help="space-separated scopes (quote them)")
        p.add_argument("--sandbox", action="store_true", help="start the built-in sandbox and log in to it")
        p.add_argument("--status", action="store_true", help="show the current connection")
        p.add_argument("--logout", action="store_true", help="close the current connection")
        return p

    @staticmethod
    def _enter_parser() -> _Parser:
        p = _Parser("%%journey_enter", description="Enter the contacts of the cell (CSV or JSON lines) or of "
                    "--from DF into the journey(s) of an entry event.")
        p.add_argument("result_var", nargs="?", help="variable that receives the EntryResult")
        p.add_argument("--event", required=True, help="the entry event definition key")
        p.add_argument("--contact-key", help="contact key column (default: SubscriberKey or ContactKey)")
        p.add_argument("--data", help="columns sent as entry data: COL,COL or 'all' (default: all others)")
        p.add_argument("--from", dest="source", metavar="DF", help="a DataFrame variable instead of the cell body")
        p.add_argument("--dry-run", action="store_true", help="check and build the batches, send nothing")
        p.add_argument("--concurrency", type=int, help="batches in flight (default: SfmcMagics.concurrency)")
        p.add_argument("--no-validate", action="store_true", help="skip the journey and schema checks")
        p.add_argument("--journal", help="JSON-lines journal file (resume a run that died)")
        return p

    @staticmethod
    def _journeys_parser() -> _Parser:
        p = _Parser("%sfmc_journeys", description="List the tenant's journeys (newest versions).")
        p.add_argument("--status", help="Draft, Published, Stopped, ...")
        p.add_argument("--name", help="text in the name or description")
        return p

    @staticmethod
    def _journey_parser() -> _Parser:
        p = _Parser("%sfmc_journey", description="One journey, its entry events and entry schema.")
        p.add_argument("journey", metavar="KEY_OR_ID")
        p.add_argument("--version", type=int)
        return p

    @staticmethod
    def _contacts_parser(prog: str, description: str) -> _Parser:
        """Contacts as KEY [KEY ...] or --from DF --contact-key COL (read by ``_keys_from``)."""
        p = _Parser(prog, description=description)
        p.add_argument("keys", nargs="*", metavar="KEY")
        p.add_argument("--from", dest="source", metavar="DF")
        p.add_argument("--contact-key", metavar="COL")
        return p

    @classmethod
    def _membership_parser(cls) -> _Parser:
        return cls._contacts_parser("%sfmc_membership", "Which journeys the contacts are in.")

    @classmethod
    def _exit_parser(cls) -> _Parser:
        p = cls._contacts_parser("%sfmc_exit", "Take contacts out of a journey (--status: follow the exit).")
        p.add_argument("--journey", required=True, metavar="JOURNEY_KEY")
        p.add_argument("--version", type=int, action="append", dest="versions", metavar="N",
                       help="only these versions (repeat the flag for more)")
        p.add_argument("--status", action="store_true", help="show where the exit requests stand")
        return p

    @staticmethod
    def _batch_status_parser() -> _Parser:
        p = _Parser("%sfmc_batch_status", description="What became of the members of one batch.")
        p.add_argument("request_id", metavar="REQUEST_ID")
        p.add_argument("--type", choices=["queued", "processed", "errored"])
        return p

    def _parse(self, name: str, line: str, intermixed: bool = False) -> argparse.Namespace:
        parser = self._parsers[name]
        argv = _split(line, parser.prog)
        if intermixed:
            return parser.parse_intermixed_args(argv)
        return parser.parse_args(argv)

    # -- helpers ---------------------------------------------------------------------------

    def _conn(self):
        conn = _client.default_connection(required=False)
        if conn is None or getattr(conn, "closed", False):
            raise UsageError(NOT_LOGGED_IN)
        return conn

    def _secrets(self) -> list[str]:
        values = _known_secrets()
        conn = _client.default_connection(required=False)
        for c in [conn, *self._own_sandboxes]:
            if c is None:
                continue
            try:
                values.append(c.credentials.client_secret.reveal())
                token = c.tokens.current
                if token is not None:
                    values.append(token.value.reveal())
            except AttributeError:
                continue
        return [v for v in values if v and len(v) >= 4]

    def _scrub(self, text: str) -> str:
        for secret in self._secrets():
            text = text.replace(secret, "********")
        return text

    def _short(self, exc: SfmcError) -> str:
        text = str(exc) if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
        return self._scrub(_one_line(text))

    def _frame_var(self, name: str, prog: str) -> pd.DataFrame:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise UsageError(f"{prog}: --from needs a variable name, got {name!r}")
        if name not in self.shell.user_ns:
            raise UsageError(f"{prog}: no variable named {name!r} in the notebook")
        value = self.shell.user_ns[name]
        if not isinstance(value, pd.DataFrame):
            raise UsageError(f"{prog}: {name!r} is a {type(value).__name__}, not a pandas DataFrame")
        return value

    def _keys_from(self, args: argparse.Namespace, prog: str) -> list[str]:
        """Contact keys from the line or from ``--from DF --contact-key COL``."""
        if args.source and args.keys:
            raise UsageError(f"{prog}: give contact keys on the line or --from DF, not both")
        if args.source:
            df = self._frame_var(args.source, prog)
            col = args.contact_key
            if col is None:
                from ._rules import default_contact_key

                col = default_contact_key(df.columns)
                if col is None:
                    raise UsageError(f"{prog}: name the key column with --contact-key; columns are "
                                     f"{_join(df.columns)}")
            if col not in df.columns:
                raise UsageError(f"{prog}: no column {col!r} in {args.source}; columns are {_join(df.columns)}")
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

    # -- %sfmc_auth ------------------------------------------------------------------------

    @line_magic("sfmc_auth")
    @_guard
    def sfmc_auth(self, line: str = ""):
        """Log in: ``%sfmc_auth [--subdomain S | --auth-base-url URL] [--client-id ID] [--account-id MID]
        [--scope S] [--sandbox] [--status] [--logout]``. Returns the Connection."""
        tokens = _split(line, "%sfmc_auth")
        reason = _secret_on_line(tokens)
        if reason:
            raise UsageError(f"%sfmc_auth refused: {reason}. The magic line is saved in the notebook, so a secret "
                             "never goes there: set SFMC_CLIENT_SECRET (environment or .env) or let "
                             "%sfmc_auth prompt for it")
        parser = self._parsers["sfmc_auth"]
        try:
            args = parser.parse_args(tokens)
        except UsageError as exc:  # do not echo values: one may be a secret typed by mistake
            text = str(exc)
            for tok in tokens:
                if not tok.startswith("-") and len(tok) > 2:
                    text = text.replace(tok, "<value>")
            raise UsageError(text) from None

        if args.status or args.logout:
            given = [f for f in ("subdomain", "auth_base_url", "client_id", "account_id", "scope") if getattr(args, f)]
            if given or args.sandbox or (args.status and args.logout):
                raise UsageError("%sfmc_auth: --status and --logout take no other flags")
            return self._status() if args.status else self._logout()
        if args.sandbox and (args.subdomain or args.auth_base_url):
            raise UsageError("%sfmc_auth: --sandbox starts the local sandbox; it cannot be combined with "
                             "--subdomain or --auth-base-url")
        prompt = _prompt_secret if _can_prompt(self.shell) else None
        try:
            conn = _client.connect(subdomain=args.subdomain, auth_base_url=args.auth_base_url,
                                   client_id=args.client_id, account_id=args.account_id, scope=args.scope,
                                   sandbox=True if args.sandbox else None, prompt=prompt)
        except ConfigurationError as exc:
            text = _one_line(str(exc))
            if "SFMC_SUBDOMAIN" not in text or "SFMC_CLIENT_SECRET" not in text:
                text += f"; {SETUP_HINT}"
            raise UsageError(f"%sfmc_auth: {text}") from None
        for previous in self._own_sandboxes:  # a new login replaces the sandbox an earlier one started
            previous.close()
            previous.sandbox.stop()
        self._own_sandboxes = [conn] if conn.sandbox is not None else []
        return conn

    def _status(self) -> AuthStatus:
        return AuthStatus.of(_client.default_connection(required=False))

    def _logout(self) -> None:
        conn = _client.default_connection(required=False)
        if conn is None:
            print("sfmc_nb: not logged in")
            return None
        conn.close()
        _client.set_default_connection(None)
        stopped = ""
        if any(c is conn for c in self._own_sandboxes):
            self._own_sandboxes = [c for c in self._own_sandboxes if c is not conn]
            conn.sandbox.stop()
            stopped = " and stopped the sandbox %sfmc_auth started"
        print(f"sfmc_nb: logged out of {conn.host}{stopped}")
        return None

    # -- %%journey_enter -------------------------------------------------------------------

    @line_cell_magic("journey_enter")
    @no_var_expand
    @_guard
    def journey_enter(self, line: str = "", cell: str | None = None):
        """Enter contacts into a journey. ``%%journey_enter [result_var] --event KEY [--contact-key COL]
        [--data COL,COL|all] [--from DF] [--dry-run] [--concurrency N] [--no-validate] [--journal PATH]``

        The cell body holds CSV (every column read as text) or JSON lines; or ``--from DF`` names a
        DataFrame (the line form ``%journey_enter --from df --event KEY`` works too). The result is
        displayed once and stored in ``result_var``; the magic returns None.
        """
        prog = "%%journey_enter" if cell is not None else "%journey_enter"
        args = self._parse("journey_enter", line)
        var = args.result_var
        if var is not None and (not var.isidentifier() or keyword.iskeyword(var)):
            raise UsageError(f"{prog}: {var!r} is not a valid variable name for the result")
        if not args.event.strip():
            raise UsageError(f"{prog}: --event needs the entry event definition key")
        body = cell if cell is not None else ""
        if args.source:
            if body.strip():
                raise UsageError(f"{prog}: give the contacts in the cell body or with --from {args.source}, not both")
            df = self._frame_var(args.source, prog)
        else:
            if not body.strip():
                raise UsageError(f"{prog}: no contacts: put CSV or JSON lines in the cell body, or use --from DF")
            df = _read_body(body, prog)
        if len(df) == 0:
            raise UsageError(f"{prog}: the input has no rows")

        from . import engine as _entry
        from ._rules import default_contact_key

        contact_key = args.contact_key
        if contact_key is None:
            contact_key = default_contact_key(df.columns)
            if contact_key is None:
                raise UsageError(f"{prog}: name the contact key column with --contact-key; columns are "
                                 f"{_join(df.columns)}")
        elif contact_key not in df.columns:
            raise UsageError(f"{prog}: no column {contact_key!r}; columns are {_join(df.columns)}")
        data: Any = "all"
        if args.data is not None and args.data.strip().lower() != "all":
            data = [c.strip() for c in args.data.split(",") if c.strip()]
            missing = [c for c in data if c not in df.columns]
            if missing:
                raise UsageError(f"{prog}: --data names missing columns {_join(missing)}; columns are "
                                 f"{_join(df.columns)}")
            data = [c for c in data if c != contact_key]
        concurrency = self.concurrency if args.concurrency is None else args.concurrency
        if concurrency < 1:
            raise UsageError(f"{prog}: --concurrency must be at least 1")
        conn = self._conn()
        journal = args.journal
        if journal is None and self.journal_dir and not args.dry_run:
            folder = Path(self.journal_dir).expanduser()
            folder.mkdir(parents=True, exist_ok=True)
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", args.event)[:60]
            journal = str(folder / f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")

        result = _entry.enter_journey(df, args.event, contact_key=contact_key, data=data, connection=conn,
                                      concurrency=concurrency, dry_run=args.dry_run,
                                      validate=self.validate and not args.no_validate, journal=journal,
                                      progress=self._progress())
        self.last_result = result
        if var is not None:
            self.shell.user_ns[var] = result
        self._show(result)
        return None

    def _progress(self):
        if not self.progress:
            return None
        try:
            from .widgets import LiveProgress
        except Exception:  # no ipywidgets (or the widgets module is broken): run without a bar
            return None
        return LiveProgress("text" if self.display == "text" else "auto")

    def _show(self, result) -> None:
        mode = self.display
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

    # -- exploration -----------------------------------------------------------------------

    @line_magic("sfmc_journeys")
    @_guard
    def sfmc_journeys(self, line: str = ""):
        """``%sfmc_journeys [--status S] [--name TEXT]``: a DataFrame of the tenant's journeys."""
        args = self._parse("sfmc_journeys", line)
        conn = self._conn()
        journeys = conn.journeys(status=args.status, name=args.name)
        rows = [{"name": j.name, "key": j.key, "version": j.version, "status": j.status,
                 "entryMode": j.entry_mode, "eventKeys": list(j.event_keys),
                 "currentPopulation": (j.stats or {}).get("currentPopulation"),
                 "cumulativePopulation": (j.stats or {}).get("cumulativePopulation"), "id": j.id}
                for j in journeys]
        frame = pd.DataFrame(rows, columns=["name", "key", "version", "status", "entryMode", "eventKeys",
                                            "currentPopulation", "cumulativePopulation", "id"])
        return frame.astype({"version": "Int64", "currentPopulation": "Int64", "cumulativePopulation": "Int64"})

    @line_magic("sfmc_journey")
    @_guard
    def sfmc_journey(self, line: str = ""):
        """``%sfmc_journey KEY_OR_ID [--version N]``: status, entry events, entry schema, populations."""
        args = self._parse("sfmc_journey", line)
        conn = self._conn()
        j = conn.journey(args.journey, version=args.version)
        stats = j.stats or {}
        info = JourneyInfo(name=j.name, key=j.key, id=j.id, version=j.version, status=j.status,
                           entryMode=j.entry_mode, eventKeys=list(j.event_keys),
                           currentPopulation=stats.get("currentPopulation"),
                           cumulativePopulation=stats.get("cumulativePopulation"))
        rows, problems = [], []
        for key in j.event_keys:
            try:
                fields = conn.entry_fields(key)
            except ApiError as exc:
                problems.append(f"entry schema of {key!r} not readable: {_one_line(str(exc))}")
                continue
            rows.extend({"eventKey": key, "name": f.name, "type": f.type, "length": f.length,
                         "isPrimaryKey": f.is_primary_key, "isNullable": f.is_nullable} for f in fields)
        if not j.event_keys:
            problems.append("the journey has no API entry event")
        info["entryFields"] = pd.DataFrame(rows, columns=["eventKey", "name", "type", "length", "isPrimaryKey",
                                                          "isNullable"]).astype({"length": "Int64"})
        info["problems"] = problems
        return info

    @line_magic("sfmc_membership")
    @_guard
    def sfmc_membership(self, line: str = ""):
        """``%sfmc_membership KEY [KEY ...]`` or ``--from DF [--contact-key COL]``: which journeys they are in."""
        args = self._parse("sfmc_membership", line, intermixed=True)
        keys = self._keys_from(args, "%sfmc_membership")
        conn = self._conn()
        found = conn.contact_membership(keys)
        frame = pd.DataFrame([{"contactKey": m.get("contactKey"), "definitionKey": m.get("definitionKey"),
                               "version": m.get("version")} for m in found.memberships],
                             columns=["contactKey", "definitionKey", "version"]).astype({"version": "Int64"})
        frame.attrs["not_found"] = list(found.not_found)
        if found.not_found:
            print(f"{_count(len(found.not_found), 'contact')} not found: {_join(found.not_found)}")
        return frame

    @line_magic("sfmc_exit")
    @_guard
    def sfmc_exit(self, line: str = ""):
        """``%sfmc_exit --journey KEY CONTACT [CONTACT ...]`` (or ``--from DF``): take contacts out of a journey.
        ``--status``: where the exit requests stand. ``--version N`` (repeatable) limits the versions."""
        args = self._parse("sfmc_exit", line, intermixed=True)
        keys = self._keys_from(args, "%sfmc_exit")
        conn = self._conn()
        columns = ["contactKey", "definitionKey", "version", "message"]
        if args.status:
            items = conn.contact_exit_status(keys, args.journey, versions=args.versions)
            columns = columns + ["definitionInstanceId"]
        else:
            items = conn.contact_exit(keys, args.journey, versions=args.versions)
        rows = []
        for item in items:
            if not isinstance(item, dict):
                rows.append({"message": str(item)})
                continue
            base = {"contactKey": item.get("contactKey", item.get("ContactKey")),
                    "definitionKey": item.get("definitionKey", item.get("DefinitionKey"))}
            statuses = item.get("status") or []
            if not isinstance(statuses, list) or not statuses:
                rows.append({**base, "message": item.get("message") or (None if not statuses else str(statuses))})
                continue
            for st in statuses:
                st = st if isinstance(st, dict) else {"message": str(st)}
                rows.append({**base, "version": st.get("version"), "message": st.get("message"),
                             "definitionInstanceId": st.get("definitionInstanceId")})
        frame = pd.DataFrame(rows, columns=columns).astype({"version": "Int64"})
        if not args.status and frame.empty:
            print(f"exit requested for {_count(len(keys), 'contact')} from {args.journey!r}: all accepted")
        return frame

    @line_magic("sfmc_batch_status")
    @_guard
    def sfmc_batch_status(self, line: str = ""):
        """``%sfmc_batch_status REQUEST_ID [--type queued|processed|errored]``: the batch's status items."""
        args = self._parse("sfmc_batch_status", line)
        conn = self._conn()
        items = conn.batch_status(request_id=args.request_id, type=args.type)
        frame = pd.json_normalize(items) if items else pd.DataFrame()
        if frame.empty:
            print(f"no status items for request {args.request_id!r} (yet)")
        return frame


# --------------------------------------------------------------------------- the cell body


def _read_body(body: str, prog: str) -> pd.DataFrame:
    """CSV (every column as text) or JSON lines (first non-blank line starts with ``{``)."""
    first = next(line.strip() for line in body.splitlines() if line.strip())
    if first.startswith("{"):
        rows = []
        for n, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{prog}: line {n} of the cell is not valid JSON ({exc.msg}); JSON lines need "
                                 "one object per line") from None
            if not isinstance(row, dict):
                raise UsageError(f"{prog}: line {n} of the cell is not a JSON object")
            rows.append(row)
        return pd.DataFrame.from_records(rows)
    if first.startswith("["):
        try:
            rows = json.loads(body)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{prog}: the cell is not valid JSON ({exc.msg})") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise UsageError(f"{prog}: a JSON cell body must be a list of objects (or one object per line)")
        return pd.DataFrame.from_records(rows)
    try:
        frame = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False, na_values=[""],
                            skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise UsageError(f"{prog}: the cell is not valid CSV ({_one_line(str(exc))})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(set(frame.columns)) != len(frame.columns):
        raise UsageError(f"{prog}: the CSV header repeats a column name: {_join(frame.columns)}")
    return frame


# --------------------------------------------------------------------------- extension hooks

_MAGIC_NAMES = {"line": ["sfmc_auth", "journey_enter", "sfmc_journeys", "sfmc_journey", "sfmc_membership",
                         "sfmc_exit", "sfmc_batch_status"],
                "cell": ["journey_enter"]}


def load_ipython_extension(ip) -> None:
    """``%load_ext sfmc_nb``: register :class:`SfmcMagics` and make it configurable with ``%config``."""
    for existing in list(getattr(ip, "configurables", [])):
        if isinstance(existing, SfmcMagics):  # loaded twice: keep one
            return
    magics = SfmcMagics(ip)  # appends itself to ip.configurables
    if not any(c is magics for c in ip.configurables):
        ip.configurables.append(magics)
    ip.register_magics(magics)


def unload_ipython_extension(ip) -> None:
    """``%unload_ext sfmc_nb``: remove the magics (connections and sandboxes are left as they are)."""
    ip.configurables[:] = [c for c in ip.configurables if not isinstance(c, SfmcMagics)]
    manager = ip.magics_manager
    for kind, names in _MAGIC_NAMES.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop("SfmcMagics", None)
