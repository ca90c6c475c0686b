"""The shared training loop: schedule, parameter groups, clipping, seeds, learning, torchrun."""

from __future__ import annotations

import doctest
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from bertguide import training
from bertguide.training import (
    TrainingConfig,
    TrainingHistory,
    build_optimizer,
    linear_warmup_decay,
    train,
)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).with_name("ddp_train_script.py")

# The tiny BERT classifier task (is token 7 present?), shared with the torchrun script.
_spec = importlib.util.spec_from_file_location("ddp_train_script", SCRIPT)
task = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(task)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors gain nothing from threads, and on busy cores two threads wait on each
    other: the tiny BERT trains 7-10x faster on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- small models with hand-checkable updates ------------------------------------


@dataclass
class Output:
    loss: torch.Tensor


class Regressor(nn.Module):
    """y ~ x . w + b, returning an object with ``.loss`` as Hugging Face models do."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> Output:
        return Output(loss=((self.linear(x).squeeze(-1) - y) ** 2).mean())  # (B, 2) -> ()


def regression_examples(count: int = 16) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(count, 2, generator=g)
    y = x @ torch.tensor([2.0, -3.0]) + 0.5
    return [{"x": x[i], "y": y[i]} for i in range(count)]


class Vector(nn.Module):
    """A single parameter vector w; the loss is a linear function of it."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(2))


def linear_loss(model: Vector, batch: torch.Tensor) -> torch.Tensor:
    return (batch @ model.w).mean()  # (B, 2) @ (2,) -> (B,) -> (); its gradient is the mean row


# --- the learning-rate schedule ------------------------------------------------------


def test_schedule_function_by_hand():
    # warmup 4 of 10 steps: s/4 while s < 4, then (10 - s)/6
    factors = [linear_warmup_decay(s, warmup_steps=4, total_steps=10) for s in range(11)]
    expected = [0, 0.25, 0.5, 0.75, 1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0]
    assert factors == pytest.approx(expected)
    assert linear_warmup_decay(0, warmup_steps=0, total_steps=5) == 1.0  # no warmup: full lr


def test_learning_rates_the_optimiser_used():
    config = TrainingConfig(max_steps=10, batch_size=4, learning_rate=0.1, warmup_steps=4)
    history = train(Regressor(), regression_examples(), config)
    lrs = history.learning_rate
    assert history.steps == list(range(1, 11))
    assert lrs[0] == 0.0  # first update: s = 0
    assert lrs[2] == pytest.approx(0.1 * 2 / 4)  # mid-warmup
    assert lrs[4] == pytest.approx(0.1)  # end of the warmup: the peak
    assert lrs[9] == pytest.approx(0.1 * (10 - 9) / (10 - 4))  # last update
    # the same numbers as transformers' implementation of BERT's schedule
    from transformers import get_linear_schedule_with_warmup

    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = get_linear_schedule_with_warmup(optimizer, 4, 10)
    reference = []
    for _ in range(10):
        reference.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs == pytest.approx(reference, abs=1e-12)


def test_warmup_makes_the_first_update_zero():
    model = Regressor()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainingConfig(max_steps=1, batch_size=4, learning_rate=0.1, warmup_steps=3)
    train(model, regression_examples(), config)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


# --- parameter groups ---------------------------------------------------------------


def test_no_weight_decay_on_biases_and_layer_norms():
    model = task.build_model()
    optimizer = build_optimizer(model, TrainingConfig(weight_decay=0.01))
    seen = []
    for group in optimizer.param_groups:
        for name in group["names"]:
            no_decay = name.endswith(".bias") or ".LayerNorm." in name
            assert group["weight_decay"] == (0.0 if no_decay else 0.01), name
            seen.append(name)
    assert sorted(seen) == sorted(name for name, _ in model.named_parameters())
    names_by_decay = {g["weight_decay"]: g["names"] for g in optimizer.param_groups}
    assert "bert.embeddings.LayerNorm.weight" in names_by_decay[0.0]
    assert "bert.embeddings.word_embeddings.weight" in names_by_decay[0.01]


