"""Criteria and activities of real journeys in the words an analyst uses (shapes as in sfmc-api.md 5.3)."""

from __future__ import annotations

import pytest

from sfmc_nb.journeys import JourneyGraph
from sfmc_nb.journeys._describe import describe_activity, outcome_label, type_name
from sfmc_nb.journeys.criteria import Condition, ConditionSet, RelativeDate, parse_criteria, parse_relative_date


def condition_xml(key: str, operator: str, *values: str, extra: str = "") -> str:
    body = "".join(f"<Value><![CDATA[{v}]]></Value>" for v in values)
    return (f'<FilterDefinition><ConditionSet Operator="AND" ConditionSetName="Individual Filter Grouping">'
            f'<Condition Key="{key}" Operator="{operator}" UiMetaData="{{}}"{extra}>{body}</Condition>'
            f"</ConditionSet></FilterDefinition>")


def words(xml: str) -> str:
    parsed = parse_criteria(xml)
    assert parsed is not None
    return parsed.words()


@pytest.mark.parametrize(("operator", "values", "expected"), [
    ("Equal", ("US",), 'Country is "US"'),
    ("NotEqual", ("US",), 'Country is not "US"'),
    ("GreaterThan", ("50",), "Country > 50"),
    ("LessThan", ("50",), "Country < 50"),
    ("GreaterThanOrEqual", ("50",), "Country >= 50"),
    ("LessThanOrEqual", ("24",), "Country <= 24"),
    ("IsNull", ("",), "Country is empty"),
    ("IsNotNull", ("",), "Country is not empty"),
    ("Contains", ("@",), 'Country contains "@"'),
    ("NotContains", ("noaddress",), 'Country does not contain "noaddress"'),
    ("Begins", ("+852",), 'Country begins with "+852"'),
    ("Is", ("true",), "Country is true"),
    ("Is", ("False",), "Country is false"),
    ("AtOrAfter", (";-;14;days",), "Country is on or after 14 days ago"),
    ("AtOrBefore", (";+;0;days",), "Country is on or before today"),
    ("After", (";+;3;days",), "Country is after 3 days from now"),
    ("Before", ("2024-01-31",), 'Country is before "2024-01-31"'),
    ("Between", ("1", "5"), "Country is between 1 and 5"),
    ("SoundsLike", ("x",), 'Country sounds like "x"'),          # unknown: spelled out, never raw
])
def test_each_operator_in_words(operator, values, expected):
    assert words(condition_xml("Contact_Salesforce_1.Country", operator, *values)) == expected


def test_relative_dates_are_read_as_an_offset_from_now():
    assert parse_relative_date(";-;14;days") == RelativeDate(-1, 14, "day")
    assert parse_relative_date(";-;14;days").days == -14
    assert parse_relative_date(";+;2;weeks").words == "2 weeks from now"
    assert parse_relative_date(";-;1;days").words == "1 day ago"
    assert parse_relative_date(";+;0;days").words == "today"
    assert parse_relative_date("2024-01-01") is None and parse_relative_date(";x;1;days") is None
    parsed = parse_criteria(condition_xml("Contact_Salesforce_1.Last_Successful_Upgrade__c", "AtOrAfter",
                                          ";-;14;days"))
    assert parsed.conditions()[0].relative == RelativeDate(-1, 14, "day")


def test_a_value_inside_an_attribute_path_is_read():
    xml = ('<FilterDefinition><ConditionSet Operator="AND"><Condition Key="Donation__c_Salesforce_1.Date__c" '
           'Operator="AtOrAfter"><AttributePath RelationshipID="_Donation__c_Salesforce_1_"><Value>'
           "<![CDATA[;-;90;days]]></Value></AttributePath></Condition></ConditionSet></FilterDefinition>")
    assert words(xml) == "Date__c is on or after 90 days ago"


