"""A journey's definition (sfmc-api.md 5.1) as a graph: its trigger, activities, branches and journey order.

``JourneyGraph.from_definition(conn.journey("Welcome").raw)`` reads the JSON of ``GET /interactions/{id}``.
Activity types never seen before and missing fields never raise: such activities become plain boxes, and a
journey without activities is a graph holding its trigger alone. In a notebook the graph draws itself as the
journey map (:mod:`.svg`).
"""

from __future__ import annotations

import html
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from .._rules import int_or_none, one_line, plural
from . import _describe
from .criteria import ConditionSet, parse_criteria

__all__ = ["Trigger", "Activity", "Edge", "Rule", "JourneyGraph"]


@dataclass(frozen=True)
class Edge:
    """One outcome of an activity: ``source`` -> ``target`` (activity keys; ``None`` where the path ends)."""

    source: str
    target: str | None
    label: str = ""
    condition: str = ""          # a decision branch's criteria in words (``Score > 50``)
    outcome_key: str = ""
    criteria: ConditionSet | None = field(default=None, compare=False, repr=False)   # the same, as a model


@dataclass(frozen=True)
class Trigger:
    """The entry source drawn before the first activity."""

    id: str
    key: str
    name: str
    type: str
    description: str
    event_key: str
    raw: dict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Rule:
    """A journey goal or exit criterion: ``kind`` (``goal`` or ``exit``), its name, words and criteria."""

    kind: str
    key: str
    name: str
    description: str
    criteria: ConditionSet | None = field(default=None, compare=False, repr=False)
    raw: dict = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Activity:
    """One activity. ``name`` is its name, or what it is when it has none (``Decision on Email``); ``label``
    is ``name`` with `` #2`` added when other activities share it, so no two boxes have the same title."""

    id: str
    key: str
    name: str
    label: str
    type: str
    description: str
    configuration: dict = field(default_factory=dict, repr=False)
    outcomes: tuple[Edge, ...] = field(default=(), repr=False)
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def family(self) -> str:
        """``wait``, ``split``, ``message`` or ``other``: how the map draws it."""
        return _describe.family(self.type)

    @property
    def type_name(self) -> str:
        """The type as analysts know it (``Decision split``, ``Sales Cloud activity``), never the raw code."""
        return _describe.type_name(self.type, len(self.outcomes))


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, (dict, list)) else one_line(value)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _outcomes(item: Mapping, key: str, kind: str) -> tuple[Edge, ...]:
    criteria = _dict(_dict(item.get("configurationArguments")).get("criteria"))
    out = []
    for index, outcome in enumerate(o for o in item.get("outcomes") or [] if isinstance(o, dict)):
        parsed = parse_criteria(criteria.get(outcome.get("key")))
        condition = parsed.words() if parsed is not None else ""
        out.append(Edge(key, _text(outcome.get("next")) or None,
                        _describe.outcome_label(kind, outcome, condition, index), condition,
                        _text(outcome.get("key")), parsed))
    return tuple(out)


def _unique_titles(titles: list[str]) -> list[str]:
    """Titles shared by several activities get `` #1``, `` #2``... in the order given (journey order); a title
    made that way never collides with another activity's own title."""
    taken = set(titles)
    seen: dict[str, int] = {}
    out = []
    for title in titles:
        if titles.count(title) == 1:
            out.append(title)
            continue
        n = seen.get(title, 0)
        while True:
            n += 1
            candidate = f"{title} #{n}"
            if candidate not in taken:
                break
        seen[title] = n
        taken.add(candidate)
        out.append(candidate)
    return out


def _read_activities(items: Any) -> list[Activity]:
    """The activities in definition order, each with a key unique in the journey and a unique label."""
    found: list[tuple[dict, str]] = []
    seen: set[str] = set()
    for index, item in enumerate(i for i in (items if isinstance(items, list) else []) if isinstance(i, dict)):
        key = _text(item.get("key")) or _text(item.get("id")) or f"activity-{index + 1}"
        base, n = key, 1
        while key in seen:
            n += 1
            key = f"{base}#{n}"
        seen.add(key)
        found.append((item, key))
    names = [_describe.activity_title(item) for item, _ in found]
    name_of = dict(zip((key for _, key in found), names, strict=True))
    out = []
    for (item, key), name in zip(found, names, strict=True):
        kind = _text(item.get("type"))
        out.append(Activity(_text(item.get("id")), key, name, name, kind,
                            _describe.describe_activity(_with_email_name(item, name_of)),
                            _dict(item.get("configurationArguments")), _outcomes(item, key, kind), item))
    return out


def _with_email_name(item: dict, name_of: Mapping[str, str]) -> dict:
    """An engagement split naming its email by key only gets the email's name (its description reads better)."""
    meta, config = _dict(item.get("metaData")), _dict(item.get("configurationArguments"))
    email = name_of.get(_text(config.get("refActivityCustomerKey")))
    if _text(item.get("type")).upper() != "ENGAGEMENTDECISION" or meta.get("refActivityName") or not email:
        return item
    return {**item, "metaData": {**meta, "refActivityName": email}}


