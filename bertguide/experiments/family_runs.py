"""Four measured runs of the chapter "The BERT family", each done once per machine.

Serves the chapter "The BERT family"; each run takes about a minute of CPU time in
the package's one loop, ``bertguide.training.train`` (small models from scratch run on
one thread and know only the K tokens of their text, ``compact_vocab``):

    distillation  a 3-layer DistilBERT from every other layer of the restored 6-layer
                  teacher (``restoring.restored_model()``); soft targets (T = 2), MLM
                  and cosine losses; agreement and speed on held-out sentences
    roberta       static vs dynamic masking, a small BERT from scratch each, many
                  epochs over few sequences; held-out and training-mask accuracy
    electra       ELECTRA vs MLM on the same batches; a polarity probe of each encoder
    tang          a BiLSTM taught by a BERT sentiment classifier (frozen encoder +
                  logistic regression) on augmented data, vs the labels alone

``run_report(name)`` returns a run's report (settings, measures, ``wall_time_s``, the
load average): the one that ships with the package (``bertguide.experiments``), or for
settings of your own, run once on this machine and cached.
``python -m bertguide.experiments.family_runs``
prints every result. Dimension legend: B = batch, T = tokens, C = hidden size,
M = masked positions, V = vocabulary, N = sentences.

Left out: runs long enough to reproduce the papers' numbers, several seeds, GPUs.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.experiments.family_helpers import (
    best_time,
    compact_vocab,
    encode_all,
    fit,
    masked_batches,
    mlm_accuracy,
    packed,
    pooled_from_ids,
    sentences,
    small_bert,
    timed,
)
from bertguide.experiments.family_tang import TangSettings, run_tang
from bertguide.family.distillation import (
    cosine_embedding_loss,
    distilbert_student,
    soft_target_loss,
)
from bertguide.family.electra import ElectraGeneratorDiscriminator, make_generator_config
from bertguide.family.roberta import DynamicMasking, StaticMasking, mlm_only_loss
from bertguide.masking import IGNORE_INDEX, PreTrainingCollator
from bertguide.model import BertModel, count_parameters, mean_pool
from bertguide.pretraining import BertForPreTraining
from bertguide.tokenizer import WordPieceTokenizer


@dataclass(frozen=True)
class DistillationSettings:
    """The distillation run (teacher: ``restoring.restored_model()``)."""

    steps: int = 120  # optimiser steps
    batch_size: int = 16  # sentences per step
    max_length: int = 64  # tokens per sentence, [CLS] and [SEP] included
    learning_rate: float = 1e-4  # peak; 10 % warmup, then linear decay
    temperature: float = 2.0  # T of the soft targets
    weights: tuple[float, float, float] = (5.0, 2.0, 1.0)  # soft, MLM, cosine: DistilBERT's
    eval_sentences: int = 256  # held-out sentences, masked once (seeded)
    repeats: int = 5  # timing: best of this many passes over the held-out batches
    threads: int = 2
    seed: int = 0


@dataclass(frozen=True)
class RobertaSettings:
    """Static vs dynamic masking: a small BERT from scratch for each."""

    architecture: tuple[int, int, int] = (2, 128, 2)  # layers, hidden size, heads
    sequences: int = 384  # training sequences, read ``epochs`` times
    epochs: int = 20
    max_length: int = 64  # tokens per packed sequence
    batch_size: int = 32
    learning_rate: float = 2e-3
    eval_every: int = 40  # steps between evaluations
    eval_sequences: int = 256  # held-out sequences, masked once
    threads: int = 1  # a model this small runs fastest on one thread
    seed: int = 0


@dataclass(frozen=True)
class ElectraSettings:
    """ELECTRA vs MLM: the same body (discriminator / BERT), steps and batches."""

    architecture: tuple[int, int, int] = (2, 128, 4)  # the discriminator's and BERT's
    generator_divisor: int = 4  # the generator is this many times narrower
    steps: int = 200
    max_length: int = 64
    batch_size: int = 32
    learning_rate: float = 1e-3
    eval_every: int = 50  # steps between probes
    folds: int = 5  # cross-validation folds of the polarity probe
    eval_sequences: int = 128  # held-out sequences for MLM / replaced-token accuracy
    reference_probe: bool = True  # also probe the embedded model, for scale
    threads: int = 1  # a model this small runs fastest on one thread
    seed: int = 0


# --- distillation: DistilBERT from the restored teacher ------------------------------------


class MaskedLMStudent(nn.Module):
    """A ``DistilBertModel`` with a copy of the teacher's MLM head, tied to its own words:
    input_ids, attention_mask, mask (B, T) -> hidden (B, T, C), logits (M, V) at mask."""

    def __init__(self, teacher: BertForPreTraining, layers=None) -> None:
        super().__init__()
        self.encoder = distilbert_student(teacher.bert, layers, fold_token_type=True)
        self.head = copy.deepcopy(teacher.cls.predictions)
        self.head.decoder.weight = self.encoder.embeddings.word_embeddings.weight  # tied

    def forward(self, input_ids, attention_mask, mask):
        hidden = self.encoder(input_ids, attention_mask).last_hidden_state  # (B, T, C)
        return hidden, self.head(hidden[mask])  # (B, T, C), (M, V)


@torch.no_grad()
def teacher_at_masks(teacher, batch):
    """The teacher's output on a masked batch, its MLM logits at the masks only (M, V)."""
    return teacher(
        batch["input_ids"],
        batch["attention_mask"],
        labels=batch["labels"],
        score_masked_only=True,
    )


