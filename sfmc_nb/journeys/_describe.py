"""Words for a journey's parts, as an analyst reads them: an activity's title and one-line description, its
type's name, branch labels, goals and exits, the re-entry rule and the status.

Everything here reads JSON that may be incomplete or of a type never seen before, so every function returns
some text (possibly empty) and none raises: a journey map must draw whatever a tenant sends. Criteria are read
by :mod:`.criteria`, the one FilterDefinition model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from .._rules import one_line, plural
from . import criteria

__all__ = ["family", "type_name", "describe_activity", "activity_title", "describe_trigger", "entry_source",
           "criteria_text",
           "outcome_label", "percentage", "describe_rule", "entry_mode_words", "status_words", "TYPE_NAMES"]

TYPE_NAMES = {
    "WAIT": "Wait", "WAITBYDURATION": "Wait", "WAITBYATTRIBUTE": "Wait until a date attribute",
    "WAITUNTILDATE": "Wait until a date", "WAITBYEVENT": "Wait until an event", "WAITUNTILEVENT": "Wait until an event",
    "STOWAIT": "Einstein send-time optimisation", "EINSTEINSTO": "Einstein send-time optimisation",
    "MULTICRITERIADECISION": "Decision split", "MULTICRITERIADECISIONV2": "Decision split",
    "MULTICRITERIADECISIONEXTENSION": "Decision split", "DECISION": "Decision split",
    "RANDOMSPLIT": "Random split", "RANDOMSPLITV2": "Random split", "ENGAGEMENTDECISION": "Engagement split",
    "ENGAGEMENTSPLIT": "Engagement split", "ENGAGEMENTSPLITV2": "Engagement split",
    "EINSTEINENGAGEMENTSPLIT": "Einstein engagement split", "EINSTEINSPLIT": "Einstein scoring split",
    "EINSTEIN_MC_EMAIL_CLICK": "Einstein click split", "EINSTEIN_MC_EMAIL_OPEN": "Einstein open split",
    "ABNTEST": "Path optimizer", "PATHOPTIMIZER": "Path optimizer", "ABNTESTSTOP": "Path optimizer winner",
    "RESTDECISION": "Custom split", "REST": "Custom activity", "EMAILV2": "Email", "EMAIL": "Email",
    "SMSSYNC": "SMS", "SMS": "SMS", "PUSHNOTIFICATIONACTIVITY": "Push notification", "PUSH": "Push notification",
    "PUSHINBOXACTIVITY": "Push inbox message", "INAPPACTIVITY": "In-app message", "INAPP": "In-app message",
    "WHATSAPPACTIVITY": "WhatsApp message", "LINEACTIVITY": "LINE message", "UPDATECONTACTDATA": "Update contact",
    "CONTACTUPDATE": "Update contact", "SALESCLOUDACTIVITY": "Sales Cloud activity",
    "SALESFORCESALESCLOUDACTIVITY": "Sales Cloud activity", "OBJECTACTIVITY": "Salesforce object activity",
    "CAMPAIGNMEMBER": "Salesforce campaign member", "LEAD": "Salesforce lead", "CONVERTLEAD": "Convert lead",
    "EVENT": "Fire event", "JOIN": "Join", "EXIT": "Exit", "GOAL": "Goal", "EXITCRITERIA": "Exit criteria",
    "ADAUDIENCE": "Advertising audience", "FACEBOOKAUDIENCE": "Facebook audience",
}
"""Activity type codes (upper case) -> the name an analyst knows the activity by (the canvas's palette)."""

_ENGAGEMENT = {2: "Opened", 3: "Clicked", 6: "Bounced"}
_WAIT_UNITS = {"MINUTES": "minute", "MINUTE": "minute", "HOURS": "hour", "HOUR": "hour", "DAYS": "day",
               "DAY": "day", "WEEKS": "week", "WEEK": "week", "MONTHS": "month", "MONTH": "month"}
_GENERATED_SUFFIX = re.compile(r"\s*-\s*[0-9a-fA-F]{32}\s*$")
_SF_NAMESPACE = re.compile(r"^[A-Za-z0-9]+__(?=[A-Za-z])")
_ENTRY_MODES = {
    "multipleentries": "contacts may enter again at any time",
    "onceanddone": "contacts may enter again only after they have left the journey",
    "singleentryacrossallversions": "contacts enter once, whatever the version",
    "singleentry": "contacts enter once",
    "notset": "re-entry not set",
}
_STATUSES = {s.lower(): s for s in ("Draft", "Published", "ScheduledToPublish", "Stopped", "Paused", "Unpublished",
                                    "Deleted", "Finishing", "Running", "Scheduled", "Error")}


def family(activity_type: str) -> str:
    """The kind of box an activity is drawn as: ``wait``, ``split``, ``message`` or ``other`` (plain)."""
    kind = str(activity_type or "").upper()
    if "WAIT" in kind:
        return "wait"
    if "DECISION" in kind or "SPLIT" in kind or kind in ("ABNTEST", "PATHOPTIMIZER"):
        return "split"
    if any(word in kind for word in ("EMAIL", "SMS", "PUSH", "INAPP", "WHATSAPP", "LINEACTIVITY")):
        return "message"
    return "other"


def type_name(activity_type: Any, branches: int = 0) -> str:
    """The activity type as analysts name it: ``MULTICRITERIADECISION`` -> ``Decision split``.

    A custom activity with several ``branches`` is a custom split. A type never seen before is spelled in words
    (``FUTURESYNC`` -> ``Futuresync activity``), never shown raw.
    """
    raw = _text(activity_type)
    if raw.upper() == "REST" and branches > 1:
        return "Custom split"
    known = TYPE_NAMES.get(raw.upper())
    if known:
        return known
    words = " ".join(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", raw).replace("_", " ").replace("-", " ").split())
    return f"{words[:1].upper()}{words[1:].lower()} activity" if words else "Activity"


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


def _is_share_label(label: str, share: float) -> bool:
    """Whether a canvas label only repeats the share (``50%`` next to a percentage of 50)."""
    try:
        return float(label.strip().rstrip("%").strip()) == share
    except ValueError:
        return False


def outcome_label(activity_type: str, outcome: Mapping, criteria: str = "", index: int = 0) -> str:
    """The label drawn on a branch: the canvas label, else what the outcome means (``40%``, ``Yes``, criteria).

    Random splits and path optimizers show the path's name and its share once: ``Path 1 · 50%``.
    """
    meta = _as_dict(outcome.get("metaData"))
    label = _text(meta.get("label"))
    kind = str(activity_type or "").upper()
    if kind in ("RANDOMSPLIT", "ABNTEST", "PATHOPTIMIZER"):
        share = percentage(outcome)
        if share is not None:
            if not label or _is_share_label(label, share):
                label = _text(meta.get("pathName")) or _text(meta.get("name"))
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
    return _text(meta.get("pathName")) or _text(meta.get("name"))


def criteria_text(xml: Any) -> str:
    """A decision criterion (FilterDefinition XML) in words, e.g. ``Score > 50 and Country is "US"``.

    Text that is not XML gives ``""``: the branch keeps its canvas label and the map never fails on it.
    """
    return criteria.criteria_words(xml)


# -- one line per activity ------------------------------------------------------------------------------


def _duration(amount: Any, unit: Any) -> str:
    """``2 days``, ``1.5 weeks``; ``""`` when the amount is not a finite number."""
    try:
        value = abs(float(amount))
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(value):
        return ""
    noun = _WAIT_UNITS.get(str(unit or "").strip().upper(), str(unit or "").strip().lower() or "unit")
    return plural(int(value), noun) if value.is_integer() else f"{value:g} {noun}s"


def _attribute_of(expression: Any) -> str:
    """``{{Event.DEAudience-1."Start_Date"}}`` -> ``Start_Date``."""
    text = _text(expression).strip("{} ")
    return criteria.field_name(text) if text else ""


def _wait_text(activity: Mapping, config: Mapping) -> str:
    meta = _as_dict(activity.get("metaData"))
    at = _text(config.get("specifiedTime"))
    at_text = f" at {at}" if at and (config.get("waitEndDateAttributeExpression") or config.get("specificDate")) else ""
    attribute = _attribute_of(config.get("waitEndDateAttributeExpression")) or _text(
        _as_dict(meta.get("attribute")).get("displayName"))
    if attribute:
        span = _duration(config.get("waitDuration"), config.get("waitUnit"))
        try:
            sign = float(config.get("waitDuration") or 0)
        except (TypeError, ValueError):
            sign = 0
        if span and sign:
            return f"Wait until {span} {'before' if sign < 0 else 'after'} {attribute}{at_text}"
        return f"Wait until {attribute}{at_text}"
    if _text(config.get("specificDate")):
        return f"Wait until {_text(config.get('specificDate'))}{at_text}"
    event = _text(config.get("waitForEventKey"))
    span = _duration(config.get("waitDuration"), config.get("waitUnit"))
    if event:
        return f"Wait for event {event}" + (f" (at most {span})" if span else "")
    if str(activity.get("type") or "").upper() == "WAITBYATTRIBUTE":
        return "Wait until a date attribute"
    return f"Wait {span}" if span else "Wait"


def _email_name(config: Mapping) -> str:
    """The email's own name when the definition carries it (not the generated triggered-send name)."""
    send = _as_dict(config.get("triggeredSend"))
    for name in ("emailName", "r__asset_name_readOnly", "r__asset_name", "r__email_name"):
        if _text(send.get(name)):
            return _text(send.get(name))
    return ""


def _email_text(activity: Mapping, config: Mapping) -> str:
    name = _email_name(config)
    if name:
        return f"Email: {name}"
    send = _as_dict(config.get("triggeredSend"))
    subject = _text(send.get("emailSubject")) or _text(send.get("dynamicEmailSubject"))
    if subject:
        return f"Subject: {subject}"
    generated = _GENERATED_SUFFIX.sub("", _text(send.get("name")))
    return f"Email: {generated}" if generated else "Send email"


def _decision_text(activity: Mapping, config: Mapping) -> str:
    found = _as_dict(config.get("criteria"))
    outcomes = [o for o in activity.get("outcomes") or [] if isinstance(o, dict)]
    texts = [criteria_text(found.get(o.get("key"))) or "remainder" for o in outcomes]
    head = plural(len(outcomes), "path")
    return f"{head}: " + "; ".join(texts) if texts else head


def _shares(activity: Mapping) -> list[float] | None:
    outcomes = [o for o in activity.get("outcomes") or [] if isinstance(o, dict)]
    shares = [percentage(o) for o in outcomes]
    return [s for s in shares if s is not None] if outcomes and all(s is not None for s in shares) else None


def _random_text(activity: Mapping, config: Mapping) -> str:
    shares = _shares(activity)
    if shares:
        return "Random: " + " / ".join(_percent_text(s) for s in shares)
    return f"Random: {plural(len(activity.get('outcomes') or []), 'path')}"


def _path_optimizer_text(activity: Mapping, config: Mapping) -> str:
    shares = _shares(activity)
    head = "Path optimizer: " + (" / ".join(_percent_text(s) for s in shares) if shares else
                                 plural(len(activity.get("outcomes") or []), "path"))
    metric = _text(config.get("engagementWinnerMetric"))
    period = _duration(config.get("engagementPeriod"), _text(config.get("engagementPeriodUnits")).upper())
    if metric and period:
        head += f"; winner by {metric.lower()} after {period}"
    return head


def _engagement_text(activity: Mapping, config: Mapping) -> str:
    stats = config.get("statsTypeId")
    try:
        verb = _ENGAGEMENT.get(int(stats), "Engaged with")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        verb = "Engaged with"
    email = _text(_as_dict(activity.get("metaData")).get("refActivityName")) or _text(
        config.get("refActivityCustomerKey"))
    return f"{verb} {email}?" if email else f"{verb} the email?"


def _sf_object(name: Any) -> str:
    """``coe__Contact_Audience__c`` -> ``Contact Audience``; ``Task`` stays ``Task``."""
    text = _SF_NAMESPACE.sub("", _text(name))
    text = re.sub(r"__[a-z]$", "", text)
    return " ".join(text.replace("_", " ").split()) or "record"


def _sales_cloud_text(activity: Mapping, config: Mapping) -> str:
    objects = _as_dict(_as_dict(activity.get("arguments")).get("objectMap")).get("objects")
    steps = []
    for item in objects if isinstance(objects, list) else []:
        if isinstance(item, dict):
            action = (_text(item.get("action")) or "update").lower()
            steps.append(f"{action} {_sf_object(item.get('type'))}")
    if steps:
        return "Salesforce: " + ", ".join(steps)
    if _as_dict(activity.get("metaData")).get("isConfigured") is False:
        return "Salesforce: not configured yet"
    return "Salesforce: create or update a record"


def _update_contact_text(activity: Mapping, config: Mapping) -> str:
    data = _as_dict(_as_dict(activity.get("arguments")).get("activityData"))
    fields = data.get("updateContactFields")
    if isinstance(fields, list) and fields:
        return f"Update contact data: {plural(len(fields), 'field')}"
    return "Update contact data"


def _sto_text(activity: Mapping, config: Mapping) -> str:
    hours = _as_dict(config.get("params")).get("slidingWindowHours")
    try:
        window = int(hours)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "Einstein: wait for each contact's best send time"
    return f"Einstein: wait for each contact's best send time, at most {plural(window, 'hour')}"


def _custom_text(activity: Mapping, config: Mapping) -> str:
    outcomes = [o for o in activity.get("outcomes") or [] if isinstance(o, dict)]
    url = _text(_as_dict(_as_dict(activity.get("arguments")).get("execute")).get("url"))
    host = re.sub(r"^[a-z]+://", "", url).split("/", 1)[0]
    service = f" ({host})" if host and "{{" not in host else ""
    if str(activity.get("type") or "").upper() == "RESTDECISION" or len(outcomes) > 1:
        return f"Custom split: {plural(len(outcomes), 'path')}{service}"
    return f"Custom activity{service}"


Describer = Callable[[Mapping, Mapping], str]
"""Builds an activity's line from the activity and its ``configurationArguments`` (a dict, possibly empty)."""


def _fixed(text: str) -> Describer:
    """A describer for activities whose line does not depend on their configuration."""
    return lambda activity, config: text


_DESCRIBERS: dict[str, Describer] = {
    "WAIT": _wait_text,
    "WAITBYDURATION": _wait_text,
    "WAITBYATTRIBUTE": _wait_text,
    "WAITUNTILDATE": _wait_text,
    "STOWAIT": _sto_text,
    "MULTICRITERIADECISION": _decision_text,
    "RANDOMSPLIT": _random_text,
    "ABNTEST": _path_optimizer_text,
    "PATHOPTIMIZER": _path_optimizer_text,
    "ABNTESTSTOP": _fixed("Path optimizer: the winning path continues from here"),
    "ENGAGEMENTDECISION": _engagement_text,
    "EMAILV2": _email_text,
    "EMAIL": _email_text,
    "SMSSYNC": _fixed("Send SMS"),
    "UPDATECONTACTDATA": _update_contact_text,
    "SALESCLOUDACTIVITY": _sales_cloud_text,
    "REST": _custom_text,
    "RESTDECISION": _custom_text,
}
"""Activity type (upper case) -> its describer; other types show their own ``description`` or type name."""


def describe_activity(activity: Mapping) -> str:
    """One line saying what an activity does: ``Wait 2 days``, ``3 paths: Score > 50; ...`` (never cut)."""
    config = _as_dict(activity.get("configurationArguments"))
    describer = _DESCRIBERS.get(str(activity.get("type") or "").upper())
    text = describer(activity, config) if describer else _text(activity.get("description"))
    return one_line(text or type_name(activity.get("type")))


def _list_words(items: list[str], most: int = 3) -> str:
    if len(items) > most:
        return ", ".join(items[:most]) + f" and {len(items) - most} more"
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def activity_title(activity: Mapping) -> str:
    """The box title: the activity's name, else what it is (``Decision on Email and Score``, ``Wait 1 day``)."""
    name = _text(activity.get("name"))
    if name:
        return name
    kind = str(activity.get("type") or "").upper()
    config = _as_dict(activity.get("configurationArguments"))
    if kind == "MULTICRITERIADECISION":
        fields: list[str] = []
        for xml in _as_dict(config.get("criteria")).values():
            parsed = criteria.parse_criteria(xml)
            fields.extend(f for f in (parsed.fields if parsed else []) if f not in fields)
        return f"Decision on {_list_words(fields)}" if fields else "Decision split"
    if kind in ("RANDOMSPLIT", "ABNTEST", "PATHOPTIMIZER"):
        shares = _shares(activity)
        head = type_name(kind)
        return f"{head} {'/'.join(_percent_text(s).rstrip('%') for s in shares)}" if shares else head
    if kind == "EMAILV2" or kind == "EMAIL":
        return _email_name(config) or _email_text(activity, config)
    if kind in ("WAIT", "WAITBYDURATION", "WAITBYATTRIBUTE", "WAITUNTILDATE"):
        return describe_activity(activity)
    return type_name(activity.get("type"), len(activity.get("outcomes") or []))


def entry_source(trigger: Mapping) -> str:
    """The kind of entry source in words: ``Data extension``, ``Salesforce data``, ``API event``."""
    kind = _text(trigger.get("type"))
    words = {"APIEVENT": "API event", "EVENT": "Event", "CONTACTAUDIENCE": "Audience",
             "AUTOMATIONAUDIENCE": "Automation", "SALESFORCEOBJECTTRIGGERV2": "Salesforce data",
             "SALESFORCEOBJECTTRIGGER": "Salesforce data", "EMAILAUDIENCE": "Data extension",
             "TRANSACTIONAL-API": "Transactional API", "CONTACTEVENT": "Contact event",
             "CLOUDPAGESFORM": "CloudPages form", "SMARTCAPTURE": "Smart capture form"}
    return words.get(kind.upper(), type_name(kind).removesuffix(" activity") if kind else "Entry")


def describe_trigger(trigger: Mapping) -> str:
    """The entry source in a few words: ``API event APIEvent-1b2c``."""
    meta = _as_dict(trigger.get("metaData"))
    event_key = _text(meta.get("eventDefinitionKey") or trigger.get("eventDefinitionKey"))
    return one_line(f"{entry_source(trigger)} {event_key}".strip())


def describe_rule(item: Mapping, kind: str) -> str:
    """A goal or an exit criterion in words: ``Goal: IsConverted is true (target 100 contacts)``."""
    config, meta = _as_dict(item.get("configurationArguments")), _as_dict(item.get("metaData"))
    words = criteria_text(config.get("criteria")) or _text(meta.get("criteriaDescription")) or _text(
        meta.get("configurationDescription")) or _text(item.get("description"))
    if kind == "goal":
        text = f"Goal: {words}" if words else "Goal"
        target, unit = _text(meta.get("conversionValue")), _text(meta.get("conversionUnit")).lower()
        if target:
            text += f" (target {target}%)" if unit.startswith("percent") else f" (target {target} contacts)"
        if meta.get("isExitCriteria") is True:
            text += "; contacts who meet it leave the journey"
        return text
    return f"Exit when {words}" if words else "Exit criterion"


def entry_mode_words(mode: Any) -> str:
    """A journey's ``entryMode`` in words (``OnceAndDone``: enter again only after leaving)."""
    text = _text(mode)
    return _ENTRY_MODES.get(text.lower(), f"entry mode {text}" if text else "")


def status_words(status: Any) -> str:
    """A journey's ``status`` as Journey Builder shows it: ``DRAFT`` -> ``Draft``; unknown ones unchanged."""
    text = _text(status)
    return _STATUSES.get(text.lower(), text)
