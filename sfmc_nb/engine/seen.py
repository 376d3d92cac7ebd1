"""Contact keys seen in earlier chunks of a stream, kept as 8-byte digests rather than Python strings.

Ten million keys take 80 MB as sorted ``uint64`` digests (a Python set of the strings would take about a GB).
New digests are held in a few small sorted runs and merged into the main run when they grow, so each chunk
costs a few binary searches, not a re-sort of everything seen. Two different keys share a digest with odds of
about n^2 / 2^65 (negligible below billions of keys); such a key would be reported as a repeat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

__all__ = ["SeenKeys", "digests"]


def digests(keys: Sequence[str]) -> np.ndarray:
    """The 8-byte blake2b digest of each key as ``uint64``."""
    out = np.empty(len(keys), dtype=np.uint64)
    for i, key in enumerate(keys):
        out[i] = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
    return out


class SeenKeys:
    """A growing set of key digests: :meth:`seen` asks, :meth:`add` remembers."""

    def __init__(self) -> None:
        self._main = np.empty(0, dtype=np.uint64)
        self._runs: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._main) + sum(len(r) for r in self._runs)

    def seen(self, digest: np.ndarray) -> np.ndarray:
        """A boolean per digest: True when it was added before."""
        found = np.zeros(len(digest), dtype=bool)
        for run in [self._main, *self._runs]:
            if len(run):
                at = np.searchsorted(run, digest).clip(max=len(run) - 1)
                found |= run[at] == digest
        return found

    def add(self, digest: np.ndarray) -> None:
        self._runs.append(np.unique(digest))
        if sum(len(r) for r in self._runs) * 4 > len(self._main) or len(self._runs) > 8:
            self._main = np.unique(np.concatenate([self._main, *self._runs]))
            self._runs = []
