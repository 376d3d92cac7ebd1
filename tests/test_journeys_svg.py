"""The journey map: well-formed, escaped, deterministic SVG naming every activity, with counts and paths."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from _big_journey import big_journey, wide_journey
from _journey_corpus import journey_paths, load_journey
from _map_geometry import problems, read
from test_journeys_samples import CONTACTS, definition, history_csv, history_rows

import sfmc_nb
from sfmc_nb.journeys import JourneyGraph, JourneyTrace, journey_svg
from sfmc_nb.journeys._text_width import text_width
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
    data["activities"][9]["outcomes"][0]["next"] = "EMAILV2-2"              # a join across layers
    data["activities"].append({"key": "ORPHAN", "name": "Orphan", "outcomes": [{"next": "EMAILV2-3"}]})
    for g in (graph, JourneyGraph.from_definition(data)):
        cells = layout(g)
        assert len(set(cells.values())) == len(cells) == len(g) + 1
        assert cells[g.trigger.key] == (0, 0) and cells[g.entry.key] == (1, 0)
        for edge in g.edges:
            assert cells[edge.target][0] > cells[edge.source][0]          # every edge goes down the page


def test_the_first_branch_goes_straight_down_and_others_take_the_next_columns(graph):
    cells = layout(graph)
    assert [cells[k] for k in ("MULTICRITERIADECISION-1", "EMAILV2-1", "WAIT-1", "ENGAGEMENTDECISION-1",
                               "EMAILV2-2")] == [(1, 0), (2, 0), (3, 0), (4, 0), (5, 0)]
    assert cells["RANDOMSPLIT-1"] == (2, 1) and cells["WAIT-2"] == (2, 2)   # the decision's 2nd and 3rd branch
    assert cells["EMAILV2-3"] == (3, 1) and cells["EMAILV2-4"] == (3, 2)    # the random split's branches
    assert cells["FUTURESYNC-1"] == (5, 1)
    assert max(col for _, col in cells.values()) == 2                      # three columns: as wide as it branches


def test_a_journey_without_activities_draws_the_trigger_alone():
    data = definition()
    data["activities"] = []
    svg = JourneyGraph.from_definition(data).svg()
    assert list(boxes(svg)) == ["Score API event"] and not edge_groups(svg)
    assert list(boxes(journey_svg(JourneyGraph.from_definition(None)))) == ["Entry"]


def test_long_names_are_wrapped_whole_in_the_box():
    data = definition()
    data["activities"][1]["name"] = "A very long email activity name that cannot fit in one box"
    found = boxes(JourneyGraph.from_definition(data).svg())
    box = found["A very long email activity name that cannot fit in one box"]
    title_lines = [t for t in box["texts"] if t not in ("Email: A very long email activity name that cannot fit "
                                                         "in one box", "Email")]
    assert len(title_lines) >= 2 and not any("…" in t for t in title_lines[:2])
    assert " ".join(box["texts"][:len(title_lines)]).startswith("A very long email activity name that cannot fit")


# ---- a map that reads at any size ------------------------------------------------------------------------

DEMO_JOURNEYS = (("welcome-journey", None), ("onboarding-journey", None), ("loyalty-journey", 1),
                 ("winback-journey", None))


def fixtures() -> dict[str, dict]:
    """Every definition the map must draw cleanly: the samples, the large made-up one and the real corpus."""
    defs = {"sample": definition(), "big-104": big_journey(8), "big-13": big_journey(1), "wide-8": wide_journey(8),
            "wide-3": wide_journey(3)}
    joined = definition()
    joined["activities"][9]["outcomes"][0]["next"] = "EMAILV2-2"        # a branch that joins two layers down
    defs["sample-joined"] = joined
    looped = definition()
    looped["activities"][9]["outcomes"][0]["next"] = "MULTICRITERIADECISION-1"   # a loop back up (never in Journey
    defs["sample-looped"] = looped                                              # Builder, still drawn)
    crowded = definition()                      # four branches into one activity, two into another
    crowded["activities"][0]["outcomes"] += [dict(o, key=f"extra-{i}") for i, o in
                                             enumerate(crowded["activities"][0]["outcomes"])]
    defs["sample-crowded"] = crowded
    for path in journey_paths():                    # real definitions from public repositories
        defs[f"corpus:{path.stem}"] = load_journey(path)
    return defs


@pytest.mark.parametrize("name", sorted(fixtures()))
def test_no_text_overlaps_or_leaves_its_box_on_any_fixture(name):
    graph = JourneyGraph.from_definition(fixtures()[name])
    for svg in (graph.svg(), graph.svg(counts={a.key: 123456 for a in graph.activities} | {graph.trigger.key: 9},
                                       failed={a.key: 3 for a in list(graph.activities)[::3]})):
        assert problems(svg) == [], name
        found = boxes(svg)
        assert set(found) == {graph.trigger.name} | {a.label for a in graph.activities}
        assert all(not any(t.endswith("…") for t in box["texts"][:1]) for box in found.values())


def test_the_demo_journeys_draw_cleanly(conn):
    for key, version in DEMO_JOURNEYS:
        graph = JourneyGraph.from_definition(conn.journey(key, version=version).raw)
        assert len(graph) >= 3 and problems(graph.svg()) == [], key


def test_a_hundred_activities_fit_the_notebook_width():
    graph = JourneyGraph.from_definition(big_journey(8))
    assert len(graph) == 104
    root = ET.fromstring(graph.svg())
    assert int(root.get("width")) <= 700                        # as wide as its widest set of branches
    style = root.get("style")
    assert "width:100%" in style and f"max-width:{root.get('width')}px" in style and "height:auto" in style
    page = graph._repr_html_()
    assert page.index('<details class="sfmc-map-zoom">') < page.index("<svg")    # the switch to full size
    assert "--sfmc-map-width" in style and ".sfmc-map-zoom[open]" in page


def test_every_path_ends_in_an_end_marker_and_goals_and_exits_head_the_map():
    graph = JourneyGraph.from_definition(big_journey(1))
    svg = graph.svg()
    ends = [g for g in ET.fromstring(svg).iter(NS + "g") if (g.findtext(NS + "title") or "").count("end of the path")]
    # per section: the decision's remainder, the engagement's "No", and the last activity
    assert len(ends) == 3 and all("End" in [t.text for t in g.findall(NS + "text")] for g in ends)
    decision = graph.activity("S1-DECIDE").label
    assert {g.findtext(NS + "title") for g in ends} == {
        f"{decision} → end of the path: Remainder", "Opened the offer 1? → end of the path: No",
        "Custom REST 1 → end of the path"}
    texts = [t.text for t in ET.fromstring(svg).iter(NS + "text")]
    assert [rule.description for rule in (*graph.goals, *graph.exits)] == ["Goal: Renewed is true",
                                                                            "Exit when Unsubscribed is true"]
    assert "Goal: Renewed is true" in texts and "Exit when Unsubscribed is true" in texts


def test_type_names_are_words_not_codes():
    graph = JourneyGraph.from_definition(big_journey(1))
    texts = {t.text for t in ET.fromstring(graph.svg()).iter(NS + "text")}
    assert {"Decision split", "Random split", "Engagement split", "Sales Cloud activity",
            "Einstein send-time optimisation", "Email", "Wait", "Update contact", "Custom activity",
            "API event entry"} <= texts
    assert not texts & {"MULTICRITERIADECISION", "EMAILV2", "SALESCLOUDACTIVITY", "STOWAIT", "RANDOMSPLIT"}
    data = definition()
    data["activities"][9]["type"] = "SOMENEWTHING"
    found = boxes(JourneyGraph.from_definition(data).svg())
    assert "Somenewthing activity" in found[data["activities"][9]["name"]]["texts"]


def test_failed_steps_are_marked_and_untaken_branches_faded_not_dropped(graph):
    events = history_csv()
    tr = JourneyTrace(graph, events, ["c-medium-b", "c-low", "c-none"])
    tr.events.loc[tr.events["activityKey"] == "RANDOMSPLIT-1", "status"] = "Failed"
    svg = tr.svg()
    found = boxes(svg)
    assert "⚠ 1 failed" in found["Random split"]["texts"] and "1 contact failed here" in found["Random split"]["title"]
    assert not any("failed" in t for name, b in found.items() if name != "Random split" for t in b["texts"])
    edges = edge_groups(svg)
    assert len(edges) == len(graph.edges)                             # every branch still drawn
    untaken = [e for e in edges if e["stroke"] != PATH_COLOUR]
    groups = {g.findtext(NS + "title"): g for g in ET.fromstring(svg).iter(NS + "g")}
    assert untaken and all(groups[e["title"]].get("opacity") for e in untaken)
    assert all(not groups[e["title"]].get("opacity") for e in edges if e["stroke"] == PATH_COLOUR)
    assert problems(svg) == []


def test_page_and_free_text_follow_the_theme_with_light_fallbacks(graph):
    svg = graph.svg()
    root = ET.fromstring(svg)
    assert root.find(NS + "rect").get("style") == "fill:var(--jp-layout-color0,#ffffff)"
    labels = [t for t in root.iter(NS + "text") if t.get("style")]
    assert labels and all(t.get("style") == "fill:var(--jp-ui-font-color1,#333333)" for t in labels)


def test_labels_of_branches_into_one_activity_never_share_a_spot():
    data = definition()
    for outcome in data["activities"][0]["outcomes"]:                   # all three decision branches: one target
        outcome["next"] = "WAIT-2"
    svg = JourneyGraph.from_definition(data).svg()
    spots = [(t.rect[0], t.rect[1]) for t in read(svg).texts if t.text in ("High", "Medium", "Remainder")]
    assert len(set(spots)) == 3 and problems(svg) == []


def test_wide_glyphs_measure_wider():
    assert text_width("WWWW", 12, True) > text_width("iiii", 12, True) * 3
    assert text_width("MULTICRITERIA", 12) > text_width("multicriteria", 12)
    assert text_width("🎉", 12) >= 12 and text_width("会", 12) >= 12
    assert text_width("e\u0301", 12) == text_width("e", 12)


def test_a_step_that_failed_on_the_sandbox_is_marked_on_the_trace_map(conn):
    sb = conn.sandbox
    df = pd.DataFrame({"SubscriberKey": ["with-email", "no-email"], "Email": ["a@example.com", None]})
    res = sfmc_nb.enter_journey(df, sb.event_key, data="all", connection=conn, validate=False)
    res.wait(timeout=10, poll=0.05)
    tr = res.trace()
    failed = tr.events[tr.events["status"].astype(str) == "Failed"]
    assert set(failed["contactKey"]) == {"no-email"}                     # the sandbox's own record of the failure
    where = tr.graph.activity(failed["activityKey"].iloc[0]).label
    found = boxes(tr.svg())
    assert "⚠ 1 failed" in found[where]["texts"]
    assert [name for name, box in found.items() if any("failed" in t for t in box["texts"])] == [where]
    assert problems(tr.svg()) == []


def test_the_live_map_keeps_its_full_size_view_across_redraws(graph):
    from sfmc_nb.widgets import LiveJourneyMap

    tr = JourneyTrace(graph, history_csv(), CONTACTS)
    view = LiveJourneyMap(tr)
    assert "sfmc-map-full" not in view.map._dom_classes and 'class="sfmc-map-zoom"' in view.map.value
    view.full_size.value = True
    view.update(tr, following=True, elapsed=1.0)
    assert "sfmc-map-full" in view.map._dom_classes and ".sfmc-map-full .sfmc-map-scroll>svg" in view.map.value
    assert 'class="sfmc-live-journey sfmc-map-full"' in view.static_bundle()["text/html"]
    view.full_size.value = False
    assert "sfmc-map-full" not in view.map._dom_classes


def test_entries_refused_at_the_trigger_are_marked_on_the_entry_box(graph):
    found = boxes(graph.svg(counts={graph.trigger.key: 5}, failed={graph.trigger.key: 2}))
    entry = found[graph.trigger.name]
    assert "⚠ 2 failed" in entry["texts"] and "2 contacts failed here" in entry["title"]