def test_the_field_is_the_attribute_and_its_source_is_kept_in_the_model():
    condition = parse_criteria(condition_xml("Contact_Salesforce_1.Last_Successful_Upgrade__c", "IsNotNull"))
    found = condition.conditions()[0]
    assert (found.field, found.source) == ("Last_Successful_Upgrade__c", "Contact_Salesforce_1")
    event = parse_criteria(condition_xml("Event.DEAudience-2e3c.&quot;Email&quot;", "IsNotNull")).conditions()[0]
    assert (event.field, event.source) == ("Email", "Event.DEAudience-2e3c")


def test_a_condition_with_an_id_and_no_key_keeps_its_field():
    xml = ('<FilterDefinition><ConditionSet Operator="AND"><Condition ID="a1b2-Score" Operator="IsNotNull">'
           "<Value><![CDATA[]]></Value></Condition></ConditionSet></FilterDefinition>")
    assert words(xml) == "a1b2-Score is not empty"


def test_a_value_that_names_another_attribute_is_shown_as_that_attribute():
    xml = condition_xml("Event.DEAudience-a9.ContactId", "Equal", "Sent_Log.SubscriberKey",
                        extra=' ValueIsReference="true"')
    assert words(xml) == "ContactId is SubscriberKey"
    parameter = condition_xml("Lead_Salesforce.Marketing_Cloud_Status__c", "Equal", "",
                              extra=' ValueParameterName="Event.AutomationAud-dd27.Status"')
    assert words(parameter) == "Marketing_Cloud_Status__c is Status"
    assert parse_criteria(parameter).conditions()[0].values == ("Event.AutomationAud-dd27.Status",)


def test_nested_sets_keep_their_grouping_and_list_their_fields_once():
    xml = ('<FilterDefinition><ConditionSet Operator="OR">'
           '<Condition Key="C.Email" Operator="IsNull"><Value><![CDATA[]]></Value></Condition>'
           '<ConditionSet Operator="AND"><Condition Key="C.Email" Operator="NotContains"><Value>'
           "<![CDATA[@]]></Value></Condition>"
           '<Condition Key="C.Score" Operator="GreaterThan"><Value><![CDATA[5]]></Value></Condition>'
           "</ConditionSet></ConditionSet></FilterDefinition>")
    parsed = parse_criteria(xml)
    assert isinstance(parsed, ConditionSet) and isinstance(parsed.items[1], ConditionSet)
    assert all(isinstance(c, Condition) for c in parsed.conditions()) and len(parsed.conditions()) == 3
    assert parsed.fields == ["Email", "Score"]
    assert parsed.words() == 'Email is empty or (Email does not contain "@" and Score > 5)'
    assert parse_criteria("<not xml") is None and parse_criteria("") is None and parse_criteria(None) is None


def test_a_random_split_label_says_the_path_and_its_share_once():
    outcome = {"arguments": {"percentage": "50"}, "metaData": {"label": "50%", "pathName": "Path 1"}}
    assert outcome_label("RANDOMSPLIT", outcome) == "Path 1 · 50%"
    assert outcome_label("RANDOMSPLIT", {"arguments": {"percentage": 17},
                                         "metaData": {"label": "17%", "name": "Path 4"}}) == "Path 4 · 17%"
    assert outcome_label("RANDOMSPLIT", {"arguments": {"percentage": 50}, "metaData": {"label": "50%"}}) == "50%"
    assert outcome_label("ABNTEST", {"arguments": {"percentage": 34},
                                     "metaData": {"label": "34%", "pathName": "Path 3"}}) == "Path 3 · 34%"


def _decision(key: str, criteria: dict[str, str], name: str = "") -> dict:
    return {"key": key, "name": name, "type": "MULTICRITERIADECISION",
            "configurationArguments": {"criteria": criteria},
            "outcomes": [{"key": k, "next": None} for k in criteria] + [{"key": "rest"}]}


