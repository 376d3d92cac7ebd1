"""Real journey definitions (tests/fixtures/journeys, see SOURCES.md) read, described and named for analysts.

Every test here runs over the whole corpus: each activity described in words, no operator or type code shown
raw, no relative date left as Marketing Cloud writes it, no two boxes with the same title, goals and exits
described.
"""

from __future__ import annotations

import re

import pytest
from _journey_corpus import journey_ids, journey_paths, load_journey

from sfmc_nb.journeys import JourneyGraph
from sfmc_nb.journeys.criteria import OPERATOR_WORDS, parse_criteria

PATHS = journey_paths()
RAW_OPERATORS = re.compile(
    r"\b(?:AtOrAfter|AtOrBefore|NotContains|NotEqual|IsNull|IsNotNull|GreaterThan\w*|LessThan\w*|Equal|Is|After|"
    r"Before|Contains|Begins\w*|Ends\w*|Between|IsEmpty|IsNotEmpty|MustNotContain|DoesNotContain)\b")
RELATIVE_RAW = re.compile(r";\s*[+-]\s*;\s*\d+\s*;")


def _graph(path) -> JourneyGraph:
    return JourneyGraph.from_definition(load_journey(path))


def _all_criteria(definition: dict) -> list[str]:
    found = []
    for activity in definition.get("activities") or []:
        found.extend((activity.get("configurationArguments") or {}).get("criteria", {}).values())
    for rule in (definition.get("goals") or []) + (definition.get("exits") or []):
        criteria = (rule.get("configurationArguments") or {}).get("criteria")
        if isinstance(criteria, str) and criteria.strip():
            found.append(criteria)
    return found


def _texts(graph: JourneyGraph) -> list[str]:
    """Every text an analyst reads about the journey: titles, descriptions, branch labels and conditions."""
    out = [graph.trigger.description, graph.title, graph.entry_mode]
    for a in graph.activities:
        out += [a.label, a.description, a.type_name]
        out += [t for e in a.outcomes for t in (e.label, e.condition)]
    out += [rule.description for rule in graph.goals + graph.exits]
    return [t for t in out if t]


def test_the_corpus_holds_at_least_ten_real_definitions():
    assert len(PATHS) >= 10
    assert all(load_journey(p).get("activities") for p in PATHS)


@pytest.mark.parametrize("path", PATHS, ids=journey_ids())
def test_every_activity_is_described_in_words_never_by_its_type_code(path):
    graph = _graph(path)
    assert len(graph) == len(load_journey(path)["activities"])
    for a in graph.activities:
        assert a.description and a.label and a.type_name, a.key
        assert a.type_name != a.type
        for text in (a.label, a.description, a.type_name):
            assert a.type not in re.split(r"[\s:;,()]+", text), (a.type, text)     # the code as written
            assert a.key not in text, (a.key, text)


@pytest.mark.parametrize("path", PATHS, ids=journey_ids())
def test_no_two_boxes_have_the_same_title(path):
    graph = _graph(path)
    titles = [a.label for a in graph.activities]
    assert len(set(titles)) == len(titles)
    assert graph.trigger.name.upper() != "TRIGGER"


@pytest.mark.parametrize("path", PATHS, ids=journey_ids())
def test_no_operator_or_relative_date_is_shown_raw(path):
    definition = load_journey(path)
    for xml in _all_criteria(definition):
        parsed = parse_criteria(xml)
        assert parsed is not None and parsed.conditions(), xml[:200]
        for condition in parsed.conditions():
            assert condition.operator.lower() in OPERATOR_WORDS, condition.operator
            assert condition.field, xml[:200]
        words = parsed.words()
        assert not RAW_OPERATORS.search(words.replace(" is ", " ")), words
        assert not RELATIVE_RAW.search(words), words
        assert '""' not in words, words                  # a value is never lost (ValueParameterName, ...)
    for text in _texts(_graph(path)):
        assert not RELATIVE_RAW.search(text), text


@pytest.mark.parametrize("path", PATHS, ids=journey_ids())
def test_split_labels_say_each_share_once_and_name_the_path(path):
    graph = _graph(path)
    for a in graph.activities:
        if a.type.upper() not in ("RANDOMSPLIT", "ABNTEST"):
            continue
        for edge, outcome in zip(a.outcomes, a.raw.get("outcomes") or [], strict=False):
            assert edge.label.count("%") == 1, edge.label
            path_name = (outcome.get("metaData") or {}).get("pathName") or (outcome.get("metaData") or {}).get("name")
            if path_name:
                assert edge.label.startswith(path_name), edge.label


@pytest.mark.parametrize("path", PATHS, ids=journey_ids())
def test_goals_exits_status_and_entry_mode_are_described(path):
    definition = load_journey(path)
    graph = _graph(path)
    assert len(graph.goals) == len(definition.get("goals") or [])
    assert len(graph.exits) == len(definition.get("exits") or [])
    for rule in graph.goals + graph.exits:
        assert rule.description.startswith(("Goal", "Exit")) and len(rule.description) > len("Exit when ")
    assert graph.status == graph.status[:1].upper() + graph.status[1:] and not graph.status.isupper()
    mode = definition.get("entryMode")
    assert not mode or (graph.entry_mode and mode not in graph.entry_mode)
    assert "Re-entry:" in repr(graph) or not mode


@pytest.mark.parametrize("path", PATHS, ids=journey_ids())
def test_emails_are_named_by_their_email_not_a_generated_send_name(path):
    for a in _graph(path).activities:
        if a.type.upper() != "EMAILV2":
            continue
        assert not re.search(r"[0-9a-f]{32}", a.description), a.description
        assert a.description.startswith(("Email: ", "Subject: ", "Send email"))
