"""The answer models against the sandbox: raw JSON kept, list models still lists, each ``to_frame()`` the table
the exploration magics show (same columns, same nullable integer columns)."""

from __future__ import annotations

import time

import pandas as pd

from sfmc_nb.client import (
    ExitProblemList,
    ExitStatusList,
    Field,
    FieldList,
    JourneyList,
    Membership,
    StatusItemList,
    entry_fields_frame,
)

JOURNEY_COLUMNS = ["name", "key", "version", "status", "entryMode", "eventKeys", "currentPopulation",
                   "cumulativePopulation", "id"]
FIELD_COLUMNS = ["eventKey", "name", "type", "length", "isPrimaryKey", "isNullable"]
EXIT_COLUMNS = ["contactKey", "definitionKey", "version", "message"]


def member(key, **data):
    return {"contactKey": key, "data": data}


def wait_for_membership(conn, keys, count):
    deadline = time.monotonic() + 10
    while True:
        found = conn.contact_membership(keys)
        if len(found.memberships) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


# --------------------------------------------------------------------------- journeys


def test_journey_list_is_a_list_with_the_journeys_table(sandbox, conn):
    journeys = conn.journeys()
    assert isinstance(journeys, JourneyList) and isinstance(journeys, list)
    frame = journeys.to_frame()
    assert list(frame.columns) == JOURNEY_COLUMNS and len(frame) == len(journeys)
    assert {c: str(frame[c].dtype) for c in ("version", "currentPopulation", "cumulativePopulation")} == {
        "version": "Int64", "currentPopulation": "Int64", "cumulativePopulation": "Int64"}
    welcome = next(i for i, j in enumerate(journeys) if sandbox.event_key in j.event_keys)
    row = frame.iloc[welcome]
    assert row["key"] == journeys[welcome].key and row["entryMode"] == "MultipleEntries"
    assert row["eventKeys"] == [sandbox.event_key]
    assert row["currentPopulation"] == journeys[welcome].raw["stats"]["currentPopulation"]
    assert journeys.raw == [j.raw for j in journeys] and all(r.get("id") for r in journeys.raw)


def test_no_journeys_is_an_empty_table_with_the_same_columns(conn):
    journeys = conn.journeys(status="Nope")
    assert journeys == []
    frame = journeys.to_frame()
    assert frame.empty and list(frame.columns) == JOURNEY_COLUMNS and str(frame["version"].dtype) == "Int64"


# --------------------------------------------------------------------------- entry fields


def test_entry_fields_table_names_the_event(sandbox, conn):
    fields = conn.entry_fields(sandbox.event_key)
    assert isinstance(fields, FieldList) and fields.event_key == sandbox.event_key
    frame = fields.to_frame()
    assert list(frame.columns) == FIELD_COLUMNS and len(frame) == len(fields)
    assert set(frame["eventKey"]) == {sandbox.event_key}
    assert str(frame["length"].dtype) == "Int64"
    first = frame.set_index("name").loc["FirstName"]
    assert first["length"] == 50 and first["type"] == fields[[f.name for f in fields].index("FirstName")].type
    assert bool(frame.set_index("name").loc["SubscriberKey", "isPrimaryKey"]) is True
    assert fields.raw == [f.raw for f in fields]


def test_the_event_schema_fallback_names_the_event_too(sandbox, conn):
    draft = conn.entry_fields(sandbox.draft_event_key)
    assert draft and set(draft.to_frame()["eventKey"]) == {sandbox.draft_event_key}


def test_fields_of_several_events_make_one_table(sandbox, conn):
    welcome, draft = conn.entry_fields(sandbox.event_key), conn.entry_fields(sandbox.draft_event_key)
    both = entry_fields_frame([welcome, draft])
    assert list(both.columns) == FIELD_COLUMNS and len(both) == len(welcome) + len(draft)
    assert list(both["eventKey"]) == [sandbox.event_key] * len(welcome) + [sandbox.draft_event_key] * len(draft)
    empty = entry_fields_frame([])
    assert empty.empty and list(empty.columns) == FIELD_COLUMNS


