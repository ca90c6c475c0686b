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
import random
import statistics
import sys
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.corpus import sentence_documents
from bertguide.experiments.family_helpers import (
    best_time,
    compact_vocab,
    encode_all,
    fit,
    masked_batches,
    mlm_accuracy,
    small_bert,
    timed,
)
from bertguide.family.distillation import (
    BiLstmClassifier,
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

CORPORA = ("wikipedia", "lee")  # the offline corpora the runs read (train / held-out split)


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


@dataclass(frozen=True)
class TangSettings:
    """A BiLSTM distilled from a BERT sentiment classifier (Tang et al., 2019)."""

    folds: int = 5  # stratified folds over the 200 polarity sentences
    hidden_size: int = 128  # LSTM width per direction
    mlp_size: int = 128
    label_epochs: int = 12  # the BiLSTM trained on the labels alone
    distill_epochs: int = 3  # the BiLSTM trained on the teacher's logits (more data)
    batch_size: int = 16
    learning_rate: float = 2e-3
    masked_copies: int = 2  # Tang's masking augmentation: copies of each sentence
    mask_probability: float = 0.1  # share of a copy's tokens replaced by [MASK]
    corpus_sentences: int = 400  # unlabelled Wikipedia / Lee sentences, teacher-scored
    max_length: int = 64
    threads: int = 2
    seed: int = 0


# --- shared pieces ----------------------------------------------------------------------


def sentences(split: str, n: int, seed: int, min_words: int = 5) -> list[str]:
    """``n`` sentences of at least ``min_words`` words from Wikipedia and Lee's ``split``
    documents, drawn with ``seed`` (all of them when there are fewer)."""
    pool = [
        s
        for corpus in CORPORA
        for document in sentence_documents(corpus, split)
        for s in document
        if len(s.split()) >= min_words
    ]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def packed(split: str, n: int, tok, max_length: int, seed: int) -> list[dict]:
    """``n`` RoBERTa FULL-SENTENCES inputs (``pack_full_sentences``) from ``split``."""
    from bertguide.family.roberta import pack_full_sentences

    docs = [d for c in CORPORA for d in sentence_documents(c, split)]
    random.Random(seed).shuffle(docs)
    out = []
    for start in range(0, len(docs), 20):  # a few documents at a time: stop early
        out += pack_full_sentences(docs[start : start + 20], tok, max_length=max_length)
        if len(out) >= n + 20:
            break
    return [{"input_ids": e["input_ids"]} for e in out if len(e["input_ids"]) > 8][:n]


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


def distillation_loss_fn(student, batch, teacher, temperature: float, weights) -> torch.Tensor:
    """DistilBERT's loss of one batch: w_soft soft targets + w_mlm MLM + w_cos cosine."""
    mask = batch["labels"] != IGNORE_INDEX  # (B, T)
    with torch.no_grad():
        target = teacher(batch["input_ids"], batch["attention_mask"], labels=batch["labels"])
    hidden, logits = student(batch["input_ids"], batch["attention_mask"], mask)
    soft = soft_target_loss(logits, target.prediction_logits, temperature)
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
        t = teacher(batch["input_ids"], batch["attention_mask"], labels=batch["labels"])
        hidden, logits = student(batch["input_ids"], batch["attention_mask"], mask)
        targets = batch["labels"][mask]
        guess_s, guess_t = logits.argmax(-1), t.prediction_logits.argmax(-1)  # (M,)
        same += int((guess_s == guess_t).sum())
        right_s += int((guess_s == targets).sum())
        right_t += int((guess_t == targets).sum())
        total += targets.numel()
        soft += float(soft_target_loss(logits, t.prediction_logits, temperature)) * len(targets)
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


# --- Tang et al.: a BiLSTM taught by a BERT sentiment classifier ---------------------------


@torch.no_grad()
def pooled_from_ids(encoder: BertModel, examples: list[dict], batch_size: int = 64):
    """(N, C) mean-pooled last-layer vectors of examples given as token ids."""
    collate = PreTrainingCollator(WordPieceTokenizer.from_pretrained(), mlm=False)
    rows = []
    for i in range(0, len(examples), batch_size):
        batch = collate(examples[i : i + batch_size])
        hidden = encoder(batch["input_ids"], batch["attention_mask"]).last_hidden_state
        rows.append(mean_pool(hidden, batch["attention_mask"]))  # (B, C)
    return torch.cat(rows)


def mask_copy(ids: list[int], tok, p: float, rng: random.Random) -> list[int]:
    """Tang et al.'s masking augmentation: each non-special token -> [MASK] with prob. p."""
    special = {tok.cls_token_id, tok.sep_token_id}
    return [tok.mask_token_id if i not in special and rng.random() < p else i for i in ids]


def _tang_collate(items: list[dict]) -> dict:
    T = max(len(e["input_ids"]) for e in items)
    ids = torch.tensor([e["input_ids"] + [0] * (T - len(e["input_ids"])) for e in items])
    return {
        "input_ids": ids,
        "attention_mask": (ids != 0).long(),
        "target": torch.stack([e["target"] for e in items]),
    }


def _tang_loss(model, batch, distilled: bool) -> torch.Tensor:
    logits = model(batch["input_ids"], batch["attention_mask"])  # (B, 2)
    if distilled:  # Tang et al.: mean squared error to the teacher's logits
        return F.mse_loss(logits, batch["target"])
    return F.cross_entropy(logits, batch["target"])


def train_bilstm(data: list[dict], bert: BertModel, s: TangSettings, distilled: bool, fold: int):
    """A ``BiLstmClassifier`` on ``data`` (``input_ids``, ``target``: a label, or the
    teacher's two logits when ``distilled``), its word vectors the embedded BERT's, fixed."""
    torch.manual_seed(s.seed + fold)
    V, E = bert.embeddings.word_embeddings.weight.shape
    student = BiLstmClassifier(
        V, 2, embedding_size=E, hidden_size=s.hidden_size, mlp_size=s.mlp_size
    )
    with torch.no_grad():
        student.embeddings.weight.copy_(bert.embeddings.word_embeddings.weight)
    epochs = s.distill_epochs if distilled else s.label_epochs
    loss_fn = partial(_tang_loss, distilled=distilled)
    frozen = {"embeddings.": 0.0}
    steps = epochs * (len(data) // s.batch_size)
    fit(student, data, steps, s, _tang_collate, loss_fn, lr_multipliers=frozen)
    return student.eval()


def run_tang(settings: TangSettings = TangSettings()):
    """Teacher, BiLSTM on labels, BiLSTM distilled, per fold; return (last BiLSTM, report)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from bertguide.experiments.sentiment import load_polarity, mean_pooled_features

    s, tok, rng = settings, WordPieceTokenizer.from_pretrained(), random.Random(settings.seed)
    bert = BertModel.from_pretrained().eval()
    texts, labels = load_polarity()
    y, n = torch.tensor(labels), len(texts)
    examples = encode_all(texts, tok, s.max_length)
    features = mean_pooled_features(texts, bert, tok).numpy()  # (N, C)
    # unlabelled data: masked copies of every sentence (copy k of sentence i at row
    # k * N + i), then sentences of the offline corpora; the teacher reads them all
    extra = [
        {"input_ids": mask_copy(e["input_ids"], tok, s.mask_probability, rng), "source": i}
        for _ in range(s.masked_copies)
        for i, e in enumerate(examples)
    ]
    extra += encode_all(sentences("train", s.corpus_sentences, s.seed), tok, s.max_length)
    extra_features = pooled_from_ids(bert, extra).numpy()  # (N_extra, C)
    folds = StratifiedKFold(s.folds, shuffle=True, random_state=s.seed).split(texts, labels)
    scores: dict[str, list[float]] = {"teacher": [], "bilstm_labels": [], "bilstm_distilled": []}
    for fold, (train_idx, test_idx) in enumerate(folds):
        teacher = LogisticRegression(C=1.0, max_iter=2000).fit(features[train_idx], y[train_idx])
        scores["teacher"].append(float(teacher.score(features[test_idx], y[test_idx])))
        training = set(train_idx.tolist())
        rows = [r for r, e in enumerate(extra) if e.get("source", -1) in training | {-1}]
        distill = [examples[i] for i in train_idx] + [extra[r] for r in rows]
        targets = teacher_logits(teacher, [*features[train_idx], *extra_features[rows]])
        label_data = [{**examples[i], "target": y[i]} for i in train_idx]
        soft_data = [{**e, "target": t} for e, t in zip(distill, targets, strict=True)]
        test = _tang_collate([{**examples[i], "target": y[i]} for i in test_idx])
        for name, data in (("bilstm_labels", label_data), ("bilstm_distilled", soft_data)):
            student = train_bilstm(data, bert, s, distilled=name == "bilstm_distilled", fold=fold)
            with torch.no_grad():
                guess = student(test["input_ids"], test["attention_mask"]).argmax(-1)
            scores[name].append(float((guess == test["target"]).float().mean()))
    batches = [
        tok(texts[i : i + 32], padding=True, truncation=True, max_length=s.max_length)
        for i in range(0, n, 32)
    ]

    def classify(b):  # the teacher's whole path: encoder, mean-pooling, linear model
        return teacher.decision_function(
            mean_pool(bert(**b).last_hidden_state, b["attention_mask"])
        )

    teacher_s = best_time(classify, batches, 3)
    student_s = best_time(lambda b: student(b["input_ids"], b["attention_mask"]), batches, 3)
    return student, {
        "folds": scores,
        "summary": {k: [statistics.mean(v), statistics.stdev(v)] for k, v in scores.items()},
        "teacher_sentences_per_s": n / teacher_s,
        "student_sentences_per_s": n / student_s,
        "speedup": teacher_s / student_s,
        "distillation_sentences": len(distill),
        "bilstm_trained_parameters": count_parameters(student) - student.embeddings.weight.numel(),
        "teacher_parameters": count_parameters(bert) + features.shape[1] + 1,
    }


def teacher_logits(teacher, features) -> torch.Tensor:
    """A binary logistic regression's score z as two centred logits (-z/2, z/2): (N, 2)."""
    z = torch.tensor(teacher.decision_function(features), dtype=torch.float32)  # (N,)
    return torch.stack([-z / 2, z / 2], dim=1)


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
