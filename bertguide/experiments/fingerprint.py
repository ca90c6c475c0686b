"""A run's behavioural fingerprint: a few exact steps of its own code, recorded.

A shipped result stays valid while the code still computes what made it. To check
that without retraining, ``fingerprint(run)`` runs the run's own ``compute`` on its
``probe`` settings (the same code path on a slice of the data, one thread, float32)
inside ``bertguide.probing.probing``: every training loop stops after two steps and
records its losses, gradient norms, learning rates (and samples of the whole
schedule), a checksum of each batch and of the parameters after the last step, and
its evaluations. The fingerprint is that record, the numbers of the report the probe
run returns (timings left out) and torch's major.minor version.

``compare(recorded, fresh)`` lists where two fingerprints differ: a text or whole
number that is not equal, a real number off by more than ``RELATIVE`` of its size (or
``ABSOLUTE``), a key that one has and the other not. Floating-point noise between two
CPUs of one kind is far below that; a changed masking rate, loss term, schedule,
tokenizer rule or torch release is far above (the tests plant each one).
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from bertguide.experiments.registry import Run, get_run
from bertguide.probing import active_probe, probing

STEPS = 2  # training steps each loop of a probe takes
RELATIVE, ABSOLUTE = 1e-3, 1e-5
# Report keys that measure the machine, not the computation: left out of fingerprints.
TIMING = re.compile(r"(_s$|time|second|minute|load|speed|per_s|ratio|threads|^torch$|^bf16$)")


def torch_release() -> str:
    """torch's major.minor version: a new release may compute differently."""
    return ".".join(torch.__version__.split("+")[0].split(".")[:2])


def leaves(value: Any, path: str = "", timings: bool = False) -> Iterator[tuple[str, Any]]:
    """(path, value) for every number, text and None in a nested report, timings left
    out (unless ``timings``). Paths join keys and list indices with dots:
    ``"history.loss.3"``."""
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            if timings or not TIMING.search(str(key)):
                yield from leaves(value[key], f"{path}.{key}" if path else str(key), timings)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}.{i}" if path else str(i), timings)
    elif value is None or isinstance(value, (bool, int, float, str)):
        yield path, value


def fingerprint(run: Run | str, steps: int = STEPS) -> dict:
    """Run ``run``'s probe (see the module docstring) and return its fingerprint."""
    run = get_run(run) if isinstance(run, str) else run
    if active_probe() is not None:
        raise RuntimeError("fingerprint() cannot run inside another probe")
    settings = run.probe_settings()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as folder, probing(steps) as probe:
            report = run.compute_function()(settings, Path(folder))
    finally:
        torch.set_num_threads(threads)
    return {
        "torch": torch_release(),
        "steps": steps,
        "loops": dict(leaves(probe.calls)),
        "report": dict(leaves(report)),
    }


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a != b
    if isinstance(a, int) and isinstance(b, int):
        return a != b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) or math.isnan(b):
            return not (math.isnan(a) and math.isnan(b))
        return not math.isclose(a, b, rel_tol=RELATIVE, abs_tol=ABSOLUTE)
    return a != b


def compare(recorded: dict, fresh: dict, limit: int = 8) -> list[str]:
    """Where ``fresh`` differs from ``recorded`` (at most ``limit`` lines, then a count)."""
    lines = []
    if recorded.get("torch") != fresh.get("torch"):
        lines.append(f"torch {fresh.get('torch')} (recorded with {recorded.get('torch')})")
    for part in ("loops", "report"):
        old, new = recorded.get(part, {}), fresh.get(part, {})
        for key in sorted(set(old) | set(new)):
            if key not in new:
                lines.append(f"{part}.{key}: recorded {old[key]!r}, now missing")
            elif key not in old:
                lines.append(f"{part}.{key}: new, {new[key]!r}")
            elif _differs(old[key], new[key]):
                lines.append(f"{part}.{key}: recorded {old[key]!r}, now {new[key]!r}")
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more"]
    return lines
