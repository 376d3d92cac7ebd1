"""ipywidgets panels for journey entry results, live progress, and bounded HTML tables.

Imported lazily (by ``EntryResult.show()`` and the magics) so the client, batching and the engine keep
serving plain scripts without ipywidgets. Everything here renders bounded slices only: a 100,000-row
result puts one page of rows into the browser, never the whole table.

- :class:`ResultPanel` - the panel ``EntryResult.show()`` returns (counts, Summary/Errors/All rows/Raw tabs,
  Retry and Save CSV buttons).
- :class:`LiveProgress` - the engine's ``progress=`` callback: a progress bar in a live kernel, a few text
  lines elsewhere (nbconvert, nbval, terminals).
- :func:`frame_html`, :func:`journeys_html`, :class:`Table` - readable, escaped, bounded HTML tables for the
  exploration magics (journeys, one journey, membership, exit status).
"""

from __future__ import annotations

import html
import json
import math
import re
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ._html import STYLE, Table, as_frame, cell_text, frame_html, journeys_html
from ._rules import STATUS_COLOURS, STATUS_LABELS, STATUSES, is_missing
from .results import EntryResult

__all__ = [
    "ResultPanel", "Pager", "LiveProgress", "ProgressView", "frame_html", "journeys_html", "as_frame", "Table",
    "in_live_kernel", "TAB_TITLES",
]

TAB_TITLES = ("Summary", "Errors", "All rows", "Raw")
PAGE_SIZE = 50
RAW_ANSWERS = 3             # answers shown in the Raw tab
RAW_CHARS = 30_000          # and at most this many characters of them
RETRYABLE = ("not_queued", "failed", "unknown")   # skipped rows need fixed data, not a resend
ERROR_COLUMNS = ["contactKey", "status", "errorcode", "message", "batch", "attempts", "requestId"]

LABELS = STATUS_LABELS
COLOURS = STATUS_COLOURS

# -- the result panel -----------------------------------------------------------------------------

class Pager(widgets.VBox):
    """One page of a frame with Prev/Next buttons and a "rows a–b of N" label (only the page is rendered)."""

    def __init__(self, page_size: int = PAGE_SIZE, *, empty: str = "no rows", css: str | None = None,
                 columns: Iterable[str] | None = None):
        self.page_size = max(1, int(page_size))
        self.columns = list(columns) if columns is not None else None
        self.page = 0
        self.empty = empty
        self.frame = pd.DataFrame()
        self.prev_button = widgets.Button(description="Prev", icon="chevron-left",
                                          layout=widgets.Layout(width="80px")).add_class("sfmc-prev")
        self.next_button = widgets.Button(description="Next", icon="chevron-right",
                                          layout=widgets.Layout(width="80px")).add_class("sfmc-next")
        self.label = widgets.HTML().add_class("sfmc-page-label")
        self.table = widgets.HTML().add_class("sfmc-page")
        self.prev_button.on_click(lambda _b: self.go(self.page - 1))
        self.next_button.on_click(lambda _b: self.go(self.page + 1))
        nav = widgets.HBox([self.prev_button, self.next_button, self.label],
                           layout=widgets.Layout(align_items="center"))
        super().__init__([nav, self.table])
        self.add_class("sfmc-pager")
        if css:
            self.add_class(css)

    def __repr__(self) -> str:
        return f"Pager({len(self.frame):,} rows)"

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.frame) / self.page_size))

    def set_frame(self, frame: pd.DataFrame) -> None:
        """Show ``frame``, keeping the current page when it still exists."""
        self.frame = frame
        self.go(self.page)

    def go(self, page: int) -> None:
        self.page = max(0, min(int(page), self.pages - 1))
        total = len(self.frame)
        start = self.page * self.page_size
        end = min(start + self.page_size, total)
        self.label.value = (f'<span class="sfmc-note">&nbsp;rows {start + 1:,}–{end:,} of {total:,}'
                            f" (page {self.page + 1:,} of {self.pages:,})</span>" if total
                            else f'<span class="sfmc-note">&nbsp;{html.escape(self.empty)}</span>')
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self.pages - 1
        self.table.value = frame_html(self.frame, max_rows=self.page_size, start=start, empty=self.empty,
                                      columns=self.columns, footer=False) if total else ""


