"""Parquet files and polars frames streamed against the sandbox, and results written to Parquet.

Each streamed run is compared with the same rows entered as one pandas DataFrame: the per-row outcome and the
entry data the sandbox received (as JSON text, so 3 and 3.0 differ). Keys of two compared runs differ only in
their second character, which is cut before comparing.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from sfmc_nb import enter_journey
from sfmc_nb.engine.sources import fingerprint, iter_chunks
from sfmc_nb.engine.stream import enter_stream
from sfmc_nb.errors import ConfigurationError, SfmcWarning, ValidationError

pa = pytest.importorskip("pyarrow")   # sfmc_nb[parquet]; the test extra installs it
pq = pytest.importorskip("pyarrow.parquet")

DATA = ["Email", "FirstName", "Points", "IsVip", "SignupDate"]
STATUS_CATEGORIES = ["queued", "not_queued", "failed", "unknown", "skipped"]


def people(n: int, run: str) -> pd.DataFrame:
    """Rows as a warehouse export has them: text keys with leading zeros (some missing), nullable numbers,
    booleans and timestamps, invalid emails the sandbox refuses."""
    return pd.DataFrame({
        "SubscriberKey": pd.array([None if i % 97 == 13 else f"0{run}{i:05d}" for i in range(n)], dtype="str"),
        "Email": [f"p{i}@example.com" if i % 9 else "not-an-email" for i in range(n)],
        "FirstName": pd.array([None if i % 4 == 2 else f"Name{i % 7}" for i in range(n)], dtype="str"),
        "Points": pd.array([None if i % 5 == 1 else i * 3 for i in range(n)], dtype="Int64"),
        "IsVip": pd.array([None if i % 6 == 4 else i % 2 == 0 for i in range(n)], dtype="boolean"),
        "SignupDate": pd.to_datetime([None if i % 8 == 3 else f"2024-03-{1 + i % 28:02d} 10:30:00"
                                      for i in range(n)]),
    })


def write_parquet(df: pd.DataFrame, path, row_group_size: int, pandas_metadata: bool = False):
    """``df`` as a Parquet file; without pandas' metadata by default, as Spark or a warehouse writes it."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if not pandas_metadata:
        table = table.replace_schema_metadata(None)
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def comparable(res) -> list[list]:
    """The per-row outcome without what differs from run to run (ids, request ids, batch numbers, the run's
    character in the key)."""
    frame = res.to_frame().drop(columns=["eventInstanceId", "requestId", "batch"])
    rows = [[None if pd.isna(v) else v for v in row] for row in frame.astype(object).values.tolist()]
    return [[label, None if row[0] is None else row[0][:1] + row[0][2:], *row[1:]]
            for label, row in zip(frame.index, rows, strict=True)]


def sent(sandbox, run: str) -> dict[str, str]:
    """Entry data the sandbox holds for one run's keys, as JSON text (key without the run's character)."""
    return {e["contactKey"][:1] + e["contactKey"][2:]: json.dumps(e["data"], sort_keys=True)
            for e in sandbox.entries(sandbox.event_key) if e["contactKey"][1:2] == run}


def chunk_frames(df: pd.DataFrame, size: int):
    for start in range(0, len(df), size):
        yield df.iloc[start:start + size]


# ---------------------------------------------------------------------------------------------- Parquet input


def test_a_parquet_file_gives_the_same_rows_as_one_dataframe(sandbox, conn, tmp_path):
    one = enter_journey(people(950, "1"), sandbox.event_key, data=DATA, connection=conn)
    path = write_parquet(people(950, "2"), tmp_path / "people.parquet", row_group_size=200)
    assert pq.ParquetFile(path).metadata.num_row_groups == 5
    assert [len(c) for c in iter_chunks(path, 300)] == [300, 300, 300, 50]   # chunks span row groups
    streamed = enter_stream(path, sandbox.event_key, data=DATA, connection=conn, chunk_rows=300)
    assert streamed.summary["batches"] == 10   # a batch of at most 100 rows: 3 + 3 + 3 + 1
    assert streamed.counts == one.counts
    assert streamed.counts["not_queued"] > 0 and streamed.counts["skipped"] == 10
    assert comparable(streamed) == comparable(one)
    assert list(streamed.to_frame().index) == list(range(950))
    assert streamed.contact_keys[0] == "0200000"   # text keys keep their leading zeros
    assert sent(sandbox, "2") == sent(sandbox, "1") and len(sent(sandbox, "2")) == streamed.counts["queued"]
    first = json.loads(sent(sandbox, "2")["000001"])
    assert first == {"Email": "p1@example.com", "FirstName": "Name1", "Points": None, "IsVip": False,
                     "SignupDate": "2024-03-02T10:30:00"}


