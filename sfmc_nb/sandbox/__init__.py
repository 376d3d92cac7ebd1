"""A local emulator of the Marketing Cloud endpoints sfmc_nb uses, so notebooks and tests need no tenant.

    from sfmc_nb import sandbox
    with sandbox.start(seed=0, rate_limit=20) as sb:
        ...  # sb.auth_base_url, sb.client_id, sb.client_secret, sb.account_id, sb.event_key

Standard library only, and it imports nothing else from sfmc_nb: it is an independent server-side
implementation written from ``docs/marketing-cloud-api.md``, so it and the client can catch each other's
mistakes. Faults (latency, throttling, 5xx, lost answers, slow processing, short tokens) are deterministic
given ``seed``. Dates in answers are written as Marketing Cloud writes them, in system time (UTC-6) without an
offset; ``date_style="utc"`` writes them in UTC with ``Z``.

Journeys run: contacts move through waits, decision, random and engagement splits and emails on a compressed
clock (one journey day lasts ``day_seconds``), write journey history, and show in membership until they
reach the end of a path. ``advance(days=...)`` and ``skip_waits=True`` hurry them along; ``paths()``,
``journey_log()`` and ``sends()`` are the sandbox's own record of what happened.
"""

from __future__ import annotations

import collections
import threading

from . import demo
from .clock import JOURNEY_DEFAULTS, Clock, span_seconds
from .faults import DEFAULTS as FAULT_DEFAULTS
from .faults import KINDS as FAULT_KINDS
from .faults import Faults
from .server import Dispatcher, SandboxHTTPServer
from .tenant import Tenant, iso

__all__ = ["start", "Sandbox", "FAULT_DEFAULTS", "FAULT_KINDS", "JOURNEY_DEFAULTS"]


