"""``python -m sfmc_nb.sandbox`` / ``sfmc-sandbox``: run the sandbox in the foreground until Ctrl-C.

Prints the settings a client needs (as SFMC_* lines a shell or .env can take), so a second terminal or a
notebook can point at it without the Python API.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from . import start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sfmc-sandbox", description="Local Marketing Cloud emulator (127.0.0.1).")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the demo tenant and of the faults")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every REST answer")
    parser.add_argument("--rate-limit", type=float, default=None,
                        help="REST requests a second (token bucket) before 429 (default: no limit)")
    parser.add_argument("--rate-limit-style", choices=("header", "body"), default="header",
                        help="429s with Retry-After (header) or errorcode 50200 only (body)")
    parser.add_argument("--day-seconds", type=float, default=5.0, help="real seconds one journey day lasts")
    parser.add_argument("--skip-waits", action="store_true", help="journey waits end at once (like Test Mode)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535 or args.latency < 0 or args.day_seconds <= 0:
        parser.error("--port must be 0..65535, --latency >= 0 and --day-seconds > 0")
    if args.rate_limit is not None and not args.rate_limit > 0:
        parser.error("--rate-limit must be > 0")

    # This process only serves: hand the GIL between request threads quickly, so answers that fall due
    # together are not queued behind one another for the default 5 ms switch interval.
    sys.setswitchinterval(0.0005)
    done = threading.Event()
    try:  # `kill` stops it as cleanly as Ctrl-C
        signal.signal(signal.SIGTERM, lambda *_: done.set())
    except ValueError:  # not the main thread: Ctrl-C / KeyboardInterrupt only
        pass
    sb = start(seed=args.seed, port=args.port, latency=args.latency, day_seconds=args.day_seconds,
               skip_waits=args.skip_waits, rate_limit=args.rate_limit, rate_limit_style=args.rate_limit_style)
    try:
        print(f"SFMC sandbox running at {sb.auth_base_url}", flush=True)
        print(f"SFMC_AUTH_BASE_URL={sb.auth_base_url}")
        print(f"SFMC_CLIENT_ID={sb.client_id}")
        print(f"SFMC_CLIENT_SECRET={sb.client_secret}")
        print(f"SFMC_ACCOUNT_ID={sb.account_id}")
        print(f"Demo event key: {sb.event_key}   (Welcome Journey)")
        print("Press Ctrl-C to stop.", flush=True)
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
        print("Sandbox stopped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
