"""The files of the Playground page (the chapter that runs the model in the browser).

Not pictures: ``playground-model`` is a ``kind="file"`` figure that writes the page's
ONNX model (int8 weights), the embedded model's vocabulary and a manifest of sizes and
measured differences into docs/figures, by ``bertguide.playground.export_playground``.
Its hash follows that module (``depends``) and the onnx/onnxruntime versions
(``versioned``), besides the model code every figure depends on, so the cached build
exports again only when one of them changes.
"""

from __future__ import annotations

from pathlib import Path

from bertguide.figures import figure
from bertguide.playground import MANIFEST_FILE, MODEL_FILE, VOCAB_FILE, export_playground


@figure(
    "playground-model",
    kind="file",
    outputs=(MODEL_FILE, VOCAB_FILE, MANIFEST_FILE),
    depends=("bertguide.playground",),
    versioned=("onnx", "onnxruntime"),
)
def _files_playground(out_dir: Path) -> None:
    export_playground(out_dir)
