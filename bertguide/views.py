"""Interactive attention views: bertviz's head view and model view, working offline.

Chapter: Visualising attention (and the explore-attention notebook).

``attention_view(text, text_pair=None, view="head"|"model")`` wraps bertviz's own
JavaScript (read from the installed ``bertviz`` package, its CDN configuration
removed) in HTML that needs no network. d3 5 and jQuery come from the site's vendored
copies (``npm ci`` + ``scripts/vendor_assets.py``); they are loaded into a private
scope, so several views on one page, or a page that has its own d3/jQuery/require.js,
do not clash. ``AttentionView.save(path)`` writes a standalone page; in a notebook the
view shows itself.

Left out: bertviz's neuron view (it needs query/key vectors) and encoder-decoder models.
"""

from __future__ import annotations

import functools
import hashlib
import html
import itertools
import json
import os
import re
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
# The libraries bertviz's views call, as vendored by scripts/vendor_assets.py.
LIBRARIES = {"d3": "d3/d3.min.js", "jquery": "jquery/jquery.min.js"}
_NODE_MODULES = {"d3": "d3/dist/d3.min.js", "jquery": "jquery/dist/jquery.min.js"}
_REPO = Path(__file__).resolve().parent.parent


def find_library(name: str) -> Path:
    """The file of ``d3`` or ``jquery``: $BERTGUIDE_ASSETS, docs/assets/vendor, node_modules."""
    if name not in LIBRARIES:
        raise ValueError(f"name must be one of {sorted(LIBRARIES)}, got {name!r}")
    candidates = []
    if os.environ.get("BERTGUIDE_ASSETS"):
        candidates.append(Path(os.environ["BERTGUIDE_ASSETS"]) / LIBRARIES[name])
    candidates.append(_REPO / "docs" / "assets" / "vendor" / LIBRARIES[name])
    candidates.append(_REPO / "node_modules" / _NODE_MODULES[name])
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{name} for the interactive view was not found in {[str(p) for p in candidates]}: "
        f"run `npm ci && python scripts/vendor_assets.py` in the repository, or set "
        f"BERTGUIDE_ASSETS to a folder holding {LIBRARIES[name]}"
    )


# bertviz finds its controls as `#root #layer`; ids must be unique on a page, so the
# copy we serve finds them by class inside its own root instead.
_SELECTORS = {"#layer`": ".bv-layer`", "#filter`": ".bv-filter`", "#vis`": ".bv-vis`"}


@functools.lru_cache(maxsize=2)
def _bertviz_script(view: str) -> str:
    """bertviz's ``{view}_view.js`` with its CDN require.config removed, as a function body."""
    source = resources.files("bertviz").joinpath(f"{view}_view.js").read_text(encoding="utf-8")
    source, n_config = re.subn(r"require\.config\(\{.*?\}\);", "", source, count=1, flags=re.S)
    source, n_call = re.subn(
        r"requirejs\(\['jquery', 'd3'\], function\s*\(\$, d3\)", "load(function ($, d3)", source
    )
    if n_config != 1 or n_call != 1 or "PYTHON_PARAMS" not in source:
        raise RuntimeError(f"bertviz's {view}_view.js has changed shape; update views.py")
    for old, new in _SELECTORS.items():
        if old in source:
            source = source.replace(old, new)
    if "https://" in source.split("*/", 1)[-1]:
        raise RuntimeError(f"bertviz's {view}_view.js still names a remote URL")
    return source


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


def _rounded(weights: torch.Tensor) -> list:
    return [[[[round(float(x), 4) for x in row] for row in m] for m in layer] for layer in weights]


def _panels(attention: Attention) -> list[dict]:
    """bertviz's 'attention' list: all tokens, then the four sentence-to-sentence blocks."""
    w, tokens, b = attention.weights, attention.tokens, attention.sentence_b_start
    panels = [{"name": "All", "attn": _rounded(w), "left_text": tokens, "right_text": tokens}]
    if b is not None:
        a_, b_ = slice(0, b), slice(b, len(tokens))
        for name, rows, cols in (
            ("Sentence A -> Sentence A", a_, a_),
            ("Sentence B -> Sentence B", b_, b_),
            ("Sentence A -> Sentence B", a_, b_),
            ("Sentence B -> Sentence A", b_, a_),
        ):
            panels.append(
                {
                    "name": name,
                    "attn": _rounded(w[:, :, rows, cols]),
                    "left_text": tokens[rows],
                    "right_text": tokens[cols],
                }
            )
    return panels


