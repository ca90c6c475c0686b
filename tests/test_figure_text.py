"""Every site figure is readable in the page: its smallest text is at least 10 px as shown,
on a laptop (1280 px, a 688 px text column) and on a phone (390 px, a 358 px column).

Two checks. The first reads each rendered SVG and the width the laptop's column gives
it (an SVG wider than 688 px is scaled down to fit, and its text with it). The second
opens every page of the built site in headless Chromium at both widths and measures
each figure where it is shown: on a phone, a figure keeps the width its text needs
(scripts/figure_markup.py) and its box scrolls sideways. The glyph sizes come from
the SVG itself (``glyph_sizes``, shared with the build); the hand-drawn architecture
diagram is measured from its text's computed font size.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bertguide import figures
from tests.browsing import site_pages

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from figure_markup import SMALLEST_PX, glyph_sizes, readable_width  # noqa: E402 (on the path)

sys.path.remove(str(ROOT / "scripts"))

COLUMN_PX = 688
WIDTHS = (1280, 390)  # a laptop and a phone


def text_sizes_px(svg: str, column_px: float = COLUMN_PX) -> tuple[float, list[float]]:
    """(the figure's displayed width in px, every glyph's font size in px as displayed)
    when the figure is scaled down to fit ``column_px``."""
    native, sizes = glyph_sizes(svg)
    shown = min(native, column_px)
    return shown, [size * shown / native for size in sizes]


def test_text_sizes_are_read_from_the_glyph_scale():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="1032pt" height="10pt"><g transform="translate(1 2) scale(0.12 -0.12)">'
        '<use xlink:href="#a"/><g transform="translate(3 4) scale(0.7)"><use xlink:href="#b"/>'
        "</g></g></svg>"
    )
    shown, sizes = text_sizes_px(svg)
    base = 12 * 4 / 3 * 688 / 1376  # 12 pt, shrunk from 1376 px to the 688 px column
    assert shown == COLUMN_PX and sizes == [pytest.approx(base), pytest.approx(0.7 * base)]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    figures.render_all(out)
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", [n for n, spec in figures.load_all().items() if spec.kind == "matplotlib"]
)
def test_every_figure_has_readable_text_in_the_column(rendered: Path, name: str):
    shown, sizes = text_sizes_px((rendered / f"{name}.svg").read_text(encoding="utf-8"))
    assert sizes, f"{name} has no text"
    assert min(sizes) >= SMALLEST_PX - 0.05, (
        f"{name}: smallest text is {min(sizes):.1f} px in a {shown:.0f} px wide figure; "
        f"draw it narrower or with larger text (at least {SMALLEST_PX} px as shown)"
    )


# each figure of the page where it is shown: its source and displayed width; and the
# hand-drawn diagram's text, by its computed size and the diagram's scale
SHOWN = """() => ({
  images: Array.from(document.querySelectorAll('.md-content img[src$=".svg"]'), img => ({
    url: img.currentSrc || img.src, width: img.getBoundingClientRect().width,
  })),
  diagrams: Array.from(document.querySelectorAll('.md-content svg.bert-arch'), svg => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return Math.min(...Array.from(svg.querySelectorAll('text'),
                                  t => parseFloat(getComputedStyle(t).fontSize) * scale));
  }),
})"""


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.parametrize("width", WIDTHS)
def test_every_figure_on_every_page_shows_its_text_at_10px(built_site, site_url, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    smallest = {}  # (page, figure) -> its smallest text in px, as shown
    for path in site_pages(built_site):
        page.goto(f"{site_url}{path}", wait_until="load")
        shown = page.evaluate(SHOWN)
        for image in shown["images"]:
            file = built_site / urlparse(image["url"]).path.lstrip("/")
            if not file.is_file():  # a missing figure fails the strict build itself
                continue
            try:
                native, sizes = glyph_sizes(file.read_text(encoding="utf-8"))
            except ValueError:  # not one of matplotlib's SVGs (an icon, a logo)
                continue
            smallest[path, file.name] = min(sizes) * image["width"] / native
        for i, size in enumerate(shown["diagrams"]):
            smallest[path, f"diagram {i}"] = size
    context.close()
    assert len(smallest) >= 20, smallest
    print(f"\nat {width} px: smallest figure text {min(smallest.values()):.1f} px")
    small = {f"{p} {name}": round(px, 1) for (p, name), px in smallest.items() if px < 9.95}
    assert not small, f"figure text under {SMALLEST_PX} px at {width} px: {small}"


def test_a_figure_is_kept_as_wide_as_its_smallest_text_needs():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="1032pt" height="10pt"><g transform="scale(0.12 -0.12)"><use xlink:href="#a"/>'
        '<g transform="scale(0.7)"><use xlink:href="#b"/></g></g></svg>'
    )
    # the subscript: 0.7 x 12 pt = 11.2 px at the SVG's own 1376 px; 10 px at 1229 px
    assert readable_width(svg) == 1229