def distillation_loss_fn(student, batch, teacher, temperature: float, weights) -> torch.Tensor:
    """DistilBERT's loss of one batch: w_soft soft targets + w_mlm MLM + w_cos cosine."""
    mask = batch["labels"] != IGNORE_INDEX  # (B, T)
    target = teacher_at_masks(teacher, batch)
    hidden, logits = student(batch["input_ids"], batch["attention_mask"], mask)
    soft = soft_target_loss(logits, target.masked_lm_logits, temperature)
    hard = F.cross_entropy(logits, batch["labels"][mask])
    cosine = cosine_embedding_loss(hidden, target.last_hidden_state, batch["attention_mask"])
    w_soft, w_hard, w_cos = weights
    return w_soft * soft + w_hard * hard + w_cos * cosine


@torch.no_grad()
def agreement(student, teacher, batches, temperature: float = 2.0) -> dict:
    """On held-out masked batches: how often the student's top MLM guess is the
    teacher's, each one's MLM accuracy, the soft-target loss at ``temperature``, and
    the mean cosine similarity of the two models' mean-pooled sentence vectors."""
    student.eval()
    teacher.eval()
    same = right_s = right_t = total = 0
    cosines, soft = [], 0.0
    for batch in batches:
        mask = batch["labels"] != IGNORE_INDEX
        t = teacher_at_masks(teacher, batch)
        hidden, logits = student(batch["input_ids"], batch["attention_mask"], mask)
        targets = batch["labels"][mask]
        guess_s, guess_t = logits.argmax(-1), t.masked_lm_logits.argmax(-1)  # (M,)
        same += int((guess_s == guess_t).sum())
        right_s += int((guess_s == targets).sum())
        right_t += int((guess_t == targets).sum())
        total += targets.numel()
        soft += float(soft_target_loss(logits, t.masked_lm_logits, temperature)) * len(targets)
        pooled_s = mean_pool(hidden, batch["attention_mask"])  # (B, C)
        pooled_t = mean_pool(t.last_hidden_state, batch["attention_mask"])
        cosines += F.cosine_similarity(pooled_s, pooled_t, dim=-1).tolist()
    return {
        "top1_agreement": same / total,
        "masked_positions": total,
        "student_mlm_accuracy": right_s / total,
        "teacher_mlm_accuracy": right_t / total,
        "sentence_cosine": sum(cosines) / len(cosines),
        "soft_target_loss": soft / total,
    }


