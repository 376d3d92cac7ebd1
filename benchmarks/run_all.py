"""Run every benchmark in one go and print their figures one after the other.

    python benchmarks/run_all.py    # payload preparation (1,000,000 rows), end-to-end entry, entry under a quota
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [("payload preparation", "bench_batching.py"), ("end-to-end entry", "bench_entry.py"),
           ("entry under a quota", "bench_pacing.py")]


def main() -> int:
    status = 0
    for title, script in SCRIPTS:
        print(f"== {title} ({script})", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / script)])
        print(flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