def _read_trigger(definition: Mapping, taken: set[str]) -> Trigger:
    triggers = [t for t in definition.get("triggers") or [] if isinstance(t, dict)]
    item = triggers[0] if triggers else {}
    meta = _dict(item.get("metaData"))
    event_key = _text(meta.get("eventDefinitionKey") or item.get("eventDefinitionKey"))
    key = _text(item.get("key")) or "TRIGGER"
    while key in taken:
        key = "trigger:" + key
    name = _text(item.get("name")) or event_key or "Entry"
    if name.upper() in ("TRIGGER", key.upper()):          # Journey Builder's default name, not the analyst's
        name = f"Entry: {_describe.entry_source(item)}"
    return Trigger(_text(item.get("id")), key, name, _text(item.get("type")), _describe.describe_trigger(item),
                   event_key, item)


def _read_rules(items: Any, kind: str) -> tuple[Rule, ...]:
    """The journey's ``goals`` or ``exits``: each criterion read into words and into the criteria model."""
    out = []
    for index, item in enumerate(i for i in (items if isinstance(items, list) else []) if isinstance(i, dict)):
        config = _dict(item.get("configurationArguments"))
        out.append(Rule(kind, _text(item.get("key")) or f"{kind}-{index + 1}",
                        _text(item.get("name")) or ("Goal" if kind == "goal" else "Exit criterion"),
                        _describe.describe_rule(item, kind), parse_criteria(config.get("criteria")), item))
    return tuple(out)


def _journey_order(keys: list[str], successors: Mapping[str, list[str]], entry: str | None) -> list[str]:
    """Breadth-first from the entry in outcome order; activities it never reaches follow, in definition order."""
    order: list[str] = []
    placed: set[str] = set()
    for start in ([entry] if entry else []) + keys:
        if start in placed:
            continue
        queue = deque([start])
        placed.add(start)
        while queue:
            key = queue.popleft()
            order.append(key)
            for nxt in successors.get(key, []):
                if nxt not in placed:
                    placed.add(nxt)
                    queue.append(nxt)
    return order


def _depths(order: list[str], successors: Mapping[str, list[str]]) -> dict[str, int]:
    """Longest distance from a start (so a branch that joins another is drawn after both); cycles tolerated."""
    incoming = {k: 0 for k in order}
    for key in order:
        for nxt in successors.get(key, []):
            incoming[nxt] += 1
    depth = {k: 0 for k in order}
    ready = deque(k for k in order if incoming[k] == 0)
    done: set[str] = set()
    while ready:
        key = ready.popleft()
        done.add(key)
        for nxt in successors.get(key, []):
            depth[nxt] = max(depth[nxt], depth[key] + 1)
            incoming[nxt] -= 1
            if incoming[nxt] == 0:
                ready.append(nxt)
    for key in order:                      # a loop (never seen in a journey): after the latest drawn parent
        if key not in done:
            done.add(key)
            for nxt in successors.get(key, []):
                if nxt not in done:
                    depth[nxt] = max(depth[nxt], depth[key] + 1)
    return depth


