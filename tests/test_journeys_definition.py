"""JourneyGraph: a journey definition (sfmc-api.md 5.1) read into activities, branches and journey order."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from test_journeys_samples import EVENT_KEY, JOURNEY_ID, criterion, definition, guid

from sfmc_nb.journeys import JourneyGraph


@pytest.fixture
def graph():
    return JourneyGraph.from_definition(definition())


def test_the_graph_knows_the_journey_and_its_trigger(graph):
    assert (graph.id, graph.key, graph.name, graph.version, graph.status) == (
        JOURNEY_ID, "score-journey", "Score journey", 3, "Published")
    assert graph.trigger.name == "Score API event" and graph.trigger.event_key == EVENT_KEY
    assert graph.trigger.description == f"API event {EVENT_KEY}"
    assert graph.entry is not None and graph.entry.key == "MULTICRITERIADECISION-1"
    assert graph.title == "Score journey (v3, Published)"


def test_journey_order_is_breadth_first_from_the_entry_in_outcome_order(graph):
    assert [a.label for a in graph.activities] == [
        "Score decision", "High value email", "Random split", "Wait 1 hour", "Wait 2 days", "Offer A", "Offer B",
        "Opened?", "Thank you email", "<Bob & Co> sync"]
    assert graph.depth["MULTICRITERIADECISION-1"] == 0 and graph.depth["FUTURESYNC-1"] == 4
    assert graph.successors("MULTICRITERIADECISION-1") == ("EMAILV2-1", "RANDOMSPLIT-1", "WAIT-2")
    assert graph.successors("WAIT-2") == ()


def test_edges_carry_the_branch_labels(graph):
    labels = {(e.source, e.target): e.label for e in graph.edges}
    assert labels[("TRIGGER", "MULTICRITERIADECISION-1")] == ""
    assert graph.edges[0].source == "TRIGGER"
    assert labels[("MULTICRITERIADECISION-1", "EMAILV2-1")] == "High"
    assert labels[("MULTICRITERIADECISION-1", "WAIT-2")] == "Remainder"
    assert labels[("RANDOMSPLIT-1", "EMAILV2-3")] == "Path A · 50%"
    assert labels[("RANDOMSPLIT-1", "EMAILV2-4")] == "50%"
    assert labels[("ENGAGEMENTDECISION-1", "EMAILV2-2")] == "Yes"
    assert labels[("ENGAGEMENTDECISION-1", "FUTURESYNC-1")] == "No"
    conditions = {e.outcome_key: e.condition for e in graph.edges}
    assert conditions["high"] == "Score > 50" and conditions["medium"] == 'Score > 20 and Country is "US"'
    assert conditions["rest"] == ""
    assert len(graph.edges) == 10        # nine outcomes with a next activity, and the trigger's edge


def test_each_activity_has_a_short_description(graph):
    described = {a.key: a.description for a in graph.activities}
    assert described["WAIT-1"] == "Wait 2 days" and described["WAIT-2"] == "Wait 1 hour"
    assert described["MULTICRITERIADECISION-1"] == '3 paths: Score > 50; Score > 20 and Country is "US"; remainder'
    assert described["RANDOMSPLIT-1"] == "Random: 50% / 50%"
    assert described["ENGAGEMENTDECISION-1"] == "Opened High value email?"
    assert described["EMAILV2-2"] == "Email: Thank you email"
    assert described["FUTURESYNC-1"] == "Futuresync activity"     # a type no one knows, in words


def test_an_unknown_activity_type_is_a_plain_activity(graph):
    unknown = graph.activity("FUTURESYNC-1")
    assert unknown is not None and unknown.family == "other" and unknown.name == "<Bob & Co> sync"
    assert {a.family for a in graph.activities} == {"split", "message", "wait", "other"}


def test_activities_are_found_by_key_id_label_or_name(graph):
    assert graph.activity("WAIT-1") is graph.activity(guid(3)) is graph.activity("Wait 2 days")
    assert graph.activity(guid(3).upper()) is graph.activity("WAIT-1")
    assert graph.by_id(guid(6)).key == "FUTURESYNC-1"
    assert graph.activity("nothing") is None and graph.by_id(None) is None


def test_to_frame_lists_the_activities_in_journey_order(graph):
    frame = graph.to_frame()
    assert list(frame.columns) == ["key", "name", "type", "description", "depth", "next", "type_code"]
    assert frame["type"].tolist()[:3] == ["Decision split", "Email", "Random split"]
    assert frame["type_code"].tolist()[:3] == ["MULTICRITERIADECISION", "EMAILV2", "RANDOMSPLIT"]
    assert frame["name"].tolist()[:3] == ["Score decision", "High value email", "Random split"]
    assert frame.loc[0, "next"] == ("High value email", "Random split", "Wait 1 hour")


def test_a_journey_without_activities_is_its_trigger_alone():
    data = definition()
    data["activities"] = []
    graph = JourneyGraph.from_definition(data)
    assert len(graph) == 0 and graph.entry is None and graph.edges == () and graph.trigger.name == "Score API event"
    assert "no activities" in repr(graph)


@pytest.mark.parametrize("junk", [
    None, {}, [], "not a journey", {"activities": "nope", "triggers": "nope"},
    {"activities": [None, 3, "x", {"outcomes": "nope"}, {"key": "A", "outcomes": [None, {"next": 7}]}]},
    {"activities": [{"key": "W", "type": "WAIT", "configurationArguments": {"waitDuration": float("nan")}}]},
    {"activities": [{"key": "A", "type": "WAIT", "configurationArguments": {"waitDuration": "soon"},
                     "outcomes": [{"next": "missing"}]}], "triggers": [{"metaData": None}]},
    {"goals": "x", "exits": [None, 3, {"configurationArguments": "nope"}, {"configurationArguments": {"criteria": 5}}],
     "entryMode": [], "status": {}, "activities": [
         {"key": "S", "type": "SALESCLOUDACTIVITY", "arguments": {"objectMap": {"objects": [None, {"type": 3}]}}},
         {"key": "R", "type": "REST", "arguments": {"execute": "nope"}},
         {"key": "T", "type": "STOWAIT", "configurationArguments": {"params": {"slidingWindowHours": "x"}}},
         {"key": "P", "type": "ABNTEST", "configurationArguments": {"engagementPeriod": "soon"}},
         {"key": "D", "name": None, "type": "MULTICRITERIADECISION",
          "configurationArguments": {"criteria": {"a": "<FilterDefinition/>", "b": "<Condition/>"}},
          "outcomes": [{"key": "a"}, {"key": "b"}]}]},
])
def test_malformed_definitions_never_raise(junk):
    graph = JourneyGraph.from_definition(junk)
    assert graph.trigger.name
    assert isinstance(repr(graph), str) and "<svg" in graph._repr_html_()
    assert isinstance(graph.to_frame(), pd.DataFrame)


def test_missing_keys_names_and_odd_values_are_filled_in():
    graph = JourneyGraph.from_definition({"activities": [
        {"id": guid(1), "type": "WAIT", "configurationArguments": {"waitDuration": 30, "waitUnit": "MINUTES"},
         "outcomes": [{"key": "o", "next": "activity-2"}]},
        {"type": "WAIT", "configurationArguments": {"waitDuration": 1.5, "waitUnit": "WEEKS"}},
        {"key": "R", "type": "randomSplit", "outcomes": [{"arguments": {"percentage": "90"}, "next": "X"},
                                                           {"arguments": {}}]},
        {"key": "D", "type": "MULTICRITERIADECISION", "configurationArguments": {"criteria": {"a": "<not xml"}},
         "outcomes": [{"key": "a"}, {"key": "b"}]},
    ]})
    first = graph.activities[0]
    assert (first.key, first.name, first.description) == (guid(1), "Wait 30 minutes", "Wait 30 minutes")
    assert graph.activity("activity-2").description == "Wait 1.5 weeks"
    assert graph.activity("R").description == "Random: 2 paths"
    assert [e.label for e in graph.activity("R").outcomes] == ["90%", ""]
    assert [e.label for e in graph.activity("D").outcomes] == ["Remainder", "Remainder"]
    assert graph.trigger.key == "TRIGGER" and graph.trigger.name == "Entry"


def test_duplicate_names_get_a_number_and_duplicate_keys_a_suffix():
    data = definition()
    data["activities"][9]["name"] = "Wait 2 days"
    data["activities"].append(copy.deepcopy(data["activities"][7]))
    graph = JourneyGraph.from_definition(data)
    assert graph.activity("WAIT-2").label == "Wait 2 days #1"       # numbered in journey order
    assert graph.activity("WAIT-1").label == "Wait 2 days #2"
    assert graph.activity("WAIT-1").name == "Wait 2 days"
    assert graph.activity("EMAILV2-3#2") is not None


def test_the_entry_is_the_activity_no_outcome_points_to_even_when_not_first():
    data = definition()
    data["activities"].append(data["activities"].pop(0))
    graph = JourneyGraph.from_definition(data)
    assert graph.entry.key == "MULTICRITERIADECISION-1" and graph.activities[0].key == "MULTICRITERIADECISION-1"


def test_a_branch_that_joins_another_is_placed_after_both():
    data = definition()
    data["activities"][9]["outcomes"][0]["next"] = "EMAILV2-2"      # remainder wait -> thank-you email
    graph = JourneyGraph.from_definition(data)
    assert graph.depth["EMAILV2-2"] == 4 > graph.depth["WAIT-2"] + 1


def test_a_loop_never_hangs_or_raises():
    graph = JourneyGraph.from_definition({"activities": [
        {"key": "A", "outcomes": [{"next": "B"}]}, {"key": "B", "outcomes": [{"next": "A"}, {"next": "B"}]}]})
    assert [a.key for a in graph.activities] == ["A", "B"] and graph.entry.key == "A"
    assert "<svg" in graph.svg()


def test_criteria_with_nested_sets_and_unary_operators():
    xml = ('<FilterDefinition><ConditionSet Operator="OR">'
           '<Condition Key="Event.E.Score" Operator="LessThanOrEqual"><Value><![CDATA[10]]></Value></Condition>'
           '<ConditionSet Operator="AND"><Condition Key="Contact.Attribute.Profile.Email" Operator="IsNotNull"/>'
           '<Condition Key="Event.E.City" Operator="Contains"><Value><![CDATA[York]]></Value></Condition>'
           "</ConditionSet></ConditionSet></FilterDefinition>")
    criteria = {"a": xml, "b": criterion(("Tier", "Equal", "Gold"))}
    data = {"activities": [{"key": "D", "type": "MULTICRITERIADECISION",
                            "configurationArguments": {"criteria": criteria},
                            "outcomes": [{"key": "a"}, {"key": "b"}, {"key": "c"}]}]}
    graph = JourneyGraph.from_definition(data)
    assert [e.condition for e in graph.activity("D").outcomes] == [
        'Score <= 10 or (Email is not empty and City contains "York")', 'Tier is "Gold"', ""]


def test_a_model_carrying_the_json_as_raw_is_read_too():
    class Model:
        raw = definition()

    assert len(JourneyGraph.from_definition(Model())) == 10
