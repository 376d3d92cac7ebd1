"""ipywidgets panels for journey entry results, live progress, and bounded HTML tables.

Imported lazily (by ``EntryResult.show()`` and the magics) so the client, batching and the engine keep
serving plain scripts without ipywidgets. Everything here renders bounded slices only: a 100,000-row
result puts one page of rows into the browser, never the whole table.

- :class:`ResultPanel` (``_panel``) - the panel ``EntryResult.show()`` returns (counts, Summary/Errors/All
  rows/Raw tabs, Retry and Save CSV buttons), with its :class:`Pager`.
- :class:`LiveProgress` (``_progress``) - the engine's ``progress=`` callback: a progress bar in a live
  kernel, a few text lines elsewhere (nbconvert, nbval, terminals).
- :class:`LiveJourneyMap` (``_map``) - the journey map redrawn while a followed trace's contacts move
  (``sfmc_nb.trace(..., follow=True)``; :func:`live_map` is the view ``sfmc_nb`` registers for it).
- :func:`frame_html`, :func:`journeys_html`, :class:`Table` - readable, escaped, bounded HTML tables for the
  exploration magics, from :mod:`sfmc_nb._html` (the one table renderer).
"""

from .._html import Table, as_frame, frame_html, journeys_html
from ._map import LiveJourneyMap, live_map
from ._panel import TAB_TITLES, Pager, ResultPanel
from ._progress import LiveProgress, ProgressView, in_live_kernel

__all__ = [
    "ResultPanel", "Pager", "LiveProgress", "ProgressView", "frame_html", "journeys_html", "as_frame", "Table",
    "in_live_kernel", "TAB_TITLES", "LiveJourneyMap", "live_map",
]
