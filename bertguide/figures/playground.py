"""The files of the Playground page (the chapter that runs the model in the browser).

Not pictures: ``playground-model`` is a ``kind="file"`` figure that writes the page's
ONNX model (int8 weights), the embedded model's vocabulary and a manifest of sizes and
measured differences into docs/figures, by ``bertguide.export.playground.export_playground``.
``playground-heads`` writes the fill-mask and next-sentence panels' file (the restored
MLM and NSP heads, ``bertguide.export.playground_heads.export_heads``) and its manifest; the
first build on a machine trains the restored heads (``bertguide.experiments.restoring``, minutes).
Each hash follows its modules (``depends``) and the onnx/onnxruntime versions
(``versioned``), besides the model code every figure depends on, so the cached build
exports again only when one of them changes.
"""

from __future__ import annotations

from pathlib import Path

from bertguide.export.playground import MANIFEST_FILE, MODEL_FILE, VOCAB_FILE, export_playground
from bertguide.export.playground_heads import HEADS_MANIFEST_FILE, HEADS_MODEL_FILE, export_heads
from bertguide.figures import figure


@figure(
    "playground-model",
    kind="file",
    outputs=(MODEL_FILE, VOCAB_FILE, MANIFEST_FILE),
    depends=("bertguide.export.playground",),
    versioned=("onnx", "onnxruntime"),
)
def _files_playground(out_dir: Path) -> None:
    export_playground(out_dir)


@figure(
    "playground-heads",
    kind="file",
    outputs=(HEADS_MODEL_FILE, HEADS_MANIFEST_FILE),
    depends=(
        "bertguide.export.playground",
        "bertguide.export.playground_heads",
        "bertguide.pretraining",
        "bertguide.experiments.restoring",
    ),
    versioned=("onnx", "onnxruntime"),
)
def _files_playground_heads(out_dir: Path) -> None:
    export_heads(out_dir)
