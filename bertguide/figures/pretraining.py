"""Pictures of the chapter "Pre-training: MLM and NSP".

``plot_masking`` draws one sentence before and after BERT's 80/10/10 masking (the
``masking-one-sentence`` figure: real WordPiece tokens of the embedded tokenizer,
masked by ``bertguide.masking.mask_tokens``); ``plot_pretraining_heads`` draws the two
heads on top of the encoder (``pretraining-heads``); ``plot_restoring_curves`` draws a
restoring run's training loss and held-out accuracy (``restoring-curves``: the run of
``bertguide.experiments.restoring`` that gives ``fill_mask`` its default model, read from the
per-user cache, or run once when it is missing) and ``compact-student-curves`` the
compact student's pre-training from scratch, for the fine-tuning chapter.
"""

from __future__ import annotations

import torch

from bertguide.figures import figure
from bertguide.figures.style import CARD, COLUMN_INCHES, INK, SMALL_PT, new_figure, style_ticks
from bertguide.masking import IGNORE_INDEX, MaskingVocab, mask_tokens
from bertguide.tokenizer import WordPieceTokenizer

MASKING_SENTENCE = (
    "The old baker sold his bread at the harbour market every morning, "
    "long before the first tourists arrived."
)
# What happened to a token, and its colour.
KIND_COLOURS = {
    "[MASK]": "#1e88e5",  # replaced by [MASK] (80 % of the chosen tokens)
    "random": "#e53935",  # replaced by a random token (10 %)
    "kept": "#43a047",  # left as it is (10 %), still predicted
}
LIGHT = "#eceff1"
TARGETS = {"mlm_accuracy": 0.35, "nsp_accuracy": 0.90}  # the restoring run's goals


def masking_kinds(original: list[int], masked: list[int], labels: list[int], mask_id: int):
    """What masking did at each position: "" (not chosen), "[MASK]", "random" or "kept"."""
    kinds = []
    for before, after, label in zip(original, masked, labels, strict=True):
        if label == IGNORE_INDEX:
            kinds.append("")
        elif after == mask_id:
            kinds.append("[MASK]")
        else:
            kinds.append("kept" if after == before else "random")
    return kinds


def plot_masking(tokens: list[str], inputs: list[str], kinds: list[str], per_line: int = 11):
    """The tokens of a sentence, and below each the model's input after masking.

    ``tokens``: the WordPiece tokens; ``inputs``: what the model reads instead (same
    length); ``kinds[i]`` is "" for a token that was not chosen, else "[MASK]",
    "random" or "kept" (see ``masking_kinds``). Chosen positions are coloured by kind
    and show the label the model must predict; long sentences wrap every ``per_line``.
    """
    if not (len(tokens) == len(inputs) == len(kinds)) or not tokens:
        raise ValueError("tokens, inputs and kinds must be non-empty lists of one length")
    unknown = set(kinds) - {"", *KIND_COLOURS}
    if unknown:
        raise ValueError(f"kinds must be '' or one of {list(KIND_COLOURS)}, got {unknown}")
    lines = [range(i, min(i + per_line, len(tokens))) for i in range(0, len(tokens), per_line)]
    fig, axes = new_figure(COLUMN_INCHES, 1.25 * len(lines) + 0.55)
    ax = axes[0, 0]
    ax.set_xlim(0, per_line + 1.4)
    ax.set_ylim(-0.8, 3 * len(lines))
    ax.invert_yaxis()
    ax.axis("off")
    for n, line in enumerate(lines):
        top = 3 * n
        for row, name in enumerate(("token", "input", "label")):
            ax.text(1.3, top + row + 0.5, name, ha="right", va="center", fontsize=SMALL_PT)
        for column, i in enumerate(line):
            x = 1.4 + column
            colour = KIND_COLOURS.get(kinds[i], LIGHT)
            text_colour = "white" if kinds[i] else INK
            ax.add_patch(_box(x, top, colour if kinds[i] else CARD))
            ax.text(x + 0.47, top + 0.5, tokens[i], **_text_style(INK))
            ax.add_patch(_box(x, top + 1, colour))
            ax.text(x + 0.47, top + 1.5, inputs[i], **_text_style(text_colour))
            if kinds[i]:
                ax.text(x + 0.47, top + 2.4, tokens[i], **_text_style(colour, weight="bold"))
    legend = [
        ("[MASK] (80 %)", "[MASK]"),
        ("random token (10 %)", "random"),
        ("kept (10 %)", "kept"),
    ]
    for k, (label, kind) in enumerate(legend):
        ax.add_patch(_box(1.4 + 3.2 * k, -0.8, KIND_COLOURS[kind], width=0.3, height=0.45))
        ax.text(1.8 + 3.2 * k, -0.57, label, va="center", fontsize=SMALL_PT, color=INK)
    fig.tight_layout(pad=0.2)
    return fig


