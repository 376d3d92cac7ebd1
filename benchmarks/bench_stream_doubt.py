"""Lost answers in a stream: the same rows entered as one DataFrame and as a stream of chunks.

A batch whose answer was lost, and which the status endpoint does not list yet, waits out its landing horizon
before its rows are looked up for the last time. A DataFrame's run lets its other batches go on meanwhile, so it
waits about one horizon in all; a stream lets its next chunks go meanwhile (a few chunks wait at most), where it
once waited out each chunk's horizons before reading the next. Starts the sandbox in its own process with a share
of lost answers and a status endpoint that lists an entry a little late (the first look finds nothing), enters the
same number of contacts both ways (fresh keys each, same horizon) and prints the seconds and their ratio; both
results must queue every row.

    python benchmarks/bench_stream_doubt.py                            # 100,000 rows, chunks of 10,000
    python benchmarks/bench_stream_doubt.py --rows 50000 --chunk-rows 5000 --horizon 3
"""

from __future__ import annotations

import argparse
import time

from bench_entry import frame, start_sandbox

import sfmc_nb
from sfmc_nb import enter_journey


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--horizon", type=float, default=4.0, help="landing_horizon, seconds")
    parser.add_argument("--lost", type=float, default=0.01, help="share of batch answers lost")
    parser.add_argument("--status-lag", type=float, default=2.0,
                        help="seconds before an entry shows in the status endpoint (the first look misses it)")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    proc, env = start_sandbox("--lost-answer-rate", str(args.lost), "--status-lag", str(args.status_lag),
                              "--seed", "3")
    try:
        conn = sfmc_nb.connect(auth_base_url=env["SFMC_AUTH_BASE_URL"], client_id=env["SFMC_CLIENT_ID"],
                               client_secret=env["SFMC_CLIENT_SECRET"], set_default=False,
                               pool_size=max(16, args.concurrency))
        options = dict(data=["Email", "FirstName"], connection=conn, concurrency=args.concurrency, validate=False,
                       landing_horizon=args.horizon)
        figures = {}
        for way, df in (("one DataFrame", frame(args.rows, "one")), ("stream", frame(args.rows, "str"))):
            source = df if way == "one DataFrame" else \
                (df.iloc[s:s + args.chunk_rows] for s in range(0, args.rows, args.chunk_rows))
            t0 = time.perf_counter()
            res = enter_journey(source, env["event"], **options)
            figures[way] = time.perf_counter() - t0
            assert res.counts["queued"] == args.rows, res.counts
            print(f"{way:<14} {figures[way]:7.1f} s   reconciliations {res.reconciliations:4d}   "
                  f"requests {res.requests:6,}")
        chunks = -(-args.rows // args.chunk_rows)
        print(f"{args.rows:,} rows, {chunks} chunks of {args.chunk_rows:,}, {args.lost:.0%} answers lost, "
              f"status lag {args.status_lag:g} s, horizon {args.horizon:g} s, concurrency {args.concurrency}")
        print(f"stream / one DataFrame {figures['stream'] / figures['one DataFrame']:6.2f}x")
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
