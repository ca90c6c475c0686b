"""The trained weights that ship in the package: small, hash-checked, and the model's own."""

from __future__ import annotations

import pytest
import torch

from bertguide.experiments import store, weights
from bertguide.experiments.cloze import CLOZE, KINDS, cloze_scores
from bertguide.pretrained import sha256_file

MB = 1_000_000


@pytest.fixture(scope="module")
def restored():
    return weights.load_restored()


def test_the_restored_weights_are_small_and_hash_checked():
    entry = store.shipped_record("restored-heads")["weights"]
    path = weights.weights_path("restored-heads")
    assert path.stat().st_size == entry["bytes"] <= 25 * MB
    assert sha256_file(path) == entry["sha256"] and entry["dtype"] == "float16"


def test_a_damaged_weights_file_is_refused(monkeypatch, tmp_path):
    from bertguide import inference

    (tmp_path / "weights").mkdir()
    (tmp_path / "runs").mkdir()
    damaged = tmp_path / "weights" / "restored-heads.safetensors"
    damaged.write_bytes(weights.weights_path("restored-heads").read_bytes()[:-1] + b"\0")
    record = store.shipped_path("restored-heads")
    (tmp_path / "runs" / record.name).write_text(record.read_text())
    monkeypatch.setattr(inference, "SHIPPED", tmp_path)
    with pytest.raises(ValueError, match=r"restored-heads\.safetensors has SHA-256 .* reinstall"):
        weights.read_checked("restored-heads")


def test_the_shipped_weights_decide_as_the_trained_float32_model(restored):
    """Top-5 tokens at 64 held-out pairs' masked positions and their IsNext decisions."""
    entry = store.shipped_record("restored-heads")["weights"]
    from bertguide.experiments.restoring import decision_batches

    found = weights.decisions(restored, decision_batches())
    found = weights.agreement(found, entry["decisions"])
    assert found == entry["agreement"]
    assert found["top1"] == 1.0 and found["next_sentence"] == 1.0
    assert found["top5"] >= 0.98  # a near-tie at rank 5 may swap in float16


def test_only_what_training_changed_ships(restored):
    changed = weights.read_checked("restored-heads")
    assert "bert.embeddings.word_embeddings.weight" not in changed
    assert {"cls.predictions.bias", "cls.seq_relationship.weight"} <= set(changed)
    assert all(t.dtype == torch.float16 for t in changed.values())
    assert (
        restored.cls.predictions.decoder.weight is restored.bert.embeddings.word_embeddings.weight
    )


def test_fill_mask_uses_the_shipped_model_and_trains_nothing(monkeypatch, tmp_path):
    import bertguide as bg
    from bertguide.experiments import restoring

    monkeypatch.setenv("BERTGUIDE_CACHE", str(tmp_path))
    restoring.forget_loaded()
    text = "The capital of France is [MASK]."
    assert bg.fill_mask(text) == bg.fill_mask(text, model=weights.load_restored())
    assert list(tmp_path.iterdir()) == []


def test_the_cloze_sentences_are_well_formed():
    from bertguide.tokenizer import WordPieceTokenizer

    tokenizer = WordPieceTokenizer.from_pretrained()
    assert len(CLOZE) >= 36 and {kind for kind, _, _ in CLOZE} == set(KINDS)
    for _, sentence, answer in CLOZE:
        assert sentence.count("[MASK]") == 1
        assert tokenizer.tokenize(answer) == [answer], answer


def test_the_shipped_cloze_scores_are_the_shipped_models(restored):
    report = store.shipped_record("restored-heads")["report"]
    scores = cloze_scores(restored)
    assert scores["top5"] == pytest.approx(report["cloze"]["top5"], abs=1 / len(CLOZE))
    assert scores["top1"] == pytest.approx(report["cloze"]["top1"], abs=1 / len(CLOZE))


def test_the_tiny_gpt_ships_whole():
    from bertguide.experiments.tiny_gpt import tiny_gpt

    model, report = tiny_gpt()
    assert weights.weights_path("tiny-gpt").stat().st_size < MB
    assert report == store.shipped_record("tiny-gpt")["report"]
    assert not model.training
