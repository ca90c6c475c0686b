"""Transfer learning, measured: the same fine-tuning from pre-trained and from random weights.

Chapter: Fine-tuning and transfer learning. *Transfer learning* is training a model on
one task (here, pre-training on unlabelled text) and reusing what it learned on another
(sentiment, with a few labelled sentences). Its value is the difference between
fine-tuning an encoder that was pre-trained and fine-tuning the same architecture from
random weights, with everything else equal. ``learning_curves`` measures it for two
shapes of encoder:

    minilm    the embedded model (6 layers, 384 wide): pre-trained, or BERT's random
              initialisation of the same shape
    compact   the compact student of ``bertguide.experiments.restoring`` (4 layers, 128 wide),
              pre-trained from scratch on the offline corpus, or not pre-trained

The second pair is Turc et al.'s (2019, "Well-Read Students Learn Better") point: a
small BERT gains from pre-training too, and pre-trained, it can beat a bigger model
that was not. Every encoder is fine-tuned by ``bertguide.experiments.sentiment.fine_tune`` (the
head on the mean of the token vectors) on 20, 40, 80 and 160 labelled sentences of
the polarity corpus and tested on the same 40 held-out ones. The smaller training sets
are nested (each holds the one before it) and balanced; a small set trains for at
least ``min_steps`` steps.

``transfer_report()`` runs it once per machine (a few minutes on 2 CPU cores, plus the
compact student's pre-training the first time) and caches it (``bertguide.experiments.cache``).

Dimension legend: N = training sentences, C = hidden size.

Left out: repeats over several splits and seeds (40 test sentences make each accuracy
uncertain by about ±7 points), and a learning-rate search for the random encoders.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from bertguide.config import BertConfig
from bertguide.experiments.sentiment import (
    FineTuneSettings,
    fine_tune_accuracy,
    load_polarity,
    stratified_folds,
)
from bertguide.model import BertModel
from bertguide.tokenizer import WordPieceTokenizer

SHAPES = ("minilm", "compact")


def random_like(config: BertConfig, seed: int = 0) -> BertModel:
    """A ``BertModel`` of ``config``'s shape with BERT's random initialisation (seeded).

    >>> random_like(BertModel.from_pretrained().config).config.num_hidden_layers
    6
    """
    if not isinstance(config, BertConfig):
        raise TypeError(f"config must be a BertConfig, not {type(config).__name__}")
    torch.manual_seed(seed)
    return BertModel(config).eval()


def minilm_encoder(pretrained: bool) -> BertModel:
    """The embedded encoder, or a random one of its shape (6 layers, 384 wide)."""
    model = BertModel.from_pretrained()
    return model if pretrained else random_like(model.config)


def compact_encoder(pretrained: bool) -> BertModel:
    """The compact student's encoder (4 layers, 128 wide), pre-trained or not.

    ``pretrained=True`` pre-trains it on the first call on a machine (cached).
    """
    from bertguide.experiments.restoring import compact_student

    return compact_student(pretrained=pretrained).bert


# shape -> encoder(pretrained); tests swap in tiny stand-ins here.
ENCODERS: dict[str, Callable[[bool], BertModel]] = {
    "minilm": minilm_encoder,
    "compact": compact_encoder,
}


# The recipe measured on the sentiment folds; small models take larger steps (Turc et
# al. chose the learning rate among 1e-4, 5e-5 and 3e-5 for theirs).
MINILM_RECIPE = FineTuneSettings()
COMPACT_RECIPE = FineTuneSettings(learning_rate=1e-4, head_lr_multiplier=10.0)


@dataclass(frozen=True)
class TransferSettings:
    """What the learning curves depend on."""

    sizes: tuple[int, ...] = (20, 40, 80, 160)  # labelled training sentences (N)
    shapes: tuple[str, ...] = SHAPES  # encoders to compare, each pre-trained and random
    test_fold: int = 0  # which of 5 stratified folds is the test set (40 sentences)
    min_steps: int = 10  # at least this many optimiser steps, whatever N
    minilm: FineTuneSettings = MINILM_RECIPE  # fine-tuning of the 384-wide encoders
    compact: FineTuneSettings = COMPACT_RECIPE  # fine-tuning of the 128-wide encoders
    seed: int = 0  # folds, subsets and training

    def __post_init__(self) -> None:
        if not self.sizes or any(
            isinstance(n, bool) or not isinstance(n, int) or n < 2 for n in self.sizes
        ):
            raise ValueError(f"sizes must be ints >= 2, got {self.sizes!r}")
        if list(self.sizes) != sorted(set(self.sizes)):
            raise ValueError(f"sizes must increase, got {self.sizes!r}")
        if not self.shapes or any(s not in SHAPES for s in self.shapes):
            raise ValueError(f"shapes must be a non-empty tuple of {SHAPES}, got {self.shapes!r}")
        if not 0 <= self.test_fold < 5:
            raise ValueError(f"test_fold must be 0 to 4, got {self.test_fold!r}")

    def replace(self, **changes) -> TransferSettings:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


def nested_subsets(labels: list[int], pool: list[int], sizes, seed: int = 0) -> list[list[int]]:
    """Balanced, nested subsets of ``pool`` (indices into ``labels``), one per size.

    The pool is shuffled once (seeded) per class and the classes interleaved, so every
    prefix holds the two labels in turn: each subset is the first N of one order.

    >>> nested_subsets([0, 1] * 5, list(range(10)), (2, 4))
    [[4, 1], [4, 1, 2, 5]]
    """
    if max(sizes) > len(pool):
        raise ValueError(f"sizes go up to {max(sizes)}, but the pool has {len(pool)} examples")
    rng = random.Random(seed)
    by_class = {c: [i for i in pool if labels[i] == c] for c in sorted({labels[i] for i in pool})}
    for members in by_class.values():
        rng.shuffle(members)
    order = [i for group in zip(*by_class.values(), strict=False) for i in group]
    order += [i for members in by_class.values() for i in members if i not in set(order)]
    return [order[:n] for n in sizes]


def learning_curves(settings: TransferSettings | None = None, keep_model=None, log=print) -> dict:
    """Fine-tune every encoder on every training size; test on the held-out fold.

    Returns ``{"accuracy": {"minilm/pretrained": [acc for each size], ...}, "seconds":
    {...}, "sizes": [...], "test_size": 40}``. ``keep_model`` receives the compact
    pre-trained model fine-tuned on the largest set (the cache keeps it).

    Example (minutes)::

        curves = learning_curves(TransferSettings(sizes=(20, 160)))
        curves["accuracy"]["compact/pretrained"]          # [accuracy at 20, at 160]
    """
    settings = TransferSettings() if settings is None else settings
    texts, labels = load_polarity()
    train_idx, test_idx = stratified_folds(labels, 5, settings.seed)[settings.test_fold]
    subsets = nested_subsets(labels, train_idx, settings.sizes, settings.seed)
    test_texts, test_labels = [texts[i] for i in test_idx], [labels[i] for i in test_idx]
    accuracy: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    for shape in settings.shapes:
        recipe = getattr(settings, shape).replace(min_steps=settings.min_steps, seed=settings.seed)
        for pretrained in (True, False):
            name = f"{shape}/{'pretrained' if pretrained else 'random'}"
            encoder = ENCODERS[shape](pretrained)
            start = time.perf_counter()
            accuracy[name] = []
            for subset in subsets:
                score, model = fine_tune_accuracy(
                    encoder,
                    [texts[i] for i in subset],
                    [labels[i] for i in subset],
                    test_texts,
                    test_labels,
                    recipe,
                )
                accuracy[name].append(score)
                last = subset is subsets[-1]
                if keep_model is not None and name == "compact/pretrained" and last:
                    keep_model(model)
            seconds[name] = time.perf_counter() - start
            if log is not None:
                scores = " ".join(f"{a:.3f}" for a in accuracy[name])
                log(f"{name:<20} {scores}  ({seconds[name]:.0f} s)")
    return {
        "accuracy": accuracy,
        "seconds": seconds,
        "sizes": list(settings.sizes),
        "test_size": len(test_idx),
    }


def format_curves(curves: dict) -> str:
    """The learning curves as a text table: one row per encoder, one column per size.

    >>> print(format_curves({"sizes": [20, 160], "accuracy": {"a/random": [0.5, 0.625]}}))
    encoder                20    160
    a/random            0.500  0.625
    """
    header = f"{'encoder':<18}" + "".join(f"{n:>7}" for n in curves["sizes"])
    rows = [
        f"{name:<18}" + "".join(f"{a:>7.3f}" for a in scores)
        for name, scores in curves["accuracy"].items()
    ]
    return "\n".join([header, *rows])


# --- the result: shipped with the package ---------------------------------------------------

DEFAULT_TRANSFER = TransferSettings()


def run_to_folder(settings: TransferSettings, folder: Path) -> dict:
    """Measure the learning curves; save the compact student fine-tuned on the largest
    set (when the compact shape is measured) into ``folder``; return the report."""
    kept = []
    start = time.perf_counter()
    curves = learning_curves(settings, keep_model=kept.append)
    if kept:
        kept[0].save_pretrained(folder)
        WordPieceTokenizer.from_pretrained().save_vocabulary(folder)
    return {**curves, "wall_time_s": time.perf_counter() - start}


def probe_settings(settings: TransferSettings) -> TransferSettings:
    """The MiniLM curve at 20 sentences only, one thread (fingerprints)."""
    return dataclasses.replace(
        settings, sizes=(20,), shapes=("minilm",), minilm=settings.minilm.replace(threads=1)
    )


def transfer_report(settings: TransferSettings | None = None) -> dict:
    """The learning curves (see ``learning_curves``): the shipped ones for the default
    settings; others are measured once per machine and cached.

    Example::

        print(format_curves(transfer_report()))
    """
    from bertguide.experiments import store

    return store.report("transfer-curves", settings)
