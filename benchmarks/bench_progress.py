"""What a progress callback costs a run: the same entry with and without one that does nothing.

Starts the sandbox in its own process (no latency, so the client's own work is what is measured), then for each
row count enters the rows four times, twice with ``progress=None`` and twice with a callback that does nothing
(in the order off, on, on, off), and prints the mean times and their ratio. Goal: the run with a callback
within 10% of the run without.

    python benchmarks/bench_progress.py                        # 300,000 and 1,000,000 rows
    python benchmarks/bench_progress.py --rows 300000
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from bench_entry import start_sandbox

import sfmc_nb
from sfmc_nb import enter_journey


def frame(rows: int, prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:08d}" for i in range(rows)],
                         "Email": [f"{prefix}{i}@example.com" for i in range(rows)],
                         "FirstName": ["Ann", "Bo", "Cy", "Di"] * (rows // 4) + ["Ed"] * (rows % 4)})


def timed(conn: sfmc_nb.Connection, event: str, rows: int, prefix: str, progress) -> float:
    data = frame(rows, prefix)
    t0 = time.perf_counter()
    res = enter_journey(data, event, data=["Email", "FirstName"], connection=conn, validate=False,
                        progress=progress, concurrency=8)
    seconds = time.perf_counter() - t0
    assert res.counts["queued"] == rows, res.counts
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[300_000, 1_000_000])
    args = parser.parse_args()

    proc, env = start_sandbox()
    try:
        conn = sfmc_nb.connect(auth_base_url=env["SFMC_AUTH_BASE_URL"], client_id=env["SFMC_CLIENT_ID"],
                               client_secret=env["SFMC_CLIENT_SECRET"], set_default=False, pool_size=16)
        for rows in args.rows:
            # off, on, on, off: the sandbox grows with every run, so neither side always runs on the larger one
            off1 = timed(conn, env["event"], rows, f"off{rows}a", None)
            on1 = timed(conn, env["event"], rows, f"on{rows}a", lambda event: None)
            on2 = timed(conn, env["event"], rows, f"on{rows}b", lambda event: None)
            off2 = timed(conn, env["event"], rows, f"off{rows}b", None)
            off, on = (off1 + off2) / 2, (on1 + on2) / 2
            print(f"{rows:>10,} rows: progress off {off:6.1f} s, a callback that does nothing {on:6.1f} s, "
                  f"ratio {on / off:.2f} (goal <= 1.10)", flush=True)
    finally:
        proc.kill()


if __name__ == "__main__":
    main()
