"""Decision, goal and exit criteria (Journey Builder's FilterDefinition XML) read into one model.

Every reader of criteria goes through :func:`parse_criteria`: the words on the journey map and in descriptions,
and whatever solves criteria for test contacts. A criterion is a :class:`ConditionSet` of :class:`Condition`
items (nested sets allowed). Operators are kept as Marketing Cloud writes them (``AtOrAfter``) and described
in words (``is on or after``); relative dates (``;-;14;days``, sfmc-api.md 5.3) become :class:`RelativeDate`.
Parsing never raises: text that is not a FilterDefinition gives ``None``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from .._rules import one_line, plural

__all__ = ["RelativeDate", "Condition", "ConditionSet", "parse_criteria", "criteria_words", "operator_words",
           "field_name", "OPERATOR_WORDS", "UNARY_OPERATORS"]

OPERATOR_WORDS = {
    "equal": "is", "equals": "is", "is": "is", "notequal": "is not", "notequals": "is not", "isnot": "is not",
    "greaterthan": ">", "lessthan": "<", "greaterthanorequal": ">=", "lessthanorequal": "<=",
    "isnull": "is empty", "isnotnull": "is not empty", "isempty": "is empty", "isnotempty": "is not empty",
    "contains": "contains", "notcontains": "does not contain", "doesnotcontain": "does not contain",
    "mustnotcontain": "does not contain", "begins": "begins with", "beginswith": "begins with",
    "notbeginswith": "does not begin with", "ends": "ends with", "endswith": "ends with",
    "notendswith": "does not end with", "between": "is between", "notbetween": "is not between",
    "in": "is one of", "isoneof": "is one of", "notin": "is not one of", "like": "is like", "notlike": "is not like",
    "after": "is after", "before": "is before", "atorafter": "is on or after", "atorbefore": "is on or before",
    "on": "is on", "noton": "is not on",
}
"""Marketing Cloud's operator names (lower case) -> the words shown to analysts."""

UNARY_OPERATORS = frozenset({"isnull", "isnotnull", "isempty", "isnotempty"})
"""Operators that compare with no value."""

_UNITS = {"day": "day", "days": "day", "d": "day", "week": "week", "weeks": "week", "month": "month",
          "months": "month", "year": "year", "years": "year", "hour": "hour", "hours": "hour",
          "minute": "minute", "minutes": "minute"}
