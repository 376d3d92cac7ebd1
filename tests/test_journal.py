"""The run journal refuses what it did not write: every bad line is a ValidationError naming the file and the
line; only the last line of a run killed while writing it is skipped, with a warning."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import sfmc_nb
from sfmc_nb import enter_journey
from sfmc_nb.engine import Journal, replay
from sfmc_nb.errors import SfmcWarning, ValidationError

KEYS = ["a", "b", "c"]
RUN = {"kind": "run", "event_key": "E", "rows": 3, "contact_key": "SubscriberKey", "time": 1.0}
SENT = {"kind": "sent", "run": 7, "batch": 0, "attempt": 1, "positions": [0, 1, 2], "keys": KEYS, "time": 2.0}
ANSWER = {"kind": "answer", "run": 7, "batch": 0, "attempt": 1, "http": 202, "requestId": "r",
          "rows": [[0, "queued", "e0", "r"], [1, "queued", "e1", "r"], [2, "not_queued", None, "r"]]}


def write(path, *lines: bytes | dict | str) -> None:
    out = b""
    for line in lines:
        if isinstance(line, dict):
            line = json.dumps(line)
        out += line if isinstance(line, bytes) else line.encode() + b"\n"
    path.write_bytes(out)


def test_a_journal_this_version_wrote_reads_back(tmp_path):
    path = tmp_path / "j.jsonl"
    write(path, RUN, SENT, ANSWER)
    state = replay(Journal.read(path), "E", KEYS)
    assert set(state.queued) == {0, 1} and not state.in_doubt and state.sent_at == {0: 2.0, 1: 2.0, 2: 2.0}


@pytest.mark.parametrize("line, what", [
    ("null", "a record must be a JSON object, got null"),
    ("42", "a record must be a JSON object, got 42"),
    ('["sent"]', "a record must be a JSON object"),
    ('{"kind": "party"}', "unknown record kind 'party'"),
    (json.dumps({**SENT, "positions": "0,1,2"}), "'sent' record needs 'positions'"),
    (json.dumps({**SENT, "time": "yesterday"}), "'sent' record needs 'time'"),
    (json.dumps({**SENT, "batch": True}), "'sent' record needs 'batch'"),
    (json.dumps({**SENT, "keys": [1, 2, 3]}), "'sent' record needs 'keys'"),
    (json.dumps({**SENT, "positions": [0, -1, 2]}), "position must be a row position"),
    (json.dumps({**SENT, "positions": [0, 1, 3]}), "position 3 is out of range for a run of 3 rows"),
    (json.dumps({**SENT, "positions": [0, 1.5, 2]}), "position must be a row position"),
    (json.dumps({**SENT, "positions": [0, 1]}), "differ in length"),
    (json.dumps({**ANSWER, "rows": [[0, "queued", "e0"]]}), "each of 'rows' must be"),
    (json.dumps({**ANSWER, "rows": [[-4, "queued", "e0", "r"]]}), "a row's position must be a row position"),
    (json.dumps({**ANSWER, "rows": [[0, 1, "e0", "r"]]}), "must be text"),
    (json.dumps({**ANSWER, "rows": {"0": "queued"}}), "'rows' must be a list"),
    (json.dumps({"kind": "reconciled", "rows": [], "not_found": [99]}), "position 99 is out of range"),
    ('{"kind": "sent", "time": NaN}', "not valid JSON"),
])
def test_a_bad_line_is_refused_with_the_file_and_its_line(tmp_path, line, what):
    path = tmp_path / "bad.jsonl"
    write(path, RUN, line, ANSWER)
    with pytest.raises(ValidationError) as info:
        Journal.read(path)
    message = str(info.value)
    assert f"journal {path}, line 2: " in message and what in message and "new journal file" in message


def test_invalid_utf8_and_a_missing_run_record_are_refused(tmp_path):
    path = tmp_path / "bytes.jsonl"
    write(path, RUN, b'{"kind": "sent", "keys": ["\xff\xfe"]}\n', ANSWER)
    with pytest.raises(ValidationError, match=r"line 2: not UTF-8 text"):
        Journal.read(path)
    write(path, SENT, ANSWER)
    with pytest.raises(ValidationError, match=r"line 1: the first record must be the 'run' record"):
        Journal.read(path)
    write(path, RUN, '{"kind": "sent", "batch": ', ANSWER)         # cut short, but not the last line
    with pytest.raises(ValidationError, match=r"line 2: not valid JSON"):
        Journal.read(path)


@pytest.mark.parametrize("torn", [b'{"kind": "answer", "run": 7, "ba', b'{"kind": "sent", "keys": ["\xc3'])
def test_the_last_line_cut_short_by_a_crash_is_skipped_with_a_warning(tmp_path, torn):
    path = tmp_path / "torn.jsonl"
    write(path, RUN, SENT, torn)                                   # no newline after it: the write was cut
    notes = []
    records = Journal.read(path, notes=notes)
    assert [r["kind"] for r in records] == ["run", "sent"]
    assert notes == [f"journal {path}: line 3 was cut short (the run stopped while writing it) and is skipped"]


def test_a_resume_refuses_a_bad_journal_and_reports_a_torn_line(sandbox, tmp_path):
    conn = sfmc_nb.connect(sandbox=sandbox, set_default=False)
    df = pd.DataFrame({"SubscriberKey": KEYS})
    path = tmp_path / "run.jsonl"
    write(path, {**RUN, "event_key": sandbox.event_key}, "42")
    with pytest.raises(ValidationError, match="line 2: a record must be a JSON object, got 42"):
        enter_journey(df, sandbox.event_key, connection=conn, journal=path, validate=False)
    assert sandbox.stats["batches_accepted"] == 0
    write(path, {**RUN, "event_key": sandbox.event_key}, b'{"kind": "se')
    with pytest.warns(SfmcWarning, match="line 2 was cut short"):
        res = enter_journey(df, sandbox.event_key, connection=conn, journal=path, validate=False)
    assert res.counts["queued"] == 3 and any("cut short" in w for w in res.warnings)
    assert Journal.read(path)[-1]["kind"] == "answer"             # the journal goes on after the torn line


@pytest.mark.parametrize("line", ["[" * 100_000 + "]" * 100_000,
                                  json.dumps({**ANSWER, "rows": [[0, "queued", "e0", "r"]]})[:-2]
                                  + ", " + "[" * 100_000 + "]" * 100_000 + "]}"])
def test_a_line_nested_too_deeply_is_refused_naming_it(tmp_path, line):
    path = tmp_path / "deep.jsonl"
    write(path, RUN, SENT, line, ANSWER)
    with pytest.raises(ValidationError, match=r"deep.jsonl, line 3: nested too deeply; .*new journal file"):
        Journal.read(path)


BAD_PATHS = [
    ("bad\0name.jsonl", "it holds a NUL character"),
    ("x" * 300 + ".jsonl", "File name too long"),
    ("d" * 300 + "/run.jsonl", "File name too long"),
    ("/proc/sfmc-nb-run.jsonl", ""),   # no file can be made there (the reason the system gives may vary)
]


@pytest.mark.parametrize("streamed", [False, True], ids=["dataframe", "stream"])
@pytest.mark.parametrize(("journal", "why"), BAD_PATHS, ids=["nul", "long-name", "long-folder", "proc"])
def test_a_journal_path_the_system_refuses_is_refused_before_any_request(sandbox, tmp_path, journal, why, streamed):
    conn = sfmc_nb.connect(sandbox=sandbox, set_default=False)
    df = pd.DataFrame({"SubscriberKey": KEYS})
    before = len(sandbox.request_log)
    with pytest.raises(ValidationError, match=rf"journal '.*' cannot be written \(.*{why}.*\): name a file"):
        enter_journey([df] if streamed else df, sandbox.event_key, connection=conn, journal=journal)
    assert len(sandbox.request_log) == before, "a request was made before the refusal"
    assert list(tmp_path.iterdir()) == [], "the check left a file or folder behind"


def test_a_journal_under_home_is_written_where_it_was_checked(sandbox, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    conn = sfmc_nb.connect(sandbox=sandbox, set_default=False)
    res = enter_journey(pd.DataFrame({"SubscriberKey": KEYS}), sandbox.event_key, connection=conn,
                        journal="~/runs/welcome.jsonl", validate=False)
    assert res.journal == str(home / "runs" / "welcome.jsonl")
    assert [r["kind"] for r in Journal.read(home / "runs" / "welcome.jsonl")] == ["run", "sent", "answer"]
    assert not (tmp_path / "~").exists()   # the working folder: nothing under a folder named '~'