def test_arrow_record_batches_are_read_as_a_parquet_file_is(sandbox, conn, tmp_path):
    path = write_parquet(people(450, "3"), tmp_path / "people.parquet", row_group_size=200)
    from_file = enter_journey(path, sandbox.event_key, data=DATA, connection=conn, chunk_rows=150)
    table = pq.read_table(write_parquet(people(450, "4"), tmp_path / "again.parquet", row_group_size=200))
    batches = table.to_batches(max_chunksize=150)   # what pyarrow.dataset(...).to_batches() gives
    streamed = enter_journey(iter(batches), sandbox.event_key, data=DATA, connection=conn)
    assert comparable(streamed) == comparable(from_file) and list(streamed.to_frame().index) == list(range(450))
    assert sent(sandbox, "4") == sent(sandbox, "3")   # the same values sent: whole numbers stay whole
    with pytest.raises(ValidationError, match="chunk 0 of the input is a list, not a pandas DataFrame or a pyarrow"):
        enter_journey([[1, 2], batches[0]], sandbox.event_key, data=DATA, connection=conn)


def test_parquet_columns_keep_one_dtype_in_every_chunk(tmp_path):
    """Whole numbers and booleans are nullable in every chunk, whether or not that chunk has a null: a chunk
    with a null does not turn them into floats or objects."""
    df = pd.DataFrame({"k": [f"{i:04d}" for i in range(200)],
                       "n": pd.array([None if i == 5 else i for i in range(200)], dtype="Int64"),
                       "u": pd.array(range(200), dtype="UInt16"),
                       "b": pd.array([None if i == 5 else True for i in range(200)], dtype="boolean"),
                       "f": [np.nan if i == 5 else i / 2 for i in range(200)]})
    path = write_parquet(df, tmp_path / "mixed.parquet", row_group_size=100)
    chunks = list(iter_chunks(path, 100))
    assert [c.dtypes.astype(str).to_dict() for c in chunks] == [
        {"k": str(pd.Series(["text"]).dtype), "n": "Int64", "u": "UInt16", "b": "boolean", "f": "float64"}] * 2
    assert chunks[0]["n"].isna().sum() == 1 and chunks[1]["n"].tolist() == list(range(100, 200))
    pandas_written = write_parquet(df, tmp_path / "pandas.parquet", row_group_size=100, pandas_metadata=True)
    again = list(iter_chunks(pandas_written, 100))
    assert [list(c.index[[0, -1]]) for c in again] == [[0, 99], [100, 199]]
    assert all(fingerprint(a) == fingerprint(b) for a, b in zip(chunks, again, strict=True))


@pytest.mark.parametrize("pandas_metadata", [False, True])
def test_a_parquet_integer_key_column_is_an_integer_key_column(sandbox, conn, tmp_path, pandas_metadata):
    """An int64 key column with a null in one chunk only: sent as the whole numbers, as a DataFrame's integer key
    column is, even with float_keys='refuse' (read as float64, the chunk with the null would be refused)."""
    def frame(base: int) -> pd.DataFrame:
        keys = pd.array([None if i in (3, 40) else base + i for i in range(250)], dtype="Int64")
        return pd.DataFrame({"SubscriberKey": keys, "Points": pd.array(range(250), dtype="Int64")})

    one = enter_journey(frame(1_700_000_000_000), sandbox.event_key, data=["Points"], connection=conn,
                        float_keys="refuse")
    path = write_parquet(frame(1_800_000_000_000), tmp_path / "ints.parquet", row_group_size=100,
                         pandas_metadata=pandas_metadata)
    streamed = enter_stream(path, sandbox.event_key, data=["Points"], connection=conn, chunk_rows=100,
                            float_keys="refuse")
    assert not any("float" in w for w in streamed.warnings + one.warnings)
    assert streamed.counts == one.counts == {"queued": 248, "not_queued": 0, "failed": 0, "unknown": 0,
                                             "skipped": 2}
    assert streamed.contact_keys[:3] == ["1800000000000", "1800000000001", "1800000000002"]
    assert comparable(streamed) == comparable(one)
    assert sent(sandbox, "8") == sent(sandbox, "7") and '"Points": 249' in sent(sandbox, "8")["100000000249"]


