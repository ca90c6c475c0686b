"""``bertguide experiments``: rerun, compare with what ships within tolerances, ship."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bertguide.cli import main
from bertguide.experiments import refresh, registry, store
from bertguide.experiments.registry import Run


@dataclasses.dataclass(frozen=True)
class ToySettings:
    answer: float = 0.5
    threads: int = 1


def toy_compute(settings, folder):
    for name in ("config.json", "model.safetensors"):
        (folder / name).write_text("{}")
    return {"accuracy": settings.answer, "curve": [0.1, 0.2, settings.answer], "train_time_s": 9}


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """A registry of one toy run, its shipped folder and cache in ``tmp_path``."""
    run = Run(
        "toy", 1, "a toy run", "x:y", "x:y", "x:y", tolerances={"accuracy": 0.05, "curve.-1": 0.05}
    )
    monkeypatch.setattr(Run, "default_settings", lambda self: ToySettings())
    monkeypatch.setattr(Run, "compute_function", lambda self: toy_compute)
    monkeypatch.setattr(Run, "probe_settings", lambda self, s=None: ToySettings(answer=0.25))
    monkeypatch.setattr(refresh, "RUNS", (run,))
    monkeypatch.setattr(registry, "BY_NAME", {"toy": run})
    monkeypatch.setattr(store, "SHIPPED", tmp_path / "shipped")
    monkeypatch.setenv("BERTGUIDE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("bertguide.experiments.restoring.forget_loaded", lambda: None)
    return run


def test_write_ships_a_record_with_provenance_and_fingerprint(toy, capsys):
    assert refresh.dry_run() == 1
    assert "toy" in capsys.readouterr().out and "missing"
    assert refresh.refresh(write=True) == 0
    record = store.shipped_record("toy")
    assert record["identity"] == store.identity(toy) and record["report"]["accuracy"] == 0.5
    assert record["provenance"]["threads"] == 1 and record["provenance"]["wall_time_s"] >= 0
    assert record["fingerprint"]["report"] == {
        "accuracy": 0.25,
        "curve.0": 0.1,
        "curve.1": 0.2,
        "curve.2": 0.25,
    }
    assert refresh.dry_run() == 0
    out = capsys.readouterr().out
    assert "toy" in out and "current" in out


def _another_machine(shift: float):
    """toy_compute as another machine computes it: the same run, numbers off by ``shift``."""

    def compute(settings, folder):
        return toy_compute(dataclasses.replace(settings, answer=settings.answer + shift), folder)

    return compute


def test_the_table_judges_each_named_number(toy, capsys, monkeypatch):
    refresh.refresh(write=True)
    capsys.readouterr()
    monkeypatch.setattr(Run, "compute_function", lambda self: _another_machine(0.02))
    assert refresh.refresh() == 0  # 0.02 from the shipped 0.5: within 0.05
    out = capsys.readouterr().out
    assert "2 of 2 numbers within tolerance" in out
    monkeypatch.setattr(Run, "compute_function", lambda self: _another_machine(0.2))
    assert refresh.refresh() == 1
    out = capsys.readouterr().out
    assert "NO" in out and "0 of 2 numbers within tolerance" in out
    assert store.shipped_record("toy")["report"]["accuracy"] == 0.5  # nothing written


def test_a_new_version_is_not_judged_against_the_old_result(toy, capsys, monkeypatch):
    refresh.refresh(write=True)
    monkeypatch.setitem(registry.BY_NAME, "toy", dataclasses.replace(toy, version=2))
    monkeypatch.setattr(refresh, "RUNS", (registry.BY_NAME["toy"],))
    monkeypatch.setattr(Run, "compute_function", lambda self: _another_machine(0.2))
    capsys.readouterr()
    assert refresh.refresh() == 0  # a new recipe: nothing to judge it by
    out = capsys.readouterr().out
    assert "the shipped result is of version 1: not compared" in out
    assert "0 of 0 numbers within tolerance" in out


def test_a_changed_computation_is_stale_in_the_dry_run(toy, capsys, monkeypatch):
    refresh.refresh(write=True)
    monkeypatch.setattr(Run, "probe_settings", lambda self, s=None: ToySettings(answer=0.3))
    capsys.readouterr()
    assert refresh.dry_run() == 1
    out = capsys.readouterr().out
    assert "stale" in out and "report.accuracy: recorded 0.25, now 0.3" in out


def test_the_command_line_names_an_unknown_run_in_one_line(capsys):
    assert main(["experiments", "--only", "nope", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no run named 'nope'" in err


def test_the_shipped_records_are_plain_sorted_json():
    for path in sorted(store.SHIPPED.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=1, sort_keys=True) + "\n", path.name
