"""Payload preparation: ``prepare()`` + building every batch, against the obvious ``to_dict("records")`` loop.

Prints times, peak memory (RSS growth of a forked child, Linux) and ratios; asserts nothing.
Run: ``python benchmarks/bench_batching.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import gc
import math
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sfmc_nb.batching import prepare  # noqa: E402

DATA = ["Email", "FirstName", "Points", "SignedUp"]


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """String key, string email, string name with ~5% NaN, int points, datetime."""
    rng = np.random.default_rng(seed)
    ids = np.arange(rows)
    names = np.array(["Ann", "Bo", "Chloé", "Dmitri", "Eve", "Fatima", "Gus", "Hana"], dtype=object)[
        rng.integers(0, 8, rows)]
    names[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame({
        "SubscriberKey": pd.array([f"C{i:09d}" for i in ids], dtype="str"),
        "Email": pd.array([f"user{i}@example.com" for i in ids], dtype="str"),
        "FirstName": pd.array(names, dtype="str"),
        "Points": rng.integers(0, 10_000, rows),
        "SignedUp": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 4 * 365 * 86400, rows), unit="s"),
    })


def vectorised(df: pd.DataFrame) -> tuple[int, int]:
    prepared = prepare(df, "SubscriberKey", DATA)
    batches = members = 0
    for batch in prepared.batches(100):
        batches += 1
        members += len(batch.members)
    return batches, members


def _json_value(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    return v


def naive(df: pd.DataFrame) -> tuple[int, int]:
    """The loop most people write first: every row a dict, every value checked in Python."""
    members = []
    for rec in df.to_dict("records"):
        key = rec["SubscriberKey"]
        if key is None or (isinstance(key, float) and math.isnan(key)) or not str(key).strip():
            continue
        members.append({"contactKey": str(key), "data": {c: _json_value(rec[c]) for c in DATA}})
    chunks = [members[i:i + 100] for i in range(0, len(members), 100)]
    return len(chunks), sum(len(c) for c in chunks)


def _run(fn, df: pd.DataFrame, conn) -> None:
    gc.collect()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    out = fn(df)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base  # KiB on Linux
    conn.send((seconds, peak / 1024, out))
    conn.close()


def measure(fn, df: pd.DataFrame) -> tuple[float, float, tuple[int, int]]:
    """(seconds, peak RSS growth in MiB, (batches, members)) from a forked child, so each run starts from
    the same memory and tracemalloc's slowdown does not distort the time."""
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_run, args=(fn, df, send))
    child.start()
    result = recv.recv()
    child.join()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the DataFrame (default 1,000,000)")
    args = parser.parse_args(argv)

    df = make_frame(args.rows)
    print(f"{args.rows:,} rows x {df.shape[1]} columns ({', '.join(f'{c}:{t}' for c, t in df.dtypes.items())})")
    v_s, v_mb, v_out = measure(vectorised, df)
    n_s, n_mb, n_out = measure(naive, df)
    if v_out != n_out:
        print(f"note: outputs differ in shape: prepare {v_out} vs loop {n_out}")
    print(f"{'':28}{'seconds':>10}{'peak MiB':>12}{'rows/s':>14}")
    print(f"{'prepare + all batches':28}{v_s:10.2f}{v_mb:12.1f}{args.rows / v_s:14,.0f}")
    print(f"{'to_dict(records) loop':28}{n_s:10.2f}{n_mb:12.1f}{args.rows / n_s:14,.0f}")
    print(f"speed-up {n_s / v_s:.1f}x, peak memory {n_mb / v_mb:.1f}x lower ({v_out[0]:,} batches)")


if __name__ == "__main__":
    main()
