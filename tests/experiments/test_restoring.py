"""The restoring run's cache, data, measure and default model, on tiny stand-in runs.

No test here runs the real restoring run: a stand-in run trains a 1-layer, 32-wide
BERT for two steps on the Lee corpus, into a temporary cache folder
(``BERTGUIDE_CACHE``), as settings of a reader's own are. The shipped results and
weights are tested in ``tests/experiments``.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from bertguide.experiments import ablation, cache, restoring
from bertguide.inference import default_pretraining_model, fill_mask, next_sentence
from bertguide.pretraining import BertForPreTraining
from bertguide.tokenizer import WordPieceTokenizer

TINY = restoring.RestoringSettings(
    architecture=(1, 32, 2),
    max_steps=2,
    batch_size=4,
    warmup_steps=0,
    learning_rate=1e-3,
    freeze_embeddings=False,
    corpora=("lee",),
    eval_every=None,
    eval_pairs=16,
    threads=1,
)


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    """A cache folder holding the stand-in run, made once; the env var and default set."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BERTGUIDE_CACHE", str(root))
        directory = restoring.restored_directory(TINY)
        yield SimpleNamespace(root=root, directory=directory, patch=patch)


# --- where the cache is, and when it is made again ---------------------------------------


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BERTGUIDE_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "mine"
    monkeypatch.delenv("BERTGUIDE_CACHE")
    assert cache.cache_root() == tmp_path / "xdg" / "bertguide"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_root() == tmp_path / "home" / ".cache" / "bertguide"


def test_a_run_is_announced_with_its_measured_length_and_timed(tmp_path, capfd):
    def run(folder: Path) -> dict:
        for name in ("config.json", "model.safetensors"):
            (folder / name).write_text("{}")
        return {"answer": 42}

    directory = cache.cached_run(
        tmp_path / "restored-heads-00ff", run, "restoring", threads=1, minutes=3.4
    )
    err = capfd.readouterr().err
    assert "restoring: about 3 minutes on 1 CPU core, once; cached in" in err
    report = cache.read_report(directory)
    assert report["answer"] == 42 and 0 <= report["run_seconds"] < 5
    cache.cached_run(tmp_path / "other-run-00ff", run, "another run")
    assert "another run: not yet timed on 2 CPU cores, once" in capfd.readouterr().err


def test_settings_of_ones_own_run_once_and_say_so(monkeypatch, tmp_path, capfd):
    monkeypatch.setenv("BERTGUIDE_CACHE", str(tmp_path))
    settings = TINY.replace(seed=1)
    model = restoring.restored_model(settings)
    err = capfd.readouterr().err
    directory = restoring.restored_directory(settings)
    assert "restoring the MLM and NSP heads of the embedded model" in err
    assert "on 1 CPU core, once" in err and str(directory) in err
    assert sorted(p.name for p in directory.iterdir()) == [
        "config.json",
        "model.safetensors",
        "report.json",
        "vocab.txt",
    ]
    assert [p.name for p in tmp_path.iterdir()] == [directory.name]  # no scratch left
    report = json.loads((directory / "report.json").read_text())
    assert report["steps"] == 2 and report["settings"]["seed"] == 1
    assert len(report["history"]["loss"]) == 2 and 0.0 <= report["mlm_accuracy"] <= 1.0
    assert 0.0 <= report["cloze"]["top5"] <= 1.0
    assert restoring.restoring_report(settings) == report
    # the second time: no message, no run, the same model object
    assert restoring.restored_model(settings) is model
    assert capfd.readouterr().err == ""


def test_an_interrupted_run_leaves_nothing(tmp_path):
    def failing_run(folder: Path) -> dict:
        (folder / "config.json").write_text("{}")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.cached_run(tmp_path / "run-0", failing_run, "a run")
    assert list(tmp_path.iterdir()) == []


# --- the checkpoint it writes ----------------------------------------------------------


