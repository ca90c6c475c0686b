"""Figures of the chapter "Fine-tuning and transfer learning".

* ``finetuning-heads``: the four kinds of task head on one encoder, after Devlin et al.
  (2019, figure 4), drawn here: which output vectors each head reads and what it says.
* ``finetuning-learning-curves``: held-out sentiment accuracy against the number of
  labelled sentences, for two encoder shapes, each pre-trained and random
  (``bertguide.experiments.transfer``; the first build measures them, a few minutes, cached).

Left out: the training curves of the demonstration heads (they are a few steps each).
"""

from __future__ import annotations

from bertguide.figures import figure
from bertguide.figures.style import COLUMN_INCHES, INK, SMALL_PT, new_figure, style_ticks

# The encoder, its inputs, its outputs and the heads: one colour each.
ENCODER_COLOUR = "#e3f2fd"
TOKEN_COLOUR = "#f5f5f5"
OUTPUT_COLOUR = "#fff8e1"
HEAD_COLOUR = "#c8e6c9"
EDGE = "#78909c"

# (title, input tokens, index of the [SEP]s, what each output reads -> the head's answer)
HEADS = (
    (
        "Sentence pair: entailment?",
        ["[CLS]", "It", "rains", "[SEP]", "The", "sun", "[SEP]"],
        "classify",
        "contradiction",
    ),
    ("One sentence: positive?", ["[CLS]", "a", "fine", "film", "[SEP]"], "classify", "positive"),
    (
        "Question answering: a span",
        ["[CLS]", "Who", "?", "[SEP]", "Columbus", "[SEP]"],
        "span",
        "start = end = Columbus",
    ),
    (
        "Named entities: a tag per token",
        ["[CLS]", "Joe", "Biden", "went", "[SEP]"],
        "tag",
        ["B-PER", "I-PER", "O"],
    ),
)


def _box(ax, x, y, w, h, text, colour, size=SMALL_PT, weight="normal"):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0.0,rounding_size=0.06",
            facecolor=colour,
            edgecolor=EDGE,
            linewidth=0.8,
        )
    )
    ax.text(
        x + w / 2,
        y + h / 2,
        text,
        ha="center",
        va="center",
        color=INK,
        fontsize=size,
        fontweight=weight,
    )


def _arrow(ax, x0, y0, x1, y1):
    ax.annotate(
        "",
        (x1, y1),
        (x0, y0),
        arrowprops=dict(arrowstyle="-|>", color=EDGE, linewidth=0.8, shrinkA=0, shrinkB=0),
    )


def _draw_head(ax, title, tokens, kind, answer):
    n = len(tokens)
    width = 3.3  # data units across the panel
    step = width / n
    w = step * 0.9
    ax.set_xlim(-0.05, width + 0.05)
    ax.set_ylim(0, 3.4)
    ax.axis("off")
    ax.text(
        width / 2,
        3.3,
        title,
        ha="center",
        va="top",
        color=INK,
        fontsize=SMALL_PT + 1,
        fontweight="bold",
    )
    xs = [i * step + (step - w) / 2 for i in range(n)]
    for x, token in zip(xs, tokens, strict=True):
        _box(ax, x, 0.05, w, 0.42, token, TOKEN_COLOUR)
        _arrow(ax, x + w / 2, 0.47, x + w / 2, 0.7)
    _box(ax, xs[0], 0.7, xs[-1] + w - xs[0], 0.6, "BERT encoder", ENCODER_COLOUR, SMALL_PT + 1)
    outputs = ["C"] + [f"T{i}" for i in range(1, n)]
    for x, name in zip(xs, outputs, strict=True):
        _arrow(ax, x + w / 2, 1.3, x + w / 2, 1.5)
        _box(ax, x, 1.5, w, 0.4, name, OUTPUT_COLOUR)
    if kind == "classify":  # [CLS] (or the mean of all T): one label
        _arrow(ax, xs[0] + w / 2, 1.9, xs[0] + w / 2, 2.25)
        _box(ax, xs[0], 2.25, w * 2.6, 0.45, "linear + softmax", HEAD_COLOUR)
        ax.text(
            xs[0] + w * 2.8,
            2.47,
            f"→ {answer}",
            ha="left",
            va="center",
            color=INK,
            fontsize=SMALL_PT,
        )
    elif kind == "span":  # every context token: a start score and an end score
        sep = tokens.index("[SEP]")
        for x in xs[sep + 1 : -1]:
            _arrow(ax, x + w / 2, 1.9, x + w / 2, 2.25)
            _box(ax, x, 2.25, w, 0.45, "S  E", HEAD_COLOUR)
        ax.text(
            xs[0], 2.47, "start, end\nscores", ha="left", va="center", color=INK, fontsize=SMALL_PT
        )
        ax.text(width / 2, 2.95, answer, ha="center", va="center", color=INK, fontsize=SMALL_PT)
    else:  # one label per token
        for x, tag in zip(xs[1:-1], answer, strict=False):
            _arrow(ax, x + w / 2, 1.9, x + w / 2, 2.25)
            _box(ax, x, 2.25, w, 0.45, tag, HEAD_COLOUR)
        ax.text(
            xs[0], 2.47, "linear\nper token", ha="left", va="center", color=INK, fontsize=SMALL_PT
        )


