"""One training loop for every chapter that trains a model.

Pre-training (MLM + NSP), fine-tuning with the task heads, distillation and the tiny GPT
all call ``train``: the loop is written once, here, small enough to read in one sitting.

Dimension legend: B = examples in the global batch, W = processes (world size),
S = optimiser steps in all, s = steps already taken.

One optimiser step::

    the next B example indices of a seeded shuffle (reshuffled every epoch)
    -> this process's share of them (all B of them when W = 1), in micro-batches
    -> loss_fn(model, collate_fn(examples)); backward; the gradients add up
    -> under torchrun, DistributedDataParallel averages the gradients over the W processes
    -> clip the gradient's global L2 norm to ``max_grad_norm``
    -> AdamW step with this step's learning rate

The learning rate follows BERT's schedule, a linear warmup from 0 then a linear decay
to 0 at the last step (``linear_warmup_decay``)::

    lr(s) = learning_rate * s / warmup_steps                 for s < warmup_steps
    lr(s) = learning_rate * (S - s) / (S - warmup_steps)     for warmup_steps <= s <= S

AdamW's decoupled weight decay is not applied to biases and LayerNorm weights, as in
BERT. Parts of the model can learn at their own rate: ``lr_multipliers={"cls.": 10.0,
"bert.embeddings.": 0.0}`` multiplies the learning rate of the parameters whose names
start with a prefix (the longest matching prefix wins); a multiplier of 0 freezes them.

A regression y = 3x, with a custom ``loss_fn`` (the default calls ``model(**batch).loss``):

    >>> _ = torch.manual_seed(0)
    >>> model = nn.Linear(1, 1)
    >>> examples = [(x, 3 * x) for x in torch.randn(64, 1)]  # (input (1,), target (1,))
    >>> def mse(model, batch):  # batch: default_collate's (inputs (B, 1), targets (B, 1))
    ...     inputs, targets = batch
    ...     return ((model(inputs) - targets) ** 2).mean()
    >>> config = TrainingConfig(max_steps=200, batch_size=16, learning_rate=0.1, warmup_steps=20)
    >>> history = train(model, examples, config, loss_fn=mse)
    >>> len(history.loss), history.loss[-1] < 0.01 * history.loss[0], round(model.weight.item(), 1)
    (200, True, 3.0)

Several processes (torchrun)
----------------------------
A script that calls ``train`` runs unchanged on several processes::

    torchrun --nproc_per_node=2 my_script.py

torchrun starts the script twice, with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
MASTER_PORT set. ``train`` sees WORLD_SIZE > 1, joins the processes with
``torch.distributed`` (the gloo backend, which runs on CPUs; a process group the script
set up itself is used as it is), wraps the model in ``DistributedDataParallel`` and gives
every process an equal share of each global batch: process r takes examples r, r + W,
r + 2W, ... of it. DDP averages the processes' gradients, so with the same seed the
optimiser sees the gradient one process would compute on the whole batch. ``batch_size``
is the *global* batch and must be divisible by W (times ``gradient_accumulation_steps``).

Caveat: this equality holds for a loss that is a mean over *examples*. A loss averaged
over *tokens* (a masked-LM loss, where examples hold different numbers of masked tokens)
is a mean over each share's own tokens, and the average of the W shares' means differs
slightly from the mean over all tokens of the batch.

Every process returns the same history: the training losses are averaged over the
processes, ``eval_fn`` runs on process 0 only and its metrics are sent to the others;
only ``wall_time_s`` is each process's own. Only process 0 draws a progress bar. Dropout
is seeded with ``seed + rank``, so processes drop different units. The process group is
left open for a second ``train`` call; the script may end with
``torch.distributed.barrier()`` then ``torch.distributed.destroy_process_group()`` (the
barrier lets every process finish before any closes the group: gloo may abort a
process whose peer has already left).

Probing a run
-------------
Inside ``bertguide.probing.probing(steps)`` every ``train`` call stops after ``steps``
steps and records them (the fingerprints of ``bertguide.experiments``).

Left out: GPUs under torchrun (NCCL) and moving batches to a device (``collate_fn`` or
``loss_fn`` can do it), mixed precision, checkpoints and resuming, iterable datasets,
schedules other than BERT's, and early stopping.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import default_collate
from tqdm import tqdm

from bertguide.checks import check_bool, check_float, check_int
from bertguide.probing import active_probe

# Keys of an evaluation record that train() writes itself; eval_fn's metrics may not use them.
RESERVED_EVAL_KEYS = ("step", "elapsed_s")


@dataclass
class TrainingConfig:
    """How ``train`` trains. The defaults are BERT's fine-tuning recipe (Devlin et al., 2019).

    Every field is checked when the config is made; a bad value names the field.

    >>> config = TrainingConfig(max_steps=100, warmup_steps=10, learning_rate=1e-4)
    >>> config.batch_size, config.adam_eps, config.max_grad_norm
    (32, 1e-06, 1.0)
    >>> TrainingConfig(batch_size=0)
    Traceback (most recent call last):
        ...
    ValueError: batch_size must be >= 1, got 0
    """

    num_epochs: int = 3  # passes over the dataset; ignored when max_steps is set
    max_steps: int | None = None  # optimiser steps in all (S); when set, overrides num_epochs
    batch_size: int = 32  # GLOBAL batch (B): examples per optimiser step, over all processes
    learning_rate: float = 5e-5  # peak learning rate, reached at the end of the warmup
    weight_decay: float = 0.01  # AdamW's decoupled decay; never on biases and LayerNorm weights
    adam_betas: tuple[float, float] = (0.9, 0.999)  # AdamW's averaging rates for m and v
    adam_eps: float = 1e-6  # added to sqrt(v) in AdamW's denominator (1e-6 in BERT)
    warmup_steps: int = 0  # steps of linear warmup from 0; then linear decay to 0 at step S
    max_grad_norm: float | None = 1.0  # clip the gradients' global L2 norm to this; None = off
    gradient_accumulation_steps: int = 1  # micro-batches per step and process: less memory
    eval_every: int | None = None  # call eval_fn every this many steps; None = at the end only
    seed: int = 0  # seeds the batch shuffle and torch's generator (dropout)
    lr_multipliers: dict[str, float] = field(default_factory=dict)  # name prefix -> factor
    show_progress: bool | None = None  # progress bar; None = when stderr is a terminal
    find_unused_parameters: bool = True  # torchrun: allow parameters a step does not use

    def __post_init__(self) -> None:
        check_int("num_epochs", self.num_epochs, 1)
        check_int("max_steps", self.max_steps, 1, optional=True)
        check_int("batch_size", self.batch_size, 1)
        check_int("warmup_steps", self.warmup_steps, 0)
        check_int("gradient_accumulation_steps", self.gradient_accumulation_steps, 1)
        check_int("eval_every", self.eval_every, 1, optional=True)
        check_int("seed", self.seed, 0)
        positive = dict(low=0.0, open_low=True, open_high=True)  # finite and > 0
        self.learning_rate = check_float("learning_rate", self.learning_rate, **positive)
        self.weight_decay = check_float("weight_decay", self.weight_decay, 0.0, open_high=True)
        self.adam_eps = check_float("adam_eps", self.adam_eps, **positive)
        if self.max_grad_norm is not None:
            self.max_grad_norm = check_float("max_grad_norm", self.max_grad_norm, **positive)
        betas = self.adam_betas
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"adam_betas must be a pair of floats, got {betas!r}")
        self.adam_betas = tuple(
            check_float("adam_betas", beta, 0.0, 1.0, open_high=True) for beta in betas
        )
        if not isinstance(self.lr_multipliers, Mapping):
            kind = type(self.lr_multipliers).__name__
            raise TypeError(f"lr_multipliers must be a dict of name prefix -> float, not {kind}")
        multipliers = {}
        for prefix, factor in self.lr_multipliers.items():
            if not isinstance(prefix, str) or not prefix:
                raise TypeError(
                    f"lr_multipliers keys must be non-empty parameter-name prefixes, got {prefix!r}"
                )
            name = f"lr_multipliers[{prefix!r}]"
            multipliers[prefix] = check_float(name, factor, 0.0, open_high=True)
        self.lr_multipliers = multipliers
        check_bool("show_progress", self.show_progress, optional=True)
        check_bool("find_unused_parameters", self.find_unused_parameters)


# --- the learning-rate schedule and the optimiser --------------------------------


def linear_warmup_decay(step: int, warmup_steps: int, total_steps: int) -> float:
    """BERT's learning-rate factor after ``step`` updates: 0 -> 1 over the warmup, then -> 0.

    ``step`` counts the updates already taken, so the first update uses ``step=0`` (a
    factor of 0 when there is a warmup) and the last one ``step=total_steps - 1``.

    >>> [linear_warmup_decay(s, warmup_steps=2, total_steps=6) for s in range(7)]
    [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    if step < warmup_steps:
        return step / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def _lr_multiplier(name: str, multipliers: Mapping[str, float]) -> float:
    """The factor of the longest prefix of ``name`` in ``multipliers``; 1.0 when none."""
    matching = [prefix for prefix in multipliers if name.startswith(prefix)]
    return multipliers[max(matching, key=len)] if matching else 1.0


def build_optimizer(model: nn.Module, config: TrainingConfig) -> torch.optim.AdamW:
    """AdamW over ``model``'s trainable parameters, grouped by learning rate and decay.

    A group holds the parameters that share a learning-rate multiplier and a decay rule:
    ``lr`` = ``config.learning_rate`` × multiplier; ``weight_decay`` = 0 for vectors
    (biases and LayerNorm weights) and ``config.weight_decay`` for matrices (weights and
    embedding tables). For reading, each group also names its parameters (``names``) and
    its ``lr_multiplier``. Parameters with ``requires_grad=False`` are left out; a tied
    parameter appears once, under its first name.

    >>> opt = build_optimizer(nn.Linear(3, 2), TrainingConfig(weight_decay=0.1))
    >>> [(g["names"], g["weight_decay"]) for g in opt.param_groups]
    [(['weight'], 0.1), (['bias'], 0.0)]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}")
    if not isinstance(config, TrainingConfig):
        raise TypeError(f"config must be a TrainingConfig, not {type(config).__name__}")
    named = list(model.named_parameters())
    unused = [p for p in config.lr_multipliers if not any(n.startswith(p) for n, _ in named)]
    if unused:
        examples = ", ".join(name for name, _ in named[:4])
        raise ValueError(
            f"lr_multipliers prefix(es) {unused} match no parameter name of the model "
            f"(names look like: {examples}, ...)"
        )
    groups: dict[tuple[float, bool], dict[str, Any]] = {}
    for name, parameter in named:
        if not parameter.requires_grad:
            continue
        multiplier = _lr_multiplier(name, config.lr_multipliers)
        decays = parameter.ndim >= 2  # biases and LayerNorm weights are vectors: no decay
        group = groups.setdefault(
            (multiplier, decays),
            {
                "params": [],
                "names": [],
                "lr": config.learning_rate * multiplier,
                "lr_multiplier": multiplier,
                "weight_decay": config.weight_decay if decays else 0.0,
            },
        )
        group["params"].append(parameter)
        group["names"].append(name)
    if not groups:
        raise ValueError("model has no trainable parameters (none with requires_grad=True)")
    if all(multiplier == 0.0 for multiplier, _ in groups):
        raise ValueError("lr_multipliers freeze every parameter: there is nothing to train")
    return torch.optim.AdamW(
        list(groups.values()),
        lr=config.learning_rate,
        betas=config.adam_betas,
        eps=config.adam_eps,
        weight_decay=config.weight_decay,
    )


# --- what train() returns ------------------------------------------------------------


@dataclass
class TrainingHistory:
    """What ``train`` measured: plain lists and dicts, to print, plot or save as JSON.

    ``loss[i]``, ``learning_rate[i]`` and ``grad_norm[i]`` belong to step ``steps[i]``.

    >>> history = TrainingHistory(steps=[1, 2], loss=[0.7, 0.5], learning_rate=[1e-4, 5e-5])
    >>> print(history.table())
    step    loss        lr
       1  0.7000  1.00e-04
       2  0.5000  5.00e-05

    A learning curve: ``plt.plot(history.steps, history.loss)``.
    """

    steps: list[int] = field(default_factory=list)  # 1, 2, ..., S
    loss: list[float] = field(default_factory=list)  # training loss, mean over the processes
    learning_rate: list[float] = field(default_factory=list)  # lr used (multiplier 1)
    grad_norm: list[float] = field(default_factory=list)  # gradients' L2 norm before clipping
    evals: list[dict[str, float]] = field(default_factory=list)  # step, elapsed_s, metrics...
    wall_time_s: float = 0.0  # seconds train() took on this process, evaluations included
    world_size: int = 1  # processes that trained together (W)
    steps_per_epoch: int = 0  # full global batches in one pass over the dataset

    def to_dict(self) -> dict[str, Any]:
        """Every field, as plain Python values (JSON-ready)."""
        return dataclasses.asdict(self)

    def table(self, rows: int = 10) -> str:
        """A small text table: one row per evaluation, or ``rows`` evenly spaced steps.

        ``loss`` is the mean training loss over the steps since the previous row, ``lr``
        the learning rate at the row's step, then one column per metric of ``eval_fn``.
        """
        check_int("rows", rows, 1)
        if not self.steps:
            return "(no steps)"
        count = len(self.steps)
        if self.evals:
            marks = [record["step"] for record in self.evals]
        else:
            marks = sorted({math.ceil(count * (i + 1) / rows) for i in range(rows)})
        metrics = list(
            dict.fromkeys(k for e in self.evals for k in e if k not in RESERVED_EVAL_KEYS)
        )
        by_step = {record["step"]: record for record in self.evals}
        lines = [["step", "loss", "lr", *metrics]]
        previous = 0
        for mark in marks:
            since = self.loss[previous:mark] or self.loss[mark - 1 : mark]
            previous = mark
            row = [
                str(mark),
                f"{sum(since) / len(since):.4f}",
                f"{self.learning_rate[mark - 1]:.2e}",
            ]
            row += [f"{by_step.get(mark, {}).get(k, math.nan):.4f}" for k in metrics]
            lines.append(row)
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        return "\n".join(
            "  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in lines
        )


# --- the loop --------------------------------------------------------------------------


def default_loss(model: nn.Module, batch: Mapping[str, Any]) -> torch.Tensor:
    """``model(**batch).loss``, or ``model(**batch)["loss"]`` for a dict-like output.

    The batch must be a dict of the model's keyword arguments, labels included, as
    Hugging Face's ``BertFor...`` classes take them.
    """
    if not isinstance(batch, Mapping):
        raise TypeError(
            f"the default loss_fn calls model(**batch), so batches must be dicts, not "
            f"{type(batch).__name__}; pass loss_fn=... (or a collate_fn that makes dicts)"
        )
    output = model(**batch)
    loss = output.get("loss") if isinstance(output, Mapping) else getattr(output, "loss", None)
    if loss is None:
        raise ValueError(
            f"the model's output ({type(output).__name__}) has no loss: put the labels in "
            f"the batch, or pass loss_fn=..."
        )
    return loss


def _global_batches(num_examples: int, batch_size: int, generator: torch.Generator) -> Iterator:
    """Lists of ``batch_size`` indices, forever: a new shuffle every epoch; the last,
    incomplete batch of an epoch is dropped so that every step sees B examples."""
    while True:
        order = torch.randperm(num_examples, generator=generator).tolist()
        for start in range(0, num_examples - batch_size + 1, batch_size):
            yield order[start : start + batch_size]


def _setup_distributed() -> tuple[int, int]:
    """(rank, world size): join torchrun's processes when WORLD_SIZE > 1, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    try:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise ValueError(
            f"environment variable WORLD_SIZE must be an int, got {os.environ['WORLD_SIZE']!r}"
        ) from None
    if world_size <= 1:
        return 0, 1
    if not dist.is_available():
        raise RuntimeError(f"WORLD_SIZE={world_size}, but this torch has no torch.distributed")
    dist.init_process_group(backend="gloo")  # reads RANK, WORLD_SIZE, MASTER_ADDR/PORT
    return dist.get_rank(), dist.get_world_size()