_counter = itertools.count()


class AttentionView:
    """An interactive head or model view; ``.html`` is a page that works with no network.

    In a notebook it shows itself (``_repr_html_``); ``.save(path)`` writes the page.
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
        panels = _panels(attention)
        layers = list(range(attention.num_layers))
        params = {"attention": panels, "default_filter": "0", "include_layers": layers}
        if view == "head":
            params.update(layer=layer, heads=heads)
        else:
            params.update(
                display_mode="light",
                include_heads=list(range(attention.num_heads)),
                total_heads=attention.num_heads,
            )
        digest = hashlib.sha256(_json_for_script(params).encode()).hexdigest()[:12]
        self.root_id = f"bertguide-{view}-view-{digest}"  # the same bytes for the same view
        self._params = params
        self._filters = [p["name"] for p in panels]

    def _body(self, root_id: str) -> str:
        select = ""
        if len(self._filters) > 1:
            options = "".join(
                f'<option value="{i}">{html.escape(name)}</option>'
                for i, name in enumerate(self._filters)
            )
            select = f'Attention: <select class="bv-filter">{options}</select>'
        layer = 'Layer: <select class="bv-layer"></select>' if self.view == "head" else ""
        return (
            f'<div id="{root_id}" class="bertguide-attention-view" '
            f"style=\"font-family:'Helvetica Neue',Helvetica,Arial,sans-serif;"
            f'background:white;color:black;padding:4px">'
            f'<span style="user-select:none">{layer} {select}</span>'
            f'<div class="bv-vis"></div></div>'
        )

    def _script(self, root_id: str, inline: bool) -> str:
        """The view's code; with ``inline`` the libraries come along in a private scope."""
        params = {**self._params, "root_div_id": root_id}
        view_js = _bertviz_script(self.view).replace("PYTHON_PARAMS", _json_for_script(params))
        if inline:
            libs = "".join(
                f"libs[{json.dumps(name)}] = (function (module, exports, define) {{\n"
                f"{find_library(name).read_text(encoding='utf-8')}\n"
                f"return module.exports;\n}})(m = {{exports: {{}}}}, m.exports);\n"
                for name in LIBRARIES
            )
            # jQuery under a module system returns a factory-made object; d3 fills exports.
            loader = (
                "var libs = {}, m;\n" + libs + "function load(body) { body(libs.jquery, libs.d3); }"
            )
        else:
            loader = "function load(body) { body(window.jQuery, window.d3); }"
        return "<script>\n(function () {\n" + loader + "\n" + view_js + "\n})();\n</script>"

    def fragment(self, inline: bool = True, root_id: str | None = None) -> str:
        """A <div> and <script> to put in a page (inline: carries d3 and jQuery with it).

        Each call gets a fresh element id (unless ``root_id`` is given), so the same view
        shown twice on one page still draws twice.
        """
        if root_id is None:
            root_id = f"{self.root_id}-{next(_counter)}"
        if not re.fullmatch(r"[A-Za-z][\w-]*", root_id):
            raise ValueError(f"root_id must be letters, digits, '-' or '_', got {root_id!r}")
        return self._body(root_id) + "\n" + self._script(root_id, inline)

    def page(self, assets: str | None = None, title: str | None = None) -> str:
        """A whole HTML document: libraries inlined, or loaded from the ``assets`` URL prefix."""
        tokens = " ".join(self.attention.tokens)
        title = html.escape(title or f"{self.view} view: {tokens}")
        head = ""
        if assets is not None:
            base = assets.rstrip("/")
            head = "".join(
                f'<script src="{html.escape(base)}/{path}"></script>\n'
                for path in LIBRARIES.values()
            )
        return (
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<style>body{{margin:0;background:white}}</style>\n{head}</head>\n<body>\n"
            f"{self.fragment(inline=assets is None, root_id=self.root_id)}\n</body>\n</html>\n"
        )

    @property
    def html(self) -> str:
        """A standalone page with everything inlined: it opens with no network at all."""
        return self.page()

    def _repr_html_(self) -> str:
        return self.fragment(inline=True)

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
    """bertviz's head view (``view="head"``) or model view (``"model"``), working offline."""
    if isinstance(text, Attention):
        if text_pair is not None:
            raise ValueError("text_pair must be None when text is already an Attention")
        attention = text
    else:
        attention = get_attention(text, text_pair, model=model, tokenizer=tokenizer)
    return AttentionView(attention, view=view, layer=layer, heads=heads)
