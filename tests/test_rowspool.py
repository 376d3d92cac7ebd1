"""A stream's rows kept in files: joined in order, read and written through memory maps, gone with the result."""

from __future__ import annotations

import errno
import gc
import os
import pickle

import numpy as np
import pandas as pd
import pytest
from test_stream import chunks, contacts, fast_conn

from sfmc_nb import enter_journey
from sfmc_nb._rowspool import RowSpool
from sfmc_nb.results import BatchRecord, EntryResult

UUID = "0b9f2c4e-1d2a-4f6b-9c3d-5e7f8a9b0c1d"


def part(keys, statuses, start: int, batches: int) -> EntryResult:
    res = EntryResult("E", pd.RangeIndex(start, start + len(keys)), keys)
    res.batch_records = [BatchRecord(n, 1, request_id=f"req-{start}-{n}") for n in range(batches)]
    for pos, status in enumerate(statuses):
        queued = status == "queued"
        res.set_row(pos, status, event_instance_id=UUID if queued and pos % 2 else ("e-7" if queued else None),
                    errorcode=None if queued else 30000 + pos, message=None if queued else f"bad {pos % 2}",
                    request_id=f"req-{start}-{pos % batches}", batch=pos % batches, attempts=1)
    res.requests, res.seconds, res.warnings = batches, 1.5, [f"note {start}", "shared note"]
    return res


def test_parts_are_joined_in_order_with_their_batches_numbered_on():
    a = part(["k1", "Zoë", None], ["queued", "not_queued", "skipped"], 0, 2)
    b = part(["", "日本-7", "k3", "k4"], ["queued", "queued", "failed", "queued"], 3, 3)
    expected = pd.concat([a.to_frame(), b.to_frame().assign(batch=lambda f: f["batch"] + 2)])
    spool = RowSpool("E")
    assert spool.append(a) == 0 and spool.append(b) == 2
    joined = spool.finish()
    pd.testing.assert_frame_equal(joined.to_frame(), expected, check_categorical=False)
    assert joined.counts == {"queued": 4, "not_queued": 1, "failed": 1, "unknown": 0, "skipped": 1}
    assert [r.number for r in joined.batch_records] == [0, 1, 2, 3, 4]
    assert joined.requests == 5 and joined.seconds == 3.0
    assert joined.warnings == ["note 0", "shared note", "note 3"]
    assert joined.processing_counts == {"processed": 0, "errored": 0, "pending": 0}
    assert isinstance(joined.status.values, np.memmap) and isinstance(joined.contact_keys.blob, np.memmap)


def test_a_joined_result_is_written_through_and_pickles_with_its_rows():
    spool = RowSpool("E")
    spool.append(part(["a", "b"], ["queued", "failed"], 0, 1))
    spool.append(part(["c"], ["failed"], 2, 1))
    joined = spool.finish()
    joined.set_row(2, "queued", event_instance_id=UUID, request_id="again", batch=7, attempts=2)
    joined.set_processing(2, "processed")
    assert joined.counts["queued"] == 2 and joined.counts["failed"] == 1
    assert joined.rows_frame([2]).iloc[0][["eventInstanceId", "requestId", "batch", "processing"]].tolist() == \
        [UUID, "again", 7, "processed"]
    folder = spool.folder
    copy = pickle.loads(pickle.dumps(joined))
    del joined, spool
    gc.collect()
    assert not os.path.exists(folder)   # the files went with the result
    assert copy.to_frame()["contactKey"].tolist() == ["a", "b", "c"] and copy.status[2] == "queued"
    assert copy.event_instance_id[2] == UUID and copy.processing[2] == "processed"


