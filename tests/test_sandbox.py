"""Fidelity tests of the sandbox endpoints, spoken to with plain ``requests`` (never the sfmc_nb client).

Each test checks a documented shape of docs/marketing-cloud-api.md, so a client tested against the sandbox is
tested against the documented service. Every server is on 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from datetime import datetime

import pytest
import requests

from sfmc_nb import sandbox

BATCH = "interaction/v1/async/events"
STATUS = "interaction/v1/async/events/status"
ENVELOPE = {"message", "errorcode", "documentation"}


class Api:
    """A few lines of plain requests around one sandbox: token, authorised calls, bounded polling."""

    def __init__(self, sb, session: requests.Session):
        self.sb, self.s = sb, session
        self.token = self.token_answer().json()["access_token"]

    def token_answer(self, **fields) -> requests.Response:
        body = {"grant_type": "client_credentials", "client_id": self.sb.client_id,
                "client_secret": self.sb.client_secret}
        body.update(fields)
        body = {k: v for k, v in body.items() if v is not None}
        return self.s.post(self.sb.auth_base_url + "v2/token", json=body, timeout=10)

    def call(self, method: str, path: str, token: str | None = "default", **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {self.token if token == 'default' else token}"
        return self.s.request(method, self.sb.rest_base_url + path, headers=headers, timeout=10, **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.call("POST", path, **kw)

    def enter(self, members: list, key: str | None = None) -> requests.Response:
        return self.post(BATCH, json={"eventDefinitionKey": key or self.sb.event_key, "members": members})

    def wait_status(self, request_id: str, done=lambda items: all(i["status"] != "queued" for i in items)):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            items = self.get(STATUS, params={"requestId": request_id}).json()["items"]
            if items and done(items):
                return items
            time.sleep(0.02)
        pytest.fail(f"batch {request_id} not settled within 5 s")


@pytest.fixture
def sb():
    box = sandbox.start(seed=0, process_delay=0.05)
    yield box
    box.stop()


@pytest.fixture
def api(sb):
    with requests.Session() as session:
        yield Api(sb, session)


@pytest.fixture
def make_api():
    """Start sandboxes with options; all stopped after the test."""
    made = []

    def make(**options) -> Api:
        options.setdefault("process_delay", 0.05)
        box = sandbox.start(**options)
        session = requests.Session()
        made.append((box, session))
        return Api(box, session)

    yield make
    for box, session in made:
        session.close()
        box.stop()


def members(n: int, prefix: str = "c") -> list[dict]:
    return [{"contactKey": f"{prefix}{i}", "data": {"Email": f"{prefix}{i}@example.com"}} for i in range(n)]


def assert_envelope(resp: requests.Response, status: int, errorcode: int | None = None) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert ENVELOPE <= set(body), body
    assert isinstance(body["errorcode"], int) and isinstance(body["message"], str)
    if errorcode is not None:
        assert body["errorcode"] == errorcode, body
    return body


# ---- auth ------------------------------------------------------------------------------------------------

def test_token_grant_shape(api, sb):
    resp = api.token_answer(account_id=sb.account_id, scope=None)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) >= {"access_token", "token_type", "expires_in", "scope", "rest_instance_url",
                         "soap_instance_url"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1079
    assert body["rest_instance_url"] == sb.rest_base_url == f"http://127.0.0.1:{sb.port}/"
    assert body["soap_instance_url"].endswith("/")
    assert set(body["scope"].split()) >= {"journeys_read", "journeys_execute", "data_extensions_read"}
    assert body["access_token"] != api.token
    assert api.token_answer(account_id=str(sb.account_id)).status_code == 200  # Postman sends a string
    assert sb.stats["token_requests"] == 3


def test_form_encoded_token_request_is_accepted(api, sb):
    resp = api.s.post(sb.auth_base_url + "v2/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": sb.client_id, "client_secret": sb.client_secret})
    assert resp.status_code == 200 and resp.json()["access_token"]


@pytest.mark.parametrize("fields, status, error", [
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "someone-else"}, 401, "invalid_client"),
    ({"client_secret": None}, 401, "invalid_client"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": None}, 400, "invalid_request"),
    ({"account_id": 999}, 401, "invalid_grant"),
    ({"account_id": "not-a-mid"}, 400, "invalid_request"),
    ({"scope": "journeys_read everything_please"}, 400, "invalid_scope"),
])
def test_token_refusals_use_the_oauth_shape(api, sb, fields, status, error):
    resp = api.token_answer(**fields)
    assert resp.status_code == status
    body = resp.json()
    assert set(body) == {"error", "error_description"} and body["error"] == error
    assert sb.client_secret not in resp.text
    if error == "invalid_client":
        assert body["error_description"].startswith("Client authentication failed.")
    assert sb.stats["token_refusals"] == 1


def test_malformed_token_body_is_400(api, sb):
    resp = api.s.post(sb.auth_base_url + "v2/token", data=b"{not json", timeout=10,
                      headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"


def test_missing_unknown_and_expired_tokens_answer_401_errorcode_0(api, sb):
    for token in (None, "not-a-token"):
        body = assert_envelope(api.get("interaction/v1/interactions", token=token), 401, 0)
        assert body["message"] == "Not Authorized"
    assert api.get("interaction/v1/interactions").status_code == 200
    sb.expire_tokens()
    assert_envelope(api.get("interaction/v1/interactions"), 401, 0)
    api.token = api.token_answer().json()["access_token"]  # a new token works again
    assert api.get("interaction/v1/interactions").status_code == 200


def test_token_lifetime_runs_out(make_api):
    api = make_api(token_lifetime=0.3)
    assert api.token_answer().json()["expires_in"] == 0.3
    assert api.get("interaction/v1/interactions").status_code == 200
    time.sleep(0.4)
    assert_envelope(api.get("interaction/v1/interactions"), 401, 0)


def test_token_without_the_needed_scope_gets_403(api):
    read_only = api.token_answer(scope="journeys_read").json()
    assert read_only["scope"] == "journeys_read"
    assert api.get("interaction/v1/interactions", token=read_only["access_token"]).status_code == 200
    resp = api.post(BATCH, token=read_only["access_token"],
                    json={"eventDefinitionKey": api.sb.event_key, "members": members(1)})
    assert_envelope(resp, 403, 20002)
    nothing = api.token_answer(scope="").json()
    assert nothing["scope"] == ""
    assert_envelope(api.get("interaction/v1/interactions", token=nothing["access_token"]), 403, 20002)


# ---- batch entry ---------------------------------------------------------------------------------------

def test_batch_entry_success_shape_and_member_order(api, sb):
    sent = members(7)[::-1]
    resp = api.enter(sent)
    assert resp.status_code == 202
    body = resp.json()
    assert set(body) == {"requestId", "count", "notQueuedCount", "members"}
    assert body["count"] == 7 and body["notQueuedCount"] == 0
    assert [m["contactKey"] for m in body["members"]] == [m["contactKey"] for m in sent]
    ids = [m["eventInstanceId"] for m in body["members"]]
    assert len(set(ids)) == 7 and all(uuid.UUID(i) for i in ids)
    assert all(set(m) == {"contactKey", "eventInstanceId"} for m in body["members"])
    entries = sb.entries()
    assert [e["contactKey"] for e in entries] == [m["contactKey"] for m in sent]
    assert {e["requestId"] for e in entries} == {body["requestId"]}
    assert entries[0]["data"] == sent[0]["data"] and entries[0]["eventDefinitionKey"] == sb.event_key
    assert sb.stats["batches_accepted"] == 1 and sb.stats["members_queued"] == 7


@pytest.mark.parametrize("payload, errorcode", [
    ({"members": []}, 10005),
    ({"members": members(101)}, 10005),
    ({"members": None}, 10002),
    ({"members": {"contactKey": "x"}}, 10001),
    ({"eventDefinitionKey": None, "members": members(1)}, 10002),
    ({"eventDefinitionKey": "APIEvent-no-such-event", "members": members(1)}, None),
])
def test_request_level_refusals(api, sb, payload, errorcode):
    body = {"eventDefinitionKey": sb.event_key, **payload}
    body = {k: v for k, v in body.items() if v is not None}
    assert_envelope(api.post(BATCH, json=body), 400, errorcode)
    assert sb.entries() == [] and sb.stats["batches_accepted"] == 0


@pytest.mark.parametrize("raw", [
    b'{"eventDefinitionKey": "APIEvent-welcome", "members": [{"contactKey": "a", "data": {"Points": NaN}}]}',
    b'{"eventDefinitionKey": "APIEvent-welcome", "members": [{"contactKey": "a", "data": {"Points": Infinity}}]}',
    b'{"eventDefinitionKey": "APIEvent-welcome", "members": [',
])
def test_body_that_is_not_strict_json_is_refused(api, sb, raw):
    resp = api.post(BATCH, data=raw, headers={"Content-Type": "application/json; charset=UTF-8"})
    assert_envelope(resp, 400, 10004)
    assert sb.entries() == []


def test_wrong_content_type_is_415(api, sb):
    resp = api.post(BATCH, data=json.dumps({"eventDefinitionKey": sb.event_key, "members": members(1)}),
                    headers={"Content-Type": "text/plain"})
    assert resp.status_code == 415 and "message" in resp.json()
    assert sb.entries() == []


def test_key_shared_by_eleven_journeys_is_batch_error_10000(api, sb):
    body = assert_envelope(api.enter(members(2), key=sb.shared_event_key), 400, 10000)
    assert body["message"] == "Interaction Count Limit Exceeded"
    assert sb.entries() == []


REFUSED = [
    ({"contactKey": "", "data": {}}, 10002),
    ({"contactKey": "   "}, 10002),
    ({"data": {"Email": "a@example.com"}}, 10002),
    ({"contactKey": 12345}, 10001),
    ("just-a-string", 10001),
    ({"contactKey": "k", "data": ["Email"]}, 10001),
    ({"contactKey": "k", "data": {"NoSuchColumn": "x"}}, 10005),
    ({"contactKey": "k", "data": {"eventInstanceId": "x"}}, 10005),
    ({"contactKey": "k", "data": {"FirstName": "x" * 51}}, 10005),
    ({"contactKey": "k", "data": {"Email": "not-an-email"}}, 10003),
    ({"contactKey": "k", "data": {"Email": ("x" * 250) + "@example.com"}}, 10005),
    ({"contactKey": "k", "data": {"Points": "many"}}, 10001),
    ({"contactKey": "k", "data": {"Points": 1.5}}, 10001),
    ({"contactKey": "k", "data": {"Points": True}}, 10001),
    ({"contactKey": "k", "data": {"Points": 2**40}}, 10005),
    ({"contactKey": "k", "data": {"IsVip": "maybe"}}, 10001),
    ({"contactKey": "k", "data": {"SignupDate": "yesterday"}}, 10001),
    ({"contactKey": "k", "data": {"SignupDate": 20240301}}, 10001),
    ({"contactKey": "k", "data": {"SubscriberKey": None}}, 10002),
    ({"contactKey": "k", "data": {"City": {"name": "Paris"}}}, 10001),
]
ACCEPTED = [
    {"contactKey": "ok1", "data": {"Email": "ann@example.com", "FirstName": "x" * 50, "Points": 42}},
    {"contactKey": "ok2", "data": {"email": "bo@example.com", "Points": "7", "IsVip": "true"}},
    {"contactKey": "ok3", "data": {"SignupDate": "2024-03-01", "IsVip": False, "Points": 3.0}},
    {"contactKey": "ok4", "data": {"SignupDate": "3/1/2024 10:30 AM", "City": None, "LastName": "Łukasz"}},
    {"contactKey": "ok5", "data": {"SignupDate": "2024-03-01T10:30:00Z", "Points": ""}},
    {"contactKey": "ok6"},
    {"contactKey": "ok7", "data": None},
]


def test_per_member_refusals_and_not_queued_count(api, sb):
    sent = [m for pair in zip(ACCEPTED, [r for r, _ in REFUSED[:len(ACCEPTED)]], strict=True) for m in pair]
    sent += [r for r, _ in REFUSED[len(ACCEPTED):]]
    resp = api.enter(sent)
    assert resp.status_code == 202
    body = resp.json()
    assert body["count"] == len(sent) and body["notQueuedCount"] == len(REFUSED)
    expected = {id(m): code for m, code in REFUSED}
    for member, answer in zip(sent, body["members"], strict=True):
        if id(member) in expected:
            assert answer["errorcode"] == expected[id(member)], (member, answer)
            assert answer["message"] and not answer["eventInstanceId"]
        else:
            assert "errorcode" not in answer and answer["eventInstanceId"], (member, answer)
            assert answer["contactKey"] == member["contactKey"]
    assert sorted(e["contactKey"] for e in sb.entries()) == sorted(m["contactKey"] for m in ACCEPTED)
    assert sb.stats["members_queued"] == len(ACCEPTED)


def test_single_entry_event_has_extra_column_types(api, sb):
    key = sb.single_entry_event_key
    good = api.enter([{"contactKey": "p1", "data": {"Mobile": "+33 6 12 34 56 78", "Score": "12.50"}}], key=key)
    assert good.json()["notQueuedCount"] == 0
    bad = api.enter([{"contactKey": "p2", "data": {"Score": "lots"}}], key=key)
    assert bad.json()["members"][0]["errorcode"] == 10001


def test_duplicate_contact_keys_are_queued_twice(api, sb):
    body = api.enter([{"contactKey": "dup"}, {"contactKey": "dup"}, {"contactKey": "solo"}]).json()
    assert body["notQueuedCount"] == 0
    assert body["members"][0]["eventInstanceId"] != body["members"][1]["eventInstanceId"]
    assert sb.entry_counts() == {"dup": 2, "solo": 1}
    api.enter([{"contactKey": "dup"}])
    assert sb.entry_counts(sb.event_key)["dup"] == 3 and sb.entry_counts("APIEvent-other") == {}


# ---- status --------------------------------------------------------------------------------------------

def test_queued_members_become_processed(make_api):
    api = make_api(process_delay=0.3)
    body = api.enter(members(3)).json()
    first = api.get(STATUS, params={"requestId": body["requestId"]}).json()
    assert set(first) == {"page", "pageSize", "count", "items"} and first["count"] == 3
    assert {i["status"] for i in first["items"]} == {"queued"}
    items = api.wait_status(body["requestId"])
    assert {i["status"] for i in items} == {"processed"}
    item = items[0]
    assert set(item) >= {"requestId", "eventInstanceId", "contactKey", "eventDefinitionKey", "status",
                         "createdDate", "modifiedDate"}
    assert item["eventDefinitionKey"] == api.sb.event_key and "message" not in item
    assert datetime.fromisoformat(item["modifiedDate"]) >= datetime.fromisoformat(item["createdDate"])
    assert {e["status"] for e in api.sb.entries()} == {"processed"}
    assert api.sb.entries()[0]["journeys"] == ["welcome-journey"]


def test_single_entry_journey_refuses_reentry(api, sb):
    key = sb.single_entry_event_key
    first = api.enter([{"contactKey": "once"}, {"contactKey": "once"}], key=key).json()
    items = api.wait_status(first["requestId"])
    by_id = {i["eventInstanceId"]: i for i in items}
    statuses = [by_id[m["eventInstanceId"]]["status"] for m in first["members"]]
    assert statuses == ["processed", "errored"]
    errored = by_id[first["members"][1]["eventInstanceId"]]
    assert "re-entry" in errored["message"] and "SingleEntryAcrossAllVersions" in errored["message"]
    later = api.enter([{"contactKey": "once"}], key=key).json()
    assert api.wait_status(later["requestId"])[0]["status"] == "errored"
    errored_all = api.get(STATUS, params={"contactKey": "once", "type": "errored"}).json()
    assert errored_all["count"] == 2
    # the multiple-entries journey takes the same contact again and again
    again = api.enter([{"contactKey": "once"}, {"contactKey": "once"}]).json()
    assert {i["status"] for i in api.wait_status(again["requestId"])} == {"processed"}


def test_draft_only_event_errors_out(api, sb):
    body = api.enter([{"contactKey": "d1"}], key=sb.draft_event_key).json()
    assert body["notQueuedCount"] == 0
    item = api.wait_status(body["requestId"])[0]
    assert item["status"] == "errored" and "published" in item["message"].lower()
    assert sb.entries(sb.draft_event_key)[0]["status"] == "errored"


def test_status_filters_and_paging(api, sb):
    body = api.enter(members(30)).json()
    api.enter(members(2, prefix="other"))
    assert_envelope(api.get(STATUS), 400)
    assert_envelope(api.get(STATUS, params={"type": "finished"}), 400)
    seen = []
    for page in (1, 2, 3, 4):
        resp = api.get(STATUS, params={"requestId": body["requestId"], "$page": page, "$pageSize": 12}).json()
        assert resp["count"] == 30 and resp["page"] == page and resp["pageSize"] == 12
        seen += [i["contactKey"] for i in resp["items"]]
    assert seen == [m["contactKey"] for m in members(30)]
    default = api.get(STATUS, params={"eventDefinitionKey": sb.event_key}).json()
    assert default["pageSize"] == 50 and default["count"] == 32
    one = body["members"][4]
    by_instance = api.get(STATUS, params={"eventInstanceId": one["eventInstanceId"]}).json()
    assert [i["contactKey"] for i in by_instance["items"]] == [one["contactKey"]]
    assert api.get(STATUS, params={"contactKey": "other1"}).json()["count"] == 1
    assert api.get(STATUS, params={"requestId": str(uuid.uuid4())}).json() == {
        "page": 1, "pageSize": 50, "count": 0, "items": []}
    assert_envelope(api.get(STATUS, params={"requestId": body["requestId"], "$page": 0}), 400)


# ---- single entry --------------------------------------------------------------------------------------

def test_single_entry(api, sb):
    path = "interaction/v1/events"
    resp = api.post(path, json={"ContactKey": "solo", "EventDefinitionKey": sb.event_key,
                                "Data": {"Email": "solo@example.com"}})
    assert resp.status_code == 201 and set(resp.json()) == {"eventInstanceId"}
    entry = sb.entries()[0]
    assert entry["eventInstanceId"] == resp.json()["eventInstanceId"] and entry["requestId"] is None
    assert_envelope(api.post(path, json={"ContactKey": "x", "EventDefinitionKey": "APIEvent-nope"}), 400)
    assert_envelope(api.post(path, json={"ContactKey": "x", "EventDefinitionKey": "a.b"}), 400)
    assert_envelope(api.post(path, json={"ContactKey": " ", "EventDefinitionKey": sb.event_key}), 400, 10002)
    assert_envelope(api.post(path, json={"ContactKey": "x", "EventDefinitionKey": sb.event_key,
                                         "Data": {"Nope": 1}}), 400, 10005)
    assert_envelope(api.post(path, json={"ContactKey": "x", "EventDefinitionKey": sb.shared_event_key}),
                    400, 10000)
    assert_envelope(api.post(path, json={"contactKey": "x", "eventDefinitionKey": sb.event_key}), 400, 10002)
    assert len(sb.entries()) == 1 and sb.stats["members_queued"] == 1


# ---- journeys and events -------------------------------------------------------------------------------

def test_journey_listing_shape(api, sb):
    body = api.get("interaction/v1/interactions").json()
    assert set(body) >= {"count", "page", "pageSize", "links", "items"}
    assert body["count"] == 16 == len(body["items"]) and body["page"] == 1 and body["pageSize"] == 50
    welcome = next(j for j in body["items"] if j["name"] == "Welcome Journey")
    assert set(welcome) >= {"id", "key", "name", "version", "status", "entryMode", "definitionType",
                            "triggers", "stats", "createdDate", "modifiedDate"}
    assert (welcome["status"], welcome["entryMode"], welcome["definitionType"]) == (
        "Published", "MultipleEntries", "Multistep")
    assert welcome["triggers"][0]["type"] == "APIEvent"
    assert welcome["triggers"][0]["metaData"]["eventDefinitionKey"] == sb.event_key
    assert set(welcome["stats"]) >= {"currentPopulation", "cumulativePopulation", "metGoal"}
    statuses = {j["key"]: j["status"] for j in body["items"]}
    assert statuses["spring-promo-journey"] == "Draft" and statuses["winback-journey"] == "Stopped"
    assert statuses["loyalty-journey"] == "Published"  # its Deleted version 2 is not listed
    single = next(j for j in body["items"] if j["key"] == "onboarding-journey")
    assert single["entryMode"] == "SingleEntryAcrossAllVersions"
    assert single["triggers"][0]["metaData"]["eventDefinitionKey"] == sb.single_entry_event_key


def test_journey_listing_filters(api):
    get = lambda **q: api.get("interaction/v1/interactions", params=q).json()  # noqa: E731
    assert [j["key"] for j in get(status="Draft")["items"]] == ["spring-promo-journey"]
    assert get(status="Published")["count"] == 14
    assert get(nameOrDescription="welcome")["items"][0]["key"] == "welcome-journey"
    assert get(key="loyalty-journey")["items"][0]["version"] == 1
    deleted = get(status="Deleted")["items"]
    assert [(j["key"], j["version"]) for j in deleted] == [("loyalty-journey", 2)]
    assert get(status="Paused")["count"] == 0


def test_journey_paging_with_extra_journeys(make_api):
    api = make_api(extra_journeys=60)
    keys = []
    for page in (1, 2, 3):
        body = api.get("interaction/v1/interactions", params={"$page": page, "$pageSize": 50}).json()
        assert body["count"] == 76 and body["pageSize"] == 50
        keys += [j["key"] for j in body["items"]]
        assert ("next" in body["links"]) == (page == 1)
    assert len(keys) == 76 == len(set(keys))
    capped = api.get("interaction/v1/interactions", params={"$pageSize": 200}).json()
    assert capped["pageSize"] == 50 and len(capped["items"]) == 50
    assert api.get("interaction/v1/interactions", params={"status": "Stopped"}).json()["count"] == 61


def test_one_journey_by_key_id_and_version(api, sb):
    welcome = api.get("interaction/v1/interactions/key:welcome-journey").json()
    assert welcome["name"] == "Welcome Journey" and welcome["version"] == 1
    by_id = api.get(f"interaction/v1/interactions/{welcome['id']}").json()
    assert by_id["key"] == "welcome-journey"
    body = assert_envelope(api.get("interaction/v1/interactions/key:loyalty-journey"), 404, 30003)
    assert body["message"] == "Interaction matching criteria not found."
    v1 = api.get("interaction/v1/interactions/key:loyalty-journey", params={"versionNumber": 1})
    assert v1.status_code == 200 and (v1.json()["version"], v1.json()["status"]) == (1, "Published")
    assert_envelope(api.get("interaction/v1/interactions/key:loyalty-journey", params={"versionNumber": 2}),
                    404, 30003)
    again = api.get(f"interaction/v1/interactions/{v1.json()['id']}", params={"versionNumber": 1})
    assert again.json()["id"] == v1.json()["id"]
    assert_envelope(api.get(f"interaction/v1/interactions/{uuid.uuid4()}"), 404, 30003)
    assert_envelope(api.get("interaction/v1/interactions/key:no-such-journey"), 404, 30003)


def test_event_definitions(api, sb):
    listing = api.get("interaction/v1/eventDefinitions").json()
    assert listing["count"] == 6 and {e["eventDefinitionKey"] for e in listing["items"]} >= {
        sb.event_key, sb.single_entry_event_key, sb.draft_event_key, sb.shared_event_key}
    event = api.get(f"interaction/v1/eventDefinitions/key:{sb.event_key}").json()
    assert set(event) >= {"id", "eventDefinitionKey", "name", "type", "mode", "dataExtensionId",
                          "dataExtensionName", "interactionCount", "publishedInteractionCount", "schema"}
    assert (event["type"], event["mode"], event["interactionCount"]) == ("APIEvent", "Production", 1)
    fields = {f["name"]: f for f in event["schema"]["fields"]}
    assert fields["FirstName"]["dataType"] == "Text" and fields["FirstName"]["maxLength"] == 50
    assert fields["SubscriberKey"]["isPrimaryKey"] and not fields["SubscriberKey"]["isNullable"]
    assert set(fields["Email"]) == {"name", "dataType", "maxLength", "isNullable", "isPrimaryKey", "defaultValue"}
    by_id = api.get(f"interaction/v1/eventDefinitions/{event['id']}").json()
    assert by_id["eventDefinitionKey"] == sb.event_key
    shared = api.get(f"interaction/v1/eventDefinitions/key:{sb.shared_event_key}").json()
    assert (shared["interactionCount"], shared["publishedInteractionCount"]) == (11, 11)
    draft = api.get(f"interaction/v1/eventDefinitions/key:{sb.draft_event_key}").json()
    assert (draft["interactionCount"], draft["publishedInteractionCount"]) == (1, 0)
    assert_envelope(api.get("interaction/v1/eventDefinitions/key:APIEvent-nope"), 404)
    paged = api.get("interaction/v1/eventDefinitions", params={"$page": 2, "$pageSize": 4}).json()
    assert (paged["count"], paged["page"], len(paged["items"])) == (6, 2, 2)


def test_data_extension_fields_and_the_draft_fallback(api, sb):
    event = api.get(f"interaction/v1/eventDefinitions/key:{sb.event_key}").json()
    body = api.get(f"data/v1/customobjects/{event['dataExtensionId']}/fields").json()
    assert body["id"] == event["dataExtensionId"]
    got = [(f["name"], f["type"], f["length"], f["isPrimaryKey"]) for f in body["fields"]]
    assert got == [("SubscriberKey", "Text", 254, True), ("Email", "EmailAddress", 254, False),
                   ("FirstName", "Text", 50, False), ("LastName", "Text", 50, False),
                   ("City", "Text", 100, False), ("Points", "Number", None, False),
                   ("SignupDate", "Date", None, False), ("IsVip", "Boolean", None, False)]
    assert [f["ordinal"] for f in body["fields"]] == list(range(8))
    assert all({"isNullable"} <= set(f) for f in body["fields"])
    draft = api.get(f"interaction/v1/eventDefinitions/key:{sb.draft_event_key}").json()
    assert_envelope(api.get(f"data/v1/customobjects/{draft['dataExtensionId']}/fields"), 404)
    assert len(draft["schema"]["fields"]) == 8  # the fallback a client must use
    assert_envelope(api.get(f"data/v1/customobjects/{uuid.uuid4()}/fields"), 404)
    journeys_only = api.token_answer(scope="journeys_read").json()["access_token"]
    assert_envelope(api.get(f"data/v1/customobjects/{event['dataExtensionId']}/fields", token=journeys_only),
                    403, 20002)


# ---- membership, exit, history -------------------------------------------------------------------------

def enter_and_wait(api, contact_keys, key=None):
    body = api.enter([{"contactKey": k} for k in contact_keys], key=key).json()
    return api.wait_status(body["requestId"])


def test_contact_membership(api, sb):
    enter_and_wait(api, ["m1", "m2"])
    enter_and_wait(api, ["m1"], key="APIEvent-loyalty")
    path = "interaction/v1/interactions/contactMembership"
    body = api.post(path, json={"ContactKeyList": ["m1", "m2", "ghost"]}).json()
    found = body["results"]["contactMemberships"]
    assert {(m["contactKey"], m["definitionKey"], m["version"]) for m in found} == {
        ("m1", "welcome-journey", 1), ("m2", "welcome-journey", 1), ("m1", "loyalty-journey", 1)}
    assert body["results"]["contactsNotFound"] == ["ghost"]
    assert_envelope(api.post(path, json={"ContactKeyList": []}), 400)
    assert_envelope(api.post(path, json={"ContactKeyList": [f"k{i}" for i in range(51)]}), 400)
    welcome = api.get("interaction/v1/interactions/key:welcome-journey").json()
    assert welcome["stats"]["currentPopulation"] == 2 and welcome["stats"]["cumulativePopulation"] == 2


def test_contact_exit_and_its_status(api, sb):
    enter_and_wait(api, ["x1"])
    exit_path = "interaction/v1/interactions/contactexit"
    item = {"ContactKey": "x1", "DefinitionKey": "welcome-journey", "Versions": [1]}
    ghost = {"ContactKey": "ghost", "DefinitionKey": "welcome-journey", "Versions": [1]}
    resp = api.post(exit_path, json=[item, ghost])
    assert resp.status_code == 202
    errors = resp.json()["errors"]
    assert [(e["contactKey"], e["definitionKey"]) for e in errors] == [("ghost", "welcome-journey")]
    assert errors[0]["status"][0]["version"] == 1 and "not found" in errors[0]["status"][0]["message"].lower()
    status = api.post(exit_path + "/status", json=[item, ghost]).json()
    assert [s["contactKey"] for s in status] == ["x1", "ghost"]
    assert set(status[0]["status"][0]) == {"version", "message", "definitionInstanceId"}
    assert status[1]["status"][0]["message"] == "Contact not found in journey"
    deadline = time.monotonic() + 5
    while api.post(exit_path + "/status", json=[item]).json()[0]["status"][0]["message"] != "Exit process Completed":
        assert time.monotonic() < deadline, "exit never completed"
        time.sleep(0.02)
    members_now = api.post("interaction/v1/interactions/contactMembership", json={"ContactKeyList": ["x1"]})
    assert members_now.json()["results"]["contactsNotFound"] == ["x1"]
    assert_envelope(api.post(exit_path, json=item), 400)  # an object, not an array
    assert_envelope(api.post(exit_path, json=[item] * 51), 400)
    assert_envelope(api.post(exit_path, json=[{"ContactKey": "x1"}]), 400)


def test_exit_status_reports_queued_before_completed(make_api):
    api = make_api(process_delay=0.05)
    enter_and_wait(api, ["q1"])
    api.sb.configure(process_delay=5)
    item = {"ContactKey": "q1", "DefinitionKey": "welcome-journey", "Versions": [1]}
    assert api.post("interaction/v1/interactions/contactexit", json=[item]).json() == {"errors": []}
    status = api.post("interaction/v1/interactions/contactexit/status", json=[item]).json()
    assert status[0]["status"][0]["message"] == "Exit process Queued"


def test_journey_history_csv(api, sb):
    enter_and_wait(api, ["h1", "h2"])
    enter_and_wait(api, ["h3"], key=sb.draft_event_key)
    path = "interaction/v1/interactions/journeyhistory/download"
    assert_envelope(api.post(path, json={}), 400)
    # the entry rows only, with the columns asked for (the documented defaults: test_sandbox_journeys.py)
    chosen = path + "?columns=TransactionTime,ContactKey,Status,DefinitionId,DefinitionName,ActivityType,Message"
    resp = api.post(chosen, json={"activityTypes": ["trigger"]}, headers={"x-direct-pipe": "true"})
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert resp.text.splitlines()[0] == "TransactionTime,ContactKey,Status,DefinitionId,DefinitionName," \
                                        "ActivityType,Message"
    assert {(r["ContactKey"], r["Status"], r["ActivityType"]) for r in rows} == {
        ("h1", "Complete", "trigger"), ("h2", "Complete", "trigger"), ("h3", "Failed", "trigger")}
    welcome_id = api.get("interaction/v1/interactions/key:welcome-journey").json()["id"]
    assert {r["DefinitionId"] for r in rows if r["ContactKey"] == "h1"} == {welcome_id}
    only = api.post(path, json={"contactKeys": ["h3"], "statuses": ["Failed"]}, headers={"x-direct-pipe": "true"})
    assert [r["ContactKey"] for r in csv.DictReader(io.StringIO(only.text))] == ["h3"]
    future = api.post(path, json={"start": "2999-01-01T00:00:00Z"}, headers={"x-direct-pipe": "true"})
    assert len(future.text.splitlines()) == 1
    assert_envelope(api.post(path, json={"start": "whenever"}, headers={"x-direct-pipe": "true"}), 400)


# ---- routing ---------------------------------------------------------------------------------------------

def test_unknown_path_is_404_and_wrong_method_is_405(api):
    assert_envelope(api.get("interaction/v1/nothing-here"), 404)
    resp = api.call("DELETE", "interaction/v1/interactions")
    assert resp.status_code == 405 and "message" in resp.json() and resp.headers["Allow"] == "GET"
    assert api.get(BATCH).status_code == 405
    assert api.get("interaction/v1/interactions/contactMembership").status_code == 405
    assert api.s.get(api.sb.auth_base_url + "v2/token", timeout=10).status_code == 405
