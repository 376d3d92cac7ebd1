"""The live journey map: a followed trace redrawn in place while its contacts move (``trace(..., follow=True)``).

In a live kernel the map is an ``ipywidgets.HTML`` under a status line, updated at every reading of the history.
When the follow ends, the display is replaced by the same view as plain HTML (status line, map, paths), so a
static export (nbconvert, GitHub), which cannot draw widgets offline, shows the final map too.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from .._rules import plural
from ._format import seconds_text
from ._progress import in_live_kernel

__all__ = ["LiveJourneyMap", "live_map"]


class LiveJourneyMap(widgets.VBox):
    """A status line (``sfmc-follow-status``) over the trace's map and paths (``sfmc-live-map``)."""

    def __init__(self, trace: Any):
        self.trace = trace
        self.following = True
        self.status = widgets.HTML().add_class("sfmc-follow-status")
        self.map = widgets.HTML().add_class("sfmc-live-map")
        self.full_size = widgets.ToggleButton(value=False, description="Full size", tooltip=(
            "Show the map at its full size (scroll) instead of fitted to the width; kept while the map updates"),
            layout=widgets.Layout(width="auto")).add_class("sfmc-map-full-size")
        self.full_size.observe(self._on_full_size, names="value")
        super().__init__([widgets.HBox([self.status, self.full_size]), self.map])
        self.add_class("sfmc-live-journey")
        self._handle: Any = None
        self.update(trace, following=True, elapsed=0.0)

    def _on_full_size(self, change: dict) -> None:
        """The map's full-size view survives every redraw: it is a class on the map's widget, not in its HTML."""
        if change["new"]:
            self.map.add_class("sfmc-map-full")
        else:
            self.map.remove_class("sfmc-map-full")

    def __repr__(self) -> str:   # nbval compares this text: stable, no timings
        return "sfmc live journey map"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        return {**(bundle or {}), "text/html": self.trace._repr_html_(), "text/plain": repr(self)}

    def status_text(self, elapsed: float) -> str:
        states = self.trace.states
        waiting = int((states == "waiting").sum())
        ended = int(states.isin(["ended", "may have ended"]).sum())
        head = "following" if self.following else "followed"
        return (f"{head} {plural(len(states), 'contact')} for {seconds_text(elapsed)} s: {waiting:,} waiting, "
                f"{ended:,} at an end, {len(states) - waiting - ended:,} moving or not in the history yet")

    def update(self, trace: Any, *, following: bool, elapsed: float) -> None:
        """Redraw from ``trace``. The last update (``following=False``) replaces the displayed widget with the
        same view as plain HTML, which static exports show too (they cannot draw a widget offline)."""
        self.trace, self.following = trace, following
        self.status.value = f'<span class="sfmc-note">{html.escape(self.status_text(elapsed))}</span>'
        self.map.value = trace._repr_html_()
        if not following and self._handle is not None:
            self._handle.update(self.static_bundle(), raw=True)

    def static_bundle(self) -> dict[str, str]:
        """What the display shows once the follow has ended: the status line and the trace, no widget."""
        full = " sfmc-map-full" if self.full_size.value else ""
        return {"text/html": f'<div class="sfmc-live-journey{full}">{self.status.value}{self.map.value}</div>',
                "text/plain": repr(self.trace)}

    def show(self) -> LiveJourneyMap:
        from IPython.display import display

        self._handle = display(self, display_id=True)
        return self


def live_map(trace: Any) -> LiveJourneyMap | None:
    """The registered live view of :func:`sfmc_nb.trace` (``follow=True``): shown now in a live kernel, else None."""
    if not in_live_kernel():
        return None
    return LiveJourneyMap(trace).show()