def test_both_answer_shapes_give_the_same_lengths(sandbox, conn):
    """The data API says ``length``, the event schema ``maxLength``: one parsing rule reads both alike."""
    schema = {f.name: f.length for f in conn.event_definition(sandbox.event_key).schema_fields}
    columns = {f.name: f.length for f in conn.entry_fields(sandbox.event_key)}
    assert schema and schema == {name: columns[name] for name in schema}


def test_field_parsing_prefers_max_length_then_length():
    assert Field.from_json({"name": "a", "maxLength": 10, "length": 20}).length == 10
    assert Field.from_json({"name": "a", "maxLength": None, "length": "20"}).length == 20
    assert Field.from_json({"name": "a", "length": "junk"}).length is None
    assert Field.from_json({"name": "a", "dataType": "Text", "type": "Number"}).type == "Text"
    assert Field.from_json({"name": "a", "fieldType": "Date"}).type == "Date"


# --------------------------------------------------------------------------- contacts


def test_membership_table_lists_the_contacts_not_found(sandbox, conn):
    conn.enter_batch(sandbox.event_key, [member("mf-1"), member("mf-2")])
    found = wait_for_membership(conn, ["mf-1", "mf-2", "ghost"], 2)
    assert isinstance(found, Membership) and found.raw
    frame = found.to_frame()
    assert list(frame.columns) == ["contactKey", "definitionKey", "version"]
    assert str(frame["version"].dtype) == "Int64"
    assert set(frame["contactKey"]) == {"mf-1", "mf-2"} and frame.attrs["not_found"] == ["ghost"]
    none = conn.contact_membership(["ghost"]).to_frame()
    assert none.empty and list(none.columns) == ["contactKey", "definitionKey", "version"]


def test_exit_problems_and_exit_status_tables(sandbox, conn):
    conn.enter_batch(sandbox.event_key, [member("xf-1")])
    wait_for_membership(conn, ["xf-1"], 1)
    welcome = next(j for j in conn.journeys() if sandbox.event_key in j.event_keys)
    problems = conn.contact_exit(["xf-1", "ghost"], welcome.key)
    assert isinstance(problems, ExitProblemList) and problems
    frame = problems.to_frame()
    assert list(frame.columns) == EXIT_COLUMNS and str(frame["version"].dtype) == "Int64"
    assert list(frame["contactKey"]) == ["ghost"] and frame["message"].iloc[0]
    status = conn.contact_exit_status(["xf-1"], welcome.key)
    assert isinstance(status, ExitStatusList) and status[0]["contactKey"] == "xf-1"
    frame = status.to_frame()
    assert list(frame.columns) == EXIT_COLUMNS + ["definitionInstanceId"]
    assert len(frame) == sum(len(item["status"]) for item in status)
    assert set(frame["contactKey"]) == {"xf-1"} and frame["version"].notna().all()
    accepted = conn.contact_exit(["xf-1"], welcome.key).to_frame()
    assert accepted.empty and list(accepted.columns) == EXIT_COLUMNS


def test_exit_table_keeps_odd_items_as_messages():
    frame = ExitStatusList(["text", {"ContactKey": "c", "DefinitionKey": "j", "status": []}]).to_frame()
    assert frame["message"].iloc[0] == "text" and pd.isna(frame["message"].iloc[1])
    assert pd.isna(frame["contactKey"].iloc[0]) and frame["contactKey"].iloc[1] == "c"


# --------------------------------------------------------------------------- batch status


def test_batch_status_items_flatten_into_a_table(sandbox, conn):
    answer = conn.enter_batch(sandbox.event_key, [member(f"bf-{i}") for i in range(3)])
    items = conn.batch_status(request_id=answer.request_id)
    assert isinstance(items, StatusItemList) and len(items) == 3
    frame = items.to_frame()
    assert len(frame) == 3 and {"contactKey", "status", "requestId"} <= set(frame.columns)
    assert set(frame["contactKey"]) == {"bf-0", "bf-1", "bf-2"}
    pd.testing.assert_frame_equal(frame, pd.json_normalize(list(items)))
    assert conn.batch_status(request_id="no-such-request").to_frame().empty
