"""Files holding contact data are private (0600, folders 0700), and a stream's row folder left by a process that
died (``kill -9``) is removed when the next stream starts, while a living process's folder is kept."""

from __future__ import annotations

import gc
import os
import select
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from test_stream import chunks, contacts, fast_conn

from sfmc_nb import enter_journey
from sfmc_nb._rowspool import FOLDER_PREFIX, RowSpool

HOLDER = textwrap.dedent("""
    import sys, time
    from sfmc_nb._rowspool import RowSpool
    spool = RowSpool("E", directory=sys.argv[1])
    print(spool.folder, flush=True)
    time.sleep(120)
""")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def start_holder(tmp: Path) -> tuple[subprocess.Popen, Path]:
    """Another process holding a row folder in ``tmp`` (its folder's path read within 60 s)."""
    script = tmp.parent / "holder.py"
    script.write_text(HOLDER)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp)], stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline().strip() if ready else ""
    if not line:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError("the holding process did not start")
    return proc, Path(line)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()


def test_a_row_folder_and_its_files_are_private(tmp_path):
    spool = RowSpool("E", directory=tmp_path)
    folder = Path(spool.folder)
    assert folder.name.startswith(f"{FOLDER_PREFIX}{os.getpid()}-") and mode(folder) == 0o700
    files = list(folder.iterdir())
    assert len(files) > 10 and {mode(f) for f in files} == {0o600}
    joined = spool.finish()
    del spool, joined
    gc.collect()
    assert not folder.exists()   # its folder went with the result


def test_the_folder_of_a_killed_process_goes_at_the_next_stream_and_a_living_ones_stays(sandbox, tmp_path,
                                                                                        monkeypatch):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    killed, dead_folder = start_holder(tmp)
    living, live_folder = start_holder(tmp)
    try:
        stop(killed)   # kill -9: no clean-up ran
        assert dead_folder.is_dir() and live_folder.is_dir()
        unlocked = tmp / f"{FOLDER_PREFIX}{killed.pid}-unlocked"   # died before it could lock its folder
        unlocked.mkdir()
        earlier = tmp / f"{FOLDER_PREFIX}x1y2z3"   # not named after a process: left alone
        earlier.mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(tmp))
        res = enter_journey(chunks(contacts(200, "s"), 100), sandbox.event_key, data=["Email"],
                            connection=fast_conn(sandbox))
        assert res.counts["queued"] + res.counts["not_queued"] == 200
        own = Path(os.path.dirname(res.status.values.filename))
        assert not dead_folder.exists() and not unlocked.exists()
        assert live_folder.is_dir() and earlier.is_dir() and own.is_dir() and own.parent == tmp
        stop(living)
        deadline = time.monotonic() + 30
        while live_folder.exists() and time.monotonic() < deadline:   # its lock goes with the process
            RowSpool("E").finish()
        assert not live_folder.exists() and own.is_dir()   # this process's own folder stays while res lives
    finally:
        stop(killed)
        stop(living)
