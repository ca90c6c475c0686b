"""Pictures of the chapter "The encoder stack and model sizes".

``plot_parameter_breakdown`` draws parameter counts per part as stacked bars; the
site's ``model-sizes`` figure draws ``model_size_breakdowns()`` (five BERT shapes).
"""

from __future__ import annotations

from bertguide.analysis.encoder import model_size_breakdowns
from bertguide.figures import figure
from bertguide.figures.style import CARD, INK, new_figure, style_ticks

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
    fig, axes = new_figure(7.6, 0.55 * len(names) + 1.6)
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
    style_ticks(ax)
    fig.tight_layout()
    return fig


@figure("model-sizes")
def _fig_model_sizes():
    return plot_parameter_breakdown(model_size_breakdowns())
