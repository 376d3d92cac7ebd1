"""``python -m sfmc_nb.sandbox`` / ``sfmc-sandbox``: run the sandbox in the foreground until Ctrl-C.

Prints the settings a client needs (as SFMC_* lines a shell or .env can take), so a second terminal or a
notebook can point at it without the Python API. Every fault and journey setting is a flag, made from the
tables of defaults (``FAULT_DEFAULTS``, ``JOURNEY_DEFAULTS``), so a setting added there is a flag here too.
"""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import threading
from typing import Any

from . import FAULT_DEFAULTS, JOURNEY_DEFAULTS, start

HELP = {
    "latency": "seconds added to every REST answer",
    "jitter": "plus up to this many seconds, at random",
    "rate_limit": "REST requests a second (a token bucket, bursts of as many) before 429 answers (default: no limit)",
    "rate_limit_style": "how a 429 says when to come back: header (Retry-After) or body",
    "retry_after": "seconds a header-style 429 asks to wait",
    "error_rate": "share of REST requests answered 500/503 without being carried out (0..1)",
    "lost_answer_rate": "share of batch entries carried out, then the answer dropped (0..1)",
    "token_lifetime": "seconds an issued token lasts (expires_in)",
    "process_delay": "seconds before a queued member is processed",
    "day_seconds": "real seconds one journey day lasts",
    "skip_waits": "journey waits end at once (like Test Mode)",
    "engagement_rate": "share of sent emails opened (and of those, clicked) in engagement splits (0..1)",
    "history_lag": "seconds journey history trails behind",
    "history_answer": "what a journey history download answers: csv, html, empty, gzip or cp1252",
}
"""What each setting does, for --help; a setting missing here still gets its flag."""


def _number(text: str) -> int | float:
    """A flag value for a setting whose default is None: a whole number stays an int."""
    value = float(text)
    return int(value) if value.is_integer() else value


def _add_setting(parser: argparse.ArgumentParser, name: str, default: Any) -> None:
    flag = "--" + name.replace("_", "-")
    text = HELP.get(name, f"the sandbox setting {name}")
    if isinstance(default, bool):
        parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=default, help=text)
        return
    kind: Any = _number if default is None else type(default)
    shown = "" if "(default" in text else " (default: %(default)s)"
    metavar = "TEXT" if isinstance(default, str) else "N"
    parser.add_argument(flag, dest=name, type=kind, default=default, metavar=metavar, help=text + shown)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sfmc-sandbox", description="Local Marketing Cloud emulator on 127.0.0.1: "
                                     "the demo tenant, its journeys, and the faults to test against.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the demo tenant and of the faults (default: 0)")
    faults = parser.add_argument_group("faults (sfmc_nb.sandbox.FAULT_DEFAULTS)")
    for name, default in FAULT_DEFAULTS.items():
        _add_setting(faults, name, default)
    journeys = parser.add_argument_group("journeys (sfmc_nb.sandbox.JOURNEY_DEFAULTS)")
    for name, default in JOURNEY_DEFAULTS.items():
        _add_setting(journeys, name, default)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")
    settings = {name: getattr(args, name) for name in [*FAULT_DEFAULTS, *JOURNEY_DEFAULTS]}
    changed = {k: v for k, v in settings.items() if v != {**FAULT_DEFAULTS, **JOURNEY_DEFAULTS}[k]}

    # This process only serves: hand the GIL between request threads quickly, so answers that fall due
    # together are not queued behind one another for the default 5 ms switch interval.
    sys.setswitchinterval(0.0005)
    done = threading.Event()
    try:  # `kill` stops it as cleanly as Ctrl-C
        signal.signal(signal.SIGTERM, lambda *_: done.set())
    except ValueError:  # not the main thread: Ctrl-C / KeyboardInterrupt only
        pass
    try:
        sb = start(seed=args.seed, port=args.port, **changed)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(f"sfmc-sandbox: port {args.port} on 127.0.0.1 is in use: stop what holds it, or choose another "
              "port with --port N (--port 0 takes any free one)", file=sys.stderr)
        return 1
    try:
        print(f"SFMC sandbox running at {sb.auth_base_url}", flush=True)
        print(f"SFMC_AUTH_BASE_URL={sb.auth_base_url}")
        print(f"SFMC_CLIENT_ID={sb.client_id}")
        print(f"SFMC_CLIENT_SECRET={sb.client_secret}")
        print(f"SFMC_ACCOUNT_ID={sb.account_id}")
        print(f"Demo event key: {sb.event_key}   (Welcome Journey)")
        if changed:
            print("Settings: " + ", ".join(f"{k}={v}" for k, v in changed.items()))
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
