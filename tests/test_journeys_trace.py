"""JourneyTrace (paths, counts, expect, assert_paths, reprs) and trace() against the sandbox over HTTP."""

from __future__ import annotations

import contextlib
import csv
import gzip
import html
import importlib
import io
import random
import time

import pandas as pd
import pytest
from scripted_server import Answer, ScriptedServer, token_answer
from test_journeys_samples import CONTACTS, EXPECTED, definition, guid, history_csv, history_rows

import sfmc_nb
from sfmc_nb.errors import ApiError, ConfigurationError, UnexpectedAnswerError, ValidationError
from sfmc_nb.journeys import JourneyGraph, JourneyTrace, events_frame, read_rows, trace

trace_module = importlib.import_module("sfmc_nb.journeys.trace")   # the package's `trace` is the function
follow_module = importlib.import_module("sfmc_nb.journeys.follow")


@pytest.fixture
def graph():
    return JourneyGraph.from_definition(definition())


@pytest.fixture
def tr(graph):
    return JourneyTrace(graph, history_csv(), CONTACTS)


def test_paths_in_time_order_with_the_trigger_left_out(tr):
    paths = tr.paths
    assert list(paths.index) == CONTACTS and paths.index.name == "contactKey"
    assert list(paths.columns) == ["at", "status", "message", "path"]     # where each one is now, first
    for contact, expected in EXPECTED.items():
        assert paths.loc[contact, "path"] == tuple(expected)


def test_where_each_contact_is_now(tr):
    paths = tr.paths
    assert (paths.loc["c-high-waiting", "at"], paths.loc["c-high-waiting", "status"]) == ("Wait 2 days", "Waiting")
    assert (paths.loc["c-high-open", "at"], paths.loc["c-high-open", "status"]) == ("Thank you email", "Complete")
    assert (paths.loc["c-high-quiet", "at"], paths.loc["c-high-quiet", "status"]) == ("<Bob & Co> sync", "Failed")
    assert (paths.loc["c-low", "at"], paths.loc["c-low", "status"]) == ("Wait 1 hour", "Complete")
    assert paths.loc["c-none", "path"] == () and paths.loc["c-none", "at"] is None
    assert paths.loc["c-none", "status"] is None


def test_the_same_paths_whatever_order_the_rows_came_in(graph):
    first = JourneyTrace(graph, history_rows(1), CONTACTS).paths
    for seed in (2, 3, 4):
        assert JourneyTrace(graph, history_rows(seed), CONTACTS).paths.equals(first)


def test_counts_in_journey_order_with_zeros(graph, tr):
    counts = tr.counts
    assert list(counts.index) == [a.label for a in graph.activities]
    assert counts.to_dict() == {"Score decision": 6, "High value email": 3, "Random split": 2, "Wait 1 hour": 1,
                                "Wait 2 days": 3, "Offer A": 1, "Offer B": 1, "Opened?": 2, "Thank you email": 1,
                                "<Bob & Co> sync": 1}
    few = JourneyTrace(graph, history_csv(), ["c-low", "c-none"]).counts
    assert few["Score decision"] == 1 and few["Offer A"] == 0 and len(few) == 10
    assert few.dtype == "int64"


def test_an_activity_missing_from_the_definition_is_counted_last(graph):
    rows = history_rows() + [{"TransactionTime": "2024-05-01T13:00:05", "ContactKey": "c-low", "Status": "Complete",
                              "ActivityId": "f0000000-0000-4000-8000-000000000001", "ActivityName": "Extra step",
                              "ActivityType": "SMSSYNC"}]
    tr = JourneyTrace(graph, rows, ["c-low"])
    assert tr.paths.loc["c-low", "path"] == ("Score decision", "Wait 1 hour", "Extra step")
    assert tr.counts.index[-1] == "Extra step" and tr.counts["Extra step"] == 1


def test_contacts_default_to_those_in_the_history(graph):
    tr = JourneyTrace(graph, history_csv())
    assert set(tr.paths.index) == set(EXPECTED) - {"c-none"}


def test_a_trace_takes_an_events_frame_too(graph, tr):
    again = JourneyTrace(graph, events_frame(history_csv(), graph), CONTACTS)
    assert again.paths.equals(tr.paths)
    assert JourneyTrace(definition(), history_csv(), CONTACTS).paths.equals(tr.paths)


def test_expect_passes_when_every_path_matches(tr):
    result = tr.expect(EXPECTED)
    assert list(result.columns) == ["contactKey", "passed", "difference", "expected", "actual"]
    assert (result["difference"] == "").all()
    assert result["passed"].all() and len(result) == len(EXPECTED)
    assert tr.assert_paths(EXPECTED)["passed"].all()


