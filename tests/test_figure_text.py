"""Every site figure is readable in the page: its smallest text is at least 10 px as shown.

The text column of the site is 688 px wide at a 1280 px window (Material's content
width); an SVG wider than that is scaled down to fit, and its text with it. The SVGs
keep their text as glyph outlines, each string drawn under ``scale(s -s)`` where ``s``
is the font size in points divided by 100; SVG points are 4/3 px.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bertguide import figures

COLUMN_PX = 688
SMALLEST_PX = 10.0
PX_PER_PT = 4 / 3
_SIZE = re.compile(r'width="(?P<w>[\d.]+)pt" height="(?P<h>[\d.]+)pt"')
_TEXT_SCALE = re.compile(r"scale\((?P<s>[\d.]+) -(?P=s)\)")


def text_sizes_px(svg: str, column_px: float = COLUMN_PX) -> tuple[float, list[float]]:
    """(the figure's displayed width in px, every string's font size in px as displayed)."""
    size = _SIZE.search(svg)
    assert size, "an SVG without a width in pt"
    native_px = float(size.group("w")) * PX_PER_PT
    shown = min(native_px, column_px)
    factor = shown / native_px
    sizes = [float(m.group("s")) * 100 * PX_PER_PT * factor for m in _TEXT_SCALE.finditer(svg)]
    return shown, sizes


def test_text_sizes_are_read_from_the_glyph_scale():
    svg = '<svg width="1032pt" height="10pt"><g transform="translate(1 2) scale(0.12 -0.12)">'
    shown, sizes = text_sizes_px(svg)
    assert shown == COLUMN_PX and sizes == [pytest.approx(12 * 4 / 3 * 688 / 1376)]


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
