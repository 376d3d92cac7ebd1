"""Journey behaviour end to end against the sandbox over HTTP: enter test contacts, wait for processing, trace
them, and compare with the sandbox's own record of each contact's path (``sandbox.paths()``).

One journey day lasts an hour here, so contacts move only when a test moves the clock (``advance``) or skips
the waits: what each test sees does not depend on timing. Every follow and wait is bounded.
"""

from __future__ import annotations

import importlib
import re
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from IPython.core.error import UsageError

import sfmc_nb
from sfmc_nb import sandbox as sandbox_module
from sfmc_nb.errors import UnexpectedAnswerError, ValidationError
from sfmc_nb.journeys import JourneyTrace, journey_for_event, trace

trace_module = importlib.import_module("sfmc_nb.journeys.trace")
freshness_module = importlib.import_module("sfmc_nb.journeys.freshness")
follow_module = importlib.import_module("sfmc_nb.journeys.follow")

HISTORY = "/interaction/v1/interactions/journeyhistory/"
START = ["Welcome email", "Wait 1 day", "Segment by entry data"]
# Welcome Journey: entry data chosen for each branch of "Segment by entry data"; the others' engagement and
# random split are drawn from the sandbox seed (3 sends them down every remaining branch)
BRANCHES = {"vip-flag": ("true", None), "vip-points": ("false", 1500), "points-1": ("false", 5),
            "points-2": (None, 999), **{f"other-{i}": (None, None) for i in range(8)}}


@pytest.fixture
def sb():
    with sandbox_module.start(seed=3, day_seconds=3600, process_delay=0.02) as box:
        yield box


@pytest.fixture
def conn(sb):
    connection = sfmc_nb.connect(sandbox=sb, timeout=(2.0, 5.0), set_default=False)
    yield connection
    connection.close()


def contacts(keys=BRANCHES) -> pd.DataFrame:
    df = pd.DataFrame([(k, *BRANCHES.get(k, (None, None))) for k in keys], columns=["SubscriberKey", "IsVip", "Points"])
    df["Email"] = [f"{k}@example.com" for k in df["SubscriberKey"]]
    return df


def enter(sb, conn, keys=BRANCHES, event_key=None, again=False):
    res = sfmc_nb.enter_journey(contacts(keys), event_key or sb.event_key, data="all", connection=conn, again=again)
    return res.wait(timeout=10, poll=0.02)


def assert_same_as_the_sandbox(tr: JourneyTrace, sb, journey_key="welcome-journey"):
    record = {p["contactKey"]: p for p in sb.paths(journey_key, tr.contact_keys)}
    assert set(record) == set(tr.contact_keys)
    for contact, (at, status, _message, path) in tr.paths.iterrows():
        mine = record[contact]
        assert (list(path), at, status) == (mine["path"], mine["at"], mine["status"]), contact


def box_counts(svg: str) -> dict[str, tuple[str, int | None]]:
    """Each box of the map: its hover title's first line (the full name) -> (name shown, count shown or None)."""
    ns = {"s": "http://www.w3.org/2000/svg"}
    out = {}
    for group in ET.fromstring(svg).findall("s:g", ns):
        rects = group.findall("s:rect", ns)
        if not rects or rects[0].get("width") != "184":
            continue                                     # an edge, not a box
        name = group.find("s:title", ns).text.splitlines()[0]
        pills = [t.text for t in group.findall("s:text", ns) if t.get("text-anchor") == "middle"]
        texts = [t.text for t in group.findall("s:text", ns) if t.get("text-anchor") != "middle"]
        out[name] = (texts[0], int(pills[0].replace(",", "")) if pills else None)
    return out


# ---- paths against the sandbox's record ----------------------------------------------------------------


