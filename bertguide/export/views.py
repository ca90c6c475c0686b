"""Interactive attention views: bertviz's head view and model view, working offline.

Chapter: Visualising attention (and the explore-attention notebook). Dimensions:
L = layers, N = heads, T = tokens.

``attention_view(text, text_pair=None, view="head"|"model")`` wraps bertviz's own
JavaScript (read from the installed ``bertviz`` package) in HTML that needs no network.
The libraries it calls ship inside this package, in ``bertguide/export/vendor`` (npm files,
unchanged; see their NOTICE files): d3 5's selection module and jQuery's slim build.
They are loaded into a private scope, so a page with its own d3, jQuery or require.js
does not clash. ``AttentionView.save(path)`` writes a standalone page; in a notebook the
view shows itself, and only the first view carries the libraries (and the first of each
kind its drawing code): later views on the page reuse them.

A view fits its column: it scales down to the column's width until its smallest text
would be under ``MIN_TEXT_PX``, and below that it scrolls sideways, with a visible
scroll bar. Shown in an iframe of the same site, it sets the iframe's height to its own.

bertviz's scripts are patched, each patch checked so that a bertviz whose source changed
shape fails loudly (``RuntimeError``) instead of drawing something else:

* its require.js CDN configuration is removed: d3 and jQuery come from our scope;
* its controls are found by class inside the view (ids must be unique on a page);
* 12 heads get 12 colours (bertviz's d3.schemeCategory10 repeats after 10), and the
  head swatches are numbered (a hidden head's swatch is its colour, lightened);
* the model view is drawn ``MODEL_VIEW_WIDTH`` wide (bertviz: 970 px), to fit a column;
* no ``console.log``; the parameters are pasted once (bertviz's comment repeats the marker).

The weights travel as one byte each, ``round(255 * w)``, base64-encoded: the browser
draws opacity in 1/255 steps, so the drawing cannot tell them from the floats. Only the
whole T x T maps are sent; the sentence-to-sentence blocks of a pair are cut from them
in the browser.

Left out: bertviz's neuron view (it needs query/key vectors) and encoder-decoder models.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import itertools
import json
import os
import re
import sys
from importlib import resources
from pathlib import Path

import torch

from bertguide.analysis.attention_maps import (
    Attention,
    check_attention,
    check_layer_head,
    get_attention,
)

VIEWS = ("head", "model")

# The files bertviz's views call, inside bertguide/export/vendor, loaded in this order.
LIBRARIES = {
    "d3": ("d3-selection/d3-selection.min.js",),
    "jquery": ("jquery/jquery.slim.min.js",),
}
# The only d3 function the patched scripts call: d3-selection provides it.
D3_CALLS = {"select"}

# One colour per head, distinct and at least 3:1 against white: d3's category10 with its
# orange, pink, olive and cyan darkened, then indigo and dark green for heads 10 and 11.
HEAD_COLORS = (
    "#1f77b4",
    "#d95f02",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#d6479f",
    "#7f7f7f",
    "#8a8a00",
    "#0e8fa0",
    "#393b79",
    "#006d2c",
)

MIN_TEXT_PX = 10  # a view scales down until its smallest text is this size, then scrolls
MODEL_VIEW_WIDTH = 680  # px: the model view's drawing fits a ~688 px text column
SWATCH_TEXT_PX = 12  # the numbers on the head view's colour swatches
# The smallest text each view draws: bertviz's model view writes 13 px, the head view
# 15 px tokens over our 12 px swatch numbers.
SMALLEST_TEXT_PX = {"head": SWATCH_TEXT_PX, "model": 13}


def relative_luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``: 0.0 (black) to 1.0 (white).

    >>> relative_luminance("#ffffff"), relative_luminance("#000000")
    (1.0, 0.0)
    """
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        raise ValueError(f"color must be '#rrggbb', got {color!r}")
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ink_on(color: str) -> str:
    """Black or white, whichever reads better on ``color`` (the higher WCAG contrast).

    >>> ink_on("#393b79"), ink_on("#8a8a00")  # the numbers on head 10's and head 8's swatch
    ('#ffffff', '#000000')
    """
    light = relative_luminance(color)
    return "#000000" if (light + 0.05) / 0.05 >= 1.05 / (light + 0.05) else "#ffffff"


