"""Pictures of the chapter "The BERT family".

``family-span-lengths``: SpanBERT's span lengths as ``span_mask`` draws them on real
text, against the clipped geometric law they follow; ``family-albert-parameters``:
BERT-base and ALBERT-base part by part; ``family-electra-probe``: the polarity probe
of ELECTRA's and BERT's encoders along the same training steps, read from the cached
run of ``bertguide.experiments.family_runs`` (run when missing, a few minutes on 2 CPU cores).
``family-distillation``: the distilled student against its teacher before and after
the run of ``bertguide.experiments.family_runs`` (agreement, sentence cosine, MLM accuracy,
speed-up), read from the cached run.

Left out: pictures of the runs' learning curves (the reports keep them).
"""

from __future__ import annotations

import torch

from bertguide.figures import figure
from bertguide.figures.style import COLUMN_INCHES, INK, SMALL_PT, new_figure, style_ticks

BERT_COLOUR, VARIANT_COLOUR, LAW_COLOUR = "#90a4ae", "#1e63c4", "#c62828"


def span_lengths(sequences: int = 400, max_length: int = 128, seed: int = 0) -> torch.Tensor:
    """The lengths (in words) of every span ``span_mask`` draws on ``sequences`` packed
    training sequences of the offline corpus, each masked once: (number of spans,)."""
    from bertguide.experiments.family_runs import packed
    from bertguide.family.spanbert import span_mask
    from bertguide.masking import PreTrainingCollator
    from bertguide.tokenizer import WordPieceTokenizer

    tok = WordPieceTokenizer.from_pretrained()
    examples = packed("train", sequences, tok, max_length, seed)
    batch = PreTrainingCollator(tok, mlm=False)(examples)
    generator = torch.Generator().manual_seed(seed)
    out = span_mask(
        batch["input_ids"], tok, attention_mask=batch["attention_mask"], generator=generator
    )
    return torch.tensor([words for row in out.spans for _, _, words in row])


def plot_span_lengths(lengths: torch.Tensor):
    """Share of spans of each length (bars) against P(l) of the clipped geometric law."""
    from bertguide.family.spanbert import MAX_SPAN_LENGTH, span_length_probabilities

    K = MAX_SPAN_LENGTH
    counts = torch.bincount(lengths, minlength=K + 1)[1 : K + 1].double()
    share = counts / counts.sum()
    law = span_length_probabilities()
    fig, axes = new_figure(COLUMN_INCHES, 2.9)
    ax = axes[0, 0]
    x = torch.arange(1, K + 1)
    ax.bar(
        x,
        share,
        color=VARIANT_COLOUR,
        width=0.7,
        label=f"measured: {len(lengths):,} spans drawn by span_mask",
    )
    ax.plot(
        x,
        law,
        "o-",
        color=LAW_COLOUR,
        markersize=4,
        linewidth=1.4,
        label="geometric law, p = 0.2, clipped at 10",
    )
    mean = float(lengths.double().mean())
    ax.set_xlabel(f"span length in words (measured mean {mean:.2f}; the law's 3.80)")
    ax.set_ylabel("share of spans")
    ax.set_xticks(x.tolist())
    ax.legend(fontsize=SMALL_PT, frameon=False)
    style_ticks(ax)
    fig.tight_layout(pad=0.4)
    return fig


def plot_parameter_parts(bert: dict[str, int], variant: dict[str, int], name: str = "ALBERT"):
    """Horizontal bars, log scale: each part's parameters in BERT-base and the variant."""
    parts = [p for p in variant if bert.get(p, 0) or variant[p]]
    fig, axes = new_figure(COLUMN_INCHES, 3.2)
    ax = axes[0, 0]
    y = torch.arange(len(parts)).float()
    for offset, counts, label, colour in (
        (-0.2, bert, "BERT-base", BERT_COLOUR),
        (0.2, variant, f"{name}-base", VARIANT_COLOUR),
    ):
        values = [max(counts.get(p, 0), 1e-9) for p in parts]
        ax.barh(y + offset, values, height=0.38, color=colour, label=label)
        for yi, v in zip(y + offset, values, strict=True):
            if v >= 1:
                text = (
                    f"{v / 1e6:.1f} M"
                    if v >= 1e6
                    else f"{v / 1e3:.0f} K"
                    if v >= 1e3
                    else f"{v:.0f}"
                )
                ax.text(v * 1.15, yi, text, va="center", color=INK, fontsize=SMALL_PT)
    ax.set_xscale("log")
    ax.set_xlim(1e2, 6e8)
    # plain labels: the log axis's 10^n labels set their exponents too small to read
    from matplotlib.ticker import FixedLocator, NullFormatter

    ticks = [1e2, 1e4, 1e6, 1e8]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels(["100", "10 K", "1 M", "100 M"])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(y.tolist())
    ax.set_yticklabels([p.replace("_", " ") for p in parts])
    ax.invert_yaxis()
    ax.set_xlabel("parameters (log scale)")
    ax.legend(fontsize=SMALL_PT, frameon=False, loc="lower right")
    style_ticks(ax)
    fig.tight_layout(pad=0.4)
    return fig


