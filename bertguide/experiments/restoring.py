"""Restoring the MLM and NSP heads of the embedded model, on 2 CPU cores, in minutes.

Chapter: "Pre-training: MLM and NSP".

The embedded checkpoint (all-MiniLM-L6-v2: every second layer of MiniLM, then tuned to
make sentence embeddings) has no masked-LM or next-sentence head, and
the tuning blurred which token sits where (a trained MLM head on the *frozen* encoder
predicts only ~13 % of held-out masked tokens). ``restore`` continues pre-training it
with the package's own loop (``bertguide.training.train``) on the offline corpus until
``fill_mask`` and ``next_sentence`` work:

    data      NSP pairs from the training documents of Wikipedia and Lee (~18k pairs),
              in batches of pairs of similar length, masked anew in every batch
    held out  1,024 pairs from the held-out documents, masked once with a fixed seed
    measure   MLM top-1 accuracy over their masked positions (80/10/10 as in training)
              and NSP accuracy over the pairs

The choices of ``DEFAULT_SETTINGS``; what each is worth is measured by
``bertguide.experiments.ablation`` (``python -m bertguide.experiments.ablation`` prints the table):

* the decoder scores the ~15 % masked positions only (``BertForPreTraining`` with
  ``score_masked_only=True``), not all B x T positions;
* batches of pairs of similar length (``length_batches``): little padding;
* the embeddings (and so the tied decoder) stay fixed; the heads learn 10x faster
  than the encoder (``lr_multipliers``);
* no dropout: the run sees each pair about once, there is nothing to over-fit;
* the decoder bias starts at the log frequency of each token in the training text,
  so the first predictions are already the unigram guess;
* matrix products in bfloat16 where the CPU has native bfloat16 units (autocast).

The results (model, report with the learning curves) are cached per user by
``bertguide.experiments.cache``; ``restored_model()`` is the default model of ``fill_mask`` and
``next_sentence``. ``compact_student()`` is a 4-layer, 128-wide BERT pre-trained from
scratch the same way, for the fine-tuning chapter's "Well-Read Students" comparison.

Dimension legend: B = pairs per batch, T = tokens, M = masked positions, V = vocabulary.

Left out: BERT's packing of sentences into 512-token segments, longer runs, GPUs and
several processes (``train`` supports torchrun; one process is fastest on 2 cores).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.config import BertConfig
from bertguide.corpus import CORPORA, sentence_documents
from bertguide.inference import shipped_restored_model
from bertguide.masking import IGNORE_INDEX, PreTrainingCollator, make_nsp_pairs, mask_examples
from bertguide.pretraining import BertForPreTraining
from bertguide.tokenizer import WordPieceTokenizer
from bertguide.training import TrainingConfig, TrainingHistory, train

PRECISIONS = ("auto", "bf16", "fp32")


@dataclass(frozen=True)
class RestoringSettings:
    """Everything a restoring run depends on; the defaults are the best measured."""

    max_steps: int = 400  # optimiser steps (S)
    batch_size: int = 32  # pairs per step (B)
    max_length: int = 128  # tokens per training pair, [CLS] A [SEP] B [SEP]
    learning_rate: float = 2e-4  # peak learning rate of the encoder layers that train
    head_lr_multiplier: float = 10.0  # the MLM head learns this much faster than the encoder
    nsp_lr_multiplier: float = 10.0  # the pooler and the NSP head learn this much faster
    freeze_embeddings: bool = True  # keep the embeddings (so the tied decoder) as they are
    frozen_layers: int = 0  # keep the lowest this many encoder layers as they are
    warmup_steps: int = 20  # linear warmup, then linear decay to 0 at max_steps
    weight_decay: float = 0.01  # AdamW's, as in BERT
    mlm_probability: float = 0.15  # share of the tokens to predict in training
    dynamic_masking: bool = True  # new masks in every batch; False: one mask per pair
    bucket_by_length: bool = True  # batches of pairs of similar length (little padding)
    sparse_logits: bool = True  # the decoder scores the masked positions only (not B x T)
    nsp_across_corpora: bool = True  # NotNext partners from any corpus (False: the same one)
    dropout: float = 0.0  # dropout while training (BERT: 0.1)
    unigram_bias: bool = True  # the decoder bias starts at log unigram frequencies
    precision: str = "auto"  # "bf16" autocast, "fp32", or "auto": bf16 where the CPU has it
    threads: int = 2  # torch.set_num_threads during the run
    corpora: tuple[str, ...] = ("wikipedia", "lee")  # training documents of these corpora
    eval_every: int | None = 100  # evaluate on the held-out pairs every this many steps
    eval_pairs: int = 1024  # held-out pairs evaluated (drawn with the seed)
    seed: int = 0  # pairs, batches, masks, initialisation and dropout
    architecture: tuple[int, int, int] | None = None  # (layers, hidden, heads): from scratch
    documents: int | None = None  # only the first this many documents of each corpus (None: all)

    def __post_init__(self) -> None:
        for name in ("max_steps", "batch_size", "threads", "eval_pairs", "max_length"):
            _check_int(name, getattr(self, name), 1)
        for name in ("warmup_steps", "frozen_layers", "seed"):
            _check_int(name, getattr(self, name), 0)
        if self.eval_every is not None:
            _check_int("eval_every", self.eval_every, 1)
        if self.documents is not None:
            _check_int("documents", self.documents, 2)
        if self.max_length < 5:
            raise ValueError(f"max_length must be at least 5, got {self.max_length}")
        for name in ("learning_rate", "head_lr_multiplier", "nsp_lr_multiplier", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if not 0.0 < self.mlm_probability <= 1.0 or not 0.0 <= self.dropout < 1.0:
            raise ValueError("mlm_probability must be in (0, 1] and dropout in [0, 1)")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not self.corpora or any(c not in CORPORA for c in self.corpora):
            raise ValueError(f"corpora must be a non-empty tuple of {CORPORA}, got {self.corpora}")
        if self.architecture is not None:
            if len(self.architecture) != 3:
                raise ValueError("architecture must be (layers, hidden size, heads) or None")
            for name, value in zip(("layers", "hidden", "heads"), self.architecture, strict=True):
                _check_int(f"architecture {name}", value, 1)

    def replace(self, **changes) -> RestoringSettings:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


# The quick run a reader can repeat (400 steps, a few minutes on 2 CPU cores): the recipe
# the ablation measured and the comparison with transformers times.
DEFAULT_SETTINGS = RestoringSettings()
# The restored model that ships with the package (fill_mask's default): the same recipe,
# six times as long (about half an hour of training on 2 idle cores).
SHIPPED_SETTINGS = DEFAULT_SETTINGS.replace(max_steps=2400, warmup_steps=100, eval_every=200)
# Turc et al. (2019)'s 4-layer, 128-wide shape, pre-trained from random weights.
COMPACT_SETTINGS = RestoringSettings(
    architecture=(4, 128, 2),
    max_steps=600,
    learning_rate=1e-3,
    head_lr_multiplier=1.0,
    freeze_embeddings=False,
    warmup_steps=60,
    unigram_bias=True,
)


# --- data ------------------------------------------------------------------------------


def corpus_documents(corpus: str, split: str, settings: RestoringSettings) -> list[list[str]]:
    """The documents of ``corpus``'s ``split`` that a run reads (``settings.documents``
    limits them to the first few, for quick checks)."""
    found = sentence_documents(corpus, split)
    return found if settings.documents is None else found[: settings.documents]


def training_pairs(tokenizer: WordPieceTokenizer, settings: RestoringSettings) -> list[dict]:
    """NSP pairs from the training documents of ``settings.corpora`` (no masks yet).

    As in BERT, a NotNext partner is a sentence of any other document, of any corpus;
    with ``nsp_across_corpora=False`` the pairs are made corpus by corpus instead.
    """
    by_corpus = [corpus_documents(corpus, "train", settings) for corpus in settings.corpora]
    if not settings.nsp_across_corpora:
        return [
            pair
            for k, documents in enumerate(by_corpus)
            for pair in make_nsp_pairs(
                documents, tokenizer, max_length=settings.max_length, seed=settings.seed + k
            )
        ]
    documents = [document for documents in by_corpus for document in documents]
    return make_nsp_pairs(documents, tokenizer, max_length=settings.max_length, seed=settings.seed)


def heldout_batches(
    tokenizer: WordPieceTokenizer, settings: RestoringSettings, batch_size: int = 64
) -> list[dict[str, torch.Tensor]]:
    """The evaluation set: ``settings.eval_pairs`` held-out pairs, masked once (15 %,
    80/10/10, seeded), as padded batches of similar length (``labels`` included)."""
    documents = [
        d for corpus in settings.corpora for d in corpus_documents(corpus, "heldout", settings)
    ]
    pairs = make_nsp_pairs(documents, tokenizer, max_length=128, seed=settings.seed + 1)
    pairs = random.Random(settings.seed).sample(pairs, min(settings.eval_pairs, len(pairs)))
    generator = torch.Generator().manual_seed(settings.seed)
    masked = mask_examples(pairs, tokenizer, generator=generator)
    masked.sort(key=lambda pair: len(pair["input_ids"]))
    collate = PreTrainingCollator(tokenizer)
    return [collate(masked[i : i + batch_size]) for i in range(0, len(masked), batch_size)]


def decision_batches(pairs: int = 64) -> list[dict[str, torch.Tensor]]:
    """The first ``pairs`` held-out pairs in batches of 32, masked once (seeded): where
    the shipped weights are checked to decide as the trained float32 model did."""
    settings = DEFAULT_SETTINGS.replace(eval_pairs=pairs)
    return heldout_batches(WordPieceTokenizer.from_pretrained(), settings, batch_size=32)


def length_batches(
    pairs: Sequence[dict], batch_size: int, seed: int, by_length: bool = True
) -> list[list[dict]]:
    """Split pairs into batches of ``batch_size`` (the last, incomplete one dropped).

    The pairs are shuffled with ``seed``; with ``by_length`` they are then sorted by
    length (a stable sort, so equal lengths stay shuffled) and cut in order, so each
    batch holds pairs of (nearly) the same length and is padded very little. ``train``
    shuffles the order of the batches.

    >>> [[len(p["input_ids"]) for p in b] for b in length_batches(pairs, 2, seed=0)]
    [[5, 5], [7, 8], [12, 12]]          # e.g., for six pairs
    """
    order = list(pairs)
    random.Random(seed).shuffle(order)
    if by_length:
        order.sort(key=lambda pair: len(pair["input_ids"]))
    count = len(order) // batch_size
    return [order[i * batch_size : (i + 1) * batch_size] for i in range(count)]


class BatchCollator:
    """``train``'s collate_fn when each dataset item is already a list of pairs."""

    def __init__(self, collator: PreTrainingCollator) -> None:
        self.collator = collator

    def __call__(self, items: list[list[dict]]) -> dict[str, torch.Tensor]:
        return self.collator([pair for batch in items for pair in batch])


