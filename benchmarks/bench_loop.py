"""The engine beside the physical limit and beside the plain loop a newcomer writes from the docs.

Starts the sandbox in its own process (so client and server do not share a GIL), then, in one run:

1. **Latency**: 30,000 contacts, 40 ms a request, concurrency 8: the engine's wall time against the physical
   limit, batches / concurrency x latency. Goal: <= 1.10x.
2. **Client CPU**: no latency, 200,000 rows x 3 columns: the client process's CPU time a row
   (``time.process_time``, all its threads) of the engine, with its checks (pre-flight, validation), its result
   and a progress callback on, against the plain loop: ``df.to_dict("records")``, one ``requests.Session``, one
   POST of 100 members after the other, the answers kept in a list. Goal: engine <= 0.8x the loop's CPU a row.

Each part runs the engine and the loop in turn (``--repeat`` times, alternated) with new contacts every time.
``--part million`` enters one 1,000,000-row DataFrame (no latency, checks and result on, progress off) and prints
rows/s and the growth of the process's peak memory during the run (the frame made beforehand); the
1,000,000-row CSV stream is ``bench_stream.py``'s.

    python benchmarks/bench_loop.py                        # both parts, twice each
    python benchmarks/bench_loop.py --part million         # a 1,000,000-row DataFrame, end to end
    python benchmarks/bench_loop.py --part cpu --repeat 3
    python benchmarks/bench_loop.py --cpu-rows 100000 --latency-rows 10000
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import pandas as pd
import requests
from bench_entry import start_sandbox

import sfmc_nb
from sfmc_nb import enter_journey


def frame(rows: int, prefix: str) -> pd.DataFrame:
    """Key, email and first name, every value present (the plain loop sends them as they are)."""
    return pd.DataFrame({"SubscriberKey": [f"{prefix}-{i:08d}" for i in range(rows)],
                         "Email": [f"{prefix}{i}@example.com" for i in range(rows)],
                         "FirstName": ["Ann", "Bo", "Cy", "Di"] * (rows // 4) + ["Ed"] * (rows % 4)})


def plain_loop(env: dict[str, str], event: str, df: pd.DataFrame) -> list[Any]:
    """What the docs lead a newcomer to write: a token, then one POST of 100 members after the other."""
    session = requests.Session()
    token = session.post(env["SFMC_AUTH_BASE_URL"].rstrip("/") + "/v2/token",
                         json={"grant_type": "client_credentials", "client_id": env["SFMC_CLIENT_ID"],
                               "client_secret": env["SFMC_CLIENT_SECRET"]}, timeout=30).json()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    url = token["rest_instance_url"] + "interaction/v1/async/events"
    records = df.to_dict("records")
    answers = []
    for start in range(0, len(records), 100):
        members = [{"contactKey": r["SubscriberKey"], "data": {"Email": r["Email"], "FirstName": r["FirstName"]}}
                   for r in records[start:start + 100]]
        answer = session.post(url, json={"eventDefinitionKey": event, "members": members}, timeout=30)
        answer.raise_for_status()
        answers.append(answer.json())
    session.close()
    return answers


def measured(run: Any) -> tuple[float, float, Any]:
    """Wall seconds, client CPU seconds (every thread of this process) and what ``run()`` returned."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    out = run()
    return time.perf_counter() - t0, time.process_time() - cpu0, out


def span(values: list[float], fmt: str = "{:.2f}") -> str:
    low, high = min(values), max(values)
    return fmt.format(low) if low == high else f"{fmt.format(low)} - {fmt.format(high)}"


