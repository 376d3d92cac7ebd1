"""The journey map: a journey definition drawn as inline SVG, laid out here (no graphviz, no dependency).

Columns are the distance from the entry (the trigger first), rows are branches: an activity's first branch
stays on its row, each further branch opens a new row below. Boxes carry a count (contacts that reached the
activity) and the traced contacts' boxes and edges are drawn in the path colour. The output is plain SVG with
presentation attributes only (no script, no stylesheet, no ids; one inline ``max-width:none`` keeps notebooks
from shrinking it), so it shows the same in JupyterLab, nbconvert HTML and GitHub, and the same input always
gives the same text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from .._rules import one_line, plural

if TYPE_CHECKING:
    from .definition import JourneyGraph

__all__ = ["journey_svg", "layout", "PATH_COLOUR"]

BOX_W, BOX_H = 184, 58
COL_GAP, ROW_GAP = 120, 30
MARGIN, TOP = 16, 30            # TOP leaves room above the first row for edges routed between rows
STUB, ARROW = 14, 7             # where an edge turns after leaving a box; arrowhead length
PATH_COLOUR = "#e8590c"
EDGE_COLOUR = "#8a8f98"
FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif"
COLOURS = {  # fill, outline
    "trigger": ("#e8f5e9", "#2e7d32"), "wait": ("#fff8e1", "#b26a00"), "split": ("#f3e5f5", "#6a1b9a"),
    "message": ("#e3f2fd", "#1565c0"), "other": ("#f5f5f5", "#757575"),
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(text: Any) -> str:
    """Text safe inside an SVG element or attribute (escaped, characters XML forbids dropped)."""
    return html.escape(_NOT_XML.sub("", str(text)), quote=True)


def _fit(text: Any, width: float, char_width: float) -> str:
    """``text`` cut with an ellipsis so it fits ``width`` pixels at about ``char_width`` per character."""
    text = one_line(text)
    room = max(int(width / char_width), 2)
    return text if len(text) <= room else text[:room - 1] + "…"


def layout(graph: JourneyGraph) -> dict[str, tuple[int, int]]:
    """Column and row of every box (trigger and activities), keyed by activity key."""
    rows: dict[str, int] = {}
    next_row = 0
    starts = ([graph.entry.key] if graph.entry else []) + [a.key for a in graph.activities]
    for start in starts:
        stack: list[tuple[str, int | None]] = [(start, None)]
        while stack:
            key, row = stack.pop()
            if key in rows:
                continue
            if row is None:
                row = next_row
            rows[key] = row
            next_row = max(next_row, row + 1)
            children = [c for c in graph.successors(key) if c not in rows]
            for index in range(len(children) - 1, -1, -1):      # the first branch is visited first
                stack.append((children[index], row if index == 0 else None))
    cells = {graph.trigger.key: (0, 0)}
    cells.update({key: (graph.depth.get(key, 0) + 1, row) for key, row in rows.items()})
    return cells


def _x(col: int) -> int:
    return MARGIN + col * (BOX_W + COL_GAP)


def _y(row: int) -> int:
    return TOP + row * (BOX_H + ROW_GAP)


def _route(src: tuple[int, int], dst: tuple[int, int]) -> tuple[str, float, float, float]:
    """An edge's path (right angles, between boxes only) and where its label goes: centre x, baseline, width."""
    (cs, rs), (ct, rt) = src, dst
    x1, y1 = _x(cs) + BOX_W, _y(rs) + BOX_H // 2
    x2, y2 = _x(ct), _y(rt) + BOX_H // 2
    end = x2 - ARROW
    if ct == cs + 1 and rs == rt:
        return f"M{x1} {y1}H{end}", (x1 + x2) / 2, y1 - 5, COL_GAP - 10
    if ct == cs + 1:
        turn = x1 + STUB
        return f"M{x1} {y1}H{turn}V{y2}H{end}", (turn + x2) / 2, y2 - 5, x2 - turn - 10
    channel = _y(rt) - ROW_GAP // 2          # the gap above the target's row holds no box
    turn, back = x1 + 2 * STUB, x2 - STUB     # apart from the branch lines that turn at x1 + STUB
    return (f"M{x1} {y1}H{turn}V{channel}H{back}V{y2}H{end}", x1 + (COL_GAP + 2 * STUB) / 2, channel + 4,
            COL_GAP - 2 * STUB - 10)


def _edge(edge: Any, cells: Mapping[str, tuple[int, int]], names: Mapping[str, str], lit: bool) -> str:
    path, lx, ly, width = _route(cells[edge.source], cells[edge.target])
    colour, stroke = (PATH_COLOUR, 3) if lit else (EDGE_COLOUR, 1.5)
    x2, y2 = _x(cells[edge.target][0]), _y(cells[edge.target][1]) + BOX_H // 2
    hover = f"{names.get(edge.source, edge.source)} → {names.get(edge.target, edge.target)}"
    if edge.label:
        hover += f": {edge.label}"
    if edge.condition and edge.condition != edge.label:
        hover += f" ({edge.condition})"
    out = [f"<g><title>{_esc(hover)}</title>",
           f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{stroke}"/>',
           f'<polygon points="{x2},{y2} {x2 - ARROW},{y2 - 4} {x2 - ARROW},{y2 + 4}" fill="{colour}"/>']
    if edge.label:
        text = _fit(edge.label, width, 6.0)
        half = len(text) * 3.0 + 3                 # a white ground under the label, where it crosses a line
        out.append(f'<rect x="{lx - half:g}" y="{ly - 10:g}" width="{2 * half:g}" height="13" fill="#ffffff"/>'
                   f'<text x="{lx:g}" y="{ly:g}" text-anchor="middle" font-size="10.5" fill="#333">{_esc(text)}</text>')
    out.append("</g>")
    return "".join(out)


