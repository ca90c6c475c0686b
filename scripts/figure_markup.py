"""The site's figures as a reader's screen shows them (mkdocs.yml ``hooks:``).

A figure is drawn for the 688 px text column of a laptop; on a 390 px phone the
column is 358 px and a figure squeezed into it would show its labels at 5 to 8 px.
So every figure of a page (an ``<img>`` of ``figures/*.svg`` alone in its paragraph)
becomes::

    <div class="bg-figure" style="--bg-figure-min: 612px">
      <a href="../figures/NAME.svg"><img ...></a>
    </div>

``--bg-figure-min`` is the narrowest the figure can be shown with its smallest text
still 10 px (``readable_width``, from the glyphs of the SVG itself); the stylesheet
keeps the image at least that wide, so on a narrow screen the box scrolls sideways
(assets/javascripts/reader.js makes it focusable and fades the edge that has more),
and the link opens the figure alone, full size, for a closer look.

The measure reads matplotlib's SVGs: text kept as glyph outlines, each string a group
under ``scale(s -s)`` where ``s`` is the font size in points over 100 (mathtext nests
smaller scales for sub- and superscripts); an SVG point is 4/3 px.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from xml.etree import ElementTree

SMALLEST_PX = 10.0  # the smallest text a figure shows, at any width
PX_PER_PT = 4 / 3
XLINK = "{http://www.w3.org/1999/xlink}href"
_SIZE = re.compile(r'width="(?P<w>[\d.]+)pt" height="(?P<h>[\d.]+)pt"')
_SCALE = re.compile(r"scale\((?P<x>-?[\d.e-]+)(?:[ ,]+(?P<y>-?[\d.e-]+))?\)")
_MATRIX = re.compile(r"matrix\(([^)]*)\)")
# a figure alone in its paragraph, as Markdown's ![alt](figures/NAME.svg) becomes
FIGURE = re.compile(
    r'<p>\s*(?P<img><img\b[^>]*?\bsrc="(?P<src>(?:\.\./)*figures/(?P<name>[\w.-]+)\.svg)"'
    r"[^>]*>)\s*</p>"
)


INLINE = re.compile(r'<svg\b[^>]*\bdata-readable-width="(?P<width>\d+)".*?</svg>', re.S)


def _scale_of(transform: str) -> float:
    """The vertical scale factor a transform attribute applies (1 when it has none)."""
    factor = 1.0
    for match in _SCALE.finditer(transform):
        factor *= abs(float(match.group("y") or match.group("x")))
    for match in _MATRIX.finditer(transform):
        a, b, c, d = (float(v) for v in re.split(r"[ ,]+", match.group(1).strip())[:4])
        factor *= abs(a * d - b * c) ** 0.5
    return factor


def glyph_sizes(svg: str) -> tuple[float, list[float]]:
    """(the SVG's own width in px, every glyph's font size in px at that width).

    matplotlib draws a string as a group scaled by (font size in pt) / 100 holding one
    ``<use>`` per glyph; the product of the scales down to each glyph, times 100, is
    its size in pt. STIXSize glyphs (radical signs, big delimiters) are stretched to
    what they enclose: drawings, not letters, and left out.
    """
    size = _SIZE.search(svg)
    if size is None:
        raise ValueError("an SVG without a width in pt: not one of matplotlib's")
    root = ElementTree.fromstring(svg.encode("utf-8"))
    sizes = []

    def walk(element, scale):
        scale *= _scale_of(element.get("transform", ""))
        glyph = element.get(XLINK, "")
        if element.tag.endswith("}use") and glyph.startswith("#") and "STIXSize" not in glyph:
            sizes.append(scale * 100 * PX_PER_PT)
        for child in element:
            if not child.tag.endswith("}defs"):
                walk(child, scale)

    walk(root, 1.0)
    return float(size.group("w")) * PX_PER_PT, sizes


def readable_width(svg: str) -> int:
    """The narrowest width in px at which the figure's smallest text is still 10 px
    (its own width when even that is too narrow: it is never shown larger)."""
    native, sizes = glyph_sizes(svg)
    if not sizes:
        return 0
    return math.ceil(min(native, native * SMALLEST_PX / min(sizes)))


def wrap_figures(html: str, figures_dir: Path, where: str = "a page") -> str:
    """Each figure of ``html`` in its scroll box, with its readable width and its link."""

    def wrap(match: re.Match) -> str:
        path = figures_dir / f"{match['name']}.svg"
        if not path.is_file():  # the strict build reports the missing file itself
            return match[0]
        try:
            width = readable_width(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise RuntimeError(f"{where}: figures/{path.name}: {error}") from error
        if not width:
            return match[0]
        return (
            f'<div class="bg-figure" style="--bg-figure-min: {width}px">'
            f'<a class="bg-figure__open" href="{match["src"]}" '
            f'title="Open the figure alone, full size">{match["img"]}</a></div>'
        )

    html = FIGURE.sub(wrap, html)
    # a drawing inlined in the page says its readable width itself (its smallest text
    # over its width: the architecture diagram's 12 px of 780 stay 10 px at 650 px)
    return INLINE.sub(
        lambda m: f'<div class="bg-figure" style="--bg-figure-min: {m["width"]}px">{m[0]}</div>',
        html,
    )


def on_page_content(html, page, config, files):
    return wrap_figures(html, Path(config.docs_dir) / "figures", page.file.src_uri)
