"""Pictures of the chapter "Tokenization": one sentence through the tokenizer's stages.

``plot_tokenization`` draws a ``TokenizationSteps`` (``tok.show_your_work(text)``): the
words of the basic tokenizer, each linked to its WordPiece pieces, the special tokens
around them, and every piece's id. The site's ``tokenization-steps`` figure draws the
chapter's sentence.
"""

from __future__ import annotations

from bertguide.figures import figure
from bertguide.figures.style import COLUMN_INCHES, INK, SMALL_PT, new_figure
from bertguide.tokenizer import TokenizationSteps, WordPieceTokenizer

STEPS_SENTENCE = "My dog Fido is cute. He likes playing."
WORD, PIECE, SPECIAL, CONTINUES = "#e3f2fd", "#fff3e0", "#eceff1", "#ffe0b2"


def plot_tokenization(steps: TokenizationSteps):
    """Words (top) -> pieces with [CLS]/[SEP] (middle) -> ids (bottom), one column a piece.

    Pieces that continue a word (``##``) are tinted darker, and lines join each word to
    the pieces it became.
    """
    if not isinstance(steps, TokenizationSteps):
        raise TypeError(f"steps must be a TokenizationSteps, not {type(steps).__name__}")
    T = len(steps.tokens)
    fig, axes = new_figure(COLUMN_INCHES, 2.5)
    ax = axes[0, 0]
    ax.axis("off")
    ax.set_xlim(-1.6, T - 0.4)
    ax.set_ylim(-0.55, 2.75)
    rows = {"words": 2.0, "pieces": 1.0, "ids": 0.0}
    for name, y in rows.items():
        ax.text(-1.55, y, name, ha="left", va="center", fontsize=9, color=INK, weight="bold")

    def box(x, y, text, colour):
        style = {"boxstyle": "round,pad=0.25", "fc": colour, "ec": "#90a4ae", "lw": 0.6}
        ax.text(x, y, text, ha="center", va="center", fontsize=SMALL_PT, color=INK, bbox=style)

    column = 1  # column 0 is [CLS]
    for word, pieces in zip(steps.words, steps.pieces, strict=True):
        first, last = column, column + len(pieces) - 1
        box((first + last) / 2, rows["words"], word, WORD)
        for k in range(first, last + 1):
            ax.plot(
                [(first + last) / 2, k],
                [rows["words"] - 0.2, rows["pieces"] + 0.2],
                color="#90a4ae",
                linewidth=0.8,
            )
        column = last + 1
    for k, (token, token_id) in enumerate(zip(steps.tokens, steps.ids, strict=True)):
        special = token in ("[CLS]", "[SEP]")
        colour = SPECIAL if special else CONTINUES if token.startswith("##") else PIECE
        box(k, rows["pieces"], token, colour)
        ax.text(
            k, rows["ids"], str(token_id), ha="center", va="center", fontsize=SMALL_PT, color=INK
        )
    ax.text(
        (T - 2) / 2, 2.6, f"text: {steps.text!r}", ha="center", va="center", fontsize=9, color=INK
    )
    fig.tight_layout(pad=0.3)
    return fig


@figure("tokenization-steps")
def _fig_tokenization_steps():
    return plot_tokenization(WordPieceTokenizer.from_pretrained().show_your_work(STEPS_SENTENCE))
