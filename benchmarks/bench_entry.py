"""End-to-end entry speed against the sandbox with network-like latency.

Starts the sandbox in its own process (so client and server do not share a GIL) with a fixed
latency, then enters the same number of contacts three ways and prints figures and ratios:

* the engine (``enter_journey``) at the given concurrency;
* the theoretical limit: batches / concurrency x latency;
* a sequential loop over the same 100-member batches (what a hand-written script does).

    python benchmarks/bench_entry.py                   # 30,000 contacts, 40 ms, concurrency 8
    python benchmarks/bench_entry.py --rows 5000 --latency 0.02
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time

import pandas as pd

import sfmc_nb
from sfmc_nb import enter_journey
from sfmc_nb.batching import prepare


def start_sandbox(*flags: str) -> tuple[subprocess.Popen, dict[str, str]]:
    """``python -m sfmc_nb.sandbox`` with these flags, in its own process; its settings as printed (plus the demo
    event key). The one way every benchmark starts its sandbox."""
    proc = subprocess.Popen([sys.executable, "-m", "sfmc_nb.sandbox", *flags],
                            stdout=subprocess.PIPE, text=True)
    settings: dict[str, str] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "event" not in settings:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            break
        if "=" in line and line.startswith("SFMC_"):
            name, _, value = line.strip().partition("=")
            settings[name] = value
        elif line.startswith("Demo event key:"):
            settings["event"] = line.split(":", 1)[1].split()[0]
    if "event" not in settings:
        proc.kill()
        raise SystemExit("the sandbox did not start")
    return proc, settings


def frame(rows: int, prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:07d}" for i in range(rows)],
                         "Email": [f"{prefix}{i}@example.com" for i in range(rows)],
                         "FirstName": ["Ann", "Bo", "Cy", None] * (rows // 4) + ["Di"] * (rows % 4)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--latency", type=float, default=0.04)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    proc, env = start_sandbox("--latency", str(args.latency))
    try:
        conn = sfmc_nb.connect(auth_base_url=env["SFMC_AUTH_BASE_URL"], client_id=env["SFMC_CLIENT_ID"],
                               client_secret=env["SFMC_CLIENT_SECRET"], set_default=False,
                               pool_size=max(16, args.concurrency))
        event = env["event"]
        batches = math.ceil(args.rows / 100)
        limit = batches / args.concurrency * args.latency

        t0 = time.perf_counter()
        res = enter_journey(frame(args.rows, "eng"), event, data=["Email", "FirstName"], connection=conn,
                            concurrency=args.concurrency, validate=False)
        engine = time.perf_counter() - t0
        assert res.counts["queued"] == args.rows, res.counts

        prepared = prepare(frame(args.rows, "seq"), "SubscriberKey", ["Email", "FirstName"])
        t0 = time.perf_counter()
        queued = 0
        for batch in prepared.batches(100):
            answer = conn.enter_batch(event, batch.members)
            queued += len(answer.members) - (answer.not_queued_count or 0)
        loop = time.perf_counter() - t0
        assert queued == args.rows

        print(f"contacts {args.rows:,} in {batches} batches, latency {args.latency * 1000:.0f} ms, "
              f"concurrency {args.concurrency}")
        print(f"engine (enter_journey)   {engine:8.2f} s   {args.rows / engine:10,.0f} contacts/s")
        print(f"limit (b/c x latency)    {limit:8.2f} s")
        print(f"sequential loop          {loop:8.2f} s   {args.rows / loop:10,.0f} contacts/s")
        print(f"engine / limit           {engine / limit:8.2f}x   (aim: <= 1.25x)")
        print(f"loop / engine            {loop / engine:8.2f}x   (aim: >= 6x)")
        print(f"requests {res.requests}, retries {res.retries}, throttled waits {res.throttled_waits}")
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
