"""Journeys that run in the sandbox, spoken to with plain ``requests`` (never the sfmc_nb client).

Every sandbox here has one journey day last an hour, so no wait ends by itself during a test: contacts move
on only through ``advance()`` and ``skip_waits``, and what each test sees does not depend on timing. Every
server is on 127.0.0.1 and every wait for processing is bounded.
"""

from __future__ import annotations

import csv
import io
import re
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
import requests

from sfmc_nb import sandbox
from sfmc_nb.sandbox import criteria

BATCH = "interaction/v1/async/events"
STATUS = "interaction/v1/async/events/status"
MEMBERSHIP = "interaction/v1/interactions/contactMembership"
HISTORY = "interaction/v1/interactions/journeyhistory"
DEFAULT_COLUMNS = ["TransactionTime", "ContactKey", "Status", "DefinitionId", "DefinitionName", "ActivityId",
                   "ActivityName", "ActivityType"]
SYSTEM_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
PIPE = {"x-direct-pipe": "true"}

# Welcome Journey: contacts chosen for each branch of "Segment by entry data"
VIP = {"vip-1": {"Email": "v1@example.com", "IsVip": "true"},
       "vip-2": {"Email": "v2@example.com", "Points": 1500}}
POINTS = {"pts-1": {"Email": "p1@example.com", "Points": 5},
          "pts-2": {"Email": "p2@example.com", "Points": "999", "IsVip": "false"}}
OTHERS = {"else-1": {"Email": "e1@example.com"},
          "else-2": {"Email": "e2@example.com", "Points": 0, "City": "Lyon"}}
FIRST = ["Welcome email", "Wait 1 day", "Segment by entry data"]


