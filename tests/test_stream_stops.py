"""A stream stopped at any step of a chunk (Ctrl-C, a full disk) keeps every row it entered.

Ctrl-C is a KeyboardInterrupt raised at the chosen step of the third chunk (a test double for when the press
lands); the full disk is an ENOSPC from the row spool's writes. The sandbox is real, and every check of what was
entered reads its own record of entries.
"""

from __future__ import annotations

import errno
import re
from itertools import count

import pandas as pd
import pytest

import sfmc_nb
from sfmc_nb import SfmcWarning, enter_journey
from sfmc_nb import _rowspool as rowspool_module
from sfmc_nb._rowspool import _ARRAYS, _KEYS, RowSpool
from sfmc_nb.engine import stream as stream_module
from sfmc_nb.engine.retry import RunRetry
from sfmc_nb.engine.runner import Runner
from sfmc_nb.errors import AuthError

ROWS, SIZE = 500, 100
WRITES_PER_CHUNK = len(_ARRAYS) + len(_KEYS)   # the spool's files: one write each a chunk
FIRST_WRITE_OF_CHUNK_2 = 1 + 2 * WRITES_PER_CHUNK + 1   # after the spool's first offset and chunks 0 and 1


def people(n: int, prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:05d}" for i in range(n)],
                         "Email": [f"{prefix}{i}@example.com" for i in range(n)]})


def chunks(df: pd.DataFrame):
    for start in range(0, len(df), SIZE):
        yield df.iloc[start:start + SIZE]


def fail_on_call(monkeypatch, owner, name: str, nth: int, error: BaseException, *, after: bool = False,
                 and_later: bool = False) -> None:
    """``owner.name`` raises ``error`` at its ``nth`` call (before doing its work, or ``after`` it; with
    ``and_later`` at every later call too)."""
    real, calls = getattr(owner, name), count(1)

    def double(*args, **kwargs):
        n = next(calls)
        failing = n == nth or (and_later and n > nth)
        if failing and not after:
            raise error
        result = real(*args, **kwargs)
        if failing:
            raise error
        return result

    monkeypatch.setattr(owner, name, double)


# step -> (where Ctrl-C lands at the third chunk, what the note calls the step, rows the result covers)
STEPS = {
    "reading": (None, "interrupted while reading it", 200),
    "preparing": ((stream_module, "prepare", 3, False), "interrupted while preparing it", 200),
    "checking keys": ((stream_module, "digests", 3, False), "interrupted while preparing it", 200),
    "new result": ((stream_module, "new_result", 3, False), "interrupted while preparing it", 200),
    "opening the run": ((RunRetry, "runner", 3, False), "interrupted while sending it", 300),
    "ending the run": ((Runner, "run", 3, True), "interrupted while sending it", 300),
    "writing its rows": ((rowspool_module, "_write_bytes", FIRST_WRITE_OF_CHUNK_2 + 5, False),
                         "interrupted while writing its rows", 300),
}


def interrupt_at(step: str, monkeypatch, df: pd.DataFrame):
    """The source to enter, with Ctrl-C set to land at ``step`` of its third chunk."""
    where = STEPS[step][0]
    if where is None:
        def frames():
            yield from list(chunks(df))[:2]
            raise KeyboardInterrupt
        return frames()
    owner, name, nth, after = where
    fail_on_call(monkeypatch, owner, name, nth, KeyboardInterrupt(), after=after)
    return chunks(df)


def enter(source, sb, conn, **options):
    """``enter_journey`` on ``source``; a Ctrl-C it lets through fails the test (and not the whole session)."""
    try:
        return enter_journey(source, sb.event_key, data=["Email"], connection=conn, validate=False, **options)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C came through: the result of the rows entered so far was lost")


def go_on_from(result) -> int:
    """The row the result's note says to go on from."""
    notes = [w for w in result.warnings if "stream stopped at chunk" in w]
    assert len(notes) == 1, result.warnings
    return int(re.search(r"from row ([\d,]+) on", notes[0]).group(1).replace(",", ""))


