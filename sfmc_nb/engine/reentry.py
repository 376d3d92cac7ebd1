"""No contact entered twice by running the same cell again: each run remembers what it entered, in this process.

Every live run records, per connection target (auth URL and client id) and event key, the 8-byte digests of the
contact keys it entered (rows ``queued``, or ``unknown``: sent, their answer lost), sorted: 8 bytes per such contact,
kept for the life of the process (the kernel). A later run for the same target and event key whose contacts
overlap any earlier run's is refused before anything is sent (:class:`~sfmc_nb.errors.AlreadyEnteredError`), naming
how many of its contacts were entered, when, and how to go on. ``again=True`` enters them again on purpose; a run
with the journal of an earlier run (a resume) is not refused for what the runs with that journal entered: the
journal already keeps it from entering a contact twice. Dry runs are never refused and never recorded; a stream is
checked chunk by chunk (its first chunk refuses the run; a later chunk skips the rows already entered, with a
note); a ``retry()`` adds what it entered to its run's record. Two different keys share a digest with odds of about
n^2 / 2^65 (negligible below billions of keys).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from .._rowstore import CodeColumn, KeyColumn
from .._rules import plural
from ..batching import PreparedRows
from ..client import Connection
from ..errors import AlreadyEnteredError, ValidationError
from ..results import EntryResult

__all__ = ["EntryGuard", "key_digests", "forget"]

ENTERED = ("queued", "unknown")
"""Statuses whose contacts count as entered: queued, or sent with their answer lost."""


@dataclass
class _Run:
    """What one earlier run entered: its contacts' digests (sorted, unique) and when it started."""

    started: float
    journal: str | None
    digests: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    seen_counts: tuple[int, int] = (-1, -1)   # (queued, unknown) when the digests were last taken


_lock = threading.Lock()
_runs: dict[tuple[Any, ...], list[_Run]] = {}


def key_digests(keys: Any) -> np.ndarray:
    """An 8-byte digest (``uint64``) per contact key, hashed in C (pandas): about 0.15 s a million keys."""
    return pd.util.hash_array(np.asarray(keys, dtype=object), categorize=False)


def forget() -> None:
    """Forget every run this process recorded (a fresh kernel's state; the test suite starts each test so)."""
    with _lock:
        _runs.clear()


def _target(conn: Connection) -> tuple[Any, ...]:
    """Who entries go to: the auth URL and client id, however the connection was made. Not the MID: no MID means
    the package's default business unit, which may be the one a MID names; refusing with the way out is better
    than entering a business unit twice unnoticed (a sandbox started again on the same port counts as the same)."""
    creds = conn.credentials
    return creds.auth_base_url.rstrip("/"), creds.client_id


