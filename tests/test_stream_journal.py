"""A journal knows which kind of run wrote it, and a stream's journal knows its chunks' journals: a journal of the
other kind, or a chunk journal that is missing or another run's, is refused before anything is sent or written,
never taken as "nothing sent". Every count of entries is the sandbox's own."""

from __future__ import annotations

import json
import shutil
import stat

import pandas as pd
import pytest
from test_stream import chunks, fast_conn

from sfmc_nb import enter_journey
from sfmc_nb.engine import reentry
from sfmc_nb.engine.sources import fingerprint, iter_chunks
from sfmc_nb.engine.stream import StreamJournal
from sfmc_nb.errors import SfmcWarning, ValidationError


def keys_only(n: int, prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:05d}" for i in range(n)]})


def enter(source, sandbox, journal, **options):
    return enter_journey(source, sandbox.event_key, data=[], connection=fast_conn(sandbox), validate=False,
                         journal=journal, **options)


def assert_each_once(sandbox, keys) -> None:
    counts = sandbox.entry_counts(sandbox.event_key)
    assert sum(counts.values()) == len(keys) and all(counts[k] == 1 for k in keys), "a contact entered twice"


def calls(sandbox) -> int:
    """Requests the sandbox has seen besides tokens (each run here logs in with a connection of its own)."""
    return sum(1 for r in sandbox.request_log if r["path"] != "/v2/token")


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_streams_journal_is_refused_by_a_one_dataframe_run_and_left_as_it_was(sandbox, tmp_path):
    df = keys_only(250, "a")
    path, journal = tmp_path / "in.csv", tmp_path / "run.jsonl"
    df.to_csv(path, index=False)
    enter(path, sandbox, journal)
    before, requests = journal.read_bytes(), calls(sandbox)
    with pytest.raises(ValidationError, match=r"run.jsonl is the journal of a stream .* not of a one-DataFrame run: "
                                              r"use a new journal file"):
        enter(df, sandbox, journal)
    assert calls(sandbox) == requests, "a request was made before the refusal"
    assert journal.read_bytes() == before
    assert_each_once(sandbox, df["SubscriberKey"])
    with pytest.warns(SfmcWarning, match="resumed from"):
        again = enter(path, sandbox, journal)   # the journal still resumes the stream: nothing sent again
    assert again.counts["queued"] == 250
    assert_each_once(sandbox, df["SubscriberKey"])


def test_a_one_dataframe_journal_or_a_chunk_journal_is_refused_by_the_other_kind_untouched(sandbox, tmp_path):
    df = keys_only(30, "b")
    one = tmp_path / "one.jsonl"
    enter(df, sandbox, one)
    with open(one, "ab") as out:
        out.write(b'{"kind": "sent", "ba')   # a line cut short: a run that opened the journal would cut it off
    before, requests = one.read_bytes(), calls(sandbox)
    with pytest.raises(ValidationError, match="is the journal of a one-DataFrame run, not of a stream"):
        enter([df], sandbox, one)
    assert one.read_bytes() == before and calls(sandbox) == requests

    stream = tmp_path / "stream.jsonl"
    enter(chunks(keys_only(60, "c"), 30), sandbox, stream)
    part = tmp_path / "stream.jsonl.chunks" / "000001.jsonl"
    before, requests = part.read_bytes(), calls(sandbox)
    for source in (keys_only(60, "c").iloc[30:], [keys_only(60, "c").iloc[30:]]):
        with pytest.raises(ValidationError, match=r"000001.jsonl is the journal of chunk 1 of the stream journal "
                                                  r".*stream.jsonl'.* pass journal="):
            enter(source, sandbox, part)
    assert part.read_bytes() == before and calls(sandbox) == requests
    assert_each_once(sandbox, [*df["SubscriberKey"], *keys_only(60, "c")["SubscriberKey"]])


def test_a_missing_chunk_journal_is_refused_naming_it(sandbox, tmp_path):
    df = keys_only(3000, "m")
    path, journal = tmp_path / "in.csv", tmp_path / "run.jsonl"
    df.to_csv(path, index=False)
    enter(path, sandbox, journal, chunk_rows=1000)
    folder = tmp_path / "run.jsonl.chunks"
    assert sorted(p.name for p in folder.iterdir()) == ["000000.jsonl", "000001.jsonl", "000002.jsonl"]
    requests = calls(sandbox)

    (folder / "000001.jsonl").rename(tmp_path / "aside.jsonl")
    with pytest.raises(ValidationError, match=r"records chunk 1, but that chunk's journal .*000001.jsonl is missing"
                                              r".* Put it back"):
        enter(path, sandbox, journal, chunk_rows=1000)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(journal, elsewhere / "run.jsonl")   # the journal copied without its chunk journals
    with pytest.raises(ValidationError, match=r"elsewhere/run.jsonl.chunks/000000.jsonl is missing"):
        enter(path, sandbox, elsewhere / "run.jsonl", chunk_rows=1000)
    assert calls(sandbox) == requests, "a request was made before the refusal"
    assert_each_once(sandbox, df["SubscriberKey"])

    (tmp_path / "aside.jsonl").rename(folder / "000001.jsonl")   # put back: the resume sends nothing
    with pytest.warns(SfmcWarning, match="resumed from"):
        again = enter(path, sandbox, journal, chunk_rows=1000)
    assert again.counts["queued"] == 3000
    assert_each_once(sandbox, df["SubscriberKey"])


