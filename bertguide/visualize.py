"""Drawing BERT's attention: static figures for the page, interactive views for the browser.

Dimensions: L = layers, N = heads, T = tokens.

``get_attention(text, text_pair=None)`` runs the model once and keeps what the
drawings need: the tokens and the weights, one (L, N, T, T) tensor whose row
``[l, n, i]`` is where token ``i`` looks in layer ``l``, head ``n`` (it sums to 1).

Static figures (matplotlib, white card so they read in light and dark mode):

* ``plot_attention``       one head's T x T heatmap, tokens labelled;
* ``plot_head_view``       one token's attention as lines from the left column of
                           tokens to the right one, line weight = attention;
* ``plot_attention_grid``  every layer x head as a small heatmap;
* ``plot_token_by_layer``  where one token looks in each layer (heads averaged).

Interactive views: ``attention_view(...)`` wraps bertviz's head view or model view
(its JavaScript is read from the installed ``bertviz`` package) in HTML that needs no
network. d3 5 and jQuery come from the site's vendored copies (``npm ci`` +
``scripts/vendor_assets.py``); they are loaded into a private scope, so several
views on one page, or a page that has its own d3/jQuery/require.js, do not clash.

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
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from bertguide.figures import figure

# --- running the model -------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _default_model_and_tokenizer():
    from bertguide.model import BertModel
    from bertguide.tokenizer import WordPieceTokenizer

    return BertModel.from_pretrained(), WordPieceTokenizer.from_pretrained()


@dataclass
class Attention:
    """One input's attention: the tokens and every layer's and head's weights."""

    tokens: list[str]
    weights: torch.Tensor  # (L, N, T, T); weights[l, n, i, j] = how much i looks at j
    sentence_b_start: int | None = None  # index of the first token of the second text

    @property
    def num_layers(self) -> int:
        return self.weights.shape[0]

    @property
    def num_heads(self) -> int:
        return self.weights.shape[1]

    def index(self, token: str | int, occurrence: int = 0) -> int:
        """Position of ``token`` (a str, its ``occurrence``-th appearance; or an int index)."""
        if isinstance(token, bool) or not isinstance(token, (str, int)):
            raise TypeError(f"token must be a str or an int index, not {type(token).__name__}")
        if isinstance(token, int):
            if not -len(self.tokens) <= token < len(self.tokens):
                raise ValueError(f"token index {token} is out of range for {len(self.tokens)}")
            return token % len(self.tokens)
        found = [i for i, t in enumerate(self.tokens) if t == token]
        if len(found) <= occurrence:
            raise ValueError(f"token {token!r} (occurrence {occurrence}) is not in {self.tokens}")
        return found[occurrence]


