"""Every run the guide trains or measures, described once: the registry.

A ``Run`` says *what* a result computes, never *where the code is*: a name, the
settings (a frozen dataclass), the runs whose results it reads (``needs``) and a
``version`` that a person bumps when the recipe changes on purpose. Those, and the
embedded model's SHA-256, make the run's ``identity`` (``bertguide.experiments.store``):
moving, renaming, reformatting or de-duplicating code never changes it. Whether the
code still computes what the shipped result says is checked by behaviour instead: the
run's ``fingerprint`` (``bertguide.experiments.fingerprint``) replays a few exact steps
of its own code path on a small slice of its data (``probe``) and ``make test``
compares them with the ones recorded when the result was made.

Functions and settings are named as ``"module:attribute"`` strings and imported only
when a run is made or probed, so that listing the runs imports no training code.

Left out: runs with several seeds (a run is one seed; the ablations repeat inside).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


def resolve(reference: str) -> Any:
    """The object a ``"package.module:attribute"`` string names, imported now.

    >>> resolve("bertguide.experiments.registry:resolve") is resolve
    True
    """
    if not isinstance(reference, str) or reference.count(":") != 1:
        raise ValueError(f"expected 'package.module:attribute', got {reference!r}")
    module, attribute = reference.split(":")
    value = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


@dataclass(frozen=True)
class Run:
    """One experiment of the guide (see the module docstring).

    ``compute(settings, folder)`` makes the result: it writes a checkpoint (Hugging
    Face format) into ``folder`` and returns the report, a JSON-ready dict. ``probe``
    maps the settings to a small variant that follows the same code path on a slice
    of the data, for the fingerprint. ``tolerances`` bound how far a fresh run may
    land from the shipped report (``make experiments``): report paths with ``*`` for
    any key or index, mapped to an absolute tolerance; numbers no pattern names are
    printed but not judged.
    """

    name: str  # a plain folder name, e.g. "restored-heads"
    version: int  # bumped by hand when the recipe changes on purpose
    what: str  # one line: what the run does (announced before it runs)
    settings: str  # "module:ATTRIBUTE" of its default settings (a frozen dataclass)
    compute: str  # "module:function": compute(settings, folder) -> report
    probe: str  # "module:function": probe(settings) -> small settings for the fingerprint
    needs: tuple[str, ...] = ()  # runs whose results this one reads
    weights: str = "cache"  # "shipped": its weights ship in the package; "cache": made on use
    tolerances: Mapping[str, float] = field(default_factory=dict)  # path pattern -> abs tol
    chapter: str = ""  # the page that shows it

    def default_settings(self) -> Any:
        """The settings the shipped result was made with."""
        value = resolve(self.settings)
        if not dataclasses.is_dataclass(value):
            raise TypeError(f"{self.settings} is not a dataclass instance")
        return value

    def compute_function(self) -> Callable[[Any, Any], dict]:
        return resolve(self.compute)

    def probe_settings(self, settings: Any = None) -> Any:
        """The fingerprint's small variant of ``settings`` (default: the run's own)."""
        return resolve(self.probe)(self.default_settings() if settings is None else settings)


_R = "bertguide.experiments.restoring"
_FAMILY = "bertguide.experiments.family_runs"
# Held-out accuracies move by a point or two from machine to machine; ratios and
# timings by more. A pattern names the numbers a page states in words.
_ACCURACY = 0.03

RUNS: tuple[Run, ...] = (
    Run(
        "restored-heads",
        2,
        "restoring the MLM and NSP heads of the embedded model (the shipped model)",
        f"{_R}:SHIPPED_SETTINGS",
        f"{_R}:run_to_folder",
        f"{_R}:probe_settings",
        weights="shipped",
        tolerances={"mlm_accuracy": _ACCURACY, "nsp_accuracy": _ACCURACY, "cloze.top5": 0.1},
        chapter="pretraining.md",
    ),
    Run(
        "restoring-quick",
        1,
        "restoring the heads in 400 steps (the run a reader repeats)",
        f"{_R}:DEFAULT_SETTINGS",
        f"{_R}:run_to_folder",
        f"{_R}:probe_settings",
        tolerances={"mlm_accuracy": _ACCURACY, "nsp_accuracy": _ACCURACY, "cloze.top5": 0.1},
        chapter="pretraining.md",
    ),
    Run(
        "compact-student",
        1,
        "pre-training a compact BERT (4 layers, 128 wide) from scratch",
        f"{_R}:COMPACT_SETTINGS",
        f"{_R}:run_to_folder",
        f"{_R}:probe_settings",
        tolerances={"mlm_accuracy": _ACCURACY, "nsp_accuracy": 0.05},
        chapter="pretraining.md",
    ),
    Run(
        "restoring-vs-transformers",
        1,
        "timing the restoring run against transformers' BertForPreTraining",
        "bertguide.experiments.reference_run:DEFAULT_COMPARISON",
        "bertguide.experiments.reference_run:run_to_folder",
        "bertguide.experiments.reference_run:probe_settings",
        tolerances={"target": _ACCURACY, "bertguide.mlm_accuracy": _ACCURACY, "ratio": 0.25},
        chapter="pretraining.md",
    ),
    Run(
        "sentiment-cv",
        1,
        "cross-validating four sentiment models",
        "bertguide.experiments.sentiment:DEFAULT_CROSS_VALIDATION",
        "bertguide.experiments.sentiment:run_to_folder",
        "bertguide.experiments.sentiment:probe_settings",
        tolerances={"results.bert_finetuned.*": 0.1, "results.bert_features_logreg.*": 0.1},
        chapter="finetuning.md",
    ),
    Run(
        "transfer-curves",
        1,
        "fine-tuning 4 encoders on 4 training sizes",
        "bertguide.experiments.transfer:DEFAULT_TRANSFER",
        "bertguide.experiments.transfer:run_to_folder",
        "bertguide.experiments.transfer:probe_settings",
        needs=("compact-student",),
        tolerances={"accuracy.*.*": 0.1},
        chapter="finetuning.md",
    ),
    *(
        Run(
            f"demo-{task}",
            1,
            f"fine-tuning the {task} demonstration head",
            f"bertguide.experiments.demo_tasks:DEFAULT_RUNS.{task}",
            "bertguide.experiments.demo_tasks:run_to_folder",
            "bertguide.experiments.demo_tasks:probe_settings",
            tolerances={"loss.-1": 0.1, "seed_answer.*": 0.1},
            chapter="finetuning.md",
        )
        for task in ("pairs", "ner", "qa")
    ),
    Run(
        "family-distillation",
        1,
        "distilling the restored model into a 3-layer DistilBERT",
        f"{_FAMILY}:DEFAULT_SETTINGS.distillation",
        f"{_FAMILY}:run_to_folder",
        f"{_FAMILY}:probe_settings",
        needs=("restored-heads",),
        tolerances={"after.top1_agreement": 0.05, "after.sentence_cosine": 0.05},
        chapter="family.md",
    ),
    Run(
        "family-roberta",
        1,
        "static against dynamic masking, a small BERT from scratch each",
        f"{_FAMILY}:DEFAULT_SETTINGS.roberta",
        f"{_FAMILY}:run_to_folder",
        f"{_FAMILY}:probe_settings",
        tolerances={"*.heldout_accuracy": _ACCURACY, "*.train_mask_accuracy": 0.05},
        chapter="family.md",
    ),
    Run(
        "family-electra",
        1,
        "ELECTRA against MLM at equal steps",
        f"{_FAMILY}:DEFAULT_SETTINGS.electra",
        f"{_FAMILY}:run_to_folder",
        f"{_FAMILY}:probe_settings",
        tolerances={
            "mlm.mlm_accuracy": _ACCURACY,
            "electra.rtd_accuracy": _ACCURACY,
            "electra.probe": 0.1,
            "mlm.probe": 0.1,
        },
        chapter="family.md",
    ),
    Run(
        "family-tang",
        1,
        "a BiLSTM taught by a BERT sentiment classifier",
        f"{_FAMILY}:DEFAULT_SETTINGS.tang",
        f"{_FAMILY}:run_to_folder",
        f"{_FAMILY}:probe_settings",
        tolerances={"summary.*.0": 0.05},
        chapter="family.md",
    ),
    Run(
        "tiny-gpt",
        1,
        "training the tiny GPT on bytes",
        "bertguide.experiments.tiny_gpt:DEFAULT_SETTINGS",
        "bertguide.experiments.tiny_gpt:run_to_folder",
        "bertguide.experiments.tiny_gpt:probe_settings",
        weights="shipped",
        tolerances={"heldout_loss": 0.05},
        chapter="gpt.md",
    ),
)
BY_NAME: dict[str, Run] = {run.name: run for run in RUNS}


def get_run(name: str) -> Run:
    """The registered run called ``name``.

    >>> get_run("restored-heads").weights
    'shipped'
    """
    if name not in BY_NAME:
        raise ValueError(f"no run named {name!r}; the runs are {', '.join(BY_NAME)}")
    return BY_NAME[name]


def in_order(names=None) -> list[Run]:
    """``names`` (default: every run) and the runs they need, each after what it needs."""
    wanted = list(BY_NAME) if names is None else [get_run(n).name for n in names]
    ordered: list[Run] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ValueError(f"runs need each other in a cycle: {' -> '.join((*path, name))}")
        run = get_run(name)
        for need in run.needs:
            visit(need, (*path, name))
        if run not in ordered:
            ordered.append(run)

    for name in wanted:
        visit(name, ())
    return ordered