# --- the model, its loss and its measure ----------------------------------------------------


def uses_bf16(precision: str) -> bool:
    """Whether ``precision`` means bfloat16 autocast on this CPU ("auto": native units)."""
    if precision == "auto":
        capabilities = getattr(torch.cpu, "get_capabilities", dict)()
        return bool(capabilities.get("amx_bf16") or capabilities.get("avx512_bf16"))
    return precision == "bf16"


def unigram_log_frequencies(pairs: Sequence[dict], vocab_size: int) -> torch.Tensor:
    """(V,) log of each token's share of the pairs' tokens (add-one smoothed), centred."""
    counts = Counter(token for pair in pairs for token in pair["input_ids"])
    frequencies = torch.ones(vocab_size)
    for token, count in counts.items():
        frequencies[token] += count
    log_frequencies = frequencies.log()
    return log_frequencies - log_frequencies.mean()


def architecture_config(architecture: tuple[int, int, int], vocab_size: int) -> BertConfig:
    """The BertConfig of a (layers, hidden size, heads) model: feed-forward 4 x hidden."""
    layers, hidden, heads = architecture
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
    )


def initial_model(
    settings: RestoringSettings, tokenizer: WordPieceTokenizer, pairs: Sequence[dict]
) -> BertForPreTraining:
    """The model a run starts from: the embedded encoder with fresh heads, or (with an
    ``architecture``) a small BERT with random weights; dropout and bias as set."""
    if settings.architecture is None:
        logger = logging.getLogger("bertguide.pretraining")
        level = logger.level
        logger.setLevel(logging.ERROR)  # "has no heads: initialised" is the point here
        try:
            model = BertForPreTraining.from_pretrained(None, seed=settings.seed)
        finally:
            logger.setLevel(level)
    else:
        torch.manual_seed(settings.seed)
        model = BertForPreTraining(architecture_config(settings.architecture, len(tokenizer)))
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = settings.dropout
    if settings.unigram_bias:
        with torch.no_grad():
            model.cls.predictions.bias.copy_(
                unigram_log_frequencies(pairs, model.config.vocab_size)
            )
    return model.train()


