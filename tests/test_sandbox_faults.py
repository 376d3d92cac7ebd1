"""Sandbox faults, transport behaviour and the standalone command, checked with plain ``requests``.

Timing assertions are lower bounds only (a slow machine must never fail them); every loop and wait is
bounded; every server listens on 127.0.0.1.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty, Queue

import pytest
import requests
from _sandbox_helpers import BATCH

from sfmc_nb import sandbox

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def make(raw_sandbox):
    """Start sandboxes (with a client each) with options, processing entries in 0.05 s unless told otherwise."""
    return functools.partial(raw_sandbox, process_delay=0.05)


def test_latency_and_jitter_are_lower_bounds(make):
    c = make(latency=0.15, jitter=0.05)
    started = time.monotonic()
    assert c.journeys().status_code == 200
    assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    c.new_token()  # the token endpoint is not slowed down; only REST answers are
    assert c.sb.stats["token_requests"] == 2


@pytest.mark.parametrize("style", ["header", "body"])
def test_rate_limit_both_styles(make, style):
    c = make(rate_limit=3, rate_limit_style=style, retry_after=0.2)
    answers = [c.journeys() for _ in range(10)]
    codes = [a.status_code for a in answers]
    assert codes[:3] == [200, 200, 200] and 429 in codes
    throttled = next(a for a in answers if a.status_code == 429)
    body = throttled.json()
    if style == "header":
        assert throttled.headers["Retry-After"] == "0.2"
        assert body["errorcode"] == 50100 and body["retryAfter"] == 0.2
        assert body["message"] == "Rate limit exceeded"
    else:
        assert "Retry-After" not in throttled.headers
        assert body["errorcode"] == 50200 and body["message"] == "Your requests are temporarily blocked."
    assert "documentation" in body
    assert c.sb.stats["throttled"] == codes.count(429)
    for _ in range(5):  # the token endpoint is never throttled
        c.new_token()
    deadline = time.monotonic() + 5
    while c.journeys().status_code == 429:  # the bucket refills and lets requests through again
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_whole_second_retry_after_is_an_integer(make):
    c = make()
    c.sb.inject("429")
    resp = c.enter(["a"])
    assert resp.headers["Retry-After"] == "1" and resp.json()["retryAfter"] == 1


def test_error_rate_answers_5xx_without_carrying_out(make):
    c = make(error_rate=1.0)
    answers = [c.enter([f"k{i}"]) for i in range(6)]
    assert {a.status_code for a in answers} <= {500, 503}
    assert all({"message", "errorcode", "documentation"} <= set(a.json()) for a in answers)
    assert c.sb.entries() == [] and c.sb.stats["server_errors"] == 6
    c.sb.reset_faults()
    assert c.enter(["after"]).status_code == 202


def test_lost_answer_is_processed_but_never_answered(make):
    c = make(lost_answer_rate=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        c.enter(["lost1", "lost2"])
    assert c.sb.entry_counts() == {"lost1": 1, "lost2": 1}
    assert c.sb.stats["lost_answers"] == 1 and c.sb.stats["batches_accepted"] == 1
    assert c.journeys().status_code == 200  # only batch entries lose answers; the session recovers
    assert c.sb.request_log[-2]["status"] is None


@pytest.mark.parametrize("kind, status", [("429", 429), ("429-body", 429), ("500", 500), ("503", 503)])
def test_injected_answers(make, kind, status):
    c = make()
    c.sb.inject(kind, count=2)
    assert c.journeys().status_code == 200  # injections only hit batch entry
    first, second, third = c.enter(["a"]), c.enter(["b"]), c.enter(["c"])
    assert (first.status_code, second.status_code, third.status_code) == (status, status, 202)
    assert ("Retry-After" in first.headers) == (kind == "429")
    assert c.sb.entry_counts() == {"c": 1}


def test_injected_drop_and_lost_answer(make):
    c = make()
    c.sb.inject("drop")
    c.sb.inject("lost-answer")
    with pytest.raises(requests.exceptions.ConnectionError):
        c.enter(["dropped"])
    with pytest.raises(requests.exceptions.ConnectionError):
        c.enter(["lost"])
    assert c.enter(["fine"]).status_code == 202
    assert c.sb.entry_counts() == {"lost": 1, "fine": 1}
    stats = c.sb.stats
    assert (stats["dropped"], stats["lost_answers"], stats["batches_accepted"]) == (1, 1, 2)
    with pytest.raises(ValueError):
        c.sb.inject("teapot")


def test_faults_are_deterministic_given_a_seed(make):
    def run(seed: int) -> list[int]:
        c = make(seed=seed, error_rate=0.5, jitter=0.001)
        return [c.journeys().status_code for _ in range(24)]

    first = run(7)
    assert first == run(7)
    assert {200} < set(first) <= {200, 500, 503}
    assert run(8) != first


def test_same_seed_gives_the_same_tenant_ids(make):
    a, b = make(seed=3), make(seed=3)
    ids = [[j["id"] for j in c.call("GET", "interaction/v1/interactions").json()["items"]] for c in (a, b)]
    assert ids[0] == ids[1]
    a.enter(["x"])
    b.enter(["x"])
    assert a.sb.entries()[0]["eventInstanceId"] == b.sb.entries()[0]["eventInstanceId"]


def test_configure_validates_and_changes_faults(make):
    c = make()
    with pytest.raises(TypeError):
        c.sb.configure(latencyy=1)
    with pytest.raises(ValueError):
        c.sb.configure(error_rate=2)
    with pytest.raises(ValueError):
        c.sb.configure(rate_limit_style="smoke signals")
    with pytest.raises(TypeError):
        sandbox.start(not_an_option=True)
    c.sb.configure(error_rate=1.0)
    assert c.journeys().status_code in (500, 503)
    c.sb.reset_faults()
    assert c.journeys().status_code == 200
    assert c.sb.faults["token_lifetime"] == 1079


# ---- transport -------------------------------------------------------------------------------------------

def test_keep_alive_and_quiet_logs(make, capfd):
    c = make()
    for _ in range(20):
        resp = c.journeys()
        assert resp.status_code == 200 and resp.headers["Content-Length"]
        assert resp.headers.get("Connection", "").lower() != "close"
    assert len(c.sb._server._connections) == 1  # one pooled connection served them all
    err = capfd.readouterr().err
    assert err == "" and c.token not in repr(c.sb.request_log)
    assert c.sb.client_secret not in repr(c.sb)


def test_concurrent_batches(make):
    c = make()
    results, errors = [], []

    def worker(n: int) -> None:
        with requests.Session() as s:
            for b in range(5):
                try:
                    resp = s.post(c.sb.rest_base_url + BATCH, timeout=10,
                                  headers={"Authorization": f"Bearer {c.token}"},
                                  json={"eventDefinitionKey": c.sb.event_key,
                                        "members": [{"contactKey": f"t{n}-{b}-{i}"} for i in range(20)]})
                    results.append(resp.json())
                except Exception as exc:  # collected and asserted below
                    errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors and len(results) == 40
    ids = [m["eventInstanceId"] for r in results for m in r["members"]]
    assert len(ids) == len(set(ids)) == 800
    assert c.sb.stats["members_queued"] == 800 and c.sb.stats["internal_errors"] == 0


def test_stop_closes_the_port():
    sb = sandbox.start()
    url = sb.auth_base_url
    with requests.Session() as s:
        assert s.post(url + "v2/token", json={}, timeout=5).status_code == 400
        sb.stop()
        sb.stop()
        with pytest.raises(requests.exceptions.ConnectionError):
            s.post(url + "v2/token", json={}, timeout=5)
    assert not sb.running


def test_stop_lets_go_of_requests_held_by_latency():
    """A hanging endpoint (an hour of latency) holds its request threads only until the sandbox stops."""
    sb = sandbox.start(latency=3600)
    before = set(threading.enumerate())
    answers: Queue = Queue()

    def ask() -> None:
        try:
            answers.put(requests.get(sb.rest_base_url + "interaction/v1/interactions", timeout=30).status_code)
        except requests.exceptions.RequestException as exc:
            answers.put(type(exc).__name__)

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    deadline = time.monotonic() + 10
    while sb.stats["rest_requests"] == 0:   # the request arrived and is being held
        assert time.monotonic() < deadline
        time.sleep(0.02)
    held = [t for t in set(threading.enumerate()) - before if t is not asker]
    assert held and all(t.is_alive() for t in held)
    sb.stop()
    for thread in [asker, *held]:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in [asker, *held])
    assert answers.get(timeout=1) == "ConnectionError"


def test_context_manager_and_fixed_credentials():
    with sandbox.start(client_id="me", client_secret="shh", account_id=42) as sb:
        assert sb.auth_base_url.startswith("http://127.0.0.1:") and sb.auth_base_url.endswith("/")
        assert (sb.client_id, sb.client_secret, sb.account_id) == ("me", "shh", 42)
        resp = requests.post(sb.auth_base_url + "v2/token", timeout=5, json={
            "grant_type": "client_credentials", "client_id": "me", "client_secret": "shh", "account_id": 42})
        assert resp.status_code == 200
    assert not sb.running


def test_standalone_command_prints_url_and_stops():
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "sfmc_nb.sandbox", "--port", "0", "--seed", "1"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines, queue = [], Queue()
        reader = threading.Thread(target=lambda: [queue.put(line) for line in iter(proc.stdout.readline, "")],
                                  daemon=True)
        reader.start()
        deadline = time.monotonic() + 15
        while not any(line.startswith("Press Ctrl-C") for line in lines) and time.monotonic() < deadline:
            try:
                lines.append(queue.get(timeout=0.2).strip())
            except Empty:
                assert proc.poll() is None, proc.stderr.read()
        assert lines and lines[0].startswith("SFMC sandbox running at http://127.0.0.1:"), lines
        url = lines[0].rsplit(" ", 1)[1]
        settings = dict(line.split("=", 1) for line in lines if line.startswith("SFMC_"))
        assert settings["SFMC_AUTH_BASE_URL"] == url and settings["SFMC_CLIENT_ID"]
        assert any("APIEvent-welcome" in line for line in lines)
        resp = requests.post(url + "v2/token", timeout=5, json={
            "grant_type": "client_credentials", "client_id": settings["SFMC_CLIENT_ID"],
            "client_secret": settings["SFMC_CLIENT_SECRET"], "account_id": settings["SFMC_ACCOUNT_ID"]})
        assert resp.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    reader.join(timeout=5)  # the reader ends at end of output
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    while not queue.empty():
        lines.append(queue.get().strip())
    assert proc.returncode == 0 and "Sandbox stopped." in lines
    assert resp.json()["access_token"] not in "\n".join(lines) + err
