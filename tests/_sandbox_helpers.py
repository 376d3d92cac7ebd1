"""Set-up the sandbox tests share: a connection that retries quickly, plain-requests clients, a run killed mid-way.

Every server listens on 127.0.0.1; every wait here is bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import requests

import sfmc_nb
from sfmc_nb.client import RetryPolicy

FAST = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05, max_total_wait=5)
"""Retries a few milliseconds apart, so a fault test spends its time on the fault, not on backoff."""
BATCH = "interaction/v1/async/events"
STATUS = "interaction/v1/async/events/status"


def fast_conn(sb, read: float = 5.0) -> sfmc_nb.Connection:
    """A connection to ``sb`` that retries quickly (``FAST``), with a ``read`` timeout; never the default."""
    return sfmc_nb.connect(sandbox=sb, timeout=(2.0, read), retry=FAST, set_default=False)


def status_gets(sb) -> int:
    """Requests ``sb`` has seen for the batch status endpoint."""
    return sum(1 for r in sb.request_log if r["path"] == "/" + STATUS)


class RawClient:
    """A sandbox reached with plain requests (a token, then authorised calls): nothing retried or checked, so
    every answer (a 429, a lost answer, a late one) is seen as the server gave it."""

    def __init__(self, sb, timeout: float | tuple[float, float] = 10):
        self.sb, self.s, self.timeout = sb, requests.Session(), timeout
        self.token = self.new_token()

    def new_token(self) -> str:
        resp = self.s.post(self.sb.auth_base_url + "v2/token", timeout=10, json={
            "grant_type": "client_credentials", "client_id": self.sb.client_id,
            "client_secret": self.sb.client_secret})
        assert resp.status_code == 200
        return resp.json()["access_token"]

    def call(self, method: str, path: str, **kw) -> requests.Response:
        return self.s.request(method, self.sb.rest_base_url + path, timeout=self.timeout,
                              headers={"Authorization": f"Bearer {self.token}"}, **kw)

    def journeys(self) -> requests.Response:
        return self.call("GET", "interaction/v1/interactions", params={"$pageSize": 1})

    def enter(self, keys: list[str]) -> requests.Response:
        return self.call("POST", BATCH, json={"eventDefinitionKey": self.sb.event_key,
                                              "members": [{"contactKey": k} for k in keys]})

    def status(self, **params) -> dict:
        return self.call("GET", STATUS, params={"eventDefinitionKey": self.sb.event_key, **params}).json()

    def close(self) -> None:
        """Close the session and stop the sandbox."""
        self.s.close()
        self.sb.stop()


# -- a run killed with SIGKILL while it sends ---------------------------------------------------------------

KILLED_ROWS = 3000
_KILLED_RUN = textwrap.dedent("""
    import sys, pandas as pd, sfmc_nb
    from sfmc_nb import enter_journey
    auth, cid, secret, event, journal, validate = sys.argv[1:7]
    conn = sfmc_nb.connect(auth_base_url=auth, client_id=cid, client_secret=secret, set_default=False)
    df = pd.DataFrame({"SubscriberKey": [f"k-{i:05d}" for i in range(3000)]})
    def tick(event):
        if event.kind == "batch":
            print("batch", event.batches_done, flush=True)
    enter_journey(df, event, connection=conn, journal=journal, progress=tick, concurrency=4,
                  validate=validate == "validate")
    print("finished", flush=True)
""")


def killed_run_frame() -> pd.DataFrame:
    """The contacts the killed run sends (``KILLED_ROWS`` keys ``k-00000``...): run them again to resume it."""
    return pd.DataFrame({"SubscriberKey": [f"k-{i:05d}" for i in range(KILLED_ROWS)]})


def kill_run_after(sb, journal: Path, batches: int, *, validate: bool = True) -> None:
    """Run ``killed_run_frame()`` into ``sb`` with ``journal`` (and ``validate``) in another process and kill it
    with SIGKILL once ``batches`` batches are answered (at most 60 s)."""
    script = journal.with_name(journal.stem + "_run.py")
    script.write_text(_KILLED_RUN)
    proc = subprocess.Popen([sys.executable, str(script), sb.auth_base_url, sb.client_id, sb.client_secret,
                             sb.event_key, str(journal), "validate" if validate else "no-checks"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen, deadline = 0, time.monotonic() + 60
        while time.monotonic() < deadline and seen < batches:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("batch"):
                seen = int(line.split()[1])
        assert seen >= batches, proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