def lr_multipliers(settings: RestoringSettings) -> dict[str, float]:
    """The learning-rate factors of ``train`` for these settings (0 = frozen)."""
    multipliers = {
        "cls.predictions.": settings.head_lr_multiplier,
        "cls.seq_relationship.": settings.nsp_lr_multiplier,
        "bert.pooler.": settings.nsp_lr_multiplier,
    }
    if settings.freeze_embeddings:
        multipliers["bert.embeddings."] = 0.0
    for layer in range(settings.frozen_layers):
        multipliers[f"bert.encoder.layer.{layer}."] = 0.0
    return multipliers


def pretraining_loss(
    model: nn.Module, batch: dict, bf16: bool = False, sparse: bool = True
) -> torch.Tensor:
    """MLM + NSP loss of a batch; matrix products in bfloat16 when ``bf16``; the
    decoder on the masked positions only when ``sparse`` (else on all B x T)."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return model(**batch, score_masked_only=sparse).loss


def evaluate(model: nn.Module, batches: Sequence[dict]) -> dict[str, float]:
    """Held-out MLM top-1 accuracy, NSP accuracy and mean MLM loss over ``batches``.

    Each batch holds ``input_ids``, ``token_type_ids``, ``attention_mask``, ``labels``
    (B, T; -100 where nothing is predicted) and ``next_sentence_label`` (B,). The model
    is called with the whole batch and must return ``prediction_logits`` (B, T, V) (as
    transformers' does; ``BertForPreTraining`` is asked for ``masked_lm_logits`` at the
    masked positions only, which is faster) and ``seq_relationship_logits`` (B, 2). A
    prediction is right when its highest score is the label's. Call it under
    ``torch.no_grad()`` in eval mode (``train`` does).

    >>> evaluate(model, heldout_batches(tok, DEFAULT_SETTINGS))
    {'mlm_accuracy': 0.41, 'nsp_accuracy': 0.93, 'mlm_loss': 3.2}     # e.g.
    """
    correct = masked = nsp_correct = pairs = 0
    loss_sum = 0.0
    for batch in batches:
        labels = batch["labels"]  # (B, T)
        if isinstance(model, BertForPreTraining):
            output = model(**batch, score_masked_only=True)
            logits, where = output.masked_lm_logits, output.prediction_mask  # (M, V), (B, T)
        else:
            output = model(**batch)
            where = labels != IGNORE_INDEX  # (B, T)
            logits = output.prediction_logits[where]  # (M, V)
        targets = labels[where]  # (M,)
        correct += int((logits.argmax(dim=-1) == targets).sum())
        masked += targets.numel()
        loss_sum += float(F.cross_entropy(logits.float(), targets, reduction="sum"))
        guesses = output.seq_relationship_logits.argmax(dim=-1)  # (B,)
        nsp_correct += int((guesses == batch["next_sentence_label"]).sum())
        pairs += len(guesses)
    if masked == 0 or pairs == 0:
        raise ValueError("batches hold no masked position or no pair: nothing to evaluate")
    return {
        "mlm_accuracy": correct / masked,
        "nsp_accuracy": nsp_correct / pairs,
        "mlm_loss": loss_sum / masked,
    }


class _TimedEval:
    """``eval_fn`` for ``train`` that adds up the seconds spent evaluating and records
    ``train_s``, the seconds of training so far (since it was made, evaluations left out)."""

    def __init__(self, batches: Sequence[dict]) -> None:
        self.batches, self.seconds, self.start = batches, 0.0, time.perf_counter()

    def __call__(self, model: nn.Module) -> dict[str, float]:
        start = time.perf_counter()
        metrics = evaluate(model, self.batches)
        train_s = start - self.start - self.seconds
        self.seconds += time.perf_counter() - start
        return {**metrics, "train_s": train_s}


# --- the run ------------------------------------------------------------------------------


def run_parts(settings: RestoringSettings, tokenizer: WordPieceTokenizer, pairs: list):
    """(model, dataset of batches, TrainingConfig, collate_fn, loss_fn) of a run."""
    model = initial_model(settings, tokenizer, pairs)
    generator = torch.Generator().manual_seed(settings.seed)
    if not settings.dynamic_masking:  # one mask per pair, drawn now and kept
        pairs = mask_examples(
            pairs, tokenizer, mlm_probability=settings.mlm_probability, generator=generator
        )
    collator = PreTrainingCollator(
        tokenizer, mlm_probability=settings.mlm_probability, generator=generator
    )
    batches = length_batches(pairs, settings.batch_size, settings.seed, settings.bucket_by_length)
    config = TrainingConfig(
        max_steps=settings.max_steps,
        batch_size=1,  # one item of the dataset is one batch of pairs
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        warmup_steps=settings.warmup_steps,
        eval_every=settings.eval_every,
        seed=settings.seed,
        lr_multipliers=lr_multipliers(settings),
    )
    loss_fn = partial(
        pretraining_loss, bf16=uses_bf16(settings.precision), sparse=settings.sparse_logits
    )
    return model, batches, config, BatchCollator(collator), loss_fn


def restore(
    settings: RestoringSettings = DEFAULT_SETTINGS,
    *,
    show_progress: bool | None = None,
    evaluate_before: bool = True,
) -> tuple[BertForPreTraining, TrainingHistory, dict]:
    """Run continued pre-training with ``settings``; return (model, history, report).

    ``model`` is in eval mode; ``history`` is ``train``'s (loss per step, held-out
    metrics every ``eval_every`` steps); ``report`` is a JSON-ready dict: the settings,
    the final held-out ``mlm_accuracy``, ``nsp_accuracy`` and ``mlm_loss``, the same
    ``before`` training (when ``evaluate_before``), ``train_time_s`` (the loop without
    the evaluations), ``median_step_s``, the sizes of the data and the history.
    ``show_progress`` as in ``TrainingConfig`` (None = a bar when stderr is a terminal).

    >>> model, history, report = restore(DEFAULT_SETTINGS.replace(max_steps=50))
    >>> report["mlm_accuracy"], report["nsp_accuracy"], report["train_time_s"]
    """
    if not isinstance(settings, RestoringSettings):
        raise TypeError(f"settings must be a RestoringSettings, not {type(settings).__name__}")
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        tokenizer = WordPieceTokenizer.from_pretrained()
        pairs = training_pairs(tokenizer, settings)
        heldout = heldout_batches(tokenizer, settings)
        model, batches, config, collate_fn, loss_fn = run_parts(settings, tokenizer, pairs)
        before = None
        if evaluate_before:
            model.eval()
            with torch.no_grad():
                before = evaluate(model, heldout)
        config.show_progress = show_progress
        timed_eval = _TimedEval(heldout)
        history = train(
            model, batches, config, collate_fn=collate_fn, loss_fn=loss_fn, eval_fn=timed_eval
        )
    finally:
        torch.set_num_threads(threads)
    report = {
        "settings": dataclasses.asdict(settings),
        **{k: v for k, v in history.evals[-1].items() if k not in ("step", "elapsed_s", "train_s")},
        "before": before,
        "train_time_s": history.wall_time_s - timed_eval.seconds,
        "eval_time_s": timed_eval.seconds,
        "steps": len(history.steps),
        "bf16": uses_bf16(settings.precision),
        "train_pairs": len(pairs),
        "heldout_pairs": sum(len(batch["next_sentence_label"]) for batch in heldout),
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "history": history.to_dict(),
    }
    return model.eval(), history, report


# --- the results: shipped with the package, or made once per machine ----------------------

_LOADED: dict[str, BertForPreTraining] = {}


def forget_loaded() -> None:
    """Forget the models ``restored_model`` has read (after new weights were shipped)."""
    _LOADED.clear()
    shipped_restored_model.cache_clear()


def run_to_folder(settings: RestoringSettings, folder: Path) -> dict:
    """Run ``restore(settings)``; save the model and vocabulary into ``folder`` (Hugging
    Face format) and return the report, with the model's answers to ``CLOZE`` added."""
    from bertguide.experiments.cloze import cloze_scores

    model, _, report = restore(settings)
    report["cloze"] = cloze_scores(model)
    model.save_pretrained(folder)
    WordPieceTokenizer.from_pretrained().save_vocabulary(folder)
    return report


