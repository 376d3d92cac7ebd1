"""The run journal: a JSON-lines file with one record per batch sent and one per answer.

A run that dies (kernel restart, SIGKILL, lost laptop) is resumed from it: :func:`replay` folds the records
into what each input row's fate is, so queued rows are not entered again and rows whose request went out
without an answer are checked with the status endpoint before anything is resent.

Journals hold contact keys: they are created readable by their owner only (0600, folders made for them 0700).
A journal says which kind of run wrote it in its first record: ``run`` (one DataFrame, or one chunk of a stream,
which then names its stream journal's ``stream`` id and its ``chunk`` number) or ``stream``; a journal of another
kind is refused before anything is sent or written.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from .._private import make_private_folders, private_opener
from ..errors import ValidationError

__all__ = ["Journal", "JournalState", "replay", "header", "refuse_other_kind"]

Record = dict[str, Any]


class Journal:
    """Append-only JSON-lines record of a run: each batch before it is sent, and each answer.

    ``sent`` records are flushed and fsynced before the request leaves, so a run killed at any
    point can tell which batches may have reached Marketing Cloud.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._lock = threading.Lock()
        make_private_folders(self.path.parent)
        self._mend_tail()

    def _mend_tail(self) -> None:
        """A run killed mid-write leaves a last line without its newline: end it if it is a whole record,
        else cut it off (``read`` skipped it), so the records written from now on start on a line of their own."""
        if not self.path.exists():
            return
        with open(self.path, "rb+") as fh:
            data = fh.read()
            if not data or data.endswith(b"\n"):
                return
            start = data.rfind(b"\n") + 1
            try:
                whole = isinstance(json.loads(data[start:].decode("utf-8")), dict)
            except (ValueError, RecursionError):   # UnicodeDecodeError included
                whole = False
            if whole:
                fh.write(b"\n")
            else:
                fh.truncate(start)

    def write(self, record: Record, durable: bool = False) -> None:
        """Append one record; opened per write so no file handle outlives a run (or a kernel interrupt)."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
        with self._lock, open(self.path, "a", encoding="utf-8", opener=private_opener) as fh:
            fh.write(line + "\n")
            fh.flush()
            if durable:
                os.fsync(fh.fileno())

    @staticmethod
    def read(path: str | os.PathLike[str], notes: list[str] | None = None) -> list[Record]:
        """Every record, each checked; ``ValidationError`` naming the file and line for one that is not a
        record this journal writes. The last line of a run killed while writing it is skipped, with a note."""
        p = Path(path)
        if not p.exists():
            return []
        data = p.read_bytes()
        lines = data.split(b"\n")
        records: list[Record] = []
        rows: int | None = None
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            torn = number == len(lines)   # no newline after it: the write was cut short
            try:
                record = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
                problem = check_record(record, rows)
            except RecursionError:   # a record this journal writes is a few levels deep
                if torn:
                    (notes if notes is not None else []).append(_TORN.format(p, number))
                    continue
                raise ValidationError(f"journal {p}, line {number}: nested too deeply; {_NOT_OURS}") from None
            except UnicodeDecodeError:
                if torn:
                    (notes if notes is not None else []).append(_TORN.format(p, number))
                    continue
                raise ValidationError(f"journal {p}, line {number}: not UTF-8 text; {_NOT_OURS}") from None
            except ValueError as exc:
                if torn:
                    (notes if notes is not None else []).append(_TORN.format(p, number))
                    continue
                raise ValidationError(f"journal {p}, line {number}: not valid JSON ({exc}); {_NOT_OURS}") from None
            if problem:
                raise ValidationError(f"journal {p}, line {number}: {problem}; {_NOT_OURS}")
            if record["kind"] == "run":
                rows = record["rows"]
            records.append(record)
        return records


_TORN = "journal {}: line {} was cut short (the run stopped while writing it) and is skipped"
_NOT_OURS = "this file is not a journal this version wrote (or was edited): use a new journal file"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and value == value and abs(value) != float("inf")


def _position_problem(value: Any, rows: int | None, name: str) -> str | None:
    if not _is_int(value) or value < 0:
        return f"{name} must be a row position (a whole number >= 0), got {value!r}"
    if rows is not None and value >= rows:
        return f"{name} {value} is out of range for a run of {rows} rows"
    return None


def _rows_problem(value: Any, rows: int | None) -> str | None:
    """``rows`` of an answer or a reconciliation: ``[position, status, eventInstanceId, requestId]`` each."""
    if not isinstance(value, list):
        return f"'rows' must be a list, got {type(value).__name__}"
    for row in value:
        if not (isinstance(row, list) and len(row) == 4):
            return f"each of 'rows' must be [position, status, eventInstanceId, requestId], got {row!r}"
        pos, status, eid, rid = row
        problem = _position_problem(pos, rows, "a row's position")
        if problem:
            return problem
        if not isinstance(status, str) or not all(v is None or isinstance(v, str) for v in (eid, rid)):
            return f"a row's status, eventInstanceId and requestId must be text, got {row!r}"
    return None


def _fields_problem(record: Record, fields: dict[str, Any]) -> str | None:
    for name, test in fields.items():
        if name not in record or not test(record[name]):
            return f"'{record['kind']}' record needs '{name}' of the right type, got {record.get(name)!r}"
    return None


_IDENT = {"batch": lambda v: _is_int(v) and v >= 0, "attempt": lambda v: _is_int(v) and v >= 1}
_FIELDS: dict[str, dict[str, Any]] = {
    "run": {"event_key": lambda v: isinstance(v, str), "rows": lambda v: _is_int(v) and v >= 0},
    "sent": {**_IDENT, "time": _is_number, "positions": lambda v: isinstance(v, list),
             "keys": lambda v: isinstance(v, list) and all(k is None or isinstance(k, str) for k in v)},
    "answer": {**_IDENT, "rows": lambda v: True},
    "refused": dict(_IDENT),
    "unknown": dict(_IDENT),
    "reconciled": {"rows": lambda v: True, "not_found": lambda v: isinstance(v, list)},
    # a stream's journal: its header, then one record per chunk (each chunk has a run journal of its own)
    "stream": {"event_key": lambda v: isinstance(v, str)},
    "chunk": {"chunk": lambda v: _is_int(v) and v >= 0, "rows": lambda v: _is_int(v) and v >= 0,
              "fingerprint": lambda v: isinstance(v, str)},
}
_HEADERS = ("run", "stream", "chunk")   # records that need no 'run' record before them
_OPTIONAL: dict[str, dict[str, Any]] = {   # fields a header has when it is a stream's or a stream's chunk's
    "stream": {"id": lambda v: isinstance(v, str)},
    "run": {"stream": lambda v: isinstance(v, str), "chunk": lambda v: _is_int(v) and v >= 0,
            "journal": lambda v: isinstance(v, str)},
}


def _optional_problem(record: Record) -> str | None:
    for name, test in _OPTIONAL.get(record["kind"], {}).items():
        if name in record and not test(record[name]):
            return f"'{record['kind']}' record has '{name}' of the wrong type: {record[name]!r}"
    return None


def check_record(record: Any, rows: int | None) -> str | None:
    """What is wrong with one journal record (None: nothing); ``rows``: the run's row count, once read."""
    if not isinstance(record, dict):
        shown = "a list" if isinstance(record, list) else json.dumps(record)[:40]
        return f"a record must be a JSON object, got {shown}"
    kind = record.get("kind")
    if kind not in _FIELDS:
        return f"unknown record kind {kind!r}"
    if kind not in _HEADERS and rows is None:
        return "the first record must be the 'run' record"
    problem = _fields_problem(record, _FIELDS[kind]) or _optional_problem(record)
    if problem:
        return problem
    if kind == "sent":
        if len(record["positions"]) != len(record["keys"]):
            return "'positions' and 'keys' of a 'sent' record differ in length"
        return next(filter(None, (_position_problem(p, rows, "position") for p in record["positions"])), None)
    if kind == "reconciled":
        problem = next(filter(None, (_position_problem(p, rows, "position") for p in record["not_found"])), None)
        if problem:
            return problem
    if kind in ("answer", "reconciled"):
        return _rows_problem(record["rows"], rows)
    return None