def test_a_stream_keeps_its_rows_in_files_and_retry_writes_them_back(sandbox):
    conn = fast_conn(sandbox)
    res = enter_journey(chunks(contacts(600, "w"), 200), sandbox.event_key, data=["Email"], connection=conn,
                        validate=False)   # bad emails reach the service and are refused one by one
    assert isinstance(res.status.values, np.memmap) and os.path.isdir(os.path.dirname(res.status.values.filename))
    refused = res.positions(["not_queued"])
    assert len(refused) == 67 and res.counts["queued"] == 533 and len(res.batch_records) == 6
    assert "67 rows did not queue" in repr(res) and "w-00000" in res._repr_html_()   # read back from the files
    assert res.error_reasons()["count"].sum() == 67 and res.errors().index.tolist() == refused
    res.retry()
    numbers = {r.number: r for r in res.batch_records}
    assert len(numbers) == len(res.batch_records) > 6
    for pos in refused:   # each refused row now points at the batch its retry went in
        record = numbers[res.batch[pos]]
        assert res.batch[pos] >= 6 and record.request_id == res.request_id[pos] and res.attempts[pos] >= 1
    assert res.counts == {"queued": 533, "not_queued": 67, "failed": 0, "unknown": 0, "skipped": 0}
    assert max(sandbox.entry_counts(sandbox.event_key).values()) == 1


def test_a_dry_run_stream_is_joined_too(sandbox):
    conn = fast_conn(sandbox)
    res = enter_journey(chunks(contacts(250, "d"), 100), sandbox.event_key, data=["Email"], connection=conn,
                        dry_run=True)
    assert res.dry_run and len(res) == 250 and res.requests == 0 and not res.can_retry
    assert res.to_frame()["contactKey"].tolist() == [f"d-{i:05d}" for i in range(250)]
    assert [len(b) for b in res.preview] == [100] and not sandbox.entry_counts(sandbox.event_key)   # chunk 0


def plain(frame: pd.DataFrame) -> tuple[list, list]:
    """A frame's index and values, missing values as None (whatever dtype a column got)."""
    return list(frame.index), [[None if pd.isna(v) else v for v in row] for row in frame.astype(object).values.tolist()]


def _fill_disk_under(spool: RowSpool, column: str) -> None:
    """Point one of the spool's files at /dev/full: from now on its writes fail as on a full disk (ENOSPC)."""
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        os.dup2(full, spool._files[column].fileno())
    finally:
        os.close(full)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_raised_and_the_part_it_refused_is_kept_in_memory():
    a = part(["k1", "Zoë", None], ["queued", "not_queued", "skipped"], 0, 2)
    b = part(["k2", "k3"], ["queued", "failed"], 3, 1)   # a few bytes a column: they would sit in a buffer
    c = part(["k4"], ["not_queued"], 5, 1)
    expected = pd.concat([p.to_frame() for p in (a, b, c)]).assign(batch=[0, 1, 0, 2, 2, 3])
    spool = RowSpool("E")
    spool.append(a)
    _fill_disk_under(spool, "message")
    with pytest.raises(OSError) as raised:
        spool.append(b)
    assert raised.value.errno == errno.ENOSPC and spool.holds(b) and spool.rows == 5
    assert spool.append(c) == 3   # later parts follow in memory, in order
    joined = spool.finish()
    assert plain(joined.to_frame()) == plain(expected)
    assert joined.counts == {"queued": 2, "not_queued": 2, "failed": 1, "unknown": 0, "skipped": 1}
    joined.set_row(4, "queued", event_instance_id=UUID, request_id="again", batch=9, attempts=2)   # retry() can
    assert joined.rows_frame([4]).iloc[0]["status"] == "queued"
    assert spool.finish().to_frame().equals(joined.to_frame())   # asked again (Ctrl-C meanwhile): the same rows


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_disk_full_from_the_first_part_keeps_every_row_in_memory():
    spool = RowSpool("E")
    _fill_disk_under(spool, "key_offsets")
    with pytest.raises(OSError):
        spool.append(part(["a", "b"], ["queued", "failed"], 0, 1))
    spool.append(part(["c"], ["queued"], 2, 1))
    joined = spool.finish()
    assert joined.to_frame()["contactKey"].tolist() == ["a", "b", "c"] and joined.counts["queued"] == 2
