"""The sentiment recipe, one change at a time: what each part of it is worth.

Chapter: Fine-tuning and transfer learning. ``ABLATION`` lists changes to
``bertguide.experiments.sentiment.FineTuneSettings``' defaults, one per row (the last rows are the
guide's earlier recipes). ``run_ablation`` cross-validates fine-tuning alone for each
row on the folds of ``SELECTION_SEED`` (1): the recipe was chosen on these folds, and
the chapter reports its results on the folds of seed 0, another split of the same 200
sentences (so not a held-out test). The measured table ships with the package
(``data/sentiment_ablation.json``, ``measured_ablation()``);
``python -m bertguide.experiments.sentiment_ablation --write`` measures it again (about 12 minutes
on 2 CPU cores).

Left out: a search over combinations of changes, and several seeds per row.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from bertguide.experiments.cache import load_average
from bertguide.experiments.sentiment import FineTuneSettings, cross_validate
from bertguide.experiments.store import DATA

# (label, changes to FineTuneSettings): each row changes one thing of the defaults,
# the last rows go back to earlier recipes.
ABLATION: tuple[tuple[str, dict], ...] = (
    ("defaults: mean, 5 epochs of 8, lr 5e-5", {}),
    ("[CLS] through the pooler", dict(pooling="cls")),
    ("encoder frozen: the head alone trains", dict(freeze_encoder=True)),
    ("word embeddings trained too", dict(freeze_word_embeddings=False)),
    ("head learns at the encoder's rate", dict(head_lr_multiplier=1.0)),
    ("lr 2e-5", dict(learning_rate=2e-5)),
    ("batches of 16", dict(batch_size=16)),
    ("3 epochs", dict(num_epochs=3)),
    ("earlier: 3 epochs of 16, lr 2e-5", dict(num_epochs=3, batch_size=16, learning_rate=2e-5)),
    (
        "first: [CLS], 2 epochs of 16, lr 1e-4, head x1",
        dict(
            pooling="cls",
            num_epochs=2,
            batch_size=16,
            learning_rate=1e-4,
            head_lr_multiplier=1.0,
            freeze_word_embeddings=False,
        ),
    ),
)
SELECTION_SEED = 1  # the folds the recipe was chosen on; results are reported on seed 0
N_SPLITS = 5  # folds, as in the reported cross-validation
WIDTH = 48  # characters of the setting column: the longest label fits
MEASURED_ABLATION = DATA / "sentiment_ablation.json"


def run_ablation(n_splits: int = N_SPLITS, seed: int = SELECTION_SEED, rows=ABLATION) -> list[dict]:
    """Cross-validate fine-tuning alone for each row of ``ABLATION`` on the folds of
    ``seed``; print each row as it is measured and return them (``"folds"`` holds the
    accuracy of each fold)."""
    out = []
    print(f"{'setting':<{WIDTH}}{'accuracy':>13}{'seconds':>9}{'cpu s':>8}{'load':>6}", flush=True)
    for label, changes in rows:
        settings = FineTuneSettings(seed=seed).replace(**changes)
        cpu = time.process_time()
        result = cross_validate(n_splits, seed, settings, models=("bert_finetuned",))
        cpu = time.process_time() - cpu
        scores = result["bert_finetuned"]
        row = {
            "setting": label,
            "folds": scores,
            "mean": statistics.mean(scores),
            "std": statistics.stdev(scores),
            "seconds": result["seconds"][0],
            "cpu_seconds": cpu,
            "load": load_average(),
        }
        out.append(row)
        print(
            f"{label:<{WIDTH}}{row['mean']:.3f} ± {row['std']:.3f}{row['seconds']:>9.1f}"
            f"{row['cpu_seconds']:>8.1f}{row['load']:>6.2f}",
            flush=True,
        )
    return out


def measured_ablation() -> dict:
    """The ablation as measured and shipped: ``{"seed", "n_splits", "torch", "rows"}``,
    each row as ``run_ablation`` returns it; ``"features"`` holds the frozen-feature
    baseline's folds on the same split, for comparison.

    >>> table = measured_ablation()
    >>> table["seed"], table["rows"][0]["setting"]
    (1, 'defaults: mean, 5 epochs of 8, lr 5e-5')
    """
    return json.loads(MEASURED_ABLATION.read_text(encoding="utf-8"))


def format_ablation(table: dict) -> str:
    """The measured ablation as a text table: setting, mean ± std over the folds.

    >>> print(format_ablation({"rows": [{"setting": "x", "mean": 0.5, "std": 0.1}]}))
    setting                                             accuracy
    x                                              0.500 ± 0.100
    """
    lines = [f"{'setting':<{WIDTH}}{'accuracy':>13}"]
    lines += [f"{r['setting']:<{WIDTH}}{r['mean']:.3f} ± {r['std']:.3f}" for r in table["rows"]]
    return "\n".join(lines)


def _measure_ablation(path: Path) -> None:
    """Run the ablation and write it, with the frozen-feature baseline, to ``path``."""
    rows = run_ablation()
    base = cross_validate(N_SPLITS, SELECTION_SEED, models=("bert_features_logreg",))
    table = {
        "about": "python -m bertguide.experiments.sentiment_ablation --write: fine-tuning's "
        "accuracy on 5 folds of the polarity sentences, drawn with seed 1",
        "seed": SELECTION_SEED,
        "n_splits": N_SPLITS,
        "torch": torch.__version__,
        "features": base["bert_features_logreg"],
        "rows": rows,
    }
    path.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """``python -m bertguide.experiments.sentiment_ablation [--write]``: measure the table."""
    parser = argparse.ArgumentParser(description="The sentiment recipe, one change at a time.")
    parser.add_argument("--write", action="store_true", help="save it as the shipped table")
    if parser.parse_args(argv).write:
        _measure_ablation(MEASURED_ABLATION)
    else:
        run_ablation()
    return 0


if __name__ == "__main__":
    sys.exit(main())
