"""How wide a line of text is drawn, without a browser: per-character advance widths of the map's font.

The map draws in Arial and its metric twins (Liberation Sans, Helvetica), so the widths below (thousandths of
an em, regular and bold, from the fonts' metrics) give each line's width before it is drawn: labels are
wrapped and boxes sized from them, and nothing spills over a border. Upper-case letters are wider than lower
case; east-asian wide characters, emoji and symbols take a full em or more; combining marks take none. A small
margin covers hinting and the fallback fonts a browser may pick.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["text_width", "wrap"]

_ASCII = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
_REGULAR = (278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
            556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015,
            667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611,
            722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333,
            556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278,
            556, 500, 722, 500, 500, 500, 334, 260, 334, 584)
_BOLD = (278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
         556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975,
         722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611,
         722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 333,
         556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333,
         611, 556, 778, 556, 556, 500, 389, 280, 389, 584)
_WIDTHS = {False: dict(zip(_ASCII, _REGULAR, strict=True)), True: dict(zip(_ASCII, _BOLD, strict=True))}
_NARROW = {"·": 278, "’": 222, "‘": 222, "“": 333, "”": 333, "–": 556, "—": 1000, "…": 1000, "•": 350}
MARGIN = 1.06
"""Drawn text may be this much wider than the table says (hinting, fallback fonts)."""


@lru_cache(maxsize=4096)
def _char(char: str, bold: bool) -> int:
    known = _WIDTHS[bold].get(char) or _NARROW.get(char)
    if known:
        return known
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    if ord(char) >= 0x1F000 or unicodedata.category(char) == "So":
        return 1250                     # emoji and pictographs: wider than an em in colour fonts
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1000
    if unicodedata.category(char) == "Sm" or 0x2190 <= ord(char) <= 0x2BFF:
        return 1000                     # arrows, maths and other symbols
    return 667 if bold else 611         # other letters (accented, Greek, Cyrillic): as wide as a capital


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Pixels ``text`` takes at font ``size`` (px) in the map's font, rounded up a little."""
    return sum(_char(c, bold) for c in text) * size / 1000 * MARGIN


def _break_word(word: str, width: float, size: float, bold: bool) -> list[str]:
    """A word too long for a line, in pieces that each fit."""
    pieces, piece = [], ""
    for char in word:
        if piece and text_width(piece + char, size, bold) > width:
            pieces.append(piece)
            piece = ""
        piece += char
    return pieces + ([piece] if piece else [])


def _ellipsis(line: str, width: float, size: float, bold: bool) -> str:
    while line and text_width(line + "…", size, bold) > width:
        line = line[:-1]
    return line.rstrip() + "…"


def wrap(text: str, width: float, size: float, bold: bool = False, max_lines: int = 0) -> list[str]:
    """``text`` in lines no wider than ``width`` px, broken between words (inside a word only when it alone is
    too long); with ``max_lines``, the last line kept ends with an ellipsis when text is left over."""
    lines: list[str] = []
    line = ""
    for word in " ".join(str(text).split()).split(" "):
        if not word:
            continue
        candidate = f"{line} {word}" if line else word
        if text_width(candidate, size, bold) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        pieces = _break_word(word, width, size, bold) if text_width(word, size, bold) > width else [word]
        lines.extend(pieces[:-1])
        line = pieces[-1]
    if line:
        lines.append(line)
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [_ellipsis(lines[max_lines - 1], width, size, bold)]
    return lines
