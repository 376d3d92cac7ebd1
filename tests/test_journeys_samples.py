"""Hand-made journey definitions and history downloads in Marketing Cloud's shapes (sfmc-api.md 2.1, 5.1, 5.2).

The other ``test_journeys_*`` modules import these; the tests here check the samples themselves are what the
documentation describes, so a test of the model never passes on a malformed sample.
"""

from __future__ import annotations

import csv
import io
import random

JOURNEY_ID = "4b1f3a52-90de-4c7a-8b55-2f3e6d1a0c11"
EVENT_KEY = "APIEvent-7d1e2f4a-1c2b-4e5f-9a8b-0c1d2e3f4a5b"


def guid(n: int) -> str:
    return f"a0000000-0000-4000-8000-{n:012d}"


def criterion(*conditions: tuple[str, str, str], operator: str = "AND") -> str:
    """A FilterDefinition as Journey Builder stores it for one decision branch."""
    body = "".join(
        f'<Condition IsEphemeralAttribute="true" Key="Event.{EVENT_KEY}.{field}" Operator="{op}">'
        f"<Value><![CDATA[{value}]]></Value></Condition>" for field, op, value in conditions)
    return f'<FilterDefinition><ConditionSet Operator="{operator}" ConditionSetName="Grouping">{body}' \
           "</ConditionSet></FilterDefinition>"


def _outcome(key: str, next_key: str | None, label: str | None = None, **arguments) -> dict:
    out: dict = {"key": key, "arguments": arguments, "metaData": {"invalid": False}}
    if next_key:
        out["next"] = next_key
    if label:
        out["metaData"]["label"] = label
    return out


def _email(n: int, key: str, name: str, next_key: str | None) -> dict:
    return {"id": guid(n), "key": key, "name": name, "type": "EMAILV2",
            "outcomes": [_outcome(f"{key}-out", next_key)],
            "configurationArguments": {"applicationExtensionKey": "jb-email-activity",
                                       "triggeredSend": {"emailSubject": f"{name} subject", "emailName": name,
                                                         "isTrackingClicks": True}},
            "metaData": {"isConfigured": True}}


def definition() -> dict:
    """Score decision (3 branches) -> high: email, 2-day wait, opened? -> thanks | <Bob & Co> sync (an
    activity type no one knows); medium: 50/50 random split to two offers; remainder: a 1-hour wait."""
    decision = {
        "id": guid(1), "key": "MULTICRITERIADECISION-1", "name": "Score decision", "type": "MULTICRITERIADECISION",
        "outcomes": [_outcome("high", "EMAILV2-1", "High"), _outcome("medium", "RANDOMSPLIT-1", "Medium"),
                     _outcome("rest", "WAIT-2", "Remainder")],
        "configurationArguments": {"criteria": {
            "high": criterion(("Score", "GreaterThan", "50")),
            "medium": criterion(("Score", "GreaterThan", "20"), ("Country", "Equal", "US"))}}}
    wait = {"id": guid(3), "key": "WAIT-1", "name": "Wait 2 days", "type": "WAIT",
            "outcomes": [_outcome("wait-1-out", "ENGAGEMENTDECISION-1")],
            "configurationArguments": {"waitDuration": 2, "waitUnit": "DAYS"}}
    engaged = {"id": guid(4), "key": "ENGAGEMENTDECISION-1", "name": "Opened?", "type": "EngagementDecision",
               "outcomes": [_outcome("opened", "EMAILV2-2", when=True),
                            _outcome("not-opened", "FUTURESYNC-1", when=False)],
               "configurationArguments": {"refActivityCustomerKey": "EMAILV2-1", "statsTypeId": 2},
               "metaData": {"refActivityName": "High value email"}}
    unknown = {"id": guid(6), "key": "FUTURESYNC-1", "name": "<Bob & Co> sync", "type": "FUTURESYNC",
               "outcomes": [{"key": "sync-out"}], "configurationArguments": {"anything": [1, 2]}}
    split = {"id": guid(7), "key": "RANDOMSPLIT-1", "name": "Random split", "type": "RANDOMSPLIT",
             "outcomes": [_outcome("a", "EMAILV2-3", "Path A", percentage=50),
                          _outcome("b", "EMAILV2-4", percentage=50)],
             "configurationArguments": {}}
    short_wait = {"id": guid(10), "key": "WAIT-2", "name": "Wait 1 hour", "type": "WAIT",
                  "outcomes": [_outcome("wait-2-out", None)],
                  "configurationArguments": {"waitDuration": 1, "waitUnit": "HOURS"}}
    activities = [decision, _email(2, "EMAILV2-1", "High value email", "WAIT-1"), wait, engaged,
                  _email(5, "EMAILV2-2", "Thank you email", None), unknown, split,
                  _email(8, "EMAILV2-3", "Offer A", None), _email(9, "EMAILV2-4", "Offer B", None), short_wait]
    return {
        "id": JOURNEY_ID, "key": "score-journey", "name": "Score journey", "version": 3, "status": "Published",
        "entryMode": "MultipleEntries", "definitionType": "Multistep", "createdDate": "2024-04-30T03:54:17.993",
        "triggers": [{"id": guid(99), "key": "TRIGGER", "name": "Score API event", "type": "APIEvent",
                      "metaData": {"eventDefinitionKey": EVENT_KEY}, "configurationArguments": {}}],
        "activities": activities, "goals": [], "exits": [],
        "stats": {"currentPopulation": 2, "cumulativePopulation": 7}}