@pytest.mark.parametrize("na", ["null", "omit"])
def test_nulls_in_parquet_data_columns_are_sent_as_from_a_dataframe(sandbox, conn, tmp_path, na):
    one = enter_journey(people(240, "1"), sandbox.event_key, data=DATA, connection=conn, na=na)
    path = write_parquet(people(240, "2"), tmp_path / "people.parquet", row_group_size=50)
    streamed = enter_stream(path, sandbox.event_key, data=DATA, connection=conn, na=na, chunk_rows=70)
    assert comparable(streamed) == comparable(one)
    assert sent(sandbox, "2") == sent(sandbox, "1")
    gaps = json.loads(sent(sandbox, "2")["000001"])   # row 1: no Points; row 4: no IsVip; row 2: no FirstName
    assert ("Points" in gaps) == (na == "null") and gaps.get("Points", "left out") in (None, "left out")
    assert ("IsVip" in json.loads(sent(sandbox, "2")["000004"])) == (na == "null")
    assert ("FirstName" in json.loads(sent(sandbox, "2")["000010"])) == (na == "null")


def interrupt_in_chunk(chunk: int, batches: int):
    """A progress callback stopping the run at the ``batches``-th batch of chunk number ``chunk`` (a stream's
    events count batches over all its chunks)."""
    before = {"batches": 0}

    def callback(event):
        if event.chunk is not None and event.chunk < chunk:
            before["batches"] = event.batches_done
        elif event.kind == "batch" and event.chunk == chunk and event.batches_done - before["batches"] >= batches:
            raise KeyboardInterrupt
    return callback


def test_a_resumed_parquet_stream_enters_nothing_twice(sandbox, conn, tmp_path):
    sandbox.configure(latency=0.01)
    journal = tmp_path / "stream.jsonl"
    df = people(1200, "r")
    path = write_parquet(df, tmp_path / "people.parquet", row_group_size=250)
    with pytest.warns(SfmcWarning, match="stream stopped at chunk 1"):
        first = enter_journey(path, sandbox.event_key, data=["Email"], connection=conn, journal=journal,
                              progress=interrupt_in_chunk(1, 2), concurrency=2, chunk_rows=400)
    assert first.interrupted and 300 < first.counts["queued"] < 800
    assert any("stream stopped at chunk 1" in w for w in first.warnings)
    rewritten = write_parquet(df, tmp_path / "people.parquet", row_group_size=333)   # same rows, other row groups
    with pytest.warns(SfmcWarning, match="resumed from"):
        again = enter_journey(rewritten, sandbox.event_key, data=["Email"], connection=conn, journal=journal,
                              chunk_rows=400)
    entered = sandbox.entry_counts(sandbox.event_key)
    sendable = [k for k, e in zip(df["SubscriberKey"], df["Email"], strict=True)
                if e != "not-an-email" and isinstance(k, str)]
    assert all(entered[k] == 1 for k in sendable), "a contact was entered twice or not at all"
    assert sum(entered.values()) == len(sendable)
    assert again.counts["queued"] == len(sendable) and len(again) == 1200
    assert again.summary["batches"] < 12