def test_the_checkpoint_round_trips_through_both_implementations(tiny_cache):
    import transformers

    directory = tiny_cache.directory
    ours = BertForPreTraining.from_pretrained(directory)
    assert ours.heads_loaded and ours.config.num_hidden_layers == 1
    theirs, info = transformers.BertForPreTraining.from_pretrained(
        directory, output_loading_info=True
    )
    assert info["missing_keys"] == set() or not info["missing_keys"]
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    theirs.eval()
    batch = restoring.heldout_batches(WordPieceTokenizer.from_pretrained(), TINY)[0]
    inputs = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    with torch.no_grad():
        mine = ours(**inputs)
        reference = theirs(**inputs)
    torch.testing.assert_close(
        mine.prediction_logits, reference.prediction_logits, atol=1e-4, rtol=0
    )
    torch.testing.assert_close(
        mine.seq_relationship_logits, reference.seq_relationship_logits, atol=1e-5, rtol=0
    )
    tokenizer = transformers.BertTokenizer.from_pretrained(directory)
    assert tokenizer.vocab_size == ours.config.vocab_size


def test_fill_mask_without_a_model_uses_the_restored_default():
    text = "paris is the [MASK] of france."
    assert fill_mask(text) == fill_mask(text, model=restoring.restored_model())
    assert default_pretraining_model() is restoring.restored_model()
    probability = next_sentence("It rained.", "The streets were wet.")
    assert 0.0 < probability < 1.0


# --- the measure ------------------------------------------------------------------------


class KnownLogits(nn.Module):
    """A stand-in model whose MLM scores favour ``guesses`` and NSP scores ``nsp``."""

    def __init__(self, guesses: torch.Tensor, nsp: torch.Tensor, vocab_size: int = 10):
        super().__init__()
        self.guesses, self.nsp, self.vocab_size = guesses, nsp, vocab_size

    def forward(self, input_ids, labels, next_sentence_label, **unused):
        logits = torch.zeros(*input_ids.shape, self.vocab_size)  # (B, T, V), dense
        logits.scatter_(-1, self.guesses.unsqueeze(-1), 5.0)
        nsp_logits = torch.nn.functional.one_hot(self.nsp, 2).float()  # (B, 2)
        return SimpleNamespace(prediction_logits=logits, seq_relationship_logits=nsp_logits)


def test_evaluate_counts_right_guesses_at_masked_positions_only():
    labels = torch.tensor([[-100, 3, 4, -100], [-100, 7, -100, -100]])  # 3 masked positions
    guesses = torch.tensor([[3, 3, 9, 3], [0, 7, 7, 7]])  # right at (0,1) and (1,1): 2 of 3
    batch = {
        "input_ids": torch.ones(2, 4, dtype=torch.long),
        "labels": labels,
        "next_sentence_label": torch.tensor([0, 1]),
    }
    model = KnownLogits(guesses, nsp=torch.tensor([0, 0]))  # NSP: 1 of 2 right
    metrics = restoring.evaluate(model, [batch, batch])
    assert metrics["mlm_accuracy"] == pytest.approx(2 / 3)
    assert metrics["nsp_accuracy"] == pytest.approx(1 / 2)
    # cross-entropy at a right guess: log(9 + e^5) - 5; at a wrong one: log(9 + e^5)
    right, wrong = (
        torch.log(torch.tensor(9 + torch.e**5)) - 5,
        torch.log(torch.tensor(9 + torch.e**5)),
    )
    assert metrics["mlm_loss"] == pytest.approx(float(2 * right + wrong) / 3, rel=1e-5)
    with pytest.raises(ValueError, match="nothing to evaluate"):
        restoring.evaluate(model, [])


