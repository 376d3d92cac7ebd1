"""Small display rules the panel and the progress bar share."""

from __future__ import annotations

__all__ = ["PAGE_SIZE", "ALERT_COLOUR", "WARN_COLOUR", "seconds_text"]

PAGE_SIZE = 50
ALERT_COLOUR = "#b3261e"   # interrupted runs, failed actions
WARN_COLOUR = "#b26a00"    # throttling waits, warnings


def seconds_text(value: float) -> str:
    """A duration in seconds, one decimal at most: ``1.5``, ``2``."""
    return f"{round(float(value), 1):g}"
