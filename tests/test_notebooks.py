"""The workshop notebooks: stored clean, run start to finish on the sandbox, and leak nothing.

- Every notebook in ``notebooks/`` is stored without outputs, with the ``python3`` kernel.
- Every notebook runs with nbclient in this environment with ``SFMC_SANDBOX=1``: no error output, no
  traceback, no client secret, nothing that looks like an access token, within a time bound.
- ``binder``: a fresh virtual environment built from exactly the files in ``binder/`` (as repo2docker does:
  ``pip install -r binder/requirements.txt`` from a copy of the repository, then ``binder/postBuild`` if
  present) runs every notebook, launched through ``binder/start`` so ``SFMC_SANDBOX=1`` really comes from there.
  Needs PyPI (pip's cache helps); deselect with ``-m "not binder"``.

(``pytest notebooks/ --nbval-lax`` runs the same notebooks cell by cell; this module adds the leak checks.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from sfmc_nb.sandbox import demo

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
BINDER = ROOT / "binder"

CELL_TIMEOUT = 120          # seconds for one cell
NOTEBOOK_BUDGET = 30        # seconds for a whole notebook here (they take 1-6 s; the workshop promise is ~20 s)
PIP_TIMEOUT = 900           # seconds for the fresh environment's pip install
BINDER_RUN_TIMEOUT = 600    # seconds to run every notebook in the fresh environment

# The sandbox's access tokens are ``secrets.token_urlsafe(32)``: 43 URL-safe characters, in practice mixing
# digits, lower and upper case. Anything shaped like that in an output is treated as a leaked token.
TOKEN_SHAPE = re.compile(r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*[A-Z])"
                         r"[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
LEAK_WORDS = ("access_token", "Bearer ")
SFMC_VARIABLES = ("SFMC_SUBDOMAIN", "SFMC_AUTH_BASE_URL", "SFMC_CLIENT_ID", "SFMC_CLIENT_SECRET", "SFMC_ACCOUNT_ID",
                  "SFMC_SCOPE", "SFMC_SANDBOX")

with warnings.catch_warnings():  # the marker line for pyproject is in the report; this keeps collection quiet
    warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
    binder = pytest.mark.binder


def _ids(paths):
    return [p.stem for p in paths]


# --------------------------------------------------------------------------- checks shared by both runs


def output_problems(nb) -> list[str]:
    """Everything wrong with an executed notebook's outputs: errors, tracebacks, the secret, token shapes."""
    problems = []
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {number} ({cell.source.splitlines()[0][:50] if cell.source else ''!r})"
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"{where}: error output {out.ename}: {out.evalue}")
            text = json.dumps(out, ensure_ascii=False)
            if "Traceback (most recent call last)" in text:
                problems.append(f"{where}: a traceback in a {out.output_type} output")
            problems.extend(f"{where}: {p}" for p in _leaks(text))
    problems.extend(f"notebook metadata: {p}" for p in _leaks(json.dumps(nb.metadata, ensure_ascii=False)))
    return problems


def _leaks(text: str) -> list[str]:
    found = []
    if demo.CLIENT_SECRET in text:
        found.append("the sandbox's client secret")
    found.extend(f"the word {word.strip()!r}" for word in LEAK_WORDS if word in text)
    found.extend(f"a token-shaped string {m[:6]}..." for m in TOKEN_SHAPE.findall(text))
    return found


def test_token_shape_catches_sandbox_tokens():
    """The token pattern matches what the sandbox really issues (and not ids or long names)."""
    import requests

    from sfmc_nb import sandbox

    with sandbox.start(seed=3) as sb:
        answer = requests.post(sb.auth_base_url + "v2/token", timeout=5, json={
            "grant_type": "client_credentials", "client_id": sb.client_id, "client_secret": sb.client_secret})
    token = answer.json()["access_token"]
    assert _leaks(f"<p>token {token}</p>")
    assert not _leaks("4c24c567-cf79-42fb-8c1f-41347ee20c6b Maximilian-Alexander-Konstantin-Friedrich-Ferdinand "
                      "8f14e45fceea167a5a36dedd4bea2543")


# --------------------------------------------------------------------------- stored form


def test_there_are_six_numbered_notebooks():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_"], NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs; clear them before saving"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state; clear it before saving"


