"""Pictures of the chapter "Language models and BERT" (and of the GPT chapter).

``plot_attention_masks`` draws the one difference inside attention between BERT and
GPT: which keys each query may see. BERT's mask is all True (every token sees every
token); GPT's is ``bertguide.gpt.causal_mask``, a lower triangle (a token sees itself
and the tokens before it). The site's ``attention-masks`` figure draws both for one
sentence.
"""

from __future__ import annotations

import torch

from bertguide.figures import figure
from bertguide.figures.style import COLUMN_INCHES, INK, SMALL_PT, new_figure, style_ticks
from bertguide.gpt import causal_mask
from bertguide.tokenizer import WordPieceTokenizer

MASK_SENTENCE = "The cat sat because it was tired."
SEES, HIDDEN = "#1e63c4", "#eceff1"


def plot_attention_masks(tokens: list[str]):
    """Two T x T grids side by side: BERT's full mask and GPT's causal mask.

    Row i is the query (token i), column j the key; a filled cell means i may attend j.
    """
    if not isinstance(tokens, (list, tuple)) or len(tokens) < 2:
        raise ValueError("tokens must be a list of at least 2 token strings")
    T = len(tokens)
    masks = (
        ("BERT: every token sees every token", torch.ones(T, T, dtype=torch.bool)),
        ("GPT: only itself and earlier tokens", causal_mask(T)),
    )
    fig, axes = new_figure(COLUMN_INCHES, 3.9, 1, 2)
    for ax, (title, mask) in zip(axes[0], masks, strict=True):
        colours = [[SEES if allowed else HIDDEN for allowed in row] for row in mask.tolist()]
        ax.imshow(
            [[_rgb(c) for c in row] for row in colours], interpolation="nearest", aspect="equal"
        )
        ax.set_xticks(range(T), tokens, rotation=90, fontsize=SMALL_PT)
        ax.set_yticks(range(T), tokens, fontsize=SMALL_PT)
        ax.set_xticks([x - 0.5 for x in range(1, T)], minor=True)
        ax.set_yticks([y - 0.5 for y in range(1, T)], minor=True)
        ax.grid(which="minor", color="white", linewidth=1.2)
        ax.tick_params(which="minor", length=0)
        ax.set_xlabel("key (attended to)")
        ax.set_title(title, color=INK, fontsize=9.5)
        style_ticks(ax)
    axes[0, 0].set_ylabel("query (attending)")
    fig.tight_layout(pad=0.4, w_pad=1.0)
    return fig


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))


@figure("attention-masks")
def _fig_attention_masks():
    tok = WordPieceTokenizer.from_pretrained()
    return plot_attention_masks(tok.convert_ids_to_tokens(tok.encode(MASK_SENTENCE)))
