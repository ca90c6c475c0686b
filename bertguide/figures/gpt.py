"""Pictures of the chapter "GPT: the autoregressive branch".

The chapter trains nothing itself: its tiny GPT (``GPTConfig.tiny()``: bytes as
tokens, 2 layers, 64 wide) is the run ``bertguide.experiments.tiny_gpt``, whose
weights and report ship with the package; this module draws what that report holds
(the learning curve, the continuations of one prompt) and the chapter's diagrams.

The site's figures: ``gpt-loss-curve`` (the learning curve), ``gpt-generations`` (the
continuations), ``lm-parameter-growth`` (published parameter counts, log scale, from
``bertguide.figures.history``), ``lm-timeline`` (the four generations of language models)
and ``llm-extensions`` (a diagram: instruction tuning, RLHF, adapters and LoRA, and
retrieval around a pre-trained model, with what each trains and needs; ``EXTENSIONS``).
The figure build prints the shipped run's wall time on stderr.
"""

from __future__ import annotations

import sys

from bertguide.experiments.tiny_gpt import DEPENDS, tiny_gpt
from bertguide.figures import figure
from bertguide.figures.history import GENERATIONS, LANGUAGE_MODELS
from bertguide.figures.style import COLUMN_INCHES, INK, SMALL_PT, new_figure, style_ticks

# --- drawing -------------------------------------------------------------------------

GENERATION_COLOURS = {1: "#8d6e63", 2: "#2e7d32", 3: "#1e63c4", 4: "#c62828", None: "#90a4ae"}
# the legend's name for a row in no generation (the 2017 translation Transformer)
NO_GENERATION = "not a language model: the Transformer, trained to translate"


def _generation_order(generation: int | None) -> tuple[bool, int]:
    return generation is None, generation or 0


def _later_generation(generation: int | None) -> bool:
    """A pre-trained or large language model: one whose size a paper would give."""
    return generation is not None and generation > 2


TRAIN_COLOUR, HELDOUT_COLOUR = "#90caf9", "#c62828"


def plot_loss_curve(report: dict):
    """The tiny GPT's learning curve: training loss per step (and its 20-step mean), the
    held-out loss at each evaluation, and two baselines (uniform and unigram bytes)."""
    history = report["history"]
    steps, loss = history["steps"], history["loss"]
    if not steps:
        raise ValueError("report['history'] has no steps to draw")
    fig, axes = new_figure(COLUMN_INCHES, 3.3)
    ax = axes[0, 0]
    ax.plot(steps, loss, color=TRAIN_COLOUR, linewidth=0.8, label="training loss (one batch)")
    window = 20
    means = [
        sum(loss[max(0, i - window + 1) : i + 1]) / min(i + 1, window) for i in range(len(loss))
    ]
    ax.plot(steps, means, color="#1565c0", linewidth=1.6, label=f"training, mean of {window} steps")
    evals = [(0, report["initial_loss"])] + [
        (e["step"], e["heldout_loss"]) for e in history["evals"]
    ]
    ax.plot(
        *zip(*evals, strict=True),
        "o-",
        color=HELDOUT_COLOUR,
        markersize=3.5,
        linewidth=1.2,
        label="held-out loss",
    )
    for value, text in (
        (report["uniform_loss"], "every byte equally likely (ln 256)"),
        (report["unigram_loss"], "byte frequencies only (unigram)"),
    ):
        ax.axhline(value, color="#78909c", linestyle="--", linewidth=0.9)
        ax.text(
            steps[-1], value + 0.06, text, ha="right", va="bottom", color=INK, fontsize=SMALL_PT
        )
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("next-byte loss (nats)")
    ax.set_ylim(bottom=min(min(loss), evals[-1][1]) - 0.3, top=report["uniform_loss"] + 0.5)
    ax.legend(fontsize=SMALL_PT, frameon=False, loc="center right")
    style_ticks(ax)
    fig.tight_layout(pad=0.4)
    return fig


GENERATION_LABELS = {
    "greedy": "greedy (always the most likely byte)",
    "t=0.8, top-k 20": "sampled, temperature 0.8, top-k 20",
    "t=1.2, top-k 20": "sampled, temperature 1.2, top-k 20",
}


