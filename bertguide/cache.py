"""Where the guide keeps what it trained once: a per-user cache of checkpoints and reports.

Chapter: "Pre-training: MLM and NSP" (the restored heads) and the fine-tuning chapter
(the compact student). A run that takes minutes is done once per machine and kept in

    $BERTGUIDE_CACHE                     when set
    $XDG_CACHE_HOME/bertguide            else, when XDG_CACHE_HOME is set
    ~/.cache/bertguide                   else

one folder per run, named ``<run name>-<key>``. The key is a hash of the run's settings,
of the code of the modules the result depends on (their docstrings and comments left
out), and of the embedded model's SHA-256: change any of them and the folder name
changes, so the run is done again (the old folder stays until you delete it). Before
a run starts, one line on stderr says what it does and how long it took when it was
last measured (``bertguide/data/run_minutes.json``). A folder holds the checkpoint in the
Hugging Face format (``config.json``, ``model.safetensors``, ``vocab.txt``) and
``report.json``. Deleting the whole cache folder is always safe.

A run writes into a temporary folder beside the final one and renames it when it is
complete, so an interrupted run leaves no half-written checkpoint behind, and two
processes that run at once both end with the same, whole folder.

Left out: size limits and automatic clean-up of old folders, locking (the second
of two simultaneous runs does the work again, then keeps the first one's folder).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bertguide.pretrained import EXPECTED_SHA256

REPORT = "report.json"


def cache_root() -> Path:
    """The guide's cache folder (see the module docstring); not created here.

    >>> os.environ["BERTGUIDE_CACHE"] = "/tmp/bg-cache"
    >>> cache_root()
    PosixPath('/tmp/bg-cache')
    """
    configured = os.environ.get("BERTGUIDE_CACHE", "").strip()
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg:
        return Path(xdg).expanduser() / "bertguide"
    return Path.home() / ".cache" / "bertguide"


def module_source(name: str) -> bytes:
    """The bytes of a module's source file, read without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or not os.path.isfile(spec.origin):
        raise ValueError(f"module {name!r} has no source file to hash")
    return Path(spec.origin).read_bytes()


def module_code(name: str) -> bytes:
    """What a module computes, without its prose: the syntax tree of its source with
    every docstring removed. Comments, docstrings and formatting do not change it, so
    mending a module's documentation does not throw its cached runs away.

    >>> module_code("bertguide.cache") == module_code("bertguide.cache")
    True
    """
    tree = ast.parse(module_source(name))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            value = first.value if isinstance(first, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree).encode()


def run_key(settings: Any, modules: Sequence[str]) -> str:
    """A 16-hex-digit hash of ``repr(settings)``, the modules' code (``module_code``:
    docstrings and comments left out) and the embedded model's SHA-256: the part of a
    run's folder name that changes when they do.

    ``settings`` must have a stable ``repr`` (a frozen dataclass of plain values).
    """
    digest = hashlib.sha256()
    parts = [repr(settings).encode(), EXPECTED_SHA256["model.safetensors"].encode()]
    parts += [name.encode() + b"\n" + module_code(name) for name in sorted(modules)]
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def run_directory(name: str, settings: Any, modules: Sequence[str]) -> Path:
    """``cache_root() / f"{name}-{run_key(settings, modules)}"`` (not created here)."""
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(f"name must be a plain folder name like 'restored-heads', got {name!r}")
    return cache_root() / f"{name}-{run_key(settings, modules)}"


def is_complete(directory: Path) -> bool:
    """Whether ``directory`` holds a finished run: weights, config and report."""
    return all((directory / f).is_file() for f in ("config.json", "model.safetensors", REPORT))


def read_report(directory: Path) -> dict:
    """The ``report.json`` of a finished run, parsed."""
    return json.loads((Path(directory) / REPORT).read_text(encoding="utf-8"))


MINUTES_FILE = Path(__file__).parent / "data" / "run_minutes.json"


def run_name(directory: Path) -> str:
    """The run's name in a cache folder's name: ``restored-heads-0123abcd…`` ->
    ``restored-heads``."""
    return Path(directory).name.rsplit("-", 1)[0]


def measured_minutes(name: str) -> float | None:
    """Wall-clock minutes the run ``name`` took when it was last measured on 2 CPU cores
    (``bertguide/data/run_minutes.json``), or None when it never was.

    >>> measured_minutes("restored-heads") > 1
    True
    """
    measured = json.loads(MINUTES_FILE.read_text(encoding="utf-8"))["minutes"]
    value = measured.get(name)
    return None if value is None else float(value)


def announcement(what: str, minutes: float | None, threads: int) -> str:
    """The line printed before a run: what it does, how long it takes, on what.

    >>> announcement("training the tiny GPT", 2.4, 2)
    'training the tiny GPT: about 2 minutes on 2 CPU cores, once'
    >>> announcement("fine-tuning a head", 0.3, 1)
    'fine-tuning a head: under a minute on 1 CPU core, once'
    """
    if minutes is None:
        length = "not yet timed"
    elif minutes < 1:
        length = "under a minute"
    else:
        length = f"about {round(minutes)} minute{'s' if round(minutes) > 1 else ''}"
    return f"{what}: {length} on {threads} CPU core{'s' if threads > 1 else ''}, once"


def cached_run(
    directory: Path,
    run: Callable[[Path], dict],
    what: str,
    threads: int = 2,
    minutes: float | None = None,
) -> Path:
    """Return ``directory``, running ``run`` first when it holds no finished run.

    ``run(folder)`` must write the checkpoint into ``folder`` and return the report (a
    JSON-ready dict), which is written beside it; the wall time of the whole run is
    added to the report as ``run_seconds``. Before the run starts, stderr gets one line:
    ``what`` the run does, how long it takes (``minutes``, else the measured minutes of
    runs with this folder's name) on ``threads`` cores, and where the result will be
    kept.
    """
    directory = Path(directory)
    if is_complete(directory):
        return directory
    if minutes is None:
        minutes = measured_minutes(run_name(directory))
    message = announcement(what, minutes, threads)
    print(f"{message}; cached in {directory}", file=sys.stderr, flush=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        start = time.perf_counter()
        report = run(scratch)
        report = {**report, "run_seconds": time.perf_counter() - start}
        text = json.dumps(report, indent=1, sort_keys=True, allow_nan=False)
        (scratch / REPORT).write_text(text + "\n", encoding="utf-8")
        if not is_complete(scratch):
            raise RuntimeError(f"the run wrote no checkpoint into {scratch}")
        try:
            scratch.rename(directory)
        except OSError:  # another process finished first: keep its folder
            if not is_complete(directory):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return directory


def finished_runs(root: Path | None = None) -> list[tuple[str, float]]:
    """Every finished run in the cache as ``(folder name, run seconds)``, oldest first
    (runs cached before ``run_seconds`` was recorded give their ``wall_time_s``)."""
    root = cache_root() if root is None else Path(root)
    if not root.is_dir():
        return []
    rows = []
    for folder in sorted(root.iterdir(), key=lambda f: f.stat().st_mtime):
        if folder.name.startswith(".") or not is_complete(folder):
            continue
        report = read_report(folder)
        seconds = report.get("run_seconds", report.get("wall_time_s"))
        if isinstance(seconds, (int, float)):
            rows.append((folder.name, float(seconds)))
    return rows
