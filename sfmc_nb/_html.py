"""Readable, escaped, bounded HTML tables: the one table renderer of the package.

Used by the result reprs, the journey and exploration models, the widget panels and the magics, so a table
looks the same wherever it is shown. Only a slice is ever rendered (a 1,000,000-row frame puts one page into
the browser), cells are escaped and cut, and ``status`` cells carry a class per status.
"""

from __future__ import annotations

import dataclasses
import html
import json
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ._rules import STATUS_COLOURS, STATUSES, is_missing

__all__ = ["STYLE", "MAX_CELL_CHARS", "WRAP_COLUMNS", "cell_text", "as_frame", "frame_html", "journeys_html",
           "frame_markdown", "frame_text", "Table"]

MAX_CELL_CHARS = 120        # a table cell longer than this is cut (the CSV and to_frame() keep it whole)
WRAP_COLUMNS = ("message", "reason", "error", "description")   # free text: wrapped, cut later

_STATUS_CSS = "".join(
    f"td.sfmc-status-{s}{{color:{c}{';font-weight:600' if s not in ('queued', 'skipped') else ''}}}\n"
    for s, c in STATUS_COLOURS.items())

# One stylesheet, scoped to the panel and to tables made here (ipywidgets' HTML widget gets no notebook styles).
STYLE = """<style>
.sfmc-panel{font-family:var(--jp-ui-font-family,sans-serif);max-width:100%}
.sfmc-panel .sfmc-title{font-size:14px;font-weight:600;margin:2px 0 4px}
.sfmc-panel .sfmc-meta{font-size:12px;color:var(--jp-ui-font-color2,#555);margin:2px 0 4px}
.sfmc-badge{display:inline-block;padding:1px 9px;margin:2px 6px 2px 0;border-radius:10px;font-size:12px;
 border:1px solid currentColor;white-space:nowrap}
.sfmc-tablewrap{max-height:440px;overflow:auto;border:1px solid var(--jp-border-color2,#e0e0e0)}
table.sfmc-table{border-collapse:collapse;font-size:12px;font-family:var(--jp-code-font-family,monospace)}
table.sfmc-table th{position:sticky;top:0;background:var(--jp-layout-color2,#f0f0f0);text-align:left;
 padding:3px 8px;border-bottom:1px solid var(--jp-border-color1,#bbb);white-space:nowrap}
table.sfmc-table td{padding:2px 8px;border-bottom:1px solid var(--jp-border-color3,#eee);white-space:nowrap;
 max-width:36em;overflow:hidden;text-overflow:ellipsis;vertical-align:top;line-height:1.45}
table.sfmc-table th{line-height:1.45}
table.sfmc-table td.sfmc-wrap{white-space:normal;min-width:22em;max-width:48em;overflow-wrap:anywhere}
table.sfmc-table th.sfmc-index,table.sfmc-table td.sfmc-index{color:var(--jp-ui-font-color2,#777)}
table.sfmc-table tr:nth-child(even) td{background:var(--jp-layout-color1,#fafafa)}
""" + _STATUS_CSS + """.sfmc-stats{display:flex;flex-wrap:wrap;gap:4px 14px;margin:2px 0 8px;font-size:12px}
.sfmc-chip{white-space:nowrap}
.sfmc-note{font-size:12px;color:var(--jp-ui-font-color2,#555)}
.sfmc-raw pre{max-height:440px;overflow:auto;background:var(--jp-layout-color2,#f6f6f6);padding:6px 8px;
 font-size:12px;margin:0}
</style>"""


# -- bounded HTML tables --------------------------------------------------------------------------



def cell_text(value: Any, limit: int = MAX_CELL_CHARS) -> str:
    """One cell as short plain text: missing values blank, containers as JSON, long text cut with an ellipsis."""
    if is_missing(value):
        return ""
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    elif isinstance(value, (list, tuple, dict, set)):
        text = json.dumps(list(value) if isinstance(value, set) else value, default=str, ensure_ascii=False)
    else:
        text = str(value)
    if len(text) > limit:
        text = text[: max(limit - 1, 1)] + "…"
    return text


def _record(obj: Any) -> dict:
    """A small object as a flat dict (dataclasses and plain objects; their bulky ``raw`` left out)."""
    if isinstance(obj, Mapping):
        return dict(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name != "raw"}
    if hasattr(obj, "__dict__"):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_") and k != "raw"}
    return {"value": obj}