def test_paths_match_the_sandbox_down_every_branch_including_contacts_still_waiting(sb, conn):
    res = enter(sb, conn)
    assert res.processing_counts == {"processed": 12, "errored": 0, "pending": 0}
    tr = res.trace()
    assert_same_as_the_sandbox(tr, sb)
    assert set(tr.paths["at"]) == {"Wait 1 day"} and set(tr.paths["status"]) == {"Waiting"}
    assert set(tr.states) == {"waiting"}

    sb.advance(days=1)          # past the first wait: the segments split, the others wait two more days
    tr = res.trace()
    assert_same_as_the_sandbox(tr, sb)
    others = [k for k in BRANCHES if k.startswith("other")]
    assert (tr.paths.loc[others, "at"] == "Wait 2 days").all() and (tr.states[others] == "waiting").all()
    assert (tr.states[["vip-flag", "points-2"]] == "ended").all()

    sb.advance(days=2)
    tr = res.trace()
    assert_same_as_the_sandbox(tr, sb)
    assert (tr.counts > 0).all(), tr.counts          # every activity of the journey was reached by someone
    assert set(tr.paths.loc[others, "at"]) == {"Opened the tips?", "Reminder A", "Reminder B"}
    assert set(tr.states) <= {"ended", "may have ended"}


def test_onboarding_score_decision_and_random_split(sb, conn):
    df = pd.DataFrame({"SubscriberKey": [f"s-{i}" for i in range(8)], "Score": [75, 51, 50, 10, 0, 20, 30, 40]})
    df["Email"] = [f"{k}@example.com" for k in df["SubscriberKey"]]
    res = sfmc_nb.enter_journey(df, sb.single_entry_event_key, data="all", connection=conn).wait(timeout=10, poll=0.02)
    sb.configure(skip_waits=True)
    tr = res.trace()
    assert tr.graph.key == "onboarding-journey"
    assert_same_as_the_sandbox(tr, sb, "onboarding-journey")
    high = ["Onboarding email", "Wait 2 days", "Score check", "Upgrade offer"]
    assert tr.expect({"s-0": high, "s-1": high})["passed"].all()
    assert set(tr.paths.loc[[f"s-{i}" for i in range(2, 8)], "at"]) <= {"Guide A", "Guide B"}


# ---- expect and assert_paths ---------------------------------------------------------------------------


def test_expect_passes_and_fails_as_it_should(sb, conn):
    res = enter(sb, conn, ["vip-flag", "points-2", "other-0"])
    sb.advance(days=1)
    tr = res.trace()
    good = {"vip-flag": START + ["VIP offer"], "points-2": START + ["Points balance"],
            "other-0": START + ["Getting started tips", "Wait 2 days"]}
    assert tr.expect(good)["passed"].all()
    tr.assert_paths(good)
    wrong = {**good, "points-2": START + ["VIP offer"]}   # 999 points is not VIP: the rule says 1000 or more
    result = tr.expect(wrong).set_index("contactKey")
    assert not result.loc["points-2", "passed"] and result.loc["vip-flag", "passed"]
    assert result.loc["points-2", "actual"] == tuple(START + ["Points balance"])
    with pytest.raises(AssertionError) as info:
        tr.assert_paths(wrong)
    text = str(info.value)
    assert "1 of 3 contacts" in text and "points-2" in text and "-VIP offer" in text and "+Points balance" in text
    assert "vip-flag" not in text


# ---- the map ---------------------------------------------------------------------------------------------


def test_the_map_names_every_activity_and_carries_the_counts(sb, conn):
    res = enter(sb, conn)
    sb.advance(days=3)
    tr = res.trace()
    boxes = box_counts(tr.svg())
    counts = tr.counts.to_dict()
    assert set(boxes) == set(counts) | {tr.graph.trigger.name}
    for name, (shown, count) in boxes.items():
        assert name.startswith(shown.rstrip("…")), (name, shown)
        assert count == (len(BRANCHES) if name == tr.graph.trigger.name else counts[name]), name
    page = tr._repr_html_()
    assert page.count("<svg") == 1 and "other-4" in page and "Reminder B" in page


