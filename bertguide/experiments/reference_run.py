"""The restoring run against the field's default way to train BERT: time to accuracy.

Chapter: "Pre-training: MLM and NSP". Both runs continue pre-training the embedded
checkpoint with fresh MLM and NSP heads, on the same pairs, in the same batches and
order, with the same masks and seed, and are measured on the same held-out pairs
(``bertguide.experiments.restoring.evaluate``):

* **reference**: transformers' ``BertForPreTraining`` with ``torch.optim.AdamW``, as a
  tutorial would write it: the decoder scores all B x T positions, one learning rate
  (1e-4, weight decay 0.01 on matrices), dropout 0.1, float32; linear warmup over the
  first 10 % of its time, then linear decay to 0. It trains for ``reference_s``
  seconds and is evaluated every sixth of that.
* **bertguide**: ``restore(DEFAULT_SETTINGS)``, the package's loop with the settings
  the ablation chose, evaluated every ``eval_every`` steps.

The measure is how long bertguide's run takes to reach the MLM accuracy the reference
has at its end (interpolated linearly between evaluations), as a ratio of the
reference's time: below 1 is faster. Evaluation time is left out of both. Both runs
are in one process, one after the other; the load average is recorded before and after.

``compare()`` runs both (``make bench`` prints it); ``comparison_report()`` is the
figure build's cached copy that the chapter reads. transformers is needed to run it
(``pip install bertguide[test]``), not to read a cached report.

Left out: repeats (one run each), other reference learning rates, and GPUs.
"""

from __future__ import annotations

import dataclasses
import time
from itertools import pairwise
from pathlib import Path

import torch

from bertguide.experiments.cache import load_average
from bertguide.experiments.restoring import (
    DEFAULT_SETTINGS,
    BatchCollator,
    RestoringSettings,
    evaluate,
    heldout_batches,
    length_batches,
    restore,
    training_pairs,
)
from bertguide.masking import PreTrainingCollator
from bertguide.pretrained import resolve
from bertguide.probing import active_probe
from bertguide.tokenizer import WordPieceTokenizer

GOAL = 0.5  # bertguide's time to the reference's accuracy / the reference's time


@dataclasses.dataclass(frozen=True)
class ComparisonSettings:
    """What a comparison computes (its identity, with its name and version)."""

    reference_s: float = 180.0  # seconds the reference trains, evaluations left out
    reference_lr: float = 1e-4  # its one peak learning rate
    eval_every: int = 40  # bertguide's steps between evaluations
    threads: int = 2  # torch threads for both runs
    restoring: RestoringSettings = DEFAULT_SETTINGS  # the restoring run it is timed against


def train_reference(
    settings: ComparisonSettings = ComparisonSettings(), *, log=None
) -> tuple[torch.nn.Module, list[dict]]:
    """transformers' BertForPreTraining + AdamW for ``settings.reference_s`` seconds.

    Returns (model, curve); ``curve`` holds one dict per evaluation: ``step``,
    ``train_s`` (training seconds so far) and ``evaluate``'s metrics. ``log(line)`` is
    called with a line per evaluation when given.
    """
    import transformers

    restoring = settings.restoring
    tokenizer = WordPieceTokenizer.from_pretrained()
    heldout = heldout_batches(tokenizer, restoring)
    pairs = training_pairs(tokenizer, restoring)
    batches = length_batches(pairs, restoring.batch_size, restoring.seed)
    generator = torch.Generator().manual_seed(restoring.seed)
    collate = BatchCollator(PreTrainingCollator(tokenizer, generator=generator))
    torch.manual_seed(restoring.seed)
    transformers.logging.set_verbosity_error()  # "newly initialised heads" is the point
    model = transformers.BertForPreTraining.from_pretrained(resolve(None))
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    lr = settings.reference_lr
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
    )
    # the batch order train() uses: a seeded shuffle of the batches, new every epoch
    order_generator = torch.Generator().manual_seed(restoring.seed)
    order: list[int] = []

    def evaluate_now(step: int, train_s: float) -> dict:
        model.eval()
        with torch.no_grad():
            point = {"step": step, "train_s": train_s, **evaluate(model, heldout)}
        model.train()
        if log is not None:
            log(_curve_line("reference", point))
        return point

    curve = [evaluate_now(0, 0.0)]
    model.train()
    trained, step, eval_every_s = 0.0, 0, settings.reference_s / 6
    next_eval = eval_every_s
    probe = active_probe()  # a fingerprint: a few exact steps (the lr follows the clock)
    record = None if probe is None else probe.start(0, lambda s: 0.0, kind="reference")
    while trained < settings.reference_s and (probe is None or step < probe.steps):
        if not order:
            order = torch.randperm(len(batches), generator=order_generator).tolist()
        start = time.perf_counter()
        fraction = trained / settings.reference_s
        factor = fraction / 0.1 if fraction < 0.1 else (1 - fraction) / 0.9
        for group in optimizer.param_groups:
            group["lr"] = lr * factor
        batch = collate([batches[order.pop(0)]])
        loss = model(**batch).loss  # dense logits: the decoder scores every position
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        if record is not None:
            probe.step(record, loss.item(), grad_norm.item(), 0.0, batch)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        trained += time.perf_counter() - start
        if trained >= next_eval or trained >= settings.reference_s:
            curve.append(evaluate_now(step, trained))
            next_eval += eval_every_s
    return model.eval(), curve


