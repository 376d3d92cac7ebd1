"""The argument parser every magic uses: argparse that never exits and never guesses.

A bad flag is a one-line ``UsageError`` (shown by IPython without a traceback); abbreviations are refused
(``--dry`` is not ``--dry-run``: a typo must not pick a flag by itself); ``-h`` prints the help to the cell's
output and the magic returns ``None``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.utils.process import arg_split

from ._errors import HelpShown

__all__ = ["MagicParser", "split_line"]


class MagicParser(argparse.ArgumentParser):
    """argparse that raises a one-line ``UsageError`` instead of exiting, and refuses abbreviations."""

    def __init__(self, name: str, **kwargs: Any):
        super().__init__(prog=name, allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog.split()[0]} -h)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            print(message, file=sys.stderr)
        raise HelpShown()

    def print_help(self, file: Any = None) -> None:  # always print to the current stdout (captured in notebooks)
        super().print_help(file or sys.stdout)

    def parse_line(self, line: str, intermixed: bool = False) -> argparse.Namespace:
        """Split the magic line as a shell would and parse it (``intermixed``: positionals between flags)."""
        argv = split_line(line, self.prog)
        return self.parse_intermixed_args(argv) if intermixed else self.parse_args(argv)


def split_line(line: str, prog: str) -> list[str]:
    """The magic line as a list of words (shell quoting rules); unbalanced quotes are a ``UsageError``."""
    try:
        return arg_split(line or "", posix=os.name != "nt", strict=True)
    except ValueError as exc:
        raise UsageError(f"{prog}: cannot split the line ({exc}): check the quotes") from None