def _shown(text: str, width: int) -> list[str]:
    """Generated text as lines of at most ``width`` characters; a newline shows as ⏎."""
    text = text.replace("\n", "⏎")
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def plot_generations(prompt: str, generations: dict[str, str], width: int = 76):
    """The prompt's continuations, one panel each, as they came (not edited)."""
    if not generations:
        raise ValueError("generations must name at least one continuation")
    blocks = [
        (GENERATION_LABELS.get(k, k), _shown(prompt + v, width)) for k, v in generations.items()
    ]
    line_in = 0.19
    height = 0.25 + sum(0.3 + line_in * len(lines) for _, lines in blocks)
    fig, axes = new_figure(COLUMN_INCHES, height)
    ax = axes[0, 0]
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(height, 0)  # inches from the top
    y = 0.12
    for label, lines in blocks:
        ax.text(0.0, y, label, fontsize=9, fontweight="bold", color=INK, va="top")
        y += 0.27
        for i, line in enumerate(lines):
            ax.text(
                0.02,
                y,
                line,
                fontsize=8.2,
                family="DejaVu Sans Mono",
                color=INK,
                va="top",
                parse_math=False,
            )
            if i == 0:  # the prompt, underlined by a bar beneath its characters
                ax.text(
                    0.02,
                    y,
                    prompt,
                    fontsize=8.2,
                    family="DejaVu Sans Mono",
                    color="#1e63c4",
                    va="top",
                    parse_math=False,
                )
            y += line_in
        y += 0.03
    fig.subplots_adjust(left=0.01, right=0.99, top=1, bottom=0)
    return fig


def plot_parameter_growth(records=LANGUAGE_MODELS):
    """Published parameter counts by year, on a log scale, coloured by generation.

    Rows without a published count are named under the axis instead of being guessed.
    """
    counted = [r for r in records if r.parameters is not None]
    if not counted:
        raise ValueError("records must hold at least one row with a parameter count")
    fig, axes = new_figure(COLUMN_INCHES, 4.0)
    ax = axes[0, 0]
    ax.set_yscale("log")
    for generation in sorted({r.generation for r in counted}, key=_generation_order):
        rows = [r for r in counted if r.generation == generation]
        label = GENERATIONS.get(generation, NO_GENERATION)
        ax.scatter(
            [r.year for r in rows],
            [r.parameters for r in rows],
            s=28,
            zorder=3,
            color=GENERATION_COLOURS[generation],
            label=label,
        )
    left = {"GPT-1", "InstructGPT", "Chinchilla", "Gopher", "LLaMA", "T5-11B"}
    for r in counted:
        side = -1 if r.model in left else 1
        below = -7 if r.model == "ELMo" else -3  # just under GPT-1, same year
        ax.annotate(
            r.model,
            (r.year, r.parameters),
            xytext=(6 * side, below),
            textcoords="offset points",
            ha="left" if side > 0 else "right",
            fontsize=SMALL_PT,
            color=INK,
        )
    years = [r.year for r in counted]
    ax.set_xlim(min(years) - 1.5, max(years) + 1.5)
    ax.set_ylim(3e7, 2e12)
    ticks = [1e8, 1e9, 1e10, 1e11, 1e12]  # written out: a superscript would be too small
    ax.set_yticks(ticks, ["100 M", "1 B", "10 B", "100 B", "1 T"])
    ax.minorticks_off()
    ax.set_xlabel("year of the paper or announcement")
    ax.set_ylabel("parameters (published)")
    missing = [
        f"{r.model} ({r.year})"
        for r in records
        if r.parameters is None and _later_generation(r.generation)
    ]
    if missing:
        ax.text(
            0.99,
            0.02,
            "no published count: " + ", ".join(missing),
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=SMALL_PT,
            color=INK,
        )
    ax.legend(fontsize=SMALL_PT, frameon=False, loc="upper left")
    ax.grid(axis="y", color="#eceff1", linewidth=0.8)
    style_ticks(ax)
    fig.tight_layout(pad=0.4)
    return fig


def _count(parameters: int | None, generation: int | None) -> str:
    if parameters is None:
        return "size not published" if _later_generation(generation) else "-"
    for scale, unit in ((1e9, "B"), (1e6, "M")):
        if parameters >= scale:
            return f"{parameters / scale:.3g} {unit} parameters"
    return f"{parameters:,} parameters"


