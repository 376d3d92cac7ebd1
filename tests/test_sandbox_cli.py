"""``python -m sfmc_nb.sandbox``: a flag for every setting of the tables of defaults, one line for a busy port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from sfmc_nb.sandbox import FAULT_DEFAULTS, JOURNEY_DEFAULTS

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run([sys.executable, "-m", "sfmc_nb.sandbox", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def test_help_lists_a_flag_for_every_fault_and_journey_setting():
    proc = run_cli("--help")
    assert proc.returncode == 0, proc.stderr
    for name in [*FAULT_DEFAULTS, *JOURNEY_DEFAULTS]:
        assert "--" + name.replace("_", "-") in proc.stdout, name
    assert "--port" in proc.stdout and "--seed" in proc.stdout


def test_a_busy_port_is_one_line_not_a_traceback():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = run_cli("--port", str(port))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and f"port {port} on 127.0.0.1 is in use" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_bad_setting_is_refused_with_its_rule():
    proc = run_cli("--error-rate", "2")
    assert proc.returncode == 2 and "error_rate must be between 0 and 1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_settings_reach_the_running_sandbox(tmp_path):
    """Started with flags, the sandbox prints them; SIGTERM stops it cleanly (bounded by the timeout)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-m", "sfmc_nb.sandbox", "--latency", "0.05", "--rate-limit", "20",
                             "--skip-waits"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        for _ in range(10):
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        assert any(line.startswith("SFMC_AUTH_BASE_URL=http://127.0.0.1:") for line in lines)
        settings = next(line for line in lines if line.startswith("Settings: "))
        assert "latency=0.05" in settings and "rate_limit=20" in settings and "skip_waits=True" in settings
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "Sandbox stopped." in out and "Traceback" not in err