def test_expect_takes_keys_and_names_for_activities(tr):
    result = tr.expect({"c-medium-a": ["MULTICRITERIADECISION-1", "RANDOMSPLIT-1", "Offer A"]})
    assert bool(result.loc[0, "passed"]) and result.loc[0, "expected"] == ("Score decision", "Random split", "Offer A")


def test_expect_fails_for_another_path_a_shorter_one_and_no_history(tr):
    result = tr.expect({
        "c-medium-a": ["Score decision", "Random split", "Offer B"],
        "c-high-waiting": EXPECTED["c-high-open"],
        "c-none": ["Score decision"],
        "c-unknown": [],
        "c-low": ["Score decision", "Wait 1 hour"],
    }).set_index("contactKey")
    assert result["passed"].to_dict() == {"c-medium-a": False, "c-high-waiting": False, "c-none": False,
                                          "c-unknown": True, "c-low": True}
    assert result.loc["c-none", "actual"] == () and result.loc["c-unknown", "actual"] == ()
    assert result.loc["c-medium-a", "actual"] == ("Score decision", "Random split", "Offer A")


def test_expect_shows_whole_paths_where_they_differ(tr):
    long_name = "Offer B for every contact who scored in the middle band last quarter"
    result = tr.expect({"c-medium-a": ["Score decision", "Random split", long_name], "c-low": EXPECTED["c-low"]})
    difference = result.set_index("contactKey").loc["c-medium-a", "difference"]
    assert difference == f"Score decision → Random split → -{long_name} → +Offer A   (now at Offer A: Complete)"
    assert result.set_index("contactKey").loc["c-low", "difference"] == ""
    for shown in (repr(result), result._repr_html_(), repr(result.query("not passed"))):
        assert long_name in html.unescape(shown) and "…" not in shown and "..." not in shown


def test_assert_paths_names_each_failing_contact_and_the_difference(tr):
    with pytest.raises(AssertionError) as info:
        tr.assert_paths({"c-medium-a": ["Score decision", "Random split", "Offer B"],
                         "c-high-waiting": EXPECTED["c-high-open"], "c-none": ["Score decision"],
                         "c-low": ["Score decision", "Wait 1 hour"]})
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0].startswith("3 of 4 contacts did not take the expected path")
    assert "c-low" not in message and len(lines) == 4
    medium = next(line for line in lines if "c-medium-a" in line)
    assert "-Offer B" in medium and "+Offer A" in medium and "Random split" in medium
    waiting = next(line for line in lines if "c-high-waiting" in line)
    assert "-Opened?" in waiting and "-Thank you email" in waiting and "now at Wait 2 days: Waiting" in waiting
    none = next(line for line in lines if "c-none" in line)
    assert "no history" in none and "Score decision" in none


def test_expect_refuses_what_is_not_a_mapping(tr):
    with pytest.raises(ValidationError):
        tr.expect([("c-low", ["Score decision"])])


def test_repeated_rows_of_one_activity_are_one_step(graph):
    rows = history_rows() + [{"TransactionTime": "2024-05-01T12:00:03", "ContactKey": "c-low", "Status": "Waiting",
                              "ActivityId": "a0000000-0000-4000-8000-000000000010"}]
    assert JourneyTrace(graph, rows, ["c-low"]).paths.loc["c-low", "path"] == ("Score decision", "Wait 1 hour")


def test_a_contact_that_only_entered(graph):
    rows = [{"TransactionTime": "2024-05-01T08:00:00", "ContactKey": "c-new", "Status": "Complete",
             "ActivityType": "Trigger", "ActivityName": "Score API event"}]
    tr = JourneyTrace(graph, rows, ["c-new"])
    assert tr.paths.loc["c-new", "path"] == () and tr.paths.loc["c-new", "at"] == "Score API event"
    with pytest.raises(AssertionError, match="entered, no activity yet"):
        tr.assert_paths({"c-new": ["Score decision"]})


def test_text_repr_lists_counts_and_paths(tr):
    text = repr(tr)
    assert "7 contacts traced in Score journey (v3, Published): 6 entered, 30 history rows" in text
    assert "Score decision → High value email → Wait 2 days   [Waiting]" in text
    assert "c-none" in text and "(no history)" in text and "<Bob & Co> sync" in text


def test_html_is_the_map_then_the_paths_table(tr):
    page = tr._repr_html_()
    assert page.index("<svg") < page.index("</svg>") < page.index("<table")
    assert "&lt;Bob &amp; Co&gt; sync" in page and "<Bob &" not in page
    assert "<script" not in page and "Score decision → Random split → Offer A" in page