def lighter(color: str, amount: float = 0.6) -> str:
    """``color`` moved ``amount`` of the way to white: a hidden head's swatch.

    >>> lighter("#000000", 0.5)
    '#808080'
    """
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        raise ValueError(f"color must be '#rrggbb', got {color!r}")
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount must be in [0, 1], got {amount!r}")
    channels = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in channels)


def read_library(name: str) -> str:
    """The JavaScript of ``"d3"`` or ``"jquery"`` as shipped in bertguide/export/vendor.

    >>> read_library("jquery")[:17]
    '/*! jQuery v3.7.1'
    """
    if name not in LIBRARIES:
        raise ValueError(f"name must be one of {sorted(LIBRARIES)}, got {name!r}")
    vendor = resources.files("bertguide.export").joinpath("vendor")
    return "\n".join(vendor.joinpath(path).read_text(encoding="utf-8") for path in LIBRARIES[name])


# --- bertviz's scripts, patched ------------------------------------------------------


def _patch(source: str, view: str, old: str, new: str, count: int = 1) -> str:
    """Replace ``old`` (its words in order, any whitespace between) by ``new``, exactly
    ``count`` times; anything else means bertviz changed."""
    pattern = r"\s+".join(re.escape(word) for word in old.split())
    found = len(re.findall(pattern, source))
    if found != count:
        raise RuntimeError(
            f"bertviz's {view}_view.js has changed shape ({found} x {old[:40]!r}, expected "
            f"{count}): update bertguide/export/views.py"
        )
    return re.sub(pattern, lambda _: new, source)


_COMMON_PATCHES = (
    # require.js with CDN paths -> the libraries of our scope
    ("require.config", r"require\.config\(\{.*?\}\);", ""),
    ("requirejs", r"requirejs\(\['jquery', 'd3'\], function\s*\(\$, d3\)", "load(function ($, d3)"),
    # the marker is followed by a comment that repeats it: paste the data once, by name
    ("params", r"const params = PYTHON_PARAMS;[^\n]*", "const params = bertguideParams;"),
)

_HEAD_PATCHES = (
    (
        """console.log("d3 version", d3.version) let headColors; try {
        headColors = d3.scaleOrdinal(d3.schemeCategory10); } catch (err) {
        console.log('Older d3 version') headColors = d3.scale.category10(); }""",
        "const headColors = i => HEAD_COLORS[i % HEAD_COLORS.length];",
    ),
    (
        """.attr("width", CHECKBOX_SIZE) .attr("height", CHECKBOX_SIZE);""",
        """.attr("width", CHECKBOX_SIZE)
            .attr("height", CHECKBOX_SIZE);
        const swatchNumbers = checkboxContainer.selectAll("text")
            .data(config.headVis)
            .enter()
            .append("text")
            .text((d, i) => i)
            .attr("x", (d, i) => (i + 0.5) * CHECKBOX_SIZE)
            .attr("y", top + CHECKBOX_SIZE / 2)
            .attr("dy", "0.35em")
            .attr("text-anchor", "middle")
            .attr("font-size", SWATCH_TEXT_PX + "px")
            .attr("font-weight", "bold")
            .style("pointer-events", "none")
            .style("user-select", "none");""",
    ),
    (
        """.attr("fill", (d, i) => d ? headColors(i): lighten(headColors(i)));""",
        """.attr("fill", (d, i) => d ? headColors(i) : HEAD_LIGHT[i % HEAD_LIGHT.length]);
            swatchNumbers.data(config.headVis)
                .attr("fill", (d, i) => d ? HEAD_INK[i % HEAD_INK.length] : "#333333");""",
    ),
    (
        """function lighten(color) { const c = d3.hsl(color); const increment = (1 - c.l) * 0.6;
        c.l += increment; c.s -= increment; return c; }""",
        "",
    ),
    ("$(`#${config.rootDivId} #layer`)", "$(`#${config.rootDivId} .bv-layer`)"),
)

_MODEL_PATCHES = (
    ("const DIV_WIDTH = 970;", "const DIV_WIDTH = params['div_width'];"),
    ("const LAYER_COLORS = d3.schemeCategory10;", "const LAYER_COLORS = HEAD_COLORS;"),
    (
        "return LAYER_COLORS[config.layers[layer] % 10];",
        "return LAYER_COLORS[config.layers[layer] % LAYER_COLORS.length];",
    ),
    ('console.log("x", x, y)', ""),
)

