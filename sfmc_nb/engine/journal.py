"""The run journal: a JSON-lines file with one record per batch sent and one per answer.

A run that dies (kernel restart, SIGKILL, lost laptop) is resumed from it: :func:`replay` folds the records
into what each input row's fate is, so queued rows are not entered again and rows whose request went out
without an answer are checked with the status endpoint before anything is resent.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ValidationError

__all__ = ["Journal", "JournalState", "replay"]

Record = dict[str, Any]


class Journal:
    """Append-only JSON-lines record of a run: each batch before it is sent, and each answer.

    ``sent`` records are flushed and fsynced before the request leaves, so a run killed at any
    point can tell which batches may have reached Marketing Cloud.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: Record, durable: bool = False) -> None:
        """Append one record; opened per write so no file handle outlives a run (or a kernel interrupt)."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            if durable:
                os.fsync(fh.fileno())

    @staticmethod
    def read(path: str | os.PathLike[str]) -> list[Record]:
        p = Path(path)
        if not p.exists():
            return []
        records = []
        with open(p, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue  # a line cut short by a crash: the record before it still stands
        return records


EntryIds = tuple[str | None, str | None]


@dataclass
class JournalState:
    """What a journal says about each input position."""

    queued: dict[int, EntryIds] = field(default_factory=dict)  # pos -> (eventInstanceId, requestId)
    in_doubt: set[int] = field(default_factory=set)           # sent, answer unknown or never recorded
    known_ids: set[str] = field(default_factory=set)
    sent_at: dict[int, float] = field(default_factory=dict)   # pos -> when it was first sent


SendId = tuple[Any, Any, Any]
"""(run, batch, attempt): which request a ``sent`` record and its answer belong to."""


def replay(records: list[Record], event_key: str, keys: Sequence[str | None]) -> JournalState:
    """Fold journal records into the state of each position; refuse a journal of another run."""
    state = JournalState()
    open_sends: dict[SendId, list[int]] = {}
    for rec in records:
        kind = rec.get("kind")
        if kind == "run":
            _check_run(rec, event_key, keys)
            continue
        ident = (rec.get("run", 0), rec.get("batch"), rec.get("attempt"))
        if kind == "sent":
            open_sends[ident] = _replay_sent(rec, keys, state)
        elif kind in ("answer", "reconciled"):
            if kind == "answer":
                open_sends.pop(ident, None)
            _replay_settled(rec, state)
        elif kind == "refused":  # 429, 4xx, never connected: nothing happened
            for pos in open_sends.pop(ident, []):
                state.in_doubt.discard(pos)
    state.in_doubt -= set(state.queued)
    return state


def _check_run(rec: Record, event_key: str, keys: Sequence[str | None]) -> None:
    if rec.get("event_key") != event_key or rec.get("rows") != len(keys):
        raise ValidationError(
            f"the journal was written for event {rec.get('event_key')!r} with {rec.get('rows')} rows, "
            f"not {event_key!r} with {len(keys)} rows: use a new journal file for a different run")


def _replay_sent(rec: Record, keys: Sequence[str | None], state: JournalState) -> list[int]:
    """A request went out: its rows are in doubt until an answer or a refusal says otherwise."""
    positions: list[int] = rec.get("positions") or []
    for pos, key in zip(positions, rec.get("keys") or [], strict=False):
        if pos >= len(keys) or keys[pos] != key:
            raise ValidationError("the journal does not match this input (contact keys differ at the "
                                  "same rows): use a new journal file for a different input")
    state.in_doubt.update(positions)
    when = rec.get("time")
    if isinstance(when, (int, float)):
        for pos in positions:
            state.sent_at[pos] = min(state.sent_at.get(pos, when), when)
    return positions


def _replay_settled(rec: Record, state: JournalState) -> None:
    """An answer or a reconciliation: queued rows are known, the rest of its rows are no longer in doubt."""
    for pos, status, eid, rid in rec.get("rows") or []:
        if status == "queued":
            state.queued[pos] = (eid, rid)
            if eid:
                state.known_ids.add(eid)
        state.in_doubt.discard(pos)
    for pos in rec.get("not_found") or []:
        state.in_doubt.discard(pos)
