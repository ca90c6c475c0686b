"""The BERT family's measured runs, on tiny stand-in settings in a temporary cache.

No test here runs a real run: the distillation teacher is the restoring module's tiny
stand-in (a 1-layer, 32-wide BERT trained for two steps, as in ``test_restoring.py``),
and every run gets settings that take a few seconds.
"""

from __future__ import annotations

import time

import pytest
import torch

from bertguide.experiments import family_helpers as helpers
from bertguide.experiments import family_runs as runs
from bertguide.experiments import family_tang as tang
from bertguide.experiments import restoring, store, weights
from tests.experiments.test_restoring import TINY

TEACHER = TINY.replace(architecture=(2, 32, 2))  # two layers: the student keeps one


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and two wait on each other on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    """A temporary cache holding the tiny restored teacher, with its settings swapped in."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BERTGUIDE_CACHE", str(root))
        patch.setattr(restoring, "DEFAULT_SETTINGS", TEACHER)
        patch.setattr(restoring, "SHIPPED_SETTINGS", TEACHER)  # the registry reads it
        patch.setattr(weights, "has_shipped", lambda name: False)  # the stand-in teacher
        patch.setattr(helpers, "CORPORA", ("lee",))  # parsing Wikipedia takes seconds
        yield root


# no MLM term: the stand-in teacher barely knows more than token frequencies, so the
# cosine loss (hidden states of 1 vs 2 layers) is what there is to learn
DISTIL = runs.DistillationSettings(
    steps=12, batch_size=8, learning_rate=3e-3, eval_sentences=24, repeats=2, threads=1,
    weights=(5.0, 0.0, 1.0),
)  # fmt: skip


@pytest.fixture(scope="module")
def distilled(tiny_cache):
    report = runs.run_report("distillation", DISTIL)
    return report, restoring.restored_model()


def test_the_distillation_loss_falls_and_the_student_moves_towards_the_teacher(distilled):
    report, _ = distilled
    loss = report["loss"]
    assert len(loss) == DISTIL.steps
    assert sum(loss[-3:]) < 0.8 * sum(loss[:3])
    assert report["after"]["sentence_cosine"] > report["before"]["sentence_cosine"]
    assert report["after"]["masked_positions"] == report["before"]["masked_positions"] > 0


def test_agreement_is_measured_against_the_restored_teacher(distilled, tok):
    """Recompute the after-agreement from the saved student and the teacher."""
    from safetensors.torch import load_file

    report, teacher = distilled
    assert report["teacher_layers"] == teacher.config.num_hidden_layers == 2
    assert report["student_layers"] == 1
    student = runs.MaskedLMStudent(teacher)
    directory = store.cache_directory("family-distillation", DISTIL)
    student.load_state_dict(load_file(str(directory / "model.safetensors")))
    heldout = helpers.masked_batches(
        helpers.encode_all(helpers.sentences("heldout", DISTIL.eval_sentences, 0), tok, 64), tok, 0
    )
    again = runs.agreement(student, teacher, heldout)
    assert again["top1_agreement"] == pytest.approx(report["after"]["top1_agreement"])
    assert again["teacher_mlm_accuracy"] == pytest.approx(report["after"]["teacher_mlm_accuracy"])
    assert again["soft_target_loss"] == pytest.approx(report["after"]["soft_target_loss"])


def test_a_student_with_all_the_teachers_layers_agrees_fully(distilled, tok):
    _, teacher = distilled
    twin = runs.MaskedLMStudent(teacher, layers=range(teacher.config.num_hidden_layers))
    heldout = helpers.masked_batches(
        helpers.encode_all(["The cat sat on the mat."] * 4, tok, 64), tok, 0
    )
    result = runs.agreement(twin, teacher, heldout)
    assert result["top1_agreement"] == 1.0
    assert result["sentence_cosine"] == pytest.approx(1.0, abs=1e-5)
    assert result["student_mlm_accuracy"] == result["teacher_mlm_accuracy"]
    assert result["soft_target_loss"] == pytest.approx(0.0, abs=1e-5)


def test_the_speed_ratio_is_computed_from_the_measured_times(distilled):
    report, _ = distilled
    ratio = report["teacher_forward_s"] / report["student_forward_s"]
    assert report["speedup"] == pytest.approx(ratio)
    assert report["wall_time_s"] > report["train_time_s"] > 0


def test_a_cached_run_is_read_not_run_again(distilled, monkeypatch):
    def fail(settings):
        raise AssertionError("the run was done again")

    monkeypatch.setitem(runs.RUNS, "distillation", (fail, DISTIL))
    assert runs.run_report("distillation", DISTIL) == distilled[0]


def test_best_time_sums_each_batchs_fastest_call():
    calls = []

    def sleep(seconds):
        calls.append(seconds)
        time.sleep(seconds)

    total = helpers.best_time(sleep, [0.01, 0.02], repeats=3)
    assert len(calls) == 1 + 2 * 3  # one warm-up call, then each batch three times
    assert 0.03 <= total < 0.06


def test_roberta_static_masks_are_the_ones_static_trained_on(tiny_cache):
    settings = runs.RobertaSettings(
        architecture=(1, 32, 2), sequences=32, epochs=2, batch_size=8, eval_every=4,
        eval_sequences=16, threads=1,
    )  # fmt: skip
    report = runs.run_report("roberta", settings)
    assert report["steps"] == 2 * report["sequences"] // 8 == 8
    for name in ("static", "dynamic"):
        evals = report[name]["evals"]
        assert [e["step"] for e in evals] == [0, 4, 8]
        assert report[name]["heldout_accuracy"] == evals[-1]["heldout"]
        assert len(report[name]["loss"]) == 8
    assert report["static"]["loss"] != report["dynamic"]["loss"]  # different masks


def test_electra_and_mlm_are_probed_on_the_same_steps(tiny_cache):
    settings = runs.ElectraSettings(
        architecture=(1, 32, 4), steps=4, batch_size=8, eval_every=4, eval_sequences=16,
        folds=2, reference_probe=False, threads=1,
    )  # fmt: skip
    report = runs.run_report("electra", settings)
    for name in ("mlm", "electra"):
        assert [e["step"] for e in report[name]["evals"]] == [0, 4]
        assert all(0.0 <= e["probe"] <= 1.0 for e in report[name]["evals"])
    assert 0.0 <= report["electra"]["rtd_accuracy"] <= 1.0
    assert report["electra"]["parameters"] > report["electra"]["encoder_parameters"]


def test_mask_copy_masks_only_ordinary_tokens(tok):
    import random

    ids = tok.encode("A dull, simplistic film.")
    everything = tang.mask_copy(ids, tok, 1.0, random.Random(0))
    assert everything[0] == tok.cls_token_id and everything[-1] == tok.sep_token_id
    assert set(everything[1:-1]) == {tok.mask_token_id}
    assert tang.mask_copy(ids, tok, 0.0, random.Random(0)) == ids


def test_teacher_logits_give_the_logistic_regressions_probabilities():
    from sklearn.linear_model import LogisticRegression

    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0)).numpy()
    y = (x[:, 0] > 0).astype(int)
    teacher = LogisticRegression().fit(x, y)
    probabilities = tang.teacher_logits(teacher, x).softmax(-1)
    expected = torch.tensor(teacher.predict_proba(x), dtype=torch.float32)
    assert torch.allclose(probabilities, expected, atol=1e-5)


def test_a_distilled_bilstm_learns_its_teachers_logits():
    from bertguide.config import BertConfig
    from bertguide.model import BertModel

    torch.manual_seed(0)
    small = BertModel(BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=32))  # fmt: skip
    small.embeddings.word_embeddings.weight.data.normal_()  # word vectors of unit scale
    settings = tang.TangSettings(hidden_size=8, mlp_size=8, distill_epochs=40, batch_size=4,
                                 learning_rate=3e-2, seed=0)  # fmt: skip
    sign = torch.tensor([-1.0, 1.0])
    data = [{"input_ids": [1, 10 + i, 2], "target": sign * (2 * (i % 2) - 1)} for i in range(8)]
    batch = tang.tang_collate(data)
    student = tang.train_bilstm(data, small, settings, distilled=True, fold=0)
    with torch.no_grad():
        logits = student(batch["input_ids"], batch["attention_mask"])
    mse = float(torch.nn.functional.mse_loss(logits, batch["target"]))
    assert mse < 0.1, mse  # an untrained one: about 1
    assert torch.equal(student.embeddings.weight, small.embeddings.word_embeddings.weight)


def test_bad_names_and_settings_are_refused():
    with pytest.raises(ValueError, match="name must be one of"):
        runs.run_report("xlnet")
    with pytest.raises(TypeError, match="settings must be a RobertaSettings"):
        runs.run_report("roberta", runs.TangSettings())
