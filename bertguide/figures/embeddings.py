"""Pictures of the chapter "Embeddings": the three parts of each token's input vector.

``plot_embedding_parts`` draws what ``bertguide.analysis.embeddings.embedding_parts``
returns; the site's ``embedding-parts`` figure draws the chapter's sentence pair.
"""

from __future__ import annotations

from bertguide.analysis.embeddings import EMBEDDINGS_PAIR, EmbeddingParts, embedding_parts
from bertguide.figures import figure
from bertguide.figures.style import COLUMN_INCHES, INK, PIXELS, SMALL_PT, new_figure

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
    fig, axes = new_figure(min(COLUMN_INCHES, 0.95 + 0.56 * T), 4.0)
    ax = axes[0][0]
    ax.axis("off")
    label = {"ha": "right", "va": "center", "fontsize": 9, "color": INK}
    centred = {"ha": "center", "va": "center", "color": INK}
    ax.text(-0.2, 0.45, "input", weight="bold", **label)
    for i, token in enumerate(parts.tokens):  # the input row, tinted by segment
        box = {"boxstyle": "round,pad=0.3", "ec": "#90a4ae"}
        box["fc"] = SEGMENT_COLOURS[parts.token_type_ids[i] % 2]
        ax.text(i + 0.45, 0.45, token, ha="center", va="center", fontsize=8, color=INK, bbox=box)
    for r, (title, labels, vectors) in enumerate(rows, start=1):
        y = -r  # rows go down the page
        strip = vectors[:, :dims].detach().float().cpu().numpy()  # (T, dims)
        limit = float(abs(strip).max()) or 1.0
        ax.text(-0.2, y + 0.3, title, **label)
        for i in range(T):
            extent = (i, i + 0.9, y + 0.1, y + 0.5)
            ax.imshow(
                strip[i : i + 1],
                extent=extent,
                cmap="RdBu_r",
                vmin=-limit,
                vmax=limit,
                interpolation=PIXELS,
            )
            ax.text(i + 0.45, y + 0.68, labels[i], fontsize=SMALL_PT, **centred)
    note = f"each strip: the first {dims} of {C} numbers, blue < 0 < red, one scale per row"
    ax.text(T, -len(rows) + 0.02, note, ha="right", va="top", fontsize=SMALL_PT, color=INK)
    ax.set_xlim(-1.5, T)
    ax.set_ylim(-len(rows) - 0.15, 0.85)
    ax.set_aspect("auto")
    fig.tight_layout()
    return fig


@figure("embedding-parts")
def _fig_embedding_parts():
    return plot_embedding_parts(embedding_parts(*EMBEDDINGS_PAIR))
