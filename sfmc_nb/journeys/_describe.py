"""Short, readable text for a journey's parts: an activity's one-line description and its branch labels.

Everything here reads JSON that may be incomplete or of a type never seen before, so every function returns
some text (possibly empty) and none raises: a journey map must draw whatever a tenant sends.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any

from .._rules import one_line, plural

__all__ = ["family", "describe_activity", "describe_trigger", "criteria_text", "outcome_label", "percentage"]

DESCRIPTION_CHARS = 120
"""Longest description kept (the map cuts it further; the hover title shows this much)."""

_OPERATORS = {
    "equal": "=", "equals": "=", "notequal": "!=", "notequals": "!=", "greaterthan": ">", "lessthan": "<",
    "greaterthanorequal": ">=", "lessthanorequal": "<=", "isnull": "is empty", "isnotnull": "is not empty",
    "contains": "contains", "doesnotcontain": "does not contain", "mustnotcontain": "does not contain",
    "beginswith": "begins with", "endswith": "ends with", "between": "between", "isempty": "is empty",
    "isnotempty": "is not empty",
}
_UNARY = {"is empty", "is not empty"}
_ENGAGEMENT = {2: "Opened", 3: "Clicked", 6: "Bounced"}
_WAIT_UNITS = {"MINUTES": "minute", "MINUTE": "minute", "HOURS": "hour", "HOUR": "hour", "DAYS": "day",
               "DAY": "day", "WEEKS": "week", "WEEK": "week", "MONTHS": "month", "MONTH": "month"}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def family(activity_type: str) -> str:
    """The kind of box an activity is drawn as: ``wait``, ``split``, ``message`` or ``other`` (plain)."""
    kind = str(activity_type or "").upper()
    if "WAIT" in kind:
        return "wait"
    if "DECISION" in kind or "SPLIT" in kind or kind in ("ABNTEST", "PATHOPTIMIZER"):
        return "split"
    if any(word in kind for word in ("EMAIL", "SMS", "PUSH", "INAPP", "WHATSAPP")):
        return "message"
    return "other"


def _as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, (dict, list)) else one_line(value)


def percentage(outcome: Mapping) -> float | None:
    """A random split outcome's share (``arguments.percentage``), or ``None`` when absent or not a number."""
    args = _as_dict(outcome.get("arguments"))
    for name in ("percentage", "Percentage", "percent"):
        value = args.get(name)
        if isinstance(value, bool) or value is None:
            continue
        try:
            return float(str(value).strip().rstrip("%"))
        except ValueError:
            continue
    return None


def _percent_text(value: float) -> str:
    return f"{int(value)}%" if float(value).is_integer() else f"{value:g}%"


def outcome_label(activity_type: str, outcome: Mapping, criteria: str = "", index: int = 0) -> str:
    """The label drawn on a branch: the canvas label, else what the outcome means (``40%``, ``Yes``, criteria)."""
    label = _text(_as_dict(outcome.get("metaData")).get("label"))
    kind = str(activity_type or "").upper()
    if kind == "RANDOMSPLIT":
        share = percentage(outcome)
        if share is not None:
            return f"{label} · {_percent_text(share)}" if label else _percent_text(share)
    if label:
        return label
    if kind == "ENGAGEMENTDECISION":
        when = _as_dict(outcome.get("arguments")).get("when")
        if isinstance(when, bool):
            return "Yes" if when else "No"
        return "Yes" if index == 0 else "No"
    if kind == "MULTICRITERIADECISION":
        return criteria or "Remainder"
    return ""


# -- decision criteria: FilterDefinition XML ------------------------------------------------------------


def _field_name(key: str) -> str:
    """``Event.APIEvent-xyz.Score`` -> ``Score`` (the attribute, without its data source path)."""
    last = key.strip().rsplit(".", 1)[-1] if key else ""
    return last.strip('"[] ') or key


def _condition_text(node: ET.Element) -> str:
    field = _field_name(node.get("Key") or node.get("key") or "")
    raw_op = node.get("Operator") or node.get("operator") or ""
    op = _OPERATORS.get(raw_op.strip().lower(), raw_op)
    if op in _UNARY:
        return f"{field} {op}"
    values = [one_line(v.text or "") for v in node.iter() if v.tag.lower() == "value"]
    value = ", ".join(v if _NUMBER.match(v) else f'"{v}"' for v in values)
    return f"{field} {op} {value}".strip()


def _set_text(node: ET.Element, nested: bool) -> str:
    joiner = f" {(node.get('Operator') or node.get('operator') or 'AND').strip().lower()} "
    parts = []
    for child in node:
        tag = child.tag.lower()
        if tag == "condition":
            parts.append(_condition_text(child))
        elif tag == "conditionset":
            parts.append(_set_text(child, True))
    parts = [p for p in parts if p]
    text = joiner.join(parts)
    return f"({text})" if nested and len(parts) > 1 else text


