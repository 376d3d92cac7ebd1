"""Where the journey map puts its texts, boxes and lines, read back from the SVG it wrote.

A text's extent is its anchor point and its width in the map's font (the same per-character table the map
sizes with; the browser test measures the real glyphs); its height is the font's ascent and descent.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from sfmc_nb.journeys._text_width import text_width
from sfmc_nb.journeys.svg import BOX_W

NS = "{http://www.w3.org/2000/svg}"
Rect = tuple[float, float, float, float]       # left, top, right, bottom


@dataclass
class Text:
    text: str
    rect: Rect
    group: int


def _rect(node: ET.Element) -> Rect:
    x, y = float(node.get("x", 0)), float(node.get("y", 0))
    return x, y, x + float(node.get("width")), y + float(node.get("height"))


def text_rect(node: ET.Element) -> Rect:
    size = float(node.get("font-size"))
    width = text_width(node.text or "", size, node.get("font-weight") == "600")
    x, y = float(node.get("x")), float(node.get("y"))
    left = x - width / 2 if node.get("text-anchor") == "middle" else x
    return left, y - 0.93 * size, left + width, y + 0.22 * size


def inside(inner: Rect, outer: Rect, slack: float = 0.5) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack and inner[2] <= outer[2] + slack
            and inner[3] <= outer[3] + slack)


def overlap(a: Rect, b: Rect, slack: float = 0.01) -> bool:
    return a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack


@dataclass
class Geometry:
    width: float
    texts: list[Text]
    boxes: dict[int, Rect]                       # group index -> the activity box drawn in it
    rects: dict[int, list[Rect]]                 # group index -> every rect drawn in it
    segments: dict[int, list[Rect]]              # group index -> each straight piece of its edge, as a thin rect


def read(svg: str) -> Geometry:
    root = ET.fromstring(svg)
    texts, boxes, rects, segments = [], {}, {}, {}
    for index, group in enumerate(root.iter(NS + "g")):
        found = [_rect(r) for r in group.findall(NS + "rect")]
        rects[index] = found
        first = group.find(NS + "rect")
        if first is not None and first.get("width") == str(BOX_W):
            boxes[index] = found[0]
        texts.extend(Text(t.text or "", text_rect(t), index) for t in group.findall(NS + "text"))
        path = group.find(NS + "path")
        if path is not None:
            segments[index] = path_segments(path.get("d"))
    return Geometry(float(root.get("width")), texts, boxes, rects, segments)


def path_segments(d: str) -> list[Rect]:
    """``M x y V y H x ...`` as the straight pieces it draws (each a zero-width or zero-height rect)."""
    out: list[Rect] = []
    x = y = 0.0
    for op, value, rest in re.findall(r"([MVH])(-?[\d.]+)(?:\s(-?[\d.]+))?", d):
        if op == "M":
            x, y = float(value), float(rest)
        elif op == "V":
            out.append((x, min(y, float(value)), x, max(y, float(value))))
            y = float(value)
        else:
            out.append((min(x, float(value)), y, max(x, float(value)), y))
            x = float(value)
    return out


def problems(svg: str) -> list[str]:
    """Everything that reads badly: texts overlapping, texts out of their box, lane or label ground or under a
    count badge, boxes or label grounds on top of each other, edges running through boxes."""
    geo = read(svg)
    found = []
    for t in geo.texts:
        own = geo.rects.get(t.group, [])
        if not any(inside(t.rect, r) for r in own):
            found.append(f"text {t.text!r} is outside its box, lane or label ground")
        if any(overlap(t.rect, r) and not inside(t.rect, r) for r in own):
            found.append(f"text {t.text!r} runs under a badge or marker of its own box")
    ordered = sorted(geo.texts, key=lambda t: t.rect[1])
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.rect[1] >= a.rect[3]:
                break
            if overlap(a.rect, b.rect):
                found.append(f"texts {a.text!r} and {b.text!r} overlap")
    boxes = list(geo.boxes.items())
    for i, (ga, a) in enumerate(boxes):
        for gb, b in boxes[i + 1:]:
            if overlap(a, b):
                found.append(f"boxes of groups {ga} and {gb} overlap")
    for group, rects in geo.rects.items():
        if group in geo.boxes:
            continue
        for r in rects:
            for gb, box in boxes:
                if overlap(r, box):
                    found.append(f"a label or marker of group {group} lies on the box of group {gb}")
    for group, pieces in geo.segments.items():
        for piece in pieces:
            for gb, box in boxes:
                if overlap(piece, box, slack=-0.01) and not (piece[0] == piece[2] and _touches_end(piece, box)):
                    found.append(f"an edge of group {group} runs through the box of group {gb}")
    found.extend(_shared_lines(geo))
    return found


def _shared_lines(geo: Geometry) -> list[str]:
    """Two edges running along the same line for a stretch look like one, unless they end at the same arrow."""
    pieces = [(group, piece, pieces[-1]) for group, pieces in geo.segments.items() for piece in pieces]
    found = []
    for i, (ga, a, end_a) in enumerate(pieces):
        for gb, b, end_b in pieces[i + 1:]:
            if ga == gb or (end_a[2], end_a[3]) == (end_b[2], end_b[3]):      # a join: same arrow
                continue
            vertical = a[0] == a[2] and b[0] == b[2] and abs(a[0] - b[0]) < 1
            horizontal = a[1] == a[3] and b[1] == b[3] and abs(a[1] - b[1]) < 1
            if (vertical and min(a[3], b[3]) - max(a[1], b[1]) > 1) or (
                    horizontal and min(a[2], b[2]) - max(a[0], b[0]) > 1):
                found.append(f"edges of groups {ga} and {gb} run along one line")
    return found


def _touches_end(piece: Rect, box: Rect) -> bool:
    """A vertical piece leaving a box's bottom or entering its top only touches it."""
    return piece[1] >= box[3] - 0.5 or piece[3] <= box[1] + 0.5