def latency_part(args: argparse.Namespace) -> None:
    proc, env = start_sandbox("--latency", str(args.latency))
    try:
        conn = sfmc_nb.connect(auth_base_url=env["SFMC_AUTH_BASE_URL"], client_id=env["SFMC_CLIENT_ID"],
                               client_secret=env["SFMC_CLIENT_SECRET"], set_default=False,
                               pool_size=max(16, args.concurrency))
        rows, batches = args.latency_rows, math.ceil(args.latency_rows / 100)
        limit = batches / args.concurrency * args.latency
        engine: list[float] = []
        for i in range(args.repeat):
            df = frame(rows, f"lat{i}")
            wall, _, res = measured(lambda df=df: enter_journey(df, env["event"], data=["Email", "FirstName"],
                                                                connection=conn, concurrency=args.concurrency,
                                                                validate=False))
            assert res.counts["queued"] == rows, res.counts
            engine.append(wall)
        conn.close()
        print(f"1. {rows:,} contacts in {batches} batches, {args.latency * 1000:.0f} ms a request, "
              f"concurrency {args.concurrency}")
        print(f"   engine wall             {span(engine)} s   ({args.repeat} runs)")
        print(f"   physical limit          {limit:.2f} s   (batches / concurrency x latency)")
        print(f"   engine / limit          {span([e / limit for e in engine])}x   (goal: <= 1.10x)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cpu_part(args: argparse.Namespace) -> None:
    proc, env = start_sandbox()
    try:
        conn = sfmc_nb.connect(auth_base_url=env["SFMC_AUTH_BASE_URL"], client_id=env["SFMC_CLIENT_ID"],
                               client_secret=env["SFMC_CLIENT_SECRET"], set_default=False, pool_size=16)
        rows, event = args.cpu_rows, env["event"]
        events: list[Any] = []
        engine_cpu, engine_wall, loop_cpu, loop_wall = [], [], [], []
        for i in range(args.repeat):
            df = frame(rows, f"eng{i}")
            wall, cpu, res = measured(lambda df=df: enter_journey(df, event, connection=conn, concurrency=8,
                                                                  progress=events.append))
            assert res.counts["queued"] == rows, res.counts
            assert events and events[-1].kind.name == "DONE", "progress stayed on"
            engine_wall.append(wall)
            engine_cpu.append(cpu)
            df = frame(rows, f"loop{i}")
            wall, cpu, answers = measured(lambda df=df: plain_loop(env, event, df))
            assert sum(a["count"] - a["notQueuedCount"] for a in answers) == rows
            loop_wall.append(wall)
            loop_cpu.append(cpu)
        conn.close()
        us = 1e6 / rows
        print(f"2. {rows:,} rows x 3 columns, no latency; client CPU (time.process_time) a row")
        print(f"   engine (checks, result, progress on)  {span([c * us for c in engine_cpu], '{:.1f}')} us a row, "
              f"wall {span(engine_wall)} s")
        print(f"   plain loop (to_dict, one Session)     {span([c * us for c in loop_cpu], '{:.1f}')} us a row, "
              f"wall {span(loop_wall)} s")
        ratios = [e / c for e, c in zip(engine_cpu, loop_cpu, strict=True)]
        print(f"   engine / loop, CPU a row              {span(ratios)}x   (goal: <= 0.80x; pairs run in turn)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def million_part(args: argparse.Namespace) -> None:
    import resource
    proc, env = start_sandbox()
    try:
        conn = sfmc_nb.connect(auth_base_url=env["SFMC_AUTH_BASE_URL"], client_id=env["SFMC_CLIENT_ID"],
                               client_secret=env["SFMC_CLIENT_SECRET"], set_default=False, pool_size=16)
        rows = args.million_rows
        df = frame(rows, "mil")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        wall, cpu, res = measured(lambda: enter_journey(df, env["event"], connection=conn, concurrency=8))
        assert res.counts["queued"] == rows, res.counts
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        conn.close()
        print(f"3. one DataFrame of {rows:,} rows x 3 columns, no latency: {wall:.1f} s, {rows / wall:,.0f} rows/s, "
              f"client CPU {cpu * 1e6 / rows:.1f} us a row, peak memory +{grown:.0f} MB during the run")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "latency", "cpu", "million"], default="all")
    parser.add_argument("--million-rows", type=int, default=1_000_000)
    parser.add_argument("--latency-rows", type=int, default=30_000)
    parser.add_argument("--latency", type=float, default=0.04)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cpu-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if args.part in ("all", "latency"):
        latency_part(args)
    if args.part in ("all", "cpu"):
        cpu_part(args)
    if args.part == "million":
        million_part(args)


if __name__ == "__main__":
    main()