def _seconds(value: float) -> str:
    value = round(float(value), 1)
    return f"{value:g}"


class ResultPanel(widgets.VBox):
    """What ``EntryResult.show()`` returns: counts at a glance, tables to find what failed, retry and save.

    Attributes for tests and callers: ``header`` (HTML, class ``sfmc-counts``), ``notice`` (HTML,
    ``sfmc-notice``), ``retry_button`` (``sfmc-retry``), ``save_button`` (``sfmc-save``), ``tabs`` (Tab,
    ``sfmc-tabs``, titles :data:`TAB_TITLES`), ``summary_html`` and ``batches_pager`` (Summary tab),
    ``errors_pager`` (Errors tab), ``rows_pager`` (All rows tab), ``raw_html`` (Raw tab), ``last_path``
    (the last CSV saved), ``last_error`` (the last retry/save exception, shown in ``notice``).
    """

    def __init__(self, result: EntryResult, page_size: int = PAGE_SIZE):
        self.result = result
        self.last_path: Path | None = None
        self.last_error: BaseException | None = None
        self.retry_runs = 0
        self.header = widgets.HTML().add_class("sfmc-counts")
        self.notice = widgets.HTML().add_class("sfmc-notice")
        self.retry_button = widgets.Button(description="Retry failed rows", icon="redo",
                                           layout=widgets.Layout(width="auto")).add_class("sfmc-retry")
        self.save_button = widgets.Button(description="Save CSV", icon="download",
                                          layout=widgets.Layout(width="auto")).add_class("sfmc-save")
        self.summary_html = widgets.HTML().add_class("sfmc-summary")
        self.batches_pager = Pager(page_size, empty="no batches were sent", css="sfmc-batches")
        self.errors_pager = Pager(page_size, empty="every row queued", css="sfmc-errors", columns=ERROR_COLUMNS)
        self.rows_pager = Pager(page_size, css="sfmc-rows")
        self.raw_html = widgets.HTML().add_class("sfmc-raw")
        self.tabs = widgets.Tab(
            children=[widgets.VBox([self.summary_html, self.batches_pager]), self.errors_pager, self.rows_pager,
                      self.raw_html],
            titles=TAB_TITLES,
        ).add_class("sfmc-tabs")
        actions = widgets.HBox([self.retry_button, self.save_button, self.notice],
                               layout=widgets.Layout(align_items="center"))
        super().__init__([self.header, actions, self.tabs])
        self.add_class("sfmc-panel")
        self.retry_button.on_click(lambda _b: self.retry())
        self.save_button.on_click(lambda _b: self.save_csv())
        ref = weakref.ref(self)   # the result must not keep closed panels alive

        def _changed(_result: EntryResult) -> None:
            panel = ref()
            if panel is not None:
                panel.refresh()

        result.on_change(_changed)
        self.refresh()

    def __repr__(self) -> str:
        # nbval compares this text: short, and free of timings.
        counts = self.result.counts
        parts = ", ".join(f"{counts[s]:,} {LABELS[s]}" for s in STATUSES if counts[s]) or "no rows"
        return f"ResultPanel({self.result.event_key!r}: {parts})"

    def _repr_mimebundle_(self, **kwargs):
        """The live widget, plus the result's bounded HTML table for places that cannot run widgets
        (nbconvert, GitHub previews): JupyterLab shows the widget, static renderers the table."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        return {**(bundle or {}), "text/html": self.result._repr_html_()}

    # -- rendering ----------------------------------------------------------------------------

    def retryable(self) -> int:
        """Rows a retry would act on (not queued, failed, unknown, and rows an interruption left unsent);
        rows skipped for bad input need fixed data instead."""
        return self.result.retryable()

    def header_html(self) -> str:
        r = self.result
        counts = r.counts
        summary = r.summary
        badges = []
        for s in STATUSES:
            n, colour = counts[s], COLOURS[s]
            if n and s != "queued" and s != "skipped":
                style = f"background:{colour};color:#fff;border-color:{colour};font-weight:700"
            elif n:
                style = f"color:{colour};font-weight:600"
            else:
                style = "color:#9a9a9a;border-color:#d0d0d0"
            badges.append(f'<span class="sfmc-badge sfmc-badge-{s}" style="{style}">{n:,} {LABELS[s]}</span>')
        kind = "Dry run" if r.dry_run else "Journey entry"
        flags = ' <span style="color:#b3261e">INTERRUPTED</span>' if r.interrupted else ""
        speed = summary.get("contacts_per_second")
        meta = [f"{len(r):,} rows", f"{summary['batches']:,} batches", f"{summary['requests']:,} requests",
                f"{summary['retries']:,} retries", f"{_seconds(r.seconds)} s"]
        if speed:
            meta.append(f"{speed:,.0f} contacts/s")
        if r.throttled_waits:
            meta.append(f"throttled {r.throttled_waits}× ({_seconds(r.throttled_seconds)} s)")
        warn = "".join(f'<div class="sfmc-note" style="color:#b26a00">⚠ {html.escape(str(w))}</div>'
                       for w in r.warnings[:5])
        return (STYLE + f'<div class="sfmc-title">{kind} into <code>{html.escape(str(r.event_key))}</code>{flags}</div>'
                f'<div class="sfmc-badges">{"".join(badges)}</div>'
                f'<div class="sfmc-meta">{" · ".join(meta)}</div>{warn}')

    def summary_table_html(self) -> str:
        """The run's figures as wrapping "name value" chips (the per-batch table follows in the pager)."""
        s = self.result.summary
        skip = {"dry_run", "interrupted"}
        chips = "".join(
            f'<span class="sfmc-chip"><span class="sfmc-note">{html.escape(str(k).replace("_", " "))}</span> '
            f"<b>{html.escape(cell_text(v, 40) if not isinstance(v, int) or isinstance(v, bool) else f'{v:,}')}</b>"
            "</span>" for k, v in s.items() if k not in skip and not is_missing(v))
        journal = f'<div class="sfmc-note">journal: {html.escape(str(self.result.journal))}</div>' \
            if self.result.journal else ""
        return f'<div class="sfmc-stats">{chips}</div>{journal}'

    def raw_text(self) -> str:
        r = self.result
        if r.raw:
            items, intro = r.raw[:RAW_ANSWERS], f"first {min(len(r.raw), RAW_ANSWERS)} answers of {len(r.raw)} kept"
        elif r.preview:
            items, intro = r.preview[:RAW_ANSWERS], "dry run: the first payloads, not sent"
        else:
            return '<div class="sfmc-note">no answers were kept</div>'
        text = json.dumps(items, indent=2, default=str, ensure_ascii=False)
        if len(text) > RAW_CHARS:
            text = text[:RAW_CHARS] + f"\n… ({len(text) - RAW_CHARS:,} more characters)"
        return f'<div class="sfmc-note">{html.escape(intro)}</div><pre>{html.escape(text)}</pre>'

    def refresh(self) -> None:
        """Re-render every part from the result (after a retry; cheap: only pages are rendered)."""
        r = self.result
        frame = r.to_frame()
        self.header.value = self.header_html()
        self.summary_html.value = self.summary_table_html()
        self.batches_pager.set_frame(r.batches)
        self.errors_pager.set_frame(frame[frame["status"] != "queued"])
        self.rows_pager.set_frame(frame)
        self.raw_html.value = self.raw_text()
        n = self.retryable()
        self.retry_button.disabled = bool(not r.can_retry or n == 0)
        self.retry_button.description = f"Retry {n:,} failed rows" if n else "Retry failed rows"
        if r.dry_run:
            self.retry_button.tooltip = "a dry run sends nothing: run without dry_run to enter"
        elif not r.can_retry:
            self.retry_button.tooltip = "this result was not made by a live run"
        else:
            self.retry_button.tooltip = "send again the rows that did not queue (skipped rows need fixed data)"

    def _say(self, text: str, colour: str | None = None) -> None:
        style = f' style="color:{colour}"' if colour else ""
        self.notice.value = f'<span class="sfmc-note"{style}>&nbsp;{html.escape(text)}</span>'

    # -- actions ------------------------------------------------------------------------------

    def retry(self) -> bool:
        """Retry the rows that did not queue; the outcome (or the error) is shown, never raised."""
        before = self.retryable()
        self.retry_button.disabled = True
        self._say(f"retrying {before:,} rows…")
        try:
            self.result.retry()
        except Exception as exc:  # shown in the panel: a button click has nowhere to raise to
            self.last_error = exc
            self._say(f"retry failed: {type(exc).__name__}: {exc}", "#b3261e")
            ok = False
        else:
            self.retry_runs += 1
            counts = self.result.counts
            now = ", ".join(f"{counts[s]:,} {LABELS[s]}" for s in STATUSES if counts[s])
            self._say(f"retry {self.retry_runs} done ({before:,} rows resent): now {now}",
                      "#1b7f3b" if self.retryable() == 0 else None)
            ok = True
        self.refresh()
        return ok

    def csv_name(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", str(self.result.event_key)).strip("-")[:60] or "event"
        return f"sfmc-entry-{slug}-{time.strftime('%Y%m%d-%H%M%S')}"

    def save_csv(self, folder: str | Path | None = None) -> Path | None:
        """Write the per-row table to ``sfmc-entry-<event>-<timestamp>.csv`` in ``folder`` (default: the
        working folder, which is the notebook's) and show the path; errors are shown, not raised."""
        try:
            base = Path(folder) if folder is not None else Path.cwd()
            name = self.csv_name()
            path = base / f"{name}.csv"
            n = 2
            while path.exists():
                path = base / f"{name}-{n}.csv"
                n += 1
            frame = self.result.to_frame()
            frame.to_csv(path)
        except Exception as exc:
            self.last_error = exc
            self._say(f"save failed: {type(exc).__name__}: {exc}", "#b3261e")
            return None
        self.last_path = path
        self._say(f"saved {len(frame):,} rows to {path}")
        return path


# -- live progress --------------------------------------------------------------------------------

MODES = ("auto", "widget", "text", "off")


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


def _rows_text(counts: Mapping[str, int] | None) -> str:
    counts = counts or {}
    parts = [f"{int(counts.get(s, 0)):,} {LABELS[s]}" for s in STATUSES if counts.get(s)]
    return ", ".join(parts) or "no rows yet"


class ProgressView(widgets.VBox):
    """The widget form of :class:`LiveProgress`: bar, counts line, throttle note."""

    def __init__(self):
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="batches",
                                       layout=widgets.Layout(width="420px")).add_class("sfmc-bar")
        self.status = widgets.HTML().add_class("sfmc-progress-status")
        self.note = widgets.HTML().add_class("sfmc-throttle")
        super().__init__([widgets.HBox([self.bar, self.status], layout=widgets.Layout(align_items="center")),
                          self.note])
        self.add_class("sfmc-progress")

    def __repr__(self) -> str:
        return "sfmc progress"   # stable for nbval


