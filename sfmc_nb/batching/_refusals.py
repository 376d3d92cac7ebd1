"""Why rows are refused: reasons gathered per input position, column by column."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["Refusals"]


class Refusals:
    """Reasons per refused position; a row refused by several checks keeps every reason."""

    def __init__(self) -> None:
        self._by_pos: dict[int, list[str]] = {}

    def add(self, positions: Sequence[int] | np.ndarray, reason: str | Sequence[str]) -> None:
        """Refuse ``positions`` with one shared reason or one reason each."""
        where: Sequence[int] = positions.tolist() if isinstance(positions, np.ndarray) else positions
        reasons = [reason] * len(where) if isinstance(reason, str) else reason
        by_pos = self._by_pos
        for p, r in zip(where, reasons, strict=True):
            if p in by_pos:
                by_pos[p].append(r)
            else:
                by_pos[p] = [r]

    def mask(self, n: int) -> np.ndarray:
        """A boolean array of ``n`` rows, True where a row is refused."""
        m = np.zeros(n, dtype=bool)
        if self._by_pos:
            m[np.fromiter(self._by_pos, dtype=np.intp, count=len(self._by_pos))] = True
        return m

    def reasons(self) -> dict[int, str]:
        """One text per refused position (reasons joined by ``; ``), in position order."""
        return {p: "; ".join(self._by_pos[p]) for p in sorted(self._by_pos)}
