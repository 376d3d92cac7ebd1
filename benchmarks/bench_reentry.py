"""What the re-entry guard (a cell run twice is refused) costs a 1,000,000-row run.

Times the guard's own work on real objects in this process (an in-process sandbox gives the connection; the guard
sends no request): the first run of the kernel remembering its 1,000,000 queued keys at its end, a later run of
1,000,000 other contacts checked before sending and then remembered, and the first run's contacts again, refused.
Prints each in ms next to ``prepare()`` of the same rows (work every run does anyway) and to the time a
1,000,000-row entry takes (``--rate`` contacts a second: bench_stream.py's fastest), and the memory the records hold.

    python benchmarks/bench_reentry.py                   # 1,000,000 rows, best of 5
    python benchmarks/bench_reentry.py --rows 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

import sfmc_nb
from sfmc_nb.batching import prepare
from sfmc_nb.engine import reentry
from sfmc_nb.errors import AlreadyEnteredError
from sfmc_nb.results import EntryResult


def frame(rows: int, prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:07d}" for i in range(rows)]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rate", type=float, default=30_000.0,
                        help="contacts a second of an entry (bench_stream.py's fastest 1,000,000-row run)")
    args = parser.parse_args()

    with sfmc_nb.sandbox.start() as sb:
        conn = sfmc_nb.connect(sandbox=sb, set_default=False)
        event = sb.event_key
        first, second = (prepare(frame(args.rows, p), "SubscriberKey", []) for p in ("a", "b"))
        t0 = time.perf_counter()
        prepare(frame(args.rows, "c"), "SubscriberKey", [])
        prepare_ms = (time.perf_counter() - t0) * 1000
        entered = [EntryResult(event, p.index, p.keys, status=["queued"] * args.rows) for p in (first, second)]

        def guard() -> reentry.EntryGuard:
            return reentry.EntryGuard(conn, event, again=False, journal=None, dry_run=False)

        timings: dict[str, list[float]] = {"first": [], "later": [], "refused": []}
        for _ in range(args.repeat):   # the machine is shared: the shortest of the repeats is the cost
            reentry.forget()
            t0 = time.perf_counter()
            run = guard()
            run.refuse(first)                       # nothing remembered yet: nothing to check
            run.record(entered[0])                  # 1,000,000 queued keys remembered
            t1 = time.perf_counter()
            run = guard()
            run.refuse(second)                      # 1,000,000 other contacts checked: allowed
            run.record(entered[1])                  # remembered (digests of the check reused)
            t2 = time.perf_counter()
            try:
                guard().refuse(first)               # the first run again: refused
            except AlreadyEnteredError:
                pass
            else:
                raise AssertionError("the same contacts again were not refused")
            t3 = time.perf_counter()
            for name, seconds in zip(timings, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                timings[name].append(seconds * 1000)
        held = sum(r.digests.nbytes for runs in reentry._runs.values() for r in runs)
        conn.close()

    first_ms, later_ms, refused_ms = (min(t) for t in timings.values())
    entry_ms = args.rows / args.rate * 1000
    print(f"rows {args.rows:,}, best of {args.repeat}")
    print(f"prepare() of the rows (every run does it)   {prepare_ms:8.1f} ms")
    print(f"the entry at {args.rate:,.0f} contacts/s            {entry_ms:8.1f} ms")
    print(f"guard, first run (record at its end)        {first_ms:8.1f} ms   {first_ms / entry_ms:6.2%} of the entry")
    print(f"guard, a later run (check + record)         {later_ms:8.1f} ms   {later_ms / entry_ms:6.2%} of the entry")
    print(f"guard, a run entered before (refused)       {refused_ms:8.1f} ms   (nothing sent)")
    print(f"memory held after two runs                  {held / 1e6:8.1f} MB   ({held / (2 * args.rows):.0f} bytes a "
          "contact)")


if __name__ == "__main__":
    main()