EntryIds = tuple[str | None, str | None]


@dataclass
class JournalState:
    """What a journal says about each input position."""

    queued: dict[int, EntryIds] = field(default_factory=dict)  # pos -> (eventInstanceId, requestId)
    in_doubt: set[int] = field(default_factory=set)           # sent, answer unknown or never recorded
    known_ids: set[str] = field(default_factory=set)
    sent_at: dict[int, float] = field(default_factory=dict)   # pos -> when it was last sent (the request in doubt)


SendId = tuple[Any, Any, Any]
"""(run, batch, attempt): which request a ``sent`` record and its answer belong to."""


def replay(records: list[Record], event_key: str, keys: Sequence[str | None]) -> JournalState:
    """Fold journal records into the state of each position; refuse a journal of another run."""
    if records and records[0]["kind"] != "run":
        raise ValidationError(f"the journal was written by a stream, not a one-DataFrame run: {_OTHER_INPUT}")
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
    positions: list[int] = rec["positions"]
    for pos, key in zip(positions, rec.get("keys") or [], strict=False):
        if pos >= len(keys) or keys[pos] != key:
            raise ValidationError("the journal does not match this input (contact keys differ at the "
                                  "same rows): use a new journal file for a different input")
    state.in_doubt.update(positions)
    when = float(rec["time"])
    for pos in positions:   # a row is only resent once its request in doubt is settled: the last send counts
        state.sent_at[pos] = max(state.sent_at.get(pos, when), when)
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


