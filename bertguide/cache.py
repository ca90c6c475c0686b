"""Where the guide keeps what it trained once: a per-user cache of checkpoints and reports.

Chapter: "Pre-training: MLM and NSP" (the restored heads) and the fine-tuning chapter
(the compact student). A run that takes minutes is done once per machine and kept in

    $BERTGUIDE_CACHE                     when set
    $XDG_CACHE_HOME/bertguide            else, when XDG_CACHE_HOME is set
    ~/.cache/bertguide                   else

one folder per run, named ``<run name>-<key>``. The key is a hash of the run's settings,
of the source of the modules the result depends on, and of the embedded model's
SHA-256: change any of them and the folder name changes, so the run is done again
(the old folder stays until you delete it). A folder holds the checkpoint in the
Hugging Face format (``config.json``, ``model.safetensors``, ``vocab.txt``) and
``report.json``. Deleting the whole cache folder is always safe.

A run writes into a temporary folder beside the final one and renames it when it is
complete, so an interrupted run leaves no half-written checkpoint behind, and two
processes that run at once both end with the same, whole folder.

Left out: size limits and automatic clean-up of old folders, locking (the second
of two simultaneous runs does the work again, then keeps the first one's folder).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
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


def run_key(settings: Any, modules: Sequence[str]) -> str:
    """A 16-hex-digit hash of ``repr(settings)``, the modules' source and the embedded
    model's SHA-256: the part of a run's folder name that changes when they do.

    ``settings`` must have a stable ``repr`` (a frozen dataclass of plain values).
    """
    digest = hashlib.sha256()
    parts = [repr(settings).encode(), EXPECTED_SHA256["model.safetensors"].encode()]
    parts += [name.encode() + b"\n" + module_source(name) for name in sorted(modules)]
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


def cached_run(directory: Path, run: Callable[[Path], dict], message: str) -> Path:
    """Return ``directory``, running ``run`` first when it holds no finished run.

    ``run(folder)`` must write the checkpoint into ``folder`` and return the report (a
    JSON-ready dict), which is written beside it. ``message`` is printed on stderr
    before the run starts, followed by where the result will be kept.
    """
    directory = Path(directory)
    if is_complete(directory):
        return directory
    print(f"{message}; cached in {directory}", file=sys.stderr, flush=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        report = run(scratch)
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
