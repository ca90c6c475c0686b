"""Pictures of the chapter "Self-attention and multi-head attention".

``plot_softmax_scaling`` shows why the scores are divided by sqrt(d_k) before the
softmax; the site's ``softmax-scaling`` figure draws it for random vectors.
``plot_multi_head`` draws the flow of multi-head attention with the shapes of each
step (the ``multi-head`` figure: the embedded model's 12 heads of 32 columns); the
``padding-mask`` figure shows a padded sentence's attention, nothing on [PAD].
"""

from __future__ import annotations

import torch

from bertguide.analysis import model_and_tokenizer
from bertguide.analysis.attention_maps import Attention
from bertguide.figures import figure
from bertguide.figures.attention_maps import plot_attention
from bertguide.figures.style import CARD, COLUMN_INCHES, INK, SMALL_PT, new_figure, style_ticks


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
    fig, axes = new_figure(7.6, 2.6, 1, 2, sharey=True)
    keys = range(scores.numel())
    for ax, (title, weights) in zip(axes[0], panels, strict=True):
        ax.bar(keys, weights.numpy(), color="#1e88e5")
        ax.set_title(title, color=INK)
        ax.set_xlabel("key")
        ax.set_xticks(list(keys))
        ax.set_ylim(0, 1)
        ax.set_facecolor(CARD)
        style_ticks(ax)
    axes[0, 0].set_ylabel("attention weight")
    fig.tight_layout()
    return fig


@figure("softmax-scaling")
def _fig_softmax_scaling():
    torch.manual_seed(0)
    q_rand, k_rand = torch.randn(13, 768), torch.randn(13, 768)
    return plot_softmax_scaling((q_rand @ k_rand.T)[0], d_k=768)


MATH_PT = 11  # labels with sub- or superscripts, which mathtext draws at 0.7 size
HEAD_COLOURS = (
    "#1e88e5",
    "#e53935",
    "#43a047",
    "#fb8c00",
    "#8e24aa",
    "#00acc1",
    "#6d4c41",
    "#d81b60",
    "#7cb342",
    "#3949ab",
    "#fdd835",
    "#546e7a",
)


def plot_multi_head(T: int, C: int, N: int):
    """Multi-head attention as a flow: X -> Q, K, V cut into N slices -> N attentions
    -> concatenated -> W_O. Boxes carry the shapes for T tokens, width C, N heads."""
    from matplotlib.patches import FancyArrowPatch, Rectangle

    for name, value in (("T", T), ("C", C), ("N", N)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if C % N:
        raise ValueError(f"C={C} must be divisible by N={N}")
    H = C // N
    fig, axes = new_figure(COLUMN_INCHES, 3.3)
    ax = axes[0, 0]
    ax.axis("off")
    ax.set_xlim(0, 10.6)
    ax.set_ylim(-0.2, 4.9)
    text = {"ha": "center", "va": "center", "color": INK, "fontsize": SMALL_PT}
    math = {**text, "fontsize": MATH_PT}  # sub- and superscripts are 0.7 of it

    def matrix(x, y, w, h, label, shape, sliced):
        if sliced:
            for n in range(N):
                colour = HEAD_COLOURS[n % len(HEAD_COLOURS)]
                ax.add_patch(Rectangle((x + n * w / N, y), w / N, h, fc=colour, alpha=0.55))
        ax.add_patch(Rectangle((x, y), w, h, fill=not sliced, fc="#eceff1", ec="#546e7a"))
        ax.text(x + w / 2, y + h + 0.22, label, **math)
        ax.text(x + w / 2, y - 0.17, shape, **text)

    def arrow(x0, y0, x1, y1):
        style = {"arrowstyle": "-|>", "mutation_scale": 9, "color": "#546e7a", "lw": 0.9}
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), **style))

    matrix(0.2, 1.6, 1.3, 1.0, "$X$", f"{T} × {C}", False)
    for k, name in enumerate(("Q", "K", "V")):
        y = 3.45 - 1.55 * k
        matrix(2.4, y, 1.5, 0.7, f"${name} = XW_{name}$", f"{T} × {C}", True)
        arrow(1.5, 2.1, 2.35, y + 0.35)
        arrow(3.95, y + 0.35, 4.95, 2.0)
    # one attention per head, drawn as a stack of small squares
    for n in range(min(N, 4)):
        x, y = 5.0 + 0.14 * n, 1.3 + 0.14 * n
        colour = HEAD_COLOURS[n % len(HEAD_COLOURS)]
        ax.add_patch(Rectangle((x, y), 1.2, 1.2, fc="white", ec=colour, lw=1.4))
    ax.text(5.85, 3.55, rf"softmax$(Q_h K_h^\top / \sqrt{{{H}}})\,V_h$", **math)
    ax.text(5.85, 3.05, f"{N} heads, one per slice", **text)
    ax.text(5.81, 0.95, f"slice h: {H} of the\n{C} columns ({T} × {H})", **text)
    matrix(7.05, 1.6, 1.5, 1.0, "concat", f"{T} × {N}·{H}", True)
    arrow(6.75, 2.1, 7.0, 2.1)
    matrix(9.1, 1.6, 1.3, 1.0, r"$\times\, W_O$", f"{T} × {C}", False)
    arrow(8.6, 2.1, 9.05, 2.1)
    ax.text(5.3, -0.05, f"each colour is one head's {H} columns", **text)
    fig.tight_layout(pad=0.2)
    return fig


@figure("multi-head")
def _fig_multi_head():
    return plot_multi_head(13, 384, 12)


PADDED_PAIR = ("The cat sat.", "The cat sat on the mat because it was warm.")


@figure("padding-mask")
def _fig_padding_mask():
    """Layer 0's attention (mean of heads) of the short sentence in a padded batch."""
    model, tokenizer = model_and_tokenizer()
    batch = tokenizer(list(PADDED_PAIR), padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**batch, output_attentions=True)
    weights = torch.stack([a[0] for a in out.attentions])  # the short sentence: (L, N, T, T)
    tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
    fig = plot_attention(Attention(tokens, weights), layer=0)
    fig.axes[0].set_title("layer 0, mean of heads: no weight on [PAD]", color=INK)
    return fig