def run_distillation(settings: DistillationSettings = DistillationSettings()):
    """Distil the restored teacher into a 3-layer DistilBERT; return (student, report)."""
    from bertguide.experiments.restoring import restored_model

    tok = WordPieceTokenizer.from_pretrained()
    teacher = restored_model().eval()
    student = MaskedLMStudent(teacher)
    for module in student.modules():  # no dropout: a short run over fresh sentences
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    texts = sentences("heldout", settings.eval_sentences, settings.seed)
    heldout = masked_batches(encode_all(texts, tok, 64), tok, settings.seed)
    before = agreement(student, teacher, heldout, settings.temperature)
    n = settings.steps * settings.batch_size
    data = encode_all(sentences("train", n, settings.seed), tok, settings.max_length)
    collate = PreTrainingCollator(tok, generator=torch.Generator().manual_seed(settings.seed))
    loss_fn = partial(
        distillation_loss_fn,
        teacher=teacher,
        temperature=settings.temperature,
        weights=settings.weights,
    )
    frozen = {"encoder.embeddings.": 0.0}  # the (tied) word table stays the teacher's
    history = fit(student, data, settings.steps, settings, collate, loss_fn, lr_multipliers=frozen)
    after = agreement(student, teacher, heldout, settings.temperature)
    inputs = [{k: b[k] for k in ("input_ids", "attention_mask")} for b in heldout]
    teacher_s = best_time(lambda b: teacher.bert(**b), inputs, settings.repeats)
    student_s = best_time(lambda b: student.encoder(**b), inputs, settings.repeats)
    return student.eval(), {
        "before": before,
        "after": after,
        "loss": history.loss,
        "train_time_s": history.wall_time_s,
        "teacher_layers": teacher.config.num_hidden_layers,
        "student_layers": student.encoder.config.num_hidden_layers,
        "teacher_parameters": count_parameters(teacher.bert),
        "student_parameters": count_parameters(student.encoder),
        "teacher_forward_s": teacher_s,
        "student_forward_s": student_s,
        "speedup": teacher_s / student_s,
        "heldout_sentences": sum(len(b["input_ids"]) for b in heldout),
    }


# --- RoBERTa: static vs dynamic masking ----------------------------------------------------


def run_roberta(settings: RobertaSettings = RobertaSettings()):
    """Train one small BERT per masking scheme, same steps; return (dynamic model, report)."""
    from bertguide.experiments.restoring import unigram_log_frequencies

    tok, s = WordPieceTokenizer.from_pretrained(), settings
    data = packed("train", s.sequences, tok, s.max_length, s.seed)
    held = packed("heldout", s.eval_sequences, tok, s.max_length, s.seed)
    tok, remap = compact_vocab([data, held], tok)  # from here on, ids of the K tokens seen
    data, heldout = remap(data), masked_batches(remap(held), tok, s.seed + 1)
    bias = unigram_log_frequencies(data, tok.vocab_size)
    steps = s.epochs * len(data) // s.batch_size
    report: dict = {"steps": steps, "sequences": len(data), "epochs": s.epochs}
    static = StaticMasking(data, tok, duplicates=1, seed=s.seed)  # one mask, drawn once
    own = static.dataset[:256]  # the static model's training masks, for both to be read on
    own_batches = [PreTrainingCollator(tok)(own[i : i + 32]) for i in range(0, len(own), 32)]
    for name in ("static", "dynamic"):
        pipeline = static if name == "static" else DynamicMasking(data, tok, seed=s.seed)
        model = small_bert(s.architecture, tok.vocab_size, s.seed)
        with torch.no_grad():
            model.cls.predictions.bias.copy_(bias)
        evals = [{"step": 0, "heldout": mlm_accuracy(model, heldout)}]

        def measure(m):
            return {
                "heldout": mlm_accuracy(m, heldout),
                "train_masks": mlm_accuracy(m, own_batches),
            }

        history = fit(
            model,
            pipeline.dataset,
            steps,
            s,
            pipeline.collate_fn,
            mlm_only_loss,
            measure,
            eval_every=s.eval_every,
        )
        evals += history.evals
        report[name] = {
            "heldout_accuracy": evals[-1]["heldout"],
            "train_mask_accuracy": evals[-1]["train_masks"],
            "evals": evals,
            "loss": history.loss,
            "train_time_s": history.wall_time_s,
        }
    report["parameters"], report["vocabulary"] = count_parameters(model), tok.vocab_size
    return model.eval(), report


