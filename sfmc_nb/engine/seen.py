"""Contact keys seen in earlier chunks of a stream, kept as 8-byte digests rather than Python strings.

Ten million keys take 80 MB as sorted ``uint64`` digests (a Python set of the strings would take about a GB).
They are held in sorted runs: each chunk's digests make a run, and the newest runs are merged while the one
before is no more than twice as big and the merged run stays under :data:`MAX_RUN` digests, so a chunk costs a
few binary searches, and a merge never holds more than two runs' worth of extra memory (never a second copy of
everything seen). Two different keys share a digest with odds of about n^2 / 2^65 (negligible below billions of
keys); such a key would be reported as a repeat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

__all__ = ["SeenKeys", "digests", "MAX_RUN"]

MAX_RUN = 1 << 21
"""Digests in one run at most (16 MB): runs this big are searched, never merged again."""


def digests(keys: Sequence[str]) -> np.ndarray:
    """The 8-byte blake2b digest of each key as ``uint64``."""
    out = np.empty(len(keys), dtype=np.uint64)
    for i, key in enumerate(keys):
        out[i] = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
    return out


class SeenKeys:
    """A growing set of key digests: :meth:`seen` asks, :meth:`add` remembers."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []   # sorted, unique within a run; sizes shrink from first to last

    def __len__(self) -> int:
        """Digests held (one repeated across runs counts once per run)."""
        return sum(len(r) for r in self._runs)

    def seen(self, digest: np.ndarray) -> np.ndarray:
        """A boolean per digest: True when it was added before."""
        found = np.zeros(len(digest), dtype=bool)
        for run in self._runs:
            at = np.searchsorted(run, digest).clip(max=len(run) - 1)
            found |= run[at] == digest
        return found

    def add(self, digest: np.ndarray) -> None:
        if len(digest):
            self._runs.append(np.unique(digest))
        runs = self._runs
        while len(runs) > 1 and len(runs[-2]) <= 2 * len(runs[-1]) and len(runs[-2]) + len(runs[-1]) <= MAX_RUN:
            newest = runs.pop()
            runs[-1] = np.union1d(runs[-1], newest)
