"""What each choice of the restoring run is worth: the ablation table.

Chapter: "Pre-training: MLM and NSP". ``bertguide.experiments.restoring`` continues pre-training
the embedded model with ``DEFAULT_SETTINGS``; each row here changes one of those
settings and measures two things apart, so that neither depends on the other:

* **speed**: training pairs per second (``pairs_per_second``: the fastest of a few
  repeats of the same batches, since other processes only ever slow a step down);
* **learning**: held-out MLM top-1 and NSP accuracy after the same number of training
  *pairs* as the best settings' ``steps`` steps (a row with half the batch takes twice
  the steps), with one thread so that the result does not depend on what else runs.
  Rows that change only how fast a step runs (``SPEED_ONLY``) compute the same loss
  and are not trained again.

    python -m bertguide.experiments.ablation --steps 150 --rows 0,3,5 --json table.json

prints the table row by row and can keep it as JSON (the chapter reads
``bertguide/data/restoring_ablation.json``, measured this way).

Left out: repeats with other seeds (one run per row; differences of a point or so
are within the noise), and interactions between the changes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import torch
from torch import nn

from bertguide.experiments.cache import load_average
from bertguide.experiments.restoring import (
    DEFAULT_SETTINGS,
    RestoringSettings,
    restore,
    run_parts,
    training_pairs,
)
from bertguide.experiments.store import DATA
from bertguide.tokenizer import WordPieceTokenizer
from bertguide.training import train

# (label, changes to the best settings): one row of the ablation table each.
ABLATIONS: tuple[tuple[str, dict], ...] = (
    ("best settings", {}),
    ("dense MLM logits (all B x T positions)", {"sparse_logits": False}),
    ("no length bucketing", {"bucket_by_length": False}),
    ("float32 matrix products", {"precision": "fp32"}),
    ("1 thread instead of 2", {"threads": 1}),
    ("one learning rate (heads x1)", {"head_lr_multiplier": 1.0, "nsp_lr_multiplier": 1.0}),
    ("embeddings and decoder trained", {"freeze_embeddings": False}),
    ("lowest 3 layers frozen too", {"frozen_layers": 3}),
    ("dropout 0.1", {"dropout": 0.1}),
    ("static masking", {"dynamic_masking": False}),
    ("decoder bias from zero", {"unigram_bias": False}),
    ("40 % of tokens masked in training", {"mlm_probability": 0.4}),
    ("batch 16", {"batch_size": 16}),
    ("batch 64", {"batch_size": 64}),
    ("pairs cut at 64 tokens", {"max_length": 64}),
    ("NotNext from the same corpus", {"nsp_across_corpora": False}),
)
# Settings that change how fast a step runs but not the loss it computes.
SPEED_ONLY = frozenset({"sparse_logits", "precision", "threads"})


class _StepTimes:
    """A ``loss_fn`` wrapper that notes when each step starts, and which batch it takes."""

    def __init__(self, loss_fn) -> None:
        self.loss_fn, self.starts = loss_fn, []

    def __call__(self, model: nn.Module, batch: dict) -> torch.Tensor:
        key = (*batch["input_ids"].shape, *batch["next_sentence_label"].tolist())  # masks vary
        self.starts.append((time.perf_counter(), key))
        return self.loss_fn(model, batch)


_PAIRS: dict[tuple, list[dict]] = {}


def _training_pairs(tokenizer: WordPieceTokenizer, settings: RestoringSettings) -> list[dict]:
    """``training_pairs``, made once per distinct setting it depends on."""
    key = (settings.max_length, settings.corpora, settings.nsp_across_corpora, settings.seed)
    if key not in _PAIRS:
        _PAIRS[key] = training_pairs(tokenizer, settings)
    return _PAIRS[key]


def step_seconds(settings: RestoringSettings, batches: int = 8, repeats: int = 3) -> float:
    """The seconds one training step takes with ``settings``, measured robustly.

    ``train`` runs ``batches`` batches spread over the range of lengths, each
    ``repeats`` times; a batch's time is its fastest (other processes only ever make a
    step slower), and the result is the mean over the batches.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        tokenizer = WordPieceTokenizer.from_pretrained()
        probe = settings.replace(max_steps=batches * repeats + 1, eval_every=None)
        model, dataset, config, collate_fn, loss_fn = run_parts(
            probe, tokenizer, _training_pairs(tokenizer, settings)
        )
        picks = [dataset[(2 * k + 1) * len(dataset) // (2 * batches)] for k in range(batches)]
        config.show_progress, times = False, _StepTimes(loss_fn)
        train(model, picks * repeats, config, collate_fn=collate_fn, loss_fn=times)
    finally:
        torch.set_num_threads(threads)
    fastest: dict[tuple, float] = {}
    for (start, batch), (end, _) in pairwise(times.starts[1:]):  # the first step warms up
        fastest[batch] = min(fastest.get(batch, math.inf), end - start)
    return sum(fastest.values()) / len(fastest)


@dataclass(frozen=True)
class AblationRow:
    """One row of the ablation table (None: not measured, or the same as the best's)."""

    label: str  # what differs from the best settings
    pairs_per_second: float | None  # training speed, the fastest of a few repeats
    steps: int | None  # steps trained for the learning measure (same pairs for every row)
    mlm_accuracy: float | None  # held-out MLM top-1 after them
    nsp_accuracy: float | None  # held-out NSP accuracy after them
    load: float  # the machine's 1-minute load average when the row ended


def learning_settings(changes: dict, steps: int, base: RestoringSettings) -> RestoringSettings:
    """The settings of a row's learning run: ``steps`` steps' worth of the best settings'
    pairs (rescaled by the row's batch size), warmup scaled alike, one thread."""
    settings = base.replace(**changes)
    row_steps = max(1, round(steps * base.batch_size / settings.batch_size))
    warmup = round(base.warmup_steps * row_steps / base.max_steps)
    threads = changes.get("threads", 1)
    return settings.replace(
        max_steps=row_steps, warmup_steps=warmup, eval_every=None, threads=threads
    )


def ablation_row(
    label: str,
    changes: dict,
    steps: int = 150,
    base: RestoringSettings = DEFAULT_SETTINGS,
    speed: bool = True,
    learning: bool = True,
) -> AblationRow:
    """Measure one row: its speed, and (unless it is speed-only) what it learns."""
    settings = base.replace(**changes)
    pairs_per_second = settings.batch_size / step_seconds(settings) if speed else None
    mlm = nsp = trained = None
    if learning and (not changes or not set(changes) <= SPEED_ONLY):
        run = learning_settings(changes, steps, base)
        _, _, report = restore(run, show_progress=False, evaluate_before=False)
        mlm, nsp, trained = report["mlm_accuracy"], report["nsp_accuracy"], run.max_steps
    return AblationRow(label, pairs_per_second, trained, mlm, nsp, load_average())


def run_ablation(
    steps: int = 150,
    rows: Sequence[tuple[str, dict]] = ABLATIONS,
    base: RestoringSettings = DEFAULT_SETTINGS,
    speed: bool = True,
    learning: bool = True,
) -> list[AblationRow]:
    """Every row of ``rows`` measured by ``ablation_row``, printed as it ends."""
    results = []
    for label, changes in rows:
        results.append(ablation_row(label, changes, steps, base, speed, learning))
        print(format_ablation(results[-1:], header=len(results) == 1), flush=True)
    return results


# The table the chapter shows, measured with ``main`` and shipped with the package.
MEASURED = DATA / "restoring_ablation.json"


def measured_ablation() -> tuple[dict, list[AblationRow]]:
    """(facts, rows) of the shipped measurement: ``facts`` holds how it was measured
    (``steps``, ``torch``, the ``machine``); ``rows`` are ``AblationRow``s.

    >>> facts, rows = measured_ablation()
    >>> print(format_ablation(rows).splitlines()[0])
    setting                                  pairs/s steps MLM top-1    NSP
    """
    data = json.loads(MEASURED.read_text(encoding="utf-8"))
    rows = [AblationRow(**row) for row in data.pop("rows")]
    return data, rows


def _cell(value: float | None, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{spec}}"


def format_ablation(rows: Sequence[AblationRow], header: bool = True) -> str:
    """The rows as a text table: setting, pairs/s, steps, MLM, NSP ("-": not trained)."""
    lines = [f"{'setting':<40}{'pairs/s':>8}{'steps':>6}{'MLM top-1':>10}{'NSP':>7}"]
    lines = lines if header else []
    for row in rows:
        lines.append(
            f"{row.label:<40}{_cell(row.pairs_per_second, '.1f', 8)}{_cell(row.steps, 'd', 6)}"
            f"{_cell(row.mlm_accuracy, '.1%', 10)}{_cell(row.nsp_accuracy, '.1%', 7)}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m bertguide.experiments.ablation`` with ``--steps``, ``--rows``, ``--json``."""
    parser = argparse.ArgumentParser(description="What each restoring setting is worth.")
    parser.add_argument("--steps", type=int, default=150, help="the best settings' steps")
    parser.add_argument("--rows", help="row numbers to measure, e.g. 0,3,5 (default: all)")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed measure")
    parser.add_argument("--no-learning", action="store_true", help="skip the learning runs")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument(
        "--combine", type=Path, nargs="+", help="measure nothing: merge these JSON files' rows"
    )
    args = parser.parse_args(argv)
    if args.combine:
        rows = combine([json.loads(path.read_text()) for path in args.combine])
        print(format_ablation(rows))
        if args.json is not None:
            args.json.write_text(json.dumps(_as_json(rows, args.steps), indent=1) + "\n")
        return 0
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    rows = list(ABLATIONS)
    if args.rows:
        try:
            rows = [ABLATIONS[int(i)] for i in args.rows.split(",")]
        except (ValueError, IndexError):
            parser.error(f"--rows must be numbers from 0 to {len(ABLATIONS) - 1}, got {args.rows}")
    results = run_ablation(args.steps, rows, speed=not args.no_speed, learning=not args.no_learning)
    if args.json is not None:
        args.json.write_text(json.dumps(_as_json(results, args.steps), indent=1) + "\n")
    return 0


def _as_json(rows: Sequence[AblationRow], steps: int) -> dict:
    return {
        "steps": steps,
        "torch": torch.__version__,
        "machine": machine(),
        "rows": [dataclasses.asdict(row) for row in rows],
    }


def machine() -> str:
    """The CPU's model name and how many cores this process may use."""
    name = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere every core
    cores = len(affinity(0)) if affinity else os.cpu_count()
    return f"{name}, {cores} cores"


def combine(tables: Sequence[dict]) -> list[AblationRow]:
    """Rows of several ``--json`` files merged by label, in ``ABLATIONS``' order; a
    measured value (not None) of a later file replaces an earlier one.

    >>> files = ("speed.json", "learn.json")
    >>> rows = combine([json.loads(Path(f).read_text()) for f in files])  # doctest: +SKIP
    """
    merged: dict[str, dict] = {}
    for table in tables:
        for row in table["rows"]:
            kept = merged.setdefault(row["label"], dict(row))
            kept.update({k: v for k, v in row.items() if v is not None})
    order = {label: i for i, (label, _) in enumerate(ABLATIONS)}
    labels = sorted(merged, key=lambda label: order.get(label, len(order)))
    return [AblationRow(**merged[label]) for label in labels]


if __name__ == "__main__":
    sys.exit(main())