def test_a_changed_parquet_file_is_refused_on_resume(sandbox, conn, tmp_path):
    journal = tmp_path / "stream.jsonl"
    df = people(300, "f")
    path = write_parquet(df, tmp_path / "in.parquet", row_group_size=100)
    enter_stream(path, sandbox.event_key, data=["Email"], connection=conn, journal=journal, chunk_rows=100)
    before = sandbox.entry_counts(sandbox.event_key).total()
    changed = df.copy()
    changed.loc[205, "Points"] = 1   # a column not sent still makes another input
    write_parquet(changed, path, row_group_size=100)
    with pytest.raises(ValidationError, match="input differs"):
        enter_stream(path, sandbox.event_key, data=["Email"], connection=conn, journal=journal, chunk_rows=100)
    assert sandbox.entry_counts(sandbox.event_key).total() == before


def test_nested_parquet_columns_have_a_fingerprint(tmp_path):
    table = pa.table({"SubscriberKey": ["a", "b"], "tags": [[1, 2], list(range(5000))],
                      "address": [{"city": "Oslo"}, {"city": None}]})
    pq.write_table(table, tmp_path / "nested.parquet")
    chunk = next(iter_chunks(tmp_path / "nested.parquet"))
    changed = chunk.copy()
    changed.at[1, "tags"] = np.where(np.arange(5000) == 2500, -1, np.arange(5000))   # numpy's repr elides it
    assert fingerprint(chunk) == fingerprint(next(iter_chunks(tmp_path / "nested.parquet")))
    assert fingerprint(chunk) != fingerprint(changed)


def test_unreadable_or_empty_files_are_refused_clearly(sandbox, conn, tmp_path):
    (tmp_path / "junk.parquet").write_text("not parquet")
    (tmp_path / "header.csv").write_text("SubscriberKey,Email\n")
    (tmp_path / "zero.csv").write_text("")
    pq.write_table(pa.table({"SubscriberKey": pa.array([], pa.string())}), tmp_path / "empty.parquet")
    with pytest.raises(ValidationError, match="not a readable Parquet file"):
        enter_journey(tmp_path / "junk.parquet", sandbox.event_key, connection=conn)
    for name in ("header.csv", "zero.csv", "empty.parquet"):
        with pytest.raises(ValidationError, match="the input has no rows"):
            enter_journey(tmp_path / name, sandbox.event_key, connection=conn)
    assert sandbox.entry_counts(sandbox.event_key) == {}


def damage_row_group(path, group: int):
    """Overwrite the start of one row group's first data page, as a disk or a cut copy does."""
    start = pq.ParquetFile(path).metadata.row_group(group).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    data[start:start + 64] = b"\xab" * 64
    path.write_bytes(bytes(data))
    return path


def test_a_parquet_file_damaged_in_its_first_or_a_later_row_group_is_refused_clearly(sandbox, conn, tmp_path):
    first = damage_row_group(write_parquet(people(600, "1"), tmp_path / "first.parquet", row_group_size=200), 0)
    with pytest.raises(ValidationError, match=r"^first.parquet is not a readable Parquet file: .*; write it again, "
                                              r"or read it yourself and pass DataFrames$") as info:
        enter_journey(first, sandbox.event_key, data=DATA, connection=conn, chunk_rows=200)
    assert info.value.__suppress_context__ and sandbox.entry_counts(sandbox.event_key) == {}

    later = damage_row_group(write_parquet(people(600, "2"), tmp_path / "later.parquet", row_group_size=200), 2)
    with pytest.warns(SfmcWarning, match=r"stopped at chunk 2, reading it failed: ValidationError: later.parquet is "
                                         r"not a readable Parquet file in the rows after row 400: "):
        res = enter_journey(later, sandbox.event_key, data=DATA, connection=conn, chunk_rows=200)
    assert len(res) == 400 and res.interrupted
    entered = sandbox.entry_counts(sandbox.event_key)
    assert len(entered) == res.counts["queued"] > 0 and max(entered.values()) == 1


