"""The result's per-row store: counts kept up to date as rows change, never recounted."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from sfmc_nb.results import PROCESSING, STATUSES, EntryResult


def recount(res: EntryResult) -> dict[str, int]:
    c = Counter(res.to_frame()["status"].astype(str))
    return {s: c.get(s, 0) for s in STATUSES}


def test_counts_follow_every_change_of_a_row():
    res = EntryResult("E", pd.RangeIndex(5), list("abcde"))
    assert res.counts == {**dict.fromkeys(STATUSES, 0), "skipped": 5}
    res.set_row(0, "queued", event_instance_id="e0", batch=0, attempts=1)
    res.set_row(1, "queued", event_instance_id="e1", batch=0, attempts=1)
    res.set_row(2, "failed", message="boom", batch=0, attempts=3)
    res.set_row(2, "queued", event_instance_id="e2", batch=1, attempts=1)   # a retry queued it
    res.set_row(3, "unknown", message="in doubt")
    assert res.counts == recount(res)
    assert res.counts["queued"] == 3 and res.counts["unknown"] == 1 and res.counts["skipped"] == 1


def test_counts_is_a_copy_the_caller_may_change():
    res = EntryResult("E", pd.RangeIndex(2), ["a", "b"])
    counts = res.counts
    counts["queued"] += 10
    assert res.counts["queued"] == 0


def test_processing_counts_follow_set_processing_and_a_new_entry_clears_them():
    res = EntryResult("E", pd.RangeIndex(3), ["a", "b", "c"])
    for pos in range(3):
        res.set_row(pos, "queued", event_instance_id=f"e{pos}")
    res.set_processing(0, "processed")
    res.set_processing(1, "errored", "already in the journey")
    res.set_processing(2, "pending", "still queued")
    assert res.processing_counts == dict.fromkeys(PROCESSING, 1)
    assert res.processing_message[1] == "already in the journey"
    res.set_row(1, "queued", event_instance_id="e9")      # entered again: not followed yet
    assert res.processing_counts == {"processed": 1, "errored": 0, "pending": 1}
    assert res.processing[1] is None and res.processing_message[1] is None


def test_a_result_built_from_lists_counts_them_once():
    res = EntryResult("E", pd.RangeIndex(3), ["a", "b", "c"], status=["queued", "failed", "queued"],
                      processing=["processed", None, "pending"])
    assert res.counts["queued"] == 2 and res.counts["failed"] == 1
    assert res.processing_counts == {"processed": 1, "errored": 0, "pending": 1}


def cells(frame: pd.DataFrame) -> list[list]:
    """The frame's values with every kind of missing read as None (a text column says NaN, an object one None)."""
    return [[None if pd.isna(v) else v for v in row] for row in frame.astype(object).values.tolist()]


def filled(n: int = 7) -> EntryResult:
    res = EntryResult("E", pd.Index([f"i{p}" for p in range(n)], name="row"), [f"k{p:03d}" for p in range(n)])
    for p in range(n):
        if p % 3 == 0:
            res.set_row(p, "not_queued", errorcode=30000, message="bad email", request_id="r1", batch=0, attempts=1)
        elif p % 3 == 1:
            res.set_row(p, "queued", event_instance_id=f"e{p}", request_id="r1", batch=0, attempts=2)
    res.sent_at[1] = 12.5
    return res


def test_the_columns_read_and_write_like_lists():
    res = filled()
    assert res.status[0] == "not_queued" and res.status[2] == "skipped"
    assert res.errorcode[0] == 30000 and res.errorcode[1] is None
    assert res.message[0] == "bad email" and res.message[1] is None
    assert res.batch[2] is None and res.attempts[2] == 0 and res.attempts[1] == 2
    assert res.sent_at[1] == 12.5 and res.sent_at[0] is None
    assert res.status[:3] == ["not_queued", "queued", "skipped"] and len(res.status) == 7
    assert list(res.request_id) == ["r1", "r1", None, "r1", "r1", None, "r1"]
    assert res.processing == [None] * 7


def test_to_frame_has_one_row_per_input_row_with_the_documented_columns():
    res = filled()
    frame = res.to_frame()
    assert list(frame.columns) == ["contactKey", "status", "eventInstanceId", "errorcode", "message", "requestId",
                                   "batch", "attempts", "processing", "processing_message"]
    assert list(frame.index) == [f"i{p}" for p in range(7)] and frame.index.name == "row"
    assert str(frame["status"].dtype) == "category" and str(frame["errorcode"].dtype) == "Int64"
    assert frame["errorcode"].tolist()[:2] == [30000, pd.NA] and frame["eventInstanceId"].tolist()[1] == "e1"
    part = res.rows_frame([4, 1])
    assert list(part.index) == ["i4", "i1"]
    assert cells(part) == cells(frame.iloc[[4, 1]])


def test_errors_are_built_from_the_failed_rows_only():
    res = filled()
    errs = res.errors()
    assert list(errs.index) == ["i0", "i2", "i3", "i5", "i6"]
    assert cells(errs) == cells(res.to_frame().query("status != 'queued'"))
    assert res.positions(["skipped"]) == [2, 5]


def test_to_csv_writes_every_row_in_chunks(tmp_path):
    res = filled()
    path = tmp_path / "rows.csv"
    res.to_csv(path, chunk_rows=3)
    back = pd.read_csv(path, index_col=0, dtype=str, keep_default_na=False)
    whole = res.to_frame()
    assert list(back.index) == list(whole.index) and list(back.columns) == list(whole.columns)
    assert back["contactKey"].tolist() == whole["contactKey"].tolist()
    assert back["status"].tolist() == [str(s) for s in whole["status"]]
    assert path.read_text().count("\n") == len(res) + 1   # one header