class JourneyGraph:
    """A journey definition as a graph: ``trigger``, ``activities`` (journey order), ``edges``, ``entry``.

    ``edges`` holds every outcome that leads to another activity, the trigger's edge to the entry first;
    ``depth`` gives each activity's column on the map (the entry is 0). ``goals`` and ``exits`` hold the
    journey's goal and exit criteria; ``entry_mode`` its re-entry rule in words.
    """

    def __init__(self, *, id: str = "", key: str = "", name: str = "", version: int | None = None,
                 status: str = "", trigger: Trigger, activities: list[Activity], entry: str | None = None,
                 raw: dict | None = None, goals: tuple[Rule, ...] = (), exits: tuple[Rule, ...] = (),
                 entry_mode: str = ""):
        self.id, self.key, self.name, self.version = id, key, name, version
        self.status = _describe.status_words(status)
        self.goals, self.exits, self.entry_mode = tuple(goals), tuple(exits), entry_mode
        self.trigger, self.raw = trigger, raw if raw is not None else {}
        by_key = {a.key: a for a in activities}
        self.edges: tuple[Edge, ...] = tuple(
            ([Edge(trigger.key, entry)] if entry in by_key else [])
            + [e for a in activities for e in a.outcomes if e.target in by_key])
        successors: dict[str, list[str]] = {k: [] for k in by_key}
        for edge in self.edges[1 if entry in by_key else 0:]:
            if edge.target not in successors[edge.source]:
                successors[edge.source].append(str(edge.target))
        self._successors = successors
        order = _journey_order(list(by_key), successors, entry if entry in by_key else None)
        labels = _unique_titles([by_key[k].label for k in order])
        by_key.update({k: replace(by_key[k], label=label) for k, label in zip(order, labels, strict=True)
                       if by_key[k].label != label})
        self.activities: tuple[Activity, ...] = tuple(by_key[k] for k in order)
        self.entry: Activity | None = by_key.get(entry) if entry else None
        self.depth: dict[str, int] = _depths(order, successors)
        self._by_key = by_key
        self._by_id = {a.id.lower(): a for a in self.activities if a.id}

    @classmethod
    def from_definition(cls, definition: Any) -> JourneyGraph:
        """The graph of a journey definition: its JSON (a dict) or a model carrying it as ``.raw``."""
        if not isinstance(definition, Mapping):
            definition = getattr(definition, "raw", None)
        data: dict = dict(definition) if isinstance(definition, Mapping) else {}
        activities = _read_activities(data.get("activities"))
        targets = {e.target for a in activities for e in a.outcomes}
        entry = next((a.key for a in activities if a.key not in targets), activities[0].key if activities else None)
        trigger = _read_trigger(data, {a.key for a in activities})
        return cls(id=_text(data.get("id")), key=_text(data.get("key")), name=_text(data.get("name")),
                   version=int_or_none(data.get("version")), status=_text(data.get("status")), trigger=trigger,
                   activities=activities, entry=entry, raw=data, goals=_read_rules(data.get("goals"), "goal"),
                   exits=_read_rules(data.get("exits"), "exit"),
                   entry_mode=_describe.entry_mode_words(data.get("entryMode")))

    # -- lookups ----------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.activities)

    def __iter__(self) -> Iterator[Activity]:
        return iter(self.activities)

    def successors(self, key: str) -> tuple[str, ...]:
        """Keys of the activities an activity's outcomes lead to, in outcome order."""
        return tuple(self._successors.get(key, ()))

    def by_id(self, activity_id: Any) -> Activity | None:
        """The activity with this id (journey history's ``ActivityId``; case ignored)."""
        return self._by_id.get(str(activity_id).strip().lower()) if activity_id else None

    def activity(self, ident: Any) -> Activity | None:
        """The activity with this key, id, label or (first in journey order) name."""
        text = _text(ident)
        if not text:
            return None
        return (self._by_key.get(text) or self.by_id(text)
                or next((a for a in self.activities if a.label == text), None)
                or next((a for a in self.activities if a.name == text), None))

    @property
    def title(self) -> str:
        """``Welcome journey (v3, Published)``."""
        extras = ", ".join(x for x in (f"v{self.version}" if self.version is not None else "", self.status) if x)
        name = self.name or self.key or "Journey"
        return f"{name} ({extras})" if extras else name

    def to_frame(self) -> pd.DataFrame:
        """One row per activity, in journey order: key, name, type (in words), description, depth, next, and
        the type code Marketing Cloud writes (``type_code``, as journey history filters name it)."""
        return pd.DataFrame({
            "key": [a.key for a in self.activities], "name": [a.label for a in self.activities],
            "type": [a.type_name for a in self.activities],
            "description": [a.description for a in self.activities],
            "depth": [self.depth.get(a.key, 0) for a in self.activities],
            "next": [tuple(self._by_key[k].label for k in self.successors(a.key)) for a in self.activities],
            "type_code": [a.type for a in self.activities]})

    # -- display ----------------------------------------------------------------------------------------

    def svg(self, **options: Any) -> str:
        """The journey map as SVG text (options: see :func:`sfmc_nb.journeys.svg.journey_svg`)."""
        from .svg import journey_svg

        return journey_svg(self, **options)

    def _repr_html_(self) -> str:
        from .svg import map_html

        head = f"{self.title}: {plural(len(self), 'activity', 'activities')}"
        return (f'<div class="sfmc-journey-map"><div style="font-weight:600;margin:2px 0 6px">'
                f'{html.escape(head)}</div>{map_html(self.svg())}</div>')

    def __repr__(self) -> str:
        lines = [f"JourneyGraph {self.title}: {plural(len(self), 'activity', 'activities')}",
                 f"  {self.trigger.name} [trigger] -> {self.entry.label if self.entry else '(no activities)'}"]
        for a in self.activities:
            branches = [f"{self._by_key[e.target].label}" + (f" [{e.label}]" if e.label else "")
                        for e in a.outcomes if e.target in self._by_key]
            desc = f" ({a.description})" if a.description and a.description != a.label else ""
            lines.append(f"  {a.label} [{a.type_name}]{desc} -> {', '.join(branches) or 'end'}")
        lines.extend(f"  {rule.description}" for rule in self.goals + self.exits)
        if self.entry_mode:
            lines.append(f"  Re-entry: {self.entry_mode}")
        return "\n".join(lines)
