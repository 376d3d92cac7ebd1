"""Running an entry again (a notebook cell run twice) never enters its contacts a second time by accident.

Counted from the sandbox's own record: a refused run sends no batch at all.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from _sandbox_helpers import BATCH, fast_conn
from IPython.core.error import UsageError

import sfmc_nb
from sfmc_nb import enter_journey
from sfmc_nb.errors import AlreadyEnteredError, SfmcWarning, ValidationError

CLOCK = re.compile(r"at \d\d:\d\d:\d\d \((just now|\d+ seconds? ago)\)")


def contacts(n, prefix="r", start=0):
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:05d}" for i in range(start, start + n)],
                         "Email": [f"{prefix}{i}@example.com" for i in range(start, start + n)]})


def batch_posts(sb) -> int:
    """Batch entry requests the sandbox has received."""
    return sum(1 for r in sb.request_log if r["method"] == "POST" and r["path"] == "/" + BATCH)


def test_the_same_run_again_is_refused_before_anything_is_sent_and_again_enters_it(sandbox):
    conn, df = fast_conn(sandbox), contacts(250)
    first = enter_journey(df, sandbox.event_key, connection=conn)
    assert first.counts["queued"] == 250
    posts = batch_posts(sandbox)
    with pytest.raises(AlreadyEnteredError) as info:
        enter_journey(df, sandbox.event_key, connection=conn)
    text = str(info.value)
    assert "250 of these 250 contacts were already entered" in text and repr(sandbox.event_key) in text
    assert CLOCK.search(text) and "again=True" in text and "--again" in text and "journal" in text
    assert (info.value.entered, info.value.total) == (250, 250) and isinstance(info.value, ValidationError)
    assert batch_posts(sandbox) == posts and set(sandbox.entry_counts(sandbox.event_key).values()) == {1}

    again = enter_journey(df, sandbox.event_key, connection=conn, again=True)
    assert again.counts["queued"] == 250
    assert set(sandbox.entry_counts(sandbox.event_key).values()) == {2}
    with pytest.raises(AlreadyEnteredError, match="by 2 runs of this session, the latest at"):
        df.sfmc.enter_journey(sandbox.event_key, connection=conn)   # the accessor shares the guard
    with pytest.raises(ValidationError, match="again must be True or False"):
        enter_journey(df, sandbox.event_key, connection=conn, again="yes")
    assert set(sandbox.entry_counts(sandbox.event_key).values()) == {2}


def test_any_overlap_is_refused_naming_how_many_and_new_contacts_enter(sandbox):
    conn = fast_conn(sandbox)
    enter_journey(contacts(5), sandbox.event_key, connection=conn)
    overlapping = contacts(10, start=3)   # r-00003 and r-00004 were entered above
    with pytest.raises(AlreadyEnteredError, match="2 of these 10 contacts were already entered") as info:
        overlapping.sfmc.enter_journey(sandbox.event_key, connection=conn)
    assert info.value.entered == 2
    by_url = sfmc_nb.connect(auth_base_url=sandbox.auth_base_url, client_id=sandbox.client_id,
                             client_secret=sandbox.client_secret, set_default=False)
    with pytest.raises(AlreadyEnteredError, match="2 of these 10"):   # the same tenant, however connected
        enter_journey(overlapping, sandbox.event_key, connection=by_url)
    by_url.close()
    assert "r-00005" not in sandbox.entry_counts(sandbox.event_key)
    fresh = enter_journey(contacts(7, start=5), sandbox.event_key, connection=conn)   # no contact in common
    assert fresh.counts["queued"] == 7
    assert sandbox.entry_counts(sandbox.event_key) == {f"r-{i:05d}": 1 for i in range(12)}


def test_dry_runs_are_never_refused_nor_remembered(sandbox):
    conn, df = fast_conn(sandbox), contacts(3)
    enter_journey(df, sandbox.event_key, connection=conn, dry_run=True)
    res = enter_journey(df, sandbox.event_key, connection=conn)        # the dry run entered nothing
    assert res.counts["queued"] == 3
    check = enter_journey(df, sandbox.event_key, connection=conn, dry_run=True)
    assert check.dry_run and check.preview
    assert sandbox.entry_counts(sandbox.event_key) == {"r-00000": 1, "r-00001": 1, "r-00002": 1}


def test_only_contacts_entered_count_and_only_for_the_same_event_and_tenant(sandbox):
    conn, df = fast_conn(sandbox), contacts(3)
    df.loc[1, "Email"] = "not-an-email"          # answered not queued: not entered
    first = enter_journey(df, sandbox.event_key, data=["Email"], connection=conn)
    assert first.counts["queued"] == 2 and first.counts["not_queued"] == 1
    fixed = pd.DataFrame({"SubscriberKey": ["r-00001"], "Email": ["fixed@example.com"]})
    assert enter_journey(fixed, sandbox.event_key, connection=conn).counts["queued"] == 1

    with sfmc_nb.sandbox.start(seed=1) as other:           # another tenant: its own record
        other_conn = fast_conn(other)
        assert enter_journey(df, other.event_key, connection=other_conn, data=["Email"]).counts["queued"] == 2
        other_conn.close()
    nothing = contacts(2, prefix="none")
    nothing["Email"] = "not-an-email"
    enter_journey(nothing, sandbox.event_key, data=["Email"], connection=conn)   # queued nothing: nothing to refuse
    nothing["Email"] = "ok@example.com"
    assert enter_journey(nothing, sandbox.event_key, data=["Email"], connection=conn).counts["queued"] == 2
    assert sandbox.entry_counts(sandbox.event_key) == {"r-00000": 1, "r-00001": 1, "r-00002": 1,
                                                       "none-00000": 1, "none-00001": 1}


def test_a_run_resumed_with_its_journal_is_not_refused_but_a_new_journal_is(sandbox, tmp_path):
    conn, df = fast_conn(sandbox), contacts(1000)
    journal = tmp_path / "run.jsonl"

    def interrupt(event):
        if event.kind == "batch" and event.batches_done == 3:
            raise KeyboardInterrupt

    first = enter_journey(df, sandbox.event_key, connection=conn, journal=journal, progress=interrupt, concurrency=2)
    assert first.interrupted and 0 < first.counts["queued"] < 1000
    with pytest.warns(SfmcWarning, match="resumed from"):
        rest = enter_journey(df, sandbox.event_key, connection=conn, journal=str(journal))
    assert rest.counts["queued"] == 1000
    assert sandbox.entry_counts(sandbox.event_key) == dict.fromkeys(df["SubscriberKey"], 1)
    with pytest.raises(AlreadyEnteredError, match="1,000 of these 1,000 contacts"):
        enter_journey(df, sandbox.event_key, connection=conn, journal=tmp_path / "new.jsonl")
    assert sandbox.entry_counts(sandbox.event_key).total() == 1000


def test_what_a_retry_enters_is_remembered_too(sandbox):
    conn, df = fast_conn(sandbox), contacts(150)
    sandbox.inject("500", count=6)        # the first batch fails every attempt
    res = enter_journey(df, sandbox.event_key, connection=conn, concurrency=1, landing_horizon=0.1)
    assert res.counts["failed"] == 100
    failed_first = df.iloc[:100]
    res.retry()
    assert res.counts["queued"] == 150
    with pytest.raises(AlreadyEnteredError, match="100 of these 100 contacts"):
        enter_journey(failed_first, sandbox.event_key, connection=conn)
    assert sandbox.entry_counts(sandbox.event_key) == dict.fromkeys(df["SubscriberKey"], 1)


def test_a_stream_and_a_dataframe_share_the_guard(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    path = tmp_path / "contacts.csv"
    contacts(6).to_csv(path, index=False)
    from_file = enter_journey(str(path), sandbox.event_key, connection=conn, chunk_rows=2)
    assert from_file.counts["queued"] == 6
    posts = batch_posts(sandbox)
    with pytest.raises(AlreadyEnteredError, match="6 of these 6 contacts"):
        enter_journey(contacts(6), sandbox.event_key, connection=conn)
    with pytest.raises(AlreadyEnteredError, match="2 of these 2 contacts in the input's first chunk"):
        enter_journey(str(path), sandbox.event_key, connection=conn, chunk_rows=2)   # the first chunk refuses it
    assert batch_posts(sandbox) == posts

    # entered after the first chunk was: the later chunk's rows already entered are skipped with the reason
    longer = pd.concat([contacts(4, start=10), contacts(3, start=4)], ignore_index=True)
    with pytest.warns(SfmcWarning, match="2 rows of chunk 1 hold a contact an earlier run"):
        res = enter_journey(iter([longer.iloc[:4], longer.iloc[4:]]), sandbox.event_key, connection=conn)
    frame = res.to_frame()
    assert list(frame["status"]) == ["queued"] * 4 + ["skipped", "skipped", "queued"]
    assert frame["message"].iloc[4].startswith("entered by an earlier run")
    counts = sandbox.entry_counts(sandbox.event_key)
    assert counts == {**{f"r-{i:05d}": 1 for i in range(7)}, **{f"r-{i:05d}": 1 for i in range(10, 14)}}


def test_rerunning_a_magic_cell_is_refused_and_again_enters(sandbox_shell, sandbox):
    ip, ev = sandbox_shell, sandbox.event_key
    body = "SubscriberKey,Email\nm-1,m1@example.com\nm-2,m2@example.com\n"
    ip.run_cell_magic("journey_enter", f"res --event {ev}", body)
    assert ip.user_ns["res"].counts["queued"] == 2
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("journey_enter", f"res2 --event {ev}", body)
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert "2 of these 2 contacts were already entered" in str(info.value) and "--again" in str(info.value)
    assert "res2" not in ip.user_ns and sandbox.entry_counts(ev) == {"m-1": 1, "m-2": 1}

    ip.user_ns["df"] = pd.DataFrame({"SubscriberKey": ["m-2", "m-3"]})
    with pytest.raises(UsageError, match="1 of these 2 contacts was already entered"):
        ip.run_line_magic("journey_enter", f"--from df --event {ev}")
    ip.run_cell_magic("journey_enter", f"--event {ev} --dry-run", body)   # a dry run is never refused
    ip.run_cell_magic("journey_enter", f"res3 --event {ev} --again", body)
    assert ip.user_ns["res3"].counts["queued"] == 2
    assert sandbox.entry_counts(ev) == {"m-1": 2, "m-2": 2}


def test_a_stream_resumed_with_its_journal_is_not_refused(sandbox, tmp_path):
    conn, path, journal = fast_conn(sandbox), tmp_path / "contacts.csv", tmp_path / "stream.jsonl"
    contacts(600).to_csv(path, index=False)

    def interrupt(event):
        if event.kind == "batch" and event.batches_done == 2:
            raise KeyboardInterrupt

    with pytest.warns(SfmcWarning, match="the stream stopped"):
        first = enter_journey(str(path), sandbox.event_key, connection=conn, journal=journal, chunk_rows=200,
                              progress=interrupt, concurrency=1)
    assert first.interrupted and 0 < first.counts["queued"] < 600
    with pytest.warns(SfmcWarning, match="resumed from"):
        rest = enter_journey(str(path), sandbox.event_key, connection=conn, journal=journal, chunk_rows=200)
    assert rest.counts["queued"] == 600
    assert sandbox.entry_counts(sandbox.event_key) == {f"r-{i:05d}": 1 for i in range(600)}
    with pytest.raises(AlreadyEnteredError, match="in the input's first chunk"):   # no journal: refused
        enter_journey(str(path), sandbox.event_key, connection=conn, chunk_rows=200)
    assert sandbox.entry_counts(sandbox.event_key).total() == 600