_SHARED_PATCHES = (
    ("$(`#${config.rootDivId} #filter`)", "$(`#${config.rootDivId} .bv-filter`)", 1),
    ("`#${config.rootDivId} #vis`", "`#${config.rootDivId} .bv-vis`", 2),
)


@functools.lru_cache(maxsize=2)
def bertviz_script(view: str) -> str:
    """bertviz's ``{view}_view.js``, patched (see the module docstring) and compacted, as a
    statement that expects ``load``, ``bertguideParams``, ``HEAD_COLORS``, ``HEAD_INK``,
    ``HEAD_LIGHT`` and ``SWATCH_TEXT_PX`` in scope.

    >>> "console.log" in bertviz_script("model")
    False
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    source = resources.files("bertviz").joinpath(f"{view}_view.js").read_text(encoding="utf-8")
    for what, pattern, new in _COMMON_PATCHES:
        source, n = re.subn(pattern, lambda _, new=new: new, source, count=1, flags=re.S)
        if n != 1:
            raise RuntimeError(
                f"bertviz's {view}_view.js has no {what}: update bertguide/export/views.py"
            )
    for old, new in _HEAD_PATCHES if view == "head" else _MODEL_PATCHES:
        source = _patch(source, view, old, new)
    for old, new, count in _SHARED_PATCHES:
        source = _patch(source, view, old, new, count)
    code = source.split("*/", 1)[-1]  # after bertviz's header comment (credits and URLs)
    d3_calls = set(re.findall(r"\bd3\.(\w+)", code))
    for problem, found in (
        ("calls d3 functions we do not ship", d3_calls - D3_CALLS),
        ("still names a remote URL", "https://" in code),
        ("still logs to the console", "console." in code),
        ("still has bertviz's data marker", "PYTHON_PARAMS" in code),
    ):
        if found:
            raise RuntimeError(f"bertviz's {view}_view.js {problem} ({found}): update views.py")
    return _compact(source, view)


def _compact(source: str, view: str) -> str:
    """``source`` without indentation, blank lines and whole-line // comments (a third of
    its bytes); bertviz's header comment stays. Safe while no string spans lines."""
    header, code = source.split("*/", 1)
    lines = [line.strip() for line in code.splitlines()]
    if any(line.count("`") % 2 for line in lines):
        raise RuntimeError(f"bertviz's {view}_view.js has a multi-line template: update views.py")
    kept = [line for line in lines if line and not line.startswith("//")]
    return header + "*/\n" + "\n".join(kept)


# --- what runs in the browser around bertviz's script ---------------------------------