def test_evaluate_reads_the_sparse_logits_of_our_model():
    torch.manual_seed(0)
    model = restoring.BertForPreTraining(restoring.architecture_config((1, 16, 2), 40)).eval()
    batch = {
        "input_ids": torch.randint(5, 40, (3, 6)),
        "token_type_ids": torch.zeros(3, 6, dtype=torch.long),
        "attention_mask": torch.ones(3, 6, dtype=torch.long),
        "labels": torch.full((3, 6), -100).index_put_(
            (torch.tensor([0, 1, 2]), torch.tensor([1, 2, 3])), torch.tensor([7, 8, 9])
        ),
        "next_sentence_label": torch.tensor([0, 1, 1]),
    }
    with torch.no_grad():
        dense = model(**{k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")})
        metrics = restoring.evaluate(model, [batch])
    where = batch["labels"] != -100
    expected = (dense.prediction_logits[where].argmax(-1) == batch["labels"][where]).float().mean()
    nsp = (dense.seq_relationship_logits.argmax(-1) == batch["next_sentence_label"]).float().mean()
    assert metrics["mlm_accuracy"] == pytest.approx(expected.item())
    assert metrics["nsp_accuracy"] == pytest.approx(nsp.item())


# --- the data and the settings -----------------------------------------------------------


def test_length_batches_hold_pairs_of_one_length():
    pairs = [{"input_ids": list(range(n)), "n": i} for i, n in enumerate([9, 5, 7, 5, 9, 7, 6])]
    batches = restoring.length_batches(pairs, batch_size=2, seed=0)
    assert [[len(p["input_ids"]) for p in batch] for batch in batches] == [[5, 5], [6, 7], [7, 9]]
    assert len({p["n"] for batch in batches for p in batch}) == 6  # one pair dropped, none twice
    unsorted = restoring.length_batches(pairs, batch_size=2, seed=0, by_length=False)
    shuffled = list(pairs)
    random.Random(0).shuffle(shuffled)  # the seed's shuffle, cut in order
    assert [p["n"] for batch in unsorted for p in batch] == [p["n"] for p in shuffled[:6]]


def test_unigram_bias_is_the_centred_log_frequency():
    pairs = [{"input_ids": [1, 1, 1, 2]}, {"input_ids": [1, 2, 3]}]
    bias = restoring.unigram_log_frequencies(pairs, vocab_size=5)
    counts = torch.tensor([0, 4, 2, 1, 0]) + 1.0  # add-one smoothing
    torch.testing.assert_close(bias, counts.log() - counts.log().mean())


def test_lr_multipliers_freeze_what_the_settings_say():
    settings = restoring.RestoringSettings(
        frozen_layers=2, head_lr_multiplier=5.0, nsp_lr_multiplier=3.0
    )
    multipliers = restoring.lr_multipliers(settings)
    assert multipliers["cls.predictions."] == 5.0
    assert multipliers["cls.seq_relationship."] == multipliers["bert.pooler."] == 3.0
    assert multipliers["bert.encoder.layer.0."] == multipliers["bert.encoder.layer.1."] == 0.0
    assert "bert.encoder.layer.2." not in multipliers
    assert ("bert.embeddings." in multipliers) == settings.freeze_embeddings


@pytest.mark.parametrize(
    "changes, error, match",
    [
        ({"max_steps": 0}, ValueError, "max_steps must be at least 1"),
        ({"batch_size": 2.0}, TypeError, "batch_size must be an int"),
        ({"precision": "fp16"}, ValueError, "precision must be one of"),
        ({"corpora": ("books",)}, ValueError, "corpora must be"),
        ({"architecture": (2, 64)}, ValueError, "architecture must be"),
        ({"mlm_probability": 0.0}, ValueError, "mlm_probability"),
    ],
)
def test_bad_settings_are_refused(changes, error, match):
    with pytest.raises(error, match=match):
        restoring.RestoringSettings(**changes)


def test_restore_refuses_other_settings():
    with pytest.raises(TypeError, match="settings must be a RestoringSettings"):
        restoring.restore({"max_steps": 2})


def test_the_compact_student_from_random_weights_is_seeded():
    first, second = restoring.compact_student(False), restoring.compact_student(False)
    assert first.config.num_hidden_layers == 4 and first.config.hidden_size == 128
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_the_ablation_table_has_one_line_per_row():
    rows = [
        ablation.AblationRow("best settings", 55.123, 150, 0.3512, 0.9031, 1.5),
        ablation.AblationRow("float32 matrix products", 30.0, None, None, None, 1.5),
    ]
    table = ablation.format_ablation(rows).splitlines()
    assert table[0].split()[:3] == ["setting", "pairs/s", "steps"]
    assert table[1].split()[-4:] == ["55.1", "150", "35.1%", "90.3%"]
    assert table[2].split()[-4:] == ["30.0", "-", "-", "-"]


def test_learning_runs_see_the_same_pairs_whatever_the_batch():
    base = restoring.DEFAULT_SETTINGS
    half = ablation.learning_settings({"batch_size": base.batch_size // 2}, 150, base)
    same = ablation.learning_settings({}, 150, base)
    assert half.max_steps * half.batch_size == same.max_steps * same.batch_size
    assert (same.threads, same.eval_every, same.max_steps) == (1, None, 150)
    assert same.warmup_steps == round(base.warmup_steps * 150 / base.max_steps)


def test_speed_only_rows_are_not_trained_again(monkeypatch):
    trained = []
    monkeypatch.setattr(ablation, "step_seconds", lambda settings: 0.5)
    monkeypatch.setattr(
        ablation,
        "restore",
        lambda settings, **kw: (
            trained.append(settings) or (None, None, {"mlm_accuracy": 0.3, "nsp_accuracy": 0.9})
        ),
    )
    row = ablation.ablation_row("fp32", {"precision": "fp32"})
    assert (row.steps, row.mlm_accuracy, trained) == (None, None, [])
    assert row.pairs_per_second == ablation.DEFAULT_SETTINGS.batch_size / 0.5  # its base
    row = ablation.ablation_row("dropout", {"dropout": 0.1}, steps=20)
    assert (row.steps, row.mlm_accuracy, trained[0].dropout) == (20, 0.3, 0.1)


def test_ablation_tables_combine_by_label():
    speed = {
        "rows": [
            {
                "label": "batch 16",
                "pairs_per_second": 40.0,
                "steps": None,
                "mlm_accuracy": None,
                "nsp_accuracy": None,
                "load": 1.0,
            }
        ]
    }
    learn = {
        "rows": [
            {
                "label": "batch 16",
                "pairs_per_second": None,
                "steps": 300,
                "mlm_accuracy": 0.2,
                "nsp_accuracy": 0.8,
                "load": 8.0,
            },
            {
                "label": "best settings",
                "pairs_per_second": None,
                "steps": 150,
                "mlm_accuracy": 0.25,
                "nsp_accuracy": 0.85,
                "load": 8.0,
            },
        ]
    }
    rows = ablation.combine([speed, learn])
    assert [row.label for row in rows] == ["best settings", "batch 16"]
    assert (rows[1].pairs_per_second, rows[1].steps, rows[1].mlm_accuracy) == (40.0, 300, 0.2)


# --- the comparison with transformers (bertguide.experiments.reference_run) ---


def test_time_to_reach_interpolates_between_evaluations():
    from bertguide.experiments.reference_run import time_to_reach

    curve = [
        {"train_s": 0.0, "mlm_accuracy": 0.05},
        {"train_s": 20.0, "mlm_accuracy": 0.15},
        {"train_s": 40.0, "mlm_accuracy": 0.35},
    ]
    assert time_to_reach(curve, 0.25) == pytest.approx(30.0)
    assert time_to_reach(curve, 0.15) == pytest.approx(20.0)
    assert time_to_reach(curve, 0.05) == 0.0  # met before training: no time needed
    assert time_to_reach(curve, 0.5) is None


def test_the_comparison_reads_as_three_lines_with_the_ratio():
    from bertguide.experiments.reference_run import format_comparison

    report = {
        "target": 0.2,
        "reference_s": 180.0,
        "reached_s": 45.0,
        "ratio": 0.25,
        "goal": 0.5,
        "bertguide": {"mlm_accuracy": 0.31, "nsp_accuracy": 0.88, "train_time_s": 200.0},
    }
    lines = format_comparison(report).splitlines()
    assert lines[0].endswith("MLM top-1 20.0% after 180 s of training")
    assert lines[1] == "bertguide reached it after 45.0 s: ratio 0.25 (goal <= 0.5)"
    assert "NSP 88.0% in 200 s" in lines[2]
    report.update(reached_s=None, ratio=None)
    assert format_comparison(report).splitlines()[1] == "bertguide never reached it: no ratio"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