class EntryGuard:
    """The re-entry check of one run: :meth:`refuse` (or :meth:`screen`, per chunk of a stream) before anything is
    sent, :meth:`record` at its end (see the module)."""

    def __init__(self, conn: Connection, event_key: str, *, again: bool, journal: str | os.PathLike[str] | None,
                 dry_run: bool):
        if not isinstance(again, bool):
            raise ValidationError(f"again must be True or False, got {again!r}")
        self.key = (_target(conn), event_key)
        self.event_key = event_key
        self.active = not dry_run
        self.run = _Run(time.time(), None if journal is None else os.path.abspath(os.fspath(journal)))
        with _lock:
            earlier = [] if again or dry_run else list(_runs.get(self.key, ()))
        self.earlier = [r for r in earlier if self.run.journal is None or r.journal != self.run.journal]
        self._checked: tuple[int, np.ndarray] | None = None   # (rows to send, their digests) of a checked DataFrame
        self._chunks: list[np.ndarray] = []   # digests of what each chunk of a stream entered, until record()

    def refuse(self, prepared: PreparedRows, scope: str = "") -> None:
        """Raise :class:`AlreadyEnteredError` when a contact to send was entered by an earlier run; nothing is sent."""
        if not self.active or not self.earlier:
            return
        digests = _sorted_unique(_sendable_digests(prepared))
        if not scope:   # a whole DataFrame: its record reuses these when every row to send is entered
            self._checked = (len(prepared.sendable_positions), digests)
        hit = np.zeros(len(digests), dtype=bool)
        latest, runs = None, 0
        for run in self.earlier:
            found = _member(digests, run.digests)
            if found.any():
                hit |= found
                runs += 1
                latest = run if latest is None or run.started > latest.started else latest
        if latest is None:
            return
        entered, total = int(hit.sum()), len(digests)
        by = "a run of this session at" if runs == 1 else f"{runs} runs of this session, the latest at"
        raise AlreadyEnteredError(
            f"nothing sent: {_how_many(entered, total, scope)} already entered (queued, or sent "
            f"with the answer lost) into event {self.event_key!r} by {by} {_when(latest.started)}. "
            "To enter them again on purpose pass again=True (%%journey_enter: --again); to finish a run that "
            "stopped, run it with its journal (it enters no contact twice); or leave these contacts out.",
            entered=entered, total=total, started=latest.started)

    def screen(self, prepared: PreparedRows, chunk: int) -> list[str]:
        """A stream's chunk: the first refuses the run as :meth:`refuse` does; in a later one (its earlier chunks
        are entered), rows whose contact an earlier run entered are ``skipped`` with the reason, never sent.
        Returns the note for the chunk's result (none when no row was skipped)."""
        if chunk == 0 or not self.active or not self.earlier:
            self.refuse(prepared, " in the input's first chunk")
            return []
        digests = _sendable_digests(prepared)
        hit = np.zeros(len(digests), dtype=bool)
        for run in self.earlier:
            hit |= _member(digests, run.digests)
        if not hit.any():
            return []
        positions = prepared.sendable_positions
        reason = "entered by an earlier run of this session: not sent (again=True enters it again)"
        prepared.refuse({positions[i]: reason for i in np.flatnonzero(hit).tolist()})
        return [f"{plural(int(hit.sum()), 'row')} of chunk {chunk} hold a contact an earlier run of this session "
                f"entered into event {self.event_key!r}: skipped, not sent (again=True enters them again)"]

    def add(self, part: EntryResult) -> None:
        """A stream's chunk, once sent: the digests of the contacts it entered, kept for :meth:`record`."""
        counts = part.counts
        self._chunks.append(key_digests(_entered_keys(part, counts["queued"] + counts["unknown"])))

    def record(self, result: EntryResult) -> EntryResult:
        """Remember the contacts ``result`` entered, and after each ``retry()`` those it entered then; a run that
        entered nothing is remembered only once a retry enters something."""
        self.earlier = []   # the check is done: the run keeps no other run's digests alive
        if not self.active:
            return result
        if self._chunks:   # a stream: what its chunks entered, as they went
            counts = result.counts
            self._keep(_sorted_unique(np.concatenate(self._chunks)), (counts["queued"], counts["unknown"]))
            self._chunks = []
        else:
            self._take(result)
        result.on_change(self._take)
        return result

    def _take(self, result: EntryResult) -> None:
        """The digests of the contacts ``result`` entered, taken again only when its counts of entered rows moved."""
        run, counts = self.run, result.counts
        now = (counts["queued"], counts["unknown"])
        if now == run.seen_counts:
            return
        checked, self._checked = self._checked, None
        if checked is not None and sum(now) == checked[0]:   # every row sent entered: digests known from the check
            new = checked[1]
        else:
            new = _sorted_unique(key_digests(_entered_keys(result, sum(now))))
        self._keep(new, now)

    def _keep(self, digests: np.ndarray, counts: tuple[int, int]) -> None:
        """Make ``digests`` this run's record (listed once it holds a contact)."""
        run = self.run
        with _lock:
            if len(digests) and not len(run.digests):
                _runs.setdefault(self.key, []).append(run)
            run.digests, run.seen_counts = digests, counts


def _entered_keys(result: EntryResult, entered: int) -> Any:
    """The contact keys of the ``entered`` rows of ``result`` (all of them, the usual end of a run, without picking)."""
    keys = result.contact_keys
    if entered == len(keys):
        return keys.tolist() if isinstance(keys, KeyColumn) else keys
    positions = cast(CodeColumn, result.status).where(ENTERED)
    return keys.take(positions) if isinstance(keys, KeyColumn) else np.asarray(keys, dtype=object)[positions]


def _sendable_digests(prepared: PreparedRows) -> np.ndarray:
    keys, positions = prepared.keys, prepared.sendable_positions
    return key_digests(keys if len(positions) == len(keys) else [keys[p] for p in positions])


def _sorted_unique(digests: np.ndarray) -> np.ndarray:
    """``np.unique`` by a sort (numpy 2's ``np.unique`` takes about 50 times as long on a million ``uint64``)."""
    ordered = np.sort(digests)
    if len(ordered) > 1:
        keep = np.empty(len(ordered), dtype=bool)
        keep[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
        ordered = ordered[keep]
    return ordered


def _member(digests: np.ndarray, sorted_digests: np.ndarray) -> np.ndarray:
    """A boolean per digest: True when it is in ``sorted_digests`` (binary search, no copy of either)."""
    if not len(sorted_digests) or not len(digests):
        return np.zeros(len(digests), dtype=bool)
    at = np.searchsorted(sorted_digests, digests).clip(max=len(sorted_digests) - 1)
    return sorted_digests[at] == digests


def _how_many(entered: int, total: int, scope: str) -> str:
    """``the contact was``, ``3 of these 5 contacts were`` (``scope``: `` in the input's first chunk``)."""
    if total == 1:
        return f"the contact{scope} was"
    return f"{entered:,} of these {total:,} contacts{scope} {'was' if entered == 1 else 'were'}"


def _when(started: float) -> str:
    """``14:02:11 (3 minutes ago)``, with the date when it was not today."""
    ago = max(0, round(time.time() - started))
    then = time.localtime(started)
    moment = time.strftime("%H:%M:%S" if then[:3] == time.localtime()[:3] else "%Y-%m-%d %H:%M:%S", then)
    if ago < 2:
        return f"{moment} (just now)"
    if ago < 90:
        return f"{moment} ({plural(ago, 'second')} ago)"
    if ago < 90 * 60:
        return f"{moment} ({plural(round(ago / 60), 'minute')} ago)"
    return f"{moment} ({plural(round(ago / 3600), 'hour')} ago)"
