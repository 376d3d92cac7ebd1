"""The submission engine (being split out of ``sfmc_nb.entry``): progress events live here already."""

from .progress import ProgressEvent, ProgressKind, TextProgress

__all__ = ["ProgressEvent", "ProgressKind", "TextProgress"]