def test_an_empty_journey_traces_without_error(graph):
    data = definition()
    data["activities"] = []
    tr = JourneyTrace(JourneyGraph.from_definition(data), history_csv(), ["c-low"])
    assert tr.paths.loc["c-low", "path"] == ("Score decision", "Wait 1 hour")
    assert tr.counts.to_dict() == {"Score decision": 1, "Wait 1 hour": 1}     # names from the history rows
    assert "<svg" in tr._repr_html_() and "no activities" in repr(tr)


# ---- trace() over HTTP, against the sandbox -------------------------------------------------------------


def _enter_and_wait_for_history(sandbox, conn, keys):
    conn.enter_batch(sandbox.event_key, [{"contactKey": k, "data": {"Email": f"{k}@example.com"}} for k in keys])
    deadline = time.monotonic() + 10
    seen: set = set()
    while time.monotonic() < deadline and not set(keys) <= seen:
        seen = {row["ContactKey"] for row in conn.journey_history(contact_keys=keys)}
        time.sleep(0.1)
    assert set(keys) <= seen


def _requests_since(sandbox, start):
    return [(r["method"], r["path"]) for r in sandbox.request_log[start:]]


def test_trace_fetches_the_definition_the_freshness_and_the_history_in_three_requests(sandbox, conn):
    keys = ["t-1", "t-2", "t-3"]
    _enter_and_wait_for_history(sandbox, conn, keys)
    journey_key = sandbox.demo["welcome"]["journey_key"]
    start = len(sandbox.request_log)
    tr = trace(journey_key, keys + ["t-never"], connection=conn)
    sent = _requests_since(sandbox, start)
    assert sent == [("GET", f"/interaction/v1/interactions/key:{journey_key}"),
                    ("GET", "/interaction/v1/interactions/journeyhistory/freshness"),
                    ("POST", "/interaction/v1/interactions/journeyhistory/download")]
    assert tr.graph.key == journey_key and list(tr.paths.index) == keys + ["t-never"]
    assert tr.paths.loc[keys, "status"].notna().all() and tr.paths.loc["t-never", "status"] is None
    assert set(tr.events["contactKey"]) == set(keys)
    assert str(tr.events["time"].dt.tz) == "UTC" and tr.events["time"].notna().all()
    assert (tr.events["raw"].map(lambda r: r["DefinitionId"]) == tr.graph.id).all()


def test_trace_sends_contact_keys_in_chunks(sandbox, conn, monkeypatch):
    keys = ["k-1", "k-2", "k-3"]
    _enter_and_wait_for_history(sandbox, conn, keys)
    monkeypatch.setattr(trace_module, "HISTORY_CONTACTS_PER_REQUEST", 2)
    journey = conn.journey(sandbox.demo["welcome"]["journey_key"])
    start = len(sandbox.request_log)
    tr = trace(journey, keys, connection=conn)
    history = "/interaction/v1/interactions/journeyhistory/"
    assert [p for _, p in _requests_since(sandbox, start)] == [   # the definition came with the model
        history + "freshness", history + "download", history + "download"]
    assert set(tr.events["contactKey"]) == set(keys)


def test_trace_uses_the_default_connection_and_since(sandbox, conn):
    _enter_and_wait_for_history(sandbox, conn, ["d-1"])
    sfmc_nb.set_default_connection(conn)
    journey_key = sandbox.demo["welcome"]["journey_key"]
    assert trace(journey_key, "d-1").paths.loc["d-1", "status"] is not None
    later = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
    assert trace(journey_key, ["d-1"], since=later.to_pydatetime()).events.empty


def test_trace_without_a_connection_or_keys_says_what_is_missing(graph):
    with pytest.raises(ConfigurationError, match="connect"):
        trace(graph, ["c-1"])
    with pytest.raises(ValidationError, match="no contact keys"):
        trace(graph, [" ", None], connection=object())
    with pytest.raises(ValidationError, match="since"):
        trace(graph, ["c-1"], connection=object(), since=3.5)


def test_rows_of_other_journeys_are_left_out_should_the_filter_be_ignored():
    rows = [{"DefinitionId": "AAA", "ContactKey": "c"}, {"DefinitionId": "bbb", "ContactKey": "c"},
            {"ContactKey": "c"}, {"definitionId": "aaa", "ContactKey": "c"}]
    assert trace_module._of_journey(rows, "aaa") == [rows[0], rows[2], rows[3]]
    assert trace_module._of_journey(rows, "") == rows


# ---- history answers the trace must not misread (served over HTTP by a scripted server) -------------------