def plot_timeline(records=LANGUAGE_MODELS):
    """The table as a timeline, one row per model in time order, coloured by generation."""
    rows = sorted(records, key=lambda r: r.year)
    if not rows:
        raise ValueError("records must hold at least one row")
    step = 0.205
    height = 0.95 + step * len(rows)
    fig, axes = new_figure(COLUMN_INCHES, height)
    ax = axes[0, 0]
    ax.set_axis_off()
    ax.set_xlim(0, COLUMN_INCHES)
    ax.set_ylim(height, 0)
    top = 0.7
    ax.plot([0.62, 0.62], [top - 0.05, top + step * (len(rows) - 1) + 0.05], color="#b0bec5")
    for i, r in enumerate(rows):
        y = top + step * i
        colour = GENERATION_COLOURS[r.generation]
        ax.text(0.5, y, str(r.year), ha="right", va="center", fontsize=SMALL_PT, color=INK)
        ax.plot([0.62], [y], "o", color=colour, markersize=5)
        ax.text(0.76, y, r.model, va="center", fontsize=8.2, color=INK, fontweight="bold")
        ax.text(2.45, y, r.organisation, va="center", fontsize=SMALL_PT, color=INK)
        ax.text(
            4.35, y, _count(r.parameters, r.generation), va="center", fontsize=SMALL_PT, color=INK
        )
    legend = [(g, f"{g}. {name}") for g, name in GENERATIONS.items()]
    if any(r.generation is None for r in rows):  # drawn in grey, after the four
        legend.append((None, NO_GENERATION))
    for i, (generation, name) in enumerate(legend):  # three to a line
        x, y = 2.38 * (i % 3), 0.14 + 0.22 * (i // 3)
        ax.plot([x + 0.08], [y], "o", color=GENERATION_COLOURS[generation], markersize=5)
        ax.text(x + 0.18, y, name, va="center", fontsize=SMALL_PT, color=INK)
    fig.subplots_adjust(left=0.01, right=0.99, top=1, bottom=0)
    return fig


# --- how a pre-trained model is extended ----------------------------------------------

# (name, papers, what training changes, what it needs): the four ways the chapter's
# section "Extending a pre-trained model" describes, each line as it is drawn
EXTENSIONS = (
    (
        "Instruction tuning",
        "FLAN, T0",
        ["all the weights"],
        ["many tasks, each written", "as an instruction with", "its answer"],
    ),
    (
        "RLHF",
        "InstructGPT",
        ["all the weights, then a", "reward model, then the", "weights again by PPO"],
        ["answers people wrote,", "their rankings of answers"],
    ),
    (
        "Adapters, LoRA",
        "Houlsby et al., Hu et al.",
        ["a few small new matrices;", "the pre-trained weights", "stay frozen"],
        ["one task's labelled", "examples"],
    ),
    (
        "Retrieval (RAG)",
        "Lewis et al.",
        ["the query encoder and the", "generator; the index of", "documents stays fixed"],
        ["question-answer pairs,", "documents to search"],
    ),
)
EXTENSION_COLOURS = ("#1e63c4", "#c62828", "#2e7d32", "#8d6e63")
EXTENSION_FILLS = ("#e3f2fd", "#fdecea", "#e8f5e9", "#efebe9")
PRETRAINED = ("Pre-trained model", ["weights learned by predicting", "tokens of raw text"])


LINE_IN = 0.155  # one line of text in the boxes, in inches


def _extension_lines(extension) -> list[tuple[str, str, float]]:
    """A box's lines, top to bottom, as (text, weight, size)."""
    name, papers, trains, needs = extension
    lines = [(name, "bold", 8.4), (papers, "normal", SMALL_PT)]
    lines += [("trains:", "bold", SMALL_PT)] + [(t, "normal", SMALL_PT) for t in trains]
    lines += [("needs:", "bold", SMALL_PT)] + [(t, "normal", SMALL_PT) for t in needs]
    return lines


def _box_height(extension) -> float:
    return 0.1 + LINE_IN * len(_extension_lines(extension)) + 0.08 * 2 + 0.04


def _rounded_box(ax, x, y, width, height, edge, fill, linewidth=1.2):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            width,
            height,
            boxstyle="round,pad=0,rounding_size=0.06",
            facecolor=fill,
            edgecolor=edge,
            linewidth=linewidth,
        )
    )


