"""Follow contacts through a journey: their paths, how many reached each activity, and checks of both.

``trace(journey, keys)`` costs one request for the definition, one for the history's freshness (once per
connection every few minutes) and one journey history download per ``HISTORY_CONTACTS_PER_REQUEST`` contacts
(three requests for 100 contacts), or beyond ``BY_WINDOW_AFTER`` downloads' worth of contacts one download of the
journey's rows per time window (``HISTORY_CONTACTS_PER_WINDOW`` contacts a window), read column-wise; ``follow=True``
repeats only the downloads. Everything after that is
:class:`JourneyTrace`, pure and built from a :class:`JourneyGraph` and history rows, so it can be tested
and used on rows saved earlier.
"""

from __future__ import annotations

import difflib
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any, NamedTuple, Protocol

import pandas as pd

from .._html import STYLE, frame_html, frame_markdown
from .._rules import join_limited, one_line, plural
from ..errors import ValidationError
from .definition import JourneyGraph
from .follow import follow_trace
from .freshness import history_freshness
from .history import (
    ENTRY_REFUSALS,
    REFUSED_STATUSES,
    SYSTEM_TIME_OFFSET,
    TRIGGER_TYPES,
    contact_keys_in,
    events_frame,
    events_from_table,
    field_text,
    parse_time,
)
from .svg import map_html

__all__ = ["JourneyTrace", "PathCheck", "trace", "HISTORY_CONTACTS_PER_REQUEST", "HISTORY_DAYS", "STATES"]

HISTORY_CONTACTS_PER_REQUEST = 500
"""Contact keys sent in one history download (no limit is documented; the body stays small)."""
HISTORY_CONTACTS_PER_WINDOW = 200_000
"""Beyond ``BY_WINDOW_AFTER`` downloads' worth of contacts, the history is read by time window (the journey's rows
of a window in one download): one window per this many contacts, from the run's start to now."""
BY_WINDOW_AFTER = 4
HISTORY_DAYS = 30
"""How long Marketing Cloud keeps journey history."""
ARROW = " → "
_SHOWN = 50                 # paths listed in the text summary
_PATH_CHARS = 600           # a path is shown whole in the HTML table (up to this many characters)
_WHOLE_PATHS = ("<style>.sfmc-journey-trace table.sfmc-table td{max-width:none;text-align:left}"
                ".sfmc-journey-trace table.sfmc-table th{text-align:left}</style>")


class Step(NamedTuple):
    key: str | None         # activity key in the graph; None for an activity the definition does not hold
    label: str
    status: str | None
    kind: str | None = None  # the row's ActivityType
    message: str | None = None  # why, when the row says (a refused entry's reason, a failed step's error)


STATES = ("waiting", "ended", "may have ended", "moving", "no history")
"""Where a traced contact stands (:attr:`JourneyTrace.states`)."""
_LEFT = frozenset({"exited", "contactexit"})  # a status or ActivityType saying the contact was taken out


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _keys(contact_keys: Any) -> list[str]:
    if isinstance(contact_keys, str):
        contact_keys = [contact_keys]
    keys = [str(k).strip() for k in contact_keys if k is not None and str(k).strip()]
    return list(dict.fromkeys(keys))


class PathCheck(pd.DataFrame):
    """What :meth:`JourneyTrace.expect` returns: a DataFrame that shows its paths whole (pandas cuts text at 50
    characters, which hides where long paths differ)."""

    @property
    def _constructor(self) -> type[PathCheck]:
        return PathCheck

    def _repr_html_(self) -> str | None:
        with pd.option_context("display.max_colwidth", None):
            return super()._repr_html_()  # type: ignore[misc]

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.max_columns", None, "display.width", 100_000):
            return super().__repr__()