def _check_loss(loss: Any, step: int) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor):
        raise TypeError(
            f"loss_fn must return a torch.Tensor, got {type(loss).__name__} at step {step}"
        )
    if loss.dim() != 0 or not loss.is_floating_point():
        raise ValueError(
            f"loss_fn must return a scalar float tensor, got shape {list(loss.shape)} and "
            f"dtype {loss.dtype} at step {step} (reduce it, e.g. with .mean())"
        )
    if not loss.requires_grad:
        raise ValueError(
            f"the loss at step {step} does not require grad: it depends on no parameter "
            f"being trained (all frozen, or computed under torch.no_grad())"
        )
    return loss


def _evaluate(model, eval_fn, step: int, elapsed: float, rank: int, world_size: int) -> dict:
    """Run ``eval_fn`` on process 0 (eval mode, no gradients); every process gets its record."""
    record: Any = None
    if rank == 0:
        model.eval()
        try:
            with torch.no_grad():
                metrics = eval_fn(model)
            record = {"step": step, "elapsed_s": elapsed, **_check_metrics(metrics)}
        except Exception as error:
            if world_size > 1:  # tell the others, so that they stop instead of waiting
                dist.broadcast_object_list([f"{type(error).__name__}: {error}"], src=0)
            raise
        finally:
            model.train()
    if world_size > 1:
        box = [record]
        dist.broadcast_object_list(box, src=0)
        record = box[0]
        if isinstance(record, str):
            raise RuntimeError(f"eval_fn failed on process 0 at step {step}: {record}")
    return record


