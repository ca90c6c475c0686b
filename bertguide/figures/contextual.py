"""Pictures of the chapter "Contextual vs static embeddings".

``plot_word_senses`` draws the 2-D PCA of a word's vectors in sentences of different
senses (from ``bertguide.analysis.contextual.word_sense_vectors``); the site's
``word-senses-pca`` figure draws the chapter's three ambiguous words.
"""

from __future__ import annotations

from bertguide.analysis.contextual import WORD_SENSES, SenseVectors, word_sense_vectors
from bertguide.figures import figure
from bertguide.figures.style import CARD, INK, new_figure, style_ticks


def plot_word_senses(groups: list[SenseVectors]):
    """One scatter panel per word: its PCA points, one colour and marker per sense."""
    if not isinstance(groups, (list, tuple)) or not groups:
        raise ValueError("groups must be a non-empty list of SenseVectors")
    for group in groups:
        if not isinstance(group, SenseVectors):
            raise TypeError(f"groups must hold SenseVectors, not {type(group).__name__}")
    fig, axes = new_figure(3.3 * len(groups), 3.3, 1, len(groups))
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
        style_ticks(ax)
    fig.tight_layout()
    return fig


@figure("word-senses-pca")
def _fig_word_senses():
    return plot_word_senses([word_sense_vectors(word) for word in WORD_SENSES])