# Everything a page's views share lives in one object, window.bertguideViews: the
# libraries, these helpers, and one drawing function per kind of view. unpack(): bertviz's
# parameters from ours. fit(): scale the drawing to the column, or scroll, and size a
# same-site iframe; the head view is measured (getBBox: long tokens reach left of x = 0),
# the model view lays itself out in its svg's width x height.
_RUNTIME = r"""
lib.unpack = function (data) {
  var bytes = atob(data.weights), L = data.shape[0], N = data.shape[1], T = data.shape[2];
  var range = function (a, b) {
    var out = [];
    for (var k = a; k < b; k++) out.push(k);
    return out;
  };
  var attention = data.blocks.map(function (block) {
    var rows = range(block.rows[0], block.rows[1]), cols = range(block.cols[0], block.cols[1]);
    return {name: block.name, left_text: data.tokens.slice(block.rows[0], block.rows[1]),
            right_text: data.tokens.slice(block.cols[0], block.cols[1]),
            attn: range(0, L).map(function (l) { return range(0, N).map(function (n) {
              return rows.map(function (i) { return cols.map(function (j) {
                return bytes.charCodeAt(((l * N + n) * T + i) * T + j) / 255;
              }); });
            }); })};
  });
  return Object.assign({attention: attention}, data.params);
};
lib.fit = function (root, how) {
  var svg = root.querySelector(".bv-vis svg"), scroller = root.querySelector(".bv-scroll");
  if (!svg || !scroller.clientWidth) return;
  if (!svg.dataset.bvBox) {
    var box = {x: 0, y: 0, width: +svg.getAttribute("width"), height: +svg.getAttribute("height")};
    if (how.measure) {
      var b = svg.getBBox(), x = Math.min(0, b.x) - 4, y = Math.min(0, b.y) - 4;
      box = {x: x, y: y, width: b.x + b.width + 4 - x, height: b.y + b.height + 4 - y};
    }
    if (!(box.width > 0 && box.height > 0)) return;
    svg.dataset.bvBox = [box.x, box.y, box.width, box.height].join(" ");
  }
  var v = svg.dataset.bvBox.split(" ").map(Number);
  var scale = Math.min(1, Math.max(how.min_scale, scroller.clientWidth / v[2]));
  svg.setAttribute("viewBox", svg.dataset.bvBox);
  svg.setAttribute("width", v[2] * scale);
  svg.setAttribute("height", v[3] * scale);
  svg.style.cssText = "display:block;max-width:none;width:" + v[2] * scale + "px;height:" +
    v[3] * scale + "px";
  root.querySelector(".bv-hint").hidden = v[2] * scale <= scroller.clientWidth + 1;
  var frame = null;
  try { frame = how.frame ? window.frameElement : null; } catch (e) { frame = null; }
  if (frame) {
    var height = Math.ceil(root.getBoundingClientRect().height);
    frame.style.height = height + frame.offsetHeight - frame.clientHeight + "px";
    document.documentElement.style.overflowY = "hidden";
  }
};
lib.watch = function (root, how) {
  var refit = function () { lib.fit(root, how); };
  var later = function () { window.requestAnimationFrame(refit); };
  new MutationObserver(refit).observe(root.querySelector(".bv-vis"), {childList: true});
  if (window.ResizeObserver) new ResizeObserver(later).observe(root.querySelector(".bv-scroll"));
  refit();
};
"""

# The view's own styles: a white card, a scroll bar that shows, a hint when it scrolls.
_STYLE = (
    "<style>.bertguide-attention-view{font-family:'Helvetica Neue',Helvetica,Arial,"
    "sans-serif;font-size:14px;background:#fff;color:#000;padding:4px;"
    "color-scheme:light}"
    ".bertguide-attention-view .bv-scroll{overflow-x:auto;scrollbar-width:thin;"
    "scrollbar-color:#888 #eee}"
    ".bertguide-attention-view .bv-scroll::-webkit-scrollbar{height:10px}"
    ".bertguide-attention-view .bv-scroll::-webkit-scrollbar-track{background:#eee}"
    ".bertguide-attention-view .bv-scroll::-webkit-scrollbar-thumb{background:#888;"
    "border-radius:5px}"
    ".bertguide-attention-view .bv-hint{font-size:13px;color:#444}"
    ".bertguide-attention-view select{font-size:14px;color:#000;background:#fff;"
    "border:1px solid #888;border-radius:3px}</style>"
)

_MISSING = (
    "This view's scripts did not load: show the notebook's first attention view again "
    "(restart the kernel and run the cells in order), or open view.save(path)."
)

# What this Python process (a notebook's kernel) has sent to its page already: the
# libraries and helpers, and the drawing code of each kind of view. Later views reuse them.
_sent: set[str] = set()


def _json_for_script(value) -> str:
    """JSON that is safe inside <script>: no '<', '>', '&' or line separators left raw."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _blocks(tokens: list[str], b: int | None) -> list[dict]:
    """bertviz's "Attention" menu: all tokens, then for a pair the four sentence blocks."""
    everything = [0, len(tokens)]
    blocks = [{"name": "All", "rows": everything, "cols": everything}]
    if b is not None:
        a_, b_ = [0, b], [b, len(tokens)]
        for name, rows, cols in (
            ("Sentence A -> Sentence A", a_, a_),
            ("Sentence B -> Sentence B", b_, b_),
            ("Sentence A -> Sentence B", a_, b_),
            ("Sentence B -> Sentence A", b_, a_),
        ):
            blocks.append({"name": name, "rows": rows, "cols": cols})
    return blocks


_counter = itertools.count()