class JourneyTrace:
    """Where each traced contact went in a journey, from its history rows.

    ``events`` one row per history row (time order); ``paths`` per contact the tuple of activity names it
    passed (trigger left out), where it is now and that step's status; ``counts`` contacts per activity in
    journey order; ``states`` whether each one waits, reached an end or may still move. ``expect`` /
    ``assert_paths`` compare paths with the ones you meant. ``notes`` say what to keep in mind (history lag,
    contacts without history yet, bytes that were not text, a clipped ``since``, rows of other versions);
    ``freshness`` is the lag in seconds when the tenant says. In a
    notebook it shows the journey map with counts and paths, then the paths table.
    """

    def __init__(self, graph: Any, events: Any, contact_keys: Iterable[str] | None = None, *,
                 offset: Any = None):
        self.graph = graph if isinstance(graph, JourneyGraph) else JourneyGraph.from_definition(graph)
        if not (isinstance(events, pd.DataFrame) and "activityKey" in events.columns):
            events = events_frame(events, self.graph, offset=offset)
        self.events: pd.DataFrame = events
        self.contact_keys: tuple[str, ...] = tuple(
            _keys(contact_keys) if contact_keys is not None else contact_keys_in(events))
        self._walked: tuple[dict[str, list[Step]], dict[str, Step]] | None = None
        self._step_cache: tuple[pd.DataFrame, tuple[pd.DataFrame, pd.Series]] | None = None
        self.notes: list[str] = []
        """What to know when reading this trace: history lag, contacts without history, bytes that were not text,
        a clipped ``since``, rows of other versions."""
        self.freshness: float | None = None
        """Seconds journey history trails the journey (``.../journeyhistory/freshness``; None: not known)."""

    def _is_trigger(self, key: Any, kind: Any, status: Any = None) -> bool:
        if isinstance(status, str) and status.lower() in ENTRY_REFUSALS:
            return True
        if key is not None and not pd.isna(key):
            return key == self.graph.trigger.key
        return isinstance(kind, str) and kind.lower() in TRIGGER_TYPES

    @property
    def _steps(self) -> dict[str, list[Step]]:
        """Each contact's steps, built on first use (counts and the map do without them)."""
        if self._walked is None:
            self._walked = self._walk()
        return self._walked[0]

    @property
    def _last(self) -> dict[str, Step]:
        if self._walked is None:
            self._walked = self._walk()
        return self._walked[1]

    def _step_rows(self) -> tuple[pd.DataFrame, pd.Series]:
        """Column-wise, without a Python object per contact: the traced contacts' rows that are steps (not the
        trigger, with a name) in time order with the key they count under, and which rows are trigger rows.
        Kept while ``events`` stays the same frame (counts, the map and the summary all read it)."""
        cached = self._step_cache
        if cached is not None and cached[0] is self.events:
            return cached[1]
        events = self.events
        if events.empty:
            found = (pd.DataFrame(columns=["contactKey", "countKey"], dtype=object), pd.Series(dtype=object))
            self._step_cache = (events, found)
            return found
        mine = events["contactKey"].isin(set(self.contact_keys)).to_numpy()
        ours = events if mine.all() else events[mine]
        key, kind, status, name = ours["activityKey"], ours["activityType"], ours["status"], ours["activityName"]

        def among(column: pd.Series, words: frozenset[str]) -> pd.Series:   # each distinct value lowered once
            return column.isin([v for v in column.dropna().unique() if isinstance(v, str) and v.lower() in words])

        has_key = (key.notna() & (key != "")).to_numpy()
        trigger = (among(status, ENTRY_REFUSALS).to_numpy() | (has_key & (key == self.graph.trigger.key).to_numpy())
                   | (~has_key & among(kind, TRIGGER_TYPES).to_numpy()))
        named = (name.notna() & (name != "")).to_numpy()
        chosen = ~trigger & named
        steps = ours.loc[chosen, ["contactKey", "activityKey", "activityName"]]
        count_key = steps["activityKey"].copy()
        unknown = ~has_key[chosen]
        if unknown.any():
            count_key[unknown] = "\0" + steps.loc[unknown, "activityName"].astype(str)
        found = (steps.assign(countKey=count_key), ours.loc[trigger, "contactKey"])
        self._step_cache = (events, found)
        return found

    def _entered(self) -> int:
        steps, triggers = self._step_rows()
        return int(pd.concat([steps["contactKey"], triggers], ignore_index=True).nunique())

    def _walk(self) -> tuple[dict[str, list[Step]], dict[str, Step]]:
        """Each contact's steps (repeats of one activity folded) and its newest row, trigger or not."""
        steps: dict[str, list[Step]] = {k: [] for k in self.contact_keys}
        entered: dict[str, Step] = {}
        columns = ["contactKey", "activityKey", "activityName", "activityType", "status", "message"]
        events = self.events if "message" in self.events.columns else self.events.assign(message=None)
        for contact, key, name, kind, status, message in events[columns].itertuples(index=False, name=None):
            if contact not in steps:
                continue
            key, label = _name(key), _name(name)
            if self._is_trigger(key, kind, status):
                entered[contact] = Step(key, label or self.graph.trigger.name, _name(status), _name(kind),
                                        _name(message))
                continue
            if not label:
                continue
            path = steps[contact]
            step = Step(key, label, _name(status), _name(kind), _name(message))
            if path and (path[-1].key, path[-1].label) == (key, label):
                path[-1] = step
            else:
                path.append(step)
        last = {k: v[-1] for k, v in steps.items() if v}
        return steps, {**{k: v for k, v in entered.items() if k not in last}, **last}

    # -- the views --------------------------------------------------------------------------------------

    @property
    def paths(self) -> pd.DataFrame:
        """Indexed by ``contactKey``: where each contact is now (``at``, that step's ``status`` and ``message``,
        e.g. why its entry was refused), then its ``path`` (activity names in time order; read it last, it is long)."""
        keys = list(self.contact_keys)
        last = [self._last.get(k) for k in keys]
        frame = pd.DataFrame({
            "at": pd.Series([s.label if s else None for s in last], dtype=object),
            "status": pd.Series([s.status if s else None for s in last], dtype=object),
            "message": pd.Series([s.message if s else None for s in last], dtype=object),
            "path": pd.Series([tuple(s.label for s in self._steps[k]) for k in keys], dtype=object),
        })
        frame.index = pd.Index(keys, name="contactKey", dtype=object)
        return frame

    @property
    def states(self) -> pd.Series:
        """Per contact: ``waiting`` (at a wait), ``ended`` (at the end of a path, refused or taken out), ``may have
        ended`` (at an activity one of whose branches ends the path), ``moving`` or ``no history``."""
        values = [self._state(self._last.get(k)) for k in self.contact_keys]
        return pd.Series(values, index=pd.Index(list(self.contact_keys), name="contactKey", dtype=object),
                         name="state", dtype=object)

    def _state(self, step: Step | None) -> str:
        if step is None:
            return "no history"
        status, kind = (step.status or "").lower(), (step.kind or "").lower()
        if status in _LEFT or kind in _LEFT or status in ENTRY_REFUSALS:
            return "ended"
        if step.key == self.graph.trigger.key or (step.key is None and kind in TRIGGER_TYPES):
            return "ended" if status in REFUSED_STATUSES else "moving"   # refused at entry, or about to move on
        activity = self.graph.activity(step.key) if step.key else None
        if activity is None:
            return "moving"
        if activity.family == "wait":
            return "waiting" if status == "waiting" else "moving"
        ends = [e for e in activity.outcomes if e.target is None or self.graph.activity(e.target) is None]
        if len(ends) == len(activity.outcomes):
            return "ended"
        return "may have ended" if ends else "moving"

    def _reached(self) -> dict[str, int]:
        """Contacts per activity key (``"\0" + name`` for an activity the definition does not hold), counted
        column-wise: no Python object per contact."""
        steps, _ = self._step_rows()
        if steps.empty:
            return {}
        counted = steps.groupby("countKey", sort=False)["contactKey"].nunique()
        return {str(k): int(v) for k, v in counted.items()}

    @property
    def counts(self) -> pd.Series:
        """Contacts that reached each activity, in journey order (zeros included; unknown activities last)."""
        reached = self._reached()
        labels = {a.key: a.label for a in self.graph.activities}
        index = list(labels.values()) + [k[1:] for k in reached if k.startswith("\0")]
        values = [reached.get(k, 0) for k in labels] + [v for k, v in reached.items() if k.startswith("\0")]
        return pd.Series(values, index=pd.Index(index, name="activity", dtype=object), name="contacts",
                         dtype="int64")

    def _matches(self, expected: str, step: Step) -> bool:
        activity = self.graph.activity(step.key) if step.key else None
        return expected in (step.label, step.key) or (activity is not None and expected == activity.name)

    def _compare(self, contact: str, expected: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Expected names spelled as the actual labels where they match, and the actual labels."""
        steps = self._steps.get(contact, [])
        shown = []
        for i, item in enumerate(expected):
            if i < len(steps) and self._matches(item, steps[i]):
                shown.append(steps[i].label)
            else:
                activity = self.graph.activity(item)
                shown.append(activity.label if activity else item)
        return tuple(shown), tuple(s.label for s in steps)

    def expect(self, expected: Mapping[Any, Iterable[Any]]) -> PathCheck:
        """Compare paths: ``{contact_key: [activity names, keys or labels in order]}``.

        Returns ``contactKey, passed, difference, expected, actual``: ``difference`` is, where the paths differ, the
        whole path with each step that differs marked (``-expected``, ``+actual``) and where the contact is now;
        empty where they agree. A contact without history has the empty path.
        """
        if not isinstance(expected, Mapping):
            raise ValidationError("expect() takes a mapping {contact_key: [activity names in order]}")
        rows = []
        for contact, names in expected.items():
            items = [names] if isinstance(names, str) else list(names or [])
            want, actual = self._compare(str(contact), [one_line(n) for n in items])
            passed = want == actual
            rows.append({"contactKey": str(contact), "passed": passed,
                         "difference": "" if passed else self._diff_line(str(contact), want, actual),
                         "expected": want, "actual": actual})
        frame = PathCheck(rows, columns=["contactKey", "passed", "difference", "expected", "actual"])
        return frame.astype({"contactKey": object, "passed": bool, "difference": object, "expected": object,
                             "actual": object})

    def assert_paths(self, expected: Mapping[Any, Iterable[Any]]) -> pd.DataFrame:
        """Like :meth:`expect`, but raise ``AssertionError`` naming each contact off its path, with the diff."""
        result = self.expect(expected)
        failed = result[~result["passed"]]
        if failed.empty:
            return result
        lines = [f"{len(failed)} of {plural(len(result), 'contact')} did not take the expected path "
                 "(-expected, +actual):"]
        for contact, difference in failed[["contactKey", "difference"]].itertuples(index=False):
            lines.append(f"  {contact}: {difference}")
        raise AssertionError("\n".join(lines))

    def _diff_line(self, contact: str, want: tuple[str, ...], actual: tuple[str, ...]) -> str:
        if not actual:
            where = "entered, no activity yet" if contact in self._last else "no history"
            return f"({where}) expected {ARROW.join(want) or '(nothing)'}"
        parts: list[str] = []
        matcher = difflib.SequenceMatcher(a=want, b=actual, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                parts.extend(want[i1:i2])
                continue
            parts.extend("-" + x for x in want[i1:i2])
            parts.extend("+" + x for x in actual[j1:j2])
        last = self._last.get(contact)
        now = f"   (now at {last.label}: {last.status})" if last and last.status else ""
        return ARROW.join(parts) + now

    # -- the map ----------------------------------------------------------------------------------------

    def _highlight(self) -> tuple[set[str], set[tuple[str, str]]]:
        """Activities and edges the traced contacts took, column-wise (each contact's known steps in time order,
        repeats folded, from the trigger)."""
        trigger = self.graph.trigger.key
        steps, triggers = self._step_rows()
        known = steps.loc[steps["countKey"].map(lambda k: not k.startswith("\0")).astype(bool),
                          ["contactKey", "countKey"]]
        same = (known["contactKey"] == known["contactKey"].shift()) & (known["countKey"] == known["countKey"].shift())
        known = known[~same]
        before = known.groupby("contactKey", sort=False)["countKey"].shift().fillna(trigger)
        nodes = set(known["countKey"]) | ({trigger} if len(triggers) or not known.empty else set())
        edges = set(zip(before, known["countKey"], strict=True))
        return nodes, edges

    def svg(self) -> str:
        """The journey map with each box's count and the traced paths highlighted, as SVG text."""
        reached = self._reached()
        counts = {a.key: reached.get(a.key, 0) for a in self.graph.activities}
        counts[self.graph.trigger.key] = self._entered()
        nodes, edges = self._highlight()
        events = self.events
        traced = events["contactKey"].isin(self.contact_keys)
        failing = [v for v in events["status"].dropna().unique() if str(v).lower() == "failed"]   # once per value
        bad = events[events["status"].isin(failing) & traced]
        failed = bad.groupby("activityKey")["contactKey"].nunique().to_dict() if len(bad) else {}
        return self.graph.svg(counts=counts, highlight_nodes=nodes, highlight_edges=edges, failed=failed)

    def summary(self) -> str:
        """``3 contacts traced in Welcome (v2, Published): 3 entered, 12 history rows``."""
        return (f"{plural(len(self.contact_keys), 'contact')} traced in {self.graph.title}: {self._entered():,} "
                f"entered, {plural(len(self.events), 'history row')}")

    def _first_paths(self) -> tuple[pd.DataFrame, str]:
        """The paths of the first contacts shown in a repr, built for them alone when the trace is large (the
        whole table waits for ``tr.paths``), and a note saying how many are left out."""
        if self._walked is not None or len(self.contact_keys) <= _SHOWN:
            return self.paths, ""
        first = list(self.contact_keys[:_SHOWN])
        some = JourneyTrace(self.graph, self.events[self.events["contactKey"].isin(set(first))], first)
        return some.paths, (f"the first {_SHOWN} of {len(self.contact_keys):,} contacts; "
                            "tr.paths has every contact's path")

    def _repr_html_(self) -> str:
        paths, more = self._first_paths()
        shown = paths.assign(path=lambda f: f["path"].map(ARROW.join))
        lag = "" if self.notes else " History can lag a few minutes behind the journey."
        note = "Each box shows how many traced contacts reached it; their paths are drawn in orange." + lag
        notes = "".join(f'<div class="sfmc-note sfmc-trace-note">⚠ {html.escape(n)}</div>' for n in self.notes)
        return (f'{STYLE}<div class="sfmc-panel sfmc-journey-trace"><div class="sfmc-title">'
                f"{html.escape(self.summary())}</div>{notes}"
                f'{map_html(self.svg())}'
                f'<div class="sfmc-note">{html.escape(note)}</div>'
                + _WHOLE_PATHS + frame_html(shown.reset_index(), max_rows=50, title="Paths", index=False,
                                            max_colwidth=_PATH_CHARS, empty="no contacts", footer=not more)
                + (f'<div class="sfmc-note">{html.escape(more)}</div>' if more else "") + "</div>")

    def _repr_markdown_(self) -> str:
        """The trace as a report for terminals and Markdown exports: counts per activity, then the paths."""
        counts = self.counts.rename_axis("activity").reset_index(name="contacts")
        first, more = self._first_paths()
        paths = first.assign(path=lambda f: f["path"].map(ARROW.join)).reset_index()
        return "\n\n".join([f"**JourneyTrace: {self.summary()}**", *(f"note: {n}" for n in self.notes),
                             "Contacts per activity:",
                             frame_markdown(counts, max_rows=100, index=False), "Paths:",
                             frame_markdown(paths, max_rows=_SHOWN, index=False, max_colwidth=400,
                                            empty="no contacts"), *([more] if more else [])])

    def __repr__(self) -> str:
        lines = [f"JourneyTrace: {self.summary()}"] + [f"note: {n}" for n in self.notes] + ["Contacts per activity:"]
        if not len(self.graph):
            lines.append("  (the definition has no activities)")
        counts = self.counts
        width = min(max([len(str(i)) for i in counts.index] + [8]), 40)
        lines.extend(f"  {str(name).ljust(width)}  {n:,}" for name, n in counts.items())
        lines.append("Paths:")
        paths, _ = self._first_paths()
        width = min(max([len(str(k)) for k in paths.index] + [4]), 40)
        for contact, (at, status, message, path) in list(paths.iterrows())[:_SHOWN]:
            text = ARROW.join(path) if path else ("(entered)" if at else "(no history)")
            said = f"{status}: {message}" if status and message else status
            lines.append(f"  {str(contact).ljust(width)}  {text}" + (f"   [{said}]" if said else ""))
        if len(self.contact_keys) > _SHOWN:
            lines.append(f"  ... {len(self.contact_keys) - _SHOWN:,} more")
        return "\n".join(lines)


# -- fetching ---------------------------------------------------------------------------------------------


class HistorySource(Protocol):
    """What :func:`trace` needs of a connection."""

    def journey(self, id_or_key: str, version: int | None = None) -> Any: ...

    def journey_history(self, *, contact_keys: Sequence[str] | None = None,
                        definition_ids: Sequence[str] | None = None, statuses: Sequence[str] | None = None,
                        start: str | None = None, end: str | None = None) -> list[dict]: ...


def _definition(journey: Any, conn: HistorySource) -> JourneyGraph:
    """The graph of ``journey``: a graph, a definition dict or model with activities, or fetched by id or key."""
    if isinstance(journey, JourneyGraph):
        return journey
    raw = journey if isinstance(journey, Mapping) else getattr(journey, "raw", None)
    if isinstance(raw, Mapping):
        if "activities" in raw:
            return JourneyGraph.from_definition(raw)
        ident, version = raw.get("id") or raw.get("key"), raw.get("version") if raw.get("id") else None
    else:
        ident, version = journey, None
    if not isinstance(ident, str) or not ident.strip():
        raise ValidationError(f"journey must be a journey id or key, a Journey or its definition; got {journey!r}")
    return JourneyGraph.from_definition(conn.journey(ident.strip(), version).raw)


def _start(since: Any) -> tuple[str | None, list[str]]:
    """``since`` as the history filter's ``start`` in system time (zone-less, as the API writes its dates), and
    a note when it was older than the 30 days history keeps (it is then clipped to 30 days ago)."""
    if since is None or (isinstance(since, str) and not since.strip()):
        return None, []
    if isinstance(since, timedelta):
        since = datetime.now(timezone.utc) - since
    if isinstance(since, date) and not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day)
    if not isinstance(since, (str, datetime)):
        raise ValidationError(f"since must be an ISO 8601 text, a datetime or a timedelta; got {since!r}")
    moment = parse_time(since)
    oldest = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=HISTORY_DAYS)
    if isinstance(moment, pd.Timestamp) and moment < oldest:
        return _system_text(oldest), [f"journey history is kept {HISTORY_DAYS} days: since "
                                      f"{_system_text(moment)} was clipped to {_system_text(oldest)} (system time)"]
    if isinstance(since, str):
        return since.strip(), []
    return (since.isoformat() if since.tzinfo is None else _system_text(pd.Timestamp(since))), []


