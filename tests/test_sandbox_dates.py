"""The sandbox writes dates as Marketing Cloud does, can land a request after the client's read timeout, list
new entries late and date entries back; checked with plain ``requests`` (lower time bounds only)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from _sandbox_helpers import STATUS

ZONE_LESS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?$")
WITH_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CST = timezone(timedelta(hours=-6))


@pytest.fixture
def make(raw_sandbox):
    """Start sandboxes (with a client each) processing entries in 0.05 s; ``read``: the client's read timeout."""
    def start(read: float = 10.0, **options):
        return raw_sandbox(timeout=(5, read), process_delay=0.05, **options)

    return start


def test_status_items_and_journeys_are_dated_in_system_time_without_an_offset_by_default(make):
    c = make()
    before = datetime.now(timezone.utc)
    c.enter(["a", "b"])
    item = c.status()["items"][0]
    for name in ("createdDate", "modifiedDate"):
        assert ZONE_LESS.match(item[name]), item[name]
        as_utc = datetime.fromisoformat(item[name]).replace(tzinfo=CST)   # UTC-6, read as Marketing Cloud's
        assert abs(as_utc - before) < timedelta(minutes=1)
    journey = c.call("GET", "interaction/v1/interactions/key:welcome-journey").json()
    assert all(ZONE_LESS.match(journey[name]) for name in ("createdDate", "modifiedDate", "lastPublishedDate"))
    assert c.sb.faults["date_style"] == "system"


def test_date_style_utc_writes_z_dates(make):
    c = make(date_style="utc")
    c.enter(["a"])
    item = c.status()["items"][0]
    assert WITH_Z.match(item["createdDate"]) and WITH_Z.match(item["modifiedDate"])
    journey = c.call("GET", "interaction/v1/interactions/key:welcome-journey").json()
    assert WITH_Z.match(journey["createdDate"])
    c.sb.reset_faults()                                   # a format, not a fault: kept
    assert c.sb.faults["date_style"] == "utc"
    with pytest.raises(ValueError, match="date_style"):
        c.sb.configure(date_style="local")


def test_a_zone_less_start_date_is_read_as_system_time(make):
    c = make()
    c.enter(["a"])
    now_cst = datetime.now(CST).replace(tzinfo=None)
    assert c.status(startDate=(now_cst - timedelta(minutes=1)).isoformat(timespec="seconds"))["count"] == 1
    assert c.status(startDate=(now_cst + timedelta(minutes=1)).isoformat(timespec="seconds"))["count"] == 0
    in_utc = datetime.now(timezone.utc) - timedelta(minutes=1)
    assert c.status(startDate=in_utc.strftime("%Y-%m-%dT%H:%M:%SZ"))["count"] == 1


def test_a_slow_answer_lands_after_the_clients_read_timeout(make):
    c = make(read=0.5)
    c.sb.inject("slow_answer", 1, seconds=1.2)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        c.enter(["slow"])
    assert c.sb.entry_counts() == {}                     # not landed yet: the service is still working on it
    assert c.status()["count"] == 0
    deadline = time.monotonic() + 10
    while not c.sb.entry_counts() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert c.sb.entry_counts() == {"slow": 1} and time.monotonic() - started >= 1.2
    assert c.status()["count"] == 1 and c.sb.stats["slow_answers"] == 1
    assert c.enter(["fast"]).status_code == 202          # only the injected one was slow


def test_slow_answer_settings_and_injection_are_checked(make):
    c = make(slow_answer_rate=1.0, slow_answer_seconds=0.3, read=5.0)
    started = time.monotonic()
    assert c.enter(["x"]).status_code == 202 and time.monotonic() - started >= 0.3
    for bad in ({"slow_answer_rate": 2}, {"slow_answer_seconds": -1}, {"slow_answer_seconds": float("inf")},
                {"status_lag": "1"}):
        with pytest.raises(ValueError):
            c.sb.configure(**bad)
    with pytest.raises(ValueError, match="seconds"):
        c.sb.inject("slow-answer", 1)
    with pytest.raises(ValueError, match="seconds"):
        c.sb.inject("500", 1, seconds=2)


def test_status_lag_lists_new_entries_late(make):
    c = make(status_lag=0.6)
    request_id = c.enter(["a"]).json()["requestId"]
    assert c.call("GET", STATUS, params={"requestId": request_id}).json()["count"] == 0
    time.sleep(0.7)
    assert c.call("GET", STATUS, params={"requestId": request_id}).json()["count"] == 1


def test_backdate_moves_earlier_entries_an_hour_back(make):
    c = make()
    c.enter(["old"])
    c.sb.backdate(hours=1)
    c.enter(["new"])
    created = {e["contactKey"]: datetime.fromisoformat(e["createdDate"].replace("Z", "+00:00"))
               for e in c.sb.entries()}
    assert timedelta(minutes=59) < created["new"] - created["old"] < timedelta(minutes=61)
    recent = (datetime.now(CST) - timedelta(minutes=10)).replace(tzinfo=None).isoformat(timespec="seconds")
    assert [i["contactKey"] for i in c.status(startDate=recent)["items"]] == ["new"]