_OTHER_INPUT = "pass the same input as before to resume it, or use a new journal file for this input"


def header(path: str | os.PathLike[str]) -> Record | None:
    """The first record of a journal (None: no file, an empty one, or a first line that is not a record): says
    which kind of run wrote it. Reads one line, however long the journal."""
    try:
        with open(path, "rb") as fh:
            line = fh.readline(1 << 20)
    except (FileNotFoundError, IsADirectoryError):
        return None
    try:
        record = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def run_kind(record: Record | None) -> str | None:
    """``"dataframe"``, ``"stream"`` or ``"chunk"`` (a stream's chunk) for a journal's first record."""
    kind = None if record is None else record.get("kind")
    if kind == "stream":
        return "stream"
    if kind == "run":
        return "chunk" if "stream" in cast(Record, record) else "dataframe"
    return None   # not a header: reading the journal says what is wrong with it


def refuse_other_kind(path: str | os.PathLike[str], wanted: str) -> None:
    """Refuse a journal that another kind of run wrote (``wanted``: ``"dataframe"`` or ``"stream"``), before
    anything is sent or written: resuming it with this input would enter every contact again."""
    first = header(path)
    kind = run_kind(first)
    if kind is None or kind == wanted:
        return
    if kind == "chunk":
        owner = Path(path).parent.parent / str(cast(Record, first).get("journal"))
        raise ValidationError(f"{os.fspath(path)} is the journal of chunk {cast(Record, first).get('chunk')} of the "
                              f"stream journal {os.fspath(owner)!r}, which resumes that stream: pass journal="
                              f"{os.fspath(owner)!r} with the stream's input, or use a new journal file")
    what = {"stream": "a stream (a file, an iterable of DataFrames or a polars frame)",
            "dataframe": "a one-DataFrame run"}[kind]
    instead = "pass the same DataFrame as before" if kind == "dataframe" else \
        "pass the same file or chunks as before (with the same chunk_rows)"
    raise ValidationError(f"{os.fspath(path)} is the journal of {what}, not of a "
                          f"{'stream' if wanted == 'stream' else 'one-DataFrame run'}: use a new journal file for "
                          f"this input (or, to resume that run, {instead})")
