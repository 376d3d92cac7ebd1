"""Shared fixtures: a real sandbox server on 127.0.0.1 and a connection to it."""

from __future__ import annotations

import atexit

import pytest
from _sandbox_helpers import RawClient
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

import sfmc_nb
from sfmc_nb import sandbox as sandbox_module


@pytest.fixture
def sandbox():
    """A fresh sandbox per test (state and faults never leak between tests)."""
    with sandbox_module.start(seed=1) as sb:
        yield sb


@pytest.fixture
def conn(sandbox):
    """A logged-in connection to the test's sandbox; not left as the default afterwards."""
    connection = sfmc_nb.connect(sandbox=sandbox, timeout=(2.0, 5.0), set_default=False)
    yield connection
    connection.close()


@pytest.fixture
def raw_sandbox():
    """Start sandboxes with options, each reached by a :class:`RawClient` (plain requests); all stopped after
    the test. ``raw_sandbox(timeout=..., **options)``: ``timeout`` is the client's, the rest start the sandbox."""
    made: list[RawClient] = []

    def start(*, timeout: float | tuple[float, float] = 10, **options) -> RawClient:
        sb = sandbox_module.start(**options)
        try:
            made.append(RawClient(sb, timeout=timeout))
        except BaseException:
            sb.stop()
            raise
        return made[-1]

    yield start
    for client in made:
        client.close()


@pytest.fixture
def shell():
    """A fresh InteractiveShell (history off), forgotten afterwards.

    Every shell registers its clean-up with ``atexit``; left registered, each finished test's shell would run
    it when pytest exits (seconds in all). The teardown unregisters it and clears the singleton.
    """
    InteractiveShell.clear_instance()
    config = Config()
    config.HistoryManager.enabled = False
    ip = InteractiveShell.instance(config=config)
    yield ip
    atexit.unregister(ip.atexit_operations)
    InteractiveShell.clear_instance()


@pytest.fixture
def sandbox_shell(shell, sandbox, monkeypatch):
    """The test shell with ``%load_ext sfmc_nb``, logged in to the test's sandbox (text display, no progress)."""
    from sfmc_nb.magics import auth as auth_magics

    monkeypatch.setattr(auth_magics, "_can_prompt", lambda shell: False)
    monkeypatch.setenv("SFMC_CLIENT_SECRET", sandbox.client_secret)
    shell.run_line_magic("load_ext", "sfmc_nb")
    conn = shell.run_line_magic("sfmc_auth", f"--auth-base-url {sandbox.auth_base_url} "
                                f"--client-id {sandbox.client_id}")
    shell.run_line_magic("config", "SfmcMagics.display = 'text'")
    shell.run_line_magic("config", "SfmcMagics.progress = False")
    yield shell
    conn.close()


@pytest.fixture(autouse=True)
def _no_default_connection_leak():
    yield
    sfmc_nb.set_default_connection(None)


@pytest.fixture(autouse=True)
def _no_sfmc_environment(monkeypatch, tmp_path):
    """Tests never see the developer's SFMC_* variables or .env file."""
    for name in ("SFMC_SUBDOMAIN", "SFMC_AUTH_BASE_URL", "SFMC_CLIENT_ID", "SFMC_CLIENT_SECRET",
                 "SFMC_ACCOUNT_ID", "SFMC_SCOPE", "SFMC_SANDBOX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _fresh_entry_memory():
    """Each test starts as a fresh kernel would: no earlier run's entries remembered (a sandbox of an earlier test
    may have had the same port)."""
    from sfmc_nb.engine import reentry

    reentry.forget()
    yield
    reentry.forget()
