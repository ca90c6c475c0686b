"""``make experiments``: rerun the guide's runs from scratch and compare with what ships.

``refresh(names)`` runs each named run (default: all, each after the runs it needs)
from scratch into the cache, announcing it and showing a progress bar on a terminal,
then prints one table: for every number the run's ``tolerances`` name, the shipped
value, the fresh one, the tolerance and whether the fresh one is within it, and the
minutes each run took. It returns 1 when a number is out of tolerance. With
``write=True`` the fresh results replace the shipped ones (report, provenance,
fingerprint, weights), for a person to review and commit. ``status(names)`` is the
dry run: which shipped results are current, which are stale and why, without training.

    bertguide experiments --dry-run          # what is stale (seconds per run)
    bertguide experiments --only tiny-gpt    # one run, compared with the shipped one
    bertguide experiments --write            # refresh everything and ship it (an hour)
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import shutil
import time
from collections.abc import Callable, Sequence

from bertguide.experiments import fingerprint as fp
from bertguide.experiments import store, weights
from bertguide.experiments.cache import load_average
from bertguide.experiments.fingerprint import leaves
from bertguide.experiments.registry import RUNS, Run, get_run, in_order


def status(run: Run) -> tuple[str, list[str]]:
    """("current" | "missing" | "stale", reasons) for ``run``'s shipped result. Stale:
    its identity changed (version, settings or a run it needs), or the code now computes
    something else than the recorded fingerprint."""
    record = store.shipped_record(run.name)
    if record is None:
        return "missing", ["no shipped result"]
    if not store.is_current(record, run):
        return "stale", ["its version, settings or the runs it needs changed"]
    # the probe runs a few steps of the run's own code, which may print as it goes
    # (progress bars, per-model lines): a status line is all the caller asked for
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        found = fp.fingerprint(run)
    differences = fp.compare(record["fingerprint"], found)
    if differences:
        return "stale", differences
    return "current", []


def judged(run: Run, shipped: dict, fresh: dict) -> list[tuple[str, float, float, float]]:
    """(path, shipped value, fresh value, tolerance) for each number ``run.tolerances``
    names (``*`` matches any part of a path; ``-1`` the last item of a list). Timings
    count here: a tolerance on one says how far a new measurement may land."""
    old = dict(leaves(shipped, timings=True))
    new = dict(leaves(fresh, timings=True))
    rows = []
    for pattern, tolerance in run.tolerances.items():
        for path in sorted(set(old) & set(new)):
            matches = fnmatch.fnmatchcase(path, pattern) or _last(path, pattern, new)
            numbers = all(isinstance(v[path], (int, float)) for v in (old, new))
            if matches and numbers:
                rows.append((path, float(old[path]), float(new[path]), tolerance))
    return rows


def _last(path: str, pattern: str, values: dict) -> bool:
    """Whether ``pattern`` ends in ``-1`` and ``path`` is the last item of that list."""
    if not pattern.endswith(".-1"):
        return False
    stem = pattern[:-3]
    if not fnmatch.fnmatchcase(path.rsplit(".", 1)[0], stem):
        return False
    head, index = path.rsplit(".", 1)
    return index.isdigit() and f"{head}.{int(index) + 1}" not in values


def make_fresh(run: Run) -> tuple[dict, dict, float]:
    """Run ``run`` from scratch into its cache folder; return (report, provenance, s)."""
    folder = store.cache_directory(run.name)
    shutil.rmtree(folder, ignore_errors=True)
    load_before, started = load_average(), store.now()
    start = time.perf_counter()
    store.made(run.name)
    seconds = time.perf_counter() - start
    threads = store.threads_of(run.default_settings())
    load = (load_before, load_average())
    report = store.read_report(folder)
    return report, store.provenance(seconds, threads, load, started), seconds


def ship(run: Run, report: dict, provenance: dict, folder=None) -> None:
    """Write a result into the package: its record (and weights, for runs whose weights
    ship), from ``folder`` (default: the run's cache folder)."""
    folder = store.cache_directory(run.name) if folder is None else folder
    record = {
        "format": store.RECORD_FORMAT,
        "run": run.name,
        "version": run.version,
        "identity": store.identity(run),
        "needs": {need: store.identity(need) for need in run.needs},
        "settings": store.settings_dict(run.default_settings()),
        "provenance": provenance,
        "report": report,
    }
    if run.weights == "shipped":
        if run.name == "restored-heads":
            from bertguide.experiments.restoring import decision_batches
            from bertguide.pretraining import BertForPreTraining

            model = BertForPreTraining.from_pretrained(folder)
            record["weights"] = weights.pack_restored(model, decision_batches())
        else:
            record["weights"] = weights.pack_whole(folder, run.name)
    record["fingerprint"] = fp.fingerprint(run)
    store.write_record(run.name, record)
    from bertguide.experiments import restoring

    restoring.forget_loaded()  # later runs read the weights just written


def format_table(rows: Sequence[tuple]) -> str:
    """The comparison table: run, number, shipped, fresh, tolerance, verdict."""
    lines = [f"{'run':<26} {'number':<34} {'shipped':>9} {'fresh':>9} {'tol':>6}  ok"]
    for name, path, old, new, tolerance in rows:
        verdict = "yes" if abs(new - old) <= tolerance else "NO"
        lines.append(
            f"{name:<26} {path[:34]:<34} {old:>9.4g} {new:>9.4g} {tolerance:>6.3g}  {verdict}"
        )
    return "\n".join(lines)


def refresh(names: Sequence[str] | None = None, write: bool = False, log: Callable = print) -> int:
    """Rerun ``names`` (default: every run, in the order their needs ask) from scratch,
    print the comparison with the shipped results; 1 if a number is out of tolerance."""
    runs = list(RUNS) if not names else [get_run(n) for n in names]
    runs = [run for run in in_order([r.name for r in runs]) if run in runs]
    rows, minutes = [], []
    for run in runs:
        shipped = store.shipped_record(run.name)
        log(f"== {run.name}: {run.what}", flush=True)
        report, provenance, seconds = make_fresh(run)
        minutes.append((run.name, seconds / 60, provenance["load_average"]))
        if store.is_current(shipped, run):
            rows += [(run.name, *row) for row in judged(run, shipped["report"], report)]
        elif shipped is not None:  # another recipe: its numbers are no yardstick
            log(f"   the shipped result is of version {shipped.get('version')}: not compared")
        if write:
            ship(run, report, provenance)
            log(f"   shipped {store.shipped_path(run.name)}", flush=True)
    log("\n" + format_table(rows))
    log("\nminutes each run took (load average before, after):")
    for name, value, load in minutes:
        log(f"  {name:<26} {value:6.1f}   load {load[0]} -> {load[1]}")
    failed = [row for row in rows if abs(row[3] - row[2]) > row[4]]
    log(f"\n{len(rows) - len(failed)} of {len(rows)} numbers within tolerance")
    return 1 if failed else 0


def dry_run(names: Sequence[str] | None = None, log: Callable = print) -> int:
    """Print each run's state (current, missing, stale and why); 1 if any is not current."""
    runs = list(RUNS) if not names else [get_run(n) for n in names]
    bad = 0
    for run in runs:
        state, reasons = status(run)
        minutes = store.shipped_minutes(run.name)
        length = "" if minutes is None else f" ({minutes:.1f} min to refresh)"
        log(f"{run.name:<26} {state}{length}", flush=True)
        for reason in reasons:
            log(f"    {reason}")
        bad += state != "current"
    return 1 if bad else 0
