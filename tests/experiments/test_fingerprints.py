"""Shipped results stay valid while the code computes what made them, checked by behaviour.

Each run's fingerprint (a few exact steps of its own code on a slice of its data) is
recomputed here and compared with the one recorded when its result was made. Changes
of behaviour planted in a run's path must be caught; a pure refactor must not be.
"""

from __future__ import annotations

import dataclasses
import sys

import pytest

from bertguide import basic_tokenizer, masking, probing, training
from bertguide.experiments import fingerprint as fp
from bertguide.experiments import restoring, store
from bertguide.experiments.registry import RUNS, get_run

# deterministic given the package, the tests and torch: a pass is reused until one changes
pytestmark = pytest.mark.reusable


@pytest.mark.parametrize("name", [run.name for run in RUNS])
def test_the_code_still_computes_each_shipped_result(name):
    recorded = store.shipped_record(name)["fingerprint"]
    differences = fp.compare(recorded, fp.fingerprint(name))
    assert not differences, (
        f"run {name}: the code now computes something else than the shipped result "
        f"({len(differences)} differences, first: {differences[0]}). If that is on purpose, "
        f"bump its version in bertguide/experiments/registry.py and refresh it: "
        f"bertguide experiments --only {name} --write"
    )


@pytest.fixture(scope="module")
def recorded():
    return store.shipped_record("restored-heads")["fingerprint"]


def _schedule_one_step_late(step, warmup_steps, total_steps):
    return _original_schedule(max(step - 1, 0), warmup_steps, total_steps)


_original_schedule = training.linear_warmup_decay


def _planted(monkeypatch, change: str) -> None:
    if change == "schedule":
        monkeypatch.setattr(training, "linear_warmup_decay", _schedule_one_step_late)
    elif change == "masking rate":
        init = masking.PreTrainingCollator.__init__

        def more_masks(self, tokenizer, mlm_probability=0.15, **rest):
            init(self, tokenizer, mlm_probability=mlm_probability + 0.05, **rest)

        monkeypatch.setattr(masking.PreTrainingCollator, "__init__", more_masks)
    elif change == "loss term":
        loss = restoring.pretraining_loss
        monkeypatch.setattr(restoring, "pretraining_loss", lambda *a, **k: 1.01 * loss(*a, **k))
    elif change == "tokenizer rule":
        clean = basic_tokenizer.BasicTokenizer.clean

        def commas_dropped(self, text):  # every text is cleaned: words are cached after
            return clean(self, text).replace(",", " ")

        monkeypatch.setattr(basic_tokenizer.BasicTokenizer, "clean", commas_dropped)
    elif change == "torch release":
        monkeypatch.setattr(fp, "torch_release", lambda: "9.9")


@pytest.mark.parametrize(
    "change", ["schedule", "masking rate", "loss term", "tokenizer rule", "torch release"]
)
def test_a_change_of_behaviour_makes_the_shipped_result_stale(monkeypatch, recorded, change):
    _planted(monkeypatch, change)
    assert fp.compare(recorded, fp.fingerprint("restored-heads")), f"{change} went unseen"


def test_a_pure_refactor_keeps_every_result(monkeypatch, recorded, tmp_path):
    """The run's functions moved to another module, a message reworded, a helper merged."""
    moved = tmp_path / "moved_restoring.py"
    moved.write_text(
        '"""The restoring run, moved."""\n'
        "from bertguide.experiments.restoring import probe_settings as small\n"
        "from bertguide.experiments.restoring import run_to_folder as compute\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    run = dataclasses.replace(
        get_run("restored-heads"), compute="moved_restoring:compute", probe="moved_restoring:small"
    )
    train = restoring.train

    def reworded(*args, **kwargs):
        try:
            return train(*args, **kwargs)
        except ValueError as error:
            raise ValueError(f"training stopped: {error}") from None

    monkeypatch.setattr(restoring, "train", reworded)
    assert store.identity(run) == store.identity("restored-heads")
    assert fp.compare(recorded, fp.fingerprint(run)) == []
    sys.modules.pop("moved_restoring", None)


def test_fingerprints_ignore_timings_and_compare_within_noise():
    base = {"torch": "2.13", "steps": 2, "loops": {"0.loss.0": 1.0}, "report": {"acc": 0.5}}
    noisy = {**base, "loops": {"0.loss.0": 1.0 + 1e-7}}
    assert fp.compare(base, noisy) == []
    assert fp.compare(base, {**base, "report": {"acc": 0.6}}) == [
        "report.acc: recorded 0.5, now 0.6"
    ]
    assert dict(fp.leaves({"train_time_s": 3.0, "load_average": [1, 2], "n": 4})) == {"n": 4}


def test_a_probe_never_makes_a_missing_run(monkeypatch, tmp_path):
    monkeypatch.setenv("BERTGUIDE_CACHE", str(tmp_path))
    with probing.probing(2), pytest.raises(RuntimeError, match="probe reached run 'tiny-gpt'"):
        store.made("tiny-gpt")