def test_lr_multipliers_set_group_rates_and_freeze():
    multipliers = {"bert.": 0.5, "bert.embeddings.": 0.0, "classifier.": 10.0}
    config = TrainingConfig(
        max_steps=1, batch_size=16, learning_rate=1e-3, weight_decay=0.0, lr_multipliers=multipliers
    )
    model = task.build_model(dropout=0.0)
    for group in build_optimizer(model, config).param_groups:
        for name in group["names"]:
            if name.startswith("bert.embeddings."):  # the longest matching prefix wins
                expected = 0.0
            else:
                expected = 0.5 if name.startswith("bert.") else 10.0
            assert group["lr_multiplier"] == expected, name
        assert group["lr"] == pytest.approx(1e-3 * group["lr_multiplier"])

    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    train(model, task.make_examples(32, seed=0), config)
    after = model.state_dict()
    change = {k: (after[k] - before[k]).abs().max().item() for k in after}
    embeddings = [k for k in after if k.startswith("bert.embeddings.")]
    assert embeddings and all(change[k] == 0.0 for k in embeddings)  # frozen: bit for bit
    assert all(p.requires_grad for p in model.parameters())  # unfrozen again afterwards
    assert not model.training  # given back in the mode it came in
    # AdamW's first update moves each weight by lr * g / (|g| + eps), just under lr:
    assert change["classifier.weight"] == pytest.approx(10 * 1e-3, rel=1e-3)
    assert change["bert.encoder.layer.0.intermediate.dense.weight"] == pytest.approx(
        0.5 * 1e-3, rel=1e-3
    )


# --- gradient clipping ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_grad_norm", "expected_gradient"),
    [(5.0, [3.0, 4.0]), (None, [300.0, 400.0])],  # norm 500 clipped to 5, or left alone
)
def test_gradient_clipping_by_hand(max_grad_norm, expected_gradient):
    # loss = a . w with a = (300, 400): the gradient is a, of norm 500. With a large eps,
    # AdamW's first update, lr * g / (|g| + eps), depends on the size of g.
    config = TrainingConfig(
        max_steps=1,
        batch_size=1,
        learning_rate=0.1,
        adam_eps=1.0,
        max_grad_norm=max_grad_norm,
    )
    model = Vector()
    history = train(model, [torch.tensor([300.0, 400.0])], config, loss_fn=linear_loss)
    g = torch.tensor(expected_gradient)
    torch.testing.assert_close(model.w.detach(), -0.1 * g / (g.abs() + 1.0))
    assert history.grad_norm == [pytest.approx(500.0)]  # measured before clipping


def test_each_step_starts_from_fresh_gradients():
    # the gradient of a . w is a, at every step: norms that grew would mean leftovers
    config = TrainingConfig(max_steps=3, batch_size=1, max_grad_norm=None)
    history = train(Vector(), [torch.tensor([300.0, 400.0])], config, loss_fn=linear_loss)
    assert history.grad_norm == pytest.approx([500.0] * 3)


# --- seeds and batches ------------------------------------------------------------------


def trained_weights(seed: int, draws_before: int) -> dict[str, torch.Tensor]:
    model = task.build_model(dropout=0.1)
    torch.rand(draws_before)  # whatever ran before, train() seeds dropout itself
    config = TrainingConfig(max_steps=12, batch_size=16, learning_rate=1e-3, seed=seed)
    train(model, task.make_examples(64, seed=0), config)
    return model.state_dict()


def test_same_seed_same_weights_bit_for_bit():
    first, second = trained_weights(0, draws_before=1), trained_weights(0, draws_before=7)
    other = trained_weights(1, draws_before=1)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_batches_are_a_seeded_shuffle_reshuffled_every_epoch():
    seen = []

    def recording_loss(model, batch):  # batch: (B,) example ids
        seen.append(batch.tolist())
        return model.w.sum() * batch.float().mean()

    config = TrainingConfig(max_steps=6, batch_size=3, seed=5)
    history = train(Vector(), list(range(10)), config, loss_fn=recording_loss)
    assert history.steps_per_epoch == 3  # 10 // 3; the tenth example waits for a later epoch
    g = torch.Generator().manual_seed(5)
    epochs = [torch.randperm(10, generator=g).tolist() for _ in range(2)]
    expected = [epoch[i : i + 3] for epoch in epochs for i in (0, 3, 6)]
    assert seen == expected
    assert epochs[0] != epochs[1]


def test_gradient_accumulation_equals_one_large_batch():
    def weights(accumulation):
        model = task.build_model(dropout=0.0)
        config = TrainingConfig(
            max_steps=4, batch_size=16, learning_rate=1e-3, gradient_accumulation_steps=accumulation
        )
        history = train(model, task.make_examples(64, seed=0), config)
        return model.state_dict(), history

    (whole, whole_history), (parts, parts_history) = weights(1), weights(4)
    assert parts_history.loss == pytest.approx(whole_history.loss, rel=1e-5)
    assert parts_history.grad_norm == pytest.approx(whole_history.grad_norm, rel=1e-5)
    for key in whole:
        torch.testing.assert_close(parts[key], whole[key], rtol=0, atol=1e-6)