def _curve_line(name: str, point: dict) -> str:
    return (
        f"  {name:9}  step {point['step']:4d}  {point['train_s']:6.1f} s  "
        f"MLM {point['mlm_accuracy']:.1%}  NSP {point['nsp_accuracy']:.1%}"
    )


def time_to_reach(curve: list[dict], target: float) -> float | None:
    """Training seconds at which ``curve``'s MLM accuracy first reaches ``target``,
    interpolated linearly between evaluations; None if it never does.

    >>> curve = [{"train_s": 0, "mlm_accuracy": 0.25}, {"train_s": 10, "mlm_accuracy": 0.75}]
    >>> time_to_reach(curve, 0.5)  # halfway between the two evaluations
    5.0
    >>> time_to_reach(curve, 0.9) is None  # never reached
    True
    """
    for before, after in pairwise(curve):
        if after["mlm_accuracy"] >= target:
            gain = after["mlm_accuracy"] - before["mlm_accuracy"]
            share = 1.0 if gain <= 0 else (target - before["mlm_accuracy"]) / gain
            span = after["train_s"] - before["train_s"]
            return before["train_s"] + max(0.0, min(1.0, share)) * span
    return None


def compare(settings: ComparisonSettings = ComparisonSettings(), *, log=None):
    """Run the reference, then bertguide's restoring run; return (reference model, report).

    The report holds both ``curves``, the reference's final MLM accuracy (``target``),
    ``reached_s`` (bertguide's training seconds to reach it, None if it never did),
    ``ratio`` (``reached_s`` over the reference's seconds; goal <= ``GOAL``), the
    restoring run's final accuracies and time, and the load averages.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        load_before = load_average()
        reference, reference_curve = train_reference(settings, log=log)
        ours = settings.restoring.replace(eval_every=settings.eval_every, threads=settings.threads)
        _, history, report = restore(ours, show_progress=False)
    finally:
        torch.set_num_threads(threads)
    our_curve = [{"step": 0, "train_s": 0.0, **report["before"]}] + [
        {k: e[k] for k in ("step", "train_s", "mlm_accuracy", "nsp_accuracy", "mlm_loss")}
        for e in history.evals
    ]
    if log is not None:
        for point in our_curve:
            log(_curve_line("bertguide", point))
    target = reference_curve[-1]["mlm_accuracy"]
    reached = time_to_reach(our_curve, target)
    reference_s = reference_curve[-1]["train_s"]
    return reference, {
        "settings": dataclasses.asdict(settings),
        "reference_curve": reference_curve,
        "bertguide_curve": our_curve,
        "target": target,
        "reference_s": reference_s,
        "reached_s": reached,
        # None when never reached (or when a fingerprint probe stopped the reference early)
        "ratio": None if reached is None or reference_s <= 0 else reached / reference_s,
        "goal": GOAL,
        "bertguide": {k: report[k] for k in ("mlm_accuracy", "nsp_accuracy", "train_time_s")},
        "load_before": load_before,
        "load_after": load_average(),
        "torch": torch.__version__,
    }


def format_comparison(report: dict) -> str:
    """The comparison's result in three lines of text."""
    ours = report["bertguide"]
    lines = [
        f"reference (transformers BertForPreTraining + AdamW): MLM top-1 "
        f"{report['target']:.1%} after {report['reference_s']:.0f} s of training",
    ]
    if report["reached_s"] is None:
        lines.append("bertguide never reached it: no ratio")
    else:
        lines.append(
            f"bertguide reached it after {report['reached_s']:.1f} s: ratio "
            f"{report['ratio']:.2f} (goal <= {report['goal']})"
        )
    lines.append(
        f"bertguide's whole run: MLM top-1 {ours['mlm_accuracy']:.1%}, NSP "
        f"{ours['nsp_accuracy']:.1%} in {ours['train_time_s']:.0f} s"
    )
    return "\n".join(lines)


DEFAULT_COMPARISON = ComparisonSettings()


def run_to_folder(settings: ComparisonSettings, folder: Path) -> dict:
    """Run the comparison; save the reference model into ``folder``; return the report."""
    reference, report = compare(settings)
    reference.save_pretrained(folder)
    return report


def probe_settings(settings: ComparisonSettings) -> ComparisonSettings:
    """Both runs on a slice of the data, one thread, float32 (fingerprints)."""
    from bertguide.experiments.restoring import probe_settings as restoring_probe

    small = restoring_probe(settings.restoring)
    return dataclasses.replace(settings, threads=1, eval_every=1, restoring=small)


def comparison_report(settings: ComparisonSettings | None = None) -> dict:
    """The comparison's report (see ``compare``): the shipped one for the default
    settings, else run once on this machine and cached.

    >>> report = comparison_report()
    >>> report["ratio"] <= report["goal"]  # the restoring run is the faster
    True
    """
    from bertguide.experiments import store

    return store.report("restoring-vs-transformers", settings)