def test_nameless_decisions_are_named_by_what_they_decide_and_never_share_a_title():
    opt_out = condition_xml("Contact_Salesforce_1.HasOptedOutOfEmail", "Is", "true")
    language = condition_xml("Contact_Salesforce_1.Preferred_Language__c", "Equal", "English")
    first, second, third = (_decision("MULTICRITERIADECISIONV2-1", {"a": opt_out}),
                            _decision("MULTICRITERIADECISIONV2-2", {"b": language}),
                            _decision("MULTICRITERIADECISIONV2-3", {"c": language}))
    first["outcomes"][0]["next"] = "MULTICRITERIADECISIONV2-2"
    first["outcomes"][1]["next"] = "MULTICRITERIADECISIONV2-3"
    graph = JourneyGraph.from_definition({"activities": [first, second, third]})
    assert [a.label for a in graph.activities] == [
        "Decision on HasOptedOutOfEmail", "Decision on Preferred_Language__c #1",
        "Decision on Preferred_Language__c #2"]
    assert all("MULTICRITERIADECISION" not in a.label for a in graph.activities)
    assert graph.activity("MULTICRITERIADECISIONV2-1").type_name == "Decision split"


def test_descriptions_are_never_cut():
    criteria = {f"o{i}": condition_xml(f"Contact_Salesforce_1.Interested_In_Topic_{i}__c", "Is", "true")
                for i in range(12)}
    graph = JourneyGraph.from_definition({"activities": [_decision("D", criteria)]})
    description = graph.activity("D").description
    assert all(f"Interested_In_Topic_{i}__c is true" in description for i in range(12))
    assert "..." not in description and "…" not in description


def test_a_sales_cloud_activity_says_what_it_does_in_salesforce():
    activity = {"key": "SALESCLOUDACTIVITY-1", "name": "", "type": "SALESCLOUDACTIVITY",
                "arguments": {"objectMap": {"objects": [
                    {"type": "Task", "action": "Create", "fields": []},
                    {"type": "coe__Contact_Audience__c", "action": "Update", "fields": []}]}}}
    assert describe_activity(activity) == "Salesforce: create Task, update Contact Audience"
    graph = JourneyGraph.from_definition({"activities": [activity]})
    assert graph.activities[0].label == "Sales Cloud activity" and type_name("SALESCLOUDACTIVITY") in repr(graph)


def test_an_email_is_named_by_its_email_or_subject_not_its_generated_send_name():
    def email(send: dict) -> dict:
        return {"key": "EMAILV2-1", "name": "", "type": "EMAILV2",
                "configurationArguments": {"triggeredSend": send}}

    generated = "welcome email 2 - 80ba788913144384939a902ef7927ba1"
    assert describe_activity(email({"name": generated, "emailSubject": "Welcome!"})) == "Subject: Welcome!"
    assert describe_activity(email({"name": generated, "emailName": "Welcome v2", "emailSubject": "Hi"})) == (
        "Email: Welcome v2")
    assert describe_activity(email({"name": generated})) == "Email: welcome email 2"
    assert JourneyGraph.from_definition({"activities": [email({"emailName": "Welcome v2"})]}).activities[0].label \
        == "Welcome v2"


