"""Every site figure is readable in the page: its smallest text is at least 10 px as shown.

The text column of the site is 688 px wide at a 1280 px window (Material's content
width); an SVG wider than that is scaled down to fit, and its text with it. The SVGs
keep their text as glyph outlines, each string a group under ``scale(s -s)`` where
``s`` is the font size in points divided by 100 (mathtext nests smaller scales for
sub- and superscripts); SVG points are 4/3 px.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from bertguide import figures

COLUMN_PX = 688
SMALLEST_PX = 10.0
PX_PER_PT = 4 / 3
_SIZE = re.compile(r'width="(?P<w>[\d.]+)pt" height="(?P<h>[\d.]+)pt"')
_SCALE = re.compile(r"scale\((?P<x>-?[\d.e-]+)(?:[ ,]+(?P<y>-?[\d.e-]+))?\)")
_MATRIX = re.compile(r"matrix\(([^)]*)\)")
XLINK = "{http://www.w3.org/1999/xlink}href"


def _scale_of(transform: str) -> float:
    """The vertical scale factor a transform attribute applies (1 when it has none)."""
    factor = 1.0
    for match in _SCALE.finditer(transform):
        factor *= abs(float(match.group("y") or match.group("x")))
    for match in _MATRIX.finditer(transform):
        a, b, c, d = (float(v) for v in re.split(r"[ ,]+", match.group(1).strip())[:4])
        factor *= abs(a * d - b * c) ** 0.5
    return factor


def text_sizes_px(svg: str, column_px: float = COLUMN_PX) -> tuple[float, list[float]]:
    """(the figure's displayed width in px, every glyph's font size in px as displayed).

    matplotlib draws a string as a group scaled by (font size in pt) / 100 holding one
    ``<use>`` per glyph; mathtext nests further scales (a subscript is 0.7 of its
    base). The product of the scales down to each glyph, times 100, is its size in pt.
    """
    size = _SIZE.search(svg)
    assert size, "an SVG without a width in pt"
    native_px = float(size.group("w")) * PX_PER_PT
    factor = min(native_px, column_px) / native_px
    root = ElementTree.fromstring(svg.encode("utf-8"))
    sizes = []

    def walk(element, scale):
        scale *= _scale_of(element.get("transform", ""))
        glyph = element.get(XLINK, "")
        # STIXSize* glyphs are radical signs and big delimiters, stretched to fit what
        # they enclose: drawings, not letters to read
        if element.tag.endswith("}use") and glyph.startswith("#") and "STIXSize" not in glyph:
            sizes.append(scale * 100 * PX_PER_PT * factor)
        for child in element:
            if not child.tag.endswith("}defs"):
                walk(child, scale)

    walk(root, 1.0)
    return min(native_px, column_px), sizes


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
