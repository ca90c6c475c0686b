"""The Playground's ONNX export (``bertguide.export.playground``) and the figure registry's
``kind="file"`` figures that put it into the site.

* a small random ``BertModel`` exported to ONNX gives, under onnxruntime, what PyTorch
  gives, for other lengths and batch sizes than the traced example, with padding;
* the int8 and float16 files compute exactly what PyTorch computes with the same
  rounded weights (so the rewriting of the graph adds no error of its own);
* the embedded model (slow): the float32 export within ``FP32_TOLERANCE`` of PyTorch,
  the shipped int8 file within ``INT8_TOLERANCE`` and under 25 MB; the measured numbers
  are printed (``pytest -s``);
* ``export_playground`` writes its three files, or nothing when a check fails;
* the registry: a ``kind="file"`` figure is written, cached and redrawn like the others,
  and its hash follows the model code and the onnx/onnxruntime versions.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bertguide import figures
from bertguide.config import BertConfig
from bertguide.export import playground as pg
from bertguide.model import BertModel
from bertguide.pretrained import default_model_dir

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

SMALL = BertConfig(
    vocab_size=96,
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=128,
    max_position_embeddings=32,
    type_vocab_size=2,
)


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return BertModel(SMALL).eval()


@pytest.fixture(scope="module")
def small_onnx(small, tmp_path_factory):
    return pg.export_onnx(tmp_path_factory.mktemp("onnx") / "small.onnx", small)


def _batch():
    """Two sequences of 12 positions, the second padded after 7 tokens, both segments."""
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(1, SMALL.vocab_size, (2, 12), generator=generator)
    mask = torch.ones(2, 12, dtype=torch.long)
    mask[1, 7:] = 0
    ids[1, 7:] = 0
    types = torch.zeros(2, 12, dtype=torch.long)
    types[:, 5:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def _run_both(path, model, batch):
    names = pg.output_names(model.config.num_hidden_layers)
    got = pg.session(path).run(names, {k: v.numpy() for k, v in batch.items()})
    with torch.no_grad():
        out = model(**batch, output_attentions=True, output_hidden_states=True)
    want = (out.last_hidden_state, *out.hidden_states, *out.attentions)
    return dict(zip(names, got, strict=True)), {
        n: t.numpy() for n, t in zip(names, want, strict=True)
    }


def _max_diff(got, want, mask):
    """Largest |difference| over the real (unpadded) positions of every output."""
    worst = 0.0
    for name, value in want.items():
        if name.startswith("attentions."):  # (B, N, T, T): real queries and keys only
            keep = mask[:, None, :, None] * mask[:, None, None, :]
        else:  # (B, T, C)
            keep = mask[:, :, None]
        worst = max(worst, float((np.abs(got[name] - value) * keep).max()))
    return worst


# --- names and the block quantiser ------------------------------------------------------


def test_output_names():
    assert pg.output_names(2) == [
        "last_hidden_state",
        "hidden_states.0",
        "hidden_states.1",
        "hidden_states.2",
        "attentions.0",
        "attentions.1",
    ]
    with pytest.raises(ValueError, match="num_layers"):
        pg.output_names(0)


def test_quantize_blocks_on_a_hand_example():
    blocks = np.array([[0.5, -1.0], [2.0, 0.0], [0.0, 0.0]], np.float32)
    q, scale = pg.quantize_blocks(blocks, axis=1)
    assert q.dtype == np.int8 and scale.dtype == np.float16
    # the largest |number| of each block is +-127; 0.5 / (1/127) = 63.5 rounds to even 64
    assert q.tolist() == [[64, -127], [127, 0], [0, 0]]
    assert scale.ravel().tolist() == [np.float16(1 / 127), np.float16(2 / 127), 1.0]
    restored = q * scale.astype(np.float32)
    assert np.all(np.abs(restored - blocks) <= scale.astype(np.float32) / 2)
    with pytest.raises(TypeError, match="float32"):
        pg.quantize_blocks(blocks.astype(np.float64), axis=1)


# --- a small random model -----------------------------------------------------------------


def test_export_matches_pytorch_for_other_shapes_with_padding(small, small_onnx):
    batch = _batch()  # traced on (1, 8); run on (2, 12) with padding
    got, want = _run_both(small_onnx, small, batch)
    assert got["attentions.0"].shape == (2, 4, 12, 12)
    assert got["hidden_states.2"].shape == (2, 12, 64)
    assert _max_diff(got, want, batch["attention_mask"].numpy()) < 1e-5
    # a padded key gets no attention, as in PyTorch
    assert float(np.abs(got["attentions.1"][1, :, :, 7:]).max()) < 1e-6


def test_export_names_weights_as_the_state_dict(small_onnx):
    names = {t.name for t in onnx.load(str(small_onnx)).graph.initializer}
    assert "embeddings.word_embeddings.weight" in names
    assert "encoder.layer.0.attention.self.query.weight.T" in names
    assert "encoder.layer.1.output.dense.weight.T" in names
    assert not any(name.startswith(("onnx::", "bert.")) for name in names)


def _rounded_model(model, round_weight):
    """A copy of ``model`` whose 2-D weights went through ``round_weight(name, W)``."""
    copy = BertModel(model.config).eval()
    state = {}
    for name, value in model.state_dict().items():
        if value.dim() == 2 and value.numel() >= 1000:
            value = torch.from_numpy(round_weight(name, value.numpy().copy()))
        state[name] = value
    copy.load_state_dict(state)
    return copy


def _int8_round(name, weight):
    b = pg.BLOCK_SIZE
    if "embeddings" in name:  # a table (V, C): blocks along C
        V, C = weight.shape
        q, s = pg.quantize_blocks(weight.reshape(V, C // b, b), 2)
        return (q * s.astype(np.float32)).reshape(V, C)
    # nn.Linear keeps W (M, K) and computes x @ W.T: blocks run along K
    wt = np.ascontiguousarray(weight.T)
    K, M = wt.shape
    q, s = pg.quantize_blocks(wt.reshape(K // b, b, M), 1)
    return np.ascontiguousarray((q * s.astype(np.float32)).reshape(K, M).T)


def test_int8_file_computes_pytorch_with_the_same_rounded_weights(small, small_onnx, tmp_path):
    path = pg.int8_weights(small_onnx, tmp_path / "int8.onnx", min_size=1000)
    graph = onnx.load(str(path)).graph
    int8 = {t.name for t in graph.initializer if t.data_type == onnx.TensorProto.INT8}
    # every matrix of 1000+ numbers: 6 per layer, the word and position tables
    assert len(int8) == 6 * SMALL.num_hidden_layers + 2
    assert "embeddings.token_type_embeddings.weight" not in {n.removesuffix(".int8") for n in int8}
    batch = _batch()
    got, want = _run_both(path, _rounded_model(small, _int8_round), batch)
    assert _max_diff(got, want, batch["attention_mask"].numpy()) < 1e-5
    got_plain, want_plain = _run_both(path, small, batch)  # and rounding does change it
    assert _max_diff(got_plain, want_plain, batch["attention_mask"].numpy()) > 1e-4
    with pytest.raises(ValueError, match="block_size"):
        pg.int8_weights(small_onnx, tmp_path / "x.onnx", block_size=1)


def test_fp16_file_computes_pytorch_with_float16_weights(small, small_onnx, tmp_path):
    path = pg.fp16_weights(small_onnx, tmp_path / "fp16.onnx", min_size=1000)

    def to_fp16(name, weight):
        return weight.astype(np.float16).astype(np.float32)

    batch = _batch()
    got, want = _run_both(path, _rounded_model(small, to_fp16), batch)
    assert _max_diff(got, want, batch["attention_mask"].numpy()) < 1e-5


def test_compare_reports_known_differences(small, small_onnx):
    cases = []
    for row in range(2):
        batch = {k: v[row : row + 1, :7] for k, v in _batch().items()}
        _, want = _run_both(small_onnx, small, batch)
        cases.append(({k: v.numpy() for k, v in batch.items()}, want))
    report = pg.compare(small_onnx, cases)
    assert report.texts == 2 and report.max_attention_diff < 1e-5
    # move one attention weight by 0.25 in the reference: compare must see exactly that
    cases[1][1]["attentions.1"][0, 2, 3, 4] += 0.25
    moved = pg.compare(small_onnx, cases)
    assert moved.max_attention_diff == pytest.approx(0.25, abs=1e-5)
    assert moved.max_hidden_diff == report.max_hidden_diff


# --- the embedded model ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    model = BertModel.from_pretrained()
    folder = tmp_path_factory.mktemp("embedded")
    fp32 = pg.export_onnx(folder / "float32.onnx", model)
    return model, fp32, pg.reference(pg.PARITY_TEXTS, model)


@pytest.mark.slow
def test_embedded_model_float32_and_int8_files_match_pytorch(embedded, tmp_path):
    _, fp32, cases = embedded
    reports = {
        "float32": pg.compare(fp32, cases),
        "int8": pg.compare(pg.int8_weights(fp32, tmp_path / "int8.onnx"), cases),
    }
    for name, r in reports.items():
        print(
            f"\n{name:8} {r.bytes / 1e6:6.1f} MB  attention max {r.max_attention_diff:.2e} "
            f"mean {r.mean_attention_diff:.1e}  hidden max {r.max_hidden_diff:.2e}"
        )
    assert reports["float32"].max_attention_diff <= pg.FP32_TOLERANCE
    assert reports["float32"].max_hidden_diff <= 1e-3  # hidden values reach ~10 in size
    assert reports["int8"].max_attention_diff <= pg.INT8_TOLERANCE
    assert reports["int8"].mean_attention_diff <= 1e-3
    assert reports["int8"].bytes <= 25_000_000
    assert reports["int8"].bytes < reports["float32"].bytes / 3.5


@pytest.mark.slow
def test_export_playground_writes_the_files_or_nothing(tmp_path, monkeypatch):
    # the embedded model, one short text and no extra variants, to stay quick
    monkeypatch.setattr(pg, "PARITY_TEXTS", pg.PARITY_TEXTS[:1])
    monkeypatch.setattr(pg, "VARIANTS", {k: pg.VARIANTS[k] for k in ("float32", "int8")})
    monkeypatch.setattr(pg, "INT8_TOLERANCE", 1e-6)  # no int8 file is that close
    with pytest.raises(RuntimeError, match="int8 ONNX file"):
        pg.export_playground(tmp_path / "refused")
    assert not (tmp_path / "refused").exists()

    monkeypatch.setattr(pg, "INT8_TOLERANCE", 0.05)
    manifest = pg.export_playground(tmp_path / "site")
    written = json.loads((tmp_path / "site" / pg.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert written == manifest
    model_file = tmp_path / "site" / pg.MODEL_FILE
    assert manifest["bytes"] == model_file.stat().st_size
    assert manifest["sha256"] == pg.sha256_file(model_file)
    assert (tmp_path / "site" / pg.VOCAB_FILE).read_bytes() == (
        default_model_dir() / "vocab.txt"
    ).read_bytes()
    assert manifest["outputs"] == pg.output_names(6)
    assert (manifest["num_hidden_layers"], manifest["num_attention_heads"]) == (6, 12)
    assert [v["name"] for v in manifest["parity"]["variants"]] == ["float32", "int8"]


# --- the registry's kind="file" ---------------------------------------------------------------


def test_file_figures_must_name_plain_outputs():
    def write(out_dir):
        (out_dir / "a.bin").write_bytes(b"a")

    spec = figures.figure("files", kind="file", outputs=("a.bin",))(write).figure_spec
    assert spec.files == ("a.bin",)
    with pytest.raises(ValueError, match="outputs"):
        figures.figure("files", kind="file")
    with pytest.raises(ValueError, match="outputs"):
        figures.figure("files", kind="file", outputs=("../a.bin",))
    with pytest.raises(ValueError, match="outputs"):
        figures.figure("picture", outputs=("a.bin",))  # only kind="file" writes outputs


def test_file_figures_are_written_cached_and_redrawn(tmp_path):
    calls = []

    def write(out_dir):
        calls.append(out_dir)
        (out_dir / "model.bin").write_bytes(bytes(range(256)))
        (out_dir / "model.json").write_text('{"bytes": 256}', encoding="utf-8")

    spec = figures.figure("model", kind="file", outputs=("model.bin", "model.json"))(write)
    registry = {"model": spec.figure_spec}
    report = figures.render_all(tmp_path, registry=registry)
    assert report.rendered == ["model"] and calls == [tmp_path]
    assert (tmp_path / "model.bin").read_bytes() == bytes(range(256))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert sorted(manifest["model"]["files"]) == ["model.bin", "model.json"]

    assert figures.render_all(tmp_path, registry=registry).cached == ["model"]
    (tmp_path / "model.bin").write_bytes(b"edited")
    assert figures.render_all(tmp_path, registry=registry).rendered == ["model"]
    (tmp_path / "model.json").unlink()
    assert figures.render_all(tmp_path, registry=registry).rendered == ["model"]
    assert len(calls) == 3


def test_a_file_figure_that_writes_too_little_is_an_error(tmp_path):
    def lazy(out_dir):
        (out_dir / "one.bin").write_bytes(b"1")

    spec = figures.figure("lazy", kind="file", outputs=("one.bin", "two.bin"))(lazy)
    with pytest.raises(RuntimeError, match=r"two\.bin"):
        figures.render_all(tmp_path, registry={"lazy": spec.figure_spec})


def test_playground_hash_follows_the_model_code_and_onnxruntime(monkeypatch):
    spec = figures.load_all()["playground-model"]
    assert spec.kind == "file" and spec.files == (pg.MODEL_FILE, pg.VOCAB_FILE, pg.MANIFEST_FILE)
    before = figures.input_hash(spec)
    for module in ("bertguide.model", "bertguide.attention", "bertguide.export.playground"):
        original = figures._module_source
        monkeypatch.setattr(
            figures,
            "_module_source",
            lambda name, m=module, o=original: o(name) + (name == m) * "#",
        )
        assert figures.input_hash(spec) != before, module
        monkeypatch.setattr(figures, "_module_source", original)
    original_version = figures._version
    for distribution in ("onnx", "onnxruntime"):
        monkeypatch.setattr(
            figures,
            "_version",
            lambda d, x=distribution: "9.9" if d == x else original_version(d),
        )
        assert figures.input_hash(spec) != before, distribution
    monkeypatch.setattr(figures, "_version", original_version)
    assert figures.input_hash(spec) == before
