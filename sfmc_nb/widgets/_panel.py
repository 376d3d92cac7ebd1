"""The result panel: counts at a glance, paged tables to find what failed, Retry and Save CSV buttons."""

from __future__ import annotations

import html
import json
import math
import re
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from .._html import STYLE, cell_text, frame_html
from .._rules import STATUS_COLOURS, STATUS_LABELS, STATUSES, counts_text, is_missing
from ..auth import hide_tokens
from ..results import EntryResult
from ._format import ALERT_COLOUR, PAGE_SIZE, WARN_COLOUR, seconds_text

__all__ = ["Pager", "ResultPanel", "TAB_TITLES"]

TAB_TITLES = ("Summary", "Errors", "All rows", "Raw")
RAW_ANSWERS = 3             # answers shown in the Raw tab
RAW_CHARS = 30_000          # and at most this many characters of them
ERROR_COLUMNS = ["contactKey", "status", "errorcode", "message", "processing", "processing_message", "batch",
                 "attempts", "requestId"]
PROCESSING_COLOURS = {"processed": STATUS_COLOURS["queued"], "errored": ALERT_COLOUR, "pending": WARN_COLOUR}


PageRows = Callable[[int, int], pd.DataFrame]
"""``rows(start, end)``: rows ``start`` to ``end - 1`` of what a :class:`Pager` pages through, as a frame."""


class Pager(widgets.VBox):
    """One page of rows with Prev/Next buttons and a "rows a–b of N" label.

    Only the page on view is built and rendered: :meth:`set_rows` pages through rows fetched a page at a time
    (a million-row result's page is 50 rows, never the whole table); :meth:`set_frame` through a frame.
    """

    def __init__(self, page_size: int = PAGE_SIZE, *, empty: str = "no rows", css: str | None = None,
                 columns: Iterable[str] | None = None):
        self.page_size = max(1, int(page_size))
        self.columns = list(columns) if columns is not None else None
        self.page = 0
        self.total = 0
        self.empty = empty
        self._whole: pd.DataFrame | None = pd.DataFrame()   # the frame given to set_frame (None: set_rows)
        self._rows: PageRows = _frame_rows(pd.DataFrame())
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
        return f"Pager({self.total:,} rows)"

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def frame(self) -> pd.DataFrame:
        """Every row paged through (for rows given to :meth:`set_rows`, built now: the whole table)."""
        return self._whole if self._whole is not None else self._rows(0, self.total)

    def set_frame(self, frame: pd.DataFrame) -> None:
        """Show ``frame``, keeping the current page when it still exists."""
        self.set_rows(len(frame), _frame_rows(frame))
        self._whole = frame

    def set_rows(self, total: int, rows: PageRows) -> None:
        """Page through ``total`` rows that ``rows(start, end)`` gives a page at a time, keeping the current
        page when it still exists."""
        self.total, self._rows, self._whole = int(total), rows, None
        self.go(self.page)

    def go(self, page: int) -> None:
        self.page = max(0, min(int(page), self.pages - 1))
        total = self.total
        start = self.page * self.page_size
        end = min(start + self.page_size, total)
        self.label.value = (f'<span class="sfmc-note">&nbsp;rows {start + 1:,}–{end:,} of {total:,}'
                            f" (page {self.page + 1:,} of {self.pages:,})</span>" if total
                            else f'<span class="sfmc-note">&nbsp;{html.escape(self.empty)}</span>')
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self.pages - 1
        self.table.value = frame_html(self._rows(start, end), max_rows=self.page_size, empty=self.empty,
                                      columns=self.columns, footer=False) if total else ""


def _frame_rows(frame: pd.DataFrame) -> PageRows:
    return lambda start, end: frame.iloc[start:end]