def assert_result_shows_every_entry(sb, result) -> None:
    """Every contact the sandbox entered is in the result as queued, entered once; none entered but not shown."""
    entered = sb.entry_counts(sb.event_key)
    frame = result.to_frame()
    queued = set(frame["contactKey"][frame["status"] == "queued"])
    assert set(entered) == queued, "an entered contact is missing from the result (or shown queued but not entered)"
    assert max(entered.values()) == 1
    assert frame["status"].notna().all() and len(frame) == len(result)


@pytest.mark.parametrize("step", list(STEPS))
def test_ctrl_c_at_any_step_of_a_chunk_returns_every_row_entered(sandbox, monkeypatch, step):
    conn = sfmc_nb.connect(sandbox=sandbox, timeout=(2.0, 5.0), set_default=False)
    df = people(ROWS, "i")
    _, why, covered = STEPS[step]
    with pytest.warns(SfmcWarning, match=f"stream stopped at chunk 2, {why}"):
        res = enter(interrupt_at(step, monkeypatch, df), sandbox, conn, concurrency=2)
    assert res.interrupted and len(res) == covered == go_on_from(res)
    assert list(res.to_frame()["contactKey"]) == list(df["SubscriberKey"][:covered])
    assert_result_shows_every_entry(sandbox, res)
    assert sandbox.entry_counts(sandbox.event_key).total() >= 200   # chunks 0 and 1 went in

    # the note's way on: retry() the rows the result holds, then enter the rest from the row it names
    res.retry()
    rest = enter_journey(chunks(df.iloc[covered:]), sandbox.event_key, data=["Email"], connection=conn,
                         validate=False)
    assert res.counts["queued"] == covered and rest.counts["queued"] == ROWS - covered
    assert sandbox.entry_counts(sandbox.event_key) == {k: 1 for k in df["SubscriberKey"]}


def test_ctrl_c_while_the_result_is_put_together_still_returns_it_whole(sandbox, monkeypatch):
    conn = sfmc_nb.connect(sandbox=sandbox, timeout=(2.0, 5.0), set_default=False)
    df = people(ROWS, "f")
    fail_on_call(monkeypatch, RowSpool, "_joined", 1, KeyboardInterrupt())
    res = enter(chunks(df), sandbox, conn)
    assert len(res) == ROWS and res.counts["queued"] == ROWS and not res.interrupted
    assert_result_shows_every_entry(sandbox, res)


def test_a_full_disk_without_a_journal_returns_the_rows_entered(sandbox, monkeypatch):
    conn = sfmc_nb.connect(sandbox=sandbox, timeout=(2.0, 5.0), set_default=False)
    df = people(ROWS, "d")
    full = OSError(errno.ENOSPC, "No space left on device")
    fail_on_call(monkeypatch, rowspool_module, "_write_bytes", FIRST_WRITE_OF_CHUNK_2 + 3, full, and_later=True)
    with pytest.warns(SfmcWarning, match=r"stopped at chunk 2, writing its rows failed: OSError: \[Errno 28\]"):
        res = enter_journey(chunks(df), sandbox.event_key, data=["Email"], connection=conn, validate=False)
    assert res.interrupted and len(res) == 300 == go_on_from(res) and res.counts["queued"] == 300
    assert_result_shows_every_entry(sandbox, res)
    assert list(res.to_frame()["contactKey"]) == list(df["SubscriberKey"][:300])


@pytest.mark.parametrize("step", ["preparing", "opening the run", "writing its rows"])
def test_ctrl_c_at_any_step_with_a_journal_resumes_entering_nothing_twice(sandbox, monkeypatch, tmp_path, step):
    conn = sfmc_nb.connect(sandbox=sandbox, timeout=(2.0, 5.0), set_default=False)
    df, journal = people(ROWS, "j"), tmp_path / "stream.jsonl"
    with pytest.warns(SfmcWarning, match="run again with the same journal"):
        first = enter(interrupt_at(step, monkeypatch, df), sandbox, conn, journal=journal)
    assert first.interrupted and len(first) == STEPS[step][2]
    assert_result_shows_every_entry(sandbox, first)
    monkeypatch.undo()
    assert_the_journal_resumes_it(sandbox, conn, df, journal)


