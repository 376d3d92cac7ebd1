"""What a run sends and says before and around sending: the one ``data=`` default, every option checked before
anything happens, warnings as Python warnings (once each), and progress that calls unsent rows pending.

Everything is asserted against the sandbox over real HTTP: its request log and its own record of entries.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _sandbox_helpers import fast_conn

import sfmc_nb
from sfmc_nb import SfmcWarning, enter_journey
from sfmc_nb.errors import ValidationError

# The welcome event's entry data extension has SubscriberKey, Email, FirstName, LastName, City, Points,
# SignupDate and IsVip; "Segment" and "Notes" are not fields of it.
FRAME = pd.DataFrame({
    "SubscriberKey": ["00101", "00102", "00103"],
    "Email": ["a@example.com", "b@example.com", "c@example.com"],
    "Segment": ["gold", "silver", "gold"],
    "City": ["Oslo", "Lima", "Pune"],
    "Notes": ["x", "y", "z"],
})


def sent_data(sb) -> dict[str, dict]:
    return {e["contactKey"]: e["data"] for e in sb.entries(sb.event_key)}


# --------------------------------------------------------------------------- one default for data=


def test_auto_sends_the_columns_that_are_fields_with_one_warning_naming_the_rest(sandbox):
    with pytest.warns(SfmcWarning) as caught:
        res = enter_journey(FRAME, sandbox.event_key, connection=fast_conn(sandbox))
    assert res.counts["queued"] == 3
    assert sent_data(sandbox)["00101"] == {"Email": "a@example.com", "City": "Oslo"}
    auto = [str(w.message) for w in caught if "left out" in str(w.message)]
    assert len(auto) == 1 and "'Segment'" in auto[0] and "'Notes'" in auto[0] and "not fields" in auto[0]
    assert auto[0] in res.warnings


def test_the_python_api_and_the_magic_send_the_same_data_fields(sandbox, shell, monkeypatch):
    conn = fast_conn(sandbox)
    with pytest.warns(SfmcWarning):
        FRAME.sfmc.enter_journey(sandbox.event_key, connection=conn)
    by_python = sent_data(sandbox)

    other = sfmc_nb.sandbox.start(seed=1)
    try:
        monkeypatch.setenv("SFMC_CLIENT_SECRET", other.client_secret)
        shell.run_line_magic("load_ext", "sfmc_nb")
        shell.run_line_magic("sfmc_auth", f"--auth-base-url {other.auth_base_url} --client-id {other.client_id}")
        shell.run_line_magic("config", "SfmcMagics.display = 'text'")
        shell.run_line_magic("config", "SfmcMagics.progress = False")
        shell.user_ns["frame"] = FRAME
        shell.run_line_magic("journey_enter", f"res --event {other.event_key} --from frame")
        body = FRAME.to_csv(index=False)
        shell.run_cell_magic("journey_enter", f"cell --event {other.event_key}", body.replace("0010", "0020"))
        by_magic = sent_data(other)
        assert "left out" in " ".join(shell.user_ns["res"].warnings)
    finally:
        sfmc_nb.default_connection().close()
        sfmc_nb.set_default_connection(None)
        other.stop()
    assert by_python == {k: v for k, v in by_magic.items() if k.startswith("0010")}
    assert [by_magic[k.replace("0010", "0020")] for k in by_python] == list(by_python.values())


def test_without_validation_auto_sends_every_column_but_the_key_with_a_warning(sandbox):
    df = FRAME[["SubscriberKey", "Email", "City"]]
    with pytest.warns(SfmcWarning, match="every column but the key: 'Email', 'City'"):
        enter_journey(df, sandbox.event_key, connection=fast_conn(sandbox), validate=False)
    assert sent_data(sandbox)["00102"] == {"Email": "b@example.com", "City": "Lima"}


def test_explicit_lists_and_all_are_as_before(sandbox):
    conn = fast_conn(sandbox)
    enter_journey(FRAME.head(1), sandbox.event_key, data=["City"], connection=conn)
    assert sent_data(sandbox)["00101"] == {"City": "Oslo"}
    with pytest.raises(ValidationError, match=r"\['Segment', 'Notes'\] are not fields"):
        enter_journey(FRAME, sandbox.event_key, data="all", connection=conn)


def test_a_data_column_named_eventInstanceId_is_refused_up_front(sandbox):
    conn = fast_conn(sandbox)
    df = FRAME.assign(eventInstanceId="e-1")
    before = len(sandbox.request_log)
    for data in (["Email", "eventInstanceId"], "all"):
        with pytest.raises(ValidationError, match="eventInstanceId.*reserves"):
            enter_journey(df, sandbox.event_key, data=data, connection=conn)
    assert len(sandbox.request_log) == before
    with pytest.warns(SfmcWarning, match="left out 'eventInstanceId': field names Marketing Cloud reserves"):
        enter_journey(df[["SubscriberKey", "Email", "eventInstanceId"]], sandbox.event_key, connection=conn)
    assert sent_data(sandbox)["00101"] == {"Email": "a@example.com"}


# --------------------------------------------------------------------------- every option checked first


BAD_OPTIONS = [
    ({"batch_size": 0}, "batch_size must be a whole number from 1 to 100"),
    ({"batch_size": 101}, "batch_size"),
    ({"batch_size": 2.5}, "batch_size"),
    ({"batch_size": True}, "batch_size"),
    ({"concurrency": 2.7}, "concurrency must be a whole number"),
    ({"concurrency": 0}, "concurrency must be from 1"),
    ({"concurrency": "4"}, "concurrency"),
    ({"journal": ""}, "journal is empty"),
    ({"journal": "   "}, "journal is empty"),
    ({"journal": 3}, "journal must be a file path"),
    ({"na": "drop"}, "na must be one of 'null', 'omit'"),
    ({"duplicates": "first"}, "duplicates must be one of"),
    ({"float_keys": None}, "float_keys must be one of"),
    ({"max_seconds": 0}, "max_seconds must be a number of seconds above 0"),
    ({"max_seconds": float("nan")}, "max_seconds"),
    ({"max_seconds": "300"}, "max_seconds"),
    ({"progress": "yes"}, "progress must be True, False, None or a callable"),
    ({"dry_run": "no"}, "dry_run must be True or False"),
    ({"validate": 1}, "validate must be True or False"),
    ({"connection": "conn"}, "connection must be a sfmc_nb.Connection"),
    ({"contact_key": "Nope"}, "contact key column 'Nope' not found"),
    ({"data": ["Email", "Emial"]}, r"column 'Emial' not found \(did you mean 'Email'\?\)"),
    ({"data": [["Email"]]}, "data= takes column names"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS, ids=[str(o) for o, _ in BAD_OPTIONS])
def test_each_bad_option_is_refused_before_any_request_or_journal_line(sandbox, tmp_path, options, message):
    conn = fast_conn(sandbox)
    journal = tmp_path / "run.jsonl"
    kwargs = {"connection": conn, "journal": journal, **options}
    before = len(sandbox.request_log)
    with pytest.raises(ValidationError, match=message):
        enter_journey(FRAME, sandbox.event_key, **kwargs)
    assert len(sandbox.request_log) == before, "a request was made before the refusal"
    assert not journal.exists(), "the journal was started before the refusal"


def test_a_journal_that_is_a_folder_or_under_a_file_is_refused_first(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    (tmp_path / "afile").write_text("x")
    before = len(sandbox.request_log)
    with pytest.raises(ValidationError, match="is a folder"):
        enter_journey(FRAME, sandbox.event_key, connection=conn, journal=tmp_path)
    with pytest.raises(ValidationError, match="is a file, not a folder"):
        enter_journey(FRAME, sandbox.event_key, connection=conn, journal=tmp_path / "afile" / "run.jsonl")
    assert len(sandbox.request_log) == before


def test_whole_float_concurrency_and_numpy_sizes_are_accepted(sandbox):
    res = enter_journey(FRAME, sandbox.event_key, data=["Email"], connection=fast_conn(sandbox),
                        concurrency=2.0, batch_size=np.int64(2), max_seconds=np.float32(30))
    assert res.counts["queued"] == 3 and len(res.batches) == 2


# --------------------------------------------------------------------------- warnings


def test_each_warning_arrives_once_as_a_python_warning_and_stays_in_the_result(sandbox):
    df = pd.DataFrame({"SubscriberKey": [1001.0, 1001.0, 1002.0], "Email": ["a@x.org", "b@x.org", "c@x.org"]})
    with pytest.warns(SfmcWarning) as caught:
        res = enter_journey(df, sandbox.event_key, connection=fast_conn(sandbox), validate=False)
    texts = [str(w.message) for w in caught if issubclass(w.category, SfmcWarning)]
    assert sorted(texts) == sorted(res.warnings) and len(texts) == len(set(texts)) == 3
    assert any("stored as floats" in t for t in texts) and any("repeat the contact key" in t for t in texts)
    assert all(Path(w.filename).name == "test_run_options.py" for w in caught), "warnings point at the caller"


def test_an_error_filter_stops_the_run_before_anything_is_sent(sandbox):
    df = pd.DataFrame({"SubscriberKey": ["k1", "k1"], "Email": ["a@x.org", "b@x.org"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", SfmcWarning)
        with pytest.raises(SfmcWarning, match="repeat the contact key"):
            enter_journey(df, sandbox.event_key, connection=fast_conn(sandbox))
    assert sandbox.entries() == []


def test_a_resumed_run_warns_once(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    journal = tmp_path / "run.jsonl"
    enter_journey(FRAME, sandbox.event_key, data=["Email"], connection=conn, journal=journal)
    with pytest.warns(SfmcWarning) as caught:
        enter_journey(FRAME, sandbox.event_key, data=["Email"], connection=conn, journal=journal)
    resumed = [w for w in caught if "resumed from" in str(w.message)]
    assert len(resumed) == 1 and "3 rows already queued" in str(resumed[0].message)


def test_the_text_repr_shows_whole_warnings_wrapped():
    from sfmc_nb.results import EntryResult

    res = EntryResult("E", pd.RangeIndex(1), ["k"])
    res.set_row(0, "queued", event_instance_id="e-1")
    long = "contact key column 'SubscriberKey' holds numbers stored as floats; " + "the bad value is 'ZZ-END' " * 5
    res.warnings.append(long)
    text = repr(res)
    assert "'ZZ-END'" in text.splitlines()[-1] and all(len(line) <= 110 for line in text.splitlines()[1:])
    assert " ".join(line.strip().removeprefix("warning: ") for line in text.splitlines()[1:]) == long.strip()


# --------------------------------------------------------------------------- progress: pending, not skipped


def test_progress_counts_unsent_rows_as_pending_and_skipped_only_refused_ones(sandbox):
    df = pd.DataFrame({"SubscriberKey": [f"p{i}" for i in range(250)] + ["", None],
                       "Email": [f"p{i}@example.com" for i in range(252)]})
    events = []
    enter_journey(df, sandbox.event_key, connection=fast_conn(sandbox), data=["Email"], concurrency=1,
                  progress=events.append)
    start, done = events[0], events[-1]
    assert start.kind == "start" and start.counts["pending"] == 250 and start.counts["skipped"] == 2
    batches = [e for e in events if e.kind == "batch"]
    assert [e.counts["pending"] for e in batches] == [150, 50, 0]
    assert all(e.counts["skipped"] == 2 for e in events)
    assert all(sum(e.counts.values()) == 252 for e in events)
    assert done.kind == "done" and done.counts["queued"] == 250 and done.counts["pending"] == 0


def test_the_text_progress_line_says_pending(sandbox):
    import io

    out = io.StringIO()
    enter_journey(FRAME, sandbox.event_key, data=["Email"], connection=fast_conn(sandbox),
                  progress=sfmc_nb.TextProgress(out, every=0))
    lines = out.getvalue().splitlines()
    assert lines[0] == "[sfmc_nb] start: batch 0/1; 3 pending" and "skipped" not in out.getvalue()
