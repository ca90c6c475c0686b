"""Sentiment of movie-review sentences: four models compared on the same folds.

Chapter: Fine-tuning and transfer learning. The data are the 200 labelled sentences of
Pang & Lee's polarity corpus that gensim ships (``bertguide.corpus.polarity``, 100
negative and 100 positive). 200 sentences are few, so one train/test split would say
little: ``cross_validate`` runs stratified k-fold cross-validation and fits, on the
same folds,

1. a majority baseline (always the most frequent label of the training folds);
2. logistic regression on TF-IDF of words and word pairs;
3. logistic regression on frozen BERT features: the mean of the last layer's token
   vectors (padding left out), computed once for all sentences;
4. full fine-tuning: ``BertForSequenceClassification`` (the encoder and a fresh head)
   trained with ``bertguide.training.train``.

Dimension legend: N = sentences, C = hidden size, B = batch size, T = tokens.

>>> results = cross_validate(n_splits=5)        # minutes: the fine-tuning dominates
>>> print(summary(results))                     # accuracy, mean ± std over the folds

scikit-learn is needed (``pip install bertguide[test]``); it is imported when called.
Left out: hyper-parameter search (2 epochs, batch 16, learning rate 1e-4 were not
tuned), other corpora and metrics other than accuracy.
"""

from __future__ import annotations

import logging
import statistics
import time

import torch

from bertguide.corpus import polarity
from bertguide.finetuning import BertForSequenceClassification
from bertguide.model import BertModel
from bertguide.tokenizer import WordPieceTokenizer
from bertguide.training import TrainingConfig, train

MODELS = ("majority", "tfidf_logreg", "bert_features_logreg", "bert_finetuned")


def load_polarity() -> tuple[list[str], list[int]]:
    """The 200 sentences and their labels (0 = negative, 1 = positive)."""
    pairs = polarity()
    return [text for _, text in pairs], [int(label == "pos") for label, _ in pairs]


@torch.no_grad()
def mean_pooled_features(
    texts: list[str],
    model: BertModel,
    tokenizer: WordPieceTokenizer,
    batch_size: int = 32,
    max_length: int = 128,
) -> torch.Tensor:
    """Texts -> (N, C): the mean of each text's last-layer token vectors, [CLS] and
    [SEP] included, padding left out (what sentence-transformers does).

    >>> mean_pooled_features(["a fine film", "a dull one"], model, tok).shape
    torch.Size([2, 384])
    """
    model.eval()
    rows = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(
            texts[start : start + batch_size], padding=True, truncation=True, max_length=max_length
        )
        hidden = model(**batch).last_hidden_state  # (B, T, C)
        mask = batch["attention_mask"].unsqueeze(-1).float()  # (B, T, 1)
        rows.append((hidden * mask).sum(1) / mask.sum(1))  # (B, C)
    return torch.cat(rows)


def _trim_collate(examples: list[dict]) -> dict:
    """Stack examples padded to one length, then cut the columns no row uses."""
    batch = {k: torch.stack([e[k] for e in examples]) for k in examples[0]}
    T = int(batch["attention_mask"].sum(1).max())
    return {k: (v[:, :T] if v.dim() == 2 else v) for k, v in batch.items()}


def _fine_tune_accuracy(
    encoded: dict, labels: torch.Tensor, train_idx, test_idx, config: TrainingConfig
) -> float:
    model = BertForSequenceClassification.from_pretrained(num_labels=2, seed=config.seed)
    examples = [{**{k: v[i] for k, v in encoded.items()}, "labels": labels[i]} for i in train_idx]
    train(model, examples, config, collate_fn=_trim_collate)
    model.eval()
    with torch.no_grad():
        batch = _trim_collate([{k: v[i] for k, v in encoded.items()} for i in test_idx])
        predictions = model(**batch).logits.argmax(-1)  # (N_test,)
    return (predictions == labels[test_idx]).float().mean().item()