DOWNLOAD = "/interaction/v1/interactions/journeyhistory/download"
SECRET = "s3cret-value-never-shown"


@contextlib.contextmanager
def history_server(answer: Answer):
    """A connection to a server whose every history download gets ``answer`` (no freshness: a 404 there)."""
    with ScriptedServer() as srv:
        srv.routes[("POST", "/v2/token")] = lambda req: token_answer(srv.url)
        srv.routes[("POST", DOWNLOAD)] = lambda req: answer
        conn = sfmc_nb.connect(auth_base_url=srv.url, client_id="cid", client_secret=SECRET, set_default=False,
                               timeout=(2.0, 5.0))
        try:
            yield srv, conn
        finally:
            conn.close()


def test_a_history_with_a_1_mb_field_is_read_and_the_process_csv_limit_is_left_alone(graph):
    rows = history_rows()
    huge = "Offer " + "x" * 1_000_000
    rows[0] = {**rows[0], "ActivityId": guid(77), "ActivityName": huge}    # an activity the definition lacks
    out = io.StringIO()
    writer = csv.DictWriter(out, list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    limit = csv.field_size_limit()
    with history_server(Answer(200, out.getvalue().encode(), {"Content-Type": "text/csv"})) as (srv, conn):
        tr = trace(graph, CONTACTS, connection=conn)
    assert csv.field_size_limit() == limit
    assert len(tr.events) == len(rows) and huge in set(tr.events["activityName"])
    assert tr.counts[huge] == 1 and tr.paths.loc[rows[0]["ContactKey"], "path"][-1:] != ()
    reference = JourneyTrace(graph, history_csv(), CONTACTS)
    others = [k for k in CONTACTS if k != rows[0]["ContactKey"]]
    assert tr.paths.loc[others].equals(reference.paths.loc[others])      # the other contacts read as before


def test_bytes_that_are_not_utf8_are_replaced_with_a_note_on_the_trace(graph):
    text = history_csv().replace("Score journey", "Score journ\x00ey")
    data = text.encode().replace(b"\x00", b"\xe9\xff\x81")                 # Windows-1252 and stray bytes
    with history_server(Answer(200, data, {"Content-Type": "text/csv"})) as (srv, conn):
        tr = trace(graph, CONTACTS, connection=conn)
    assert tr.notes[0].startswith("the journey history held bytes that are not UTF-8 text (the first at byte ")
    assert "\ufffd" in tr.events["raw"].iloc[0]["DefinitionName"]
    assert tr.paths.equals(JourneyTrace(graph, history_csv(), CONTACTS).paths)     # every row still read
    assert "note: the journey history held bytes" in repr(tr)


@pytest.mark.parametrize("answer, message", [
    (Answer(200, b""), r"HTTP 200 from POST .*download: the journey history answer is empty, not the CSV asked "
                       r"for \(a download without rows still has its header line\)"),
    (Answer(200, "<html><body>Your session has expired. Please log in.</body></html>"),
     r"an HTML page, not the CSV asked for .*the session may have expired\): log in again and trace again\. "
     r"It says: 'Your session has expired\. Please log in\.'$"),
    (Answer(200, b"<?xml version='1.0'?><error>Session expired</error>", {"Content-Type": "text/csv"}),
     r"an HTML page, not the CSV asked for"),
    (Answer(200, gzip.compress(history_csv().encode()), {"Content-Type": "text/csv"}),
     r"gzip-compressed data sent without saying so"),
    (Answer(200, {"message": "Not Authorized", "errorcode": 0}), r"JSON, not the CSV asked for: Not Authorized"),
    (Answer(200, b"id,name\r\n1,Welcome\r\n", {"Content-Type": "text/csv"}),
     r"not the CSV asked for: a history needs the columns ContactKey and one of ActivityId, ActivityName, "
     r"ActivityType, its first line has id, name"),
    (Answer(200, random.Random(5).randbytes(4000), {"Content-Type": "application/octet-stream"}),
     r"the journey history answer is not (the CSV asked for|CSV that can be read)"),
    (Answer(200, b'ContactKey,ActivityName\r\nc-1,"Welcome email\r\n', {"Content-Type": "text/csv"}),
     r"not CSV that can be read: the journey history cannot be read as CSV: .*EOF inside string"),
])
def test_a_history_answer_that_is_not_the_csv_asked_for_is_an_error_not_an_empty_trace(graph, answer, message):
    with history_server(answer) as (srv, conn):
        with pytest.raises(UnexpectedAnswerError, match=message) as info:
            trace(graph, CONTACTS, connection=conn)
        assert srv.paths("POST").count(DOWNLOAD) == 1                       # asked once, not retried in a loop
    err = info.value
    assert isinstance(err, ApiError) and err.status == 200 and err.path == DOWNLOAD
    assert "\n" not in str(err) and len(str(err)) < 700 and SECRET not in str(err) + repr(err.body)
    assert "tok-" not in str(err)


def test_csv_text_read_by_events_frame_takes_large_fields_and_says_what_it_cannot_read(graph):
    huge = "y" * 300_000
    events = events_frame(f"ContactKey,ActivityName\r\nc-1,{huge}\r\n")
    assert events["activityName"].tolist() == [huge]
    rows = read_rows("ContactKey,ActivityName\r\nc-1,caf\xe9\r\n".encode("cp1252"))
    assert rows == [{"ContactKey": "c-1", "ActivityName": "caf\ufffd"}]
    assert rows.notes == ["the journey history held bytes that are not UTF-8 text (the first at byte 32): they "
                          "are shown as \ufffd"]
    with pytest.raises(ValidationError, match="the journey history cannot be read as CSV: .*EOF inside string"):
        events_frame('ContactKey,ActivityName\r\nc-1,"never closed\r\n')


# ---- history in the shapes real accounts give ---------------------------------------------------------------

REAL_COLUMNS = ["TransactionTime", "ContactKey", "Status", "DefinitionName", "ActivityName", "EventName",
                "Result.Tags", "Result.Messages"]   # a real download's header (no ActivityId, no ActivityType)


def _real_download(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REAL_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize("status", ["DidNotMeetEntryCriteria", "ContactPreviouslyInSameInteraction",
                                    "ContactAlreadyInInteraction"])
def test_an_entry_refused_at_the_trigger_ends_with_its_reason(graph, status):
    reason = "Type:User;Level:Error;ErrorCode:120013;Message:Contact does not qualify for this journey"
    text = _real_download([
        ["2024-02-16T09:23:06.564Z", "c-refused", status, graph.name, "Some event", "Some event", "", reason],
        ["2024-02-16T09:23:06.564Z", "c-in", "Complete", graph.name, graph.trigger.name, "Some event", "", ""],
        ["2024-02-16T09:23:07.100Z", "c-in", "Complete", graph.name, "Score decision", "API Event", "", ""]])
    tr = JourneyTrace(graph, text, ["c-refused", "c-in"])
    assert tr.states.to_dict() == {"c-refused": "ended", "c-in": "moving"}
    assert follow_module.moving(tr) == ["c-in"]              # follow=True stops asking about the refused one
    refused = tr.paths.loc["c-refused"]
    assert (refused["status"], refused["message"], refused["path"]) == (
        status, "Contact does not qualify for this journey", ())
    assert tr.counts.sum() == 1                              # the refusal is no step of the journey
    events = tr.events.set_index("contactKey")
    assert events.loc["c-refused", "message"] == "Contact does not qualify for this journey"
    assert f"{status}: Contact does not qualify" in repr(tr)


def test_a_search_items_nested_result_messages_is_the_events_message(graph):
    items = [{"transactionTime": "2024-02-16T09:23:06.564Z", "contactKey": "c-1",
              "status": "DidNotMeetEntryCriteria", "activityType": "trigger",
              "result": {"status": "Failed", "messages": ["Type:User;Level:Error;ErrorCode:1;Message:Not eligible"]}},
             {"transactionTime": "2024-02-16T09:23:07Z", "contactKey": "c-2", "status": "Failed",
              "activityType": "trigger", "result.messages": "Type:System;Level:Error;ErrorCode:2;Message:No data"
              "|Type:System;Level:Error;ErrorCode:3;Message:Try later"}]
    events = events_frame(items, graph).set_index("contactKey")
    assert events.loc["c-1", "message"] == "Not eligible"
    assert events.loc["c-2", "message"] == "No data | Try later"


def test_a_large_trace_shows_the_first_paths_and_says_how_many_more(graph):
    rows = [{**r, "ContactKey": f"{n}-{r['ContactKey']}"} for n in range(10) for r in history_rows()]
    tr = JourneyTrace(graph, rows)
    assert len(tr.contact_keys) > 50
    text, page = repr(tr), tr._repr_html_()
    assert f"... {len(tr.contact_keys) - 50:,} more" in text
    assert f"the first 50 of {len(tr.contact_keys):,} contacts" in page
    paths = tr.paths
    for contact in tr.contact_keys[:50]:               # the lines shown are those of the whole table
        path = paths.loc[contact, "path"]
        if path:
            assert f"{contact}  " in text and trace_module.ARROW.join(path) in text