def criteria_text(xml: Any) -> str:
    """A decision criterion (FilterDefinition XML) as short text, e.g. ``Score > 50 and Country = "US"``.

    Text that is not XML gives ``""``: the branch keeps its canvas label and the map never fails on it.
    """
    if not isinstance(xml, str) or not xml.strip():
        return ""
    try:
        root = ET.fromstring(xml.strip())
    except ET.ParseError:
        return ""
    sets = [root] if root.tag.lower() == "conditionset" else [c for c in root if c.tag.lower() == "conditionset"]
    if not sets and root.tag.lower() == "condition":
        return one_line(_condition_text(root), DESCRIPTION_CHARS)
    return one_line(" and ".join(t for t in (_set_text(s, len(sets) > 1) for s in sets) if t), DESCRIPTION_CHARS)


# -- one line per activity ------------------------------------------------------------------------------


def _wait_text(activity: Mapping, config: Mapping) -> str:
    duration, unit = config.get("waitDuration"), str(config.get("waitUnit") or "").strip().upper()
    try:
        amount = float(duration)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "Wait"
    if not math.isfinite(amount):
        return "Wait"
    noun = _WAIT_UNITS.get(unit, unit.lower() or "unit")
    return f"Wait {plural(int(amount), noun)}" if amount.is_integer() else f"Wait {amount:g} {noun}s"


def _email_text(activity: Mapping, config: Mapping) -> str:
    send = _as_dict(config.get("triggeredSend"))
    for name in ("emailName", "name", "r__asset_name_readOnly", "r__asset_name"):
        if _text(send.get(name)):
            return f"Email: {_text(send.get(name))}"
    subject = _text(send.get("emailSubject"))
    return f"Subject: {subject}" if subject else "Send email"


def _decision_text(activity: Mapping, config: Mapping) -> str:
    criteria = _as_dict(config.get("criteria"))
    outcomes = [o for o in activity.get("outcomes") or [] if isinstance(o, dict)]
    texts = [criteria_text(criteria.get(o.get("key"))) or "remainder" for o in outcomes]
    head = plural(len(outcomes), "path")
    return f"{head}: " + "; ".join(texts) if texts else head


def _random_text(activity: Mapping, config: Mapping) -> str:
    outcomes = [o for o in activity.get("outcomes") or [] if isinstance(o, dict)]
    shares = [percentage(o) for o in outcomes]
    if outcomes and all(s is not None for s in shares):
        return "Random: " + " / ".join(_percent_text(s) for s in shares if s is not None)
    return f"Random: {plural(len(outcomes), 'path')}"


def _engagement_text(activity: Mapping, config: Mapping) -> str:
    stats = config.get("statsTypeId")
    try:
        verb = _ENGAGEMENT.get(int(stats), "Engaged with")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        verb = "Engaged with"
    email = _text(_as_dict(activity.get("metaData")).get("refActivityName")) or _text(
        config.get("refActivityCustomerKey"))
    return f"{verb} {email}?" if email else f"{verb} the email?"


Describer = Callable[[Mapping, Mapping], str]
"""Builds an activity's line from the activity and its ``configurationArguments`` (a dict, possibly empty)."""


def _fixed(text: str) -> Describer:
    """A describer for activities whose line does not depend on their configuration."""
    return lambda activity, config: text


_DESCRIBERS: dict[str, Describer] = {
    "WAIT": _wait_text,
    "STOWAIT": _fixed("Wait for the best send time"),
    "WAITBYATTRIBUTE": _fixed("Wait until a date attribute"),
    "MULTICRITERIADECISION": _decision_text,
    "RANDOMSPLIT": _random_text,
    "ENGAGEMENTDECISION": _engagement_text,
    "EMAILV2": _email_text,
    "EMAIL": _email_text,
    "SMSSYNC": _fixed("Send SMS"),
    "UPDATECONTACTDATA": _fixed("Update contact data"),
    "REST": _fixed("Custom activity"),
}
"""Activity type (upper case) -> its describer; other types show their own ``description``."""


def describe_activity(activity: Mapping) -> str:
    """One short line saying what an activity does: ``Wait 2 days``, ``3 paths: Score > 50; ...``."""
    config = _as_dict(activity.get("configurationArguments"))
    describer = _DESCRIBERS.get(str(activity.get("type") or "").upper())
    text = describer(activity, config) if describer else _text(activity.get("description"))
    return one_line(text, DESCRIPTION_CHARS)


def describe_trigger(trigger: Mapping) -> str:
    """The entry source in a few words: ``API event APIEvent-1b2c``."""
    meta = _as_dict(trigger.get("metaData"))
    kind = _text(trigger.get("type"))
    event_key = _text(meta.get("eventDefinitionKey") or trigger.get("eventDefinitionKey"))
    words = {"APIEVENT": "API event", "EVENT": "Event", "CONTACTAUDIENCE": "Audience",
             "AUTOMATIONAUDIENCE": "Automation", "SALESFORCEOBJECTTRIGGERV2": "Salesforce data"}
    head = words.get(kind.upper(), kind or "Entry")
    return one_line(f"{head} {event_key}".strip(), DESCRIPTION_CHARS)
