"""The runs the guide ships: one description each, their identity, and where results come from."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bertguide.experiments import store
from bertguide.experiments.registry import BY_NAME, RUNS, Run, get_run, in_order

NAMES = [run.name for run in RUNS]


def test_every_run_is_listed_once_with_what_it_needs_before_it():
    assert len(NAMES) == len(set(NAMES)) == 14
    order = [run.name for run in in_order()]
    for run in RUNS:
        for need in run.needs:
            assert need in BY_NAME and order.index(need) < order.index(run.name)
    with pytest.raises(ValueError, match="no run named 'nope'"):
        get_run("nope")


@pytest.mark.parametrize("name", NAMES)
def test_each_run_ships_a_current_result_with_its_provenance(name):
    run = get_run(name)
    record = store.shipped_record(name)
    assert record is not None, (
        f"run {name} ships no result: bertguide experiments --only {name} --write"
    )
    assert store.is_current(record, run), (
        f"the shipped result of run {name} is of an older description (version, settings or "
        f"a run it needs changed): refresh it with bertguide experiments --only {name} --write"
    )
    assert record["settings"] == store.settings_dict(run.default_settings())
    assert record["needs"] == {need: store.identity(need) for need in run.needs}
    made = record["provenance"]
    assert len(made["commit"]) == 40 and made["date"][:2] == "20"
    assert made["wall_time_s"] > 0 and made["threads"] >= 1
    assert made["machine"]["cores"] >= 1 and made["machine"]["cpu"]
    assert {"python", "torch", "bertguide"} <= set(made["versions"])
    assert len(made["load_average"]) == 2
    assert set(record["fingerprint"]) == {"torch", "steps", "loops", "report"}


def test_identity_is_what_a_run_computes_not_where_its_code_is():
    run = get_run("demo-pairs")
    first = store.identity(run)
    assert first == store.identity("demo-pairs") and len(first) == 16
    # moved or renamed code: the same description with its functions found elsewhere
    moved = dataclasses.replace(run, compute="elsewhere:train_it", probe="elsewhere:small")
    assert store.identity(moved) == first
    # a settings class of another name (or module) with the same fields and values
    settings = run.default_settings()
    twin = dataclasses.make_dataclass("Renamed", [("task", str), ("settings", object)])
    assert store.settings_dict(twin(settings.task, settings.settings)) == store.settings_dict(
        settings
    )
    # what it computes: the version, the settings, a run it needs, the embedded model
    assert store.identity(dataclasses.replace(run, version=run.version + 1)) != first
    other = dataclasses.replace(settings, task="ner")
    assert store.identity(run, other) != first


def test_a_needed_run_is_part_of_the_identity(monkeypatch):
    first = store.identity("family-distillation")
    bumped = dataclasses.replace(get_run("restored-heads"), version=99)
    monkeypatch.setitem(BY_NAME, "restored-heads", bumped)
    assert store.identity("family-distillation") != first


def test_the_embedded_model_is_part_of_the_identity(monkeypatch):
    first = store.identity("tiny-gpt")
    monkeypatch.setitem(store.EXPECTED_SHA256, "model.safetensors", "0" * 64)
    assert store.identity("tiny-gpt") != first


def test_shipped_reports_are_read_without_training(monkeypatch, tmp_path):
    """A fresh machine (an empty cache) trains nothing to print what the pages print."""
    monkeypatch.setenv("BERTGUIDE_CACHE", str(tmp_path))

    def refuse(name, settings=None):
        raise AssertionError(f"run {name} was made, not read")

    monkeypatch.setattr(store, "made", refuse)
    from bertguide.experiments.family_runs import run_report
    from bertguide.experiments.reference_run import comparison_report
    from bertguide.experiments.restoring import compact_report, restoring_report
    from bertguide.experiments.sentiment import cross_validated
    from bertguide.experiments.transfer import transfer_report

    assert restoring_report()["steps"] == get_run("restored-heads").default_settings().max_steps
    assert compact_report()["parameters"] > 0
    assert comparison_report()["goal"] == 0.5
    assert list(cross_validated()["results"])[:2] == ["majority", "tfidf_logreg"]
    assert transfer_report()["sizes"] == [20, 40, 80, 160]
    for name in ("distillation", "roberta", "electra", "tang"):
        assert run_report(name)["settings"] == store.shipped_record(f"family-{name}")["settings"]
    assert list(tmp_path.iterdir()) == []


def test_a_stale_shipped_result_is_not_used(monkeypatch):
    """After a version bump, the shipped report no longer answers: the run is made."""
    bumped = dataclasses.replace(get_run("family-roberta"), version=99)
    monkeypatch.setitem(BY_NAME, "family-roberta", bumped)
    asked = []
    monkeypatch.setattr(store, "made", lambda name, settings=None: asked.append(name) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        store.report("family-roberta")
    assert asked == ["family-roberta"]


def test_other_settings_are_made_once_in_the_cache(monkeypatch, tmp_path, capfd):
    """Settings of the reader's own: announced with the shipped run's length, then cached."""
    monkeypatch.setenv("BERTGUIDE_CACHE", str(tmp_path))
    calls = []

    def compute(settings, folder):
        calls.append(settings)
        for name in ("config.json", "model.safetensors"):
            (folder / name).write_text("{}")
        return {"steps": settings.max_steps}

    fake = dataclasses.replace(get_run("tiny-gpt"), compute="tests:unused")
    monkeypatch.setitem(BY_NAME, "tiny-gpt", fake)
    monkeypatch.setattr(Run, "compute_function", lambda self: compute)
    settings = dataclasses.replace(fake.default_settings(), max_steps=3)
    assert store.report("tiny-gpt", settings) == {
        "steps": 3,
        "run_seconds": pytest.approx(0, abs=5),
    }
    err = capfd.readouterr().err
    assert f"{fake.what}: not yet timed" in err  # the shipped run's time is of other settings
    assert store.report("tiny-gpt", settings)["steps"] == 3 and len(calls) == 1
    folder = store.cache_directory("tiny-gpt", settings)
    assert folder.parent == tmp_path and json.loads((folder / "report.json").read_text())
