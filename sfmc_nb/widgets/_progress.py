"""Live progress of a run: a bar with counts in a live kernel, a few text lines elsewhere.

:class:`LiveProgress` is the engine's ``progress=`` callback. It reads the typed
:class:`~sfmc_nb.engine.progress.ProgressEvent`: the kinds the user must see (start, throttle, interrupt,
done) always reach the screen; batch events are rate-limited so a long run costs a few updates a second.
"""

from __future__ import annotations

import html
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

import ipywidgets as widgets

from .._rules import PROGRESS_COLOURS, PROGRESS_LABELS, PROGRESS_STATUSES, counts_text
from ..engine.progress import ProgressEvent, ProgressKind, stream_text
from ._format import ALERT_COLOUR, WARN_COLOUR, seconds_text

__all__ = ["MODES", "LiveProgress", "ProgressView", "in_live_kernel"]

MODES = ("auto", "widget", "text", "off")
RETRYABLE = ("not_queued", "failed", "unknown")   # skipped rows need fixed data, not a resend
_PREFIXES = {ProgressKind.START: "sfmc: starting", ProgressKind.DONE: "sfmc: done",
             ProgressKind.RECONCILE: "sfmc: reconciling"}
_WITH_MESSAGE = frozenset({ProgressKind.THROTTLE, ProgressKind.RECONCILE, ProgressKind.INTERRUPT, ProgressKind.DONE})
_INTERRUPTED = "interrupted: finishing the batches in flight"