def test_journey_magic_draws_the_definition_map_under_its_card(sb, shell, monkeypatch):
    monkeypatch.setenv("SFMC_CLIENT_SECRET", sb.client_secret)
    shell.run_line_magic("load_ext", "sfmc_nb")
    shell.run_line_magic("sfmc_auth", f"--auth-base-url {sb.auth_base_url} --client-id {sb.client_id}")
    info = shell.run_line_magic("sfmc_journey", "welcome-journey")
    assert len(info.graph) == 11 and info["status"] == "Published"
    page = info._repr_html_()
    assert page.index("SubscriberKey") < page.index("<svg")        # the card, then the map
    boxes = box_counts(re.search(r"<svg.*</svg>", page, re.S).group(0))
    assert set(boxes) == {a.label for a in info.graph.activities} | {"Welcome Event"}
    assert {count for _, count in boxes.values()} == {None}            # the definition alone: no counts
    assert "Wait 2 days" in repr(info) and "Reminder subject test [Random split]" in repr(info)


# ---- finding the journey, history lag, retention -------------------------------------------------------


def test_the_journey_is_found_from_the_event_key_or_must_be_named(sb, conn):
    assert journey_for_event(conn, sb.event_key).key == "welcome-journey"
    assert journey_for_event(conn, sb.draft_event_key).key == "spring-promo-journey"   # the only one, a Draft
    with pytest.raises(ValidationError, match="11 Published journeys use event .* name one"):
        journey_for_event(conn, sb.shared_event_key)
    with pytest.raises(ValidationError, match="no journey uses"):
        journey_for_event(conn, "APIEvent-nobody")


def test_history_lag_is_said_in_the_trace(sb, conn):
    res = enter(sb, conn, ["vip-flag"])
    sb.configure(history_lag=1200)
    start = len(sb.request_log)
    tr = res.trace()
    assert tr.freshness == 1200
    assert any("trails the journey by 20 minutes" in n for n in tr.notes)
    assert tr.paths.loc["vip-flag", "status"] is None     # its steps are newer than the lag: not there yet
    assert "20 minutes" in tr._repr_html_() and "note: journey history trails" in repr(tr)
    again = res.trace()                                     # the lag is asked once per connection
    assert again.freshness == 1200
    paths = [r["path"] for r in sb.request_log[start:]]
    assert paths.count(HISTORY + "freshness") == 1 and paths.count(HISTORY + "download") == 2


def test_freshness_tries_the_other_documented_path(sb, conn, monkeypatch):
    singular = "/interaction/v1/interaction/journeyhistory/freshness"
    monkeypatch.setattr(freshness_module, "FRESHNESS_PATHS", (singular, HISTORY + "freshness"))
    sb.configure(history_lag=90)
    start = len(sb.request_log)
    assert freshness_module.history_freshness(conn) == 90
    assert [(r["path"], r["status"]) for r in sb.request_log[start:]] == [(singular, 404),
                                                                         (HISTORY + "freshness", 200)]
    monkeypatch.setattr(freshness_module, "FRESHNESS_PATHS", (singular,))
    assert freshness_module.history_freshness(conn, refresh=True) is None     # a 404 everywhere: not known
    assert freshness_module.first_number({"meta": "x", "freshnessInSeconds": "30"}) == 30.0
    assert freshness_module.first_number([{"lag": True}, {"seconds": 12}]) == 12.0


