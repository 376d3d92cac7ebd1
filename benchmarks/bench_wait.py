"""``res.wait(timeout=...)`` against a status endpoint that misbehaves: how long the wait really takes.

Enters ``--rows`` contacts into the sandbox (nothing is processed: every batch stays queued), then makes the status
endpoint slow (``--delay`` seconds an answer), hang (an hour an answer), answer 500, or answer 429 with a long
``Retry-After``, and prints how long ``res.wait(timeout=--timeout)`` took, with the connection's default timeouts and
retry policy, and what the rows say afterwards. A whole pass over the batches would take far longer than the timeout.

    python benchmarks/bench_wait.py                                  # 20,000 rows, 300 ms, timeout=3, every scenario
    python benchmarks/bench_wait.py --scenario slow --rows 200000 --timeout 120
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sfmc_nb  # noqa: E402
from sfmc_nb import sandbox  # noqa: E402

SCENARIOS = ("slow", "hang", "500", "429")


def faults(scenario: str, delay: float) -> dict:
    return {"slow": {"latency": delay}, "hang": {"latency": 3600.0}, "500": {"error_rate": 1.0},
            "429": {"rate_limit": 0.01, "retry_after": 60}}[scenario]


def run(scenario: str, rows: int, delay: float, timeout: float) -> None:
    with sandbox.start(seed=0, process_delay=3600, day_seconds=3600) as sb:
        conn = sfmc_nb.connect(sandbox=sb, set_default=False)
        df = pd.DataFrame({"SubscriberKey": [f"w-{i:07d}" for i in range(rows)]})
        res = sfmc_nb.enter_journey(df, sb.event_key, connection=conn, validate=False, progress=False)
        sb.configure(**faults(scenario, delay))
        asked = len(sb.request_log)
        t0 = time.monotonic()
        res.wait(timeout=timeout)
        seconds = time.monotonic() - t0
        calls = len(sb.request_log) - asked
        notes = res.to_frame()["processing_message"].value_counts()
        print(f"{scenario:>5}: {rows:,} rows, timeout={timeout:g}: wait returned after {seconds:.1f} s "
              f"({calls} status calls answered); {res.processing_counts}")
        for note, count in notes.head(2).items():
            print(f"        {count:,} rows: {note}")
        sb.reset_faults()   # a hanging request is released when the sandbox stops
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds a status answer takes (slow)")
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--scenario", choices=SCENARIOS, action="append")
    args = parser.parse_args()
    for scenario in args.scenario or SCENARIOS:
        run(scenario, args.rows, args.delay, args.timeout)


if __name__ == "__main__":
    main()
