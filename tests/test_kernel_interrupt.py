"""The kernel's stop button on a running entry, in a real IPython kernel (jupyter_client)."""

from __future__ import annotations

import json
import time

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

RUN = """
import pandas as pd, sfmc_nb
conn = sfmc_nb.connect(sandbox=sfmc_nb.sandbox.start(latency=0.05), set_default=False)
df = pd.DataFrame({"SubscriberKey": [f"k-{i:05d}" for i in range(20000)]})
print("started", flush=True)
res = df.sfmc.enter_journey(conn.sandbox.event_key, connection=conn, concurrency=2, validate=False)
print(json.dumps({"interrupted": res.interrupted, **res.counts,
                  "entered": conn.sandbox.entry_counts().total()}), flush=True)
"""


def test_interrupting_the_kernel_stops_the_run_and_keeps_the_result(tmp_path):
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        kc.execute_interactive("import json", timeout=60)
        msg_id = kc.execute(RUN)
        out, deadline, interrupted = [], time.monotonic() + 120, False
        while time.monotonic() < deadline:
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except Exception:  # queue.Empty: nothing yet
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
                if "started" in msg["content"]["text"] and not interrupted:
                    time.sleep(1.0)
                    km.interrupt_kernel()          # what JupyterLab's stop button sends
                    interrupted = True
            if msg["msg_type"] == "error":
                pytest.fail("the cell raised: " + msg["content"]["ename"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        summary = json.loads([line for line in "".join(out).splitlines() if line.startswith("{")][-1])
        assert summary["interrupted"] is True
        assert 0 < summary["queued"] < 20000 and summary["queued"] + summary["skipped"] == 20000
        assert summary["unknown"] == 0 and summary["failed"] == 0
        assert summary["entered"] == summary["queued"]   # nothing entered that the result does not show
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
