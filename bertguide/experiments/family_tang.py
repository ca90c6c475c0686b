"""The BERT family chapter's Tang et al. run: a BiLSTM taught by a BERT classifier.

Serves the chapter "The BERT family" (one of the four runs of
``bertguide.experiments.family_runs``, which ships its report). Tang et al. (2019)
distil a fine-tuned BERT into a single-layer BiLSTM, training it on the teacher's
logits over the labelled sentences and over augmented copies of them (here: copies
with some tokens masked, and unlabelled corpus sentences the teacher scores). The
teacher here is the chapter's frozen-encoder sentiment classifier (mean-pooled BERT
features and a logistic regression), scored on stratified folds of the 200 polarity
sentences; the student is ``bertguide.family.distillation.BiLstmClassifier`` trained
on the labels alone and on the teacher's logits, and both are timed on the same
sentences. Dimension legend: B = batch, T = tokens, C = hidden size, N = sentences.

Left out: the paper's datasets (SST-2, MNLI, QQP), its part-of-speech-guided word
swaps and n-gram sampling, and several seeds.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F

from bertguide.experiments.family_helpers import (
    best_time,
    encode_all,
    fit,
    pooled_from_ids,
    sentences,
)
from bertguide.family.distillation import BiLstmClassifier
from bertguide.model import BertModel, count_parameters, mean_pool
from bertguide.tokenizer import WordPieceTokenizer


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


def mask_copy(ids: list[int], tok, p: float, rng: random.Random) -> list[int]:
    """Tang et al.'s masking augmentation: each non-special token -> [MASK] with prob. p."""
    special = {tok.cls_token_id, tok.sep_token_id}
    return [tok.mask_token_id if i not in special and rng.random() < p else i for i in ids]


def tang_collate(items: list[dict]) -> dict:
    """Pad a list of examples into a batch: input_ids, attention_mask, target."""
    T = max(len(e["input_ids"]) for e in items)
    ids = torch.tensor([e["input_ids"] + [0] * (T - len(e["input_ids"])) for e in items])
    return {
        "input_ids": ids,
        "attention_mask": (ids != 0).long(),
        "target": torch.stack([e["target"] for e in items]),
    }


def tang_loss(model, batch, distilled: bool) -> torch.Tensor:
    """Mean squared error to the teacher's logits, or cross-entropy to the labels."""
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
    loss_fn = partial(tang_loss, distilled=distilled)
    frozen = {"embeddings.": 0.0}
    steps = epochs * (len(data) // s.batch_size)
    fit(student, data, steps, s, tang_collate, loss_fn, lr_multipliers=frozen)
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
        test = tang_collate([{**examples[i], "target": y[i]} for i in test_idx])
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