def assert_the_journal_resumes_it(sandbox, conn, df: pd.DataFrame, journal) -> None:
    """Running again with the journal enters the rest: every contact of ``df`` entered exactly once."""
    with pytest.warns(SfmcWarning, match="resumed from"):
        again = enter_journey(chunks(df), sandbox.event_key, data=["Email"], connection=conn, validate=False,
                              journal=journal)
    assert again.counts["queued"] == ROWS
    assert sandbox.entry_counts(sandbox.event_key) == {k: 1 for k in df["SubscriberKey"]}


def test_a_full_disk_with_a_journal_is_raised_and_the_journal_resumes_it(sandbox, monkeypatch, tmp_path):
    conn = sfmc_nb.connect(sandbox=sandbox, timeout=(2.0, 5.0), set_default=False)
    df, journal = people(ROWS, "n"), tmp_path / "stream.jsonl"
    fail_on_call(monkeypatch, rowspool_module, "_write_bytes", FIRST_WRITE_OF_CHUNK_2, OSError(errno.ENOSPC, "full"),
                 and_later=True)
    with pytest.raises(OSError, match="full"):
        enter_journey(chunks(df), sandbox.event_key, data=["Email"], connection=conn, validate=False,
                      journal=journal)
    assert sandbox.entry_counts(sandbox.event_key).total() == 300
    monkeypatch.undo()
    assert_the_journal_resumes_it(sandbox, conn, df, journal)


def test_ctrl_c_while_a_csv_chunk_is_prepared_returns_the_rows_of_the_chunks_before(sandbox, monkeypatch, tmp_path):
    conn = sfmc_nb.connect(sandbox=sandbox, timeout=(2.0, 5.0), set_default=False)
    path = tmp_path / "contacts.csv"
    people(ROWS, "v").to_csv(path, index=False)
    fail_on_call(monkeypatch, stream_module, "prepare", 4, KeyboardInterrupt())
    with pytest.warns(SfmcWarning, match="stream stopped at chunk 3, interrupted while preparing it"):
        res = enter(path, sandbox, conn, chunk_rows=SIZE)
    assert res.interrupted and len(res) == 300 == go_on_from(res) and res.counts["queued"] == 300
    assert_result_shows_every_entry(sandbox, res)


def test_a_chunk_whose_run_an_answer_stops_ends_the_stream(sandbox, monkeypatch):
    """Credentials revoked while the third chunk is sent: that chunk's run stops, and so does the stream; the
    chunks after it are never sent, and the result covers the rows up to it."""
    conn = sfmc_nb.connect(sandbox=sandbox, timeout=(2.0, 5.0), set_default=False)
    df = people(ROWS, "a")
    real_get = conn.tokens.get

    def revoked_after_two_chunks():
        if sandbox.entry_counts(sandbox.event_key).total() >= 2 * SIZE:
            raise AuthError("the token endpoint refused the credentials (revoked)", status=401)
        return real_get()

    monkeypatch.setattr(conn.tokens, "get", revoked_after_two_chunks)
    with pytest.warns(SfmcWarning, match="run stopped: "), \
            pytest.warns(SfmcWarning, match="stream stopped at chunk 2, its run stopped"):
        res = enter(chunks(df), sandbox, conn, concurrency=1)
    assert res.interrupted and len(res) == 300 == go_on_from(res)
    assert any(w.startswith("run stopped: ") and "revoked" in w for w in res.warnings)
    assert sandbox.entry_counts(sandbox.event_key) == {k: 1 for k in df["SubscriberKey"][:200]}
    assert res.counts["queued"] == 200 and res.counts["failed"] == 100