def test_2000_queued_contacts_never_trace_as_0_entered_from_an_answer_that_is_not_the_history(sb, conn):
    keys = [f"h-{i:04d}" for i in range(2000)]
    res = enter(sb, conn, keys)
    assert res.counts["queued"] == 2000 and set(sb.entry_counts(sb.event_key).values()) == {1}
    for answer, message in [("html", "an HTML page, not the CSV asked for .*It says: 'Session expired: Your "
                                     "session has expired Please log in again.'"),
                            ("empty", "empty, not the CSV asked for"),
                            ("gzip", "gzip-compressed data sent without saying so")]:
        sb.configure(history_answer=answer)
        start = len(sb.request_log)
        with pytest.raises(UnexpectedAnswerError, match="HTTP 200 from POST .*/download: the journey history "
                                                        "answer is " + message):
            res.trace()
        assert [r["path"] for r in sb.request_log[start:]].count(HISTORY + "download") == 1
    with pytest.raises(ValueError, match="history_answer must be one of 'csv', 'html'"):
        sb.configure(history_answer="xml")

    sb.configure(history_answer="csv", history_lag=3600)   # the CSV with its header and no rows yet: a note
    tr = res.trace()
    assert tr.summary().endswith(": 0 entered, 0 history rows")
    assert any(n.startswith("no history row for 2,000 of 2,000 traced contacts (h-0000, h-0001, h-0002, h-0003, "
                            "h-0004, ... (1995 more)): history trails the journey") for n in tr.notes)
    assert "no history row for 2,000 of 2,000" in repr(tr) and "no history row for 2,000" in tr._repr_html_()

    sb.configure(history_lag=0)
    tr = res.trace()
    assert tr.summary().endswith(": 2,000 entered, 6,000 history rows") and not tr.notes
    assert_same_as_the_sandbox(tr, sb)


def test_a_history_in_another_encoding_is_read_with_a_note_never_as_silently_empty(sb, conn):
    df = pd.DataFrame({"SubscriberKey": ["caf\u00e9-1", "zo\u00eb-2"], "Email": ["c@example.com", "z@example.com"]})
    res = sfmc_nb.enter_journey(df, sb.event_key, connection=conn).wait(timeout=10, poll=0.02)
    assert res.counts["queued"] == 2
    sb.configure(history_answer="cp1252")                 # the keys come back as bytes that are not UTF-8
    tr = res.trace()
    assert tr.notes[0].startswith("the journey history held bytes that are not UTF-8 text (the first at byte ")
    assert tr.notes[1].startswith("no history row for 2 of 2 traced contacts (caf\u00e9-1, zo\u00eb-2)")
    assert {k[:3] for k in tr.events["contactKey"]} == {"caf", "zo\ufffd"}
    sb.configure(history_answer="csv")
    assert res.trace().summary().endswith(": 2 entered, 6 history rows")


def test_a_since_older_than_the_retention_is_clipped_with_a_note(sb, conn):
    res = enter(sb, conn, ["points-1"])
    tr = res.trace(since=datetime.now(timezone.utc) - timedelta(days=45))
    assert any("kept 30 days" in n and "clipped" in n for n in tr.notes)
    assert tr.paths.loc["points-1", "path"] == ("Welcome email", "Wait 1 day")
    assert not trace("welcome-journey", ["points-1"], connection=conn, since=timedelta(days=2)).notes


def test_res_trace_leaves_out_an_earlier_run_of_the_same_contact(sb, conn):
    enter(sb, conn, ["vip-flag"])
    sb.advance(days=1)                                      # the first run ends at "VIP offer" (dated now)
    time.sleep(0.05)                                        # a moment between the runs, as between real ones
    second = enter(sb, conn, ["vip-flag"], again=True)   # the same contact again, on purpose
    assert second.trace().paths.loc["vip-flag", "path"] == ("Welcome email", "Wait 1 day")
    assert trace("welcome-journey", ["vip-flag"], connection=conn).paths.loc["vip-flag", "path"] == tuple(
        START + ["VIP offer", "Welcome email", "Wait 1 day"])    # without since: both runs, in time order