def plot_extensions(extensions=EXTENSIONS, pretrained=PRETRAINED):
    """A pre-trained model in the middle and the ways it is extended around it: two
    above, two below, each box saying what training changes and what data it needs.
    Drawn 3.7 inches wide, so a phone's column shows it whole with 10 px text."""
    if len(extensions) != 4:
        raise ValueError(f"extensions must hold four ways, got {len(extensions)}")
    width, gap, box = 3.7, 0.1, 1.8
    rows = [
        max(_box_height(e) for e in extensions[:2]),
        max(_box_height(e) for e in extensions[2:]),
    ]
    top, middle_h, arrow = 0.05, 0.62, 0.3
    middle_y = top + rows[0] + arrow
    bottom_y = middle_y + middle_h + arrow
    height = bottom_y + rows[1] + 0.05
    fig, axes = new_figure(width, height)
    ax = axes[0, 0]
    ax.set_axis_off()
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)  # inches from the top

    name, lines = pretrained
    _rounded_box(ax, 0.45, middle_y, width - 0.9, middle_h, INK, "#eceff1", linewidth=1.4)
    ax.text(
        width / 2,
        middle_y + 0.09,
        name,
        ha="center",
        va="top",
        fontsize=9,
        fontweight="bold",
        color=INK,
    )
    for i, text in enumerate(lines):
        ax.text(
            width / 2,
            middle_y + 0.3 + 0.15 * i,
            text,
            ha="center",
            va="top",
            fontsize=SMALL_PT,
            color=INK,
        )

    for i, extension in enumerate(extensions):
        above = i < 2
        x = gap / 2 if i % 2 == 0 else width - gap / 2 - box
        y, h = (top, rows[0]) if above else (bottom_y, rows[1])
        colour = EXTENSION_COLOURS[i]
        _rounded_box(ax, x, y, box, h, colour, EXTENSION_FILLS[i])
        ty = y + 0.1
        for text, weight, size in _extension_lines(extension):
            if text in ("trains:", "needs:"):
                ty += 0.08  # a gap before each field
            ax.text(
                x + 0.08, ty, text, ha="left", va="top", fontsize=size, fontweight=weight, color=INK
            )
            ty += LINE_IN
        start = (x + box / 2, middle_y if above else middle_y + middle_h)
        end = (x + box / 2, y + h if above else y)
        ax.annotate(
            "",
            end,
            start,
            arrowprops=dict(arrowstyle="-|>", color=colour, linewidth=1.3, shrinkA=0, shrinkB=1),
        )
    fig.subplots_adjust(left=0, right=1, top=1, bottom=0)
    return fig


# --- the site's figures ----------------------------------------------------------------

FIGURE_DEPENDS = (*DEPENDS, "bertguide.figures.history")


def _report_with_time() -> dict:
    _, report = tiny_gpt()
    print(
        f"tiny GPT: {report['steps']} steps trained in {report['wall_time_s']:.0f} s wall "
        f"time; held-out loss {report['heldout_loss']:.3f} nats per byte",
        file=sys.stderr,
    )
    return report


@figure("gpt-loss-curve", depends=FIGURE_DEPENDS, versioned=("safetensors",))
def _fig_gpt_loss_curve():
    return plot_loss_curve(_report_with_time())


@figure("gpt-generations", depends=FIGURE_DEPENDS, versioned=("safetensors",))
def _fig_gpt_generations():
    report = _report_with_time()
    return plot_generations(report["prompt"], report["generations"])


@figure("lm-parameter-growth", depends=("bertguide.figures.history",))
def _fig_parameter_growth():
    return plot_parameter_growth(LANGUAGE_MODELS)


@figure("lm-timeline", depends=("bertguide.figures.history",))
def _fig_timeline():
    return plot_timeline(LANGUAGE_MODELS)


@figure("llm-extensions")
def _fig_extensions():
    return plot_extensions(EXTENSIONS)
