"""What a progress callback costs a run: the same entry with and without one that does nothing.

Starts the sandbox in its own process (no latency, so the client's own work is what is measured), then for each
row count enters the rows four times, twice with ``progress=None`` and twice with a callback that does nothing
(in the order off, on, on, off), and prints the mean times and their ratio, and the same for the client
process's CPU time. Goal: the run with a callback within 10% of the run without.

With ``--stream`` the rows are a CSV file entered as a stream (read 100,000 rows at a time), whose progress
sums its chunks' runs into one run: the same four runs of the same file, off, on, on, off.

    python benchmarks/bench_progress.py                        # 300,000 and 1,000,000 rows
    python benchmarks/bench_progress.py --rows 300000
    python benchmarks/bench_progress.py --stream               # a streamed CSV of 300,000 and 1,000,000 rows
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from bench_entry import start_sandbox
from bench_stream import write_csv

import sfmc_nb
from sfmc_nb import enter_journey


def frame(rows: int, prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:08d}" for i in range(rows)],
                         "Email": [f"{prefix}{i}@example.com" for i in range(rows)],
                         "FirstName": ["Ann", "Bo", "Cy", "Di"] * (rows // 4) + ["Ed"] * (rows % 4)})


def new_frame(rows: int, run: str) -> pd.DataFrame:
    """New contacts for each run."""
    return frame(rows, f"{run}{rows}")


def same_file(path: str, run: str) -> str:
    """The same file for each run."""
    return path


def nothing(event: object) -> None:
    """A progress callback that does nothing: what is measured is what the engine spends to call it."""


def timed(conn: sfmc_nb.Connection, event: str, rows: int, data: pd.DataFrame | str,
          progress: Callable[[object], None] | None) -> tuple[float, float]:
    """Wall seconds and the client process's CPU seconds (all its threads) of one entry."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    res = enter_journey(data, event, data=["Email", "FirstName"], connection=conn, validate=False,
                        progress=progress, concurrency=8)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert res.counts["queued"] == rows, res.counts
    return seconds, cpu


def compare(conn: sfmc_nb.Connection, event: str, rows: int, source: Callable[[str], pd.DataFrame | str],
            what: str) -> None:
    """off, on, on, off: the sandbox grows with every run, so neither side always runs on the larger one.

    Besides the wall time, the client's CPU time: on a machine other work shares, it moves less than the wall
    time, and the callback's cost is CPU the client spends."""
    runs = {run: timed(conn, event, rows, source(run), progress)
            for run, progress in (("off-a", None), ("on-a", nothing), ("on-b", nothing), ("off-b", None))}

    def mean(side: str, which: int) -> float:
        return (runs[f"{side}-a"][which] + runs[f"{side}-b"][which]) / 2

    off, on, cpu_off, cpu_on = mean("off", 0), mean("on", 0), mean("off", 1), mean("on", 1)
    print(f"{rows:>10,} rows{what}: progress off {off:6.1f} s, a callback that does nothing {on:6.1f} s, "
          f"ratio {on / off:.2f} (goal <= 1.10); client CPU {cpu_off:.1f} s / {cpu_on:.1f} s, "
          f"ratio {cpu_on / cpu_off:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[300_000, 1_000_000])
    parser.add_argument("--stream", action="store_true", help="enter a CSV file as a stream instead of a DataFrame")
    args = parser.parse_args()

    proc, env = start_sandbox()
    try:
        conn = sfmc_nb.connect(auth_base_url=env["SFMC_AUTH_BASE_URL"], client_id=env["SFMC_CLIENT_ID"],
                               client_secret=env["SFMC_CLIENT_SECRET"], set_default=False, pool_size=16)
        for rows in args.rows:
            if not args.stream:
                compare(conn, env["event"], rows, functools.partial(new_frame, rows), "")
                continue
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "contacts.csv"
                write_csv(path, rows)
                compare(conn, env["event"], rows, functools.partial(same_file, str(path)), " (CSV, streamed)")
    finally:
        proc.kill()


if __name__ == "__main__":
    main()
