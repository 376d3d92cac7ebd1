"""A large result in the notebook: how long errors(), the HTML display and the panel take on 1,000,000 rows.

Builds a result the way a run does (``set_row`` per row, one row in seven refused, one batch record per 100
rows, a few raw answers), then times each call several times and prints the median (and the range); then the
same for a run interrupted before it sent anything (every row to retry). No server:
the result alone is measured. Goal: ``show()`` builds the panel and its first page in well under a second
(median <= 0.5 s, so a noisy shared machine never takes it over 1 s); ``errors()`` and ``error_reasons()`` stay
quick. The panel's other tabs are built when first selected, so opening them is timed too.

    python benchmarks/bench_result.py                # 1,000,000 rows, 5 repetitions
    python benchmarks/bench_result.py --rows 300000 --repeat 9
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd

import sfmc_nb  # noqa: F401  (registers the panel that show() builds)
import sfmc_nb.widgets  # noqa: F401  (imported now: ipywidgets' first import is a second of its own)
from sfmc_nb.results import NOT_SENT, BatchRecord, EntryResult

SHOW_GOAL = 0.5   # seconds, median of show() at 1,000,000 rows


def build(n: int) -> EntryResult:
    """A finished run's result: one row in seven refused (a bad email), batches of 100."""
    res = EntryResult("E", pd.RangeIndex(n), [f"k{i:07d}" for i in range(n)])
    for p in range(n):
        if p % 7:
            res.set_row(p, "queued", event_instance_id=str(uuid.uuid4()), request_id=f"req{p // 100}",
                        batch=p // 100, attempts=1)
        else:
            res.set_row(p, "not_queued", errorcode=30000, message="bad email", request_id=f"req{p // 100}",
                        batch=p // 100, attempts=1)
    res.batch_records = [BatchRecord(b, min(100, n - 100 * b), f"req{b}", 202, 1, 0.05, "partial")
                         for b in range(-(-n // 100))]
    for b in range(3):
        res.add_raw({"requestId": f"req{b}", "count": 100, "notQueuedCount": 15, "members": []})
    res.requests, res.seconds = len(res.batch_records), 60.0
    return res


def build_interrupted(n: int) -> EntryResult:
    """A run interrupted before its first batch: every row skipped as "not sent", all of them to retry."""
    res = EntryResult("E", pd.RangeIndex(n), [f"k{i:07d}" for i in range(n)])
    for p in range(n):
        res.set_row(p, "skipped", message=NOT_SENT)
    res.interrupted = True
    return res


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return times


def first_click(res: EntryResult, title: str, repeat: int) -> list[float]:
    """What the first click on the tab ``title`` of a fresh panel costs (building the panel is not timed)."""
    times = []
    for _ in range(repeat):
        panel = res.show()
        index = list(panel.tabs.titles).index(title)
        t0 = time.perf_counter()
        panel.tabs.selected_index = index
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.rows, args.repeat
    t0 = time.perf_counter()
    res = build(n)
    print(f"{n:,} rows built with set_row in {time.perf_counter() - t0:.2f} s; medians of {repeat} runs")
    show = time_finished(res, repeat)
    del res
    print(f"{n:,} rows of an interrupted run (every row not sent, so every row in the Errors tab):")
    time_interrupted(build_interrupted(n), repeat)
    verdict = "met" if show <= SHOW_GOAL else "NOT met"
    print(f"goal: show() median <= {SHOW_GOAL} s at 1,000,000 rows: {show:.3f} s, {verdict}"
          + ("" if n == 1_000_000 else f" (at {n:,} rows)"))


def time_finished(res: EntryResult, repeat: int) -> float:
    """Each call on a finished run's result; returns the median of show()."""
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("show() (the panel, first page)", res.show),
        ("show() + its display bundle", lambda: res.show()._repr_mimebundle_()),
        ("errors()", res.errors),
        ("error_reasons()", res.error_reasons),
        ("_repr_html_()", res._repr_html_),
        ("repr()", lambda: repr(res)),
    ]
    show = 0.0
    for name, call in cases:
        times = timed(call, repeat)
        show = show or statistics.median(times)
        report(name, times)
    for title in ("Errors", "All rows", "Raw"):
        report(f"panel: first click on {title!r}", first_click(res, title, repeat))
    panel = res.show()
    panel.tabs.selected_index = list(panel.tabs.titles).index("All rows")
    report("panel: All rows, next page", timed(lambda: panel.rows_pager.next_button.click(), repeat))
    report("to_frame()", timed(res.to_frame, 1))
    return show


def time_interrupted(res: EntryResult, repeat: int) -> None:
    report("show() (the panel, first page)", timed(res.show, repeat))
    report("show() + its display bundle", timed(lambda: res.show()._repr_mimebundle_(), repeat))
    report("panel: first click on 'Errors'", first_click(res, "Errors", repeat))


def report(name: str, times: list[float]) -> None:
    print(f"  {name:<34} {statistics.median(times):6.3f} s  (range {min(times):.3f} - {max(times):.3f})",
          flush=True)


if __name__ == "__main__":
    main()
