"""``%sfmc_auth``: log in, show the connection, log out.

The client secret never comes from the magic line (the line is saved in the notebook): it comes from
``SFMC_CLIENT_SECRET``, a ``.env`` file or a hidden prompt, and a line that looks like it holds a secret is
refused before anything is parsed or echoed.
"""

from __future__ import annotations

import getpass
import re
import sys
from typing import Any

from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.magic import line_magic, magics_class

from .. import client as _client
from .._rules import one_line
from ..errors import ConfigurationError
from ._base import SfmcMagicsBase
from ._display import AuthStatus
from ._errors import MAX_ERROR_CHARS, guard, known_secrets
from ._parsing import MagicParser, split_line

__all__ = ["AuthMagics"]

SETUP_HINT = ("set SFMC_SUBDOMAIN (or SFMC_AUTH_BASE_URL), SFMC_CLIENT_ID and SFMC_CLIENT_SECRET in the "
              "environment or a .env file, or run %sfmc_auth --sandbox")
REFUSED = ("The magic line is saved in the notebook, so a secret never goes there: set SFMC_CLIENT_SECRET "
           "(environment or .env) or let %sfmc_auth prompt for it")


def _auth_parser() -> MagicParser:
    p = MagicParser("%sfmc_auth", description="Log in to Marketing Cloud (the secret comes from "
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


def _secret_on_line(tokens: list[str]) -> str | None:
    """Why the token list looks like it holds a secret, or None."""
    known = known_secrets()
    flag_before: str | None = None
    context: str | None
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


# --------------------------------------------------------------------------- the magic


@magics_class
class AuthMagics(SfmcMagicsBase):
    """``%sfmc_auth``: the one login of the notebook (the default connection every other magic uses)."""

    def __init__(self, shell: Any, settings: Any):
        super().__init__(shell, settings)
        self._parser = _auth_parser()

    @line_magic("sfmc_auth")
    @guard
    def sfmc_auth(self, line: str = ""):
        """Log in: ``%sfmc_auth [--subdomain S | --auth-base-url URL] [--client-id ID] [--account-id MID]
        [--scope S] [--sandbox] [--status] [--logout]``. Returns the Connection."""
        tokens = split_line(line, "%sfmc_auth")
        reason = _secret_on_line(tokens)
        if reason:
            raise UsageError(f"%sfmc_auth refused: {reason}. {REFUSED}")
        try:
            args = self._parser.parse_args(tokens)
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
        return self._login(args)

    def _login(self, args: Any) -> Any:
        prompt = _prompt_secret if _can_prompt(self.shell) else None
        try:
            conn = _client.connect(subdomain=args.subdomain, auth_base_url=args.auth_base_url,
                                   client_id=args.client_id, account_id=args.account_id, scope=args.scope,
                                   sandbox=True if args.sandbox else None, prompt=prompt)
        except ConfigurationError as exc:
            text = one_line(str(exc), MAX_ERROR_CHARS)
            if "SFMC_SUBDOMAIN" not in text or "SFMC_CLIENT_SECRET" not in text:
                text += f"; {SETUP_HINT}"
            raise UsageError(f"%sfmc_auth: {text}") from None
        for previous in self.settings.own_sandboxes:  # a new login replaces the sandbox an earlier one started
            previous.close()
            previous.sandbox.stop()
        self.settings.own_sandboxes = [conn] if conn.sandbox is not None else []
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
        own = self.settings.own_sandboxes
        if any(c is conn for c in own):
            self.settings.own_sandboxes = [c for c in own if c is not conn]
            conn.sandbox.stop()
            stopped = " and stopped the sandbox %sfmc_auth started"
        print(f"sfmc_nb: logged out of {conn.host}{stopped}")
        return None
