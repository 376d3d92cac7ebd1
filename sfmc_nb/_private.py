"""Files and folders that hold contact data: private to the user (files 0600, folders 0700), and temporary
folders that go when their process is gone, however it ended.

A temporary folder is named ``<prefix><pid>-<random>`` and holds a file ``lock`` that its process keeps locked
(``fcntl.flock``) while it lives; the operating system lets go of the lock when the process dies, even by
``kill -9``. Making a new folder first removes the folders of the same prefix whose lock can be taken: their
process is gone. A lock is only ever seen already taken (it is locked under another name, then renamed), so a
folder being made by a living process is never taken for a dead one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:   # Windows: no flock, so folders of dead processes are not swept there
    fcntl = None  # type: ignore[assignment]

__all__ = ["FILE_MODE", "FOLDER_MODE", "private_opener", "make_private_folders", "PrivateTempFolder", "remove_stale"]

FILE_MODE = 0o600
FOLDER_MODE = 0o700
_LOCK = "lock"


def private_opener(path: str, flags: int) -> int:
    """``open(..., opener=private_opener)``: a file it creates is readable and writable by its owner only."""
    return os.open(path, flags, FILE_MODE)


def make_private_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents, each 0700; returns those made (outermost first)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    made = []
    for path in reversed(missing):
        try:
            path.mkdir(mode=FOLDER_MODE)
        except FileExistsError:   # made meanwhile by someone else
            continue
        made.append(path)
    return made


class PrivateTempFolder:
    """A 0700 folder under ``directory`` (default ``TMPDIR``) kept locked by this process until :meth:`remove`."""

    def __init__(self, prefix: str, directory: str | os.PathLike[str] | None = None):
        parent = os.fspath(directory) if directory is not None else tempfile.gettempdir()
        remove_stale(parent, prefix)
        self.path = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent)   # mkdtemp makes it 0700
        self._fd: int | None = None
        if fcntl is None:
            return
        staged = os.path.join(self.path, f".{_LOCK}")
        self._fd = os.open(staged, os.O_RDWR | os.O_CREAT, FILE_MODE)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.rename(staged, os.path.join(self.path, _LOCK))   # seen by others only once it is locked

    def remove(self) -> None:
        """Delete the folder and let go of its lock (called once, from a finalizer)."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def remove_stale(parent: str, prefix: str) -> list[str]:
    """Remove the folders ``<prefix><pid>-*`` in ``parent`` whose process is gone; returns their paths."""
    removed: list[str] = []
    if fcntl is None:
        return removed
    try:
        names = [n for n in os.listdir(parent) if n.startswith(prefix)]
    except OSError:
        return removed
    for name in names:
        folder = os.path.join(parent, name)
        pid = name[len(prefix):].partition("-")[0]
        if not pid.isdigit():
            continue   # not a folder of this scheme
        if _owner_gone(folder, int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _owner_gone(folder: str, pid: int) -> bool:
    """True when no process holds the folder's lock (with no lock yet: when process ``pid`` no longer runs)."""
    try:
        fd = os.open(os.path.join(folder, _LOCK), os.O_RDWR)
    except FileNotFoundError:
        return not _alive(pid)   # made a moment ago, or its process died before locking it
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False   # locked: its process is alive
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)   # closing lets go of a lock taken here: the folder is removed next anyway
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True   # another user's process
    return True
