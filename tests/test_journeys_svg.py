"""The journey map: well-formed, escaped, deterministic SVG naming every activity, with counts and paths."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from test_journeys_samples import CONTACTS, definition, history_csv, history_rows

from sfmc_nb.journeys import JourneyGraph, JourneyTrace, journey_svg
from sfmc_nb.journeys.svg import BOX_W, PATH_COLOUR, layout

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def graph():
    return JourneyGraph.from_definition(definition())


def boxes(svg: str) -> dict[str, dict]:
    """Each box of the map by its hover title's first line: its texts, count and outline."""
    root = ET.fromstring(svg)
    found = {}
    for group in root.iter(NS + "g"):
        rect = group.find(NS + "rect")
        if rect is None or rect.get("width") != str(BOX_W):
            continue
        title = group.findtext(NS + "title")
        texts = [t.text for t in group.findall(NS + "text")]
        count = next((t.text for t in group.findall(NS + "text") if t.get("text-anchor") == "middle"), None)
        found[title.splitlines()[0]] = {"title": title, "texts": texts, "count": count,
                                        "stroke": rect.get("stroke"), "faded": group.get("opacity") is not None}
    return found


def edge_groups(svg: str) -> list[dict]:
    root = ET.fromstring(svg)
    out = []
    for group in root.iter(NS + "g"):
        path = group.find(NS + "path")
        if path is not None:
            out.append({"title": group.findtext(NS + "title"), "stroke": path.get("stroke"),
                        "label": group.findtext(NS + "text")})
    return out


def test_the_map_is_well_formed_svg_naming_every_activity(graph):
    svg = graph.svg()
    root = ET.fromstring(svg)
    assert root.tag == NS + "svg" and float(root.get("width")) > 0 and root.get("viewBox")
    found = boxes(svg)
    assert set(found) == {graph.trigger.name} | {a.label for a in graph.activities}
    for activity in graph.activities:
        assert found[activity.label]["texts"][0] == activity.label
        assert f"key {activity.key}" in found[activity.label]["title"]


def test_waits_show_their_duration_and_edges_their_branch_labels(graph):
    found = boxes(graph.svg())
    assert "Wait 2 days" in found["Wait 2 days"]["texts"] and "Wait 1 hour" in found["Wait 1 hour"]["texts"]
    labels = {e["label"] for e in edge_groups(graph.svg())}
    assert {"High", "Medium", "Remainder", "Path A · 50%", "50%", "Yes", "No"} <= labels
    high = next(e for e in edge_groups(graph.svg()) if e["label"] == "High")
    assert high["title"] == "Score decision → High value email: High (Score > 50)"
    assert len(edge_groups(graph.svg())) == len(graph.edges)


def test_the_definition_alone_has_no_counts_and_no_highlight(graph):
    found = boxes(graph.svg())
    assert all(b["count"] is None and not b["faded"] for b in found.values())
    page = graph._repr_html_()
    assert page.startswith('<div class="sfmc-journey-map">') and "Score journey (v3, Published): 10 activities" in page


def test_each_box_carries_its_count_and_paths_are_highlighted(graph):
    tr = JourneyTrace(graph, history_csv(), ["c-medium-b", "c-low", "c-none"])
    found = boxes(tr.svg())
    counts = tr.counts
    for label, n in counts.items():
        assert found[label]["count"] == str(n)
        assert f"{n} contact" in found[label]["title"]
    assert found["Score API event"]["count"] == "2"
    lit = {name for name, b in found.items() if b["stroke"] == PATH_COLOUR}
    assert lit == {"Score API event", "Score decision", "Random split", "Offer B", "Wait 1 hour"}
    assert all(b["faded"] == (name not in lit) for name, b in found.items())
    lit_edges = {e["title"].split(":")[0] for e in edge_groups(tr.svg()) if e["stroke"] == PATH_COLOUR}
    assert lit_edges == {"Score API event → Score decision", "Score decision → Random split",
                         "Random split → Offer B", "Score decision → Wait 1 hour"}


def test_names_are_escaped(graph):
    svg = JourneyTrace(graph, history_csv(), CONTACTS).svg()
    assert "&lt;Bob &amp; Co&gt; sync" in svg and "<Bob" not in svg
    data = definition()
    data["name"] = 'Q3 "VIP" <script>alert(1)</script> & more'
    data["activities"][7]["name"] = "Offer\x00 <b>A</b>\x1f"
    evil = JourneyGraph.from_definition(data)
    svg = evil.svg()
    root = ET.fromstring(svg)
    assert "<script" not in svg and "<b>" not in svg
    assert "Offer <b>A</b>" in boxes(svg) and root.get("aria-label").startswith('Journey map: Q3 "VIP" <script>')
    assert "<script" not in evil._repr_html_()


def test_the_same_input_gives_the_same_svg(graph):
    first = JourneyTrace(graph, history_rows(1), CONTACTS).svg()
    again = JourneyTrace(JourneyGraph.from_definition(definition()), history_rows(9), CONTACTS).svg()
    assert first == again


def test_nothing_external_or_scripted():
    svg = JourneyTrace(definition(), history_csv(), CONTACTS)._repr_html_()
    for banned in ("<script", "href=", "url(", "@import", "<link", "<foreignObject", " id="):
        assert banned not in svg


def test_boxes_never_share_a_place(graph):
    data = definition()
    data["activities"][9]["outcomes"][0]["next"] = "EMAILV2-2"              # a join across columns
    data["activities"].append({"key": "ORPHAN", "name": "Orphan", "outcomes": [{"next": "EMAILV2-3"}]})
    for g in (graph, JourneyGraph.from_definition(data)):
        cells = layout(g)
        assert len(set(cells.values())) == len(cells) == len(g) + 1
        assert cells[g.trigger.key] == (0, 0) and cells[g.entry.key] == (1, 0)
        for edge in g.edges:
            assert cells[edge.target][0] > cells[edge.source][0]


def test_the_first_branch_stays_on_its_row_and_others_open_rows_below(graph):
    cells = layout(graph)
    assert [cells[k][1] for k in ("MULTICRITERIADECISION-1", "EMAILV2-1", "WAIT-1", "ENGAGEMENTDECISION-1",
                                  "EMAILV2-2")] == [0] * 5
    assert cells["FUTURESYNC-1"][1] == 1 and cells["RANDOMSPLIT-1"][1] == 2
    assert cells["EMAILV2-4"][1] == 3 and cells["WAIT-2"][1] == 4


def test_a_journey_without_activities_draws_the_trigger_alone():
    data = definition()
    data["activities"] = []
    svg = JourneyGraph.from_definition(data).svg()
    assert list(boxes(svg)) == ["Score API event"] and not edge_groups(svg)
    assert list(boxes(journey_svg(JourneyGraph.from_definition(None)))) == ["Entry"]


def test_long_names_are_cut_in_the_box_and_whole_in_the_title():
    data = definition()
    data["activities"][1]["name"] = "A very long email activity name that cannot fit in one box"
    found = boxes(JourneyGraph.from_definition(data).svg())
    box = found["A very long email activity name that cannot fit in one box"]
    assert box["texts"][0].endswith("…") and len(box["texts"][0]) < 30
