"""``res.wait()`` and ``res.trace()`` of a large run: time, requests and peak memory.

Starts the sandbox in its own process (client and server do not share a GIL), enters ``--rows`` contacts into the
demo Welcome journey, then prints for ``res.wait()``, ``res.trace()`` and ``res.trace().paths``: seconds,
REST requests sent and the client's peak resident memory above what it held before the call (sampled every 20 ms).
Each size runs in a fresh sandbox; the smaller size is there for comparison.

    python benchmarks/bench_trace.py                          # 20,000 and 1,000,000 rows
    python benchmarks/bench_trace.py --rows 200000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_entry import start_sandbox  # noqa: E402

import sfmc_nb  # noqa: E402

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def measure(conn: sfmc_nb.Connection, call: Callable[[], Any]) -> tuple[Any, float, int, float]:
    """(result, seconds, requests sent, peak MiB above the resident memory before the call)."""
    base, peak, done = rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent, t0 = conn.requests_sent, time.perf_counter()
    try:
        result = call()
    finally:
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
    peak[0] = max(peak[0], rss())
    return result, seconds, conn.requests_sent - sent, (peak[0] - base) / 2**20


def run(rows: int) -> None:
    proc, env = start_sandbox("--process-delay", "0", "--day-seconds", "86400")
    try:
        conn = sfmc_nb.connect(auth_base_url=env["SFMC_AUTH_BASE_URL"], client_id=env["SFMC_CLIENT_ID"],
                               client_secret=env["SFMC_CLIENT_SECRET"], set_default=False, pool_size=16)
        df = pd.DataFrame({"SubscriberKey": [f"t-{i:07d}" for i in range(rows)]})
        df["Email"] = df["SubscriberKey"] + "@example.com"
        t0 = time.perf_counter()
        res = sfmc_nb.enter_journey(df, env["event"], data=["Email"], connection=conn, validate=False,
                                    progress=False, concurrency=8)
        print(f"{rows:>9,} rows entered in {time.perf_counter() - t0:.1f} s: {res.counts}", flush=True)
        _, seconds, calls, mib = measure(conn, lambda: res.wait(timeout=3600))
        print(f"          res.wait():        {seconds:7.1f} s  {calls:>6,} requests  peak +{mib:,.0f} MiB   "
              f"{res.processing_counts}", flush=True)
        tr, seconds, calls, mib = measure(conn, res.trace)
        print(f"          res.trace():       {seconds:7.1f} s  {calls:>6,} requests  peak +{mib:,.0f} MiB   "
              f"{int(tr.counts.max()):,} contacts at the busiest activity", flush=True)
        paths, seconds, calls, mib = measure(conn, lambda: tr.paths)
        print(f"          tr.paths:          {seconds:7.1f} s  {calls:>6,} requests  peak +{mib:,.0f} MiB   "
              f"{len(paths):,} contacts, {paths['at'].nunique()} places", flush=True)
        conn.close()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:      # busy writing a large answer: stop it
            proc.kill()
            proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="contacts to enter (repeatable)")
    args = parser.parse_args()
    for rows in args.rows or [20_000, 1_000_000]:
        run(rows)


if __name__ == "__main__":
    main()