def _box(x: float, y: float, colour: str, width: float = 0.94, height: float = 0.9):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch(
        (x, y + 0.05),
        width,
        height,
        boxstyle="round,pad=0,rounding_size=0.12",
        facecolor=colour,
        edgecolor="#b0bec5",
        linewidth=0.6,
    )


def _text_style(colour: str, weight: str = "normal") -> dict:
    return dict(ha="center", va="center", fontsize=SMALL_PT, color=colour, weight=weight)


def masking_example(sentence: str = MASKING_SENTENCE, tries: int = 1000):
    """(tokens, inputs, kinds) of the first seed whose masking of ``sentence`` shows all
    three kinds: BERT's 15 % masking, 80/10/10, with the embedded tokenizer."""
    tokenizer = WordPieceTokenizer.from_pretrained()
    ids = tokenizer.encode(sentence, add_special_tokens=False)
    vocab = MaskingVocab.from_tokenizer(tokenizer)
    for seed in range(tries):
        generator = torch.Generator().manual_seed(seed)
        masked, labels = mask_tokens(torch.tensor(ids), vocab, generator=generator)
        kinds = masking_kinds(ids, masked.tolist(), labels.tolist(), vocab.mask_token_id)
        if set(KIND_COLOURS) <= set(kinds):
            tokens = tokenizer.convert_ids_to_tokens(ids)
            return tokens, tokenizer.convert_ids_to_tokens(masked.tolist()), kinds
    raise ValueError(f"no seed below {tries} shows all three kinds of masking on {sentence!r}")


@figure("masking-one-sentence", depends=("bertguide.masking",))
def _fig_masking():
    return plot_masking(*masking_example())


# --- the two heads ------------------------------------------------------------------


def plot_pretraining_heads(hidden: int = 384, vocab_size: int = 30522):
    """A diagram of BERT's two pre-training heads on the encoder, for a model of
    ``hidden`` width and ``vocab_size`` tokens."""
    fig, axes = new_figure(COLUMN_INCHES, 4.0)
    ax = axes[0, 0]
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 9.2)
    ax.axis("off")
    tokens = ["[CLS]", "my", "dog", "is", "[MASK]", "[SEP]", "he", "barks", "[SEP]"]
    for i, token in enumerate(tokens):
        x = 0.55 + i * 1.0
        ax.text(x + 0.4, 0.45, token, **_text_style(INK))
        _arrow(ax, (x + 0.4, 0.85), (x + 0.4, 1.45))
    _block(ax, 0.4, 1.5, 9.2, 1.4, f"encoder: embeddings + layers, {hidden} wide", "#cfd8dc")
    # NSP side, on the left: the [CLS] vector
    _arrow(ax, (0.95, 2.9), (0.95, 3.6))
    ax.text(1.1, 3.2, "[CLS] vector", fontsize=SMALL_PT, color=INK, va="center")
    _block(ax, 0.4, 3.6, 3.6, 1.2, "pooler: tanh(dense)", "#b3e5fc")
    _arrow(ax, (2.2, 4.8), (2.2, 5.6))
    _block(ax, 0.4, 5.6, 3.6, 1.2, f"NSP head: linear {hidden} → 2", "#81d4fa")
    _arrow(ax, (2.2, 6.8), (2.2, 7.6))
    _block(ax, 0.4, 7.6, 3.6, 1.5, "softmax\nIsNext / NotNext", "#e1f5fe")
    # MLM side, on the right: the vector at each masked position
    _arrow(ax, (4.95, 2.9), (4.95, 3.6))
    ax.text(5.1, 3.2, "vector at [MASK]", fontsize=SMALL_PT, color=INK, va="center")
    _block(ax, 4.6, 3.6, 5.0, 1.2, "transform: dense + GELU + LayerNorm", "#ffe0b2")
    _arrow(ax, (7.1, 4.8), (7.1, 5.6))
    decoder = f"decoder: h Eᵀ + bias\n(E: the {vocab_size:,} × {hidden} word embeddings, tied)"
    _block(ax, 4.6, 5.6, 5.0, 1.2, decoder, "#ffcc80")
    _arrow(ax, (7.1, 6.8), (7.1, 7.6))
    _block(ax, 4.6, 7.6, 5.0, 1.5, f"softmax over the {vocab_size:,} tokens\n→ “cute”", "#fff3e0")
    fig.tight_layout(pad=0.2)
    return fig