class Api:
    """Plain requests around one sandbox: a token, authorised calls, bounded polling of the status."""

    def __init__(self, sb, session: requests.Session):
        self.sb, self.s = sb, session
        body = {"grant_type": "client_credentials", "client_id": sb.client_id, "client_secret": sb.client_secret}
        self.token = session.post(sb.auth_base_url + "v2/token", json=body, timeout=10).json()["access_token"]

    def call(self, method: str, path: str, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return self.s.request(method, self.sb.rest_base_url + path, headers=headers, timeout=10, **kw)

    def enter(self, people: dict[str, dict], key: str | None = None) -> list[dict]:
        """Enter the contacts and wait (at most 5 s) until none is queued; the status items."""
        members = [{"contactKey": ck, "data": data} for ck, data in people.items()]
        body = self.call("POST", BATCH, json={"eventDefinitionKey": key or self.sb.event_key,
                                              "members": members}).json()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            items = self.call("GET", STATUS, params={"requestId": body["requestId"]}).json()["items"]
            if items and all(i["status"] != "queued" for i in items):
                return items
            time.sleep(0.02)
        pytest.fail("entries not processed within 5 s")

    def members(self, keys) -> set[tuple[str, str]]:
        body = self.call("POST", MEMBERSHIP, json={"ContactKeyList": list(keys)}).json()
        return {(m["contactKey"], m["definitionKey"]) for m in body["results"]["contactMemberships"]}

    def history(self, body: dict | None = None, columns: str | None = None) -> list[dict]:
        params = {"columns": columns} if columns else None
        resp = self.call("POST", HISTORY + "/download", json=body or {}, headers=PIPE, params=params)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv"), resp.text
        return list(csv.DictReader(io.StringIO(resp.text)))

    def journey(self, key: str, **params) -> dict:
        return self.call("GET", f"interaction/v1/interactions/key:{key}", params=params).json()


@pytest.fixture
def make():
    """Start sandboxes (an hour per journey day unless told); all stopped after the test."""
    made = []

    def start(**options) -> Api:
        options.setdefault("process_delay", 0.02)
        options.setdefault("day_seconds", 3600)
        box = sandbox.start(**options)
        session = requests.Session()
        made.append((box, session))
        return Api(box, session)

    yield start
    for box, session in made:
        session.close()
        box.stop()


@pytest.fixture
def api(make):
    return make()


def paths_from_history(rows: list[dict]) -> dict[str, list[str]]:
    """contactKey -> activity names in TransactionTime order, trigger left out (what a client derives)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        if row["ActivityType"] != "trigger":
            out.setdefault(row["ContactKey"], []).append((row["TransactionTime"], row["ActivityName"]))
    for visits in out.values():
        assert len({t for t, _ in visits}) == len(visits), "two rows of one contact share a TransactionTime"
    return {ck: [name for _, name in sorted(visits)] for ck, visits in out.items()}


def sandbox_paths(api: Api) -> dict[str, dict]:
    return {p["contactKey"]: p for p in api.sb.paths("welcome-journey")}


# ---- the definition ------------------------------------------------------------------------------------

def test_definition_has_activities_in_the_documented_shape(api):
    by_key = api.journey("welcome-journey")
    by_id = api.call("GET", f"interaction/v1/interactions/{by_key['id']}").json()
    assert by_id["activities"] == by_key["activities"] == api.journey("welcome-journey",
                                                                       extras="activities")["activities"]
    activities = by_key["activities"]
    keys = [a["key"] for a in activities]
    assert len(set(keys)) == len(keys)
    assert {a["type"] for a in activities} == {"EMAILV2", "WAIT", "MULTICRITERIADECISION", "ENGAGEMENTDECISION",
                                               "RANDOMSPLIT"}
    pointed = set()
    for a in activities:
        assert set(a) >= {"id", "key", "name", "type", "configurationArguments", "outcomes"}
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", a["id"])
        for o in a["outcomes"]:
            assert set(o) >= {"key", "metaData", "arguments"} and "label" in o["metaData"]
            if "next" in o:
                assert o["next"] in keys
                pointed.add(o["next"])
    assert [k for k in keys if k not in pointed] == [activities[0]["key"]]  # the entry activity
    wait = next(a for a in activities if a["type"] == "WAIT")
    assert wait["configurationArguments"] == {"waitDuration": 1, "waitUnit": "DAYS"}
    split = next(a for a in activities if a["type"] == "MULTICRITERIADECISION")
    criteria_by_outcome = split["configurationArguments"]["criteria"]
    assert len(split["outcomes"]) == 3 and len(criteria_by_outcome) == 2  # one remainder path
    assert set(criteria_by_outcome) < {o["key"] for o in split["outcomes"]}
    assert all(ET.fromstring(xml).tag == "FilterDefinition" for xml in criteria_by_outcome.values())
    assert "Event.APIEvent-welcome." in next(iter(criteria_by_outcome.values()))
    shares = [o["arguments"]["percentage"] for o in next(a for a in activities
                                                          if a["type"] == "RANDOMSPLIT")["outcomes"]]
    assert sum(shares) == 100
    assert "activities" not in api.journey("welcome-journey", extras="stats")
    listed = api.call("GET", "interaction/v1/interactions", params={"key": "welcome-journey"}).json()["items"][0]
    assert "activities" not in listed
    listed = api.call("GET", "interaction/v1/interactions",
                      params={"key": "welcome-journey", "extras": "activities"}).json()["items"][0]
    assert listed["activities"] == activities


# ---- contacts moving through ---------------------------------------------------------------------------

def test_each_decision_branch_waits_and_membership(api):
    people = {**VIP, **POINTS, **OTHERS}
    assert {i["status"] for i in api.enter(people)} == {"processed"}
    now = sandbox_paths(api)
    assert {ck: (p["path"], p["at"], p["status"]) for ck, p in now.items()} == {
        ck: (["Welcome email", "Wait 1 day"], "Wait 1 day", "Waiting") for ck in people}
    assert api.members(people) == {(ck, "welcome-journey") for ck in people}
    waiting = api.history({"statuses": ["Waiting"]})
    assert {(r["ContactKey"], r["ActivityName"], r["ActivityType"]) for r in waiting} == {
        (ck, "Wait 1 day", "waitactivity") for ck in people}

    api.sb.advance(days=1)
    now = sandbox_paths(api)
    for ck in VIP:
        assert now[ck]["path"] == FIRST + ["VIP offer"] and now[ck]["ended"] == "end"
    for ck in POINTS:
        assert now[ck]["path"] == FIRST + ["Points balance"] and now[ck]["ended"] == "end"
    for ck in OTHERS:
        assert now[ck]["path"] == FIRST + ["Getting started tips", "Wait 2 days"]
        assert (now[ck]["at"], now[ck]["status"], now[ck]["inJourney"]) == ("Wait 2 days", "Waiting", True)
    assert api.members(people) == {(ck, "welcome-journey") for ck in OTHERS}
    assert paths_from_history(api.history()) == {ck: p["path"] for ck, p in now.items()}
    decisions = {r["ContactKey"]: r["Status"] for r in api.history({"activityTypes": ["multicriteriadecision"]})}
    assert decisions == {**dict.fromkeys(VIP, "MetCriteria"), **dict.fromkeys(POINTS, "MetCriteria"),
                         **dict.fromkeys(OTHERS, "Complete")}
    stats = api.journey("welcome-journey")["stats"]
    assert (stats["currentPopulation"], stats["cumulativePopulation"]) == (len(OTHERS), len(people))

    api.sb.advance(days=2)
    assert api.members(people) == set()
    ended = sandbox_paths(api)
    assert all(p["ended"] == "end" and not p["inJourney"] for p in ended.values())
    assert all(ended[ck]["path"][:6] == FIRST + ["Getting started tips", "Wait 2 days", "Opened the tips?"]
               for ck in OTHERS)
    assert paths_from_history(api.history()) == {ck: p["path"] for ck, p in ended.items()}
    assert not [r for r in api.history() if r["Status"] == "Waiting"]


def test_skip_waits_moves_waiting_contacts_on_at_once(make):
    api = make(engagement_rate=1.0)
    api.enter(OTHERS)
    assert {p["status"] for p in sandbox_paths(api).values()} == {"Waiting"}
    api.sb.configure(skip_waits=True)
    assert api.sb.journey_settings["skip_waits"] is True
    done = sandbox_paths(api)
    assert {ck: p["path"] for ck, p in done.items()} == {
        ck: FIRST + ["Getting started tips", "Wait 2 days", "Opened the tips?"] for ck in OTHERS}
    assert {p["status"] for p in done.values()} == {"MetCriteria"}  # everyone opened (rate 1)
    assert api.members(OTHERS) == set()
    api.enter({"late-1": {"Email": "l@example.com", "IsVip": True}})  # runs straight to its end
    assert sandbox_paths(api)["late-1"]["path"] == FIRST + ["VIP offer"]
    api.sb.reset_faults()
    assert api.sb.journey_settings["skip_waits"] is True  # journey settings are not faults


def test_engagement_and_random_split_paths_and_sends(make):
    api = make(engagement_rate=0.0, skip_waits=True)
    people = {f"r-{n:02d}": {"Email": f"r{n}@example.com"} for n in range(24)}
    people["no-email"] = {}
    api.enter(people)
    paths = sandbox_paths(api)
    tails = {ck: p["path"][6:] for ck, p in paths.items()}
    assert {tuple(t) for t in tails.values()} == {("Reminder subject test", "Reminder A"),
                                                  ("Reminder subject test", "Reminder B")}
    rows = api.history({"contactKeys": ["no-email"], "activityTypes": ["emailv2"]}, columns="ActivityName,Status,"
                       "Message")
    assert {r["Status"] for r in rows} == {"Failed"} and "no email address" in rows[0]["Message"]
    sends = api.sb.sends()
    assert {s["contactKey"] for s in sends} == set(people) - {"no-email"}
    assert not any(s["opened"] or s["clicked"] for s in sends)
    assert {s["activityName"] for s in sends if s["contactKey"] == "r-00"} == {
        "Welcome email", "Getting started tips", paths["r-00"]["path"][-1]}


def test_random_split_is_deterministic_given_the_seed(make):
    people = {f"s-{n:02d}": {"Email": f"s{n}@example.com"} for n in range(30)}

    def branches(seed: int) -> dict[str, str]:
        api = make(seed=seed, engagement_rate=0.0, skip_waits=True)
        api.enter(people)
        return {ck: p["at"] for ck, p in sandbox_paths(api).items()}

    first, again, other = branches(7), branches(7), branches(8)
    assert first == again
    assert set(first.values()) == {"Reminder A", "Reminder B"}
    assert first != other


def test_onboarding_score_decision_and_single_entry_refusal(make):
    api = make(skip_waits=True)
    key = api.sb.single_entry_event_key
    api.enter({"high": {"Email": "h@example.com", "Score": "75.5"}, "low": {"Email": "l@example.com", "Score": 12}},
              key=key)
    paths = {p["contactKey"]: p["path"] for p in api.sb.paths("onboarding-journey")}
    assert paths["high"] == ["Onboarding email", "Wait 2 days", "Score check", "Upgrade offer"]
    assert paths["low"][:4] == ["Onboarding email", "Wait 2 days", "Score check", "Guide test"]
    items = api.enter({"high": {"Email": "h@example.com", "Score": 90}}, key=key)
    assert items[0]["status"] == "errored"
    assert "SingleEntryAcrossAllVersions" in items[0]["message"] and "re-entry" in items[0]["message"]
    errored = api.call("GET", STATUS, params={"contactKey": "high", "type": "errored"}).json()
    assert errored["count"] == 1
    assert len([p for p in api.sb.paths("onboarding-journey") if p["contactKey"] == "high"]) == 1
    # the history writes the status Marketing Cloud uses for an entry its entry mode refused
    failed = api.history({"contactKeys": ["high"], "statuses": ["ContactPreviouslyInSameInteraction"]},
                         columns="ActivityType,Message,EventId")
    assert [(r["ActivityType"], r["EventId"]) for r in failed] == [("trigger", items[0]["eventInstanceId"])]
    assert "re-entry" in failed[0]["Message"]


def test_contact_exit_from_a_wait(api):
    api.enter({"x-1": {"Email": "x@example.com"}})
    item = {"ContactKey": "x-1", "DefinitionKey": "welcome-journey", "Versions": [1]}
    assert api.call("POST", "interaction/v1/interactions/contactexit", json=[item]).json() == {"errors": []}
    api.sb.advance(minutes=1)  # the exit request falls due
    assert api.members(["x-1"]) == set()
    run = sandbox_paths(api)["x-1"]
    assert (run["ended"], run["at"], run["path"]) == ("exit", "Wait 1 day", ["Welcome email", "Wait 1 day"])
    rows = {r["ActivityType"]: r["Status"] for r in api.history({"contactKeys": ["x-1"]})}
    assert rows == {"trigger": "Complete", "emailv2": "Complete", "waitactivity": "Exited",
                    "contactexit": "Complete"}
    api.sb.advance(days=5)
    assert sandbox_paths(api)["x-1"]["path"] == ["Welcome email", "Wait 1 day"]  # the wait never resumes


# ---- journey history download ----------------------------------------------------------------------------

def test_history_download_shape_columns_and_dates(api):
    api.enter({**VIP, **OTHERS})
    path = HISTORY + "/download"
    refused = api.call("POST", path, json={})
    assert refused.status_code == 400 and {"message", "errorcode", "documentation"} <= set(refused.json())
    resp = api.call("POST", path, json={}, headers=PIPE)
    assert resp.text.splitlines()[0] == ",".join(DEFAULT_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(rows) == 4 * 3  # trigger, welcome email, wait for each contact
    welcome = api.journey("welcome-journey")
    assert {r["DefinitionId"] for r in rows} == {welcome["id"]}
    assert {r["DefinitionName"] for r in rows} == {"Welcome Journey"}
    ids = {a["name"]: a["id"] for a in welcome["activities"]}
    assert all(r["ActivityId"] == ids[r["ActivityName"]] for r in rows if r["ActivityType"] != "trigger")
    assert {r["ActivityId"] for r in rows if r["ActivityType"] == "trigger"} == {welcome["triggers"][0]["id"]}
    for row in rows:
        assert SYSTEM_TIME.match(row["TransactionTime"]), row
        as_utc = datetime.fromisoformat(row["TransactionTime"]).replace(tzinfo=timezone(timedelta(hours=-6)))
        assert abs(as_utc - datetime.now(timezone.utc)) < timedelta(hours=1)
    assert api.call("POST", path, json={}, headers=PIPE).text == resp.text  # a fixed order
    assert [r["ContactKey"] for r in rows] != sorted(r["ContactKey"] for r in rows)  # not a promised one

    extra = api.history(columns="ContactKey,Message,DefinitionInstanceId,EventId,EntrySource,OutcomeActivityId")
    assert list(extra[0]) == ["ContactKey", "Message", "DefinitionInstanceId", "EventId", "EntrySource",
                              "OutcomeActivityId"]
    runs = {p["contactKey"]: p for p in api.sb.paths()}
    assert all(r["DefinitionInstanceId"] == runs[r["ContactKey"]]["definitionInstanceId"] for r in extra)
    assert all(r["EventId"] == runs[r["ContactKey"]]["eventInstanceId"] for r in extra)
    assert {r["EntrySource"] for r in extra} == {api.sb.event_key}
    assert {r["OutcomeActivityId"] for r in extra if "sent" in r["Message"]} == {ids["Wait 1 day"]}
    bad = api.call("POST", path, json={}, headers=PIPE, params={"columns": "ContactKey,Shoe size"})
    assert bad.status_code == 400 and "Shoe size" in bad.json()["message"]


def test_history_filters(api):
    api.enter({**VIP, **OTHERS})
    api.enter({"draft-1": {}}, key=api.sb.draft_event_key)
    api.sb.advance(days=1)
    everything = api.history()
    by = lambda **body: {(r["ContactKey"], r["ActivityName"]) for r in api.history(body)}  # noqa: E731
    assert {ck for ck, _ in by(contactKeys=["vip-1", "else-2"])} == {"vip-1", "else-2"}
    welcome = api.journey("welcome-journey")
    assert len(by(definitionIds=[welcome["id"]])) == len(everything) - 1  # all but the draft's refusal
    assert by(definitionIds=[welcome["definitionId"].upper()]) == by(definitionIds=[welcome["id"]])
    wait_id = next(a["id"] for a in welcome["activities"] if a["name"] == "Wait 1 day")
    assert by(activityIds=[wait_id]) == {(ck, "Wait 1 day") for ck in [*VIP, *OTHERS]}
    assert by(activityTypes=["WaitActivity"]) == by(activityIds=[wait_id]) | {(ck, "Wait 2 days") for ck in OTHERS}
    assert by(statuses=["waiting"]) == {(ck, "Wait 2 days") for ck in OTHERS}
    assert by(statuses=["Failed"]) == {("draft-1", "Spring Promo Event")}
    one_run = api.sb.paths(contact_keys=["else-1"])[0]["definitionInstanceId"]
    assert {ck for ck, _ in by(definitionInstanceIds=[one_run])} == {"else-1"}
    latest = max(r["TransactionTime"] for r in everything)
    assert by(start=latest) == {(r["ContactKey"], r["ActivityName"]) for r in everything
                                if r["TransactionTime"] == latest}  # a zone-less date is system time
    assert by(end="2000-01-01T00:00:00") == set() and by(start="2000-01-01T00:00:00Z") == by()
    for body in ({"statuses": "Failed"}, {"start": "soon"}, {"contactKeys": [1]}):
        resp = api.call("POST", HISTORY + "/download", json=body, headers=PIPE)
        assert resp.status_code == 400 and "errorcode" in resp.json()


def test_history_lag_freshness_and_estimate(make):
    api = make()
    api.enter({**VIP})
    assert api.call("GET", HISTORY + "/freshness").json() == {"freshnessInSeconds": 0}
    estimate = api.call("POST", HISTORY + "/estimate", json={"contactKeys": ["vip-1"]}).json()
    assert estimate["rowCount"] == len(api.history({"contactKeys": ["vip-1"]})) == 3
    assert estimate["sizeInBytes"] > 0 and estimate["compressedSizeInBytes"] > 0
    api.sb.configure(history_lag=600)
    assert api.call("GET", HISTORY + "/freshness").json() == {"freshnessInSeconds": 600}
    assert api.history() == []  # everything happened within the last 10 minutes
    assert api.call("POST", HISTORY + "/estimate", json={}).json()["rowCount"] == 0
    assert len(api.sb.journey_log()) == 6  # the sandbox's own record has no lag


# ---- settings and the Python side ------------------------------------------------------------------------

def test_settings_are_validated_and_journey_log_reads_in_order(make):
    with pytest.raises(TypeError):
        sandbox.start(day_secondz=1)
    api = make(day_seconds=2)
    assert api.sb.journey_settings == {"day_seconds": 2, "skip_waits": False, "engagement_rate": 0.5,
                                       "history_lag": 0.0}
    for bad in ({"day_seconds": 0}, {"skip_waits": "yes"}, {"engagement_rate": 2}, {"history_lag": -1}):
        with pytest.raises(ValueError):
            api.sb.configure(**bad)
    with pytest.raises(ValueError):
        api.sb.advance(days=-1)
    api.sb.configure(day_seconds=3600)
    api.enter({"log-1": {"Email": "l@example.com", "Points": 3}})
    api.sb.advance(hours=23)
    assert sandbox_paths(api)["log-1"]["status"] == "Waiting"
    api.sb.advance(hours=1)
    log = api.sb.journey_log(["log-1"])
    assert [r["activityName"] for r in log] == ["Welcome Event", *FIRST, "Points balance"]
    assert [r["time"] for r in log] == sorted(r["time"] for r in log)
    assert [r["status"] for r in log] == ["Complete", "Complete", "Complete", "MetCriteria", "Complete"]


@pytest.mark.parametrize("xml, data, expected", [
    ('<FilterDefinition><ConditionSet Operator="AND"><Condition Key="Event.E.Score" Operator="GreaterThan">'
     "<Value><![CDATA[50]]></Value></Condition></ConditionSet></FilterDefinition>", {"score": "50.5"}, True),
    ('<FilterDefinition><ConditionSet Operator="AND"><Condition Key="Event.E.Score" Operator="GreaterThan">'
     "<Value>50</Value></Condition></ConditionSet></FilterDefinition>", {"Score": 9}, False),
    ('<FilterDefinition><ConditionSet Operator="OR"><Condition Key="Event.E.City" Operator="Equal">'
     '<Value>lyon</Value></Condition><ConditionSet Operator="AND"><Condition Key="Event.E.Points" '
     'Operator="GreaterThanOrEqual"><Value>10</Value></Condition><Condition Key="Event.E.Points" '
     'Operator="LessThanOrEqual"><Value>20</Value></Condition></ConditionSet></ConditionSet></FilterDefinition>',
     {"City": "Paris", "Points": 20}, True),
    ('<FilterDefinition><ConditionSet Operator="AND"><Condition Key="Event.E.City" Operator="IsNull"/>'
     '<Condition Key="Event.E.Name" Operator="Contains"><Value>ann</Value></Condition></ConditionSet>'
     "</FilterDefinition>", {"City": " ", "Name": "Joanna"}, True),
    ('<FilterDefinition><ConditionSet Operator="AND"><Condition Key="Event.E.City" Operator="NotEqual">'
     "<Value>Lyon</Value></Condition></ConditionSet></FilterDefinition>", {}, False),
    ('<FilterDefinition><ConditionSet Operator="AND"><Condition Key="Event.E.Joined" Operator="LessThan">'
     "<Value>2024-01-01</Value></Condition><Condition Key=\"Event.E.Vip\" Operator=\"Equal\"><Value>true</Value>"
     "</Condition></ConditionSet></FilterDefinition>", {"Joined": "12/31/2023", "Vip": "1"}, True),
])
def test_criteria_operators(xml, data, expected):
    assert criteria.matches(xml, data, "E") is expected


def test_criteria_refuses_what_it_cannot_read():
    with pytest.raises(criteria.CriteriaError):
        criteria.matches("<FilterDefinition><Condition Key='A' Operator='Sounds like'/></FilterDefinition>", {})
    with pytest.raises(criteria.CriteriaError):
        criteria.matches("<Filter/>", {})
    with pytest.raises(criteria.CriteriaError):
        criteria.matches("<FilterDefinition>", {})
