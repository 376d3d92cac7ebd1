"""What the demo journeys do: their ``activities[]`` in the shape of a journey definition.

Each activity has ``id`` (a GUID, what journey history's ActivityId names), ``key`` (unique in the journey),
``name``, ``type``, ``configurationArguments`` and ``outcomes[]``; each outcome has ``key``, ``next`` (the key
of the following activity, absent at the end of a path), ``metaData.label`` and ``arguments``. The entry
activity is the first one. See docs/marketing-cloud-api.md, "A journey's definition".
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

Ids = Callable[[], str]


def outcome(ids: Ids, label: str, next_key: str | None = None, **arguments) -> dict:
    item: dict = {"key": ids(), "metaData": {"label": label, "invalid": False}, "arguments": dict(arguments)}
    if next_key:
        item["next"] = next_key
    return item


def activity(ids: Ids, key: str, name: str, kind: str, config: dict, outcomes: list[dict]) -> dict:
    return {"id": ids(), "key": key, "name": name, "type": kind, "description": "", "arguments": {},
            "configurationArguments": config, "metaData": {"isConfigured": True}, "outcomes": outcomes}


def email(ids: Ids, key: str, name: str, subject: str, next_key: str | None = None) -> dict:
    return activity(ids, key, name, "EMAILV2", {"triggeredSend": {"name": name, "emailSubject": subject}},
                    [outcome(ids, "", next_key)])


def wait(ids: Ids, key: str, name: str, duration: int, unit: str, next_key: str | None = None) -> dict:
    return activity(ids, key, name, "WAIT", {"waitDuration": duration, "waitUnit": unit},
                    [outcome(ids, "", next_key)])


def decision(ids: Ids, key: str, name: str, paths: list[tuple[str, str | None, str | None]]) -> dict:
    """``paths``: (label, next key, criterion XML or None for the remainder), in evaluation order."""
    outcomes, criteria = [], {}
    for label, next_key, xml in paths:
        item = outcome(ids, label, next_key)
        outcomes.append(item)
        if xml:
            criteria[item["key"]] = xml
    return activity(ids, key, name, "MULTICRITERIADECISION", {"criteria": criteria}, outcomes)


def random_split(ids: Ids, key: str, name: str, paths: list[tuple[str, str | None, int]]) -> dict:
    """``paths``: (label, next key, percentage); percentages add up to 100."""
    return activity(ids, key, name, "RANDOMSPLIT", {},
                    [outcome(ids, label, nxt, percentage=share) for label, nxt, share in paths])


def engagement(ids: Ids, key: str, name: str, email_key: str, clicked: bool, yes: str | None,
               no: str | None) -> dict:
    """Outcome 0 is taken when the contact opened (``clicked``: clicked) the email ``email_key``, 1 otherwise."""
    config = {"refActivityCustomerKey": email_key, "statsTypeId": 3 if clicked else 2}
    labels = ("Clicked", "Not clicked") if clicked else ("Opened", "Not opened")
    return activity(ids, key, name, "ENGAGEMENTDECISION", config,
                    [outcome(ids, labels[0], yes), outcome(ids, labels[1], no)])


def condition(event_key: str, field: str, operator: str, value: object = None) -> str:
    tail = "" if value is None else f"<Value><![CDATA[{value}]]></Value>"
    return (f'<Condition IsEphemeralAttribute="true" Key="Event.{event_key}.{field}" Operator="{operator}">'
            f"{tail}</Condition>")


def criterion(operator: str, *parts: str) -> str:
    return f'<FilterDefinition><ConditionSet Operator="{operator}">{"".join(parts)}</ConditionSet></FilterDefinition>'


def welcome(ids: Ids, event_key: str) -> list[dict]:
    """A wait, a three-way decision on entry data, an email on each branch, an engagement and a random split."""
    vip = criterion("OR", condition(event_key, "IsVip", "Equal", "true"),
                    '<ConditionSet Operator="AND">' + condition(event_key, "Points", "GreaterThanOrEqual", 1000)
                    + condition(event_key, "Email", "IsNotNull") + "</ConditionSet>")
    points = criterion("AND", condition(event_key, "Points", "GreaterThan", 0))
    return [
        email(ids, "EMAILV2-1", "Welcome email", "Welcome aboard, %%FirstName%%", "WAIT-1"),
        wait(ids, "WAIT-1", "Wait 1 day", 1, "DAYS", "MULTICRITERIADECISION-1"),
        decision(ids, "MULTICRITERIADECISION-1", "Segment by entry data", [
            ("VIP", "EMAILV2-2", vip), ("Has points", "EMAILV2-3", points),
            ("Everyone else", "EMAILV2-4", None)]),
        email(ids, "EMAILV2-2", "VIP offer", "A welcome gift for our VIPs"),
        email(ids, "EMAILV2-3", "Points balance", "You already have points"),
        email(ids, "EMAILV2-4", "Getting started tips", "Five ways to get started", "WAIT-2"),
        wait(ids, "WAIT-2", "Wait 2 days", 2, "DAYS", "ENGAGEMENTDECISION-1"),
        engagement(ids, "ENGAGEMENTDECISION-1", "Opened the tips?", "EMAILV2-4", False, None, "RANDOMSPLIT-1"),
        random_split(ids, "RANDOMSPLIT-1", "Reminder subject test", [
            ("Subject A", "EMAILV2-5", 50), ("Subject B", "EMAILV2-6", 50)]),
        email(ids, "EMAILV2-5", "Reminder A", "Did you miss this?"),
        email(ids, "EMAILV2-6", "Reminder B", "Your tips are waiting"),
    ]


def onboarding(ids: Ids, event_key: str) -> list[dict]:
    """An email, a wait, a decision on ``Score`` and a 70/30 random split on the remainder."""
    high = criterion("AND", condition(event_key, "Score", "GreaterThan", 50))
    return [
        email(ids, "EMAILV2-1", "Onboarding email", "Let's set up your account", "WAIT-1"),
        wait(ids, "WAIT-1", "Wait 2 days", 2, "DAYS", "MULTICRITERIADECISION-1"),
        decision(ids, "MULTICRITERIADECISION-1", "Score check", [
            ("High score", "EMAILV2-2", high), ("Others", "RANDOMSPLIT-1", None)]),
        email(ids, "EMAILV2-2", "Upgrade offer", "You are ready for more"),
        random_split(ids, "RANDOMSPLIT-1", "Guide test", [("Guide A", "EMAILV2-3", 70),
                                                           ("Guide B", "EMAILV2-4", 30)]),
        email(ids, "EMAILV2-3", "Guide A", "Your first week, step by step"),
        email(ids, "EMAILV2-4", "Guide B", "Your first week in one page"),
    ]


def loyalty(ids: Ids, event_key: str) -> list[dict]:
    return [
        email(ids, "EMAILV2-1", "Points statement", "Your points this month", "WAIT-1"),
        wait(ids, "WAIT-1", "Wait 1 week", 1, "WEEKS", "EMAILV2-2"),
        email(ids, "EMAILV2-2", "Monthly digest", "What's new for members"),
    ]


def newsletter(ids: Ids, event_key: str) -> list[dict]:
    return [
        email(ids, "EMAILV2-1", "Newsletter", "News from us", "WAIT-1"),
        wait(ids, "WAIT-1", "Wait 1 day", 1, "DAYS", "EMAILV2-2"),
        email(ids, "EMAILV2-2", "Follow-up", "In case you missed it"),
    ]


FLOWS: dict[str, Callable[[Ids, str], list[dict]]] = {
    "welcome": welcome, "onboarding": onboarding, "loyalty": loyalty, "newsletter": newsletter}


def build(flow: str, event_key: str, seed_text: str) -> list[dict]:
    """The activities of one journey version; ids drawn from their own seeded generator."""
    rng = random.Random(seed_text)
    return FLOWS[flow](lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)), event_key)