@pytest.mark.parametrize(("activity", "expected"), [
    ({"type": "STOWAIT", "configurationArguments": {"params": {"slidingWindowHours": 12}}},
     "Einstein: wait for each contact's best send time, at most 12 hours"),
    ({"type": "WAIT", "configurationArguments": {
        "waitDuration": -8, "waitUnit": "DAYS", "specifiedTime": "09:00",
        "waitEndDateAttributeExpression": '{{Event.SalesforceObj6a."Event__r:Start_Date__c"}}'},
      "metaData": {"uiType": "WAITBYATTRIBUTE"}}, "Wait until 8 days before Event__r:Start_Date__c at 09:00"),
    ({"type": "WAIT", "configurationArguments": {"waitDuration": 2, "waitUnit": "DAYS",
                                                 "specificDate": "2025-03-01"}}, "Wait until 2025-03-01"),
    ({"type": "ABNTEST", "outcomes": [{"arguments": {"percentage": 50}}, {"arguments": {"percentage": 50}}],
      "configurationArguments": {"engagementWinnerMetric": "Clicks", "engagementPeriod": 1,
                                 "engagementPeriodUnits": "Days"}},
     "Path optimizer: 50% / 50%; winner by clicks after 1 day"),
    ({"type": "SALESCLOUDACTIVITY", "arguments": {}, "metaData": {"isConfigured": False}},
     "Salesforce: not configured yet"),
    ({"type": "ABNTESTSTOP"}, "Path optimizer: the winning path continues from here"),
    ({"type": "UPDATECONTACTDATA", "arguments": {"activityData": {"updateContactFields": [{}, {}]}}},
     "Update contact data: 2 fields"),
    ({"type": "REST", "outcomes": [{"next": "A"}, {"next": "B"}]}, "Custom split: 2 paths"),
    ({"type": "REST", "arguments": {"execute": {"url": "https://codes.example.com/execute"}}},
     "Custom activity (codes.example.com)"),
    ({"type": "ENGAGEMENTDECISION", "configurationArguments": {"statsTypeId": 6},
      "metaData": {"refActivityName": "Day 21"}}, "Bounced Day 21?"),
])
def test_other_real_activities_in_words(activity, expected):
    assert describe_activity(activity) == expected


def test_goals_exits_entry_mode_and_upper_case_status_are_described():
    converted = condition_xml("Lead_Salesforce.IsConverted", "Is", "true")
    appointment = condition_xml("Reference_DE.ApptDate", "AtOrBefore", ";+;0;days")
    graph = JourneyGraph.from_definition({
        "name": "Insurance", "status": "DRAFT", "entryMode": "OnceAndDone", "version": 2,
        "activities": [{"key": "WAITBYDURATION-1", "type": "WAIT", "name": "",
                        "configurationArguments": {"waitDuration": 1, "waitUnit": "DAYS"}}],
        "goals": [{"key": "GOAL", "name": "GOAL", "type": "Event",
                   "configurationArguments": {"criteria": converted},
                   "metaData": {"isExitCriteria": True, "conversionUnit": "wholenumber", "conversionValue": "100"}}],
        "exits": [{"key": "EXITCRITERIA", "name": "AppointmentDateInPast", "type": "ExitCriteria",
                   "configurationArguments": {"criteria": appointment}}]})
    assert graph.status == "Draft" and graph.title == "Insurance (v2, Draft)"
    assert graph.entry_mode == "contacts may enter again only after they have left the journey"
    assert [g.description for g in graph.goals] == [
        "Goal: IsConverted is true (target 100 contacts); contacts who meet it leave the journey"]
    assert [e.description for e in graph.exits] == ["Exit when ApptDate is on or before today"]
    assert graph.goals[0].criteria.conditions()[0].field == "IsConverted"
    assert graph.activities[0].label == "Wait 1 day"
    sto = JourneyGraph.from_definition({"activities": [{"key": "STOWAIT-1", "name": "", "type": "STOWAIT"}]})
    assert sto.activities[0].label == "Einstein send-time optimisation"
    text = repr(graph)
    assert "Goal: IsConverted is true" in text and "Exit when ApptDate" in text and "Re-entry:" in text


def test_an_entry_named_by_its_default_key_is_named_by_its_source():
    graph = JourneyGraph.from_definition({"triggers": [
        {"key": "TRIGGER", "name": "TRIGGER", "type": "EmailAudience",
         "metaData": {"eventDefinitionKey": "DEAudience-835d"}}], "activities": []})
    assert graph.trigger.name == "Entry: Data extension"
    assert graph.trigger.description == "Data extension DEAudience-835d"
    named = JourneyGraph.from_definition({"triggers": [{"key": "TRIGGER", "name": "Opportunity won",
                                                        "type": "SalesforceObjectTriggerV2"}]})
    assert named.trigger.name == "Opportunity won" and named.trigger.description == "Salesforce data"
