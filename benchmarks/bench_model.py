"""Time bertguide's BertModel against transformers' BertModel on the same weights.

    python benchmarks/bench_model.py [--batch 8] [--tokens 128] [--repeats 30] [--check]

Both models load the embedded default checkpoint and run on the CPU under
``torch.inference_mode()``. Two cases:

* without attention weights: ours takes PyTorch's fused attention, transformers its
  default ("sdpa");
* with attention weights (``output_attentions=True``): ours computes them explicitly,
  transformers uses "eager" (sdpa cannot return weights).

Each case runs on a full batch (no padding) and on a right-padded one. Calls are
interleaved (ours, theirs, theirs, ours, ...) so that drifts in machine speed hit
both alike; the script prints median milliseconds and the ratio ours / theirs measured
in this run. Targets: <= 1.05 without weights, <= 1.2 with them; ``--check`` exits
with status 1 when a ratio misses its target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

import bertguide as bg

TARGETS = {False: 1.05, True: 1.2}  # output_attentions -> highest acceptable ratio


def make_batch(vocab_size: int, batch: int, tokens: int, padded: bool) -> dict:
    g = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1000, vocab_size, (batch, tokens), generator=g)
    attention_mask = torch.ones_like(input_ids)
    if padded:  # row i keeps tokens - i * tokens / (2 * batch) real tokens
        for row in range(batch):
            attention_mask[row, tokens - row * tokens // (2 * batch) :] = 0
        input_ids[attention_mask == 0] = 0
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, tokens // 2 :] = 1
    return dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)


def time_call(model, batch: dict, output_attentions: bool) -> float:
    start = time.perf_counter()
    model(**batch, output_attentions=output_attentions)
    return time.perf_counter() - start


def compare(ours, theirs, batch: dict, output_attentions: bool, repeats: int) -> tuple:
    """Median seconds of ours and theirs, calls interleaved, after a warm-up."""
    with torch.inference_mode():
        a = ours(**batch, output_attentions=output_attentions).last_hidden_state
        b = theirs(**batch, output_attentions=output_attentions).last_hidden_state
        difference = (a - b).abs().max().item()
        if difference > 1e-4:
            raise SystemExit(f"outputs differ by {difference:.2e}: not timing different things")
        for _ in range(2):  # warm-up
            time_call(ours, batch, output_attentions)
            time_call(theirs, batch, output_attentions)
        mine, reference = [], []
        for i in range(repeats):
            order = ((ours, mine), (theirs, reference))
            for model, times in order if i % 2 == 0 else reversed(order):
                times.append(time_call(model, batch, output_attentions))
    return statistics.median(mine), statistics.median(reference), difference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    import transformers

    directory = bg.resolve(None)
    ours = bg.BertModel.from_pretrained(directory)
    theirs = {
        False: transformers.BertModel.from_pretrained(directory).eval(),  # default: sdpa
        True: transformers.BertModel.from_pretrained(directory, attn_implementation="eager"),
    }
    theirs[True].eval()
    print(
        f"BertModel forward, {bg.DEFAULT_MODEL}, batch {args.batch} x {args.tokens} tokens, "
        f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, median of {args.repeats}"
    )
    print(
        f"{'case':<34}{'ours ms':>10}{'theirs ms':>11}{'ratio':>8}{'target':>8}{'max |diff|':>12}"
    )
    missed = []
    for output_attentions in (False, True):
        for padded in (False, True):
            batch = make_batch(ours.config.vocab_size, args.batch, args.tokens, padded)
            mine, reference, difference = compare(
                ours, theirs[output_attentions], batch, output_attentions, args.repeats
            )
            ratio = mine / reference
            target = TARGETS[output_attentions]
            attention = "eager" if output_attentions else "sdpa"
            case = (
                f"{'with' if output_attentions else 'no'} weights, {'padded' if padded else 'full'}"
            )
            case += f" (vs {attention})"
            print(
                f"{case:<34}{mine * 1e3:>10.2f}{reference * 1e3:>11.2f}{ratio:>8.3f}"
                f"{target:>8.2f}{difference:>12.1e}"
            )
            if ratio > target:
                missed.append((case, ratio, target))
    for case, ratio, target in missed:
        print(f"missed: {case}: ratio {ratio:.3f} > {target}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
