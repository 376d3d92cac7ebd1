"""The text, Markdown and HTML views of an :class:`~sfmc_nb.results.EntryResult`.

Each is bounded (headline, warnings, errors grouped by reason, then the first rows), so notebooks, nbval,
nbconvert and terminals show a small table without widgets whatever the size of the run. The result's
``__repr__``, ``_repr_markdown_`` and ``_repr_html_`` call these; they read the result and never change it.
"""

from __future__ import annotations

import html
import textwrap
from typing import TYPE_CHECKING

from ._html import STYLE, frame_html, frame_markdown, frame_text
from ._rules import STATUS_COLOURS, STATUS_LABELS, STATUSES, counts_text, plural

if TYPE_CHECKING:   # annotations only: results imports this module
    from .results import EntryResult

__all__ = ["headline", "render_text", "render_markdown", "render_html", "HTML_ROWS", "TEXT_WIDTH"]

HTML_ROWS = 20
TEXT_WIDTH = 110   # the text repr wraps long messages and warnings at this width, never cuts them


def headline(result: EntryResult) -> str:
    """One line: the event key, the rows by status and the run's figures (or what a dry run would send)."""
    if result.dry_run:
        would = len(result) - len(result.error_positions())
        return (f"Dry run for {result.event_key!r}: {plural(len(result), 'row')}: {would:,} would be sent, "
                f"{len(result) - would:,} refused before sending; nothing was sent")
    kind = "entry"
    state = " INTERRUPTED" if result.interrupted else ""
    speed = result.summary["contacts_per_second"]
    tail = f" in {result.seconds:.1f} s" + (f" ({speed:,.0f}/s)" if speed else "")
    return (f"Journey {kind} into {result.event_key!r}{state}: {plural(len(result), 'row')}: "
            + counts_text(result.counts, empty="none")
            + f"; {plural(len(result.batch_records), 'batch', 'batches')}, {plural(result.requests, 'request')}, "
              f"{plural(result.retries, 'retry', 'retries')}" + tail)


def render_text(result: EntryResult) -> str:
    """The plain-text repr: headline, throttling, warnings, the reasons rows did not queue, the first of them."""
    lines = [result.headline()]
    if result.throttled_waits:
        lines.append(f"throttled {result.throttled_waits} times, {result.throttled_seconds:.1f} s waited")
    lines.extend(textwrap.fill(w, TEXT_WIDTH, initial_indent="warning: ", subsequent_indent="  ")
                 for w in result.warnings[:5])
    errs = result.error_positions()   # the rows are built only for those shown
    if len(errs):
        what = "would not be sent" if result.dry_run else "did not queue"
        reasons = result.error_reasons()
        if len(reasons) < len(errs) or len(reasons) <= 3:   # grouping says more than the rows alone
            lines.append(f"{plural(len(errs), 'row')} {what}, by reason:")
            top = reasons.head(5)
            top = top.assign(reason=[f"{r}; fix: {f}" if f else r
                                     for r, f in zip(top["reason"], top["fix"], strict=True)])
            lines.append(frame_text(top[["count", "status", "errorcode", "example", "reason"]], index=False,
                                    width=TEXT_WIDTH))
            if len(reasons) > 5:
                lines.append(f"... and {plural(len(reasons) - 5, 'more reason')}: .error_reasons() lists all")
        shown = result.rows_frame(errs[:10])[["contactKey", "status", "errorcode", "message"]]
        lines.append(f"{plural(len(errs), 'row')} {what}" + (" (first 10):" if len(errs) > 10 else ":"))
        lines.append(frame_text(shown, width=TEXT_WIDTH))
    if result.interrupted:
        lines.append("the run was interrupted: call .retry() (or run again with the same journal) to finish")
    return "\n".join(lines)


def render_markdown(result: EntryResult) -> str:
    """The result as a short report for terminals and Markdown exports (JupyterLab shows the HTML)."""
    out = [f"**{result.headline()}**"]
    if result.throttled_waits:
        out.append(f"Throttled {result.throttled_waits} times, {result.throttled_seconds:.1f} s waited.")
    if result.warnings:
        out.append("\n".join(f"- ⚠ {w}" for w in result.warnings[:5]))
    errs = result.error_positions()   # the rows are built only for those shown
    if len(errs):
        what = "would not be sent" if result.dry_run else "did not queue"
        out.append(f"{plural(len(errs), 'row')} {what}, by reason:")
        out.append(frame_markdown(result.error_reasons(), max_rows=10, index=False))
        out.append("The rows" + (" (first 10):" if len(errs) > 10 else ":"))
        out.append(frame_markdown(result.rows_frame(errs[:10])[["contactKey", "status", "errorcode", "message"]],
                                  max_rows=10, total=len(errs)))
    if result.interrupted:
        out.append("The run was interrupted: call `.retry()` (or run again with the same journal) to finish.")
    return "\n\n".join(out)


def render_html(result: EntryResult) -> str:
    """Headline, status badges, warnings, the reasons rows did not queue and the first rows, as one HTML block."""
    counts = result.counts
    weight = {s: "bold" if counts[s] and s != "queued" else "normal" for s in STATUSES}
    badges = " ".join(f'<span style="color:{STATUS_COLOURS[s]};font-weight:{weight[s]}">'
                      f"{counts[s]:,} {STATUS_LABELS[s]}</span>" for s in STATUSES)
    out = [f'<div class="sfmc-entry-result">{STYLE}<p><b>{html.escape(result.headline())}</b></p><p>{badges}</p>']
    for w in result.warnings[:5]:
        out.append(f"<p>⚠ {html.escape(w)}</p>")
    errs = result.error_positions()   # the rows are built only for those shown
    if len(errs):
        what = "would not be sent" if result.dry_run else "did not queue"
        reasons = result.error_reasons()
        out.append(f"<p>Rows that {what}, by reason ({len(reasons):,}):</p>")
        out.append(frame_html(reasons, max_rows=10, index=False))
        out.append(f"<p>Rows that {what} ({len(errs):,}; first {min(len(errs), HTML_ROWS)}):</p>")
        out.append(frame_html(result.rows_frame(errs[:HTML_ROWS]), max_rows=HTML_ROWS, footer=False))
    out.append(f"<p>First rows (of {len(result):,}):</p>")
    out.append(frame_html(result.rows_frame(range(min(HTML_ROWS, len(result)))), max_rows=HTML_ROWS, footer=False))
    out.append("</div>")
    return "\n".join(out)