class ResultPanel(widgets.VBox):
    """What ``EntryResult.show()`` returns: counts at a glance, tables to find what failed, retry and save.

    Attributes for tests and callers: ``header`` (HTML, class ``sfmc-counts``), ``notice`` (HTML,
    ``sfmc-notice``), ``retry_button`` (``sfmc-retry``), ``save_button`` (``sfmc-save``), ``tabs`` (Tab,
    ``sfmc-tabs``, titles :data:`TAB_TITLES`), ``summary_html`` and ``batches_pager`` (Summary tab),
    ``reasons_html`` (class ``sfmc-reasons``: the rows grouped by reason, with the fix) and ``errors_pager``
    (Errors tab), ``rows_pager`` (All rows tab), ``raw_html`` (Raw tab), ``last_path``
    (the last CSV saved), ``last_error`` (the last retry/save exception, shown in ``notice``).

    A tab is built when it is first selected (:meth:`select`, or a click on its title), and again after the
    result changes: a million-row result's panel computes only its header and the tab on view.
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
        self.reasons_html = widgets.HTML().add_class("sfmc-reasons")
        self.rows_pager = Pager(page_size, css="sfmc-rows")
        self.raw_html = widgets.HTML().add_class("sfmc-raw")
        self.tabs = widgets.Tab(
            children=[widgets.VBox([self.summary_html, self.batches_pager]),
                      widgets.VBox([self.reasons_html, self.errors_pager]), self.rows_pager, self.raw_html],
            titles=TAB_TITLES,
        ).add_class("sfmc-tabs")
        actions = widgets.HBox([self.retry_button, self.save_button, self.notice],
                               layout=widgets.Layout(align_items="center"))
        super().__init__([self.header, actions, self.tabs])
        self.add_class("sfmc-panel")
        self.retry_button.on_click(lambda _b: self.retry())
        self.save_button.on_click(lambda _b: self.save_csv())
        self._stale: set[int] = set()   # tabs whose content is older than the result
        self.tabs.observe(lambda change: self._build_tab(change["new"]), names="selected_index")
        result.on_change(_refresher(self))
        self.refresh()

    def __repr__(self) -> str:
        # nbval compares this text: short, and free of timings.
        return f"ResultPanel({self.result.event_key!r}: {counts_text(self.result.counts)})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live widget, plus the result's bounded HTML table and Markdown report for places that cannot run
        widgets (nbconvert, GitHub previews, terminals): JupyterLab shows the widget, static renderers the rest."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        result = self.result
        return {**(bundle or {}), "text/html": result._repr_html_(), "text/markdown": result._repr_markdown_()}

    # -- rendering ----------------------------------------------------------------------------

    def retryable(self) -> int:
        """Rows a retry would act on (not queued, failed, unknown, and rows an interruption left unsent);
        rows skipped for bad input need fixed data instead."""
        return self.result.retryable()

    def header_html(self) -> str:
        r = self.result
        summary = r.summary
        kind = "Dry run" if r.dry_run else "Journey entry"
        flags = f' <span style="color:{ALERT_COLOUR}">INTERRUPTED</span>' if r.interrupted else ""
        speed = summary.get("contacts_per_second")
        meta = [f"{len(r):,} rows", f"{summary['batches']:,} batches", f"{summary['requests']:,} requests",
                f"{summary['retries']:,} retries", f"{seconds_text(r.seconds)} s"]
        if speed:
            meta.append(f"{speed:,.0f} contacts/s")
        if r.throttled_waits:
            meta.append(f"throttled {r.throttled_waits}× ({seconds_text(r.throttled_seconds)} s)")
        warn = "".join(f'<div class="sfmc-note" style="color:{WARN_COLOUR}">⚠ {html.escape(str(w))}</div>'
                       for w in r.warnings[:5])
        return (STYLE + f'<div class="sfmc-title">{kind} into <code>{html.escape(str(r.event_key))}</code>{flags}</div>'
                f'<div class="sfmc-badges">{_badges(r.counts)}</div>{_processing_line(r.processing_counts)}'
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

    def reasons_table_html(self) -> str:
        """The Errors tab's first table: one line per reason (count, an example key, the fix); the rows follow."""
        reasons = self.result.error_reasons()
        if reasons.empty:
            return ""
        return frame_html(reasons, max_rows=PAGE_SIZE, index=False, title="By reason", footer=True) + \
            '<div class="sfmc-note">The rows:</div>'

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
        """Re-render from the result (after a retry or a wait): the header and buttons, and the tab on view;
        the other tabs are rebuilt when next selected."""
        r = self.result
        self.header.value = self.header_html()
        n = self.retryable()
        self.retry_button.disabled = not r.can_retry or n == 0
        self.retry_button.description = f"Retry {n:,} failed rows" if n else "Retry failed rows"
        if r.dry_run:
            self.retry_button.tooltip = "a dry run sends nothing: run without dry_run to enter"
        elif not r.can_retry:
            self.retry_button.tooltip = "this result was not made by a live run"
        else:
            self.retry_button.tooltip = "send again the rows that did not queue (skipped rows need fixed data)"
        self._stale = set(range(len(TAB_TITLES)))
        self._build_tab(self.tabs.selected_index)

    def select(self, title: str) -> ResultPanel:
        """Show the tab ``title`` (one of :data:`TAB_TITLES`), building it if it is not up to date."""
        self.tabs.selected_index = TAB_TITLES.index(title)
        return self

    def error_positions(self) -> np.ndarray:
        """Positions of the rows the Errors tab lists: those that did not queue, and queued rows that the journey
        then refused while processing them (found in the compact columns' codes, not row by row)."""
        status, processing = self.result.status, self.result.processing
        listed = status.values != status.code("queued")
        listed |= processing.values == processing.code("errored")
        return np.flatnonzero(listed)

    def _build_tab(self, index: int | None) -> None:
        if index is None or index not in self._stale:
            return
        self._stale.discard(index)
        r = self.result
        title = TAB_TITLES[index]
        if title == "Summary":
            self.summary_html.value = self.summary_table_html()
            self.batches_pager.set_frame(r.batches)
        elif title == "Errors":
            positions = self.error_positions()
            self.reasons_html.value = self.reasons_table_html()
            self.errors_pager.set_rows(len(positions), lambda start, end: r.rows_frame(positions[start:end]))
        elif title == "All rows":
            self.rows_pager.set_rows(len(r), lambda start, end: r.rows_frame(np.arange(start, end)))
        else:
            self.raw_html.value = self.raw_text()

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
            self._say(f"retry failed: {type(exc).__name__}: {hide_tokens(str(exc))}", ALERT_COLOUR)
            ok = False
        else:
            self.retry_runs += 1
            now = counts_text(self.result.counts, empty="")
            self._say(f"retry {self.retry_runs} done ({before:,} rows resent): now {now}",
                      STATUS_COLOURS["queued"] if self.retryable() == 0 else None)
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
            self.result.to_csv(path)   # written in chunks: a large result never builds its whole frame
        except Exception as exc:
            self.last_error = exc
            self._say(f"save failed: {type(exc).__name__}: {exc}", ALERT_COLOUR)
            return None
        self.last_path = path
        self._say(f"saved {len(self.result):,} rows to {path}")
        return path


