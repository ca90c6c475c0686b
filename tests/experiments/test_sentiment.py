"""The sentiment comparison's fine-tuning recipe and its cache, on a tiny stand-in encoder.

No test here fine-tunes the embedded model: the encoder is a 1-layer, 32-wide BERT with
the embedded vocabulary, and the cache lives in a temporary ``BERTGUIDE_CACHE``.
"""

from __future__ import annotations

import json
import statistics

import pytest
import torch
import torch.nn.functional as F

from bertguide.config import BertConfig
from bertguide.experiments import sentiment, sentiment_ablation, store
from bertguide.experiments.sentiment import FineTuneSettings, MeanPooledClassifier
from bertguide.finetuning import BertForSequenceClassification
from bertguide.model import BertModel

FAST = FineTuneSettings(num_epochs=1, batch_size=8, learning_rate=1e-3, threads=1)


@pytest.fixture(scope="module")
def encoder(tok):
    torch.manual_seed(0)
    config = BertConfig.tiny(
        vocab_size=len(tok), num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=128
    )
    return BertModel(config).eval()


def test_mean_pool_by_hand():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])  # (1, 3, 2)
    pooled = sentiment.mean_pool(hidden, torch.tensor([[1, 1, 0]]))
    assert pooled.tolist() == [[2.0, 3.0]]  # the padded third token left out


def test_the_mean_pooled_head_reads_the_mean_of_the_tokens(encoder, tok):
    model = sentiment.classifier_on(encoder, FAST).eval()
    assert isinstance(model, MeanPooledClassifier) and not model.uses_pooler
    batch = tok(["a fine film", "a much longer and duller film"], padding=True)
    labels = torch.tensor([1, 0])
    out = model(**batch, labels=labels)
    with torch.no_grad():
        hidden = encoder(**batch).last_hidden_state  # the encoder's weights were copied
        mask = batch["attention_mask"].unsqueeze(-1).float()
        expected = model.classifier((hidden * mask).sum(1) / mask.sum(1))
    torch.testing.assert_close(out.logits, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.loss, F.cross_entropy(expected, labels), atol=1e-5, rtol=0)
    cls = sentiment.classifier_on(encoder, FAST.replace(pooling="cls"))
    assert type(cls) is BertForSequenceClassification and cls.uses_pooler


def test_classifier_on_copies_the_encoder_and_sets_dropout(encoder):
    model = sentiment.classifier_on(encoder, FAST.replace(dropout=0.25, seed=3))
    key = "encoder.layer.0.attention.self.query.weight"
    assert torch.equal(model.bert.state_dict()[key], encoder.state_dict()[key])
    assert model.bert.state_dict()[key].data_ptr() != encoder.state_dict()[key].data_ptr()
    probabilities = {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)}
    assert probabilities == {0.25}
    again = sentiment.classifier_on(encoder, FAST.replace(seed=3))
    assert torch.equal(model.classifier.weight, again.classifier.weight)  # seeded head
    with pytest.raises(TypeError, match="encoder must be a BertModel"):
        sentiment.classifier_on(model, FAST)


def test_settings_make_the_training_config():
    config = FineTuneSettings().training_config(160)
    assert (config.max_steps, config.batch_size, config.warmup_steps) == (100, 8, 10)
    assert config.learning_rate == 5e-5
    assert config.lr_multipliers == {
        "classifier.": 50.0,
        "bert.embeddings.word_embeddings.": 0.0,
    }
    small = FineTuneSettings(min_steps=20, batch_size=16).training_config(20)
    assert (small.max_steps, small.batch_size) == (20, 16)
    frozen = FineTuneSettings(freeze_encoder=True).training_config(32).lr_multipliers
    assert frozen["bert."] == 0.0
    with pytest.raises(ValueError, match="pooling must be one of"):
        FineTuneSettings(pooling="max")
    with pytest.raises(ValueError, match="num_epochs must be an int >= 1"):
        FineTuneSettings(num_epochs=0)


