"""A local emulator of the Marketing Cloud endpoints sfmc_nb uses, so notebooks and tests need no tenant.

    from sfmc_nb import sandbox
    with sandbox.start(seed=0, rate_limit=20) as sb:
        ...  # sb.auth_base_url, sb.client_id, sb.client_secret, sb.account_id, sb.event_key

Standard library only, and it imports nothing else from sfmc_nb: it is an independent server-side
implementation written from ``shared/docs/sfmc-api.md``, so it and the client can catch each other's mistakes.
Faults (latency, throttling, 5xx, lost answers, short tokens) are deterministic given ``seed``.
"""

from __future__ import annotations

import collections
import threading

from . import demo
from .faults import DEFAULTS as FAULT_DEFAULTS
from .faults import KINDS as FAULT_KINDS
from .faults import Faults
from .server import Dispatcher, SandboxHTTPServer
from .tenant import Tenant, iso

__all__ = ["start", "Sandbox", "FAULT_DEFAULTS", "FAULT_KINDS"]


class Sandbox:
    """A demo tenant served over HTTP on 127.0.0.1. Create it with :func:`start`."""

    def __init__(self, *, seed: int = 0, port: int = 0, client_id: str = demo.CLIENT_ID,
                 client_secret: str = demo.CLIENT_SECRET, account_id: int = demo.ACCOUNT_ID,
                 extra_journeys: int = 0, **faults):
        self._faults = Faults(seed, **faults)
        content = demo.build(seed, extra_journeys)
        self._tenant = Tenant(content, self._faults, seed, client_id, client_secret, int(account_id))
        self._dispatcher = Dispatcher(self._tenant, self._faults)
        self._port_wanted = port
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.client_id, self.client_secret, self.account_id = client_id, client_secret, int(account_id)
        self.seed = seed
        self.demo = {role: dict(info) for role, info in content.roles.items()}
        self.event_key = content.roles["welcome"]["event_key"]
        self.single_entry_event_key = content.roles["single_entry"]["event_key"]
        self.draft_event_key = content.roles["draft"]["event_key"]
        self.shared_event_key = content.roles["shared"]["event_key"]
        self.port = 0
        self.auth_base_url = self.rest_base_url = ""

    # ---- life cycle ----------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind 127.0.0.1 and serve from a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._server = SandboxHTTPServer(self._port_wanted, self._dispatcher)
        self.port = self._server.server_address[1]
        self.auth_base_url = self.rest_base_url = f"http://127.0.0.1:{self.port}/"
        self._dispatcher.base_url = self.rest_base_url
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"sfmc-sandbox-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections and the listening socket. Safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<sfmc_nb sandbox {self.auth_base_url or '(not started)'} client_id={self.client_id!r} {state}>"

    # ---- faults --------------------------------------------------------------------------------------

    def configure(self, **faults) -> None:
        """Change fault settings while running (same names as :func:`start`)."""
        self._faults.configure(**faults)

    def reset_faults(self) -> None:
        """Switch every fault off (token_lifetime back to 1079; process_delay is kept)."""
        self._faults.reset()

    def inject(self, kind: str, count: int = 1) -> None:
        """The next ``count`` batch-entry POSTs get fault ``kind`` (one of FAULT_KINDS)."""
        self._faults.inject(kind, count)

    @property
    def faults(self) -> dict:
        """Current fault settings (a copy)."""
        return self._faults.settings()

    def expire_tokens(self) -> None:
        """Every token issued so far stops working now."""
        self._tenant.expire_tokens()

    # ---- observation ---------------------------------------------------------------------------------

    @property
    def stats(self) -> dict:
        with self._dispatcher._lock:
            return dict(self._dispatcher.stats)

    @property
    def request_log(self) -> list[dict]:
        with self._dispatcher._lock:
            return [dict(row) for row in self._dispatcher.log]

    def entries(self, event_key: str | None = None) -> list[dict]:
        """One dict per queued member (batch or single entry), oldest first, with its current status."""
        return [{
            "contactKey": e.contact_key, "eventDefinitionKey": e.event_key, "eventInstanceId": e.event_instance_id,
            "requestId": e.request_id, "data": dict(e.data), "status": e.status, "message": e.message,
            "journeys": [j.key for j in e.journeys] if e.status == "processed" else [],
            "createdDate": iso(e.created),
        } for e in self._tenant.entry_rows() if event_key is None or e.event_key == event_key]

    def entry_counts(self, event_key: str | None = None) -> collections.Counter:
        """contactKey -> times queued."""
        return collections.Counter(e["contactKey"] for e in self.entries(event_key))


def start(seed: int = 0, port: int = 0, **options) -> Sandbox:
    """Start a sandbox on 127.0.0.1 (``port=0``: any free port) and return it, running.

    Options: ``client_id``, ``client_secret``, ``account_id``, ``extra_journeys`` and the faults
    ``latency``, ``jitter``, ``rate_limit``, ``rate_limit_style``, ``retry_after``, ``error_rate``,
    ``lost_answer_rate``, ``token_lifetime``, ``process_delay`` (see ``FAULT_DEFAULTS``).
    """
    return Sandbox(seed=seed, port=port, **options).start()
