"""The settings of a run and the state its loop shares with the worker threads sending its batches."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._rules import DEFAULT_CONCURRENCY, MAX_BATCH_SIZE
from ..client import Connection
from .journal import Journal, Record
from .progress import ProgressEvent, ProgressKind, TextProgress
from .throttle import Throttle

__all__ = ["ProgressCallback", "progress_callback", "RunOptions", "RunContext", "DEFAULT_LANDING_HORIZON"]

ProgressCallback = Callable[[ProgressEvent], None]

DEFAULT_LANDING_HORIZON = 150.0
"""Marketing Cloud ends a REST call server-side after 120 s; 30 s more allow for the status endpoint's lag."""


def progress_callback(progress: ProgressCallback | bool | None) -> ProgressCallback | None:
    """``progress=`` as a callback: ``True`` a line every few seconds on stderr, ``False`` or ``None`` none."""
    if progress is True:
        return TextProgress()
    return progress or None


@dataclass(frozen=True)
class RunOptions:
    """How a run sends: kept by a result's retry so ``retry()`` sends the way the run did."""

    concurrency: int = DEFAULT_CONCURRENCY
    batch_size: int = MAX_BATCH_SIZE
    progress: ProgressCallback | None = None
    max_seconds: float = 300.0     # a batch's budget: past it, throttling or failures end its rows failed
    max_attempts: int = 6          # requests one batch may make before its rows end failed
    reconcile_delay: float = 0.2   # pause before asking the status endpoint about a batch in doubt
    landing_horizon: float = DEFAULT_LANDING_HORIZON   # seconds after its send a request in doubt may still land


@dataclass
class RunContext:
    """What the run loop and its workers share. Workers read it and report through ``events``."""

    conn: Connection
    event_key: str
    options: RunOptions
    journal: Journal | None
    throttle: Throttle
    claimed: set[str]                                    # eventInstanceIds already owned by a row
    claimed_lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)      # send no new batch
    abandon: threading.Event = field(default_factory=threading.Event)   # and stop waiting for those in flight
    stopped: bool = False   # an answer stopped the run (its note in the result's warnings says which): a stream ends
    events: queue.SimpleQueue[tuple[ProgressKind, float | None, str]] = field(default_factory=queue.SimpleQueue)
    run_id: int = field(default_factory=lambda: int(time.time() * 1000))

    def report(self, kind: ProgressKind, wait: float | None = None, message: str = "") -> None:
        """Queue a progress event from any thread; the run loop emits it."""
        self.events.put((kind, wait, message))

    def note(self, record: Record, durable: bool = False) -> None:
        """Write a journal record, if the run keeps a journal."""
        if self.journal:
            self.journal.write(record, durable=durable)

    def claim(self, event_instance_id: str) -> None:
        with self.claimed_lock:
            self.claimed.add(event_instance_id)

    def ident(self, batch: int, attempt: int) -> dict[str, Any]:
        """The journal's name for one request: answers and refusals point back to their ``sent`` record."""
        return {"run": self.run_id, "batch": batch, "attempt": attempt}