def test_a_chunk_journal_of_another_run_is_refused(sandbox, tmp_path):
    ours, theirs = keys_only(200, "o"), keys_only(200, "t")
    enter(chunks(ours, 100), sandbox, tmp_path / "ours.jsonl")
    enter(chunks(theirs, 100), sandbox, tmp_path / "theirs.jsonl")
    shutil.copy(tmp_path / "theirs.jsonl.chunks" / "000001.jsonl", tmp_path / "ours.jsonl.chunks" / "000001.jsonl")
    requests = calls(sandbox)
    with pytest.raises(ValidationError, match=r"000001.jsonl is not the journal of chunk 1 of .*ours.jsonl \(it "
                                              r"belongs to another run"):
        enter(chunks(ours, 100), sandbox, tmp_path / "ours.jsonl")
    assert calls(sandbox) == requests
    assert_each_once(sandbox, [*ours["SubscriberKey"], *theirs["SubscriberKey"]])


def test_a_chunk_journal_in_the_way_of_a_new_chunk_is_refused(sandbox, tmp_path):
    enter(chunks(keys_only(100, "w"), 100), sandbox, tmp_path / "other.jsonl")
    (tmp_path / "run.jsonl.chunks").mkdir()
    shutil.copy(tmp_path / "other.jsonl.chunks" / "000000.jsonl", tmp_path / "run.jsonl.chunks" / "000000.jsonl")
    with pytest.raises(ValidationError, match=r"000000.jsonl is in the way: the journal .*run.jsonl has no chunk 0"):
        enter(chunks(keys_only(100, "x"), 100), sandbox, tmp_path / "run.jsonl")
    assert not any(k.startswith("x-") for k in sandbox.entry_counts(sandbox.event_key))


def test_a_stream_journal_with_chunk_journals_beside_it_still_resumes(sandbox, tmp_path):
    """The layout of journals written before chunk journals had a folder: ``<journal>.chunk000000`` beside the
    stream journal, whose first record has no id; a chunk journal then was a one-DataFrame run's journal."""
    df = keys_only(200, "l")
    first, second = df.iloc[:100], df.iloc[100:]
    journal = tmp_path / "old.jsonl"
    enter(first, sandbox, tmp_path / "old.jsonl.chunk000000")   # chunk 0 entered, its journal as they were then
    reentry.forget()   # that run was an earlier version's, in an earlier kernel
    recorded = next(iter_chunks([first]))
    journal.write_text(json.dumps({"kind": "stream", "event_key": sandbox.event_key, "time": 1.0}) + "\n" +
                       json.dumps({"kind": "chunk", "chunk": 0, "rows": 100, "fingerprint": fingerprint(recorded)})
                       + "\n")
    with pytest.warns(SfmcWarning, match="resumed from"):
        res = enter([first, second], sandbox, journal)
    assert res.counts["queued"] == 200 and (tmp_path / "old.jsonl.chunk000001").is_file()
    assert_each_once(sandbox, df["SubscriberKey"])
    (tmp_path / "old.jsonl.chunk000001").unlink()
    with pytest.raises(ValidationError, match=r"old.jsonl.chunk000001 is missing"):
        enter([first, second], sandbox, journal)
    assert_each_once(sandbox, df["SubscriberKey"])


def test_journals_and_chunk_journals_are_private(sandbox, tmp_path):
    one = tmp_path / "new" / "deeper" / "one.jsonl"
    enter(keys_only(10, "p"), sandbox, one)
    assert mode(one) == 0o600 and mode(one.parent) == 0o700 and mode(one.parent.parent) == 0o700
    stream = tmp_path / "stream.jsonl"
    enter(chunks(keys_only(20, "q"), 10), sandbox, stream)
    folder = tmp_path / "stream.jsonl.chunks"
    assert mode(stream) == 0o600 and mode(folder) == 0o700
    assert [mode(p) for p in sorted(folder.iterdir())] == [0o600, 0o600]


def test_a_chunk_journal_made_just_before_a_run_stopped_is_taken_up(sandbox, tmp_path):
    """A run stopped between making a chunk's journal and recording the chunk: the journal holds its first
    record only (nothing was sent for it), so the resume takes it up and enters the chunk once."""
    df = keys_only(100, "u")
    journal = tmp_path / "run.jsonl"
    StreamJournal(journal, sandbox.event_key)._start_part(0, 100)   # stopped right after making it
    res = enter([df], sandbox, journal)
    assert res.counts["queued"] == 100
    assert_each_once(sandbox, df["SubscriberKey"])
    assert [json.loads(line)["kind"] for line in journal.read_text().splitlines()] == ["stream", "chunk"]
    part = [json.loads(line)["kind"] for line in (tmp_path / "run.jsonl.chunks" / "000000.jsonl").open()]
    assert part == ["run", "sent", "answer"]