def test_without_pyarrow_parquet_and_polars_say_how_to_install_it(sandbox, conn, tmp_path, monkeypatch):
    pl = pytest.importorskip("polars")
    path = write_parquet(people(10, "n"), tmp_path / "people.parquet", row_group_size=10)
    res = enter_journey(people(3, "n"), sandbox.event_key, data=["Email"], connection=conn)
    for name in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.setitem(sys.modules, name, None)   # import pyarrow now fails as where it is not installed
    with pytest.raises(ConfigurationError, match=r'pip install "sfmc_nb\[parquet\]"'):
        enter_journey(path, sandbox.event_key, connection=conn)
    with pytest.raises(ConfigurationError, match=r'pip install "sfmc_nb\[polars\]"'):
        enter_journey(pl.DataFrame({"SubscriberKey": ["a"]}), sandbox.event_key, connection=conn)
    with pytest.raises(ConfigurationError, match=r'pip install "sfmc_nb\[parquet\]"'):
        res.to_parquet(tmp_path / "out.parquet")
    assert sandbox.entry_counts(sandbox.event_key).total() == res.counts["queued"] == 2   # the one-frame run only


# ---------------------------------------------------------------------------------------------- polars input


def test_polars_frames_give_the_same_rows_as_pandas(sandbox, conn, tmp_path):
    pl = pytest.importorskip("polars")
    one = enter_journey(people(700, "1"), sandbox.event_key, data=DATA, connection=conn)
    eager = pl.from_pandas(people(700, "2"))
    assert [len(c) for c in iter_chunks(eager, 300)] == [300, 300, 100]
    from_eager = enter_stream(eager, sandbox.event_key, data=DATA, connection=conn, chunk_rows=300)
    write_parquet(people(700, "3"), tmp_path / "people.parquet", row_group_size=128)
    lazy = pl.scan_parquet(tmp_path / "people.parquet").filter(pl.col("Email").is_not_null())
    assert [len(c) for c in iter_chunks(lazy, 300)] == [300, 300, 100]   # cut the same whatever polars streams
    from_lazy = enter_stream(lazy, sandbox.event_key, data=DATA, connection=conn, chunk_rows=300)
    assert comparable(from_eager) == comparable(one) == comparable(from_lazy)
    assert sent(sandbox, "2") == sent(sandbox, "1") == sent(sandbox, "3")
    assert from_eager.summary["batches"] == from_lazy.summary["batches"] == 7


def test_a_polars_integer_key_column(sandbox, conn):
    pl = pytest.importorskip("polars")
    keys = [None if i == 30 else 5_000 + i for i in range(150)]
    one = enter_journey(pd.DataFrame({"SubscriberKey": pd.array(keys, dtype="Int64")}), sandbox.event_key,
                        data=[], connection=conn, float_keys="refuse")
    polars_keys = [None if k is None else k + 1_000 for k in keys]
    streamed = enter_stream(pl.DataFrame({"SubscriberKey": polars_keys}, schema={"SubscriberKey": pl.Int64}),
                            sandbox.event_key, data=[], connection=conn, float_keys="refuse", chunk_rows=50)
    assert streamed.counts == one.counts and streamed.counts["skipped"] == 1
    assert streamed.contact_keys[:2] == ["6000", "6001"] and streamed.contact_keys[30] is None
    assert streamed.to_frame()["message"].tolist() == one.to_frame()["message"].tolist()
    assert sandbox.entry_counts(sandbox.event_key)["6149"] == 1


def test_an_empty_polars_frame_is_refused_as_an_empty_csv_is(sandbox, conn, tmp_path):
    pl = pytest.importorskip("polars")
    (tmp_path / "header.csv").write_text("SubscriberKey,Email\n")
    with pytest.raises(ValidationError) as from_csv:
        enter_journey(tmp_path / "header.csv", sandbox.event_key, connection=conn)
    empty = pl.DataFrame(schema={"SubscriberKey": pl.String, "Email": pl.String})
    for source in (empty, empty.lazy(), pl.DataFrame({"SubscriberKey": ["a"]}).lazy().filter(pl.lit(False))):
        with pytest.raises(ValidationError) as from_polars:
            enter_journey(source, sandbox.event_key, connection=conn)
        assert str(from_polars.value).split(":")[0] == str(from_csv.value).split(":")[0] == "the input has no rows"
    with pytest.raises(ValidationError, match="a polars Series"):
        enter_journey(pl.Series("SubscriberKey", ["a"]), sandbox.event_key, connection=conn)
    assert sandbox.entry_counts(sandbox.event_key) == {}