# --- ELECTRA vs MLM ---------------------------------------------------------------------


def probe_accuracy(encoder: nn.Module, examples: list[dict], folds: int, seed: int) -> float:
    """Mean held-out-fold accuracy of a logistic regression on ``encoder``'s mean-pooled
    vectors of the 200 polarity sentences (``examples``: their token ids, in the
    encoder's vocabulary), stratified ``folds``-fold, seeded."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bertguide.experiments.sentiment import load_polarity

    labels = load_polarity()[1]
    features = pooled_from_ids(encoder, examples).numpy()  # (N, C)
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(probe, features, labels, cv=split).mean())


def _electra_loss(model, batch) -> torch.Tensor:
    return model(batch["input_ids"], batch["labels"], batch["attention_mask"]).loss


@torch.no_grad()
def replaced_token_accuracy(model: ElectraGeneratorDiscriminator, batches) -> dict:
    """The discriminator's accuracy over all real tokens, and the generator's MLM top-1."""
    right = total = g_right = g_total = 0
    for batch in batches:
        out = model(batch["input_ids"], batch["labels"], batch["attention_mask"])
        real = out.discriminator_labels != IGNORE_INDEX
        guess = (out.discriminator_logits > 0).long()
        right += int((guess[real] == out.discriminator_labels[real]).sum())
        total += int(real.sum())
        targets = batch["labels"][batch["labels"] != IGNORE_INDEX]
        g_right += int((out.generator_logits.argmax(-1) == targets).sum())
        g_total += targets.numel()
    return {"rtd_accuracy": right / total, "generator_mlm_accuracy": g_right / g_total}


def run_electra(settings: ElectraSettings = ElectraSettings()):
    """ELECTRA and MLM from scratch on the same batches; return (discriminator, report)."""
    from bertguide.experiments.sentiment import load_polarity

    full, s = WordPieceTokenizer.from_pretrained(), settings
    data = packed("train", s.steps * s.batch_size, full, s.max_length, s.seed)
    held = packed("heldout", s.eval_sequences, full, s.max_length, s.seed)
    polarity = encode_all(load_polarity()[0], full, 64)
    tok, remap = compact_vocab([data, held], full)  # from here on, ids of the K tokens seen
    data, heldout, probe_ids = (
        remap(data),
        masked_batches(remap(held), tok, s.seed + 1),
        remap(polarity),
    )
    report: dict = {"steps": s.steps, "sequences": len(data), "vocabulary": tok.vocab_size}
    for name in ("mlm", "electra"):
        if name == "mlm":
            model = small_bert(s.architecture, tok.vocab_size, s.seed)
            encoder, loss_fn = model.bert, mlm_only_loss
        else:
            config = small_bert(s.architecture, tok.vocab_size, s.seed).config
            torch.manual_seed(s.seed)
            model = ElectraGeneratorDiscriminator(
                config,
                make_generator_config(config, s.generator_divisor),
                sampling_generator=torch.Generator().manual_seed(s.seed),
            )
            encoder, loss_fn = model.discriminator.electra, _electra_loss

        def measure(m, name=name, encoder=encoder):
            probe = {"probe": probe_accuracy(encoder, probe_ids, s.folds, s.seed)}
            if name == "mlm":
                return {**probe, "mlm_accuracy": mlm_accuracy(m, heldout)}
            return {**probe, **replaced_token_accuracy(m, heldout)}

        evals = [{"step": 0, "elapsed_s": 0.0, **measure(model)}]
        collate = PreTrainingCollator(tok, generator=torch.Generator().manual_seed(s.seed))
        history = fit(model, data, s.steps, s, collate, loss_fn, measure, eval_every=s.eval_every)
        evals += history.evals
        report[name] = {
            **{k: v for k, v in evals[-1].items() if k not in ("step", "elapsed_s")},
            "evals": evals,
            "train_time_s": history.wall_time_s,
            "parameters": count_parameters(model),
            "encoder_parameters": count_parameters(encoder),
        }
    if s.reference_probe:
        embedded = BertModel.from_pretrained()
        report["embedded_model_probe"] = probe_accuracy(embedded, polarity, s.folds, s.seed)
    return model.discriminator.eval(), report


# --- the results: shipped with the package ------------------------------------------------

RUNS = {
    "distillation": (run_distillation, DistillationSettings()),
    "roberta": (run_roberta, RobertaSettings()),
    "electra": (run_electra, ElectraSettings()),
    "tang": (run_tang, TangSettings()),
}
DEFAULT_SETTINGS = SimpleNamespace(**{name: default for name, (_, default) in RUNS.items()})
# a small variant of each run's settings, for its fingerprint (same code, a slice of data)
PROBES = {
    DistillationSettings: dict(eval_sentences=16, repeats=1, threads=1),
    RobertaSettings: dict(sequences=32, eval_sequences=16, eval_every=1),
    ElectraSettings: dict(eval_sequences=16, folds=2, eval_every=1, reference_probe=False),
    TangSettings: dict(folds=2, corpus_sentences=16, masked_copies=1, threads=1),
}


def _run_of(settings) -> str:
    names = [name for name, (_, default) in RUNS.items() if type(default) is type(settings)]
    if not names:
        raise TypeError(f"no family run takes settings of type {type(settings).__name__}")
    return names[0]


def run_to_folder(settings, folder) -> dict:
    """Run the family run these settings are for; save its model into ``folder``; return
    the report (with wall time, load averages, threads and versions)."""
    run, _ = RUNS[_run_of(settings)]
    return timed(run, settings, folder)


def probe_settings(settings):
    """The run's ``PROBES`` variant: a slice of the data, one thread (fingerprints)."""
    return dataclasses.replace(settings, **PROBES[type(settings)])