class LiveProgress:
    """The engine's ``progress=`` callback: shows batches sent, rows by status, speed and throttling waits.

    ``mode``: ``"widget"`` (IntProgress bar, counts, a "throttled: waiting 5 s" note), ``"text"`` (a line at
    the start, at most one every ``text_interval`` seconds, a throttling line, and the final line - never
    one per batch), ``"off"``, or ``"auto"`` (widget inside an ipykernel, else text). Widget updates are
    limited to one per ``widget_interval`` seconds (start, throttle and done always show). Calls may come
    from any thread; a failure in the display never reaches the engine.
    """

    def __init__(self, mode: str = "auto", *, text_interval: float = 5.0, widget_interval: float = 0.1,
                 stream: Any = None, display: bool = True, clock: Callable[[], float] = time.monotonic):
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
        self.last_event: Any = None
        self.events = 0
        self.updates = 0          # widget renders or text lines written
        self.lines: list[str] = []  # text lines written (kept for tests and for repr)
        self.error: BaseException | None = None
        self._lock = threading.RLock()
        self._last_update: float | None = None
        self._last_throttle_line: float | None = None
        self._throttle_until: float | None = None
        self._throttle_text = ""
        self._pending = False

    def __repr__(self) -> str:
        return f"LiveProgress(mode={self.mode!r}, events={self.events})"

    def __call__(self, event: Any) -> None:
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
    def describe(event: Any) -> str:
        """One line for an event: batches of total, rows by status, speed, and the throttle/reconcile note."""
        kind = getattr(event, "kind", "batch")
        done, total = getattr(event, "batches_done", 0) or 0, getattr(event, "batches_total", 0) or 0
        rows = getattr(event, "rows_total", 0) or 0
        elapsed = getattr(event, "elapsed", 0.0) or 0.0
        cps = getattr(event, "contacts_per_second", None)
        text = f"{done:,}/{total:,} batches, {rows:,} rows: {_rows_text(getattr(event, 'counts', None))}"
        text += f"; {_seconds(elapsed)} s" + (f", {cps:,.0f} contacts/s" if cps else "")
        if kind == "throttle":
            text += f"; throttled: waiting {_seconds(getattr(event, 'wait', 0) or 0)} s"
        message = getattr(event, "message", "") or ""
        if message and kind in ("throttle", "reconcile", "done"):
            text += f" ({message})"
        prefix = {"start": "sfmc: starting", "done": "sfmc: done", "reconcile": "sfmc: reconciling"}.get(kind, "sfmc:")
        return f"{prefix} {text}"

    def _write(self, line: str) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        stream.write(line + "\n")
        flush = getattr(stream, "flush", None)
        if flush:
            flush()
        self.lines.append(line)
        self.updates += 1

    def _text_event(self, event: Any) -> None:
        now = self.clock()
        kind = getattr(event, "kind", "batch")
        if kind == "throttle":
            due = self._last_throttle_line is None or now - self._last_throttle_line >= self.text_interval
            if due:
                self._last_throttle_line = now
        else:
            due = (kind == "done" or self._last_update is None
                   or now - self._last_update >= self.text_interval)
        if due:
            self._last_update = now
            self._write(self.describe(event))

    # -- widget -------------------------------------------------------------------------------

    def _widget_event(self, event: Any) -> None:
        now = self.clock()
        kind = getattr(event, "kind", "batch")
        if kind == "throttle":
            wait = float(getattr(event, "wait", 0) or 0)
            self._throttle_until = now + wait
            self._throttle_text = f"throttled: waiting {_seconds(wait)} s"
            message = getattr(event, "message", "") or ""
            if message:
                self._throttle_text += f" ({message})"
        elif kind == "done" or (self._throttle_until is not None and now >= self._throttle_until):
            self._throttle_until, self._throttle_text = None, ""
        force = kind in ("start", "throttle", "reconcile", "done") or self._last_update is None
        if force or now - self._last_update >= self.widget_interval:
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

    def _render_widget(self, event: Any) -> None:
        view = self._ensure_widget()
        self._pending = False
        kind = getattr(event, "kind", "batch")
        total = int(getattr(event, "batches_total", 0) or 0)
        done = int(getattr(event, "batches_done", 0) or 0)
        view.bar.max = max(total, 1)
        view.bar.value = min(done, max(total, 1))
        counts = getattr(event, "counts", None) or {}
        bad = sum(int(counts.get(s, 0) or 0) for s in RETRYABLE)
        if kind == "done":
            view.bar.bar_style = "warning" if bad else "success"
        elif kind == "throttle":
            view.bar.bar_style = "info"
        else:
            view.bar.bar_style = ""
        cps = getattr(event, "contacts_per_second", None)
        elapsed = getattr(event, "elapsed", 0.0) or 0.0
        rows = int(getattr(event, "rows_total", 0) or 0)
        badges = " · ".join(
            f'<span style="color:{COLOURS[s]};font-weight:{700 if s in RETRYABLE else 400}">'
            f"{int(counts.get(s, 0)):,} {LABELS[s]}</span>" for s in STATUSES if counts.get(s))
        view.status.value = (f'<span class="sfmc-note">&nbsp;{done:,} of {total:,} batches · {rows:,} rows: '
                             f"{badges or 'no rows yet'} · {_seconds(elapsed)} s"
                             + (f" · {cps:,.0f} contacts/s" if cps else "") + "</span>")
        if self._throttle_text:
            view.note.value = (f'<span class="sfmc-note" style="color:#b26a00;font-weight:600">⏳ '
                               f"{html.escape(self._throttle_text)}</span>")
        elif kind == "reconcile":
            message = getattr(event, "message", "") or "checking batches whose answer was lost"
            view.note.value = f'<span class="sfmc-note">reconciling: {html.escape(message)}</span>'
        else:
            view.note.value = ""
        self.updates += 1