def _check_metrics(metrics: Any) -> dict[str, float]:
    if not isinstance(metrics, Mapping):
        raise TypeError(f"eval_fn must return a dict of str -> float, not {type(metrics).__name__}")
    checked = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or key in RESERVED_EVAL_KEYS:
            raise ValueError(
                f"eval_fn's metric names must be str other than {RESERVED_EVAL_KEYS}, got {key!r}"
            )
        try:
            checked[key] = float(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"eval_fn's metric {key!r} must be a number, not {type(value).__name__}"
            ) from None
    return checked


def train(
    model: nn.Module,
    dataset: Sequence,
    config: TrainingConfig | None = None,
    *,
    collate_fn: Callable[[list], Any] = default_collate,
    loss_fn: Callable[[nn.Module, Any], torch.Tensor] | None = None,
    eval_fn: Callable[[nn.Module], Mapping[str, float]] | None = None,
) -> TrainingHistory:
    """Train ``model`` in place on ``dataset``; return what was measured.

    Args:
        model: any ``nn.Module``; trained in place and left in the mode it came in.
        dataset: a map-style dataset (a list, or ``__len__`` and ``__getitem__``).
        config: a ``TrainingConfig`` (None = the defaults).
        collate_fn: a list of examples -> one batch; torch's ``default_collate`` stacks
            dicts of (T,) tensors into dicts of (B, T) tensors.
        loss_fn: ``loss_fn(model, batch)`` -> a scalar tensor, the mean loss over the batch;
            default ``model(**batch).loss``. Under torchrun ``model`` is the
            ``DistributedDataParallel`` wrapper: call it, and reach attributes via ``.module``.
        eval_fn: ``eval_fn(model)`` -> dict of metric name -> number; called every
            ``config.eval_every`` steps and after the last one, in eval mode under
            ``torch.no_grad()`` (on process 0 only under torchrun).

    Example, a classifier whose forward returns an object with ``.loss``::

        examples = [{"input_ids": ids, "labels": torch.tensor(1)}, ...]   # ids: (T,)
        history = train(model, examples, TrainingConfig(max_steps=200, batch_size=16))
        history.loss[-1], history.evals
    """
    config = TrainingConfig() if config is None else config
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}")
    if isinstance(model, DistributedDataParallel):
        raise TypeError("pass the model itself, not a DistributedDataParallel: train() wraps it")
    if not isinstance(config, TrainingConfig):
        raise TypeError(f"config must be a TrainingConfig, not {type(config).__name__}")
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(
            f"dataset must be map-style (a list, or __len__ and __getitem__), "
            f"not {type(dataset).__name__}"
        )
    for name, function in (("collate_fn", collate_fn), ("loss_fn", loss_fn), ("eval_fn", eval_fn)):
        if function is not None and not callable(function):
            raise TypeError(f"{name} must be callable, not {type(function).__name__}")
    if len(dataset) == 0:
        raise ValueError("dataset is empty: there is nothing to train on")
    if len(dataset) < config.batch_size:
        raise ValueError(
            f"dataset has {len(dataset)} examples, fewer than batch_size={config.batch_size}: "
            f"not one full batch"
        )
    loss_fn = default_loss if loss_fn is None else loss_fn

    rank, world_size = _setup_distributed()
    micro_batches = config.gradient_accumulation_steps
    if config.batch_size % (world_size * micro_batches) != 0:
        raise ValueError(
            f"batch_size={config.batch_size} must be divisible by the number of processes "
            f"({world_size}) times gradient_accumulation_steps ({micro_batches})"
        )
    micro_size = config.batch_size // (world_size * micro_batches)  # examples per forward
    steps_per_epoch = len(dataset) // config.batch_size
    total_steps = config.max_steps or config.num_epochs * steps_per_epoch

    optimizer = build_optimizer(model, config)
    schedule = partial(
        linear_warmup_decay, warmup_steps=config.warmup_steps, total_steps=total_steps
    )
    scheduler = LambdaLR(optimizer, schedule)  # group lr = its initial lr * schedule(s)
    trained = [p for group in optimizer.param_groups for p in group["params"]]
    frozen = [p for g in optimizer.param_groups if g["lr_multiplier"] == 0 for p in g["params"]]
    rate_group = next(g for g in optimizer.param_groups if g["lr_multiplier"] > 0)

    probe, record = active_probe(), None
    if probe is not None:  # a few exact steps, recorded (the schedule keeps its length)
        record = probe.start(total_steps, schedule, steps_per_epoch=steps_per_epoch)
        total_steps = min(total_steps, probe.steps)

    torch.manual_seed(config.seed + rank)  # dropout: reproducible, different on each process
    batches = _global_batches(
        len(dataset), config.batch_size, torch.Generator().manual_seed(config.seed)
    )
    show = config.show_progress
    if show is None:
        show = bool(getattr(sys.stderr, "isatty", lambda: False)())
    bar = tqdm(total=total_steps, desc="train", disable=not (show and rank == 0), file=sys.stderr)
    history = TrainingHistory(world_size=world_size, steps_per_epoch=steps_per_epoch)
    was_training = model.training
    start = time.perf_counter()
    try:
        for parameter in frozen:  # no gradients for frozen parts (restored at the end)
            parameter.requires_grad_(False)
        net = model
        if world_size > 1:  # copies process 0's weights to the others, then syncs gradients
            net = DistributedDataParallel(
                model, find_unused_parameters=config.find_unused_parameters
            )
        net.train()
        for step, global_batch in zip(range(1, total_steps + 1), batches, strict=False):
            share = global_batch[rank::world_size]  # (B / W) indices of this process
            loss_sum = torch.zeros(())
            for m in range(micro_batches):
                indices = share[m * micro_size : (m + 1) * micro_size]
                batch = collate_fn([dataset[i] for i in indices])
                # DDP averages gradients over processes at the last micro-batch's backward
                last = m == micro_batches - 1
                sync = contextlib.nullcontext() if net is model or last else net.no_sync()
                with sync:
                    loss = _check_loss(loss_fn(net, batch), step)
                    (loss / micro_batches).backward()  # the step's gradient: mean of the parts
                loss_sum += loss.detach().float().cpu()
            mean_loss = loss_sum / micro_batches
            if world_size > 1:
                dist.all_reduce(mean_loss)  # sum over processes ...
                mean_loss /= world_size  # ... -> mean: the global batch's loss, for the record
            if not math.isfinite(mean_loss.item()):
                raise FloatingPointError(
                    f"the loss is {mean_loss.item()} at step {step}: try a lower learning_rate"
                )
            max_norm = math.inf if config.max_grad_norm is None else config.max_grad_norm
            grad_norm = torch.nn.utils.clip_grad_norm_(trained, max_norm)  # inf: measure only

            history.steps.append(step)
            history.loss.append(mean_loss.item())
            history.learning_rate.append(rate_group["lr"] / rate_group["lr_multiplier"])
            history.grad_norm.append(grad_norm.item())
            if record is not None:
                probe.step(record, mean_loss, grad_norm, history.learning_rate[-1], batch)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            bar.set_postfix(
                loss=f"{history.loss[-1]:.4f}", lr=f"{history.learning_rate[-1]:.2e}", refresh=False
            )
            bar.update()

            due = config.eval_every is not None and step % config.eval_every == 0
            if eval_fn is not None and (due or step == total_steps):
                elapsed = time.perf_counter() - start
                history.evals.append(_evaluate(model, eval_fn, step, elapsed, rank, world_size))
        if record is not None:
            probe.finish(record, history.evals, model)
    finally:
        bar.close()
        for parameter in frozen:
            parameter.requires_grad_(True)
        model.train(was_training)
    history.wall_time_s = time.perf_counter() - start
    return history