def test_an_entry_refused_by_its_entry_mode_ends_with_its_reason_and_follow_stops_at_once(sb, conn):
    df = pd.DataFrame({"SubscriberKey": ["once-1"], "Score": [75], "Email": ["once-1@example.com"]})
    sfmc_nb.enter_journey(df, sb.single_entry_event_key, data="all", connection=conn).wait(timeout=10, poll=0.02)
    time.sleep(0.05)                                        # a moment between the runs, as between real ones
    second = sfmc_nb.enter_journey(df, sb.single_entry_event_key, data="all", connection=conn, again=True)
    second.wait(timeout=10, poll=0.02)
    start = len(sb.request_log)
    tr = second.trace(follow=True, timeout=30, poll=0.05)
    downloads = [r for r in sb.request_log[start:] if r["path"] == HISTORY + "download"]
    assert len(downloads) == 1                              # refused means stopped: nothing to read again
    assert tr.states["once-1"] == "ended" and not any("still be moving" in n for n in tr.notes)
    at, status, message, path = tr.paths.loc["once-1"]
    assert (status, path) == ("ContactPreviouslyInSameInteraction", ())
    assert "re-entry" in message
    refused = tr.events[tr.events["status"] == "ContactPreviouslyInSameInteraction"]
    assert refused["message"].str.contains("re-entry").all() and len(refused) == 1


def test_a_large_trace_reads_the_history_by_time_window_and_finds_the_same(sb, conn, monkeypatch):
    res = enter(sb, conn)
    sb.advance(days=2)
    by_key = res.trace()
    monkeypatch.setattr(trace_module, "BY_WINDOW_AFTER", 0)            # as for more than 2,000 contacts
    monkeypatch.setattr(trace_module, "HISTORY_CONTACTS_PER_WINDOW", 5)  # 12 contacts: 3 windows
    start = len(sb.request_log)
    by_window = res.trace()
    downloads = [r for r in sb.request_log[start:] if r["path"] == HISTORY + "download"]
    assert len(downloads) in (3, 4)     # 3 windows to now; or to the last entry (and a second later), then one more
    assert_same_as_the_sandbox(by_window, sb)
    assert by_window.paths.equals(by_key.paths) and by_window.counts.equals(by_key.counts)
    assert by_window.states.equals(by_key.states) and by_window.svg() == by_key.svg()
    assert by_window.summary() == by_key.summary() and by_window.notes == by_key.notes
    seen = lambda tr: sorted(tr.events[["contactKey", "time", "activityKey", "status"]].astype(str)  # noqa: E731
                             .itertuples(index=False, name=None))
    assert seen(by_window) == seen(by_key)


def test_nothing_to_trace_without_queued_rows(sb, conn):
    res = sfmc_nb.enter_journey(contacts(["vip-flag"]).assign(Email="bad"), sb.event_key, data="all",
                                connection=conn, validate=False)
    with pytest.raises(ValidationError, match="nothing to trace"):
        res.trace()


# ---- follow ---------------------------------------------------------------------------------------------


def test_follow_reads_again_until_every_contact_waits_or_ended(sb, conn, monkeypatch):
    sb.configure(process_delay=0.3)
    res = sfmc_nb.enter_journey(contacts(["vip-flag", "points-1"]), sb.event_key, data="all", connection=conn)
    seen = []

    class Recorder:
        def update(self, tr, *, following, elapsed):
            seen.append((following, dict(tr.states)))

    monkeypatch.setattr(follow_module, "_live_view", lambda tr: Recorder())
    start = len(sb.request_log)
    tr = res.trace(follow=True, timeout=10, poll=0.05)
    downloads = [r for r in sb.request_log[start:] if r["path"] == HISTORY + "download"]
    assert len(downloads) >= 2                               # not processed yet at first, then at the wait
    assert set(tr.states) == {"waiting"} and not tr.notes
    assert seen[-1] == (False, {"vip-flag": "waiting", "points-1": "waiting"})
    assert all(following for following, _ in seen[:-1]) and len(seen) == len(downloads)

    sb.configure(skip_waits=True)
    tr = res.trace(follow=True, timeout=10, poll=0.05)
    assert_same_as_the_sandbox(tr, sb)
    assert set(tr.states) == {"ended"}


