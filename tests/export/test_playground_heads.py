"""The fill-mask and next-sentence file (``bertguide.export.playground_heads``) on a stand-in.

A 1-layer, 64-wide ``BertForPreTraining`` with the embedded vocabulary (random weights,
seeded) stands in for the restored model, so that no test trains it: the export keeps
one copy of the tied word-embedding table, its answers equal ``fill_mask`` and
``next_sentence`` (float32: to rounding; int8: same tokens), and ``export_heads`` writes
its two files, or nothing when a check fails. The restored model's own file is checked
in the browser (``test_browser_widgets.py``) and by every figure build.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bertguide import figures
from bertguide.config import BertConfig
from bertguide.export import playground_heads as ph
from bertguide.export.playground import int8_weights, session
from bertguide.inference import fill_mask, next_sentence
from bertguide.pretraining import BertForPreTraining
from bertguide.tokenizer import WordPieceTokenizer

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def tokenizer() -> WordPieceTokenizer:
    return WordPieceTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def stand_in(tokenizer) -> BertForPreTraining:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=128,
    )
    return BertForPreTraining(config).eval()


@pytest.fixture(scope="module")
def files(stand_in, tokenizer, tmp_path_factory):
    folder = tmp_path_factory.mktemp("heads")
    fp32 = ph.export_heads_onnx(folder / "float32.onnx", stand_in, tokenizer)
    return fp32, int8_weights(fp32, folder / "int8.onnx")


def test_the_tied_table_is_stored_once(files, stand_in):
    fp32, int8 = files
    V, C = stand_in.config.vocab_size, stand_in.config.hidden_size
    graph = onnx.load(str(fp32)).graph
    tables = [t.name for t in graph.initializer if sorted(t.dims) == sorted([V, C])]
    assert tables == [ph.TABLE]
    # float32: the table's bytes, once, are most of the file
    assert V * C * 4 < fp32.stat().st_size < 1.5 * V * C * 4
    graph = onnx.load(str(int8)).graph
    assert {t.name for t in graph.initializer if t.data_type == onnx.TensorProto.INT8} >= {
        f"{ph.TABLE}.int8"
    }
    assert int8.stat().st_size < 0.4 * fp32.stat().st_size
    assert [o.name for o in graph.output] == list(ph.HEADS_OUTPUTS)


@pytest.mark.parametrize(
    "text",
    ["Paris is a beautiful [MASK].", "She [MASK] a letter to her [MASK] yesterday."],
)
def test_the_float32_file_answers_as_fill_mask(files, stand_in, tokenizer, text):
    fp32, _ = files
    got = ph.run_heads(session(fp32), tokenizer, text)["fill_mask"]
    want = fill_mask(text, ph.TOP_K, model=stand_in, tokenizer=tokenizer)
    assert len(got) == len(want) == text.count("[MASK]")
    for g, w in zip(got, want, strict=True):
        assert [t for t, _ in g] == [t for t, _ in w]
        assert np.allclose([p for _, p in g], [p for _, p in w], atol=1e-6)


def test_next_sentence_and_no_mask(files, stand_in, tokenizer):
    fp32, int8 = files
    for a, b in ph.NSP_PAIRS:
        want = next_sentence(a, b, model=stand_in, tokenizer=tokenizer)
        got = ph.run_heads(session(fp32), tokenizer, a, b)
        assert got["is_next"] == pytest.approx(want, abs=1e-6)
        assert got["fill_mask"] == []  # no [MASK]: M = 0
        assert ph.run_heads(session(int8), tokenizer, a, b)["is_next"] == pytest.approx(
            want, abs=ph.NSP_TOLERANCE
        )


def test_compare_heads_counts_what_differs(files, stand_in, tokenizer):
    fp32, int8 = files
    want = ph.heads_reference(stand_in, tokenizer)
    report = ph.compare_heads(int8, want, tokenizer)
    masks = sum(t.count("[MASK]") for t in ph.FILL_MASK_TEXTS)
    assert report.masks == masks and report.pairs == len(ph.NSP_PAIRS)
    assert report.top1_equal == report.top_k_equal == masks
    # a wrong reference is seen as wrong
    wrong = {**want, "is_next": [1 - p for p in want["is_next"]]}
    assert ph.compare_heads(fp32, wrong, tokenizer).max_nsp_diff > 0.001
    first = want["fill_mask"][0][0]
    swapped = [[first[1], first[0], *first[2:]], *want["fill_mask"][0][1:]]
    wrong = {**want, "fill_mask": [swapped, *want["fill_mask"][1:]]}
    assert ph.compare_heads(fp32, wrong, tokenizer).top_k_equal == masks - 1


def test_export_heads_writes_the_files_or_nothing(stand_in, tmp_path, monkeypatch):
    manifest = ph.export_heads(tmp_path / "site", model=stand_in)
    written = json.loads((tmp_path / "site" / ph.HEADS_MANIFEST_FILE).read_text("utf-8"))
    assert written == manifest
    assert manifest["bytes"] == (tmp_path / "site" / ph.HEADS_MODEL_FILE).stat().st_size
    assert manifest["outputs"] == list(ph.HEADS_OUTPUTS) and manifest["top_k"] == ph.TOP_K
    assert [v["name"] for v in manifest["parity"]["variants"]] == ["float32", "int8"]
    monkeypatch.setattr(ph, "NSP_TOLERANCE", -1.0)
    with pytest.raises(RuntimeError, match="not written"):
        ph.export_heads(tmp_path / "refused", model=stand_in)
    assert not (tmp_path / "refused").exists()


def test_bad_input_is_refused(stand_in):
    with pytest.raises(TypeError, match="BertForPreTraining"):
        ph.HeadsForExport(stand_in.bert, 103)
    with pytest.raises(ValueError, match="top_k"):
        ph.HeadsForExport(stand_in, 103, top_k=0)


def test_the_figure_follows_the_restored_model():
    spec = figures.load_all()["playground-heads"]
    assert spec.kind == "file"
    assert set(spec.outputs) == {ph.HEADS_MODEL_FILE, ph.HEADS_MANIFEST_FILE}
    assert {"bertguide.experiments.restoring", "bertguide.export.playground_heads"} <= set(
        spec.depends
    )
