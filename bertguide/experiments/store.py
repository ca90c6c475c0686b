"""Where trained results live: shipped with the package, or made once in the cache.

A run's result is found in this order:

1. **shipped**: ``bertguide/data/runs/<name>.json`` holds the report the pages print
   and draw, with its provenance (commit, settings, versions, machine, date, wall
   time), the run's ``identity`` and ``fingerprint`` when it was made. It is used when
   its identity is the run's identity now. The weights a reader's examples need ship
   beside it (``bertguide/data/weights/``, see ``bertguide.experiments.weights``).
2. **cache**: ``cache_root()/<name>-<identity>/`` (``bertguide.experiments.cache``), made by running
   the run once on this machine, announced on stderr with the measured length of the
   shipped run. Used for settings other than the shipped ones, for checkpoints that
   do not ship, and for a shipped result whose identity no longer matches (its
   version was bumped and nobody has refreshed it yet).

A run's identity is a hash of what it computes: its name, version, settings (as
plain field values, so a settings class may move or be renamed), the identities of
the runs it needs and the embedded model's SHA-256. Never of source code.

    >>> report("tiny-gpt")["heldout_loss"] < report("tiny-gpt")["initial_loss"]
    True
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

from bertguide.experiments.cache import cache_root, cached_run, read_report
from bertguide.experiments.registry import Run, get_run
from bertguide.inference import SHIPPED as DATA
from bertguide.pretrained import EXPECTED_SHA256
from bertguide.probing import active_probe

SHIPPED = DATA / "runs"
RECORD_FORMAT = 1


def settings_dict(settings: Any) -> dict:
    """A run's settings as plain values (field names and values, no class name)."""
    if not dataclasses.is_dataclass(settings) or isinstance(settings, type):
        raise TypeError(f"settings must be a dataclass instance, not {type(settings).__name__}")
    return json.loads(json.dumps(dataclasses.asdict(settings), default=str))


def identity(run: Run | str, settings: Any = None) -> str:
    """16 hex digits naming what ``run`` with ``settings`` (default: its own) computes.

    >>> identity("tiny-gpt") == identity("tiny-gpt")
    True
    """
    run = get_run(run) if isinstance(run, str) else run
    settings = run.default_settings() if settings is None else settings
    payload = {
        "run": run.name,
        "version": run.version,
        "settings": settings_dict(settings),
        "needs": {need: identity(need) for need in run.needs},
        "model": EXPECTED_SHA256["model.safetensors"],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def shipped_path(name: str) -> Path:
    return SHIPPED / f"{name}.json"


def shipped_record(name: str) -> dict | None:
    """The shipped record of run ``name`` (report, provenance, identity, fingerprint),
    or None when none ships."""
    path = shipped_path(get_run(name).name)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def is_current(record: dict | None, run: Run) -> bool:
    """Whether a shipped record is the result of ``run`` as described now."""
    return record is not None and record.get("identity") == identity(run)


def shipped_minutes(name: str) -> float | None:
    """Minutes the shipped run took on the machine that made it, or None."""
    return record_minutes(shipped_record(name))


def record_minutes(record: dict | None) -> float | None:
    """Minutes the run of a shipped record took, or None."""
    seconds = None if record is None else record["provenance"].get("wall_time_s")
    return None if seconds is None else seconds / 60


def cache_directory(name: str, settings: Any = None) -> Path:
    """``cache_root()/<name>-<identity>``: where this machine keeps the run's result."""
    run = get_run(name)
    return cache_root() / f"{run.name}-{identity(run, settings)}"


def made(name: str, settings: Any = None) -> Path:
    """The cache folder of run ``name`` with ``settings``, running it first when missing
    (announced on stderr: what it does, how long the shipped run took)."""
    run = get_run(name)
    settings = run.default_settings() if settings is None else settings
    if active_probe() is not None:
        raise RuntimeError(
            f"a fingerprint probe reached run {name!r}: a probe must not read what one "
            f"machine made or train what it needs; give the probed run settings that avoid it"
        )
    # the shipped run's time says how long these settings take only if it made them
    record = shipped_record(name)
    timed = settings == run.default_settings() and is_current(record, run)
    return cached_run(
        cache_directory(name, settings),
        partial(run.compute_function(), settings),
        run.what,
        threads=threads_of(settings),
        minutes=record_minutes(record) if timed else None,
    )


def threads_of(settings: Any) -> int:
    """The torch threads a run's settings ask for (theirs, or their inner settings')."""
    for candidate in (settings, getattr(settings, "settings", None)):
        threads = getattr(candidate, "threads", None)
        if isinstance(threads, int) and not isinstance(threads, bool):
            return threads
    return 2


def report(name: str, settings: Any = None) -> dict:
    """The report of run ``name``: the shipped one for the run's own settings (when it
    is current), else the cache's, made when missing."""
    run = get_run(name)
    if settings is None or settings == run.default_settings():
        record = shipped_record(name)
        if is_current(record, run):
            return record["report"]
        settings = None
    return read_report(made(name, settings))


def made_where(name: str) -> str:
    """One line: where, when and how long the shipped result of run ``name`` was made.

    >>> made_where("tiny-gpt").startswith("tiny-gpt: 20")  # e.g. "tiny-gpt: 2026-12-07,
    True
    >>> # commit 1a2b3c4, AMD EPYC (2 cores, 2 threads), torch 2.13.0+cpu, 0.2 min"
    """
    record = shipped_record(name)
    if record is None:
        return f"{name}: not shipped"
    made = record["provenance"]
    commit = (made["commit"] or "unknown")[:7]
    machine = made["machine"]
    threads = made["threads"]
    return (
        f"{name}: {made['date'][:10]}, commit {commit}, {machine['cpu']} "
        f"({machine['cores']} cores, {threads} thread{'s' if threads != 1 else ''}), "
        f"torch {made['versions'].get('torch', '?')}, {made['wall_time_s'] / 60:.1f} min"
    )


# --- provenance -------------------------------------------------------------------------


def _git(*args: str) -> str | None:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    """Python's and the libraries' versions that a result depends on."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("bertguide", "torch", "numpy", "scikit-learn", "gensim", "transformers"):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def provenance(wall_time_s: float, threads: int, load: tuple, started: str) -> dict:
    """Where and how a result was made: commit (and whether the tree had changes),
    versions, machine, date, wall time, threads and the load before and after."""
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": None if dirty is None else bool(dirty),
        "date": started,
        "wall_time_s": round(wall_time_s, 1),
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "platform": platform.platform(),
        },
        "threads": threads,
        "load_average": list(load),
        "versions": versions(),
    }


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def write_record(name: str, record: dict) -> Path:
    """Write a record as ``bertguide/data/runs/<name>.json`` (sorted keys, one space)."""
    SHIPPED.mkdir(parents=True, exist_ok=True)
    path = shipped_path(name)
    text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