def probe_settings(settings: RestoringSettings) -> RestoringSettings:
    """The same run on a slice: six documents a corpus, 16 held-out pairs, one thread,
    float32 (the fingerprint of ``bertguide.experiments``)."""
    return settings.replace(
        documents=6, eval_pairs=16, eval_every=None, threads=1, precision="fp32"
    )


def run_name(settings: RestoringSettings | None) -> str:
    """The registered run that ``settings`` describe: "restoring-quick" for
    ``DEFAULT_SETTINGS``, "compact-student" for ``COMPACT_SETTINGS``, else
    "restored-heads" (settings of your own are made once in the cache)."""
    named = {DEFAULT_SETTINGS: "restoring-quick", COMPACT_SETTINGS: "compact-student"}
    return named.get(settings, "restored-heads")


def restored_directory(settings: RestoringSettings | None = None) -> Path:
    """A folder (Hugging Face format) with the model that ``settings`` restore, made in
    the cache when missing (minutes on 2 CPU cores, announced on stderr).

    The default model ships with the package as weights that differ from the embedded
    model's (``bertguide.experiments.weights``); this writes it out in full.
    """
    from bertguide.experiments import store

    return store.made(run_name(settings), settings)


def restored_model(settings: RestoringSettings | None = None) -> BertForPreTraining:
    """The embedded encoder with its MLM and NSP heads restored (eval mode): the default
    model of ``fill_mask`` and ``next_sentence``. Read once per process and shared.

    With no settings it is the model that ships with the package (read in about a
    second); other settings are trained once per machine and cached.

    >>> fill_mask("Paris is the [MASK] of France.", model=restored_model())
    """
    from bertguide.experiments import store, weights

    name = run_name(settings)
    key = store.identity(name, settings)
    if key not in _LOADED:
        shipped = settings in (None, SHIPPED_SETTINGS) and weights.has_shipped(name)
        if shipped:
            _LOADED[key] = shipped_restored_model()
        else:
            _LOADED[key] = BertForPreTraining.from_pretrained(restored_directory(settings))
    return _LOADED[key]


