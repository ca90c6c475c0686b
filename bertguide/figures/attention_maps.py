"""Pictures of the chapter "Visualising attention": static drawings and the site's views.

Static figures (matplotlib, white card so they read in light and dark mode), drawn
from an ``Attention`` (``bertguide.analysis.attention_maps.get_attention``):

* ``plot_attention``       one head's T x T heatmap, tokens labelled;
* ``plot_head_view``       one token's attention as lines from the left column of
                           tokens to the right one, line weight = attention;
* ``plot_attention_grid``  every layer x head as a small heatmap;
* ``plot_token_by_layer``  where one token looks in each layer (heads averaged);
* ``plot_pattern_scores``, ``plot_pattern_gallery``  the head patterns of
  ``bertguide.analysis.patterns``.

Then the chapter's site figures, including two interactive views from
``bertguide.export.views``.
"""

from __future__ import annotations

import itertools

import torch

from bertguide.analysis.attention_maps import (
    Attention,
    check_attention,
    check_layer_head,
    get_attention,
    token_by_layer,
)
from bertguide.analysis.patterns import MASS_PATTERNS, PATTERNS, default_scores
from bertguide.export.views import attention_view
from bertguide.figures import figure
from bertguide.figures.style import (
    CMAP,
    COLUMN_INCHES,
    INK,
    PIXELS,
    SMALL_PT,
    new_figure,
    style_ticks,
)

# A head must send at least this share of attention to a pattern's target to be drawn
# as an example of it.
GALLERY_THRESHOLD = 0.3
# plot_token_by_layer prints the share in the cells of at least this much attention
LABELLED = 0.1


def plot_attention(attention: Attention, layer: int, head: int | None = None, ax=None):
    """Heatmap of one head (or, with ``head=None``, the mean of the layer's heads).

    Draws ``attention.weights[layer, head]`` (T, T): row i is how much token i attends
    to each token j. Returns the matplotlib figure (imported only when drawing).

    >>> from bertguide.analysis.attention_maps import get_attention
    >>> fig = plot_attention(get_attention("The cat sat."), layer=2, head=0)
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['[CLS]', 'the', 'cat', 'sat', '.', '[SEP]']
    >>> fig.axes[0].get_title()
    'layer 2, head 0'
    """
    check_attention(attention)
    check_layer_head(attention, layer, head)
    w = attention.weights[layer]  # (N, T, T)
    matrix = (w.mean(0) if head is None else w[head]).numpy()  # (T, T)
    T = len(attention.tokens)
    fig = None
    if ax is None:
        size = 1.6 + 0.28 * T
        fig, axes = new_figure(size + 0.6, size)
        ax = axes[0, 0]
    image = ax.imshow(matrix, cmap=CMAP, vmin=0.0, vmax=1.0, interpolation=PIXELS)
    ax.set_xticks(range(T), attention.tokens, rotation=90)
    ax.set_yticks(range(T), attention.tokens)
    ax.set_xlabel("attends to (key)")
    ax.set_ylabel("token (query)")
    which = "mean of heads" if head is None else f"head {head}"
    ax.set_title(f"layer {layer}, {which}", color=INK)
    style_ticks(ax)
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
    check_attention(attention)
    check_layer_head(attention, layer, head)
    i = attention.index(token, occurrence)
    w = attention.weights[layer]  # (N, T, T)
    row = (w.mean(0) if head is None else w[head])[i].numpy()  # (T,)
    T = len(attention.tokens)
    fig = None
    if ax is None:
        fig, axes = new_figure(3.6, 0.8 + 0.27 * T)
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


def attention_mosaic(attention: Attention, token: str | int | None = None):
    """Every layer's and head's matrix tiled into one array, NaN between the tiles.

    Tile (l, n) holds ``weights[l, n]`` (T x T), or with ``token`` only that query's
    row (1 x T); tiles are one cell apart. Returns (mosaic, tile height, tile width).
    """
    check_attention(attention)
    L, N, T = attention.num_layers, attention.num_heads, len(attention.tokens)
    rows = None if token is None else attention.index(token)
    h = T if rows is None else 1
    mosaic = torch.full((L * (h + 1) - 1, N * (T + 1) - 1), float("nan"))
    for layer, head in itertools.product(range(L), range(N)):
        matrix = attention.weights[layer, head]  # (T, T)
        if rows is not None:
            matrix = matrix[rows : rows + 1]  # (1, T)
        top, left = layer * (h + 1), head * (T + 1)
        mosaic[top : top + h, left : left + T] = matrix
    return mosaic, h, T


def plot_attention_grid(attention: Attention, token: str | int | None = None):
    """All layers (rows) x heads (columns); with ``token``, only that query row per head.

    Drawn as one image (the tiles of ``attention_mosaic``, white between them) to the
    width of the page's text column, whatever the number of heads.
    """
    mosaic, h, T = attention_mosaic(attention, token)
    L, N = attention.num_layers, attention.num_heads
    cell = (COLUMN_INCHES - 0.8) / N
    fig, axes = new_figure(COLUMN_INCHES, cell * L * (0.35 if h == 1 else 1) + 1.0)
    ax = axes[0, 0]
    cmap = matplotlib_colormap(CMAP)
    cmap.set_bad("white")
    ax.imshow(mosaic.numpy(), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation=PIXELS)
    ax.set_xticks([n * (T + 1) + (T - 1) / 2 for n in range(N)], [str(n) for n in range(N)])
    ax.set_yticks(
        [layer * (h + 1) + (h - 1) / 2 for layer in range(L)],
        [f"layer {layer}" for layer in range(L)],
    )
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    style_ticks(ax)
    what = "all tokens" if token is None else f"token {attention.tokens[attention.index(token)]!r}"
    ax.set_title(f"every layer (rows) and head (columns 0-{N - 1}), {what}", color=INK)
    fig.tight_layout(pad=0.4)
    return fig


