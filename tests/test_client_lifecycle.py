"""A connection's life: close() stops the sandbox connect() started (and only that one); every request counted."""

from __future__ import annotations

import threading
import time

import pytest

import sfmc_nb
from sfmc_nb.client import RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05, max_total_wait=5)


# --------------------------------------------------------------------------- close() and the sandbox


def _port_is_closed(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_close_stops_the_sandbox_connect_started(monkeypatch):
    conn = sfmc_nb.connect(sandbox=True, set_default=False)
    port = conn.sandbox.port
    assert conn.journeys() and conn.owns_sandbox
    conn.close()
    assert not conn.sandbox.running and _port_is_closed(port)
    conn.close()                                              # twice is harmless
    monkeypatch.setenv("SFMC_SANDBOX", "1")
    with sfmc_nb.connect(set_default=False) as conn:
        port = conn.sandbox.port
        assert conn.journeys()
    assert _port_is_closed(port)


def test_close_leaves_a_sandbox_it_was_handed_running(sandbox):
    conn = sfmc_nb.connect(sandbox=sandbox, set_default=False)
    conn.close()
    assert sandbox.running and not conn.owns_sandbox
    with sfmc_nb.connect(sandbox=sandbox, set_default=False) as again:
        assert again.journeys()


def test_connect_close_cycles_leave_no_threads_or_ports_behind():
    def sandbox_threads():
        return [t for t in threading.enumerate() if t.name.startswith("sfmc-sandbox-")]

    before = threading.active_count()
    ports = []
    for _ in range(5):                                        # bounded
        with sfmc_nb.connect(sandbox=True, set_default=False) as conn:
            conn.journeys()
            ports.append(conn.sandbox.port)
    assert not sandbox_threads()
    assert all(_port_is_closed(p) for p in ports)
    deadline = time.monotonic() + 5                           # request threads end as their sockets close
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before


def test_a_failed_login_stops_the_sandbox_connect_started(monkeypatch):
    started = []
    real_start = sfmc_nb.sandbox.start

    def start(*args, **kwargs):
        started.append(real_start(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(sfmc_nb.sandbox, "start", start)
    with pytest.raises(sfmc_nb.AuthError):
        sfmc_nb.connect(sandbox=True, client_secret="wrong-secret", set_default=False)
    assert started and not started[0].running


# --------------------------------------------------------------------------- the request counter


def test_every_request_that_left_is_counted_retries_included(sandbox, conn):
    conn.retry = FAST_RETRY
    sent, served = conn.requests_sent, sandbox.stats["rest_requests"]
    tokens_sent, tokens_served = conn.token_requests_sent, sandbox.stats["token_requests"]
    sandbox.configure(error_rate=0.5)
    for _ in range(4):
        conn.journeys()                                       # reads ride through 5xx: the retries count too
    conn.batch_status(event_key=sandbox.event_key)            # the status reads' own retries as well
    sandbox.reset_faults()
    sandbox.expire_tokens()
    conn.journeys()                                           # 401, a new token, the same call again
    assert sandbox.stats["server_errors"] >= 1
    assert conn.requests_sent - sent == sandbox.stats["rest_requests"] - served
    assert conn.token_requests_sent - tokens_sent == sandbox.stats["token_requests"] - tokens_served == 1
    assert conn.request_count == conn.requests_sent


def test_the_request_counter_is_thread_safe(sandbox, conn):
    start = conn.requests_sent
    served = sandbox.stats["rest_requests"]

    def work():
        for _ in range(5):
            conn.journeys(status="Published")

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert conn.requests_sent - start == sandbox.stats["rest_requests"] - served >= 30
