"""Pictures of the chapter "Contextual vs static embeddings".

``plot_word_senses`` draws the 2-D PCA of a word's vectors in sentences of different
senses (from ``bertguide.analysis.contextual.word_sense_vectors``); the site's
``word-senses-pca`` figure draws the chapter's three ambiguous words.
"""

from __future__ import annotations

from textwrap import fill

from bertguide.analysis.contextual import WORD_SENSES, SenseVectors, word_sense_vectors
from bertguide.figures import figure
from bertguide.figures.style import CARD, COLUMN_INCHES, INK, SMALL_PT, new_figure, style_ticks


def _outliers(group: SenseVectors) -> list[int]:
    """Rows whose PC 1 side is not the side most sentences of their sense are on."""
    side = {}
    for sense in dict.fromkeys(group.senses):
        xs = [float(group.points[i, 0]) for i, s in enumerate(group.senses) if s == sense]
        side[sense] = 1 if sum(x > 0 for x in xs) * 2 > len(xs) else -1
    return [
        i
        for i, sense in enumerate(group.senses)
        if (1 if float(group.points[i, 0]) > 0 else -1) != side[sense]
    ]


def plot_word_senses(groups: list[SenseVectors]):
    """One scatter panel per word: its PCA points, one colour and marker per sense.

    A sentence on the other sense's side of PC 1 is labelled with its text, so the
    exceptions a reader looks for can be found.
    """
    if not isinstance(groups, (list, tuple)) or not groups:
        raise ValueError("groups must be a non-empty list of SenseVectors")
    for group in groups:
        if not isinstance(group, SenseVectors):
            raise TypeError(f"groups must hold SenseVectors, not {type(group).__name__}")
    fig, axes = new_figure(COLUMN_INCHES, 3.4, 1, len(groups))
    styles = (("#1e88e5", "o"), ("#e65100", "s"), ("#43a047", "^"), ("#8e24aa", "D"))
    for ax, group in zip(axes[0], groups, strict=True):
        for (color, marker), sense in zip(styles, dict.fromkeys(group.senses), strict=False):
            rows = [i for i, s in enumerate(group.senses) if s == sense]
            xy = group.points[rows].numpy()
            ax.scatter(xy[:, 0], xy[:, 1], c=color, marker=marker, s=36, label=sense)
        for i in _outliers(group):
            x, y = (float(v) for v in group.points[i])
            ax.annotate(
                fill(group.sentences[i], 16),
                (x, y),
                xytext=(0.5, 0.04),
                textcoords="axes fraction",
                ha="center",
                va="bottom",
                fontsize=SMALL_PT,
                color=INK,
                bbox={"boxstyle": "round,pad=0.2", "fc": CARD, "ec": "#90a4ae", "lw": 0.6},
                arrowprops={"arrowstyle": "-", "color": "#90a4ae", "lw": 0.8},
            )
        ax.axvline(0, color="#cfd8dc", linewidth=0.8, zorder=0)
        ax.margins(0.2)
        low, high = ax.get_ylim()
        ax.set_ylim(low - 0.45 * (high - low), high)  # room below for labels
        ax.set_title(f"'{group.word}'", color=INK)
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_facecolor(CARD)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, frameon=False)
        style_ticks(ax)
    fig.tight_layout(pad=0.4)
    return fig


@figure("word-senses-pca")
def _fig_word_senses():
    return plot_word_senses([word_sense_vectors(word) for word in WORD_SENSES])