_RELATIVE = re.compile(r"^\s*;\s*([+-])\s*;\s*(\d+)\s*;\s*([A-Za-z]+)\s*;?\s*$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@dataclass(frozen=True)
class RelativeDate:
    """A date relative to the moment of evaluation: ``;-;14;days`` is 14 days before now (``sign`` -1)."""

    sign: int
    amount: int
    unit: str           # day, week, month, year, hour or minute

    @property
    def words(self) -> str:
        """``14 days ago``, ``today``, ``3 days from now``."""
        if self.amount == 0:
            return "today" if self.unit in ("day", "week", "month", "year") else "now"
        return f"{plural(self.amount, self.unit)} {'ago' if self.sign < 0 else 'from now'}"

    @property
    def days(self) -> float | None:
        """The offset in days (months of 30 and years of 365 days), ``None`` for an unknown unit."""
        per_day = {"day": 1, "week": 7, "month": 30, "year": 365, "hour": 1 / 24, "minute": 1 / 1440}
        factor = per_day.get(self.unit)
        return None if factor is None else self.sign * self.amount * factor


def parse_relative_date(text: str) -> RelativeDate | None:
    """``;-;14;days`` -> ``RelativeDate(-1, 14, "day")``; anything else -> ``None``."""
    match = _RELATIVE.match(text or "")
    if not match or match.group(3).lower() not in _UNITS:
        return None
    return RelativeDate(-1 if match.group(1) == "-" else 1, int(match.group(2)), _UNITS[match.group(3).lower()])


def field_name(key: str) -> str:
    """The attribute a key names, without its data source: ``Contact_Salesforce_1.Field__c`` -> ``Field__c``.

    ``Event.DEAudience-1b2c."Email"`` -> ``Email``; Salesforce relationship paths (``A__c:B__r:Date__c``) stay
    whole. A key without a dot is its own name.
    """
    text = str(key or "").strip()
    if not text:
        return ""
    last = text.rsplit(".", 1)[-1] if not text.endswith('"') else text.rsplit('."', 1)[-1]
    return last.strip('"[] ') or text


def operator_words(operator: str) -> str:
    """An operator in words: ``AtOrAfter`` -> ``is on or after``; an unknown one spelled out in lower case."""
    raw = str(operator or "").strip()
    known = OPERATOR_WORDS.get(raw.lower())
    if known:
        return known
    return " ".join(_CAMEL.sub(" ", raw).replace("_", " ").lower().split()) or "matches"


@dataclass(frozen=True)
class Condition:
    """One comparison: ``key`` (the full attribute path, or the ``ID=`` when there is no ``Key=``)."""

    key: str
    operator: str                  # as Marketing Cloud writes it, e.g. ``AtOrAfter``
    values: tuple[str, ...] = ()
    relative: RelativeDate | None = None
    value_is_field: bool = False   # ``ValueIsReference`` or ``ValueParameterName``: the value names an attribute
    ephemeral: bool = False        # ``IsEphemeralAttribute``: a field of the entry event

    @property
    def field(self) -> str:
        """The attribute compared (``Last_Successful_Upgrade__c``)."""
        return field_name(self.key)

    @property
    def source(self) -> str:
        """Where the attribute lives: the key without its last part (``Contact_Salesforce_1``), or ``""``."""
        key = self.key.strip()
        if key.endswith('"') and '."' in key:
            return key.rsplit('."', 1)[0]
        return key.rsplit(".", 1)[0] if "." in key else ""

    @property
    def unary(self) -> bool:
        return self.operator.strip().lower() in UNARY_OPERATORS

    @property
    def words(self) -> str:
        """``Last_Successful_Upgrade__c is on or after 14 days ago``."""
        op = operator_words(self.operator)
        if self.unary or not self.values:
            return f"{self.field} {op}".strip()
        if self.relative is not None:
            shown = [self.relative.words]
        elif self.value_is_field:
            shown = [field_name(v) for v in self.values]
        else:
            shown = [_value_words(v) for v in self.values]
        joiner = " and " if self.operator.strip().lower() in ("between", "notbetween") else ", "
        return f"{self.field} {op} {joiner.join(shown)}".strip()


@dataclass(frozen=True)
class ConditionSet:
    """Conditions joined by ``operator`` (``AND`` or ``OR``); ``items`` may hold nested sets."""

    operator: str
    items: tuple[Condition | ConditionSet, ...]

    def conditions(self) -> list[Condition]:
        """Every condition, nested ones included, in document order."""
        out: list[Condition] = []
        for item in self.items:
            out.extend(item.conditions() if isinstance(item, ConditionSet) else [item])
        return out

    @property
    def fields(self) -> list[str]:
        """The attributes compared, each once, in order of appearance."""
        return list(dict.fromkeys(c.field for c in self.conditions() if c.field))

    def words(self, nested: bool = False) -> str:
        """``Score > 50 and (City contains "York" or Email is not empty)``."""
        parts = [i.words(True) if isinstance(i, ConditionSet) else i.words for i in self.items]
        parts = [p for p in parts if p]
        text = f" {self.operator.strip().lower() or 'and'} ".join(parts)
        return f"({text})" if nested and len(parts) > 1 else text


def _value_words(value: str) -> str:
    text = one_line(value)
    if _NUMBER.match(text) or text.lower() in ("true", "false"):
        return text.lower() if text.lower() in ("true", "false") else text
    return f'"{text}"'


def _tag(node: ET.Element) -> str:
    return node.tag.rsplit("}", 1)[-1].lower()


def _attr(node: ET.Element, name: str) -> str:
    lower = name.lower()
    return next((str(v) for k, v in node.attrib.items() if k.lower() == lower), "")


def _condition(node: ET.Element) -> Condition:
    values = tuple((v.text or "").strip() for v in node.iter() if _tag(v) == "value")
    operator = _attr(node, "Operator")
    if operator.strip().lower() in UNARY_OPERATORS:
        values = tuple(v for v in values if v)
    relative = parse_relative_date(values[0]) if len(values) == 1 else None
    value_is_field = _attr(node, "ValueIsReference").lower() == "true"
    parameter = _attr(node, "ValueParameterName").strip()
    if parameter and not any(values):      # compared with another attribute (often a field of the entry event)
        values, value_is_field = (parameter,), True
    return Condition(key=_attr(node, "Key") or _attr(node, "ID") or _attr(node, "Id"), operator=operator,
                     values=values, relative=relative, value_is_field=value_is_field,
                     ephemeral=_attr(node, "IsEphemeralAttribute").lower() == "true")


def _set(node: ET.Element) -> ConditionSet:
    items: list[Condition | ConditionSet] = []
    for child in node:
        tag = _tag(child)
        if tag == "condition":
            items.append(_condition(child))
        elif tag == "conditionset":
            items.append(_set(child))
    return ConditionSet(_attr(node, "Operator").upper() or "AND", tuple(items))


def parse_criteria(xml: Any) -> ConditionSet | None:
    """A FilterDefinition (or a bare ConditionSet or Condition) as a :class:`ConditionSet`; else ``None``."""
    if not isinstance(xml, str) or not xml.strip():
        return None
    try:
        root = ET.fromstring(xml.strip())
    except ET.ParseError:
        return None
    tag = _tag(root)
    if tag == "conditionset":
        return _set(root)
    if tag == "condition":
        return ConditionSet("AND", (_condition(root),))
    sets = [_set(c) for c in root if _tag(c) == "conditionset"]
    if not sets:
        return None
    return sets[0] if len(sets) == 1 else ConditionSet("AND", tuple(sets))


def criteria_words(xml: Any) -> str:
    """A criterion in words (``Score > 50 and Country is "US"``); ``""`` when it is not a FilterDefinition."""
    parsed = parse_criteria(xml)
    return parsed.words() if parsed is not None else ""
