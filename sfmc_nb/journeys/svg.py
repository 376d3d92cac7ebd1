"""The journey map: a journey definition drawn as inline SVG, laid out here (no graphviz, no dependency).

The journey flows down the page in layers (the trigger on top, then each activity one layer below the latest
activity leading to it), so a journey of a hundred activities stays about as wide as its widest set of
branches and the drawing scales to the notebook's width (``width:100%`` up to its natural size; the HTML view
adds a switch to show it at full size). An activity's first branch goes straight down; the others take the
next free columns. Branch labels sit under their own slice of the box they leave, wrapped to it, so no two
labels meet; edges that skip layers run in lanes between columns and every horizontal run has a track of its
own. Text is wrapped from measured widths (:mod:`._text_width`), titles whole. Paths that end carry an end
marker, goals and exit criteria head the map, failed steps are marked, untaken branches are drawn faded.

The output is plain SVG (no script, no ids, no external reference); colours of the page and of free text
come from JupyterLab's theme variables with light fallbacks, so the map reads in the dark theme and in static
exports alike, and the same input always gives the same text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._rules import plural
from . import _describe
from ._text_width import text_width, wrap

if TYPE_CHECKING:
    from .definition import JourneyGraph

__all__ = ["journey_svg", "layout", "map_html", "PATH_COLOUR", "BOX_W"]

BOX_W = 184
PAD = 9                       # inside a box, around its text
MARGIN = 12
GAP_MIN, LANE = 28, 7         # the space between columns; each lane an edge runs down in widens it
TRACK = 8                     # vertical room of one horizontal run in the gap between layers
ARROW = 7
LABEL_SIZE, LABEL_LINE, LABEL_LINES = 10, 12.5, 3
MIN_SLICE = 58                # a narrower share of a box's bottom puts branch labels above their targets
END_W, END_H = 38, 16
PATH_COLOUR = "#e8590c"
EDGE_COLOUR = "#8a8f98"
FAILED_COLOUR = "#c62828"
INK = "#1f1f1f"
PAGE = "fill:var(--jp-layout-color0,#ffffff)"
PAGE_TEXT = "fill:var(--jp-ui-font-color1,#333333)"
LANE_FILL = "fill:var(--jp-layout-color2,#f2f2f2)"
FONT = "Arial,'Liberation Sans',Helvetica,sans-serif"   # metric twins: the width table holds for all three
COLOURS = {  # fill, outline
    "trigger": ("#e8f5e9", "#2e7d32"), "wait": ("#fff8e1", "#b26a00"), "split": ("#f3e5f5", "#6a1b9a"),
    "message": ("#e3f2fd", "#1565c0"), "other": ("#f5f5f5", "#757575"),
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(text: Any) -> str:
    """Text safe inside an SVG element or attribute (escaped, characters XML forbids dropped)."""
    return html.escape(_NOT_XML.sub("", str(text)), quote=True)


def _baseline(top: float, line: float, size: float) -> float:
    """The baseline that centres a line of ``size`` px text in a line box ``line`` px high starting at ``top``."""
    return round(top + (line - 1.15 * size) / 2 + 0.93 * size, 1)


def _wrap_beside(text: str, first: float, rest: float, size: float, bold: bool, max_lines: int) -> list[str]:
    """Wrapped text whose first line is ``first`` px wide (beside a badge) and the others ``rest`` px."""
    text = " ".join(str(text).split())
    head = wrap(text, first, size, bold)
    if not head:
        return []
    tail = text[len(head[0]):].strip()
    lines = [head[0]] + (wrap(tail, rest, size, bold) if tail else [])
    if len(lines) > max_lines:
        cut = wrap(" ".join(lines[max_lines - 1:]), rest, size, bold, max_lines=1)
        lines = lines[:max_lines - 1] + cut
    return lines


@dataclass
class _Line:
    text: str
    size: float
    height: float
    bold: bool = False
    colour: str = INK


@dataclass
class _Node:
    key: str
    family: str
    lines: list[_Line]
    hover: str
    count: int | None
    lit: bool
    faded: bool
    badge_w: float = 0.0
    height: float = 0.0
    layer: int = 0
    col: int = 0
    x: float = 0.0
    y: float = 0.0


@dataclass
class _Exit:
    """One outcome leaving a box: where it leaves, its wrapped label, and where it goes (None: the path ends)."""

    source: str
    target: str | None
    index: int
    slice_w: float
    label: list[str]
    edge: Any
    lane: int | None = None       # column gap the edge runs down in when it skips layers
    lane_slot: int = 0
    x: float = 0.0
    landing: bool = False         # the label sits above the target (the source has too many branches for it)
    entry: float | None = None    # where it enters its target, when the target's top is shared out


def _node(key: str, family: str, title: str, description: str, kind: str, count: int | None, failed: int,
          lit: bool, faded: bool, hover: str) -> _Node:
    badge_w = text_width(f"{count:,}", 11, True) + 12 if count is not None else 0.0
    inner = BOX_W - 2 * PAD
    lines = [_Line(t, 12, 15, True) for t in _wrap_beside(title, inner - (badge_w + 6 if badge_w else 0), inner,
                                                          12, True, 6)]
    if description and description != title:
        lines += [_Line(t, 11, 14) for t in wrap(description, inner, 11, max_lines=2)]
    lines += [_Line(t, 10, 13, colour="#555555") for t in wrap(kind, inner, 10, max_lines=1)]
    if failed:
        lines.append(_Line(f"⚠ {failed:,} failed", 10.5, 14, True, FAILED_COLOUR))
    height = 2 * 6 + sum(line.height for line in lines)
    return _Node(key, family, lines, hover, count, lit, faded, badge_w, max(height, 40))


def layout(graph: JourneyGraph) -> dict[str, tuple[int, int]]:
    """Layer and column of every box (trigger and activities), keyed by activity key.

    The trigger is layer 0 and each activity sits one layer below the latest one leading to it. Layer by
    layer, each box takes the column of its first placed parent plus its branch index (the first branch goes
    straight down), or the nearest free column.
    """
    trigger = graph.trigger.key
    order = {trigger: -1, **{a.key: i for i, a in enumerate(graph.activities)}}
    layers = {trigger: 0, **{a.key: graph.depth.get(a.key, 0) + 1 for a in graph.activities}}
    children = {trigger: [graph.entry.key] if graph.entry else [],
                **{a.key: list(graph.successors(a.key)) for a in graph.activities}}
    parents: dict[str, list[str]] = {}
    for source in sorted(children, key=order.__getitem__):
        for child in children[source]:
            parents.setdefault(child, []).append(source)
    cols = {trigger: 0}
    for layer in sorted(set(layers.values()) - {0}):
        wants = []
        for key in (k for k in layers if layers[k] == layer):
            placed = [(cols[p] + children[p].index(key)) for p in parents.get(key, []) if p in cols]
            wants.append((min(placed) if placed else 0, order[key], key))
        taken: set[int] = set()
        for desired, _, key in sorted(wants):
            step = 0
            while True:
                if desired + step not in taken:
                    col = desired + step
                    break
                if step and desired - step >= 0 and desired - step not in taken:
                    col = desired - step
                    break
                step += 1
            taken.add(col)
            cols[key] = col
    return {key: (layers[key], cols[key]) for key in layers}


def _intervals(spans: list[tuple[float, float, Any]], pad: float) -> dict[Any, int]:
    """A slot for each span, first fit in the order given, such that spans sharing a slot never come within
    ``pad`` of each other."""
    taken: list[list[tuple[float, float]]] = []
    slots: dict[Any, int] = {}
    for lo, hi, ident in spans:
        slot = next((i for i, held in enumerate(taken) if all(hi + pad < a or b + pad < lo for a, b in held)),
                    None)
        if slot is None:
            slot = len(taken)
            taken.append([])
        taken[slot].append((lo, hi))
        slots[ident] = slot
    return slots


def journey_svg(graph: JourneyGraph, counts: Mapping[str, int] | None = None, *,
                highlight_nodes: Collection[str] = (), highlight_edges: Collection[tuple[str, str]] = (),
                failed: Mapping[str, int] | None = None, title: str | None = None) -> str:
    """The journey map of ``graph`` as an ``<svg>`` element.

    ``counts`` maps activity keys (and the trigger's key) to the number of contacts that reached them: given,
    every box shows its number (zeros too). ``highlight_nodes`` and ``highlight_edges`` (``(source, target)``
    key pairs) are drawn in the path colour; when any is given the other boxes and the branches no traced
    contact took are faded. ``failed`` maps activity keys to the contacts whose step there failed.
    """
    cells = layout(graph)
    lit_nodes = set(highlight_nodes)
    lit_edges = {(str(s), str(t)) for s, t in highlight_edges}
    tracing = bool(lit_nodes or lit_edges)
    failed = failed or {}
    names = {graph.trigger.key: graph.trigger.name, **{a.key: a.label for a in graph.activities}}

    def count_of(key: str) -> int | None:
        return None if counts is None else int(counts.get(key, 0) or 0)

    def hover(name: str, kind: str, description: str, key: str, n: int | None, bad: int) -> str:
        parts = [name, f"{kind}: {description}" if description else kind, f"key {key}"]
        if n is not None:
            parts.append(f"{plural(n, 'contact')} reached it")
        if bad:
            parts.append(f"{plural(bad, 'contact')} failed here")
        return "\n".join(p for p in parts if p)

    trig = graph.trigger
    refused = int(failed.get(trig.key, 0) or 0)          # entries refused at the trigger
    source = f"{_describe.entry_source(trig.raw)} entry"
    nodes = {trig.key: _node(trig.key, "trigger", trig.name, trig.description, source, count_of(trig.key),
                             refused, trig.key in lit_nodes, tracing and trig.key not in lit_nodes,
                             hover(trig.name, source, trig.description, trig.key, count_of(trig.key), refused))}
    for a in graph.activities:
        n, bad = count_of(a.key), int(failed.get(a.key, 0) or 0)
        kind = _describe.type_name(a.type, len(a.outcomes))
        nodes[a.key] = _node(a.key, a.family, a.label, a.description, kind, n, bad, a.key in lit_nodes,
                             tracing and a.key not in lit_nodes, hover(a.label, kind, a.description, a.key, n, bad))
    for key, (layer, col) in cells.items():
        nodes[key].layer, nodes[key].col = layer, col
    n_layers = max(c[0] for c in cells.values()) + 1
    n_cols = max(c[1] for c in cells.values()) + 1

    # the outcomes leaving each box, in outcome order; lanes for edges that skip layers or go up
    outgoing: dict[str, list[tuple[Any, str | None]]] = {trig.key: [(e, e.target) for e in graph.edges[:1]
                                                                    if e.source == trig.key]}
    for a in graph.activities:
        outs: list[tuple[Any, str | None]] = [(e, e.target if e.target in cells else None) for e in a.outcomes]
        outgoing[a.key] = outs or [(None, None)]
    exits: list[_Exit] = []
    for key, outs in outgoing.items():
        for index, (edge, target) in enumerate(outs):
            slice_w = BOX_W / len(outs)
            landing = bool(target and edge.label and slice_w < MIN_SLICE)
            lines = wrap(edge.label, slice_w - 6, LABEL_SIZE, max_lines=LABEL_LINES) if (
                edge and edge.label and not landing) else []
            exits.append(_Exit(key, target, index, slice_w, lines, edge, landing=landing))
    lane_spans: dict[int, list[tuple[float, float, Any]]] = {}
    for i, ex in enumerate(exits):
        if ex.target is None:
            continue
        src, dst = nodes[ex.source], nodes[ex.target]
        if dst.layer == src.layer + 1:
            continue
        ex.lane = dst.col + 1 if dst.col >= src.col else dst.col
        lo, hi = sorted((src.layer, dst.layer - 1))
        lane_spans.setdefault(ex.lane, []).append((lo, hi, i))
    for spans in lane_spans.values():
        for i, slot in _intervals(sorted(spans, key=lambda s: (s[0], s[1])), -0.5).items():
            exits[i].lane_slot = slot
    lanes = {gap: 1 + max(exits[i].lane_slot for _, _, i in spans) for gap, spans in lane_spans.items()}

    # columns left to right: each gap wide enough for its lanes
    gap_x, col_x, x = {}, {}, float(MARGIN)
    for col in range(n_cols + 1):
        gap_x[col] = x
        x += max(GAP_MIN, 2 * 10 + lanes.get(col, 0) * LANE)
        if col < n_cols:
            col_x[col] = x
            x += BOX_W
    width = round(x + MARGIN)
    for node in nodes.values():
        node.x = col_x[node.col]
    for ex in exits:
        ex.x = nodes[ex.source].x + (ex.index + 0.5) * ex.slice_w
    incoming: dict[str, list[_Exit]] = {}
    for ex in exits:
        if ex.target is not None:
            incoming.setdefault(ex.target, []).append(ex)
    at = {(node.layer, node.col): key for key, node in nodes.items()}
    leaving: dict[str, list[_Exit]] = {}
    for ex in exits:
        leaving.setdefault(ex.source, []).append(ex)

    def passing_lines(key: str) -> list[float]:
        """Where lines leaving the box right above ``key`` come down on their way to other activities."""
        node = nodes[key]
        above = at.get((node.layer - 1, node.col))
        return [e.x for e in leaving.get(above, []) if e.target != key] if above else []

    land = [0.0] * n_layers
    for target, arriving in incoming.items():
        if not any(ex.landing for ex in arriving):
            continue
        share = BOX_W / len(arriving)           # each edge enters at its own slice of the target's top
        passing = passing_lines(target)
        shift = next((f * share for f in (0, 0.25, -0.25, 0.4, -0.4) if all(
            abs(nodes[target].x + (j + 0.5 + f) * share - p) >= 6 for j in range(len(arriving)) for p in passing)),
            0.0)                                 # slid aside so no slice meets a line passing down to another box
        for j, ex in enumerate(sorted(arriving, key=lambda e: (nodes[e.source].x, e.x))):
            ex.entry = nodes[target].x + (j + 0.5) * share + shift
            if ex.landing:
                ex.label = wrap(ex.edge.label, share - 6 - 2 * abs(shift), LABEL_SIZE, max_lines=LABEL_LINES)
                need = len(ex.label) * LABEL_LINE + 2 + ARROW + 6
                land[nodes[target].layer] = max(land[nodes[target].layer], need)

    def lane_x(ex: _Exit) -> float:
        return gap_x[ex.lane or 0] + 10 + ex.lane_slot * LANE + LANE / 2

    def door(key: str) -> float:
        """Where edges from elsewhere enter ``key``: its top centre, unless a line leaving the box right above
        comes down there on its way to another activity (the two would look like one line)."""
        node = nodes[key]
        passing = passing_lines(key)
        for eighth in (4, 5, 3, 6, 2, 7, 1):
            x = node.x + BOX_W * eighth / 8
            if all(abs(x - p) >= 8 for p in passing):
                return x
        return node.x + BOX_W / 2

    doors = {key: door(key) for key in nodes}

    def entry_x(ex: _Exit) -> float:
        """Where an edge enters its target: straight down when the target is right below the exit, its own
        share of the target's top when that is shared out, else the target's door."""
        src, dst = nodes[ex.source], nodes[str(ex.target)]
        if ex.entry is not None:
            return ex.entry
        if dst.col == src.col and dst.layer == src.layer + 1:
            return ex.x
        return doors[str(ex.target)]

    # the gap under each layer: labels and end markers first, then one track per horizontal run
    band = [10.0] * n_layers
    for ex in (e for e in exits if not e.landing):
        need = 6 + len(ex.label) * LABEL_LINE + (4 if ex.label else 0) + (END_H + 8 if ex.target is None else 0)
        band[nodes[ex.source].layer] = max(band[nodes[ex.source].layer], need + 6)
    runs: dict[int, list[tuple[float, float, Any, float]]] = {}       # lo, hi, (exit, leg), where it starts
    for i, ex in enumerate(exits):
        if ex.target is None:
            continue
        src, dst = nodes[ex.source], nodes[ex.target]
        first_end = entry_x(ex) if ex.lane is None else lane_x(ex)
        legs = [(src.layer, ex.x, first_end)]
        if ex.lane is not None:
            legs.append((dst.layer - 1, lane_x(ex), entry_x(ex)))
        for leg, (gap, start, stop) in enumerate(legs):
            if abs(start - stop) >= 1:
                runs.setdefault(gap, []).append((min(start, stop), max(start, stop), (i, leg), start))
    track_of: dict[tuple[int, int], int] = {}
    tracks = [0] * n_layers
    for gap, legs_here in runs.items():
        # runs turning right: the one that starts furthest right turns first (highest); runs turning left: the
        # one that starts furthest left. So a run never crosses the drop of another leaving the same row.
        legs_here.sort(key=lambda s: (0, -s[3]) if s[3] <= s[0] + 0.5 else (1, s[3]))
        slots = _intervals([(lo, hi, ident) for lo, hi, ident, _ in legs_here], 3)
        track_of.update(slots)
        tracks[gap] = max(slots.values()) + 1
    header = [rule.description for rule in (*graph.goals, *graph.exits)]
    header_lines = [line for text in header for line in wrap(text, width - 2 * MARGIN - 16, 11, max_lines=3)]
    top = MARGIN + (len(header_lines) * 14 + 10 + 12 if header_lines else 0)
    layer_h = [0.0] * n_layers
    for node in nodes.values():
        layer_h[node.layer] = max(layer_h[node.layer], node.height)
    layer_y, y = [], float(top)
    for layer in range(n_layers):
        y += land[layer]
        layer_y.append(y)
        y += layer_h[layer] + band[layer] + max(tracks[layer], 1) * TRACK + ARROW + 8
    height = round(y - ARROW - 8 - max(tracks[-1], 1) * TRACK + 4 + MARGIN)
    for node in nodes.values():
        node.y = layer_y[node.layer]

    def track_y(layer: int, i: int, leg: int) -> float:
        base = layer_y[layer] + layer_h[layer] + band[layer] + TRACK / 2
        return base + track_of.get((i, leg), 0) * TRACK

    label = title or f"Journey map: {graph.title}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="{_esc(FONT)}" role="img" aria-label="{_esc(label)}" '
           f'style="width:100%;max-width:{width}px;height:auto;--sfmc-map-width:{width}px">',
           f"<title>{_esc(label)}</title>",
           f'<rect x="0" y="0" width="{width}" height="{height}" style="{PAGE}"/>']
    if header_lines:
        lane_h = len(header_lines) * 14 + 10
        out.append(f'<g><title>{_esc(chr(10).join(header))}</title><rect x="{MARGIN}" y="{MARGIN}" '
                   f'width="{width - 2 * MARGIN}" height="{lane_h}" rx="4" style="{LANE_FILL}" stroke="#9e9e9e" '
                   'stroke-dasharray="4 3"/>')
        out.extend(f'<text x="{MARGIN + 8}" y="{_baseline(MARGIN + 5 + 14 * n, 14, 11)}" font-size="11" '
                   f'style="{PAGE_TEXT}">{_esc(text)}</text>' for n, text in enumerate(header_lines))
        out.append("</g>")
    for lit_pass in (False, True):                      # path edges last, so they are drawn on top
        for i, ex in enumerate(exits):
            lit = ex.target is not None and (ex.source, ex.target) in lit_edges
            if lit is lit_pass:
                out.append(_draw_exit(i, ex, nodes, names, lit, tracing, layer_h, band, track_y, lane_x, entry_x))
    out.extend(_draw_box(node) for node in nodes.values())
    out.append("</svg>")
    return "".join(out)


def _draw_exit(i: int, ex: _Exit, nodes: Mapping[str, _Node], names: Mapping[str, str], lit: bool, tracing: bool,
               layer_h: list[float], band: list[float], track_y: Any, lane_x: Any, entry_x: Any) -> str:
    src = nodes[ex.source]
    x1, y1 = round(ex.x, 1), src.y + src.height
    band_top = src.y + layer_h[src.layer]
    colour, stroke = (PATH_COLOUR, 3) if lit else (EDGE_COLOUR, 1.5)
    faded = tracing and not lit and ex.target is not None
    style = ' opacity="0.45"' if faded else ""
    dash = ' stroke-dasharray="5 4"' if faded else ""
    name = names.get(ex.source, ex.source)
    if ex.target is None:
        hover = f"{name} → end of the path" + (f": {ex.edge.label}" if ex.edge and ex.edge.label else "")
    else:
        hover = f"{name} → {names.get(ex.target, ex.target)}" + (f": {ex.edge.label}" if ex.edge.label else "")
        if ex.edge.condition and ex.edge.condition != ex.edge.label:
            hover += f" ({ex.edge.condition})"
    out = [f"<g{style}><title>{_esc(hover)}</title>"]
    label_top = band_top + 6
    label_bottom = label_top + (len(ex.label) * LABEL_LINE + 4 if ex.label else 0)
    if ex.target is None:
        end_y = label_bottom + 6
        out.append(f'<line x1="{x1}" y1="{y1}" x2="{x1}" y2="{end_y}" stroke="{EDGE_COLOUR}" stroke-width="1.5"/>'
                   f'<rect x="{x1 - END_W / 2:g}" y="{end_y:g}" width="{END_W}" height="{END_H}" rx="8" '
                   f'fill="#616161"/><text x="{x1:g}" y="{_baseline(end_y, END_H, 10)}" text-anchor="middle" '
                   f'font-size="10" font-weight="600" fill="#ffffff">End</text>')
    else:
        dst = nodes[ex.target]
        tx, ty = round(entry_x(ex), 1), dst.y
        end = ty - ARROW
        if ex.lane is None:
            path = f"M{x1} {y1}V{end}" if abs(tx - x1) < 1 else (
                f"M{x1} {y1}V{track_y(src.layer, i, 0):g}H{tx}V{end}")
        else:
            lx = round(lane_x(ex), 1)
            path = (f"M{x1} {y1}V{track_y(src.layer, i, 0):g}H{lx}V{track_y(dst.layer - 1, i, 1):g}"
                    f"H{tx}V{end}")
        out.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{stroke}"{dash}/>'
                   f'<polygon points="{tx},{ty} {tx - 4},{end} {tx + 4},{end}" fill="{colour}"/>')
    if ex.label:
        wide = max(text_width(t, LABEL_SIZE) for t in ex.label) + 6
        if ex.landing:                      # just above the arrow into the target
            x1 = round(entry_x(ex), 1)
            label_top = nodes[str(ex.target)].y - ARROW - 3 - (len(ex.label) * LABEL_LINE + 2)
        out.append(f'<rect x="{x1 - wide / 2:.1f}" y="{label_top:g}" width="{wide:.1f}" '
                   f'height="{len(ex.label) * LABEL_LINE + 2}" rx="3" style="{PAGE}"/>')
        out.extend(f'<text x="{x1:g}" y="{_baseline(label_top + 1 + n * LABEL_LINE, LABEL_LINE, LABEL_SIZE)}" '
                   f'text-anchor="middle" font-size="{LABEL_SIZE}" style="{PAGE_TEXT}">{_esc(t)}</text>'
                   for n, t in enumerate(ex.label))
    out.append("</g>")
    return "".join(out)


def _draw_box(node: _Node) -> str:
    x, y = node.x, node.y
    fill, outline = COLOURS.get(node.family, COLOURS["other"])
    stroke, width = (PATH_COLOUR, 3) if node.lit else (outline, 1.2)
    fade = ' opacity="0.55"' if node.faded else ""
    out = [f"<g{fade}><title>{_esc(node.hover)}</title>",
           f'<rect x="{x:g}" y="{y:g}" width="{BOX_W}" height="{node.height:g}" rx="6" fill="{fill}" '
           f'stroke="{stroke}" stroke-width="{width}"/>']
    if node.count is not None:
        pill_fill, pill_text = (PATH_COLOUR, "#ffffff") if node.count else ("#e0e0e0", "#444444")
        bx = x + BOX_W - node.badge_w - 6
        out.append(f'<rect x="{bx:.1f}" y="{y + 4:g}" width="{node.badge_w:.1f}" height="16" rx="8" '
                   f'fill="{pill_fill}"/><text x="{bx + node.badge_w / 2:.1f}" y="{_baseline(y + 4, 16, 11)}" '
                   f'text-anchor="middle" font-size="11" font-weight="600" fill="{pill_text}">'
                   f"{_esc(f'{node.count:,}')}</text>")
    line_top = y + 6
    for line in node.lines:
        weight = ' font-weight="600"' if line.bold else ""
        out.append(f'<text x="{x + PAD:g}" y="{_baseline(line_top, line.height, line.size)}" '
                   f'font-size="{line.size:g}"{weight} fill="{line.colour}">{_esc(line.text)}</text>')
        line_top += line.height
    out.append("</g>")
    return "".join(out)


ZOOM_STYLE = ("<style>.sfmc-map-scroll{overflow:auto;max-width:100%}"
              ".sfmc-map-zoom>summary{cursor:pointer;font-size:12px;color:var(--jp-ui-font-color2,#666666);"
              "margin:2px 0}.sfmc-map-zoom[open]+.sfmc-map-scroll>svg,.sfmc-map-full .sfmc-map-scroll>svg"
              "{width:var(--sfmc-map-width)!important;max-width:none!important}</style>")


def map_html(svg: str) -> str:
    """The map for a notebook: fitted to the page's width, with a switch that shows it at full size (scroll)."""
    return (f'{ZOOM_STYLE}<details class="sfmc-map-zoom"><summary>Show the map at full size</summary></details>'
            f'<div class="sfmc-map-scroll">{svg}</div>')
