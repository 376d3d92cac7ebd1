"""Run every benchmark in one go and print their figures one after the other.

    python benchmarks/run_all.py              # preparation, entry, quota, progress cost, a 1,000,000-row result
                                              # in the notebook, a 1,000,000-row CSV streamed, the re-entry
                                              # guard's cost on 1,000,000 rows,
                                              # wait's time limit, wait and trace of 1,000,000 rows
    python benchmarks/run_all.py --with-10m   # also stream a 10,000,000-row CSV (or set SFMC_BENCH_10M=1)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts(with_10m: bool) -> list[tuple[str, list[str]]]:
    stream_rows = ["1000000", "10000000"] if with_10m else ["1000000"]
    return [("payload preparation", ["bench_batching.py"]), ("end-to-end entry", ["bench_entry.py"]),
            ("the engine beside the limit and the plain loop", ["bench_loop.py"]),
            ("entry under a quota", ["bench_pacing.py"]), ("progress callback cost", ["bench_progress.py"]),
            ("a 1,000,000-row result in the notebook", ["bench_result.py"]),
            ("streamed CSV file", ["bench_stream.py", "--rows", *stream_rows]),
            ("re-entry guard cost", ["bench_reentry.py"]),
            ("a wait against a misbehaving status endpoint", ["bench_wait.py"]),
            ("lost answers in a stream and in one DataFrame", ["bench_stream_doubt.py"]),
            ("wait and trace of a 1,000,000-row run", ["bench_trace.py"])]


def main() -> int:
    with_10m = "--with-10m" in sys.argv[1:] or os.environ.get("SFMC_BENCH_10M", "") not in ("", "0")
    status = 0
    for title, (script, *args) in scripts(with_10m):
        print(f"== {title} ({script})", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / script), *args])
        print(flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
