"""A large result in the notebook: how long errors(), the HTML display and the panel take on 1,000,000 rows.

Builds a result the way a run does (``set_row`` per row; one row in seven refused), then times each call once.
No server: the result alone is measured.

    python benchmarks/bench_result.py                # 1,000,000 rows
    python benchmarks/bench_result.py --rows 300000
"""

from __future__ import annotations

import argparse
import time
import uuid

import pandas as pd

import sfmc_nb  # noqa: F401  (registers the panel that show() builds)
import sfmc_nb.widgets  # noqa: F401  (imported now: ipywidgets' first import is a second of its own)
from sfmc_nb.results import EntryResult


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.rows
    t0 = time.perf_counter()
    res = EntryResult("E", pd.RangeIndex(n), [f"k{i:07d}" for i in range(n)])
    for p in range(n):
        if p % 7:
            res.set_row(p, "queued", event_instance_id=str(uuid.uuid4()), request_id=f"req{p // 100}",
                        batch=p // 100, attempts=1)
        else:
            res.set_row(p, "not_queued", errorcode=30000, message="bad email", request_id=f"req{p // 100}",
                        batch=p // 100, attempts=1)
    print(f"{n:,} rows built with set_row in {time.perf_counter() - t0:.2f} s")
    for name, call in [("errors()", res.errors), ("_repr_html_()", res._repr_html_), ("repr()", lambda: repr(res)),
                       ("show() (the panel)", res.show), ("to_frame()", res.to_frame)]:
        t0 = time.perf_counter()
        call()
        print(f"  {name:<20} {time.perf_counter() - t0:6.3f} s", flush=True)


if __name__ == "__main__":
    main()