def _system_text(moment: pd.Timestamp) -> str:
    return moment.tz_convert(timezone(SYSTEM_TIME_OFFSET)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _of_journey(rows: list[dict], journey_id: str, name: str = "") -> list[dict]:
    """Rows of this journey only, should a server ignore the ``definitionIds`` filter: rows of this version,
    rows without a DefinitionId (a refused entry), and rows of other versions of the journey (its ``name``)."""
    if not journey_id:
        return rows
    wanted = journey_id.lower()
    return [r for r in rows if (field_text(r, "definitionid") or wanted).lower() == wanted
            or (name and field_text(r, "definitionname") == name)]


def _definition_ids(graph: JourneyGraph) -> list[str] | None:
    """The version's id, and the id every version of the journey shares (so rows of older versions come too)."""
    shared = graph.raw.get("definitionId")
    ids = [graph.id] + ([shared] if isinstance(shared, str) and shared and shared != graph.id else [])
    return [i for i in ids if i] or None


def _notes(rows: list[dict], graph: JourneyGraph, lag: float | None, keys: Sequence[str] = ()) -> list[str]:
    found = {field_text(r, "contactkey") for r in rows}
    other = sum(1 for r in rows if (field_text(r, "definitionid") or graph.id).lower() != graph.id.lower())
    return _said(found, other, graph, lag, keys)


def _said(found: set[str | None], other: int, graph: JourneyGraph, lag: float | None,
          keys: Sequence[str] = ()) -> list[str]:
    notes = []
    if lag:
        notes.append(f"journey history trails the journey by {_duration(lag)}: steps newer than that may be "
                     "missing, and a wait that just ended may still say Waiting")
    missing = [k for k in keys if k not in found]
    if missing:
        notes.append(f"no history row for {len(missing):,} of {plural(len(keys), 'traced contact')} "
                     f"({join_limited(missing, 5)}): history trails the journey, so a contact entered a moment ago "
                     "may not be in it yet (trace again in a minute, or follow=True); one that never entered this "
                     "journey has none")
    if graph.id and other:
        notes.append(f"{plural(other, 'history row')} came from other versions of {graph.name or graph.key}: their "
                     "activities are matched by name, and those this version lacks are counted last")
    return notes


def _windows(start: str | None, count: int, until: Any = None) -> list[tuple[str, str | None]]:
    """``count`` time windows, one after the other, from ``start`` (30 days ago when None) to ``until`` (when the
    last contact entered: most rows are written by then) or now, as the history filter's ``start``/``end`` in
    system time (each window ends where the next starts); the last one is open-ended (rows written since)."""
    now = pd.Timestamp.now(tz="UTC")
    first = parse_time(start) if start else now - pd.Timedelta(days=HISTORY_DAYS)
    first = first if isinstance(first, pd.Timestamp) and first < now else now - pd.Timedelta(seconds=1)
    last = parse_time(until) if until is not None else pd.NaT
    last = last if isinstance(last, pd.Timestamp) and first < last < now else now
    count += last < now     # and one from then on
    step = (last - first) / (count - (last < now))
    bounds = [_system_text(first + step * i) for i in range(count)] + [None]
    return [(start if i == 0 and start else bounds[i], bounds[i + 1]) for i in range(count)]   # type: ignore[misc]


def _without_repeats(events: pd.DataFrame, before: pd.DataFrame, boundary: Any) -> pd.DataFrame:
    """``events`` without the rows dated ``boundary`` that the window before already gave."""
    columns = ["contactKey", "time", "activityId", "activityName", "status"]
    seen = set(before.loc[before["time"] == boundary, columns].astype(str).itertuples(index=False, name=None))
    at = events["time"] == boundary
    if not seen or not at.any():
        return events
    repeat = events.loc[at, columns].astype(str).apply(tuple, axis=1).isin(seen)
    return events.drop(index=repeat[repeat].index)


def _read_windows(conn: Any, graph: JourneyGraph, keys: Sequence[str], start: str | None, until: Any = None
                  ) -> tuple[pd.DataFrame, set[str], int, list[str]]:
    """The journey's history for many contacts, read by time window (the journey's rows of each window in one
    download, kept column-wise, other contacts' rows dropped at once) instead of one download per 500 keys.
    Returns the events, the contacts found, rows of other versions and what reading met."""
    wanted, read, other = set(keys), [], 0
    own = {k: k for k in keys}
    parts: list[pd.DataFrame] = []
    ids = [i.lower() for i in _definition_ids(graph) or []]
    for window_start, window_end in _windows(start, math.ceil(len(keys) / HISTORY_CONTACTS_PER_WINDOW), until):
        table = conn.journey_history_table(definition_ids=_definition_ids(graph), start=window_start,
                                           end=window_end)
        read.extend(table.notes)
        frame = table.frame
        names = {str(c).strip().lower(): c for c in frame.columns}
        if ids and "definitionid" in names:     # should a server ignore the definitionIds filter
            column = frame[names["definitionid"]].astype(object)
            shown = column.map({v: str(v).strip().lower() for v in column.unique()})   # once per distinct id
            same_name = (frame[names["definitionname"]].astype(object) == graph.name) if (
                graph.name and "definitionname" in names) else False
            mine = shown.isin(ids) | (shown == "") | same_name
            frame = frame[mine.astype(bool)]
            other += int(((shown != "") & (shown != graph.id.lower()) & mine).sum())
        events = events_from_table(frame, graph, keep=wanted)
        events["contactKey"] = events["contactKey"].map(own)   # one string per contact, not one per row
        if parts:     # both ends of a window are inclusive: a row dated at the boundary may come twice
            events = _without_repeats(events, parts[-1], parse_time(window_start))
        parts.append(events)
        del table, frame
    events = pd.concat(parts, ignore_index=True) if parts else events_from_table(pd.DataFrame(), graph)
    events.index.name = "row"
    return events, set(events["contactKey"]), max(other, 0), read


def _duration(seconds: float) -> str:
    if seconds < 120:
        return plural(round(seconds), "second")
    return plural(round(seconds / 60), "minute") if seconds < 7200 else f"{seconds / 3600:.1f} hours"


def _connection(connection: HistorySource | None) -> HistorySource:
    if connection is not None:
        return connection
    from ..client import default_connection

    conn = default_connection()      # raises ConfigurationError when nobody logged in
    assert conn is not None
    return conn


def trace(journey: Any, contact_keys: Iterable[str] | str, *, connection: HistorySource | None = None,
          since: Any = None, follow: bool = False, timeout: float = 60.0, poll: float = 1.0,
          until: Any = None) -> JourneyTrace:
    """Trace ``contact_keys`` through ``journey`` (id, key, ``Journey`` or definition) from its history.

    ``since`` (ISO text in system time, datetime or timedelta) bounds the history read; history is kept 30 days, so
    an older ``since`` is clipped (with a note). ``until`` (a datetime: when the last of the contacts entered;
    ``res.trace()`` gives it) only tells a large trace how to cut its time windows. The history's lag
    (``.../freshness``) is asked once per connection and said in ``notes``. ``follow=True`` reads the history again
    (every ``poll`` seconds, backing off) until every contact has reached a wait or the end of a path, or
    ``timeout`` seconds; in JupyterLab the map is redrawn as they move. A download that is not the history CSV (an
    HTML page, an empty body) raises :class:`~sfmc_nb.errors.UnexpectedAnswerError`, never a trace of nobody. Costs:
    the definition (unless given with its activities), the freshness probe, then one history download per 500
    contacts each time the history is read; beyond 2,000 contacts one download of the journey's rows per time window
    from ``since`` to now (a window per 200,000 contacts), kept column-wise: ``events`` has no ``raw`` column then,
    and per-contact paths are built only when ``paths``, ``states`` or ``expect`` ask.
    """
    conn = _connection(connection)
    keys = _keys(contact_keys)
    if not keys:
        raise ValidationError("no contact keys given")
    start, clipped = _start(since)
    graph = _definition(journey, conn)
    lag = history_freshness(conn)

    def fetch_windows() -> JourneyTrace:
        events, found_keys, other, read = _read_windows(conn, graph, keys, start, until)
        found = JourneyTrace(graph, events, keys)
        found.freshness = lag
        found.notes = clipped + list(dict.fromkeys(read)) + _said(set(found_keys), other, graph, lag, keys)
        return found

    def fetch() -> JourneyTrace:
        if len(keys) > HISTORY_CONTACTS_PER_REQUEST * BY_WINDOW_AFTER and hasattr(conn, "journey_history_table"):
            return fetch_windows()
        rows: list[dict] = []
        read: list[str] = []      # what reading the downloads met (bytes that are not text)
        for at in range(0, len(keys), HISTORY_CONTACTS_PER_REQUEST):
            part = conn.journey_history(contact_keys=keys[at:at + HISTORY_CONTACTS_PER_REQUEST],
                                        definition_ids=_definition_ids(graph), start=start)
            rows.extend(part)
            read.extend(getattr(part, "notes", ()))
        kept = _of_journey(rows, graph.id, graph.name)
        found = JourneyTrace(graph, kept, keys)
        found.freshness, found.notes = lag, clipped + list(dict.fromkeys(read)) + _notes(kept, graph, lag, keys)
        return found

    if not follow:
        return fetch()
    return follow_trace(fetch, timeout=timeout, poll=poll)
