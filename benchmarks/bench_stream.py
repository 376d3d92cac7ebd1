"""Streaming a large CSV file into a journey: rows a second and the client's peak memory growth.

For each row count, writes a CSV of that many contacts (key, email, first name) to a temporary file, starts the
sandbox in its own process (no latency) and, in a fresh client process, enters the file with
``enter_journey(path, ...)`` (read and sent 100,000 rows at a time). Prints rows/s and the client's peak memory
growth: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the client process after the run minus before it
(after imports and login), which counts everything the run held at its peak, result included. Then reads the
result (``errors()``, the last rows, ``to_csv``) and prints how long that took and the process's resident memory
split into its own (``RssAnon``) and mapped files (``RssFile``: the result's rows read back from disk).
Goals: +250 MB at most for 1,000,000 rows, +400 MB for 10,000,000.

    python benchmarks/bench_stream.py                       # 1,000,000 rows
    python benchmarks/bench_stream.py --rows 1000000 3000000
    SFMC_BENCH_10M=1 python benchmarks/run_all.py           # run_all adds the 10,000,000-row run
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_entry import start_sandbox

CLIENT = """
import resource, sys, time
import sfmc_nb
from sfmc_nb import enter_journey
auth, cid, secret, event, path, rows = sys.argv[1:7]
conn = sfmc_nb.connect(auth_base_url=auth, client_id=cid, client_secret=secret, set_default=False, pool_size=16)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
res = enter_journey(path, event, data=["Email", "FirstName"], connection=conn, validate=False, concurrency=8)
seconds = time.perf_counter() - t0
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert res.counts["queued"] == int(rows), res.counts
t0 = time.perf_counter()
res.errors(); res.rows_frame(range(int(rows) - 20, int(rows)))
first = time.perf_counter() - t0
t0 = time.perf_counter()
res.to_csv(path + ".outcome.csv")
written = time.perf_counter() - t0
status = dict(line.split(":", 1) for line in open("/proc/self/status") if line.startswith("Rss"))
anon, mapped = (int(status[k].split()[0]) / 1024 for k in ("RssAnon", "RssFile"))
print(seconds, (after - before) / 1024, after / 1024, first, written, anon, mapped)
"""


def write_csv(path: Path, rows: int, chunk: int = 500_000) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write("SubscriberKey,Email,FirstName\n")
        names = ("Ann", "Bo", "Cy", "Di")
        for start in range(0, rows, chunk):
            out.write("".join(f"{i:010d},c{i}@example.com,{names[i % 4]}\n"
                              for i in range(start, min(start + chunk, rows))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args()
    here = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": here + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "contacts.csv"
            write_csv(path, rows)
            proc, settings = start_sandbox()   # a fresh sandbox per size: its own memory is not measured
            try:
                out = subprocess.run([sys.executable, "-c", CLIENT, settings["SFMC_AUTH_BASE_URL"],
                                      settings["SFMC_CLIENT_ID"], settings["SFMC_CLIENT_SECRET"], settings["event"],
                                      str(path), str(rows)], capture_output=True, text=True, env=env, check=True)
            finally:
                proc.kill()
            seconds, growth, peak, first, written, anon, mapped = (float(x) for x in out.stdout.split()[-7:])
            goal = 250 if rows <= 1_000_000 else 400
            print(f"{rows:>11,} rows ({path.stat().st_size / 2**20:,.0f} MB CSV): {seconds:7.1f} s, "
                  f"{rows / seconds:8,.0f} rows/s; client peak memory +{growth:,.0f} MB (ru_maxrss, peak "
                  f"{peak:,.0f} MB; goal +{goal} MB)", flush=True)
            print(f"{'':>17}then errors() and the last 20 rows {first:.2f} s; to_csv() {written:.1f} s; resident "
                  f"after: {anon:,.0f} MB own memory + {mapped:,.0f} MB of mapped files (the result's, and "
                  "libraries; the system reclaims these as it needs)", flush=True)


if __name__ == "__main__":
    main()
