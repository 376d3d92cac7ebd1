"""Large journey maps in real JupyterLab (headless Debian Chromium, Playwright), light theme and dark.

A notebook draws a made-up 52-activity journey, an eight-branch one, and the 52-activity one as a trace
shows it (counts, failures, a lit path). In the browser, with the real fonts:
each map fits the output area's width, no two texts overlap, every text stays inside its box, label ground
or lane, the page behind the map follows the theme, and "Show the map at full size" draws it at its natural
width. Screenshots of both maps, light and dark, go to tests/e2e/artifacts/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_lab import (  # noqa: E402
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    PANEL_TIMEOUT,
    STEP_TIMEOUT,
    _run_all_cells,
    lab,  # noqa: E402,F401 - the JupyterLab server fixture
)

pytestmark = pytest.mark.e2e

TESTS = Path(__file__).resolve().parents[1]
CELLS = [
    f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
    "from _big_journey import big_journey, wide_journey\nfrom sfmc_nb.journeys import JourneyGraph",
    "JourneyGraph.from_definition(big_journey(4))",
    "JourneyGraph.from_definition(wide_journey(8))",
    # a traced look: counts on every box (large numbers make wide badges), failures, one path lit
    "from IPython.display import HTML\nfrom sfmc_nb.journeys.svg import map_html\n"
    "g = JourneyGraph.from_definition(big_journey(4))\n"
    "path = ['TRIGGER', 'S1-EMAIL', 'S1-STO', 'S1-DECIDE', 'S1-GOLD', 'S1-SPLIT', 'S1-B', 'S1-OPENED']\n"
    "HTML(map_html(g.svg(counts={a.key: 10 ** (i % 7) for i, a in enumerate(g.activities)} | {'TRIGGER': 250000},\n"
    "                    failed={a.key: 3 for a in list(g.activities)[::6]}, highlight_nodes=path,\n"
    "                    highlight_edges=list(zip(path, path[1:])))))",
]

# Measured in the page: every text's box from the browser's own glyphs (getBBox, in the SVG's units), checked
# against every other text and against the rects of its own group.
GEOMETRY_JS = """(svg) => {
  const texts = [...svg.querySelectorAll('text')].map(t => ({t: t.textContent, b: t.getBBox(),
      rects: [...t.parentNode.querySelectorAll(':scope > rect')].map(r => r.getBBox())}));
  const out = [];
  const inside = (a, b) => a.x >= b.x - 0.5 && a.y >= b.y - 0.5 && a.x + a.width <= b.x + b.width + 0.5
                           && a.y + a.height <= b.y + b.height + 0.5;
  const meet = (a, b) => a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5 && a.y < b.y + b.height - 0.5
                         && b.y < a.y + a.height - 0.5;
  for (const x of texts) if (!x.rects.some(r => inside(x.b, r))) out.push('outside: ' + x.t);
  for (const x of texts) if (x.rects.some(r => meet(x.b, r) && !inside(x.b, r))) out.push('under a badge: ' + x.t);
  for (let i = 0; i < texts.length; i++)
    for (let j = i + 1; j < texts.length; j++)
      if (meet(texts[i].b, texts[j].b)) out.push('overlap: ' + texts[i].t + ' / ' + texts[j].t);
  return {problems: out, texts: texts.length, shown: svg.getBoundingClientRect().width,
          natural: +svg.getAttribute('width'), room: svg.closest('.jp-OutputArea-output').clientWidth,
          page: getComputedStyle(svg.querySelector('rect')).fill};
}"""


def _write_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nbformat.write(nb, str(path))


def _dark_theme(page, expect) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
    page.locator(".lm-Menu-item", has=page.get_by_text("Theme", exact=True)).first.hover()
    page.locator(".lm-Menu-item", has=page.get_by_text("JupyterLab Dark", exact=True)).first.click()
    expect(page.locator("body[data-jp-theme-light='false']")).to_have_count(1, timeout=STEP_TIMEOUT)


def test_large_journey_map_reads_at_notebook_width_light_and_dark(lab):  # noqa: F811 - the imported fixture
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    _write_notebook(lab["root"] / "maps.ipynb")
    url = f"http://127.0.0.1:{lab['port']}/lab/tree/maps.ipynb?token={lab['token']}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(STEP_TIMEOUT)
            page.goto(url, timeout=60_000)
            expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(len(CELLS), timeout=60_000)
            expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
            _run_all_cells(page, expect)
            maps = page.locator(".jp-OutputArea-output:has(.sfmc-map-scroll)")
            expect(maps).to_have_count(3, timeout=PANEL_TIMEOUT)
            expect(maps.first).to_contain_text("52 activities")
            seen = {}
            for theme in ("light", "dark"):
                if theme == "dark":
                    _dark_theme(page, expect)
                    page.wait_for_timeout(500)
                for index, name in enumerate(("long", "wide", "traced")):
                    box = maps.nth(index)
                    box.evaluate("e => e.scrollIntoView({block: 'start'})")
                    page.wait_for_timeout(300)
                    svg = box.locator("svg").first
                    found = svg.evaluate(GEOMETRY_JS)
                    assert found["problems"] == [], (theme, name, found["problems"][:10])
                    assert found["texts"] > (60 if name == "wide" else 150), found
                    assert found["shown"] <= found["room"] + 1, found        # fits the notebook's width
                    seen[theme, name] = found
                    page.screenshot(path=str(ARTIFACTS / f"journey-map-{name}-{theme}.png"))   # what a reader sees
            assert seen["light", "long"]["page"] == "rgb(255, 255, 255)"
            assert seen["dark", "long"]["page"] != "rgb(255, 255, 255)"        # no white slab in the dark
            wide = seen["light", "wide"]
            assert wide["natural"] > wide["room"] and wide["shown"] < wide["natural"]   # scaled to fit
            assert seen["light", "traced"]["problems"] == []           # badges, failure marks and lit path too
            zoom = maps.nth(1).locator("summary", has_text="Show the map at full size")
            zoom.click()
            full = maps.nth(1).locator("svg").first.evaluate("s => s.getBoundingClientRect().width")
            assert abs(full - wide["natural"]) < 2, (full, wide["natural"])
            maps.nth(1).screenshot(path=str(ARTIFACTS / "journey-map-wide-full-size-dark.png"))
        finally:
            browser.close()
