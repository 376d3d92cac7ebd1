"""Decision split criteria: a FilterDefinition XML evaluated against a contact's entry data.

A criterion is ``<FilterDefinition>`` holding ``<ConditionSet Operator="AND|OR">`` elements (nested at will)
of ``<Condition Key="Event.{eventKey}.{Field}" Operator="..."><Value>...</Value></Condition>``. Comparisons
follow SQL, as the filters they stand for: numbers compare as numbers, dates as dates, text without regard to
case, and a missing value satisfies only ``IsNull`` (docs/marketing-cloud-api.md, "A journey's definition").
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from .schema import parse_date

OPERATORS = ("Equal", "NotEqual", "GreaterThan", "LessThan", "GreaterThanOrEqual", "LessThanOrEqual",
             "IsNull", "IsNotNull", "Contains")
_TRUE, _FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n"}


class CriteriaError(ValueError):
    """The criterion cannot be read (bad XML, an unknown operator or set operator)."""


def parse(xml_text: str) -> ET.Element:
    """The root element of a criterion; CriteriaError when it is not a FilterDefinition."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise CriteriaError(f"criteria XML does not parse ({exc})") from None
    if root.tag != "FilterDefinition":
        raise CriteriaError(f"criteria root is <{root.tag}>, not <FilterDefinition>")
    return root


def matches(xml_text: str, data: dict, event_key: str = "") -> bool:
    """Does the entry ``data`` meet the criterion? Field names are matched without regard to case."""
    values = {str(k).lower(): v for k, v in (data or {}).items()}
    children = list(parse(xml_text))
    return all(_holds(child, values, event_key) for child in children)


def _holds(node: ET.Element, values: dict, event_key: str) -> bool:
    if node.tag == "ConditionSet":
        operator = (node.get("Operator") or "AND").upper()
        if operator not in ("AND", "OR"):
            raise CriteriaError(f"ConditionSet operator {operator!r} is not AND or OR")
        results = [_holds(child, values, event_key) for child in node]
        return any(results) if operator == "OR" else all(results)
    if node.tag == "Condition":
        return _condition(node, values, event_key)
    raise CriteriaError(f"unexpected <{node.tag}> in criteria")


def field_name(key: str, event_key: str = "") -> str:
    """``Event.APIEvent-xyz.Score`` -> ``Score``; other keys keep their last dotted part."""
    prefix = f"Event.{event_key}." if event_key else ""
    if prefix and key.startswith(prefix):
        return key[len(prefix):]
    return key.rsplit(".", 1)[-1]


def _condition(node: ET.Element, values: dict, event_key: str) -> bool:
    operator = node.get("Operator") or ""
    if operator not in OPERATORS:
        raise CriteriaError(f"condition operator {operator!r} is not supported")
    value = values.get(field_name(node.get("Key") or "", event_key).lower())
    missing = value is None or (isinstance(value, str) and not value.strip())
    if operator in ("IsNull", "IsNotNull"):
        return missing == (operator == "IsNull")
    if missing:
        return False
    wanted = (node.findtext("Value") or "").strip()
    if operator == "Contains":
        return wanted.lower() in _text(value).lower()
    order = _compare(value, wanted)
    return {"Equal": order == 0, "NotEqual": order != 0, "GreaterThan": order > 0, "LessThan": order < 0,
            "GreaterThanOrEqual": order >= 0, "LessThanOrEqual": order <= 0}[operator]


def _compare(value: object, wanted: str) -> int:
    """-1, 0 or 1 as ``value`` is below, equal to or above ``wanted``: as numbers, booleans, dates or text."""
    pairs = ((_number(value), _number(wanted)), (_boolean(value), _boolean(wanted)),
             (_date(value), _date(wanted)))
    for left, right in pairs:
        if left is not None and right is not None:
            return (left > right) - (left < right)
    left_text, right_text = _text(value).strip().lower(), wanted.lower()
    return (left_text > right_text) - (left_text < right_text)


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _boolean(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value.strip()) < 8:
        return None
    moment = parse_date(value)
    return moment.replace(tzinfo=None) if moment else None


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