def _box(cell: tuple[int, int], lines: tuple[str, str, str], kind: str, count: int | None, lit: bool,
         hover: str, faded: bool) -> str:
    x, y = _x(cell[0]), _y(cell[1])
    fill, outline = COLOURS.get(kind, COLOURS["other"])
    stroke, width = (PATH_COLOUR, 3) if lit else (outline, 1.2)
    fade = ' opacity="0.6"' if faded else ""
    out = [f"<g{fade}><title>{_esc(hover)}</title>",
           f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" stroke="{stroke}" '
           f'stroke-width="{width}"/>']
    room = BOX_W - 20
    if count is not None:
        text = f"{count:,}"
        pill = 12 + 7 * len(text)
        room -= pill + 4
        pill_fill, pill_text = (PATH_COLOUR, "#ffffff") if count else ("#e0e0e0", "#444")
        out.append(f'<rect x="{x + BOX_W - pill - 6}" y="{y + 6}" width="{pill}" height="17" rx="8.5" '
                   f'fill="{pill_fill}"/><text x="{x + BOX_W - 6 - pill / 2:g}" y="{y + 18}" text-anchor="middle" '
                   f'font-size="11" font-weight="600" fill="{pill_text}">{_esc(text)}</text>')
    name, description, kind_text = lines
    out.append(f'<text x="{x + 10}" y="{y + 19}" font-size="12" font-weight="600" fill="#1f1f1f">'
               f"{_esc(_fit(name, room, 7.0))}</text>")
    if description:
        out.append(f'<text x="{x + 10}" y="{y + 36}" font-size="11" fill="#333">'
                   f"{_esc(_fit(description, BOX_W - 20, 6.1))}</text>")
    out.append(f'<text x="{x + 10}" y="{y + 51}" font-size="10" fill="#666">{_esc(_fit(kind_text, BOX_W - 20, 5.7))}'
               "</text></g>")
    return "".join(out)


def _hover(name: str, kind: str, description: str, key: str, count: int | None) -> str:
    parts = [name, f"{kind}: {description}" if description else kind, f"key {key}"]
    if count is not None:
        parts.append(f"{plural(count, 'contact')} reached it")
    return "\n".join(p for p in parts if p)


def journey_svg(graph: JourneyGraph, counts: Mapping[str, int] | None = None, *,
                highlight_nodes: Collection[str] = (), highlight_edges: Collection[tuple[str, str]] = (),
                title: str | None = None) -> str:
    """The journey map of ``graph`` as an ``<svg>`` element.

    ``counts`` maps activity keys (and the trigger's key) to the number of contacts that reached them: given,
    every box shows its number (zeros too). ``highlight_nodes`` and ``highlight_edges`` (``(source, target)``
    key pairs) are drawn in the path colour, and the other boxes are faded when any is given.
    """
    cells = layout(graph)
    names = {graph.trigger.key: graph.trigger.name, **{a.key: a.label for a in graph.activities}}
    width = MARGIN * 2 + max(c for c, _ in cells.values()) * (BOX_W + COL_GAP) + BOX_W
    height = TOP + MARGIN + max(r for _, r in cells.values()) * (BOX_H + ROW_GAP) + BOX_H
    label = title or f"Journey map: {graph.title}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="{_esc(FONT)}" role="img" aria-label="{_esc(label)}" '
           'style="max-width:none">',       # drawn at its size (notebooks shrink images to fit): scroll instead
           f"<title>{_esc(label)}</title>",
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    lit_edges = {(str(s), str(t)) for s, t in highlight_edges}
    drawable = [e for e in graph.edges if e.source in cells and e.target in cells]
    for lit in (False, True):                       # path edges last, so they are drawn on top
        out.extend(_edge(e, cells, names, lit) for e in drawable if ((e.source, e.target) in lit_edges) is lit)
    lit_nodes = set(highlight_nodes)
    tracing = bool(lit_nodes or lit_edges)

    def count_of(key: str) -> int | None:
        return None if counts is None else int(counts.get(key, 0) or 0)

    trig = graph.trigger
    trig_count = count_of(trig.key)
    out.append(_box(cells[trig.key], (trig.name, trig.description, "Entry source"), "trigger", trig_count,
                    trig.key in lit_nodes, _hover(trig.name, trig.type or "Entry", trig.description, trig.key,
                                                  trig_count), tracing and trig.key not in lit_nodes))
    for a in graph.activities:
        n = count_of(a.key)
        out.append(_box(cells[a.key], (a.label, a.description, a.type or "unknown type"), a.family, n,
                        a.key in lit_nodes, _hover(a.label, a.type or "unknown type", a.description, a.key, n),
                        tracing and a.key not in lit_nodes))
    out.append("</svg>")
    return "".join(out)