# --- learning and evaluation ------------------------------------------------------------


def test_tiny_bert_learns_the_token_7_task():
    held_out = task.make_examples(200, seed=1)
    model = task.build_model()
    assert task.accuracy(model.eval(), held_out) < 0.7  # chance level before training
    config = TrainingConfig(
        max_steps=100, batch_size=32, learning_rate=2e-3, warmup_steps=10, eval_every=25
    )
    history = train(
        model,
        task.make_examples(512, seed=0),
        config,
        eval_fn=lambda m: {"accuracy": task.accuracy(m, held_out)},
    )
    assert [e["step"] for e in history.evals] == [25, 50, 75, 100]
    assert history.evals[-1]["accuracy"] >= 0.95
    assert task.accuracy(model, held_out) == history.evals[-1]["accuracy"]
    assert sum(history.loss[:5]) / 5 > 0.6  # about ln 2 at the start
    assert sum(history.loss[-10:]) / 10 < 0.1
    elapsed = [e["elapsed_s"] for e in history.evals]
    assert elapsed == sorted(elapsed) and elapsed[-1] <= history.wall_time_s


def test_eval_fn_runs_in_eval_mode_without_gradients():
    calls = []

    def eval_fn(model):
        calls.append((model.training, torch.is_grad_enabled()))
        return {"calls": len(calls)}

    def loss_fn(model, batch):
        assert model.training
        return model(**batch).loss

    config = TrainingConfig(max_steps=10, batch_size=4, eval_every=4)
    history = train(Regressor(), regression_examples(), config, loss_fn=loss_fn, eval_fn=eval_fn)
    assert calls == [(False, False)] * 3
    assert [(e["step"], e["calls"]) for e in history.evals] == [(4, 1.0), (8, 2.0), (10, 3.0)]


def test_history_table_and_dict():
    history = TrainingHistory(
        steps=[1, 2, 3, 4],
        loss=[4.0, 3.0, 2.0, 1.0],
        learning_rate=[0.1, 0.2, 0.3, 0.4],
        grad_norm=[1.0] * 4,
        evals=[
            {"step": 2, "elapsed_s": 0.1, "accuracy": 0.5},
            {"step": 4, "elapsed_s": 0.2, "accuracy": 1.0},
        ],
    )
    rows = [line.split() for line in history.table().splitlines()]
    assert rows == [
        ["step", "loss", "lr", "accuracy"],
        ["2", "3.5000", "2.00e-01", "0.5000"],  # mean loss of steps 1-2
        ["4", "1.5000", "4.00e-01", "1.0000"],  # mean loss of steps 3-4
    ]
    assert json.loads(json.dumps(history.to_dict()))["evals"][1]["accuracy"] == 1.0
    history.evals = []
    assert [r.split()[0] for r in history.table(rows=2).splitlines()] == ["step", "2", "4"]


# --- the progress bar -----------------------------------------------------------------


@pytest.mark.parametrize("show", [None, False, True])
def test_progress_bar_only_on_a_terminal_or_when_forced(capsys, show):
    config = TrainingConfig(max_steps=10, batch_size=4, show_progress=show)
    train(Regressor(), regression_examples(), config)
    err = capsys.readouterr().err
    if show:
        assert "10/10" in err and "loss=" in err and "lr=" in err
    else:  # capsys's stderr is not a terminal
        assert err == ""


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be"),
        ({"batch_size": 2.0}, TypeError, "batch_size must be an int"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate must be"),
        ({"max_grad_norm": -1.0}, ValueError, "max_grad_norm must be"),
        ({"adam_betas": (0.9, 1.0)}, ValueError, r"adam_betas must be in \[0, 1\)"),
        ({"lr_multipliers": {"bert.": -1.0}}, ValueError, "lr_multipliers"),
        ({"lr_multipliers": ["bert."]}, TypeError, "lr_multipliers must be a dict"),
        ({"eval_every": 0}, ValueError, "eval_every must be"),
        ({"show_progress": "yes"}, TypeError, "show_progress must be a bool"),
    ],
)
def test_config_refuses_bad_values(overrides, error, match):
    with pytest.raises(error, match=match):
        TrainingConfig(**overrides)


