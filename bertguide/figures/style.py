"""The look every figure of the guide shares: ink, card, colour map, figure factory.

Figures are drawn on a white card with dark slate text, so they read the same in the
site's light and dark modes. matplotlib is imported when a figure is made, not when
this module is: ``import bertguide`` stays free of it.
"""

from __future__ import annotations

INK = "#263238"  # text: dark slate on the white card
CARD = "white"
CMAP = "Blues"  # attention weights: 0 white, 1 dark blue

# The site's text column is 688 px wide (at a 1280 px window); an SVG's inch is 96 px.
# A figure at most COLUMN_INCHES wide is shown at its own size, so text of SMALL_PT
# points (4/3 px each) is 10 px on the page: the smallest the guide draws.
COLUMN_INCHES = 7.15

# imshow(..., interpolation=PIXELS): an SVG then carries each matrix at its own size,
# one pixel a cell, and the browser scales it up without smoothing; resampled to the
# figure's resolution instead, a 16 x 16 heatmap costs a hundred times the bytes.
PIXELS = "none"
SMALL_PT = 7.6


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kwargs):
    """A (fig, axes) pair in the guide's style; ``axes`` is always 2-D (``squeeze=False``)."""
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


def style_ticks(ax) -> None:
    """Tick marks and labels in the guide's ink (rc settings do not reach all of them)."""
    ax.tick_params(colors=INK, labelcolor=INK)
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        label.set_color(INK)
