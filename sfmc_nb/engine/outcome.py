"""What a worker reports for one batch: the outcome of each of its rows and the requests it took.

Workers never touch the :class:`~sfmc_nb.results.EntryResult`; the run loop applies their outcomes one at a
time, so the result is only ever written from one thread.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..results import BatchRecord

__all__ = ["RowOutcome", "BatchOutcome", "batch_outcome"]


class RowOutcome(NamedTuple):
    """One row's outcome (a tuple: a batch makes a hundred of them)."""

    pos: int
    status: str
    event_instance_id: str | None = None
    errorcode: int | None = None
    message: str | None = None
    request_id: str | None = None
    sent_at: float | None = None     # for a row left in doubt: when the request that may enter it was sent


@dataclass
class BatchOutcome:
    record: BatchRecord
    rows: list[RowOutcome]
    requests: int = 0
    retries: int = 0
    throttled_waits: int = 0
    reconciliations: int = 0
    raw: list[Any] = field(default_factory=list)
    fatal: BaseException | None = None
    parked_until: float | None = None   # a request of the batch is in doubt until then: the loop parks it


def batch_outcome(rows: list[RowOutcome]) -> str:
    """One word for a batch: queued, partial, not_queued, or the status its rows share."""
    statuses = Counter(r.status for r in rows)
    if statuses.get("not_queued") and not statuses.get("queued"):
        return "not_queued"
    if set(statuses) == {"queued"}:
        return "queued"
    if statuses.get("queued"):
        return "partial"
    return next(iter(statuses)) if statuses else "pending"