NAMES = {guid(n): name for n, name in enumerate(
    ["", "Score decision", "High value email", "Wait 2 days", "Opened?", "Thank you email", "<Bob & Co> sync",
     "Random split", "Offer A", "Offer B", "Wait 1 hour"]) if n}
TYPES = {guid(1): "MultiCriteriaDecision", guid(2): "EMAILV2", guid(3): "WaitActivity", guid(4): "EngagementDecision",
         guid(5): "EMAILV2", guid(6): "FUTURESYNC", guid(7): "RandomSplit", guid(8): "EMAILV2", guid(9): "EMAILV2",
         guid(10): "WaitActivity"}

# contact -> [(TransactionTime as written, activity number or None for the trigger, Status)]
# Times are system time (UTC-6) unless they carry Z; 0 to 3 fractional digits.
STORIES = {
    "c-high-open": [("2024-05-01T08:00:00", None, "Complete"), ("2024-05-01T08:00:00.5", 1, "MetCriteria"),
                    ("2024-05-01T08:00:01.25", 2, "Complete"), ("2024-05-01T14:00:02Z", 3, "Waiting"),
                    ("2024-05-03T08:00:02.000", 3, "Complete"), ("2024-05-03T08:00:03", 4, "Complete"),
                    ("2024-05-03T08:00:04", 5, "Complete")],
    "c-high-waiting": [("2024-05-01T09:00:00", None, "Complete"), ("2024-05-01T09:00:00", 1, "MetCriteria"),
                       ("2024-05-01T09:00:00", 2, "Complete"), ("2024-05-01T09:00:01", 3, "Waiting")],
    "c-high-quiet": [("2024-05-01T10:00:00", None, "Complete"), ("2024-05-01T10:00:01", 1, "MetCriteria"),
                     ("2024-05-01T10:00:02", 2, "Complete"), ("2024-05-01T10:00:03", 3, "Waiting"),
                     ("2024-05-03T10:00:03", 3, "Complete"), ("2024-05-03T10:00:04", 4, "Complete"),
                     ("2024-05-03T10:00:05", 6, "Failed")],
    "c-medium-a": [("2024-05-01T11:00:00", None, "Complete"), ("2024-05-01T11:00:01", 1, "MetCriteria"),
                   ("2024-05-01T17:00:02Z", 7, "Complete"), ("2024-05-01T11:00:03", 8, "Complete")],
    "c-medium-b": [("2024-05-01T11:30:00", None, "Complete"), ("2024-05-01T11:30:01", 1, "MetCriteria"),
                   ("2024-05-01T11:30:02", 7, "Complete"), ("2024-05-01T11:30:03", 9, "Complete")],
    "c-low": [("2024-05-01T12:00:00", None, "Complete"), ("2024-05-01T12:00:01", 1, "MetCriteria"),
              ("2024-05-01T12:00:02", 10, "Waiting"), ("2024-05-01T13:00:02", 10, "Complete")],
}
CONTACTS = list(STORIES) + ["c-none"]          # c-none entered nothing: no history at all
EXPECTED = {
    "c-high-open": ["Score decision", "High value email", "Wait 2 days", "Opened?", "Thank you email"],
    "c-high-waiting": ["Score decision", "High value email", "Wait 2 days"],
    "c-high-quiet": ["Score decision", "High value email", "Wait 2 days", "Opened?", "<Bob & Co> sync"],
    "c-medium-a": ["Score decision", "Random split", "Offer A"],
    "c-medium-b": ["Score decision", "Random split", "Offer B"],
    "c-low": ["Score decision", "Wait 1 hour"],
    "c-none": [],
}
COLUMNS = ["TransactionTime", "ContactKey", "Status", "DefinitionId", "DefinitionName", "ActivityId",
           "ActivityName", "ActivityType", "Message"]


def history_rows(seed: int = 7) -> list[dict]:
    """Every story as download rows, shuffled (the API promises no order)."""
    rows = []
    for contact, story in STORIES.items():
        for when, number, status in story:
            activity = guid(number) if number else guid(99)
            rows.append({"TransactionTime": when, "ContactKey": contact, "Status": status,
                         "DefinitionId": JOURNEY_ID, "DefinitionName": "Score journey", "ActivityId": activity,
                         "ActivityName": NAMES.get(activity, "Score API event"),
                         "ActivityType": TYPES.get(activity, "Trigger"),
                         "Message": "Sync target unreachable" if status == "Failed" else ""})
    random.Random(seed).shuffle(rows)
    return rows


def history_csv(seed: int = 7) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(history_rows(seed))
    return out.getvalue()


# ---- the samples follow the documented shapes ---------------------------------------------------------


def test_every_outcome_points_at_an_activity_of_the_journey():
    data = definition()
    keys = {a["key"] for a in data["activities"]}
    nexts = [o["next"] for a in data["activities"] for o in a["outcomes"] if o.get("next")]
    assert set(nexts) <= keys and len(nexts) == 9
    assert [a["key"] for a in data["activities"] if a["key"] not in nexts] == ["MULTICRITERIADECISION-1"]


def test_the_history_download_is_shuffled_csv_with_the_documented_columns():
    text = history_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == COLUMNS and len(rows) == sum(len(s) for s in STORIES.values())
    times = [r["TransactionTime"] for r in rows]
    assert times != sorted(times)
    assert any(t.endswith("Z") for t in times) and any("." not in t and not t.endswith("Z") for t in times)