def test_train_refuses_bad_arguments():
    examples = regression_examples()
    config = TrainingConfig(max_steps=2, batch_size=4)
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module"):
        train(lambda x: x, examples, config)
    with pytest.raises(ValueError, match="dataset is empty"):
        train(Regressor(), [], config)
    with pytest.raises(TypeError, match="dataset must be map-style"):
        train(Regressor(), (e for e in examples), config)
    with pytest.raises(ValueError, match="fewer than batch_size=4"):
        train(Regressor(), examples[:3], config)
    with pytest.raises(TypeError, match="config must be a TrainingConfig"):
        train(Regressor(), examples, {"batch_size": 4})
    with pytest.raises(ValueError, match=r"divisible by .* gradient_accumulation_steps \(3\)"):
        train(Regressor(), examples, TrainingConfig(batch_size=4, gradient_accumulation_steps=3))
    with pytest.raises(ValueError, match=r"\['classifier\.'\] match no parameter name"):
        train(
            Regressor(), examples, TrainingConfig(batch_size=4, lr_multipliers={"classifier.": 2.0})
        )
    with pytest.raises(ValueError, match="freeze every parameter"):
        train(Regressor(), examples, TrainingConfig(batch_size=4, lr_multipliers={"linear.": 0.0}))


@pytest.mark.parametrize(
    ("loss_fn", "error", "match"),
    [
        (lambda m, b: 1.0, TypeError, "loss_fn must return a torch.Tensor, got float"),
        (lambda m, b: m.w * b.sum(), ValueError, r"scalar float tensor, got shape \[2\]"),
        (lambda m, b: b.sum(), ValueError, "does not require grad"),
        (lambda m, b: m.w.sum() * float("nan"), FloatingPointError, "loss is nan at step 1"),
        (None, TypeError, "batches must be dicts"),
    ],
)
def test_train_refuses_bad_losses(loss_fn, error, match):
    with pytest.raises(error, match=match):
        train(Vector(), [torch.ones(2)] * 4, TrainingConfig(batch_size=2), loss_fn=loss_fn)


@pytest.mark.parametrize(
    ("metrics", "error", "match"),
    [
        ([0.5], TypeError, "eval_fn must return a dict"),
        ({"step": 3.0}, ValueError, "metric names"),
        ({"accuracy": "high"}, TypeError, "metric 'accuracy' must be a number"),
    ],
)
def test_train_refuses_bad_metrics(metrics, error, match):
    config = TrainingConfig(max_steps=2, batch_size=4)
    with pytest.raises(error, match=match):
        train(Regressor(), regression_examples(), config, eval_fn=lambda m: metrics)


def test_default_loss_needs_a_loss_in_the_output():
    examples = [{"input_ids": e["input_ids"]} for e in task.make_examples(8, seed=0)]
    with pytest.raises(ValueError, match="has no loss: put the labels in the batch"):
        train(task.build_model(), examples, TrainingConfig(batch_size=4))


# --- two processes under torchrun ---------------------------------------------------------


@pytest.mark.slow
def test_two_processes_train_like_one(tmp_path):
    """torchrun, 2 processes x 4 examples, against 1 process x 8: the same weights."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",  # rendezvous on localhost, on a free port torchrun picks
        "--nproc_per_node=2",
        str(SCRIPT),
        str(tmp_path),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [(r["rank"], r["world_size"]) for r in ranks] == [(0, 2), (1, 2)]
    distributed = torch.load(tmp_path / "weights.pt")

    for name, config in task.RUNS.items():
        first, second = (r["runs"][name] for r in ranks)
        assert first["history"]["world_size"] == second["history"]["world_size"] == 2
        # eval_fn ran on process 0 only; its records reached process 1
        expected_evals = 3 if config.eval_every else 1  # steps 2, 4 and 5, or 5
        assert (first["eval_calls"], second["eval_calls"]) == (expected_evals, 0)
        assert first["history"]["evals"] == second["history"]["evals"]
        assert first["history"]["loss"] == second["history"]["loss"]  # averaged over both

        model, history, _ = task.run(name)  # the same training in this one process
        assert history["world_size"] == 1
        assert first["history"]["loss"] == pytest.approx(history["loss"], rel=1e-6)
        assert first["history"]["grad_norm"] == pytest.approx(history["grad_norm"], rel=1e-5)
        single = model.state_dict()
        difference = max((distributed[name][k] - single[k]).abs().max().item() for k in single)
        assert difference < 1e-6, f"{name}: max |2 processes - 1 process| = {difference:.2e}"

        initial = task.build_model(dropout=0.0).state_dict()
        pooler = [k for k in single if k.startswith("bert.pooler.")]  # never used: no change
        frozen = [k for k in single if k.startswith("bert.embeddings.")]
        unchanged = pooler + (frozen if config.lr_multipliers else [])
        for key in unchanged:
            assert torch.equal(distributed[name][key], initial[key]), (name, key)
            assert torch.equal(single[key], initial[key]), (name, key)


def test_docstring_examples_run():
    results = doctest.testmod(training, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted >= 12
    assert results.failed == 0