def as_frame(data: Any) -> pd.DataFrame:
    """Turn what the exploration calls return into a DataFrame for display.

    DataFrame: itself. Series: one column. Objects with ``to_frame()``: that. A list of dicts or dataclasses
    (``Journey``, ``Field``, exit-status items): one row each. A single dict or dataclass (one journey, one
    event definition): a two-column field/value table. A list of scalars: one ``value`` column.
    """
    if data is None:
        return pd.DataFrame()
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if hasattr(data, "to_frame") and callable(data.to_frame):
        return data.to_frame()
    if isinstance(data, (list, tuple)):
        if not data:
            return pd.DataFrame()
        if all(isinstance(x, Mapping) or dataclasses.is_dataclass(x) for x in data):
            return pd.DataFrame([_record(x) for x in data])
        return pd.DataFrame({"value": list(data)})
    record = _record(data)
    return pd.DataFrame({"field": list(record), "value": pd.array(list(record.values()), dtype=object)})


def _index_text(value: Any) -> str:
    return ", ".join(cell_text(v) for v in value) if isinstance(value, tuple) else cell_text(value)


def _table_html(part: pd.DataFrame, *, index: bool = True, max_colwidth: int = MAX_CELL_CHARS) -> str:
    """An escaped HTML table of an already-bounded frame; ``status`` cells get a class per status."""
    cols = [str(c) for c in part.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    out = ['<table class="sfmc-table"><thead><tr>', '<th class="sfmc-index"></th>' if index else "", head,
           "</tr></thead><tbody>"]
    status_at = cols.index("status") if "status" in cols else -1
    wrap = {i for i, c in enumerate(cols) if c in WRAP_COLUMNS}
    for idx, row in zip(part.index, part.itertuples(index=False, name=None), strict=True):
        out.append("<tr>")
        if index:
            out.append(f'<td class="sfmc-index">{html.escape(_index_text(idx))}</td>')
        for i, value in enumerate(row):
            if i in wrap:
                out.append(f'<td class="sfmc-wrap">{html.escape(cell_text(value, 3 * max_colwidth))}</td>')
                continue
            text = html.escape(cell_text(value, max_colwidth))
            if i == status_at and isinstance(value, str) and value in STATUSES:
                out.append(f'<td class="sfmc-status-{value}">{text}</td>')
            else:
                out.append(f"<td>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def frame_html(data: Any, max_rows: int = 50, title: str | None = None, *, columns: Iterable[str] | None = None,
               start: int = 0, index: bool = True, max_colwidth: int = MAX_CELL_CHARS, empty: str = "no rows",
               style: bool = False, footer: bool = True) -> str:
    """Readable, escaped HTML for at most ``max_rows`` rows of ``data`` (anything :func:`as_frame` takes).

    Only the slice ``start:start+max_rows`` is rendered, so the output stays small however big the frame
    is; a note says how many rows were left out. ``columns`` picks and orders columns (missing ones are
    ignored). Cells are cut at ``max_colwidth`` characters (free-text columns such as ``message`` at three
    times that, and wrapped). ``footer=False`` drops the "rows a–b of N" note. ``style=True`` adds the
    stylesheet, for use inside a widget (notebook outputs already style tables). Example for a magic::

        from IPython.display import HTML
        display(HTML(frame_html(conn.journeys(), title="Journeys", columns=["key", "name", "status"])))
    """
    frame = as_frame(data)
    total = len(frame)
    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    start = max(0, min(int(start), max(total - 1, 0)))
    part = frame.iloc[start:start + max(int(max_rows), 0)]
    out = [STYLE] if style else []
    out.append('<div class="sfmc-frame">')
    if title:
        out.append(f'<div class="sfmc-title"><b>{html.escape(str(title))}</b></div>')
    if total == 0:
        out.append(f'<div class="sfmc-note">{html.escape(empty)}</div></div>')
        return "".join(out)
    out.append('<div class="sfmc-tablewrap">' + _table_html(part, index=index, max_colwidth=max_colwidth) + "</div>")
    if footer and len(part) < total:
        shown = f"rows {start + 1:,}–{start + len(part):,} of {total:,}"
        out.append(f'<div class="sfmc-note">{shown}</div>')
    out.append("</div>")
    return "".join(out)


# -- the same tables as Markdown (terminals, nbconvert --to markdown) and as wrapped text ---------------------


def _cells(part: pd.DataFrame, index: bool, max_colwidth: int) -> tuple[list[str], list[list[str]]]:
    """Header and rows of an already-bounded frame as one-line cell texts (free text at 3x the width)."""
    cols = [str(c) for c in part.columns]
    head = ([""] if index else []) + cols
    rows = []
    for idx, row in zip(part.index, part.itertuples(index=False, name=None), strict=True):
        cells = [" ".join(cell_text(v, 3 * max_colwidth if c in WRAP_COLUMNS else max_colwidth).split())
                 for c, v in zip(cols, row, strict=True)]
        rows.append(([_index_text(idx)] if index else []) + cells)
    return head, rows


def frame_markdown(data: Any, max_rows: int = 50, *, index: bool = True, max_colwidth: int = 60,
                   empty: str = "no rows", total: int | None = None) -> str:
    """A Markdown table of at most ``max_rows`` rows, columns padded so it reads aligned as plain text too.

    ``total``: how many rows there are in all when ``data`` holds only the first ones (for the "of N" note)."""
    frame = as_frame(data)
    if frame.empty:
        return f"_{empty}_"
    head, rows = _cells(frame.head(max(int(max_rows), 0)), index, max_colwidth)
    rows = [[c.replace("|", "\\|") for c in r] for r in rows]
    widths = [max(3, len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    total = len(frame) if total is None else total
    if total > len(rows):
        lines.append(f"\n_rows 1–{len(rows):,} of {total:,}_")
    return "\n".join(lines)


def frame_text(data: Any, max_rows: int = 50, *, index: bool = True, max_colwidth: int = 40, width: int = 110,
               empty: str = "(no rows)") -> str:
    """Plain aligned text; the last column is wrapped (never cut) to ``width``, so a message shows whole."""
    frame = as_frame(data)
    if frame.empty:
        return empty
    part = frame.head(max(int(max_rows), 0))
    head, rows = _cells(part.iloc[:, :-1], index, max_colwidth)
    last = [" ".join(cell_text(v, 10_000).split()) for v in part.iloc[:, -1].tolist()]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lead = sum(w + 2 for w in widths)
    room = max(30, width - lead)
    out = ["".join(h.ljust(w + 2) for h, w in zip(head, widths, strict=True)) + str(part.columns[-1])]
    for cells, text in zip(rows, last, strict=True):
        wrapped = textwrap.wrap(text, room, break_long_words=True) or [""]
        out.append("".join(c.ljust(w + 2) for c, w in zip(cells, widths, strict=True)) + wrapped[0])
        out.extend(" " * lead + more for more in wrapped[1:])
    return "\n".join(line.rstrip() for line in out)


JOURNEY_COLUMNS = ["key", "name", "version", "status", "entryMode", "eventKeys", "entry_mode", "event_keys",
                   "id"]


def journeys_html(journeys: Any, max_rows: int = 50, title: str | None = "Journeys") -> str:
    """The journey list (``Connection.journeys()``: Journey objects or dicts) as a bounded HTML table."""
    frame = as_frame(journeys)
    cols = [c for c in JOURNEY_COLUMNS if c in frame.columns] or None
    return frame_html(frame, max_rows=max_rows, title=title, columns=cols, index=False,
                      empty="no journeys match")


class Table:
    """A displayable, bounded table: HTML in notebooks, text in terminals and nbval (both stable and small).

    ``Table(conn.contact_membership(keys).memberships, title="Membership")`` is what a magic can return.
    """

    def __init__(self, data: Any, title: str | None = None, max_rows: int = 50, columns: Iterable[str] | None = None,
                 index: bool = False):
        self.frame = as_frame(data)
        if columns is not None:
            self.frame = self.frame[[c for c in columns if c in self.frame.columns]]
        self.title, self.max_rows, self.index = title, max_rows, index

    def __len__(self) -> int:
        return len(self.frame)

    def _repr_html_(self) -> str:
        return frame_html(self.frame, max_rows=self.max_rows, title=self.title, index=self.index)

    def _repr_markdown_(self) -> str:
        title = f"**{self.title}**\n\n" if self.title else ""
        return title + frame_markdown(self.frame, max_rows=self.max_rows, index=self.index)

    def __repr__(self) -> str:
        lines = [self.title] if self.title else []
        if self.frame.empty:
            lines.append("(no rows)")
        else:
            part = self.frame.head(self.max_rows).map(lambda v: cell_text(v, 60))
            lines.append(part.to_string(index=self.index))
            if len(self.frame) > self.max_rows:
                lines.append(f"... {len(self.frame) - self.max_rows:,} more rows ({len(self.frame):,} in all)")
        return "\n".join(lines)