def test_contact_file_is_reproducible():
    """notebooks/data/contacts.csv is exactly what make_contacts.py writes."""
    spec = importlib.util.spec_from_file_location("make_contacts", ROOT / "notebooks" / "data" / "make_contacts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.contacts()
    lines = (ROOT / "notebooks" / "data" / "contacts.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",") == module.COLUMNS
    assert len(lines) - 1 == len(rows) >= 3000
    assert lines[1:] == [",".join(row[c] for c in module.COLUMNS) for row in rows]


# --------------------------------------------------------------------------- run here


def _kernel_env(tmp_path: Path) -> dict[str, str]:
    """This environment, sandbox mode on, no real SFMC_* settings, Jupyter/IPython folders in tmp_path,
    and this checkout first on the kernel's path (so the code under test is what runs)."""
    env = {k: v for k, v in os.environ.items() if k not in SFMC_VARIABLES}
    env["SFMC_SANDBOX"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    for name in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "MPLCONFIGDIR"):
        folder = tmp_path / name.lower()
        folder.mkdir(exist_ok=True)
        env[name] = str(folder)
    return env


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_on_the_sandbox(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.monotonic()
    client.execute(env=_kernel_env(tmp_path))   # raises CellExecutionError on the first failing cell
    seconds = time.monotonic() - started
    assert not output_problems(nb), output_problems(nb)
    assert seconds < NOTEBOOK_BUDGET, f"{path.name} took {seconds:.1f} s"


def test_a_static_export_of_the_journey_test_notebook_shows_the_maps(tmp_path):
    """``jupyter nbconvert --to html --execute``: the journey map and the followed trace's final map are plain
    SVG in the page (no widget needed), and the page leaks nothing."""
    source = ROOT / "notebooks" / "06_test_a_journey.ipynb"
    proc = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--execute",
                           f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}", "--output-dir", str(tmp_path), str(source)],
                          capture_output=True, text=True, timeout=300, cwd=source.parent, env=_kernel_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = (tmp_path / "06_test_a_journey.html").read_text(encoding="utf-8")
    maps = re.findall(r"<svg[^>]*aria-label=\"([^\"]*)\"", page)
    assert len(maps) == 5 and all(m.startswith("Journey map: Welcome Journey") for m in maps), maps
    follow = page[page.index("follow</span>"):]
    follow = follow[:follow.index("jp-InputArea-prompt")]       # the followed trace's cell output, up to the next cell
    assert "<svg" in follow and "followed 12 contacts" in follow
    assert not _leaks(page), _leaks(page)


# --------------------------------------------------------------------------- run in a fresh Binder-like env

RUNNER = r'''
"""Run notebooks with nbclient in this (fresh) environment; write what happened as JSON."""
import json, os, sys, time
import nbformat
from nbclient import NotebookClient

PROBE = ("import os, sys\nimport sfmc_nb\n"
         "print(json.dumps({'prefix': sys.prefix, 'sandbox': os.environ.get('SFMC_SANDBOX'),"
         " 'package': sfmc_nb.__file__}))")
out_path, paths = sys.argv[1], sys.argv[2:]
results = []
for path in paths:
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("import json\n" + PROBE))
    started, error = time.monotonic(), None
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}}).execute()
    except Exception as exc:  # recorded and reported by the test
        error = f"{type(exc).__name__}: {exc}"[:4000]
    probe = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    del nb.cells[0]
    results.append({"path": path, "seconds": round(time.monotonic() - started, 2), "error": error,
                    "probe": probe, "notebook": nbformat.writes(nb)})
with open(out_path, "w", encoding="utf-8") as fh:
    json.dump(results, fh)
'''

COPY_IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache",
                                     ".hypothesis", ".benchmarks", "build", "dist", ".venv", "venv",
                                     ".ipynb_checkpoints", "*.journal.jsonl")


def _run(cmd, *, timeout, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert proc.returncode == 0, (f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
                                  f"stdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}")
    return proc


@binder
def test_binder_environment_runs_every_notebook(tmp_path):
    assert (BINDER / "requirements.txt").is_file() and os.access(BINDER / "start", os.X_OK)
    assert (BINDER / "start").read_text().rstrip().endswith('exec "$@"')
    timings = {}
    started = time.monotonic()

    # repo2docker copies the repository, then installs from it with the repository root as working folder
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=COPY_IGNORE)
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], timeout=120)
    bin_dir = venv / "bin"
    base_env = {k: v for k, v in os.environ.items()
                if k not in SFMC_VARIABLES and k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    base_env.update(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", VIRTUAL_ENV=str(venv),
                    PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    for name in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "MPLCONFIGDIR"):
        folder = tmp_path / name.lower()
        folder.mkdir()
        base_env[name] = str(folder)
    _run([bin_dir / "python", "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
         cwd=repo, env=base_env, timeout=PIP_TIMEOUT)
    if (repo / "binder" / "postBuild").exists():
        _run(["bash", repo / "binder" / "postBuild"], cwd=repo, env=base_env, timeout=PIP_TIMEOUT)
    timings["build"] = time.monotonic() - started

    # launch the way Binder does: binder/start wraps the command, so SFMC_SANDBOX must come from it
    runner, report = tmp_path / "run_notebooks.py", tmp_path / "report.json"
    runner.write_text(RUNNER, encoding="utf-8")
    notebooks = sorted((repo / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert len(notebooks) == len(NOTEBOOKS)
    t0 = time.monotonic()
    _run([repo / "binder" / "start", bin_dir / "python", runner, report, *notebooks], cwd=repo / "notebooks",
         env=base_env, timeout=BINDER_RUN_TIMEOUT)
    timings["notebooks"] = time.monotonic() - t0
    timings["total"] = time.monotonic() - started

    results = json.loads(report.read_text(encoding="utf-8"))
    print("binder environment: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()) + "; "
          + ", ".join(f"{Path(r['path']).stem} {r['seconds']} s" for r in results))
    failures = []
    for r in results:
        name = Path(r["path"]).name
        if r["error"]:
            failures.append(f"{name}: {r['error']}")
            continue
        probe = json.loads(r["probe"])
        if Path(probe["prefix"]).resolve() != venv.resolve():
            failures.append(f"{name}: the kernel ran in {probe['prefix']}, not in the fresh environment")
        if not Path(probe["package"]).resolve().is_relative_to(venv.resolve()):
            failures.append(f"{name}: sfmc_nb was imported from {probe['package']}, not from the fresh environment")
        if probe["sandbox"] != "1":
            failures.append(f"{name}: SFMC_SANDBOX is {probe['sandbox']!r} in the kernel; binder/start must set it")
        failures.extend(f"{name}: {p}" for p in output_problems(nbformat.reads(r["notebook"], as_version=4)))
    assert not failures, "\n".join(failures)