def test_to_parquet_writes_every_row_or_says_pyarrow_is_needed(tmp_path):
    res = filled()
    path = tmp_path / "rows.parquet"
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        from sfmc_nb.errors import ConfigurationError
        with pytest.raises(ConfigurationError, match="pyarrow"):
            res.to_parquet(path)
        return
    res.to_parquet(path, chunk_rows=3)
    back = pd.read_parquet(path)
    assert back["contactKey"].tolist() == res.to_frame()["contactKey"].tolist()


def test_a_result_survives_pickling():
    res = filled()
    back = pickle.loads(pickle.dumps(res))
    assert back.counts == res.counts and back.status == res.status and back.message == res.message


def test_event_instance_ids_are_kept_exactly_whatever_their_form():
    ids = ["0b9f2c4e-1d2a-4f6b-9c3d-5e7f8a9b0c1d", "0B9F2C4E-1D2A-4F6B-9C3D-5E7F8A9B0C1D", "e-17", None,
           "0b9f2c4e-1d2a-4f6b-9c3d-5e7f8a9b0czz"]
    res = EntryResult("E", pd.RangeIndex(5), list("abcde"), event_instance_id=list(ids))
    assert res.event_instance_id == ids and [res.event_instance_id[p] for p in range(5)] == ids
    assert res.to_frame()["eventInstanceId"].tolist()[:3] == ids[:3]
    res.set_row(2, "queued", event_instance_id=ids[0])
    res.set_row(0, "queued", event_instance_id="plain")
    assert res.event_instance_id[2] == ids[0] and res.event_instance_id[0] == "plain"
    assert res.rows_frame([2, 0])["eventInstanceId"].tolist() == [ids[0], "plain"]


def test_key_columns_keep_any_text():
    from sfmc_nb._rowstore import KeyColumn

    keys = KeyColumn(["k1", "Zoë", None, "", "日本-7"])
    assert keys == ["k1", "Zoë", None, "", "日本-7"] and len(keys) == 5 and keys[4] == "日本-7"
    assert keys.take(np.array([4, 1])).tolist() == ["日本-7", "Zoë"]
    assert keys.take(np.array([], dtype=np.intp)).tolist() == []
    with pytest.raises(TypeError):
        keys[0] = "x"


def test_key_columns_read_scattered_rows_of_a_large_blob_one_by_one():
    from sfmc_nb._rowstore import KeyColumn

    keys = KeyColumn([f"key-{i:06d}" for i in range(50_000)])
    assert keys.take(np.array([49_999, 0, 25_000])).tolist() == ["key-049999", "key-000000", "key-025000"]
    assert keys.take(np.arange(100, 103)).tolist() == ["key-000100", "key-000101", "key-000102"]


def test_the_rows_retry_resends_are_the_refused_the_failed_and_the_unsent_ones():
    from sfmc_nb.results import NOT_SENT

    res = EntryResult("E", pd.RangeIndex(7), [f"k{i}" for i in range(7)])
    assert res.resendable_positions() == [] and res.retryable() == 0   # all skipped, none for want of sending
    for pos, status, message in [(0, "failed", "HTTP 500"), (1, "queued", None), (2, "skipped", NOT_SENT),
                                 (3, "skipped", "blank contact key"), (4, "not_queued", "bad email"),
                                 (5, "unknown", None), (6, "skipped", NOT_SENT)]:
        res.set_row(pos, status, message=message)
    assert res.resendable_positions() == [0, 2, 4, 6]
    assert res.retryable() == 5                                  # and the unknown one, checked before resending
    res.set_row(6, "queued")
    assert res.resendable_positions() == [0, 2, 4] and res.retryable() == 4


def test_a_batch_written_at_once_reads_as_the_same_rows_written_one_by_one():
    import uuid
    ids = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(6)]
    odd = ["E-1", None, ids[2].upper(), ids[3], "not-a-uuid-but-36-characters-long-xx", "é" * 36]
    keys = list("abcdef")
    one, many = EntryResult("E", pd.RangeIndex(6), keys), EntryResult("E", pd.RangeIndex(6), keys)
    for res in (one, many):
        res.set_row(4, "queued", event_instance_id="old-id", request_id="r0")
        res.set_processing(4, "processed", "done")   # a new entry clears what a wait found
    statuses = ["queued", "not_queued", "queued", "queued", "queued", "unknown"]
    codes = [None, 30000, None, None, None, None]
    messages = [None, "bad email", None, None, None, "in doubt"]
    for rows in (ids, odd):
        for p in range(6):
            one.set_row(p, statuses[p], event_instance_id=rows[p], errorcode=codes[p], message=messages[p],
                        request_id="r1", attempts=2)
        many.set_rows(np.arange(6), statuses, event_instance_ids=rows, errorcodes=codes, messages=messages,
                      request_ids="r1", attempts=2)
        pd.testing.assert_frame_equal(many.to_frame(), one.to_frame())
        assert many.counts == one.counts == recount(many)
        assert many.processing_counts == one.processing_counts
    many.set_rows([1, 5], "skipped", messages="not sent")
    assert many.counts == recount(many) and many.event_instance_id[1] is None and many.message[5] == "not sent"