def run_report(name: str, settings=None) -> dict:
    """The report of run ``name`` ("distillation", "roberta", "electra" or "tang"): the
    shipped one for the default settings, else run once on this machine and cached.

    Example::

        run_report("distillation")["after"]["top1_agreement"]
    """
    from bertguide.experiments import store

    if name not in RUNS:
        raise ValueError(f"name must be one of {sorted(RUNS)}, got {name!r}")
    _, default = RUNS[name]
    if settings is not None and type(settings) is not type(default):
        kind = type(settings).__name__
        raise TypeError(f"settings must be a {type(default).__name__}, not {kind}")
    return store.report(f"family-{name}", settings)


def summary(report: dict, prefix: str = "") -> list[str]:
    """A report's numbers as ``path = value`` lines (lists and settings left out)."""
    lines = []
    for key, value in report.items():
        if isinstance(value, dict) and key != "settings":
            lines += summary(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            lines.append(f"{prefix}{key} = {value:.4g}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """``python -m bertguide.experiments.family_runs [NAME ...]``: print the results
    (runs if needed)."""
    parser = argparse.ArgumentParser(description="The BERT family's measured runs.")
    parser.add_argument("names", nargs="*", help=f"some of {', '.join(RUNS)} (default: all)")
    names = parser.parse_args(argv).names or list(RUNS)
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        parser.error(f"unknown run(s) {unknown}; choose from {list(RUNS)}")
    for name in names:
        print(f"{name}:", *summary(run_report(name)), sep="\n  ", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
