"""Entry under an API quota: how much of the quota a run uses and how many of its calls are refused.

Starts the sandbox in its own process with a quota (a token bucket: ``--quota`` batch calls a second, bursts of
as many, 429 + ``Retry-After: 1`` beyond it) and a latency per call, enters contacts at the given concurrency and
prints:

* quota used: calls admitted / (the bucket's burst + quota x run seconds), the most the bucket could admit;
* calls refused: 429 answers / all calls;
* the same two figures with the send rate switched off (the concurrency limit alone, as before pacing);
* the same run without a quota (pacing must add no wait when nothing is refused);
* one 429 burst counted once: a run against a tighter quota with 429s in both styles, ``Retry-After`` in the
  header or only errorcode 50200 in the body (the engine's own backoff), which should take about as long.

    python benchmarks/bench_pacing.py                          # 60,000 contacts, 40 calls/s, 60 ms, concurrency 16
    python benchmarks/bench_pacing.py --rows 20000 --skip-styles
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd
from bench_entry import start_sandbox

import sfmc_nb
from sfmc_nb import enter_journey
from sfmc_nb.engine.throttle import Pacer


def frame(rows: int, prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:07d}" for i in range(rows)],
                         "Email": [f"{prefix}{i}@example.com" for i in range(rows)]})


def run(rows: int, concurrency: int, *flags: str) -> tuple[float, int, int]:
    """Enter ``rows`` contacts against a fresh sandbox started with ``flags``: (seconds, calls, refused calls)."""
    proc, env = start_sandbox(*flags)
    try:
        conn = sfmc_nb.connect(auth_base_url=env["SFMC_AUTH_BASE_URL"], client_id=env["SFMC_CLIENT_ID"],
                               client_secret=env["SFMC_CLIENT_SECRET"], set_default=False,
                               pool_size=max(16, concurrency))
        df = frame(rows, "p")
        t0 = time.perf_counter()
        res = enter_journey(df, env["event"], data=["Email"], connection=conn, concurrency=concurrency,
                            validate=False)
        seconds = time.perf_counter() - t0
        if res.counts["queued"] != rows:
            raise SystemExit(f"not every row queued: {dict(res.counts)}")
        return seconds, res.requests, res.throttled_waits
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--quota", type=float, default=40.0, help="batch calls a second the sandbox admits")
    parser.add_argument("--latency", type=float, default=0.06)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--style-rows", type=int, default=5_000, help="rows of the 429-style comparison")
    parser.add_argument("--style-quota", type=float, default=10.0)
    parser.add_argument("--style-latency", type=float, default=0.02)
    parser.add_argument("--skip-styles", action="store_true", help="leave out the 429-style comparison")
    args = parser.parse_args()
    latency = ["--latency", str(args.latency)]

    print(f"quota {args.quota:g} calls/s, {args.latency * 1000:g} ms a call, concurrency {args.concurrency}, "
          f"{args.rows:,} contacts")
    learns = Pacer.MIN_SAMPLES
    for label, samples in (("paced", learns), ("unpaced", sys.maxsize)):
        Pacer.MIN_SAMPLES = samples          # never enough answers to learn from: the concurrency limit alone
        try:
            seconds, calls, refused = run(args.rows, args.concurrency, "--rate-limit", str(args.quota), *latency)
        finally:
            Pacer.MIN_SAMPLES = learns
        quota = args.quota * (1 + seconds)   # a full bucket at the start, then the refill
        print(f"  {label:8} {seconds:6.2f} s   quota used {100 * (calls - refused) / quota:5.1f} %   "
              f"calls refused {100 * refused / calls:4.1f} % ({refused} of {calls})")
    free, calls, refused = run(args.rows, args.concurrency, *latency)
    print(f"no quota: {free:6.2f} s ({calls} calls, {refused} refused)")
    if args.skip_styles:
        return
    print(f"429 styles: {args.style_rows:,} contacts, concurrency 8, quota {args.style_quota:g} calls/s, "
          f"{args.style_latency * 1000:g} ms a call")
    for style in ("header", "body"):
        seconds, calls, refused = run(args.style_rows, 8, "--rate-limit", str(args.style_quota),
                                      "--rate-limit-style", style, "--latency", str(args.style_latency))
        print(f"  {style:6}  {seconds:6.2f} s   {refused} of {calls} calls refused")


if __name__ == "__main__":
    main()
