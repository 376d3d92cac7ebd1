"""Streamed input: files and iterables of DataFrames entered chunk by chunk, resumed from one journal."""

from __future__ import annotations

import gzip
import hashlib
import json

import pandas as pd
import pytest

import sfmc_nb
from sfmc_nb import enter_journey
from sfmc_nb.engine.seen import SeenKeys, digests
from sfmc_nb.engine.sources import fingerprint, iter_chunks
from sfmc_nb.errors import SfmcWarning, ValidationError


def contacts(n: int, prefix: str = "s") -> pd.DataFrame:
    return pd.DataFrame({
        "SubscriberKey": [f"{prefix}-{i:05d}" for i in range(n)],
        "Email": [f"{prefix}{i}@example.com" if i % 9 else "not-an-email" for i in range(n)],
        "FirstName": ["Ann", "Bo", None, "Cy"] * (n // 4) + ["Di"] * (n % 4),
    })


def fast_conn(sandbox):
    return sfmc_nb.connect(sandbox=sandbox, timeout=(2.0, 5.0), set_default=False)


def chunks(df: pd.DataFrame, size: int):
    for start in range(0, len(df), size):
        yield df.iloc[start:start + size]


def comparable(res, prefix: str) -> list[list]:
    """The per-row outcome without what differs from run to run (ids, request ids, batch numbers)."""
    frame = res.to_frame().drop(columns=["eventInstanceId", "requestId", "batch"])
    rows = [[None if pd.isna(v) else v for v in row] for row in frame.astype(object).values.tolist()]
    return [[label, row[0].replace(prefix, "k-"), *row[1:]] for label, row in zip(frame.index, rows, strict=True)]


def test_a_stream_gives_the_same_rows_as_one_dataframe(sandbox):
    conn = fast_conn(sandbox)
    whole = contacts(950, "one")
    one = enter_journey(whole, sandbox.event_key, data=["Email", "FirstName"], connection=conn)
    streamed_input = contacts(950, "two")
    streamed = enter_journey(chunks(streamed_input, 300), sandbox.event_key, data=["Email", "FirstName"],
                             connection=conn)
    assert len(streamed) == 950 and streamed.counts == one.counts and streamed.counts["not_queued"] > 0
    assert comparable(one, "one-") == comparable(streamed, "two-")
    assert list(streamed.to_frame().index) == list(range(950))
    assert streamed.summary["batches"] == 10   # 300 rows a chunk: 3 + 3 + 3 + 1 batches, numbered on
    assert sorted(set(streamed.batch)) == list(range(10))


def test_a_csv_file_is_read_as_text_in_chunks(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    path = tmp_path / "contacts.csv"
    pd.DataFrame({"SubscriberKey": [f"{i:06d}" for i in range(250)], "Email": [f"x{i}@e.com" for i in range(250)]}
                 ).to_csv(path, index=False)
    assert [len(c) for c in iter_chunks(path, 100)] == [100, 100, 50]
    assert next(iter_chunks(path, 100))["SubscriberKey"][0] == "000000"   # leading zeros kept
    res = enter_journey(path, sandbox.event_key, data=["Email"], connection=conn)
    assert res.counts["queued"] == 250 and res.contact_keys[0] == "000000"
    assert sandbox.entry_counts(sandbox.event_key)["000007"] == 1


def test_keys_repeated_across_chunks_are_found(sandbox):
    conn = fast_conn(sandbox)
    df = contacts(200, "d")
    repeated = pd.concat([df.iloc[:100], df.iloc[50:150]], ignore_index=True)
    res = enter_journey(chunks(repeated, 100), sandbox.event_key, data=["Email"], connection=conn,
                        duplicates="drop")
    assert res.counts["skipped"] == 50
    assert set(res.to_frame()["message"][res.to_frame()["status"] == "skipped"]) == {
        "duplicate of a row in an earlier chunk"}
    assert max(sandbox.entry_counts(sandbox.event_key).values()) == 1
    with pytest.warns(SfmcWarning, match="repeat a contact key of an earlier chunk"):
        kept = enter_journey(chunks(contacts(200, "k").iloc[[*range(100), *range(50, 100)]], 100),
                             sandbox.event_key, data=["Email"], connection=conn)
    assert any("repeat a contact key of an earlier chunk" in w for w in kept.warnings)


def test_a_resumed_stream_enters_nothing_twice(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    sandbox.configure(latency=0.01)
    journal = tmp_path / "stream.jsonl"
    df = contacts(1200, "r")

    def interrupt_in_second_chunk(event):   # a stream's progress counts batches over all its chunks
        if event.kind == "batch" and event.chunk == 1 and event.batches_done == 4 + 2:
            raise KeyboardInterrupt

    with pytest.warns(SfmcWarning, match="stream stopped at chunk 1"):
        first = enter_journey(chunks(df, 400), sandbox.event_key, data=["Email"], connection=conn, journal=journal,
                              progress=interrupt_in_second_chunk, concurrency=2)
    assert first.interrupted and 400 < first.counts["queued"] < 800
    assert any("stream stopped at chunk 1" in w for w in first.warnings)
    with pytest.warns(SfmcWarning, match="resumed from"):
        again = enter_journey(chunks(df, 400), sandbox.event_key, data=["Email"], connection=conn, journal=journal)
    entered = sandbox.entry_counts(sandbox.event_key)
    sendable = [k for k, e in zip(df["SubscriberKey"], df["Email"], strict=True) if e != "not-an-email"]
    assert all(entered[k] == 1 for k in sendable), "a contact was entered twice or not at all"
    assert again.counts["queued"] + again.counts["not_queued"] == 1200
    assert again.summary["batches"] < 12


def test_a_changed_input_is_refused_on_resume(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    journal = tmp_path / "stream.jsonl"
    path = tmp_path / "in.csv"
    contacts(300, "f").to_csv(path, index=False)
    enter_journey(path, sandbox.event_key, data=["Email"], connection=conn, journal=journal)
    changed = contacts(300, "f")
    changed.loc[5, "Email"] = "changed@example.com"
    changed.to_csv(path, index=False)
    before = sandbox.entry_counts(sandbox.event_key).total()
    with pytest.raises(ValidationError, match="input differs"):
        enter_journey(path, sandbox.event_key, data=["Email"], connection=conn, journal=journal)
    assert sandbox.entry_counts(sandbox.event_key).total() == before
    with pytest.raises(ValidationError, match="one-DataFrame run"):
        one = tmp_path / "one.jsonl"
        enter_journey(contacts(5, "o"), sandbox.event_key, data=["Email"], connection=conn, journal=one)
        enter_journey([contacts(5, "o")], sandbox.event_key, data=["Email"], connection=conn, journal=one)


def test_a_stream_result_can_be_retried(sandbox):
    conn = fast_conn(sandbox)
    df = contacts(600, "t")

    def interrupt(event):
        if event.kind == "batch" and event.batches_done == 1:
            raise KeyboardInterrupt

    with pytest.warns(SfmcWarning, match="stream stopped at chunk 0"):
        res = enter_journey(chunks(df, 300), sandbox.event_key, data=["Email"], connection=conn, progress=interrupt,
                            concurrency=1)
    assert res.interrupted and len(res) == 300
    res.retry(progress=None)   # the interrupting callback stays behind
    assert res.counts["queued"] + res.counts["not_queued"] == 300
    assert max(sandbox.entry_counts(sandbox.event_key).values()) == 1


def test_seen_keys_and_fingerprints():
    seen = SeenKeys()
    for start in range(0, 5000, 500):
        keys = [f"k{i}" for i in range(start, start + 500)]
        assert not seen.seen(digests(keys)).any()
        seen.add(digests(keys))
    assert seen.seen(digests(["k0", "k4999", "k5000"])).tolist() == [True, True, False]
    assert len(seen) == 5000
    a = contacts(10)
    assert fingerprint(a) == fingerprint(a.copy()) != fingerprint(contacts(10, "z"))
    with pytest.raises(ValidationError, match="not a pandas DataFrame"):
        list(iter_chunks([a, [1, 2]]))
    with pytest.raises(ValidationError, match="no such file"):
        list(iter_chunks("missing.csv"))


def test_chunk_rows_sets_how_a_file_is_read_and_is_checked(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    path, journal = tmp_path / "in.csv", tmp_path / "rows.jsonl"
    contacts(250, "c").to_csv(path, index=False)
    res = enter_journey(path, sandbox.event_key, data=["Email"], connection=conn, journal=journal, chunk_rows=100)
    assert len(res) == 250 and res.counts["queued"] + res.counts["not_queued"] == 250
    assert [line["rows"] for line in map(json.loads, journal.read_text().splitlines()) if "rows" in line] == \
        [100, 100, 50]
    for bad in (0, -5, 2.5, True, "100"):
        with pytest.raises(ValidationError, match="chunk_rows must be a whole number"):
            enter_journey(path, sandbox.event_key, data=["Email"], connection=conn, chunk_rows=bad)
    with pytest.raises(ValidationError, match="a DataFrame is entered as it is"):
        enter_journey(contacts(5, "c"), sandbox.event_key, data=["Email"], connection=conn, chunk_rows=2)


def test_a_csv_file_that_is_not_utf8_is_refused_before_anything_is_sent(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    path = tmp_path / "excel.csv"
    path.write_bytes("SubscriberKey,Email\nk1,jos\u00e9@example.com\n".encode("cp1252"))
    with pytest.raises(ValidationError, match=r"excel.csv is not UTF-8 text \(byte 0xe9\): .*encoding='cp1252'"):
        enter_journey(path, sandbox.event_key, data=["Email"], connection=conn)
    assert not sandbox.entry_counts(sandbox.event_key)


GOOD_CSV = "SubscriberKey,Email\n" + "".join(f"f-{i:03d},f{i}@example.com\n" for i in range(300))


def _gzip_cut_short() -> bytes:
    whole = gzip.compress(GOOD_CSV.encode())
    return whole[:len(whole) // 2]


@pytest.mark.parametrize("name, content, message", [
    ("utf16.csv", GOOD_CSV.encode("utf-16"), r"utf16.csv is UTF-16 text, not UTF-8: save it as UTF-8 .*"
                                              r"encoding='utf-16'"),
    ("quote.csv", b'SubscriberKey,Email\n"q-1,q1@example.com\nq-2,q2@example.com\n',
     r"quote.csv cannot be read as CSV: .*EOF inside string.*; fix the file there \(every quote closed"),
    ("notgzip.csv.gz", GOOD_CSV.encode(), r"notgzip.csv.gz cannot be decompressed \(BadGzipFile: .*\): it is "
                                          r"damaged, cut short or not gzip data; compress it again"),
    ("short.csv.gz", _gzip_cut_short(), r"short.csv.gz cannot be decompressed \(EOFError: .*not gzip data"),
    ("junk.csv.bz2", b"BZh9 not really", r"junk.csv.bz2 cannot be decompressed \(OSError: .*not bzip2 data"),
    ("junk.csv.zip", b"PK not really", r"junk.csv.zip cannot be decompressed \(BadZipFile: .*not zip data"),
])
def test_a_csv_file_whose_first_chunk_cannot_be_read_is_refused_clearly(sandbox, tmp_path, name, content, message):
    conn = fast_conn(sandbox)
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=message) as info:
        enter_journey(path, sandbox.event_key, data=["Email"], connection=conn, chunk_rows=100)
    assert info.value.__cause__ is None and info.value.__suppress_context__   # the clear error alone, no chain
    with pytest.raises(ValidationError, match=message):
        next(iter_chunks(path, 100))
    assert not sandbox.entry_counts(sandbox.event_key)


def test_a_compressed_csv_damaged_after_its_first_chunk_keeps_what_was_entered(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    path = tmp_path / "long.csv.gz"
    rows = [f"d-{i:05d},d{i}@example.com,{hashlib.sha256(str(i).encode()).hexdigest() * 3}" for i in range(15_000)]
    whole = gzip.compress(("SubscriberKey,Email,Notes\n" + "\n".join(rows) + "\n").encode())
    path.write_bytes(whole[:len(whole) * 3 // 4])        # hashes barely compress: the cut falls in a later chunk
    with pytest.warns(SfmcWarning, match=r"stopped at chunk \d+, reading it failed: ValidationError: long.csv.gz "
                                         r"cannot be decompressed in the rows after row [\d,]+ \(EOFError"):
        res = enter_journey(path, sandbox.event_key, data=["Email"], connection=conn, chunk_rows=2000)
    assert res.interrupted and 2000 <= len(res) < 15_000 and len(res) % 2000 == 0
    entered = sandbox.entry_counts(sandbox.event_key)
    assert len(entered) == res.counts["queued"] == len(res) and max(entered.values()) == 1


def test_without_a_journal_a_chunk_that_cannot_be_read_ends_the_stream_keeping_what_was_entered(sandbox, tmp_path):
    conn = fast_conn(sandbox)
    path = tmp_path / "broken.csv"
    contacts(250, "b").to_csv(path, index=False)
    with open(path, "a", encoding="utf-8") as out:
        out.write('b-x,"an unterminated quote\n')   # the parser fails in the chunk after row 200
    with pytest.warns(SfmcWarning, match=r"stopped at chunk 2, reading it failed: ValidationError: broken.csv cannot"):
        res = enter_journey(path, sandbox.event_key, data=["Email"], connection=conn, chunk_rows=100)
    assert len(res) == 200 and res.interrupted and not res.ok
    assert res.counts["queued"] + res.counts["not_queued"] == 200
    assert any("enter the rest of the input from row 200 on" in w for w in res.warnings)
    entered = sandbox.entry_counts(sandbox.event_key)
    assert set(entered) <= {f"b-{i:05d}" for i in range(200)} and max(entered.values()) == 1


def test_without_a_journal_a_later_chunk_missing_a_column_or_ctrl_c_while_reading_keeps_the_result(sandbox):
    conn = fast_conn(sandbox)
    bad = [contacts(150, "m"), contacts(10, "n").rename(columns={"Email": "Mail"})]
    with pytest.warns(SfmcWarning, match="stopped at chunk 1, reading it failed: ValidationError"):
        res = enter_journey(bad, sandbox.event_key, data=["Email"], connection=conn)
    assert len(res) == 150 and res.interrupted and not any(k.startswith("n-") for k in sandbox.entry_counts(
        sandbox.event_key))

    def frames():
        yield contacts(120, "c")
        raise KeyboardInterrupt   # Ctrl-C while the next chunk is read

    with pytest.warns(SfmcWarning, match="stopped at chunk 1, interrupted while reading it"):
        res = enter_journey(frames(), sandbox.event_key, data=["Email"], connection=conn)
    assert len(res) == 120 and res.interrupted and res.counts["queued"] + res.counts["not_queued"] == 120
    with pytest.raises(KeyboardInterrupt):   # before anything was entered, Ctrl-C simply stops
        enter_journey(_interrupted_first(), sandbox.event_key, data=["Email"], connection=conn)


def _interrupted_first():
    raise KeyboardInterrupt
    yield  # makes this a generator: the interrupt comes when the first chunk is read