def _block(ax, x: float, y: float, width: float, height: float, text: str, colour: str) -> None:
    from matplotlib.patches import FancyBboxPatch

    patch = FancyBboxPatch(
        (x, y),
        width,
        height,
        boxstyle="round,pad=0,rounding_size=0.2",
        facecolor=colour,
        edgecolor="#78909c",
        linewidth=0.8,
    )
    ax.add_patch(patch)
    ax.text(x + width / 2, y + height / 2, text, ha="center", va="center", fontsize=8.5, color=INK)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.annotate(
        "", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=INK, linewidth=1.0)
    )


@figure("pretraining-heads")
def _fig_heads():
    return plot_pretraining_heads()


# --- the restoring run and the compact student ------------------------------------------


def plot_restoring_curves(
    report: dict, title: str = "", targets: dict | None = None, shorter: dict | None = None
):
    """Two panels from a run's report (``bertguide.experiments.restoring.restore``): the training
    loss per step (thin) and its moving average (thick); the held-out MLM top-1 and
    NSP accuracy at each evaluation, with ``targets`` as dashed lines, and those of
    ``shorter``, the report of a shorter run, as hollow points on a dotted line."""
    history = report.get("history") if isinstance(report, dict) else None
    if not history or not history.get("steps") or not history.get("evals"):
        raise ValueError("report must be a restore() report with a history and evaluations")
    steps, loss = history["steps"], history["loss"]
    window = max(1, len(loss) // 20)
    smooth = [
        sum(loss[max(0, i - window + 1) : i + 1]) / min(i + 1, window) for i in range(len(loss))
    ]
    fig, axes = new_figure(COLUMN_INCHES, 2.9, 1, 2)
    left, right = axes[0]
    every = max(1, len(steps) // 100)  # at most ~100 points a line: a lighter page
    left.plot(steps[::every], loss[::every], color="#90caf9", linewidth=0.6)
    left.plot(steps[::every], smooth[::every], color="#1e88e5", linewidth=1.6)
    left.set_xlabel("step")
    left.set_ylabel("training loss (MLM + NSP)")
    before = report.get("before") or {}
    evals = history["evals"]
    for key, label, colour in (
        ("mlm_accuracy", "MLM top-1", "#e65100"),
        ("nsp_accuracy", "NSP", "#2e7d32"),
    ):
        xs = [0] * bool(before) + [e["step"] for e in evals]
        ys = [before[key]] * bool(before) + [e[key] for e in evals]
        goal = (targets or {}).get(key)
        if goal is not None:
            right.axhline(goal, color=colour, linestyle="--", linewidth=0.8)
            label = f"{label} (goal {goal:.0%}, dashed)"
        right.plot(xs, ys, marker="o", markersize=3, color=colour, label=label)
        if shorter is not None:
            points = shorter["history"]["evals"]
            right.plot(
                [e["step"] for e in points],
                [e[key] for e in points],
                marker="o",
                markersize=3,
                markerfacecolor="none",
                linestyle=":",
                linewidth=1.0,
                color=colour,
                label=f"{label.split(' (')[0]}, {shorter['steps']}-step run",
            )
    right.set_ylim(0, 1)
    right.set_xlabel("step")
    right.set_ylabel("held-out accuracy")
    # between the MLM curves (below 0.4) and the NSP ones (above 0.75)
    right.legend(fontsize=SMALL_PT, frameon=False, loc="lower right", bbox_to_anchor=(1, 0.4))
    for ax in (left, right):
        ax.set_facecolor(CARD)
        style_ticks(ax)
        ax.tick_params(labelsize=SMALL_PT + 0.4)
    if title:
        fig.suptitle(title, fontsize=9, color=INK)
    fig.tight_layout()
    return fig


_RUN_DEPENDS = (
    "bertguide.experiments.restoring",
    "bertguide.experiments.cache",
    "bertguide.training",
    "bertguide.masking",
    "bertguide.pretraining",
)


@figure("restoring-curves", depends=_RUN_DEPENDS)
def _fig_restoring():
    from bertguide.experiments.restoring import DEFAULT_SETTINGS, restoring_report

    report = restoring_report()
    minutes = report["train_time_s"] / 60
    steps = f"{report['steps']:,} steps, {minutes:.0f} min"
    title = f"restoring the heads of the embedded model: {steps}"
    quick = restoring_report(DEFAULT_SETTINGS)
    return plot_restoring_curves(report, title, TARGETS, shorter=quick)


@figure("compact-student-curves", depends=_RUN_DEPENDS)
def _fig_compact():
    from bertguide.experiments.restoring import compact_report

    report = compact_report()
    minutes = report["train_time_s"] / 60
    title = f"a 4-layer, 128-wide BERT from scratch: {report['steps']} steps, {minutes:.1f} min"
    return plot_restoring_curves(report, title)


def plot_time_to_accuracy(report: dict):
    """Held-out MLM top-1 against training seconds for both runs of a comparison
    (``bertguide.experiments.reference_run.compare``), with the reference's final accuracy dashed
    and the moment bertguide's run reached it marked."""
    curves = report.get("reference_curve"), report.get("bertguide_curve")
    if not all(curves):
        raise ValueError("report must be a compare() report with both curves")
    fig, axes = new_figure(COLUMN_INCHES, 2.9)
    ax = axes[0, 0]
    for curve, label, colour in (
        (curves[0], "transformers BertForPreTraining + AdamW (reference)", "#8e24aa"),
        (curves[1], "bertguide restoring run", "#e65100"),
    ):
        xs = [point["train_s"] for point in curve]
        ys = [point["mlm_accuracy"] for point in curve]
        ax.plot(xs, ys, marker="o", markersize=3, color=colour, label=label)
    ax.axhline(report["target"], color="#8e24aa", linestyle="--", linewidth=0.8)
    if report.get("reached_s") is not None:
        ax.axvline(report["reached_s"], color="#e65100", linestyle=":", linewidth=0.9)
        ax.annotate(
            f"reached after {report['reached_s']:.0f} s\n= {report['ratio']:.2f} × "
            f"{report['reference_s']:.0f} s",
            xy=(report["reached_s"], report["target"]),
            xytext=(8, -28),
            textcoords="offset points",
            fontsize=SMALL_PT,
            color=INK,
        )
    ax.set_xlabel("training seconds (evaluations left out)")
    ax.set_ylabel("held-out MLM top-1")
    ax.set_ylim(0, None)
    ax.legend(fontsize=SMALL_PT, frameon=False, loc="lower right")
    ax.set_facecolor(CARD)
    style_ticks(ax)
    ax.tick_params(labelsize=SMALL_PT + 0.4)
    fig.tight_layout()
    return fig


@figure("restoring-vs-transformers", depends=(*_RUN_DEPENDS, "bertguide.experiments.reference_run"))
def _fig_time_to_accuracy():
    from bertguide.experiments.reference_run import comparison_report

    return plot_time_to_accuracy(comparison_report())
