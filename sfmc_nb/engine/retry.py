"""The retry of a finished run: what it needs, kept on an object the result holds (``EntryResult.retry()``)."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from .._rules import check_concurrency
from ..batching import PreparedRows
from ..client import Connection
from ..results import EntryResult
from .context import RunOptions, progress_callback
from .journal import Journal
from .runner import LeftInFlight, Runner

__all__ = ["RunRetry"]


class RunRetry:
    """Finishes a run: sends again the rows that did not queue, after looking up the ``unknown`` ones.

    Holds what the run was made of (connection, event key, prepared rows, options, journal) and the requests an
    interrupt left in flight, which are waited for (bounded) before their rows are checked. ``unknown`` rows
    follow the run's one rule for rows in doubt (:meth:`Runner.run` with ``in_doubt=``, shared with the resume
    from a journal): found, queued; not found, resent only once their request can no longer land.
    """

    def __init__(self, conn: Connection, event_key: str, prepared: PreparedRows, options: RunOptions, *,
                 journal: Journal | None = None, started_at: float | None = None):
        self.conn = conn
        self.event_key = event_key
        self.prepared = prepared
        self.options = options
        self.journal = journal
        self.started_at = time.time() if started_at is None else started_at   # when the first run began
        self.left_in_flight: LeftInFlight = []

    def runner(self, result: EntryResult, **changes: Any) -> Runner:
        """A runner for ``result`` with these options changed (``concurrency``, ``progress``)."""
        options = dataclasses.replace(self.options, **changes) if changes else self.options
        return Runner(self.conn, self.event_key, self.prepared, result, options, journal=self.journal,
                      left_in_flight=self.left_in_flight)

    def retry(self, result: EntryResult, **options: Any) -> None:
        """Collect requests left in flight, look up ``unknown`` rows, resend the resendable ones.

        ``options``: ``concurrency`` and ``progress`` for this retry (others are ignored).
        """
        changes = {name: options[name] for name in ("concurrency", "progress") if name in options}
        if "concurrency" in changes:
            changes["concurrency"] = check_concurrency(changes["concurrency"])
        if "progress" in changes:
            changes["progress"] = progress_callback(changes["progress"])
        again = self.runner(result, **changes)
        t0 = time.monotonic()
        still_out = self._collect_in_flight(again)
        result.interrupted = False
        unknown = [p for p in result.positions(["unknown"]) if p not in still_out]
        again.run([p for p in result.resendable_positions() if p not in still_out], in_doubt=unknown,
                  unsent_since=self.started_at)
        if still_out:
            result.warnings.append(f"{len(still_out)} rows were still in flight from an interrupted run and were "
                                   "not checked or resent: call .retry() again in a minute")
        result.seconds += time.monotonic() - t0

    def _collect_in_flight(self, runner: Runner) -> set[int]:
        """Wait (bounded) for requests an interrupted run left in flight, and record what they did.

        Checking their rows before those requests land could find nothing and resend them. Returns
        the positions of requests still out after the wait.
        """
        grace = self.conn.timeout[0] + self.conn.timeout[1] + 1
        still: LeftInFlight = []
        for fut, send in self.left_in_flight:
            try:
                runner.apply(fut.result(timeout=grace))
            except FutureTimeout:
                still.append((fut, send))
            except CancelledError:  # never started, so never sent: its rows are checked like any unknown
                pass
        self.left_in_flight[:] = still
        return {p for _, send in still for p in send.positions}
