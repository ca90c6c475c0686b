"""Probing a training run: a few exact steps of its own code, recorded.

Role: the behavioural fingerprints of ``bertguide.experiments`` (chapter: every one
that shows a trained result). ``probing(steps)`` is a cheap, exact look at what a
training script computes, without its cost: inside it, every ``train`` call stops
after ``steps`` steps (the learning-rate schedule still spans the whole run) and
calls ``eval_fn`` then; the ``Probe`` it yields records, for each call, the losses,
gradient norms, learning rates and a checksum of each batch, samples of the schedule,
the evaluations and a checksum of the parameters after the last step.
``bertguide.experiments`` fingerprints every run the guide ships this way::

    with probing(steps=2) as probe:
        history = bertguide.training.train(model, examples, config, loss_fn=mse)
    probe.calls[0]["loss"]          # the first two losses of the run, as it computes them

Left out: recording inside several processes (a probe is for one process).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch


def checksum(value: Any) -> float:
    """One number that changes when any tensor in ``value`` (a tensor, or a mapping,
    list or tuple of them, nested) changes: the sum of each tensor's elements weighted
    by their position (1, 2, ..., 7, 1, ...), so a reordering shows too. Other values
    count as 0.

    >>> checksum({"ids": torch.tensor([1, 2]), "mask": torch.tensor([1, 1])})
    8.0
    """
    if isinstance(value, torch.Tensor):
        flat = value.detach().flatten().double()
        return float((flat * (torch.arange(flat.numel()) % 7 + 1)).sum())
    if isinstance(value, Mapping):
        return sum(checksum(value[k]) for k in sorted(value, key=str))
    if isinstance(value, (list, tuple)):
        return sum(checksum(v) for v in value)
    return 0.0


@dataclass
class Probe:
    """What ``train`` recorded inside ``probing``: one dict per call, in call order."""

    steps: int  # steps each train() call takes at most
    calls: list[dict[str, Any]] = field(default_factory=list)

    def start(self, total_steps: int, schedule: Callable[[int], float], **facts: Any) -> dict:
        """Open the record of a loop that would take ``total_steps`` steps; return it.
        Loops other than ``train`` (the tiny GPT's) call this and ``step``."""
        marks = sorted({0, 1, total_steps // 2, max(total_steps - 1, 0), total_steps})
        record = {
            "total_steps": total_steps,
            "schedule": [[s, schedule(s)] for s in marks],
            **facts,
            "loss": [],
            "grad_norm": [],
            "learning_rate": [],
            "batch": [],
        }
        self.calls.append(record)
        return record

    def finish(self, record: dict, evals: list[dict], model: torch.nn.Module) -> None:
        """Close ``record``: the loop's evaluations (times left out) and a checksum of
        the model's parameters after its last step."""
        record["evals"] = [{k: v for k, v in e.items() if k != "elapsed_s"} for e in evals]
        record["parameters"] = checksum(list(model.parameters()))

    def step(self, record: dict, loss: float, grad_norm: float, lr: float, batch: Any) -> None:
        """Add one step to ``record`` (see ``start``)."""
        record["loss"].append(float(loss))
        record["grad_norm"].append(float(grad_norm))
        record["learning_rate"].append(float(lr))
        record["batch"].append(checksum(batch))


_PROBE: contextvars.ContextVar[Probe | None] = contextvars.ContextVar("probe", default=None)


def active_probe() -> Probe | None:
    """The ``Probe`` of the innermost ``probing`` block, or None outside one."""
    return _PROBE.get()


@contextlib.contextmanager
def probing(steps: int = 2) -> Iterator[Probe]:
    """Inside this block every ``train`` call takes at most ``steps`` steps and records
    them in the yielded ``Probe`` (see the module docstring)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int of at least 1, got {steps!r}")
    probe = Probe(steps)
    token = _PROBE.set(probe)
    try:
        yield probe
    finally:
        _PROBE.reset(token)
