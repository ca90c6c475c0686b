"""The per-user cache of trained runs: made once on this machine, kept in a folder.

Chapters: every one that shows a trained result. The guide's own results ship with the
package (``bertguide.experiments``); this cache holds what a machine makes itself: a
run with settings of the reader's own, a checkpoint that does not ship (the
demonstration heads, the compact student), or a run refreshed by ``make experiments``.
It lives in

    $BERTGUIDE_CACHE                     when set
    $XDG_CACHE_HOME/bertguide            else, when XDG_CACHE_HOME is set
    ~/.cache/bertguide                   else

one folder per run, named ``<run name>-<identity>`` (``bertguide.experiments.store``:
the identity names what the run computes, never its code). Before a run starts, one
line on stderr says what it does and how long it took when its shipped result was
made. A folder holds the checkpoint in the Hugging Face format (``config.json``,
``model.safetensors``, ``vocab.txt``) and ``report.json``. Deleting the whole cache
folder is always safe.

A run writes into a temporary folder beside the final one and renames it when it is
complete, so an interrupted run leaves no half-written checkpoint behind, and two
processes that run at once both end with the same, whole folder.

Left out: size limits and automatic clean-up of old folders, locking (the second
of two simultaneous runs does the work again, then keeps the first one's folder).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

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


def load_average() -> float | None:
    """The machine's 1-minute load average, to two decimals (None where the system has
    none): how busy it was, recorded beside every measured time.

    >>> load_average() >= 0
    True
    """
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def is_complete(directory: Path) -> bool:
    """Whether ``directory`` holds a finished run: weights, config and report."""
    return all((directory / f).is_file() for f in ("config.json", "model.safetensors", REPORT))


def read_report(directory: Path) -> dict:
    """The ``report.json`` of a finished run, parsed."""
    return json.loads((Path(directory) / REPORT).read_text(encoding="utf-8"))


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
    ``what`` the run does, how long it takes (``minutes``, as measured when the shipped
    result was made; None: not yet timed) on ``threads`` cores, and where the result
    will be kept.
    """
    directory = Path(directory)
    if is_complete(directory):
        return directory
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