class AttentionView:
    """An interactive head or model view; ``.html`` is a page that works with no network.

    In a notebook it shows itself (``_repr_html_``); ``.save(path)`` writes the page.

    >>> view = AttentionView(get_attention("The cat sat."), view="model")
    >>> view.data["shape"]  # (L, N, T, T): the weights, one byte each, in data["weights"]
    [6, 12, 6, 6]
    """

    def __init__(self, attention: Attention, view: str = "head", layer: int = 0, heads=None):
        check_attention(attention)
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
        check_layer_head(attention, layer, None)
        if heads is not None:
            heads = list(heads)
            if not heads or any(
                not isinstance(h, int) or not 0 <= h < attention.num_heads for h in heads
            ):
                raise ValueError(
                    f"heads must be None or a non-empty list of ints in "
                    f"[0, {attention.num_heads}), got {heads!r}"
                )
        self.attention, self.view, self.layer, self.heads = attention, view, layer, heads
        weights = torch.round(attention.weights.clamp(0, 1) * 255).to(torch.uint8)  # (L, N, T, T)
        params = {"default_filter": "0", "include_layers": list(range(attention.num_layers))}
        if view == "head":
            params.update(layer=layer, heads=heads)
        else:
            params.update(
                display_mode="light",
                include_heads=list(range(attention.num_heads)),
                total_heads=attention.num_heads,
                div_width=MODEL_VIEW_WIDTH,
            )
        self.data = {
            "tokens": list(attention.tokens),
            "shape": list(weights.shape),
            "weights": base64.b64encode(weights.contiguous().numpy().tobytes()).decode("ascii"),
            "blocks": _blocks(attention.tokens, attention.sentence_b_start),
            "params": params,
        }
        digest = hashlib.sha256(_json_for_script(self.data).encode()).hexdigest()[:12]
        self.root_id = f"bertguide-{view}-view-{digest}"  # the same bytes for the same view

    def _body(self, root_id: str) -> str:
        select = ""
        if len(self.data["blocks"]) > 1:
            options = "".join(
                f'<option value="{i}">{html.escape(block["name"])}</option>'
                for i, block in enumerate(self.data["blocks"])
            )
            select = f'<label>Attention: <select class="bv-filter">{options}</select></label>'
        layer = (
            '<label>Layer: <select class="bv-layer"></select></label>'
            if self.view == "head"
            else ""
        )
        data = {**self.data, "params": {**self.data["params"], "root_div_id": root_id}}
        return (
            f'<div id="{root_id}" class="bertguide-attention-view">'
            f'<div style="user-select:none">{layer} {select}</div>'
            # focusable, so that a keyboard can scroll it when it is wider than its column
            '<div class="bv-scroll" tabindex="0" role="region" aria-label="Attention view">'
            '<div class="bv-vis"></div></div>'
            '<div class="bv-hint" hidden>Scroll sideways to see the whole view.</div>'
            f'<script type="application/json" class="bv-data">{_json_for_script(data)}</script>'
            "</div>"
        )

    def _script(self, root_id: str, carry: set[str], frame: bool) -> str:
        """The script that draws the view into ``root_id``, carrying what ``carry`` names
        ("libraries", "runtime", "head", "model"); the rest must be on the page already."""
        parts = ["var lib = window.bertguideViews = window.bertguideViews || {}, m;\n"]
        if "libraries" in carry:
            # in a private scope: d3's modules fill `exports`, jQuery returns itself
            parts += [
                f"lib[{json.dumps(name)}] = (function (module, exports, define) {{\n"
                f"{read_library(name)}\nreturn module.exports;\n}})(m = {{exports: {{}}}}, "
                "m.exports);\n"
                for name in LIBRARIES
            ]
        if "runtime" in carry:
            parts += [
                _RUNTIME,
                f"lib.colors = {json.dumps(HEAD_COLORS)};\n",
                f"lib.ink = {json.dumps([ink_on(c) for c in HEAD_COLORS])};\n",
                f"lib.light = {json.dumps([lighter(c) for c in HEAD_COLORS])};\n",
            ]
        if self.view in carry:
            parts += [
                f"lib.{self.view} = function (root, how) {{\n"
                "var HEAD_COLORS = lib.colors, HEAD_INK = lib.ink, HEAD_LIGHT = lib.light;\n"
                f"var SWATCH_TEXT_PX = {SWATCH_TEXT_PX};\n"
                "var bertguideParams = lib.unpack("
                "JSON.parse(root.querySelector('.bv-data').textContent));\n"
                "function load(body) { body(lib.jquery, lib.d3); }\n",
                bertviz_script(self.view),
                "\nlib.watch(root, how);\n};\n",
            ]
        how = {
            "measure": self.view == "head",
            "frame": frame,
            "min_scale": MIN_TEXT_PX / SMALLEST_TEXT_PX[self.view],
        }
        parts += [
            # a page that loads d3 and jQuery itself (<script src>) lends them to the view
            "lib.jquery = lib.jquery || window.jQuery;\nlib.d3 = lib.d3 || window.d3;\n",
            f"var root = document.getElementById({json.dumps(root_id)});\n",
            f"if (!lib.{self.view} || !lib.jquery || !lib.d3) {{\n"
            f"  root.querySelector('.bv-vis').textContent = {json.dumps(_MISSING)};\n"
            f"}} else {{\n  lib.{self.view}(root, {json.dumps(how)});\n}}\n",
        ]
        return "<script>\n(function () {\n" + "".join(parts) + "})();\n</script>"

    def fragment(self, inline: bool = True, root_id: str | None = None) -> str:
        """A ``<div>`` and ``<script>`` to put in a page. ``inline``: it carries d3 and jQuery;
        otherwise it uses those an earlier view left on the page, or the page's own.

        Each call gets a fresh element id (unless ``root_id`` is given), so the same view
        shown twice on one page still draws twice.
        """
        carry = {"runtime", self.view} | ({"libraries"} if inline else set())
        return self._fragment(carry, root_id)

    def _fragment(self, carry: set[str], root_id: str | None = None) -> str:
        if root_id is None:
            root_id = f"{self.root_id}-{next(_counter)}"
        if not re.fullmatch(r"[A-Za-z][\w-]*", root_id):
            raise ValueError(f"root_id must be letters, digits, '-' or '_', got {root_id!r}")
        return _STYLE + self._body(root_id) + "\n" + self._script(root_id, carry, frame=False)

    def page(self, assets: str | None = None, title: str | None = None) -> str:
        """A whole HTML document: libraries inlined, or loaded from the ``assets`` URL prefix
        (a folder laid out like bertguide/export/vendor, e.g. the site's ``assets/vendor``)."""
        tokens = " ".join(self.attention.tokens)
        title = html.escape(title or f"{self.view} view: {tokens}")
        head = ""
        if assets is not None:
            base = html.escape(assets.rstrip("/"))
            head = "".join(
                f'<script src="{base}/{path}"></script>\n'
                for paths in LIBRARIES.values()
                for path in paths
            )
        carry = {"runtime", self.view} | ({"libraries"} if assets is None else set())
        return (
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<link rel="icon" href="data:,">\n'  # no request for a /favicon.ico
            f"<style>html,body{{margin:0;background:#fff}}</style>\n{_STYLE}\n{head}"
            f"</head>\n<body>\n{self._body(self.root_id)}\n"
            f"{self._script(self.root_id, carry, frame=True)}\n</body>\n</html>\n"
        )

    @property
    def html(self) -> str:
        """A standalone page with everything inlined: it opens with no network at all."""
        return self.page()

    def _repr_html_(self) -> str:
        # The notebook's first view carries the libraries, the first of each kind its
        # drawing code; later views reuse them. Colab shows each output in a frame of its
        # own, so there every view carries everything.
        carry = {"libraries", "runtime", self.view}
        if "google.colab" not in sys.modules:
            carry -= _sent
        _sent.update(carry)
        return self._fragment(carry)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the standalone page to ``path`` and return it."""
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path


def attention_view(
    text: str | Attention,
    text_pair: str | None = None,
    *,
    view: str = "head",
    layer: int = 0,
    heads=None,
    model=None,
    tokenizer=None,
) -> AttentionView:
    """bertviz's head view (``view="head"``) or model view (``"model"``), working offline.

    ``text`` (and ``text_pair``) are run through the model, or ``text`` is an
    :class:`Attention` already; ``layer`` and ``heads`` pick what the head view shows first.

    >>> import tempfile, pathlib
    >>> view = attention_view("The cat sat.", view="head", layer=3)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> view.save(folder / "cat.html").stat().st_size > 50_000  # every script inside
    True
    """
    if isinstance(text, Attention):
        if text_pair is not None:
            raise ValueError("text_pair must be None when text is already an Attention")
        attention = text
    else:
        attention = get_attention(text, text_pair, model=model, tokenizer=tokenizer)
    return AttentionView(attention, view=view, layer=layer, heads=heads)
