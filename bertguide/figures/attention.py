"""Pictures of the chapter "Self-attention and multi-head attention".

``plot_softmax_scaling`` shows why the scores are divided by sqrt(d_k) before the
softmax; the site's ``softmax-scaling`` figure draws it for random vectors.
"""

from __future__ import annotations

import torch

from bertguide.figures import figure
from bertguide.figures.style import CARD, INK, new_figure, style_ticks


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