def in_live_kernel() -> bool:
    """True inside an ipykernel (JupyterLab, notebook, also nbclient); False in a terminal or plain script."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    if shell is None:
        return False
    names = {cls.__name__ for cls in type(shell).__mro__}
    return "ZMQInteractiveShell" in names and getattr(shell, "kernel", None) is not None


class ProgressView(widgets.VBox):
    """The widget form of :class:`LiveProgress`: bar, counts line, and a note (interrupt, throttle, reconcile)."""

    def __init__(self) -> None:
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="batches",
                                       layout=widgets.Layout(width="420px")).add_class("sfmc-bar")
        self.status = widgets.HTML().add_class("sfmc-progress-status")
        self.note = widgets.HTML().add_class("sfmc-throttle")
        super().__init__([widgets.HBox([self.bar, self.status], layout=widgets.Layout(align_items="center")),
                          self.note])
        self.add_class("sfmc-progress")

    def __repr__(self) -> str:
        return "sfmc progress"   # stable for nbval

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live bar for JupyterLab, and no text for static exports (nbconvert, terminals): the result
        shown after the run says everything the bar did, so the bar leaves no stray line behind."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = ""
        return bundle


class LiveProgress:
    """The engine's ``progress=`` callback: shows batches sent, rows by status, speed and throttling waits.

    ``mode``: ``"widget"`` (IntProgress bar, counts, a note line for "interrupted" and "throttled: waiting
    5 s"), ``"text"`` (a line at the start, at most one every ``text_interval`` seconds, and one for each
    throttle, interrupt and the end - never one per batch), ``"off"``, or ``"auto"`` (widget inside an
    ipykernel, else text). Widget updates are limited to one per ``widget_interval`` seconds (start,
    throttle, reconcile, interrupt and done always show). Calls may come from any thread; a failure in
    the display never reaches the engine.
    """

    def __init__(self, mode: str = "auto", *, text_interval: float = 5.0, widget_interval: float = 0.1,
                 stream: IO[str] | None = None, display: bool = True, clock: Callable[[], float] = time.monotonic):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        self.requested_mode = mode
        self.mode = ("widget" if in_live_kernel() else "text") if mode == "auto" else mode
        self.text_interval = float(text_interval)
        self.widget_interval = float(widget_interval)
        self.stream = stream
        self.display = display
        self.clock = clock
        self.widget: ProgressView | None = None
        self.last_event: ProgressEvent | None = None
        self.events = 0
        self.updates = 0          # widget renders or text lines written
        self.lines: list[str] = []  # text lines written (kept for tests and for repr)
        self.error: BaseException | None = None
        self._lock = threading.RLock()
        self._last_update: float | None = None
        self._last_throttle: tuple[float, Any] | None = None   # (when, what) of the last throttle line
        self._throttle_until: float | None = None
        self._throttle_text = ""
        self._interrupt_text = ""
        self._pending = False

    def __repr__(self) -> str:
        return f"LiveProgress(mode={self.mode!r}, events={self.events})"

    def __call__(self, event: ProgressEvent) -> None:
        try:
            with self._lock:
                self.events += 1
                self.last_event = event
                if self.mode == "widget":
                    self._widget_event(event)
                elif self.mode == "text":
                    self._text_event(event)
        except Exception as exc:  # never break a run because a display failed
            self.error = exc

    def flush(self) -> None:
        """Show the latest event now (a throttled update may be pending)."""
        with self._lock:
            if self._pending and self.last_event is not None and self.mode == "widget":
                self._render_widget(self.last_event)

    # -- text ---------------------------------------------------------------------------------

    @staticmethod
    def describe(event: ProgressEvent) -> str:
        """One line for an event: batches of total, rows by status, speed, and the event's own note (for a
        stream: the chunk, the rows done and the speed, then rows by status)."""
        cps = event.contacts_per_second
        counts = counts_text(event.counts, PROGRESS_STATUSES, empty="no rows yet")
        if event.streamed:
            text = f"{stream_text(event)}: {counts}; {seconds_text(event.elapsed)} s"
        else:
            text = f"{event.batches_done:,}/{event.batches_total:,} batches, {event.rows_total:,} rows: {counts}"
            text += f"; {seconds_text(event.elapsed)} s" + (f", {cps:,.0f} contacts/s" if cps else "")
        if event.kind == ProgressKind.THROTTLE:
            text += f"; throttled: waiting {seconds_text(event.wait or 0)} s"
        if event.message and event.kind in _WITH_MESSAGE:
            text += f" ({event.message})"
        return f"{_PREFIXES.get(event.kind, 'sfmc:')} {text}"

    def _write(self, line: str) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        stream.write(line + "\n")
        flush = getattr(stream, "flush", None)
        if flush:
            flush()
        self.lines.append(line)
        self.updates += 1

    def _text_event(self, event: ProgressEvent) -> None:
        """Batch lines at most every ``text_interval``; the kinds the user must see are never held back
        (a throttle line repeating the last one word for word within the interval adds nothing, so it is not
        written twice)."""
        now = self.clock()
        if event.kind == ProgressKind.THROTTLE:
            notice = (event.wait, event.message)
            due = self._last_throttle is None or self._last_throttle[1] != notice \
                or now - self._last_throttle[0] >= self.text_interval
            if due:
                self._last_throttle = (now, notice)
        else:
            due = (event.always_shown or self._last_update is None
                   or now - self._last_update >= self.text_interval)
        if due:
            self._last_update = now
            self._write(self.describe(event))

    # -- widget -------------------------------------------------------------------------------

    def _widget_event(self, event: ProgressEvent) -> None:
        now = self.clock()
        kind = event.kind
        if kind == ProgressKind.THROTTLE:
            wait = float(event.wait or 0)
            self._throttle_until = now + wait
            self._throttle_text = f"throttled: waiting {seconds_text(wait)} s"
            if event.message:
                self._throttle_text += f" ({event.message})"
        elif kind == ProgressKind.DONE or (self._throttle_until is not None and now >= self._throttle_until):
            self._throttle_until, self._throttle_text = None, ""
        if kind == ProgressKind.INTERRUPT:
            self._interrupt_text = event.message or _INTERRUPTED   # shown until the run ends
        elif kind == ProgressKind.DONE:
            self._interrupt_text = ""
        force = event.always_shown or kind == ProgressKind.RECONCILE
        if force or self._last_update is None or now - self._last_update >= self.widget_interval:
            self._last_update = now
            self._render_widget(event)
        else:
            self._pending = True

    def _ensure_widget(self) -> ProgressView:
        if self.widget is None:
            self.widget = ProgressView()
            if self.display:
                from IPython.display import display

                display(self.widget)
        return self.widget

    def _render_widget(self, event: ProgressEvent) -> None:
        view = self._ensure_widget()
        self._pending = False
        counts = event.counts or {}
        if event.streamed:
            self._stream_bar(view.bar, event)
        else:
            total, done = int(event.batches_total), int(event.batches_done)
            view.bar.description, view.bar.layout.visibility = "batches", "visible"   # as a stream may have left it
            view.bar.max = max(total, 1)
            view.bar.value = min(done, max(total, 1))
        view.bar.bar_style = self._bar_style(event.kind, counts)
        cps = event.contacts_per_second
        badges = " · ".join(
            f'<span style="color:{PROGRESS_COLOURS[s]};font-weight:{700 if s in RETRYABLE else 400}">'
            f"{int(counts.get(s, 0)):,} {PROGRESS_LABELS[s]}</span>" for s in PROGRESS_STATUSES if counts.get(s))
        if event.streamed:
            head = f"{html.escape(stream_text(event))}: {badges or 'no rows yet'} · {seconds_text(event.elapsed)} s"
        else:
            head = (f"{done:,} of {total:,} batches · {int(event.rows_total):,} rows: {badges or 'no rows yet'} · "
                    f"{seconds_text(event.elapsed)} s" + (f" · {cps:,.0f} contacts/s" if cps else ""))
        view.status.value = f'<span class="sfmc-note">&nbsp;{head}</span>'
        view.note.value = self._note_html(event)
        self.updates += 1

    @staticmethod
    def _stream_bar(bar: widgets.IntProgress, event: ProgressEvent) -> None:
        """A stream's bar: rows done of the total when it is known; hidden while it is not (a CSV file, a
        generator: no percentage to show), and full once the stream is done."""
        rows, done = max(int(event.rows_total), 1), int(event.rows_done or 0)
        known = event.total_known or event.kind == ProgressKind.DONE
        bar.description = "rows"
        bar.max = rows
        bar.value = min(done, rows) if event.total_known else rows
        bar.layout.visibility = "visible" if known else "hidden"

    def _bar_style(self, kind: str, counts: Mapping[str, int]) -> str:
        if kind == ProgressKind.DONE:
            return "warning" if sum(int(counts.get(s, 0) or 0) for s in RETRYABLE) else "success"
        if kind == ProgressKind.THROTTLE:
            return "info"
        return "warning" if self._interrupt_text else ""

    def _note_html(self, event: ProgressEvent) -> str:
        """The note line: the interrupt (until the run ends), then a throttling wait or a reconciliation."""
        notes = []
        if self._interrupt_text:
            notes.append(f'<span class="sfmc-note sfmc-interrupted" style="color:{ALERT_COLOUR};font-weight:600">'
                         f"⏹ {html.escape(self._interrupt_text)}</span>")
        if self._throttle_text:
            notes.append(f'<span class="sfmc-note" style="color:{WARN_COLOUR};font-weight:600">⏳ '
                         f"{html.escape(self._throttle_text)}</span>")
        elif event.kind == ProgressKind.RECONCILE:
            message = event.message or "checking batches whose answer was lost"
            notes.append(f'<span class="sfmc-note">reconciling: {html.escape(message)}</span>')
        return "<br>".join(notes)
