"""Every option of ``enter_journey`` checked before anything happens: no request, no journal line.

Each bad value raises one :class:`ValidationError` naming the option, what it got and what it takes, so a
typo never surfaces as a ``ZeroDivisionError`` halfway through a run, or after the pre-flight requests.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._private import FILE_MODE, make_private_folders
from .._rules import DEFAULT_CONCURRENCY, check_concurrency
from ..batching import DUPLICATES_OPTIONS, FLOAT_KEYS_OPTIONS, NA_OPTIONS, check_option, check_size
from ..client import Connection
from ..errors import ValidationError
from .context import DEFAULT_LANDING_HORIZON

__all__ = ["CheckedOptions", "check_options", "check_journal_path", "check_landing_horizon"]


class CheckedOptions(NamedTuple):
    """The options a run uses, in the types it uses them."""

    concurrency: int
    batch_size: int
    max_seconds: float
    journal: Path | None = None   # the journal's path as checked (``~`` expanded): the one the run uses


def check_options(*, connection: Any, concurrency: Any, dry_run: Any, validate: Any, journal: Any, progress: Any,
                  batch_size: Any, na: Any, duplicates: Any, float_keys: Any, max_seconds: Any) -> CheckedOptions:
    """Check every option of a run; raise a :class:`ValidationError` for the first bad one."""
    if connection is not None and not isinstance(connection, Connection):
        raise ValidationError(f"connection must be a sfmc_nb.Connection (from sfmc_nb.connect()) or None; got "
                              f"{type(connection).__name__}")
    workers = check_concurrency(DEFAULT_CONCURRENCY if concurrency is None else concurrency)
    for name, value in (("dry_run", dry_run), ("validate", validate)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValidationError(f"{name} must be True or False; got {value!r}")
    journal_path = check_journal_path(journal) if journal is not None else None
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise ValidationError(f"progress must be True, False, None or a callable receiving a ProgressEvent; got "
                              f"{progress!r}")
    size = check_size(batch_size, "batch_size")
    check_option("na", na, NA_OPTIONS)
    check_option("duplicates", duplicates, DUPLICATES_OPTIONS)
    check_option("float_keys", float_keys, FLOAT_KEYS_OPTIONS)
    return CheckedOptions(workers, size, _check_seconds(max_seconds), journal_path)


def check_landing_horizon(value: Any) -> float:
    """``landing_horizon=`` in seconds (None: the default, Marketing Cloud's timeout plus the status lag)."""
    if value is None:
        return DEFAULT_LANDING_HORIZON
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValidationError(f"landing_horizon must be a number of seconds >= 0, got {value!r}")
    return float(value)


def check_journal_path(journal: Any) -> Path:
    """``journal=`` resolved once (``~`` expanded) into the path the run uses, and tried: the file is opened for
    appending (made and removed again when new, with the folders made for it), so a path the system refuses (a
    NUL in it, a name too long, a folder no file can be made in) is refused here, before any request."""
    if not isinstance(journal, (str, os.PathLike)):
        raise ValidationError(f"journal must be a file path (str or pathlib.Path); got {type(journal).__name__}")
    text = os.fspath(journal)
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("journal is empty: name a file, e.g. journal='welcome-run.jsonl'")
    if "\0" in text:
        raise ValidationError(f"journal {text!r} cannot be written (it holds a NUL character): name a file, e.g. "
                              "journal='welcome-run.jsonl'")
    try:
        path = Path(text).expanduser()
        _try_journal_path(path, text)
    except ValidationError:
        raise
    except (OSError, ValueError, RuntimeError) as exc:   # RuntimeError: '~' with no home folder to expand it to
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValidationError(f"journal {text!r} cannot be written ({why}): name a file in a folder you can write, "
                              "e.g. journal='welcome-run.jsonl'") from None
    return path


def _try_journal_path(path: Path, text: str) -> None:
    if path.exists() and not path.is_file():
        raise ValidationError(f"journal {text!r} is a folder (or not a regular file): name a file in it, e.g. "
                              f"journal='{(path / 'run.jsonl').as_posix()}'")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValidationError(f"journal {text!r} cannot be written: {str(parent)!r} is a file, not a folder")
            break
    made = make_private_folders(path.parent)
    try:
        if path.exists():
            os.close(os.open(path, os.O_RDWR | os.O_APPEND))
        else:
            os.close(os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL, FILE_MODE))
            os.unlink(path)
    finally:
        for folder in reversed(made):   # the run makes them again when it starts its journal
            with contextlib.suppress(OSError):
                folder.rmdir()


def _check_seconds(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError(f"max_seconds must be a number of seconds above 0; got {value!r}")
    seconds = float(value)
    if math.isnan(seconds) or seconds <= 0:
        raise ValidationError(f"max_seconds must be a number of seconds above 0; got {value!r}")
    return seconds
