"""Journey history rows (sfmc-api.md 5.2) read into events: system-time dates (2.1), time order, activities."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from test_journeys_samples import COLUMNS, JOURNEY_ID, STORIES, definition, guid, history_csv, history_rows

from sfmc_nb.errors import ValidationError
from sfmc_nb.journeys import JourneyGraph, events_frame, parse_time, read_rows

UTC = timezone.utc


@pytest.fixture
def graph():
    return JourneyGraph.from_definition(definition())


@pytest.mark.parametrize("text, expected", [
    ("2024-05-01T08:00:00", datetime(2024, 5, 1, 14, 0, tzinfo=UTC)),                      # system time, UTC-6
    ("2024-05-01T08:00:00.5", datetime(2024, 5, 1, 14, 0, 0, 500000, tzinfo=UTC)),
    ("2024-05-01T08:00:00.25", datetime(2024, 5, 1, 14, 0, 0, 250000, tzinfo=UTC)),
    ("2024-05-01T08:00:00.993", datetime(2024, 5, 1, 14, 0, 0, 993000, tzinfo=UTC)),
    ("2024-05-01 08:00:00", datetime(2024, 5, 1, 14, 0, tzinfo=UTC)),
    ("2024-05-01T08:00", datetime(2024, 5, 1, 14, 0, tzinfo=UTC)),
    ("2024-05-01T08:00:00Z", datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),                       # Z taken as written
    ("2024-05-01T08:00:00.120z", datetime(2024, 5, 1, 8, 0, 0, 120000, tzinfo=UTC)),
    ("2024-05-01T08:00:00+02:00", datetime(2024, 5, 1, 6, 0, tzinfo=UTC)),
    ("2024-05-01T08:00:00-0500", datetime(2024, 5, 1, 13, 0, tzinfo=UTC)),
    ("5/1/2024 8:00:00 AM", datetime(2024, 5, 1, 14, 0, tzinfo=UTC)),
    ("5/1/2024 12:30:00 PM", datetime(2024, 5, 1, 18, 30, tzinfo=UTC)),
    ("  2024-05-01T08:00:00  ", datetime(2024, 5, 1, 14, 0, tzinfo=UTC)),
])
def test_dates_are_system_time_unless_they_say_otherwise(text, expected):
    stamp = parse_time(text)
    assert stamp == pd.Timestamp(expected) and str(stamp.tz) == "UTC"


@pytest.mark.parametrize("junk", ["", "yesterday", "2024-13-01T00:00:00", "2024-02-30T10:00:00",
                                  "0001-01-01T00:00:00", "2024-05-01T25:00:00", None, float("nan"), 42, "2024-05"])
def test_dates_that_cannot_be_read_are_nat(junk):
    assert parse_time(junk) is pd.NaT


def test_the_offset_can_be_overridden():
    assert parse_time("2024-05-01T08:00:00", offset=-7) == pd.Timestamp("2024-05-01T15:00:00Z")
    assert parse_time("2024-05-01T08:00:00", offset=timedelta(0)) == pd.Timestamp("2024-05-01T08:00:00Z")
    assert parse_time("2024-05-01T08:00:00Z", offset=-7) == pd.Timestamp("2024-05-01T08:00:00Z")
    assert parse_time(datetime(2024, 5, 1, 8)) == pd.Timestamp("2024-05-01T14:00:00Z")
    with pytest.raises(ValidationError, match="offset"):
        events_frame(history_csv(), offset="Chicago")


def test_events_have_the_documented_columns_and_utc_times(graph):
    events = events_frame(history_csv(), graph)
    assert list(events.columns) == ["contactKey", "time", "activityId", "activityKey", "activityName",
                                    "activityType", "status", "message", "raw"]
    assert str(events["time"].dt.tz) == "UTC" and events["time"].notna().all()
    assert len(events) == sum(len(s) for s in STORIES.values())
    assert events.index.name == "row"


def test_events_are_in_time_order_whatever_order_the_rows_came_in(graph):
    orders = [events_frame(history_rows(seed), graph)[["contactKey", "activityKey", "status"]] for seed in (1, 2, 3)]
    assert orders[0].reset_index(drop=True).equals(orders[1].reset_index(drop=True))
    assert orders[0].reset_index(drop=True).equals(orders[2].reset_index(drop=True))
    events = events_frame(history_rows(1), graph)
    assert events["time"].is_monotonic_increasing


def test_rows_with_the_same_time_keep_journey_order(graph):
    events = events_frame(history_rows(5), graph)
    same = events[events["contactKey"] == "c-high-waiting"]
    assert same["activityKey"].tolist() == ["TRIGGER", "MULTICRITERIADECISION-1", "EMAILV2-1", "WAIT-1"]


def test_z_dates_and_system_dates_interleave_correctly(graph):
    events = events_frame(history_csv(), graph)
    mine = events[events["contactKey"] == "c-medium-a"]
    assert mine["activityName"].tolist() == ["Score API event", "Score decision", "Random split", "Offer A"]
    assert mine["time"].iloc[2] == pd.Timestamp("2024-05-01T17:00:02Z")


def test_activities_are_resolved_from_the_graph_by_id(graph):
    rows = [{"TransactionTime": "2024-05-01T08:00:00", "ContactKey": "c", "Status": "Complete",
             "ActivityId": guid(3).upper(), "ActivityName": "Renamed in a later version", "ActivityType": "WAIT"}]
    event = events_frame(rows, graph).iloc[0]
    assert (event["activityKey"], event["activityName"], event["activityType"]) == ("WAIT-1", "Wait 2 days", "WAIT")


def test_unknown_activities_fall_back_to_the_row(graph):
    rows = [{"TransactionTime": "2024-05-01T08:00:00", "ContactKey": "c", "Status": "Complete",
             "ActivityId": guid(77), "ActivityName": "Added later", "ActivityType": "SMSSYNC"},
            {"TransactionTime": "2024-05-01T08:00:00", "ContactKey": "c", "Status": "Complete",
             "ActivityName": "Offer B", "ActivityType": "EMAILV2"}]
    events = events_frame(rows, graph)
    assert events["activityKey"].tolist() == ["EMAILV2-4", None]          # Offer B first: journey order
    assert events["activityName"].tolist() == ["Offer B", "Added later"]


def test_rows_without_a_graph_keep_their_own_names():
    events = events_frame(history_csv())
    assert events["activityKey"].isna().all()
    assert set(events["activityName"]) >= {"Score decision", "<Bob & Co> sync", "Score API event"}


def test_raw_rows_stay_reachable_and_the_index_is_their_position(graph):
    rows = history_rows(3)
    events = events_frame(rows, graph)
    for position, raw in events["raw"].items():
        assert raw == rows[position]
    assert set(events.iloc[0]["raw"]) == set(COLUMNS) and events.iloc[0]["raw"]["DefinitionId"] == JOURNEY_ID


def test_csv_text_bytes_and_dicts_give_the_same_events(graph):
    text = history_csv()
    base = events_frame(text, graph).drop(columns="raw")
    for other in (text.encode("utf-8-sig"), read_rows(text), pd.DataFrame(read_rows(text))):
        assert events_frame(other, graph).drop(columns="raw").equals(base)


def test_message_always_a_column_and_blanks_are_none(graph):
    rows = [{k: v for k, v in r.items() if k != "Message"} for r in history_rows()]
    assert events_frame(rows, graph)["message"].isna().all()
    events = events_frame(history_rows(), graph)
    failed = events[events["status"] == "Failed"]
    assert failed["message"].tolist() == ["Sync target unreachable"]
    assert events["message"].isna().sum() == len(events) - 1


def test_column_names_in_any_case_are_read():
    rows = [{"transactionTime": "2024-05-01T08:00:00Z", "contactKey": "c", "status": "Complete",
             "activityName": "Offer A", "activityType": "EMAILV2"}]
    event = events_frame(rows).iloc[0]
    assert (event["contactKey"], event["activityName"], event["time"]) == (
        "c", "Offer A", pd.Timestamp("2024-05-01T08:00:00Z"))


def test_unreadable_dates_come_last_and_never_raise(graph):
    rows = history_rows()
    rows[0] = {**rows[0], "TransactionTime": "sometime"}
    events = events_frame(rows, graph)
    assert events["time"].isna().sum() == 1 and pd.isna(events["time"].iloc[-1])
    assert events.index[-1] == 0


def test_no_rows_give_an_empty_frame_with_the_columns(graph):
    for empty in ("", "TransactionTime,ContactKey,Status\r\n", [], None):
        events = events_frame(empty, graph)
        assert events.empty and {"contactKey", "time", "activityName", "raw"} <= set(events.columns)


# ---- a large download read column-wise ----------------------------------------------------------------------


def test_a_download_read_column_wise_gives_the_same_events(graph):
    from sfmc_nb.client import read_history_table
    from sfmc_nb.journeys.history import events_from_table

    for seed in (1, 2, 3):
        rows = history_rows(seed)
        text = pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False)
        expected = events_frame(text, graph).drop(columns="raw")
        table = read_history_table(text.encode()).frame
        assert events_from_table(table, graph).equals(expected)
        some = {r["ContactKey"] for r in rows[:5]}
        kept = events_from_table(table, graph, keep=some)
        assert set(kept["contactKey"]) == some
        assert kept.reset_index(drop=True).equals(
            expected[expected["contactKey"].isin(some)].reset_index(drop=True))


def test_a_real_download_read_column_wise_keeps_zones_and_reasons(graph):
    from sfmc_nb.client import read_history_table
    from sfmc_nb.journeys.history import events_from_table

    text = ("TransactionTime,ContactKey,Status,DefinitionName,ActivityName,EventName,Result.Tags,Result.Messages\r\n"
            "2024-02-16T09:23:06.564Z,c-1,DidNotMeetEntryCriteria,J,Ev,Ev,,"
            "Type:User;Level:Error;ErrorCode:9;Message:Not eligible\r\n"
            "2024-02-16T03:23:07,c-2,Complete,J,Score decision,Ev,,\r\n"
            "2/16/2024 3:23:08 AM,c-3,Complete,J,Score decision,Ev,,\r\n"
            "0001-01-01T00:00:00,c-4,Complete,J,Score decision,Ev,,\r\n")
    events = events_from_table(read_history_table(text.encode()).frame, graph).set_index("contactKey")
    assert events.loc["c-1", "time"] == pd.Timestamp("2024-02-16T09:23:06.564Z")
    assert events.loc["c-2", "time"] == pd.Timestamp("2024-02-16T09:23:07Z")      # system time, UTC-6
    assert events.loc["c-3", "time"] == pd.Timestamp("2024-02-16T09:23:08Z")
    assert pd.isna(events.loc["c-4", "time"])
    assert events.loc["c-1", "message"] == "Not eligible" and pd.isna(events.loc["c-2", "message"])
    assert events.loc["c-2", "activityKey"] == graph.activities[0].key
    assert events.equals(events_frame(text, graph).drop(columns="raw").set_index("contactKey"))
