"""What every magics class shares: the settings object, the current connection, DataFrames named on the line."""

from __future__ import annotations

import keyword
from typing import Any

import pandas as pd
from IPython.core.error import UsageError
from IPython.core.magic import Magics

from .. import client as _client
from ._config import SfmcMagics

__all__ = ["NOT_LOGGED_IN", "SfmcMagicsBase"]

NOT_LOGGED_IN = "not logged in: run %sfmc_auth first (or %sfmc_auth --sandbox to try the built-in sandbox)"


class SfmcMagicsBase(Magics):
    """A magics class that reads its defaults from the one shared :class:`SfmcMagics` (``settings``)."""

    shell: Any  # the InteractiveShell (always given here)

    def __init__(self, shell: Any, settings: SfmcMagics):
        super().__init__(shell=shell)
        self.settings = settings

    def connection(self) -> Any:
        """The default connection, or a ``UsageError`` that says how to log in."""
        conn = _client.default_connection(required=False)
        if conn is None or getattr(conn, "closed", False):
            raise UsageError(NOT_LOGGED_IN)
        return conn

    def frame_var(self, name: str, prog: str) -> pd.DataFrame:
        """The notebook's DataFrame called ``name`` (``--from DF``)."""
        if not name.isidentifier() or keyword.iskeyword(name):
            raise UsageError(f"{prog}: --from needs a variable name, got {name!r}")
        if name not in self.shell.user_ns:
            raise UsageError(f"{prog}: no variable named {name!r} in the notebook")
        value = self.shell.user_ns[name]
        if not isinstance(value, pd.DataFrame):
            raise UsageError(f"{prog}: {name!r} is a {type(value).__name__}, not a pandas DataFrame")
        return value