def get_attention(
    text: str, text_pair: str | None = None, *, model=None, tokenizer=None
) -> Attention:
    """Run ``model`` (default: the embedded one) on one text or pair; return its attention."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty str, got {text!r}")
    if text_pair is not None and (not isinstance(text_pair, str) or not text_pair.strip()):
        raise ValueError(f"text_pair must be None or a non-empty str, got {text_pair!r}")
    if model is None or tokenizer is None:
        default_model, default_tokenizer = _default_model_and_tokenizer()
        model = default_model if model is None else model
        tokenizer = default_tokenizer if tokenizer is None else tokenizer
    batch = tokenizer(text, text_pair, return_tensors="pt")
    with torch.no_grad():
        out = model(**batch, output_attentions=True)
    weights = torch.stack([a[0] for a in out.attentions]).float()  # (L, N, T, T)
    ids = batch["input_ids"][0].tolist()
    tokens = tokenizer.convert_ids_to_tokens(ids)
    start = None
    if text_pair is not None:
        start = batch["token_type_ids"][0].tolist().index(1)
    return Attention(tokens, weights, start)


def _check_attention(attention) -> Attention:
    if not isinstance(attention, Attention):
        raise TypeError(
            f"attention must be an Attention from bg.get_attention(...), "
            f"not {type(attention).__name__}"
        )
    return attention


def _check_layer_head(attention: Attention, layer: int, head: int | None) -> None:
    if not isinstance(layer, int) or not 0 <= layer < attention.num_layers:
        raise ValueError(f"layer must be an int in [0, {attention.num_layers}), got {layer!r}")
    if head is not None and (not isinstance(head, int) or not 0 <= head < attention.num_heads):
        raise ValueError(f"head must be None or an int in [0, {attention.num_heads}), got {head!r}")


# --- static figures ----------------------------------------------------------------

INK = "#263238"  # text: dark slate on the white card
CARD = "white"
CMAP = "Blues"


def _new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kwargs):
    import matplotlib.pyplot as plt

    with plt.rc_context(
        {
            "text.color": INK,
            "axes.labelcolor": INK,
            "axes.edgecolor": "#90a4ae",
            "xtick.color": INK,
            "ytick.color": INK,
            "font.size": 9,
        }
    ):
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(width, height), facecolor=CARD, squeeze=False, **kwargs
        )
    return fig, axes


def _style_ticks(ax) -> None:
    ax.tick_params(colors=INK, labelcolor=INK)
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        label.set_color(INK)


def plot_attention(attention: Attention, layer: int, head: int | None = None, ax=None):
    """Heatmap of one head (or, with ``head=None``, the mean of the layer's heads)."""
    _check_attention(attention)
    _check_layer_head(attention, layer, head)
    w = attention.weights[layer]  # (N, T, T)
    matrix = (w.mean(0) if head is None else w[head]).numpy()  # (T, T)
    T = len(attention.tokens)
    fig = None
    if ax is None:
        size = 1.6 + 0.28 * T
        fig, axes = _new_figure(size + 0.6, size)
        ax = axes[0, 0]
    image = ax.imshow(matrix, cmap=CMAP, vmin=0.0, vmax=1.0)
    ax.set_xticks(range(T), attention.tokens, rotation=90)
    ax.set_yticks(range(T), attention.tokens)
    ax.set_xlabel("attends to (key)")
    ax.set_ylabel("token (query)")
    which = "mean of heads" if head is None else f"head {head}"
    ax.set_title(f"layer {layer}, {which}", color=INK)
    _style_ticks(ax)
    if fig is not None:
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        bar.ax.tick_params(colors=INK, labelcolor=INK)
        fig.tight_layout()
    return ax.figure


def plot_head_view(
    attention: Attention,
    layer: int,
    token: str | int,
    head: int | None = None,
    occurrence: int = 0,
    ax=None,
):
    """Lines from ``token`` (left) to every token (right); width and opacity = attention."""
    _check_attention(attention)
    _check_layer_head(attention, layer, head)
    i = attention.index(token, occurrence)
    w = attention.weights[layer]  # (N, T, T)
    row = (w.mean(0) if head is None else w[head])[i].numpy()  # (T,)
    T = len(attention.tokens)
    fig = None
    if ax is None:
        fig, axes = _new_figure(3.6, 0.8 + 0.27 * T)
        ax = axes[0, 0]
    ys = [T - 1 - k for k in range(T)]
    peak = float(row.max())
    for k in range(T):
        strength = float(row[k]) / peak if peak > 0 else 0.0
        ax.plot(
            [0.0, 1.0],
            [ys[i], ys[k]],
            color="#1e63c4",
            linewidth=0.3 + 5.0 * strength,
            alpha=0.15 + 0.85 * strength,
            solid_capstyle="butt",
        )
    for k, name in enumerate(attention.tokens):
        bold = "bold" if k == i else "normal"
        ax.text(-0.04, ys[k], name, ha="right", va="center", color=INK, fontweight=bold)
        ax.text(1.04, ys[k], f"{name}  {row[k]:.2f}", ha="left", va="center", color=INK)
    ax.set_xlim(-0.9, 1.9)
    ax.set_ylim(-0.7, T - 0.3)
    ax.axis("off")
    which = "mean of heads" if head is None else f"head {head}"
    ax.set_title(f"{attention.tokens[i]!r}, layer {layer}, {which}", color=INK)
    if fig is not None:
        fig.tight_layout()
    return ax.figure


def plot_attention_grid(attention: Attention, token: str | int | None = None):
    """All layers (rows) x heads (columns); with ``token``, only that query row per head."""
    _check_attention(attention)
    L, N = attention.num_layers, attention.num_heads
    fig, axes = _new_figure(1.0 * N + 0.6, 1.0 * L + 0.6, L, N)
    rows = None if token is None else attention.index(token)
    for layer, head in itertools.product(range(L), range(N)):
        ax = axes[layer, head]
        matrix = attention.weights[layer, head]  # (T, T)
        if rows is not None:
            matrix = matrix[rows : rows + 1]  # (1, T)
        ax.imshow(matrix.numpy(), cmap=CMAP, vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks([])
        ax.set_yticks([])
        if layer == 0:
            ax.set_title(f"head {head}", fontsize=8, color=INK)
        if head == 0:
            ax.set_ylabel(f"layer {layer}", fontsize=8, color=INK)
    what = "all tokens" if rows is None else f"token {attention.tokens[rows]!r}"
    fig.suptitle(f"attention of every layer and head ({what})", color=INK)
    fig.tight_layout()
    return fig


def token_by_layer(attention: Attention, token: str | int, occurrence: int = 0) -> torch.Tensor:
    """(L, T): where ``token`` looks in each layer, averaged over the heads."""
    _check_attention(attention)
    i = attention.index(token, occurrence)
    return attention.weights[:, :, i, :].mean(1)  # (L, N, T) -> (L, T)


def plot_token_by_layer(
    attention: Attention, token: str | int, occurrence: int = 0, ax=None, title=None
):
    """Heatmap layers x tokens: where ``token`` looks in each layer (mean of heads)."""
    matrix = token_by_layer(attention, token, occurrence).numpy()  # (L, T)
    L, T = matrix.shape
    fig = None
    if ax is None:
        fig, axes = _new_figure(1.2 + 0.36 * T, 1.0 + 0.35 * L)
        ax = axes[0, 0]
    ax.imshow(matrix, cmap=CMAP, vmin=0.0, vmax=max(0.5, float(matrix.max())), aspect="auto")
    for layer, k in itertools.product(range(L), range(T)):
        value = matrix[layer, k]
        color = "white" if value > 0.3 else INK
        ax.text(k, layer, f"{value:.2f}"[1:], ha="center", va="center", fontsize=6, color=color)
    ax.set_xticks(range(T), attention.tokens, rotation=90)
    ax.set_yticks(range(L), [f"layer {layer}" for layer in range(L)])
    i = attention.index(token, occurrence)
    ax.set_title(title or f"where {attention.tokens[i]!r} looks (mean of heads)", color=INK)
    _style_ticks(ax)
    if fig is not None:
        fig.tight_layout()
    return ax.figure


def plot_pattern_scores(scores):
    """Per layer, the mean share of attention each pattern takes (heads averaged)."""
    from bertguide.patterns import MASS_PATTERNS

    fig, axes = _new_figure(6.0, 3.4)
    ax = axes[0, 0]
    for pattern in MASS_PATTERNS:
        values = scores.per_layer(pattern).numpy()
        ax.plot(range(len(values)), values, marker="o", label=pattern)
    ax.set_xlabel("layer")
    ax.set_ylabel("mean share of attention")
    ax.set_ylim(0, 1)
    ax.set_title(f"where attention goes, {scores.num_texts} Wikipedia sentences", color=INK)
    ax.legend(ncols=3, fontsize=8, frameon=False, labelcolor=INK)
    _style_ticks(ax)
    fig.tight_layout()
    return fig


def plot_pattern_gallery(scores, text: str, pair: tuple[str, str]):
    """One heatmap per pattern: the head that scores highest for it, on ``text``
    (or on ``pair`` for ``block``)."""
    from bertguide.patterns import PATTERNS

    single, double = get_attention(text), get_attention(*pair)
    fig, axes = _new_figure(13.0, 7.4, 2, 4)
    for ax, pattern in zip(axes.flat, PATTERNS, strict=True):
        layer, head = scores.best_head(pattern)
        attention = double if pattern == "block" else single
        plot_attention(attention, layer, head, ax=ax)
        ax.set_xticks(range(len(attention.tokens)), attention.tokens, rotation=90, fontsize=6)
        ax.set_yticks(range(len(attention.tokens)), attention.tokens, fontsize=6)
        ax.set_xlabel("")
        ax.set_ylabel("")
        score = float(scores[pattern][layer, head])
        ax.set_title(f"{pattern}: layer {layer}, head {head} ({score:.2f})", color=INK, fontsize=9)
    fig.tight_layout()
    return fig


# --- interactive views (bertviz's JavaScript, offline) -----------------------------

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
        raise RuntimeError(f"bertviz's {view}_view.js has changed shape; update visualize.py")
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
        _check_attention(attention)
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
        _check_layer_head(attention, layer, None)
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


# --- the chapter's figures ---------------------------------------------------------

CHICKEN_TIRED = "The chicken didn't cross the road because it was too tired."
CHICKEN_WIDE = "The chicken didn't cross the road because it was too wide."
PYTHON_SNAKE = "He got bit by Python."
PYTHON_LANGUAGE = "Python is my favorite programming language."
PAIR = ("The cat sat on the mat.", "It was very comfortable there.")
SITE_ASSETS = "../assets/vendor"  # from docs/figures/ to docs/assets/vendor/


@figure("attention-heatmap")
def _fig_heatmap():
    return plot_attention(get_attention(CHICKEN_TIRED), layer=2, head=None)


@figure("head-view-it")
def _fig_head_view():
    import matplotlib.pyplot as plt

    fig, axes = _new_figure(7.6, 4.6, 1, 2)
    for ax, text in zip(axes[0], (CHICKEN_TIRED, CHICKEN_WIDE), strict=True):
        plot_head_view(get_attention(text), layer=5, token="it", ax=ax)
    fig.tight_layout()
    plt.figure(fig.number)
    return fig


@figure("chicken-it-by-layer")
def _fig_chicken():
    fig, axes = _new_figure(11, 3.2, 1, 2)
    for ax, text, word in zip(
        axes[0], (CHICKEN_TIRED, CHICKEN_WIDE), ("tired", "wide"), strict=True
    ):
        plot_token_by_layer(get_attention(text), "it", ax=ax, title=f"'it' … too {word}")
    fig.tight_layout()
    return fig


@figure("attention-grid")
def _fig_grid():
    return plot_attention_grid(get_attention(CHICKEN_TIRED))


@figure("pair-heatmap")
def _fig_pair():
    return plot_attention(get_attention(*PAIR), layer=5, head=None)


@figure("chicken-head-view", kind="html")
def _html_head_view():
    view = attention_view(CHICKEN_TIRED, layer=3)
    return view.page(assets=SITE_ASSETS, title="head view: the chicken and the road")


@figure("pair-model-view", kind="html")
def _html_model_view():
    view = attention_view(*PAIR, view="model")
    return view.page(assets=SITE_ASSETS, title="model view: a sentence pair")


GALLERY_TEXT = "The author wrote the book, and the critics praised it in the newspaper."


@figure("pattern-scores")
def _fig_pattern_scores():
    from bertguide.patterns import default_scores

    return plot_pattern_scores(default_scores())


@figure("pattern-gallery")
def _fig_pattern_gallery():
    from bertguide.patterns import default_scores

    return plot_pattern_gallery(default_scores(), GALLERY_TEXT, PAIR)


# --- Chapter: Contextual embeddings ------------------------------------------------

# Ambiguous words, each in sentences of two senses. The contextual-embeddings chapter
# and its figure both read this table.
WORD_SENSES: dict[str, dict[str, tuple[str, ...]]] = {
    "bank": {
        "money": (
            "She paid the cheque into her bank account.",
            "The bank raised its interest rates again.",
            "He works as a cashier at the local bank.",
            "I need to withdraw cash from the bank.",
        ),
        "river": (
            "They had a picnic on the bank of the river.",
            "The boat drifted towards the muddy bank.",
            "Reeds grew thick along the river bank.",
            "We fished from the grassy bank of the stream.",
        ),
    },
    "python": {
        "snake": (
            "The python swallowed the rabbit whole.",
            "A python is a large snake that squeezes its prey.",
            "The zookeeper fed the python a mouse.",
            "He got bit by Python.",
        ),
        "language": (
            "Python is my favorite programming language.",
            "She wrote the script in Python.",
            "You can install the package with Python's pip.",
            "Our team rewrote the server in Python last year.",
        ),
    },
    "bat": {
        "animal": (
            "A bat flew out of the cave at dusk.",
            "The bat hangs upside down while it sleeps.",
            "Each bat eats thousands of insects a night.",
            "The vampire bat feeds on blood.",
        ),
        "sports": (
            "He swung the bat and hit the ball.",
            "The batter picked up a heavier bat.",
            "She gripped the cricket bat with both hands.",
            "A wooden bat can break on a fast pitch.",
        ),
    },
}


@dataclass
class SenseVectors:
    """The contextual vectors of one word in several sentences, and their 2-D PCA."""

    word: str
    senses: list[str]  # the sense of each sentence
    sentences: list[str]
    vectors: torch.Tensor  # (M, C): the word's vector in each of the M sentences
    points: torch.Tensor  # (M, 2): the vectors projected on their two main directions


def word_vector(sentence: str, word: str, layer: int = -1, *, model=None, tokenizer=None):
    """The contextual vector (C,) of ``word`` (one word piece) in ``sentence``.

    ``layer`` indexes ``hidden_states``: 0 is the embedding layer's output, -1 (the
    default) the last layer, i.e. ``last_hidden_state``.
    """
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError(f"sentence must be a non-empty str, got {sentence!r}")
    return word_vectors([sentence], word, layer, model=model, tokenizer=tokenizer)[0]


def word_vectors(sentences: list[str], word: str, layer: int = -1, *, model=None, tokenizer=None):
    """``word``'s contextual vector in each sentence, (M, C), from one padded batch."""
    if not isinstance(word, str) or not word.strip():
        raise ValueError(f"word must be a non-empty str, got {word!r}")
    if isinstance(layer, bool) or not isinstance(layer, int):
        raise TypeError(f"layer must be an int, not {type(layer).__name__}")
    if model is None or tokenizer is None:
        default_model, default_tokenizer = _default_model_and_tokenizer()
        model = default_model if model is None else model
        tokenizer = default_tokenizer if tokenizer is None else tokenizer
    pieces = tokenizer.tokenize(word)
    if len(pieces) != 1:
        raise ValueError(f"word must be a single word piece, but {word!r} splits into {pieces}")
    batch = tokenizer(list(sentences), padding=True, return_tensors="pt")  # (M, T)
    positions = []
    for ids in batch["input_ids"].tolist():
        tokens = tokenizer.convert_ids_to_tokens(ids)
        if pieces[0] not in tokens:
            shown = [t for t in tokens if t != tokenizer.pad_token]
            raise ValueError(f"word {word!r} is not among the sentence's tokens {shown}")
        positions.append(tokens.index(pieces[0]))
    with torch.no_grad():
        hidden_states = model(**batch, output_hidden_states=True).hidden_states
    if not -len(hidden_states) <= layer < len(hidden_states):
        raise ValueError(
            f"layer must be in [{-len(hidden_states)}, {len(hidden_states)}), got {layer}"
        )
    rows = torch.arange(len(positions))
    return hidden_states[layer][rows, torch.tensor(positions)]  # (M, C)


def pca_2d(vectors: torch.Tensor) -> torch.Tensor:
    """(M, C) -> (M, 2): centre the rows, project on the two top singular directions.

    Each direction's sign is fixed so that its largest coordinate is positive, which
    makes the picture the same from run to run.
    """
    if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2 or vectors.shape[0] < 2:
        raise ValueError("vectors must be a 2-D tensor with at least 2 rows (M, C)")
    centred = vectors.double() - vectors.double().mean(dim=0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    directions = vh[:2]  # (2, C)
    flip = torch.sign(directions.gather(1, directions.abs().argmax(dim=1, keepdim=True)))
    return (centred @ (directions * flip).T).float()  # (M, 2)


def word_sense_vectors(
    word: str,
    examples: dict[str, tuple[str, ...]] | None = None,
    layer: int = -1,
    *,
    model=None,
    tokenizer=None,
) -> SenseVectors:
    """``word``'s vector in every sentence of ``examples`` ({sense: sentences}), with PCA.

    ``examples`` defaults to ``WORD_SENSES[word]``.
    """
    if examples is None:
        if word not in WORD_SENSES:
            raise ValueError(
                f"word {word!r} has no default examples; pass examples= "
                f"or use one of {sorted(WORD_SENSES)}"
            )
        examples = WORD_SENSES[word]
    if not isinstance(examples, dict) or not examples:
        raise TypeError("examples must be a non-empty dict {sense: [sentences]}")
    senses, sentences = [], []
    for sense, texts in examples.items():
        for text in texts:
            senses.append(sense)
            sentences.append(text)
    vectors = word_vectors(sentences, word, layer, model=model, tokenizer=tokenizer)  # (M, C)
    return SenseVectors(word, senses, sentences, vectors, pca_2d(vectors))


def plot_word_senses(groups: list[SenseVectors]):
    """One scatter panel per word: its PCA points, one colour and marker per sense."""
    if not isinstance(groups, (list, tuple)) or not groups:
        raise ValueError("groups must be a non-empty list of SenseVectors")
    for group in groups:
        if not isinstance(group, SenseVectors):
            raise TypeError(f"groups must hold SenseVectors, not {type(group).__name__}")
    fig, axes = _new_figure(3.3 * len(groups), 3.3, 1, len(groups))
    styles = (("#1e88e5", "o"), ("#e65100", "s"), ("#43a047", "^"), ("#8e24aa", "D"))
    for ax, group in zip(axes[0], groups, strict=True):
        for (color, marker), sense in zip(styles, dict.fromkeys(group.senses), strict=False):
            rows = [i for i, s in enumerate(group.senses) if s == sense]
            xy = group.points[rows].numpy()
            ax.scatter(xy[:, 0], xy[:, 1], c=color, marker=marker, s=36, label=sense)
        ax.set_title(f"'{group.word}'", color=INK)
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_facecolor(CARD)
        ax.legend(loc="best", fontsize=8, frameon=False)
        _style_ticks(ax)
    fig.tight_layout()
    return fig


@figure("word-senses-pca")
def _fig_word_senses():
    return plot_word_senses([word_sense_vectors(word) for word in WORD_SENSES])


# --- Chapter: Embeddings ------------------------------------------------------------

EMBEDDINGS_PAIR = ("Paris is a beautiful city", "I love Paris")


@dataclass
class EmbeddingParts:
    """The embedding layer's input vectors, part by part, for one text (or pair).

    Every tensor is (T, C); ``output`` is what ``model.embeddings`` returns in eval mode.
    """

    tokens: list[str]
    token_type_ids: list[int]
    position_ids: list[int]
    token: torch.Tensor  # (T, C): word_embeddings rows, one per token id
    segment: torch.Tensor  # (T, C): token_type_embeddings rows, A = 0, B = 1
    position: torch.Tensor  # (T, C): position_embeddings rows 0 .. T-1
    total: torch.Tensor  # (T, C): token + segment + position
    output: torch.Tensor  # (T, C): LayerNorm(total)


def embedding_parts(
    text: str, text_pair: str | None = None, *, model=None, tokenizer=None
) -> EmbeddingParts:
    """Look up the three embeddings of ``text`` (and ``text_pair``) in the model's tables."""
    if model is None or tokenizer is None:
        default_model, default_tokenizer = _default_model_and_tokenizer()
        model = model if model is not None else default_model
        tokenizer = tokenizer if tokenizer is not None else default_tokenizer
    batch = tokenizer(text, text_pair)
    input_ids, token_type_ids = batch["input_ids"][0], batch["token_type_ids"][0]  # (T,)
    position_ids = torch.arange(input_ids.shape[0])  # (T,)
    embeddings = model.embeddings
    with torch.no_grad():
        token = embeddings.word_embeddings.weight[input_ids]  # (T, C)
        segment = embeddings.token_type_embeddings.weight[token_type_ids]  # (T, C)
        position = embeddings.position_embeddings.weight[position_ids]  # (T, C)
        total = token + segment + position
        output = embeddings.LayerNorm(total)  # (T, C)
    return EmbeddingParts(
        tokens=tokenizer.convert_ids_to_tokens(input_ids.tolist()),
        token_type_ids=token_type_ids.tolist(),
        position_ids=position_ids.tolist(),
        token=token,
        segment=segment,
        position=position,
        total=total,
        output=output,
    )


SEGMENT_COLOURS = ("#e3f2fd", "#fff3e0")  # sentence A, sentence B


def plot_embedding_parts(parts: EmbeddingParts, dims: int = 16):
    """Token, segment and position rows, their sum and LayerNorm, one column per token.

    Each box shows its vector's first ``dims`` numbers as a colour strip (blue below
    zero, red above), on one colour scale per row.
    """
    if not isinstance(parts, EmbeddingParts):
        raise TypeError(f"parts must be an EmbeddingParts, not {type(parts).__name__}")
    if isinstance(dims, bool) or not isinstance(dims, int) or dims < 1:
        raise ValueError(f"dims must be a positive int, got {dims!r}")
    T, C = parts.token.shape
    dims = min(dims, C)
    segment = ["AB"[s] if s < 2 else str(s) for s in parts.token_type_ids]
    rows = (  # (row title, the label above each box, the vectors (T, C))
        ("token", [""] * T, parts.token),  # the input row above names each one
        ("+ segment", [f"E_{s}" for s in segment], parts.segment),
        ("+ position", [f"E_{p}" for p in parts.position_ids], parts.position),
        ("= sum", [""] * T, parts.total),
        ("LayerNorm", [""] * T, parts.output),
    )
    fig, axes = _new_figure(1.2 + 0.64 * T, 4.0)
    ax = axes[0][0]
    ax.axis("off")
    label = {"ha": "right", "va": "center", "fontsize": 10, "color": INK}
    ax.text(-0.2, 0.45, "input", weight="bold", **label)
    for i, token in enumerate(parts.tokens):  # the input row, tinted by segment
        box = {"boxstyle": "round,pad=0.3", "ec": "#90a4ae"}
        box["fc"] = SEGMENT_COLOURS[parts.token_type_ids[i] % 2]
        ax.text(i + 0.45, 0.45, token, ha="center", va="center", fontsize=9.5, color=INK, bbox=box)
    for r, (title, labels, vectors) in enumerate(rows, start=1):
        y = -r  # rows go down the page
        strip = vectors[:, :dims].detach().float().cpu().numpy()  # (T, dims)
        limit = float(abs(strip).max()) or 1.0
        ax.text(-0.2, y + 0.3, title, **label)
        for i in range(T):
            extent = (i, i + 0.9, y + 0.1, y + 0.5)
            ax.imshow(strip[i : i + 1], extent=extent, cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.text(i + 0.45, y + 0.68, labels[i], ha="center", va="center", fontsize=8, color=INK)
    note = f"each strip: the first {dims} of {C} numbers, blue < 0 < red, one scale per row"
    ax.text(T, -len(rows) + 0.02, note, ha="right", va="top", fontsize=7.5, color=INK)
    ax.set_xlim(-1.5, T)
    ax.set_ylim(-len(rows) - 0.15, 0.85)
    ax.set_aspect("auto")
    fig.tight_layout()
    return fig


@figure("embedding-parts")
def _fig_embedding_parts():
    return plot_embedding_parts(embedding_parts(*EMBEDDINGS_PAIR))


# --- Chapter: The encoder stack -------------------------------------------------------

# Colours of the parts counted by ``parameter_breakdown`` (other parts get grey).
PART_COLOURS = {
    "word_embeddings": "#1e88e5",
    "position_embeddings": "#64b5f6",
    "token_type_embeddings": "#bbdefb",
    "embedding_projection": "#00897b",
    "layer_norms": "#fdd835",
    "attention": "#e65100",
    "feed_forward": "#8e24aa",
    "pooler": "#78909c",
}


def plot_parameter_breakdown(breakdowns: dict[str, dict[str, int]]):
    """One horizontal bar per model, split into its parts, in millions of parameters.

    ``breakdowns`` maps a model's name to ``{part: count}``, e.g. from
    ``bg.parameter_breakdown(config)``; bars are drawn top to bottom in its order.
    """
    if not isinstance(breakdowns, dict) or not breakdowns:
        raise ValueError("breakdowns must be a non-empty dict {model name: {part: count}}")
    for name, parts in breakdowns.items():
        if not isinstance(parts, dict) or not all(
            isinstance(n, int) and n >= 0 for n in parts.values()
        ):
            raise TypeError(f"breakdowns[{name!r}] must be a dict {{part: count >= 0}}")
    names = list(breakdowns)
    all_parts = list(dict.fromkeys(p for parts in breakdowns.values() for p in parts))
    fig, axes = _new_figure(7.6, 0.55 * len(names) + 1.6)
    ax = axes[0, 0]
    left = [0.0] * len(names)
    rows = range(len(names))[::-1]  # first model at the top
    for part in all_parts:
        widths = [breakdowns[name].get(part, 0) / 1e6 for name in names]
        if not any(widths):
            continue
        colour = PART_COLOURS.get(part, "#bdbdbd")
        ax.barh(rows, widths, left=left, color=colour, label=part.replace("_", " "), height=0.6)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for row, total in zip(rows, left, strict=True):
        ax.text(total + 3, row, f"{total:.1f} M", va="center", fontsize=8, color=INK)
    ax.set_yticks(list(rows), names)
    ax.set_xlabel("parameters (millions)")
    ax.set_xlim(0, max(left) * 1.15)
    ax.set_facecolor(CARD)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=4, fontsize=8, frameon=False)
    _style_ticks(ax)
    fig.tight_layout()
    return fig


def model_size_breakdowns() -> dict[str, dict[str, int]]:
    """Parameter parts of BERT-base, BERT-large, the embedded MiniLM, DistilBERT, ALBERT-base.

    DistilBERT is a 6-layer BERT-base without token-type embeddings and pooler; ALBERT-base
    has 128-wide embeddings projected to 768 and one layer shared by all 12.
    """
    from bertguide.config import BertConfig
    from bertguide.model import parameter_breakdown

    base = BertConfig.base()
    parts = parameter_breakdown(base)
    distil = parameter_breakdown(BertConfig.from_dict({**base.to_dict(), "num_hidden_layers": 6}))
    distil.update(token_type_embeddings=0, pooler=0)
    E, C, L = 128, base.hidden_size, base.num_hidden_layers
    albert = {
        "word_embeddings": 30_000 * E,
        "position_embeddings": base.max_position_embeddings * E,
        "token_type_embeddings": base.type_vocab_size * E,
        "embedding_projection": E * C + C,
        "layer_norms": 2 * E + 2 * 2 * C,  # one on the embeddings, two in the shared layer
        "attention": parts["attention"] // L,
        "feed_forward": parts["feed_forward"] // L,
        "pooler": parts["pooler"],
    }
    return {
        "BERT-large": parameter_breakdown(BertConfig.large()),
        "BERT-base": parts,
        "DistilBERT": distil,
        "MiniLM-L6-H384": parameter_breakdown(BertConfig.from_pretrained()),
        "ALBERT-base": albert,
    }


@figure("model-sizes")
def _fig_model_sizes():
    return plot_parameter_breakdown(model_size_breakdowns())


# --- Chapter: Self-attention ------------------------------------------------------------


def plot_softmax_scaling(scores: torch.Tensor, d_k: int):
    """Softmax of one row of raw scores q·k, without and with the 1/sqrt(d_k) scale.

    ``scores``: (T,) dot products of one query with T keys of width ``d_k``.
    """
    if not isinstance(scores, torch.Tensor) or scores.dim() != 1 or scores.numel() < 2:
        raise ValueError("scores must be a 1-D tensor of at least 2 dot products (T,)")
    if isinstance(d_k, bool) or not isinstance(d_k, int) or d_k <= 0:
        raise ValueError(f"d_k must be a positive int, got {d_k!r}")
    panels = (
        ("softmax(q·k)", scores.double().softmax(dim=-1)),
        (f"softmax(q·k / √{d_k})", (scores.double() / d_k**0.5).softmax(dim=-1)),
    )
    fig, axes = _new_figure(7.6, 2.6, 1, 2, sharey=True)
    keys = range(scores.numel())
    for ax, (title, weights) in zip(axes[0], panels, strict=True):
        ax.bar(keys, weights.numpy(), color="#1e88e5")
        ax.set_title(title, color=INK)
        ax.set_xlabel("key")
        ax.set_xticks(list(keys))
        ax.set_ylim(0, 1)
        ax.set_facecolor(CARD)
        _style_ticks(ax)
    axes[0, 0].set_ylabel("attention weight")
    fig.tight_layout()
    return fig


@figure("softmax-scaling")
def _fig_softmax_scaling():
    torch.manual_seed(0)
    q_rand, k_rand = torch.randn(13, 768), torch.randn(13, 768)
    return plot_softmax_scaling((q_rand @ k_rand.T)[0], d_k=768)