def plot_task_heads():
    """The four heads of the BERT paper's figure 4, each on the same encoder: two
    classifiers read the first output vector C, the span head scores every context
    token as a start and an end, the tagger labels every token."""
    fig, axes = new_figure(COLUMN_INCHES, 5.0, 2, 2)
    for ax, (title, tokens, kind, answer) in zip(axes.flat, HEADS, strict=True):
        _draw_head(ax, title, tokens, kind, answer)
    fig.tight_layout(pad=0.3, h_pad=0.6, w_pad=1.0)
    return fig


CURVE_STYLES = {  # encoder -> (label, colour, line style)
    "minilm/pretrained": ("6 layers, 384 wide, pre-trained", "#1565c0", "-"),
    "minilm/random": ("6 layers, 384 wide, random", "#1565c0", "--"),
    "compact/pretrained": ("4 layers, 128 wide, pre-trained", "#e65100", "-"),
    "compact/random": ("4 layers, 128 wide, random", "#e65100", "--"),
}


def plot_learning_curves(report: dict):
    """Held-out accuracy against labelled training sentences (log scale), one line per
    encoder of ``report["accuracy"]``, and the majority guess (0.5)."""
    if not report.get("accuracy") or not report.get("sizes"):
        raise ValueError(
            "report must hold 'sizes' and 'accuracy' (see bertguide.experiments.transfer)"
        )
    fig, axes = new_figure(COLUMN_INCHES, 3.4)
    ax = axes[0, 0]
    sizes = report["sizes"]
    for name, scores in report["accuracy"].items():
        label, colour, style = CURVE_STYLES.get(name, (name, INK, "-"))
        ax.plot(
            sizes, scores, style, marker="o", color=colour, linewidth=1.5, markersize=4, label=label
        )
    ax.axhline(
        0.5,
        color="#78909c",
        linestyle=":",
        linewidth=1.0,
        label="majority guess (the labels are balanced)",
    )
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_ylim(0.3, 1.0)
    ax.set_xlabel("labelled training sentences")
    ax.set_ylabel(f"accuracy on {report.get('test_size', 40)} held-out sentences")
    ax.legend(fontsize=SMALL_PT, frameon=False, loc="upper left")
    style_ticks(ax)
    fig.tight_layout(pad=0.4)
    return fig


FIGURE_DEPENDS = (
    "bertguide.experiments.transfer",
    "bertguide.experiments.sentiment",
    "bertguide.experiments.restoring",
)


@figure("finetuning-heads")
def _fig_heads():
    return plot_task_heads()


@figure("finetuning-learning-curves", depends=FIGURE_DEPENDS, versioned=("safetensors",))
def _fig_learning_curves():
    from bertguide.experiments.transfer import transfer_report

    return plot_learning_curves(transfer_report())