def plot_probe_curves(report: dict):
    """Probe accuracy on the polarity sentences against training step, MLM vs ELECTRA."""
    fig, axes = new_figure(COLUMN_INCHES, 3.0)
    ax = axes[0, 0]
    for name, label, colour in (
        ("mlm", "BERT (MLM)", BERT_COLOUR),
        ("electra", "ELECTRA discriminator", VARIANT_COLOUR),
    ):
        evals = report[name]["evals"]
        seconds = report[name]["train_time_s"]
        ax.plot(
            [e["step"] for e in evals],
            [e["probe"] for e in evals],
            "o-",
            color=colour,
            linewidth=1.6,
            markersize=4,
            label=f"{label}, {seconds:.0f} s",
        )
    lines = [(0.5, "chance (two balanced classes)")]
    if "embedded_model_probe" in report:
        lines.append((report["embedded_model_probe"], "the embedded model's vectors"))
    for value, text in lines:
        ax.axhline(value, color="#78909c", linestyle="--", linewidth=0.9)
        ax.text(0, value + 0.005, text, color=INK, fontsize=SMALL_PT, va="bottom")
    ax.set_ylim(0.4, 0.8)
    ax.set_xlabel("optimiser step (the same batches for both)")
    ax.set_ylabel("probe accuracy (5 folds)")
    ax.legend(fontsize=SMALL_PT, frameon=False, loc="upper right")
    style_ticks(ax)
    fig.tight_layout(pad=0.4)
    return fig


def plot_distillation(report: dict):
    """Student vs teacher before and after distillation: agreement, cosine, accuracy."""
    measures = (
        ("top1_agreement", "top-1 agreement\nwith the teacher"),
        ("sentence_cosine", "cosine of sentence\nvectors"),
        ("student_mlm_accuracy", "student's MLM\naccuracy"),
    )
    fig, axes = new_figure(COLUMN_INCHES, 2.8)
    ax = axes[0, 0]
    x = torch.arange(len(measures)).float()
    bars = (
        (-0.2, "before", "before (every other layer)", BERT_COLOUR),
        (0.2, "after", "after distillation", VARIANT_COLOUR),
    )
    for offset, key, label, colour in bars:
        values = [report[key][m] for m, _ in measures]
        ax.bar(x + offset, values, width=0.38, color=colour, label=label)
        for xi, v in zip(x + offset, values, strict=True):  # inside the bar, at its top
            ax.text(
                xi, v - 0.02, f"{v:.2f}", ha="center", va="top", color="white", fontsize=SMALL_PT
            )
    teacher = report["after"]["teacher_mlm_accuracy"]
    ax.plot([1.6, 2.4], [teacher, teacher], color=LAW_COLOUR, linewidth=1.4)
    ax.text(
        1.6,
        teacher + 0.02,
        f"the teacher's own: {teacher:.2f}",
        color=LAW_COLOUR,
        fontsize=SMALL_PT,
        ha="left",
        va="bottom",
    )
    ax.set_xticks(x.tolist())
    ax.set_xticklabels([label for _, label in measures])
    ax.set_ylim(0, 1.1)
    ax.set_title(
        f"{report['student_layers']} of {report['teacher_layers']} layers; forward "
        f"pass {report['speedup']:.1f}x faster",
        fontsize=9,
        color=INK,
    )
    ax.legend(fontsize=SMALL_PT, frameon=False, loc="upper right", ncols=2)
    style_ticks(ax)
    fig.tight_layout(pad=0.4)
    return fig


DEPENDS = (
    "bertguide.experiments.family_runs",
    "bertguide.family.spanbert",
    "bertguide.family.albert",
    "bertguide.family.common",
    "bertguide.masking",
)


@figure("family-span-lengths", depends=DEPENDS)
def _fig_span_lengths():
    return plot_span_lengths(span_lengths())


@figure("family-albert-parameters", depends=DEPENDS)
def _fig_albert_parameters():
    from bertguide.config import BertConfig
    from bertguide.family.albert import AlbertConfig, albert_parameter_breakdown
    from bertguide.model import parameter_breakdown

    bert = parameter_breakdown(BertConfig.base())
    return plot_parameter_parts(bert, albert_parameter_breakdown(AlbertConfig.base()))


@figure("family-electra-probe", depends=DEPENDS)
def _fig_electra_probe():
    from bertguide.experiments.family_runs import run_report

    return plot_probe_curves(run_report("electra"))


@figure("family-distillation", depends=DEPENDS)
def _fig_distillation():
    from bertguide.experiments.family_runs import run_report

    return plot_distillation(run_report("distillation"))