def cross_validate(
    n_splits: int = 5,
    seed: int = 0,
    num_epochs: int = 2,
    batch_size: int = 16,
    learning_rate: float = 1e-4,
    models: tuple[str, ...] = MODELS,
) -> dict[str, list[float]]:
    """Accuracy of each model on each held-out fold, the same folds for all models.

    Returns ``{model name: [accuracy of fold 1, ..., fold k]}`` and, under
    ``"seconds"``, the wall time each model took over all folds.

    >>> results = cross_validate(n_splits=5, models=("majority", "tfidf_logreg"))
    >>> len(results["majority"])
    5
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; choose from {MODELS}")
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 2:
        raise ValueError(f"n_splits must be an int >= 2, got {n_splits!r}")
    texts, labels = load_polarity()
    y = torch.tensor(labels)
    folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(texts, labels))
    results: dict[str, list[float]] = {m: [] for m in models}
    seconds = dict.fromkeys(models, 0.0)
    tokenizer = WordPieceTokenizer.from_pretrained()

    def accuracy(predicted, test_idx) -> float:
        return float((torch.as_tensor(predicted) == y[test_idx]).float().mean())

    features = encoded = None
    if "bert_features_logreg" in models:
        start = time.perf_counter()
        features = mean_pooled_features(texts, BertModel.from_pretrained(), tokenizer).numpy()
        seconds["bert_features_logreg"] += time.perf_counter() - start
    if "bert_finetuned" in models:
        encoded = dict(tokenizer(texts, padding=True, truncation=True, max_length=64))
        config = TrainingConfig(
            num_epochs=num_epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            warmup_steps=max(1, num_epochs * (len(texts) * (n_splits - 1) // n_splits)
                             // batch_size // 10),
            seed=seed,
            show_progress=False,
        )  # fmt: skip
    quiet = logging.getLogger("bertguide.finetuning")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "fresh head" warnings: expected, once per fold
    try:
        for train_idx, test_idx in folds:
            y_train = [labels[i] for i in train_idx]
            for name in models:
                start = time.perf_counter()
                if name == "majority":
                    majority = max((0, 1), key=y_train.count)
                    score = accuracy([majority] * len(test_idx), test_idx)
                elif name == "tfidf_logreg":
                    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
                    train_x = vectorizer.fit_transform([texts[i] for i in train_idx])
                    classifier = LogisticRegression(C=10.0, max_iter=1000)
                    classifier.fit(train_x, y_train)
                    test_x = vectorizer.transform([texts[i] for i in test_idx])
                    score = accuracy(classifier.predict(test_x), test_idx)
                elif name == "bert_features_logreg":
                    classifier = LogisticRegression(C=1.0, max_iter=2000)
                    classifier.fit(features[train_idx], y_train)
                    score = accuracy(classifier.predict(features[test_idx]), test_idx)
                else:
                    score = _fine_tune_accuracy(encoded, y, train_idx, test_idx, config)
                results[name].append(score)
                seconds[name] += time.perf_counter() - start
    finally:
        quiet.setLevel(level)
    results["seconds"] = [seconds[m] for m in models]
    return results


def summary(results: dict[str, list[float]]) -> str:
    """A text table: each model's accuracy as mean ± standard deviation over the folds.

    >>> print(summary({"majority": [0.5, 0.5], "seconds": [0.0]}))
    model                  accuracy          seconds
    majority               0.500 ± 0.000        0.0
    """
    names = [m for m in results if m != "seconds"]
    seconds = results.get("seconds", [float("nan")] * len(names))
    lines = [f"{'model':<22} {'accuracy':<15} {'seconds':>9}"]
    for name, time_s in zip(names, seconds, strict=False):
        scores = results[name]
        std = statistics.stdev(scores) if len(scores) > 1 else 0.0
        lines.append(f"{name:<22} {statistics.mean(scores):.3f} ± {std:.3f}  {time_s:>9.1f}")
    return "\n".join(lines)