def _refresher(panel: ResultPanel):
    """A change listener that re-renders ``panel`` while it lives: the result must not keep closed panels alive."""
    ref = weakref.ref(panel)

    def _changed(_result: EntryResult) -> None:
        live = ref()
        if live is not None:
            live.refresh()

    return _changed


def _processing_line(counts: Mapping[str, int]) -> str:
    """What ``wait()`` found of the queued rows (nothing before a wait): processed, errored, pending."""
    if not any(counts.values()):
        return ""
    parts = [f'<span class="sfmc-processing-{s}" style="color:{PROCESSING_COLOURS[s] if n else "#9a9a9a"};'
             f'font-weight:{600 if n and s != "processed" else 400}">{n:,} {s}</span>' for s, n in counts.items()]
    return f'<div class="sfmc-processing sfmc-note">processing: {" · ".join(parts)}</div>'


def _badges(counts: Mapping[str, int]) -> str:
    """One badge per status; problems with rows are filled with their colour so they catch the eye."""
    badges = []
    for s in STATUSES:
        n, colour = counts[s], STATUS_COLOURS[s]
        if n and s != "queued" and s != "skipped":
            style = f"background:{colour};color:#fff;border-color:{colour};font-weight:700"
        elif n:
            style = f"color:{colour};font-weight:600"
        else:
            style = "color:#9a9a9a;border-color:#d0d0d0"
        badges.append(f'<span class="sfmc-badge sfmc-badge-{s}" style="{style}">{n:,} {STATUS_LABELS[s]}</span>')
    return "".join(badges)