# ---------------------------------------------------------------------------------------------- to_parquet


def read_back(path) -> pd.DataFrame:
    back = pd.read_parquet(path)
    assert back.equals(pq.read_table(path).to_pandas())   # pandas and pyarrow read the same frame
    return back


def as_written(frame: pd.DataFrame) -> pd.DataFrame:
    """``to_frame()`` as a Parquet file holds it: a text column with no value at all is still a text column
    (to_frame gives it as object None, a file types it as text, read back as missing text)."""
    out = frame.copy()
    for column in [c for c in out.columns if pd.api.types.is_object_dtype(out[c])]:
        assert out[column].isna().all()
        out[column] = out[column].astype("str")
    return out


def test_to_parquet_round_trips_a_streamed_result(sandbox, conn, tmp_path):
    df = people(900, "w")
    df.loc[:299, "Email"] = "valid@example.com"   # the first chunk has no message: its text columns are all None
    df.loc[:299, "SubscriberKey"] = [f"0w{i:05d}" for i in range(300)]
    res = enter_stream(chunk_frames(df, 300), sandbox.event_key, data=DATA, connection=conn)
    frame = res.to_frame()
    path = tmp_path / "result.parquet"
    res.to_parquet(path, chunk_rows=250)
    assert pq.ParquetFile(path).metadata.num_row_groups == 4
    back = read_back(path)
    pd.testing.assert_frame_equal(back, as_written(frame))
    assert isinstance(back["status"].dtype, pd.CategoricalDtype)
    assert list(back["status"].cat.categories) == STATUS_CATEGORIES
    assert back.dtypes[["errorcode", "batch", "attempts"]].astype(str).tolist() == ["Int64"] * 3
    assert back["message"].iloc[:300].isna().all() and back["message"].iloc[300:].notna().any()
    assert back["contactKey"].iloc[0] == "0w00000" and pd.isna(back["contactKey"].iloc[304])
    assert list(back.index) == list(range(900))


def test_to_parquet_round_trips_a_one_frame_result(sandbox, conn, tmp_path):
    df = people(120, "o").set_index(pd.Index([f"row-{i}" for i in range(120)], name="id"))
    res = enter_journey(df, sandbox.event_key, data=DATA, connection=conn)
    frame = res.to_frame()
    for chunk_rows, groups in ((1000, 1), (50, 3)):
        path = tmp_path / f"result-{chunk_rows}.parquet"
        res.to_parquet(path, chunk_rows=chunk_rows)
        assert pq.ParquetFile(path).metadata.num_row_groups == groups
        back = read_back(path)
        pd.testing.assert_frame_equal(back, as_written(frame))
        assert back.index.name == "id" and back.index[7] == "row-7"
        assert back["message"].isna().sum() == frame["message"].isna().sum() > 0
    empty = tmp_path / "empty.parquet"
    enter_journey(df.iloc[:0], sandbox.event_key, data=DATA, connection=conn).to_parquet(empty)
    assert len(read_back(empty)) == 0 and pq.ParquetFile(empty).metadata.num_rows == 0


# ---------------------------------------------------------------------------------------------- the magic


def test_journey_enter_from_a_parquet_file(sandbox_shell, sandbox, tmp_path):
    path = write_parquet(people(40, "m"), tmp_path / "people.parquet", row_group_size=16)
    ev = sandbox.event_key
    magic = f"r --from-file {path} --event {ev} --data Email,Points"
    assert sandbox_shell.run_line_magic("journey_enter", magic) is None
    res = sandbox_shell.user_ns["r"]
    assert len(res) == 40 and res.counts["skipped"] == 1 and res.contact_keys[0] == "0m00000"
    assert res.counts["queued"] == sandbox.entry_counts(ev).total() == 40 - 1 - res.counts["not_queued"]
    assert json.loads(sent(sandbox, "m")["000005"]) == {"Email": "p5@example.com", "Points": 15}
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(UsageError, match="not a readable Parquet file"):
        sandbox_shell.run_line_magic("journey_enter", f"--from-file {tmp_path / 'junk.parquet'} --event {ev}")