def test_follow_stops_at_the_timeout_and_says_who_may_still_move(sb, conn):
    res = enter(sb, conn, ["vip-flag"])
    tr = trace("welcome-journey", ["vip-flag", "never-entered"], connection=conn, follow=True, timeout=0.3,
               poll=0.05, since=timedelta(minutes=5))
    assert tr.states.to_dict() == {"vip-flag": "waiting", "never-entered": "no history"}
    assert any("followed for 0.3 s: 1 contact may still be moving (never-entered)" in n for n in tr.notes)
    with pytest.raises(ValidationError, match="timeout"):
        res.trace(follow=True, timeout=-1)
    with pytest.raises(ValidationError, match="poll"):
        res.trace(follow=True, poll=0)


def test_the_live_map_widget_redraws_and_keeps_a_static_copy(sb, conn):
    from sfmc_nb.widgets import LiveJourneyMap, live_map

    res = enter(sb, conn, ["vip-flag"])
    first = res.trace()
    assert live_map(first) is None                          # no live kernel here: nothing to show
    view = LiveJourneyMap(first)
    assert "<svg" in view.map.value and "following 1 contact" in view.status.value
    sb.advance(days=1)
    view.update(res.trace(), following=False, elapsed=1.5)
    assert "VIP offer" in view.map.value and "followed 1 contact for 1.5 s" in view.status.value
    bundle = view._repr_mimebundle_()
    assert "<svg" in bundle["text/html"] and bundle["text/plain"] == "sfmc live journey map"
    static = view.static_bundle()             # what replaces the widget when the follow ends
    assert "<svg" in static["text/html"] and "followed 1 contact" in static["text/html"]
    assert static["text/plain"].startswith("JourneyTrace: 1 contact traced")


# ---- %sfmc_trace ----------------------------------------------------------------------------------------


@pytest.fixture
def ip(shell, sb, monkeypatch):
    monkeypatch.setenv("SFMC_CLIENT_SECRET", sb.client_secret)
    shell.run_line_magic("load_ext", "sfmc_nb")
    shell.run_line_magic("sfmc_auth", f"--auth-base-url {sb.auth_base_url} --client-id {sb.client_id}")
    shell.run_line_magic("config", "SfmcMagics.display = 'text'")
    shell.run_line_magic("config", "SfmcMagics.progress = False")
    return shell


def test_trace_magic_from_keys_from_a_result_and_from_a_frame(ip, sb):
    ip.run_cell_magic("journey_enter", f"res --event {sb.event_key} --wait=10",
                      "SubscriberKey,Email,IsVip\nm-1,m1@example.com,true\nm-2,m2@example.com,false\n")
    sb.advance(days=1)
    by_keys = ip.run_line_magic("sfmc_trace", "welcome-journey m-1 m-2")
    assert isinstance(by_keys, JourneyTrace) and list(by_keys.paths.index) == ["m-1", "m-2"]
    assert_same_as_the_sandbox(by_keys, sb)
    from_res = ip.run_line_magic("sfmc_trace", "--from res")
    assert from_res.paths.equals(by_keys.paths) and from_res.graph.key == "welcome-journey"
    ip.user_ns["people"] = pd.DataFrame({"SubscriberKey": ["m-2", None, "m-2"]})
    from_df = ip.run_line_magic("sfmc_trace", "welcome-journey --from people")
    assert list(from_df.paths.index) == ["m-2"]
    followed = ip.run_line_magic("sfmc_trace", "--from res --follow --timeout 5")
    assert followed.states.to_dict() == {"m-1": "ended", "m-2": "waiting"}
    named = ip.run_line_magic("sfmc_trace", "--from res --journey welcome-journey")
    assert named.paths.equals(by_keys.paths)
    assert "<svg" in ip.run_line_magic("sfmc_trace", "welcome-journey m-1")._repr_html_()