def restoring_report(settings: RestoringSettings | None = None) -> dict:
    """The report of a restoring run (see ``restore``): shipped for the registered runs'
    settings (None: ``SHIPPED_SETTINGS``), else made once in the cache.

    The keys are ``restore``'s report's, plus ``cloze`` (``bertguide.experiments.cloze``)
    and ``run_seconds``, the wall time of the whole run; where and when it was made is in
    ``bertguide.experiments.store.shipped_record("restored-heads")["provenance"]``.

    Example::

        report = restoring_report()
        report["mlm_accuracy"], report["nsp_accuracy"]  # held-out, after training
        report["before"]["mlm_accuracy"]                # held-out, before training
        report["steps"], report["train_time_s"]         # optimiser steps; training seconds
    """
    from bertguide.experiments import store

    return store.report(run_name(settings), settings)


def compact_directory() -> Path:
    """The cache folder of the compact student, pre-trained from scratch when missing."""
    return restored_directory(COMPACT_SETTINGS)


def compact_student(pretrained: bool = True) -> BertForPreTraining:
    """The compact student (4 layers, hidden 128, 2 heads, the embedded vocabulary).

    ``pretrained=True``: after ``COMPACT_SETTINGS``' pre-training (made once per machine
    in the cache, about 2 minutes, see ``compact_report()``); False: the same model with
    BERT's random initialisation (seeded), the baseline of Turc et al.'s comparison.
    Returns a fresh model each call.

    >>> student = compact_student()          # BertForPreTraining; student.bert to fine-tune
    """
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be a bool, not {type(pretrained).__name__}")
    if pretrained:
        return BertForPreTraining.from_pretrained(compact_directory())
    vocab_size = len(WordPieceTokenizer.from_pretrained())
    torch.manual_seed(COMPACT_SETTINGS.seed)
    return BertForPreTraining(architecture_config(COMPACT_SETTINGS.architecture, vocab_size)).eval()


def compact_report() -> dict:
    """The report of the compact student's pre-training (see ``restore``), shipped."""
    return restoring_report(COMPACT_SETTINGS)


def main(argv: list[str] | None = None) -> int:
    """``python -m bertguide.experiments.restoring``: restore (or find) the heads, print
    the result."""
    parser = argparse.ArgumentParser(description="Restore the embedded model's MLM/NSP heads.")
    parser.parse_args(argv)
    report = restoring_report()
    print(
        f"held-out MLM top-1 {report['mlm_accuracy']:.1%}, NSP {report['nsp_accuracy']:.1%}, "
        f"{report['steps']} steps in {report['train_time_s']:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