def matplotlib_colormap(name: str):
    """A copy of matplotlib's colour map ``name`` (safe to change, e.g. its NaN colour)."""
    import matplotlib

    return matplotlib.colormaps[name].copy()


def plot_token_by_layer(
    attention: Attention, token: str | int, occurrence: int = 0, ax=None, title=None
):
    """Heatmap layers x tokens: where ``token`` looks in each layer (mean of heads)."""
    matrix = token_by_layer(attention, token, occurrence).numpy()  # (L, T)
    L, T = matrix.shape
    fig = None
    if ax is None:
        fig, axes = new_figure(1.2 + 0.36 * T, 1.0 + 0.35 * L)
        ax = axes[0, 0]
    top = max(0.5, float(matrix.max()))
    ax.imshow(matrix, cmap=CMAP, vmin=0.0, vmax=top, aspect="auto", interpolation=PIXELS)
    for layer, k in itertools.product(range(L), range(T)):
        value = matrix[layer, k]
        if value < LABELLED:
            continue  # the small shares are the colour alone: the eye finds the big ones
        color = "white" if value > 0.3 else INK
        text = f"{value:.2f}"[1:] if value < 0.995 else "1"  # .20 for 0.20
        ax.text(k, layer, text, ha="center", va="center", fontsize=SMALL_PT, color=color)
    ax.set_xticks(range(T), attention.tokens, rotation=90)
    ax.set_yticks(range(L), [f"layer {layer}" for layer in range(L)])
    i = attention.index(token, occurrence)
    ax.set_title(title or f"where {attention.tokens[i]!r} looks (mean of heads)", color=INK)
    style_ticks(ax)
    if fig is not None:
        fig.tight_layout()
    return ax.figure


def plot_pattern_scores(scores):
    """Per layer, the mean share of attention each pattern takes (heads averaged)."""
    fig, axes = new_figure(6.0, 3.4)
    ax = axes[0, 0]
    for pattern in MASS_PATTERNS:
        values = scores.per_layer(pattern).numpy()
        ax.plot(range(len(values)), values, marker="o", label=pattern)
    ax.set_xlabel("layer")
    ax.set_ylabel("mean share of attention")
    ax.set_ylim(0, 1)
    ax.set_title(f"where attention goes, {scores.num_texts} Wikipedia sentences", color=INK)
    ax.legend(ncols=3, fontsize=8, frameon=False, labelcolor=INK)
    style_ticks(ax)
    fig.tight_layout()
    return fig


def gallery_patterns(scores, threshold: float = GALLERY_THRESHOLD) -> list[str]:
    """The patterns some head of the model really shows: its best score >= ``threshold``.

    A pattern no head reaches gets no picture: its best head would be another
    pattern's head, drawn under the wrong name.
    """
    return [p for p in PATTERNS if float(scores[p][scores.best_head(p)]) >= threshold]


def plot_pattern_gallery(scores, text: str, pair: tuple[str, str]):
    """One heatmap per pattern a head shows (``gallery_patterns``): the head that scores
    highest for it, on ``text`` (or on ``pair`` for ``block``), two to a row."""
    single, double = get_attention(text), get_attention(*pair)
    shown = gallery_patterns(scores)
    rows = (len(shown) + 1) // 2
    fig, axes = new_figure(COLUMN_INCHES, 3.55 * rows, rows, 2)
    for ax in axes.flat[len(shown) :]:
        ax.axis("off")
    for ax, pattern in zip(axes.flat, shown, strict=False):
        layer, head = scores.best_head(pattern)
        attention = double if pattern == "block" else single
        plot_attention(attention, layer, head, ax=ax)
        T = len(attention.tokens)
        ax.set_xticks(range(T), attention.tokens, rotation=90, fontsize=SMALL_PT)
        ax.set_yticks(range(T), attention.tokens, fontsize=SMALL_PT)
        ax.set_xlabel("")
        ax.set_ylabel("")
        score = float(scores[pattern][layer, head])
        ax.set_title(f"{pattern} ({score:.2f})\nlayer {layer}, head {head}", color=INK)
    fig.tight_layout(pad=0.4, w_pad=0.6)
    return fig


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

    fig, axes = new_figure(7.6, 4.6, 1, 2)
    for ax, text in zip(axes[0], (CHICKEN_TIRED, CHICKEN_WIDE), strict=True):
        plot_head_view(get_attention(text), layer=5, token="it", ax=ax)
    fig.tight_layout()
    plt.figure(fig.number)
    return fig


@figure("chicken-it-by-layer")
def _fig_chicken():
    fig, axes = new_figure(COLUMN_INCHES, 6.4, 2, 1)
    for ax, text, word in zip(
        axes[:, 0], (CHICKEN_TIRED, CHICKEN_WIDE), ("tired", "wide"), strict=True
    ):
        plot_token_by_layer(get_attention(text), "it", ax=ax, title=f"'it' … too {word}")
    fig.tight_layout(pad=0.4)
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
    return plot_pattern_scores(default_scores())


@figure("pattern-gallery")
def _fig_pattern_gallery():
    return plot_pattern_gallery(default_scores(), GALLERY_TEXT, PAIR)
