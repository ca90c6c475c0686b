"""Time-to-accuracy of the restoring run against the field's default way to train BERT.

    python benchmarks/bench_pretraining.py [--reference-seconds 180] [--threads 2]

Runs ``bertguide.experiments.reference_run.compare`` afresh (never the shipped copy): transformers'
``BertForPreTraining`` with ``torch.optim.AdamW`` for ``--reference-seconds`` of
training, then ``restore(DEFAULT_SETTINGS)``, on the same data, batches, masks and seed,
measured on the same held-out pairs. Prints both curves, the restoring run's held-out
MLM and NSP accuracy and its training time, how long it took to reach the reference's
final MLM accuracy, and the ratio of that time to the reference's (goal: <= 0.5). The
load average is printed too: timings taken while other processes share the cores are
slower. Exit status 1 when the goal is missed.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from bertguide.experiments.reference_run import GOAL, ComparisonSettings, compare, format_comparison


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-seconds", type=float, default=180.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-every", type=int, default=40, help="bertguide: steps per eval")
    args = parser.parse_args(argv)
    import transformers

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"continued pre-training of the embedded model, {args.threads} threads, torch "
        f"{torch.__version__}, transformers {transformers.__version__}; load {load}",
        flush=True,
    )
    settings = ComparisonSettings(
        reference_s=args.reference_seconds, eval_every=args.eval_every, threads=args.threads
    )
    _, report = compare(settings, log=lambda line: print(line, flush=True))
    print(format_comparison(report))
    print(f"load average before {report['load_before']:.2f}, after {report['load_after']:.2f}")
    return 0 if report["ratio"] is not None and report["ratio"] <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