def test_fine_tune_trains_and_predict_reads_labels(encoder, tok):
    texts = ["a fine film", "dull", "great acting", "a waste of time"] * 4
    labels = [1, 0, 1, 0] * 4
    model, history = sentiment.fine_tune(encoder, texts, labels, FAST.replace(num_epochs=3))
    assert len(history.loss) == 3 * (16 // 8) and not model.training
    frozen = model.bert.embeddings.word_embeddings.weight
    assert torch.equal(frozen, encoder.embeddings.word_embeddings.weight)  # kept fixed
    moved = "encoder.layer.0.output.dense.weight"
    assert not torch.equal(model.bert.state_dict()[moved], encoder.state_dict()[moved])
    predicted = sentiment.predict(model, texts[:4], tok)
    assert predicted.shape == (4,) and set(predicted.tolist()) <= {0, 1}
    with pytest.raises(ValueError, match="the same length"):
        sentiment.fine_tune(encoder, texts, labels[:3], FAST)


def test_cross_validation_uses_one_set_of_folds_for_all_models(encoder):
    results = sentiment.cross_validate(n_splits=5, settings=FAST, encoder=encoder)
    assert list(results) == [*sentiment.MODELS, "seconds"]
    assert results["majority"] == [0.5] * 5
    for name in sentiment.MODELS:
        assert len(results[name]) == 5
        assert all(abs(a * 40 - round(a * 40)) < 1e-4 for a in results[name])
    again = sentiment.cross_validate(
        n_splits=5, settings=FAST, encoder=encoder, models=("bert_finetuned",)
    )
    assert again["bert_finetuned"] == results["bert_finetuned"]  # seeded
    folds = sentiment.stratified_folds(sentiment.load_polarity()[1], 5, 0)
    assert sorted(i for _, test in folds for i in test) == list(range(200))


def test_the_cross_validation_is_cached(monkeypatch, tmp_path, encoder, capfd):
    monkeypatch.setenv("BERTGUIDE_CACHE", str(tmp_path))
    real = sentiment.cross_validate
    calls = []

    def tiny(n_splits, seed, settings, keep_model=None, sentences=None):
        calls.append(seed)
        return real(n_splits, seed, FAST, keep_model=keep_model, encoder=encoder)

    monkeypatch.setattr(sentiment, "cross_validate", tiny)
    run = sentiment.CrossValidationRun(settings=FAST)
    report = sentiment.cross_validated(run)
    assert "cross-validating four sentiment models" in capfd.readouterr().err
    assert list(report["results"]) == [*sentiment.MODELS, "seconds"]
    assert report["settings"]["pooling"] == "mean" and report["n_splits"] == 5
    folder = store.cache_directory("sentiment-cv", run)
    assert json.loads((folder / "config.json").read_text())["hidden_size"] == 32
    kept = MeanPooledClassifier.from_pretrained(folder)
    assert kept.head_loaded
    assert sentiment.cross_validated(run) == report and calls == [0]
    assert capfd.readouterr().err == ""


def test_the_shipped_ablation_was_measured_on_the_selection_split():
    """The table the chapter shows: every row of ABLATION, measured on seed 1's folds."""
    table = sentiment_ablation.measured_ablation()
    assert table["seed"] == sentiment_ablation.SELECTION_SEED != 0  # not the folds reported
    labels = [label for label, _ in sentiment_ablation.ABLATION]
    assert [row["setting"] for row in table["rows"]] == labels
    for row in table["rows"]:
        assert len(row["folds"]) == table["n_splits"] == 5
        assert row["mean"] == pytest.approx(statistics.mean(row["folds"]))
        assert row["std"] == pytest.approx(statistics.stdev(row["folds"]))
    assert len(table["features"]) == 5
    lines = sentiment_ablation.format_ablation(table).splitlines()
    assert len(lines) == len(sentiment_ablation.ABLATION) + 1 and lines[1].startswith("defaults")
