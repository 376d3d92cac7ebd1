"""The result's per-row store: counts kept up to date as rows change, never recounted."""

from __future__ import annotations

from collections import Counter

import pandas as pd

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