@pytest.mark.parametrize("line, message", [
    ("", "name the journey"),
    ("welcome-journey", "no contact keys"),
    ("--from nothing", "no variable named 'nothing'"),
    ("--from res welcome-journey", "no journey or keys"),
    ("welcome-journey --journey x a", "--journey goes with --from"),
    ("welcome-journey a --contact-key K", "--contact-key goes with --from DF"),
    ("welcome-journey a --follow --timeout soon", "--timeout"),
    ("no-such-journey a", "404"),
])
def test_trace_magic_mistakes_are_one_line(ip, sb, line, message):
    ip.run_cell_magic("journey_enter", f"res --event {sb.event_key}", "SubscriberKey\nq-1\n")
    with pytest.raises(UsageError, match=message) as info:
        ip.run_line_magic("sfmc_trace", line)
    assert type(info.value) is UsageError and "\n" not in str(info.value)


# ---- what a trace costs ---------------------------------------------------------------------------------


def test_a_trace_of_100_contacts_costs_three_requests_and_res_trace_four(sb, conn, capsys):
    res = sfmc_nb.enter_journey(contacts([f"c-{i:03d}" for i in range(100)]), sb.event_key, data="all",
                                connection=conn).wait(timeout=10, poll=0.02)
    start = len(sb.request_log)
    tr = res.trace()
    by_result = [(r["method"], r["path"]) for r in sb.request_log[start:]]
    assert len(tr.paths) == 100 and tr.paths["status"].notna().all()
    assert by_result == [("GET", "/interaction/v1/interactions"),           # the journey of the event key
                         ("GET", f"/interaction/v1/interactions/{tr.graph.id}"),
                         ("GET", HISTORY + "freshness"), ("POST", HISTORY + "download")]
    fresh = sfmc_nb.connect(sandbox=sb, set_default=False)
    start = len(sb.request_log)
    trace("welcome-journey", list(tr.contact_keys), connection=fresh)
    assert len(sb.request_log) - start == 3                                 # definition, freshness, history
    start = len(sb.request_log)
    res.trace()                                                             # definition and lag already known
    assert [r["path"] for r in sb.request_log[start:]] == [HISTORY + "download"]
    fresh.close()
    with capsys.disabled():
        print(f"\nrequests for a trace of 100 contacts: res.trace() {len(by_result)}, "
              "trace(journey, keys) 3, again 1")


def test_ctrl_c_ends_a_follow_and_returns_the_last_trace(sb, conn):
    res = enter(sb, conn, ["vip-flag"])
    graph = res.trace().graph
    readings = []

    def fetch():
        readings.append(1)
        return trace(graph, ["vip-flag", "never-entered"], connection=conn)

    def stop(seconds):
        raise KeyboardInterrupt

    tr = follow_module.follow_trace(fetch, timeout=30, poll=0.05, sleep=stop)
    assert len(readings) == 1 and tr.states["vip-flag"] == "waiting"
    assert any(n.startswith("stopped (interrupted): 1 contact may still be moving") for n in tr.notes)


def test_rows_of_other_versions_of_the_journey_are_kept_and_said():
    rows = [{"DefinitionId": "v2", "DefinitionName": "Welcome", "ContactKey": "a"},
            {"DefinitionId": "v1", "DefinitionName": "Welcome", "ContactKey": "a"},
            {"DefinitionId": "x9", "DefinitionName": "Another journey", "ContactKey": "a"},
            {"DefinitionId": "", "ContactKey": "a"}]
    kept = trace_module._of_journey(rows, "v2", "Welcome")
    assert kept == [rows[0], rows[1], rows[3]]
    from sfmc_nb.journeys import JourneyGraph

    graph = JourneyGraph.from_definition({"id": "v2", "name": "Welcome", "definitionId": "shared"})
    assert trace_module._definition_ids(graph) == ["v2", "shared"]
    notes = trace_module._notes(kept, graph, None)
    assert notes == ["1 history row came from other versions of Welcome: their activities are matched by name, "
                     "and those this version lacks are counted last"]
