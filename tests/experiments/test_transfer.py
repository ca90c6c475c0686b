"""The transfer-learning measurement, on tiny stand-in encoders and a temporary cache.

No test here loads the compact student or runs the real learning curves: the encoders
are 1-layer, 32-wide BERTs with the embedded vocabulary (``transfer.ENCODERS`` swapped),
and the cache lives in a temporary ``BERTGUIDE_CACHE``.
"""

from __future__ import annotations

import itertools
import json

import pytest
import torch

from bertguide.config import BertConfig
from bertguide.experiments import store, transfer
from bertguide.experiments.sentiment import FineTuneSettings, load_polarity, stratified_folds
from bertguide.finetuning import BertForSequenceClassification
from bertguide.model import BertModel
from bertguide.tokenizer import WordPieceTokenizer

RECIPE = FineTuneSettings(num_epochs=1, batch_size=4, learning_rate=1e-3, threads=1)
TINY = transfer.TransferSettings(sizes=(4, 8), min_steps=2, minilm=RECIPE, compact=RECIPE)


def tiny_encoder(hidden: int, pretrained: bool) -> BertModel:
    """A stand-in: the 'pre-trained' one and the 'random' one differ by their seed."""
    config = BertConfig(
        vocab_size=len(WordPieceTokenizer.from_pretrained()),
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
    )
    return transfer.random_like(config, seed=1 if pretrained else 2)


@pytest.fixture
def stand_ins(monkeypatch, tmp_path):
    monkeypatch.setenv("BERTGUIDE_CACHE", str(tmp_path))
    calls = []

    def make(hidden):
        def encoder(pretrained):
            calls.append((hidden, pretrained))
            return tiny_encoder(hidden, pretrained)

        return encoder

    monkeypatch.setitem(transfer.ENCODERS, "minilm", make(32))
    monkeypatch.setitem(transfer.ENCODERS, "compact", make(16))
    return calls


def test_nested_subsets_are_balanced_nested_and_seeded():
    _, labels = load_polarity()
    train_idx, test_idx = stratified_folds(labels, 5, 0)[0]
    subsets = transfer.nested_subsets(labels, train_idx, (20, 40, 80, 160))
    assert [len(s) for s in subsets] == [20, 40, 80, 160]
    for small, large in itertools.pairwise(subsets):
        assert large[: len(small)] == small  # each set holds the one before it
    for subset in subsets:
        assert sum(labels[i] for i in subset) == len(subset) // 2  # balanced
        assert not set(subset) & set(test_idx)
    assert sorted(subsets[-1]) == sorted(train_idx)
    assert transfer.nested_subsets(labels, train_idx, (20,), seed=1)[0] != subsets[0]
    # by hand: class 0 = [0, 2, 4, 6, 8] and class 1 = [1, 3, 5, 7, 9], each shuffled by
    # random.Random(0), then interleaved 0, 1, 0, 1, ...
    assert transfer.nested_subsets([0, 1] * 5, list(range(10)), (2, 4)) == [[4, 1], [4, 1, 2, 5]]
    with pytest.raises(ValueError, match="the pool has 10"):
        transfer.nested_subsets([0, 1] * 5, list(range(10)), (12,))


def test_settings_are_checked():
    with pytest.raises(ValueError, match="sizes must increase"):
        transfer.TransferSettings(sizes=(40, 20))
    with pytest.raises(ValueError, match="shapes must be"):
        transfer.TransferSettings(shapes=("bert-large",))
    with pytest.raises(ValueError, match="test_fold"):
        transfer.TransferSettings(test_fold=5)
    with pytest.raises(TypeError, match="config must be a BertConfig"):
        transfer.random_like({"hidden_size": 32})


def test_random_like_is_seeded_and_has_the_shape():
    config = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32,
    )  # fmt: skip
    a, b, c = (
        transfer.random_like(config),
        transfer.random_like(config),
        transfer.random_like(config, seed=1),
    )
    assert a.config.num_hidden_layers == 2 and not a.training
    weight = "encoder.layer.0.attention.self.query.weight"
    assert torch.equal(a.state_dict()[weight], b.state_dict()[weight])
    assert not torch.equal(a.state_dict()[weight], c.state_dict()[weight])


def test_learning_curves_are_measured_once_and_cached(stand_ins, capfd):
    kept, lines = [], []
    curves = transfer.learning_curves(TINY, keep_model=kept.append, log=lines.append)
    names = ["minilm/pretrained", "minilm/random", "compact/pretrained", "compact/random"]
    assert list(curves["accuracy"]) == names and curves["sizes"] == [4, 8]
    assert curves["test_size"] == 40
    assert stand_ins == [(32, True), (32, False), (16, True), (16, False)]
    for scores in curves["accuracy"].values():
        assert len(scores) == 2
        for a in scores:  # a share of 40 test sentences
            assert 0 <= a <= 1 and abs(a * 40 - round(a * 40)) < 1e-4
    assert len(kept) == 1 and isinstance(kept[0], BertForSequenceClassification)
    assert kept[0].config.hidden_size == 16  # the compact (stand-in), pre-trained, N = 8
    assert [line.split()[0] for line in lines] == names
    table = transfer.format_curves(curves).splitlines()
    assert table[0].split() == ["encoder", "4", "8"]
    assert table[1].split()[1] == f"{curves['accuracy']['minilm/pretrained'][0]:.3f}"

    capfd.readouterr()
    report = transfer.transfer_report(TINY)
    assert "fine-tuning 4 encoders on 4 training sizes" in capfd.readouterr().err
    assert report["accuracy"] == curves["accuracy"]  # seeded: the same numbers again
    folder = store.cache_directory("transfer-curves", TINY)
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "model.safetensors",
        "report.json",
        "vocab.txt",
    ]
    assert json.loads((folder / "config.json").read_text())["hidden_size"] == 16
    assert report["sizes"] == [4, 8] and report["wall_time_s"] > 0
    calls = len(stand_ins)
    assert transfer.transfer_report(TINY) == report
    assert len(stand_ins) == calls and capfd.readouterr().err == ""