class Sandbox:
    """A demo tenant served over HTTP on 127.0.0.1. Create it with :func:`start`."""

    def __init__(self, *, seed: int = 0, port: int = 0, client_id: str = demo.CLIENT_ID,
                 client_secret: str = demo.CLIENT_SECRET, account_id: int = demo.ACCOUNT_ID,
                 extra_journeys: int = 0, **options):
        journey_options, fault_options = _split_options(options)
        self._faults = Faults(seed, **fault_options)
        self._clock = Clock(**journey_options)
        content = demo.build(seed, extra_journeys)
        self._tenant = Tenant(content, self._faults, self._clock, seed, client_id, client_secret, int(account_id))
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
        self._faults.release_pauses(False)
        self._server = SandboxHTTPServer(self._port_wanted, self._dispatcher)
        self.port = self._server.server_address[1]
        self.auth_base_url = self.rest_base_url = f"http://127.0.0.1:{self.port}/"
        self._dispatcher.base_url = self.rest_base_url
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"sfmc-sandbox-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections and the listening socket, and end the latency pauses of
        requests still being answered (a hanging endpoint lets go). Safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        self._faults.release_pauses()   # after the connections closed: a held request gets no late answer
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

    # ---- settings and faults ---------------------------------------------------------------------------

    def configure(self, **options) -> None:
        """Change fault or journey settings while running (same names as :func:`start`).

        Switching ``skip_waits`` on ends every wait in progress at once; a new ``day_seconds`` applies to waits
        that start afterwards.
        """
        journey_options, fault_options = _split_options(options)
        self._faults.configure(**fault_options)
        self._clock.configure(**journey_options)
        if journey_options.get("skip_waits"):
            self._tenant.end_waits()

    def reset_faults(self) -> None:
        """Switch every fault off (token_lifetime back to 1079; process_delay, date_style and journey settings are
        kept)."""
        self._faults.reset()

    def inject(self, kind: str, count: int = 1, *, seconds: float | None = None) -> None:
        """The next ``count`` batch-entry POSTs get fault ``kind`` (one of FAULT_KINDS).

        ``"slow-answer"`` (or ``"slow_answer"``) needs ``seconds``: the request is worked on that long, then
        lands (its members are queued) and is answered, after the client's read timeout if that is shorter.
        """
        self._faults.inject(kind, count, seconds)

    @property
    def faults(self) -> dict:
        """Current fault settings (a copy)."""
        return self._faults.settings()

    def expire_tokens(self) -> None:
        """Every token issued so far stops working now."""
        self._tenant.tokens.expire_all()

    # ---- the journey clock ---------------------------------------------------------------------------

    @property
    def journey_settings(self) -> dict:
        """Current journey settings (a copy): day_seconds, skip_waits, engagement_rate, history_lag."""
        return self._clock.settings()

    def advance(self, days: float = 0, *, weeks: float = 0, hours: float = 0, minutes: float = 0) -> None:
        """Move the clock forward: entries, waits and exits due within that span happen now, in order.

        Steps carried out this way are dated now in journey history (never in the future).
        """
        seconds = span_seconds(self._clock.day_seconds, weeks=weeks, days=days, hours=hours, minutes=minutes)
        self._tenant.advance(seconds)

    def backdate(self, *, hours: float = 0, minutes: float = 0) -> None:
        """Date every entry made so far that much earlier, as if it had been made then (a busy event's past)."""
        seconds = span_seconds(1.0, hours=hours, minutes=minutes) * 86400
        self._tenant.backdate(seconds)

    # ---- observation ---------------------------------------------------------------------------------

    @property
    def stats(self) -> dict:
        return self._dispatcher.stats_snapshot()

    @property
    def request_log(self) -> list[dict]:
        return self._dispatcher.log_snapshot()

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

    def paths(self, journey_key: str | None = None, contact_keys=None) -> list[dict]:
        """One dict per journey run, oldest first: ``contactKey``, ``journeyKey``, ``version``,
        ``definitionInstanceId``, ``keys`` and ``path`` (activity keys and names in the order reached, trigger
        left out), ``atKey``/``at`` (the newest activity), ``status`` (its status now, e.g. ``Waiting``),
        ``inJourney`` and ``ended`` (None, ``"end"``, ``"exit"`` or ``"failed"``). No history lag applies."""
        wanted = None if contact_keys is None else set(contact_keys)
        with self._tenant.lock:
            self._tenant.settle()
            rows = self._tenant.journeys.paths()
        return [r for r in rows if (journey_key is None or r["journeyKey"] == journey_key)
                and (wanted is None or r["contactKey"] in wanted)]

    def journey_log(self, contact_keys=None) -> list[dict]:
        """Every journey history row as it stands now (entries, refusals, activities, exits), oldest first."""
        wanted = None if contact_keys is None else set(contact_keys)
        with self._tenant.lock:
            self._tenant.settle()
            rows = self._tenant.journeys.log()
        return [r for r in rows if wanted is None or r["contactKey"] in wanted]

    def sends(self) -> list[dict]:
        """Every email the journeys sent, oldest first, with whether it was (simulated as) opened and clicked."""
        with self._tenant.lock:
            self._tenant.settle()
            return self._tenant.journeys.sent()


def start(seed: int = 0, port: int = 0, **options) -> Sandbox:
    """Start a sandbox on 127.0.0.1 (``port=0``: any free port) and return it, running.

    Options: ``client_id``, ``client_secret``, ``account_id``, ``extra_journeys``, the faults
    ``latency``, ``jitter``, ``rate_limit``, ``rate_limit_style``, ``retry_after``, ``error_rate``,
    ``lost_answer_rate``, ``slow_answer_rate``, ``slow_answer_seconds``, ``status_lag``, ``token_lifetime``,
    ``process_delay``, ``date_style``, ``history_answer`` (see ``FAULT_DEFAULTS``) and the journey settings
    ``day_seconds``, ``skip_waits``, ``engagement_rate``, ``history_lag`` (see ``JOURNEY_DEFAULTS``).
    """
    return Sandbox(seed=seed, port=port, **options).start()


def _split_options(options: dict) -> tuple[dict, dict]:
    """(journey settings, fault settings); an unknown name raises TypeError naming every known one."""
    unknown = [name for name in options if name not in JOURNEY_DEFAULTS and name not in FAULT_DEFAULTS]
    if unknown:
        known = ", ".join([*FAULT_DEFAULTS, *JOURNEY_DEFAULTS])
        raise TypeError(f"unknown sandbox option {unknown[0]!r}; known: {known}")
    return ({k: v for k, v in options.items() if k in JOURNEY_DEFAULTS},
            {k: v for k, v in options.items() if k not in JOURNEY_DEFAULTS})
