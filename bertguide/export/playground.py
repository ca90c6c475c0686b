"""The Playground: the guide's own ``BertModel``, exported to ONNX for the reader's browser.

The Playground page (``docs/playground.md``) runs the model in the reader's browser
with onnxruntime-web: the reader types a sentence (or a pair) and sees its WordPiece
tokens, the attention of every layer and head, and how similar one word's vectors are
in two sentences. This module makes the files that page downloads and proves that they
compute what ``BertModel`` computes.

Dimension legend: B = batch, T = tokens, C = hidden size, N = heads, L = layers,
V = vocabulary, K x M = a weight matrix (in x out), G = blocks of b numbers.

Three steps, one function each:

1. ``export_onnx`` traces ``BertModel`` into an ONNX graph. Inputs ``input_ids``,
   ``attention_mask`` and ``token_type_ids``, int64 (B, T), B and T dynamic (T up to
   ``max_position_embeddings``); outputs ``last_hidden_state`` (B, T, C),
   ``hidden_states.0`` .. ``hidden_states.L`` (B, T, C; 0 is the embeddings) and
   ``attentions.0`` .. ``attentions.{L-1}`` (B, N, T, T), what
   ``BertModel(..., output_attentions=True, output_hidden_states=True)`` returns.
   Weights float32: about 90 MB for the embedded model, too much to ship.
2. Smaller files with the same graph: ``int8_weights`` (shipped) keeps each large
   weight matrix as int8, in blocks of b = 32 numbers that share one float16 scale,
   turned back into float32 inside the graph; the arithmetic stays float32.
   ``fp16_weights`` keeps float16 weights (twice the size); ``dynamic_int8``,
   onnxruntime's dynamic quantisation, rounds the activations to 8 bits too, which
   moves attention weights by tenths: the page does not use it.
3. ``compare`` runs a file with onnxruntime next to ``BertModel`` on the same sentences
   and returns the largest differences of attention weights and hidden states.

``export_playground(folder)`` does all three and writes the files the page reads:
``playground-model.onnx`` (the int8 variant), ``playground-vocab.txt`` (the embedded
model's vocabulary, for ``wordpiece.js``) and ``playground-model.json`` (sizes, names and
every variant's measured differences). It refuses to write them if the float32 export
differs from ``BertModel`` by more than ``FP32_TOLERANCE`` or the shipped file by more
than ``INT8_TOLERANCE``. The site's figure registry calls it
(``bertguide.figures.playground``, a ``kind="file"`` figure), so ``bertguide figures``
writes them into docs/figures once, and again when the model code, this module or the
onnx/onnxruntime versions change.

Why the TorchScript tracer (``torch.onnx.export(..., dynamo=False)``), not
``torch.export``: in eval mode ``BertModel`` checks its inputs' *values* (ids inside the
vocabulary), reading tensors on the host; the tracer runs those checks once, on the
example, and records only tensor operations, while ``torch.export`` cannot follow a
branch on a tensor's value.

Left out: the pooler and the pre-training heads (the fill-mask and next-sentence panels
read their own file: ``bertguide.export.playground_heads``), ``position_ids`` as an input,
int4 weights, WebGPU, and models other than the embedded default on the page.
"""

from __future__ import annotations

import importlib
import json
import logging
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bertguide.model import BertModel
from bertguide.pretrained import default_model_dir, sha256_file
from bertguide.tokenizer import WordPieceTokenizer

MODEL_FILE = "playground-model.onnx"
VOCAB_FILE = "playground-vocab.txt"
MANIFEST_FILE = "playground-model.json"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
MAX_LENGTH = 128  # the page truncates longer texts to this many tokens
OPSET = 17  # LayerNormalization is an ONNX operator from opset 17
BLOCK_SIZE = 32  # int8 numbers that share one scale
MIN_QUANTIZED = 1 << 16  # smaller matrices (token_type_embeddings: 2 x C) stay float32
FP32_TOLERANCE = 1e-4  # largest |attention difference| of the float32 export
INT8_TOLERANCE = 0.05  # ... and of the shipped int8 file; measured ~0.02 on PARITY_TEXTS

# (text, pair or None): the sentences every variant is compared on.
PARITY_TEXTS: tuple[tuple[str, str | None], ...] = (
    ("The animal didn't cross the street because it was too tired.", None),
    ("The bank raised its interest rates.", "She sat on the river bank and watched the water."),
    ("Crème brûlée, naïve café — ça va? Oui : très bien !", None),
    ("I put the book on the table, then I booked a table for two.", None),
    (  # longer than MAX_LENGTH tokens: the page and the check cut it the same way
        "To read a sentence, the model first splits every word into pieces from a "
        "vocabulary of 30,522 entries, adds a vector for each piece's position and "
        "segment, and then lets every token look at every other token, twelve times "
        "side by side, in each of its six layers. After the last layer, each of the "
        "384 numbers that describe a token depends on the whole sentence: the same "
        "word gets a different vector in a different context, which is what makes "
        "these vectors useful for search, classification and question answering. "
        "None of this needs a server: the arithmetic runs where the page is read, on "
        "one thread, with weights stored as 8-bit integers.",
        None,
    ),
)


def require_module(name: str):
    """Import ``onnx`` or ``onnxruntime``, or say how to install them."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            f"the Playground export needs {name}: pip install 'bertguide[docs]' "
            f"(or pip install onnx onnxruntime)"
        ) from error


def output_names(num_layers: int) -> list[str]:
    """The graph's outputs, in order: ``output_names(2)`` ->
    ``['last_hidden_state', 'hidden_states.0', 'hidden_states.1', 'hidden_states.2',
    'attentions.0', 'attentions.1']``."""
    if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers < 1:
        raise ValueError(f"num_layers must be a positive int, got {num_layers!r}")
    return [
        "last_hidden_state",
        *(f"hidden_states.{i}" for i in range(num_layers + 1)),
        *(f"attentions.{i}" for i in range(num_layers)),
    ]


class BertForExport(nn.Module):
    """``BertModel`` with three positional inputs and a flat tuple of outputs.

    (B, T) ids, mask and segments -> last (B, T, C), L + 1 hidden states (B, T, C),
    L attention weights (B, N, T, T). The padding mask is always applied: ``BertModel``
    drops an all-ones mask after reading its values, a choice a trace would freeze.
    """

    def __init__(self, model: BertModel) -> None:
        super().__init__()
        if not isinstance(model, BertModel):
            raise TypeError(f"model must be a BertModel, not {type(model).__name__}")
        self.bert = model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        x = self.bert.embeddings(input_ids, token_type_ids)  # (B, T, C)
        mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T)
        last, hidden, attentions = self.bert.encoder(
            x, mask, output_attentions=True, output_hidden_states=True
        )
        return (last, *hidden, *attentions)


def trace_to_onnx(wrapper: nn.Module, example: tuple, path: Path, outputs, dynamic) -> None:
    """Trace ``wrapper`` on ``example`` into the ONNX file ``path`` (opset ``OPSET``,
    inputs ``INPUT_NAMES``, the given output names and dynamic axes)."""
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer warns at each check that reads a value or a shape (they run once,
        # on the example, as intended), and torch that this exporter is the old one.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            wrapper,
            example,
            str(path),
            dynamo=False,
            input_names=list(INPUT_NAMES),
            output_names=list(outputs),
            dynamic_axes=dynamic,
            opset_version=OPSET,
        )


def save_rewritten(model, initializers: list, nodes: list, target: str | Path) -> Path:
    """Replace the graph's weights by ``initializers``, add ``nodes`` where they belong
    (``insert_sorted``), check the graph and save it to ``target``."""
    graph = model.graph
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    insert_sorted(graph, nodes)
    onnx = require_module("onnx")
    onnx.checker.check_model(model)
    onnx.save(model, str(target))
    return Path(target)


def export_onnx(path: str | Path, model: BertModel | None = None) -> Path:
    """Trace ``model`` (None = the embedded default) into the float32 ONNX file ``path``.

    Inputs (B, T) int64, outputs as :func:`output_names`; B and T are dynamic. Weights
    are named as in ``BertModel.state_dict()``, a matrix stored transposed for ``x @ W``
    with ``.T`` after its name. Returns the path.

        >>> export_onnx("bert.onnx")                      # doctest: +SKIP
        PosixPath('bert.onnx')
    """
    onnx = require_module("onnx")
    model = BertModel.from_pretrained() if model is None else model
    wrapper = BertForExport(model).eval()
    config = model.config
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # any ids will do: the trace records the operations, not the values
    ids = torch.arange(1, 9).remainder(config.vocab_size)[None]  # (1, 8)
    example = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    names = output_names(config.num_hidden_layers)
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUT_NAMES}
    trace_to_onnx(wrapper, example, path, names, dynamic)
    graph_model = onnx.load(str(path))
    name_weights(graph_model.graph)
    graph_model.doc_string = (
        f"bertguide BertModel ({config.num_hidden_layers} layers, "
        f"{config.num_attention_heads} heads, hidden {config.hidden_size}): "
        f"every layer's attention weights and hidden states"
    )
    onnx.save(graph_model, str(path))
    return path


def consumers(graph) -> dict[str, list]:
    """value name -> the nodes that read it."""
    users: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    return users


def name_weights(graph) -> None:
    """Give the traced weights ``state_dict`` names: ``bert.embeddings...`` ->
    ``embeddings...``, ``onnx::MatMul_679`` -> ``encoder.layer.0...query.weight.T``."""
    users = consumers(graph)
    renamed = {}
    for tensor in graph.initializer:
        new = tensor.name.removeprefix("bert.")
        readers = users.get(tensor.name, [])
        if tensor.name.startswith("onnx::MatMul") and len(readers) == 1:
            # the reader is named after the module: /encoder/layer.0/attention/self/query/MatMul
            scope = readers[0].name.strip("/").removesuffix("/MatMul").replace("/", ".")
            new = f"{scope}.weight.T"
        renamed[tensor.name] = new
        tensor.name = new
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = renamed.get(name, name)


# --- smaller variants ------------------------------------------------------------------


def quantize_blocks(blocks: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 numbers -> (int8, float16 scales), one symmetric scale per block.

    A block is every run of numbers along ``axis``: ``scale = max|block| / 127`` (rounded
    to float16), ``q = round(block / scale)``, and ``q * scale`` restores the block within
    half a step. Returns q (shape of ``blocks``) and scale (1 along ``axis``).

        >>> q, s = quantize_blocks(np.array([[0.5, -1.0], [2.0, 0.0]], np.float32), axis=1)
        >>> q.tolist(), s.astype(np.float32).ravel().tolist()
        ([[64, -127], [127, 0]], [0.00787353515625, 0.0157470703125])
    """
    if not isinstance(blocks, np.ndarray) or blocks.dtype != np.float32:
        raise TypeError("blocks must be a float32 numpy array")
    scale = (np.abs(blocks).max(axis=axis, keepdims=True) / 127).astype(np.float16)
    scale[scale == 0] = 1  # an all-zero block (or one fp16 cannot scale): q = 0 anyway
    q = np.clip(np.rint(blocks / scale.astype(np.float32)), -127, 127).astype(np.int8)
    return q, scale


def int8_weights(
    source: str | Path,
    target: str | Path,
    block_size: int = BLOCK_SIZE,
    min_size: int = MIN_QUANTIZED,
) -> Path:
    """Copy the ONNX file ``source`` to ``target`` with its large weights in int8.

    A matrix W (K, M) read by ``MatMul`` as ``x @ W`` is cut into blocks of
    ``block_size`` along K; an embedding table E (V, C) read by ``Gather`` into blocks
    along C. Each block keeps one float16 scale (:func:`quantize_blocks`). In the graph,
    ``Cast`` and ``Mul`` turn the int8 numbers back into float32 weights: for a matrix
    before the ``MatMul``; for a table after the ``Gather``, so that only the rows of
    the sentence's tokens are restored. Weights smaller than ``min_size`` numbers stay
    float32. Returns ``target``.

        >>> int8_weights("float32.onnx", "int8.onnx").stat().st_size   # doctest: +SKIP
        24188163
    """
    onnx = require_module("onnx")
    from onnx import TensorProto, helper, numpy_helper

    if not isinstance(block_size, int) or block_size < 2:
        raise ValueError(f"block_size must be an int >= 2, got {block_size!r}")
    model = onnx.load(str(source))
    graph = model.graph
    users = consumers(graph)
    initializers, nodes = [], []
    const = numpy_helper.from_array

    def restore(q_name: str, scale_name: str, out: str) -> list:
        # out = float(q) * float(scale): (..., G, b) * (..., G, 1) or (G, b, M) * (G, 1, M)
        return [
            helper.make_node("Cast", [q_name], [f"{q_name}.f"], to=TensorProto.FLOAT),
            helper.make_node("Cast", [scale_name], [f"{scale_name}.f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{q_name}.f", f"{scale_name}.f"], [out]),
        ]

    for tensor in graph.initializer:
        weight = numpy_helper.to_array(tensor)
        readers = users.get(tensor.name, [])
        ops = {node.op_type for node in readers}
        big = weight.dtype == np.float32 and weight.ndim == 2 and weight.size >= min_size
        if not big or ops not in ({"MatMul"}, {"Gather"}):
            initializers.append(tensor)
            continue
        name = tensor.name
        if ops == {"MatMul"}:
            K, M = weight.shape
            if K % block_size or any(node.input[1] != name for node in readers):
                initializers.append(tensor)  # not x @ W with K a multiple of b: keep it
                continue
            q, scale = quantize_blocks(weight.reshape(K // block_size, block_size, M), 1)
            initializers += [
                const(q, f"{name}.int8"),  # (G, b, M)
                const(scale, f"{name}.scale"),  # (G, 1, M)
                const(np.array([K, M], np.int64), f"{name}.shape"),
            ]
            nodes += restore(f"{name}.int8", f"{name}.scale", f"{name}.blocks")
            nodes.append(helper.make_node("Reshape", [f"{name}.blocks", f"{name}.shape"], [name]))
            continue
        V, C = weight.shape
        axes = [a.i for node in readers for a in node.attribute if a.name == "axis"]
        if C % block_size or any(node.input[0] != name for node in readers) or any(axes):
            initializers.append(tensor)
            continue
        q, scale = quantize_blocks(weight.reshape(V, C // block_size, block_size), 2)
        initializers += [
            const(q, f"{name}.int8"),  # (V, G, b)
            const(scale, f"{name}.scale"),  # (V, G, 1)
            const(np.array([C], np.int64), f"{name}.width"),
        ]
        for k, node in enumerate(readers):
            ids, out, tag = node.input[1], node.output[0], f"{name}.{k}"
            node.input[0], node.output[0] = f"{name}.int8", f"{tag}.rows"  # (..., G, b)
            nodes += [
                helper.make_node("Gather", [f"{name}.scale", ids], [f"{tag}.scales"]),
                *restore(f"{tag}.rows", f"{tag}.scales", f"{tag}.blocks"),
                helper.make_node("Shape", [ids], [f"{tag}.ids_shape"]),
                helper.make_node(
                    "Concat", [f"{tag}.ids_shape", f"{name}.width"], [f"{tag}.shape"], axis=0
                ),
                helper.make_node("Reshape", [f"{tag}.blocks", f"{tag}.shape"], [out]),  # (..., C)
            ]
    return save_rewritten(model, initializers, nodes, target)


def insert_sorted(graph, new_nodes: list) -> None:
    """Add ``new_nodes`` to the graph, keeping every node after the nodes it reads."""
    nodes = list(graph.node) + new_nodes
    made_by = {out: i for i, node in enumerate(nodes) for out in node.output}
    order, done = [], set()

    def visit(i: int) -> None:
        stack = [(i, False)]
        while stack:
            j, expanded = stack.pop()
            if j in done:
                continue
            if expanded:
                done.add(j)
                order.append(nodes[j])
                continue
            stack.append((j, True))
            stack += [(made_by[n], False) for n in nodes[j].input if n in made_by]

    for i in range(len(nodes)):
        visit(i)
    del graph.node[:]
    graph.node.extend(order)


def fp16_weights(source: str | Path, target: str | Path, min_size: int = MIN_QUANTIZED) -> Path:
    """Copy ``source`` to ``target`` with every float32 weight of ``min_size`` numbers or
    more stored as float16, cast back to float32 in the graph. Returns ``target``.

        >>> fp16_weights("float32.onnx", "float16.onnx")     # doctest: +SKIP
    """
    onnx = require_module("onnx")
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    initializers, nodes = [], []
    for tensor in graph.initializer:
        weight = numpy_helper.to_array(tensor)
        if weight.dtype != np.float32 or weight.size < min_size:
            initializers.append(tensor)
            continue
        initializers.append(
            numpy_helper.from_array(weight.astype(np.float16), f"{tensor.name}.fp16")
        )
        nodes.append(
            helper.make_node("Cast", [f"{tensor.name}.fp16"], [tensor.name], to=TensorProto.FLOAT)
        )
    return save_rewritten(model, initializers, nodes, target)


def dynamic_int8(source: str | Path, target: str | Path) -> Path:
    """onnxruntime's dynamic quantisation of ``source``: int8 weights, and activations
    rounded to 8 bits at run time before every ``MatMul``. Returns ``target``.

        >>> dynamic_int8("float32.onnx", "dynamic.onnx")     # doctest: +SKIP
    """
    require_module("onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logger = logging.getLogger()  # it logs a tip about pre-processing on every call
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        logger.setLevel(level)
    return Path(target)


# --- does a file compute what BertModel computes? --------------------------------------


@dataclass(frozen=True)
class ParityReport:
    """The largest differences between an ONNX file and ``BertModel`` on some texts."""

    file: str
    bytes: int
    texts: int
    max_attention_diff: float  # max |weight difference| over texts, layers, heads, T x T
    mean_attention_diff: float  # the mean of the same differences
    max_hidden_diff: float  # max |difference| over texts, hidden states 0..L, T x C


def session(path: str | Path):
    """An onnxruntime session on one CPU thread (the browser has one too).

    >>> session("int8.onnx").run(["attentions.0"], encode(tok, "Hi!"))[0].shape
    ... # doctest: +SKIP
    (1, 12, 4, 4)
    """
    ort = require_module("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def encode(
    tokenizer: WordPieceTokenizer, text: str, pair: str | None = None
) -> dict[str, np.ndarray]:
    """One text (and pair) -> the graph's inputs, int64 (1, T), cut to ``MAX_LENGTH``.

    >>> encode(WordPieceTokenizer.from_pretrained(), "Hi!")["input_ids"]
    ... # doctest: +SKIP
    array([[ 101, 7632,  999,  102]])
    """
    batch = tokenizer(text, pair, truncation=True, max_length=MAX_LENGTH)
    return {name: batch[name].numpy().astype(np.int64) for name in INPUT_NAMES}


def reference(
    texts=PARITY_TEXTS,
    model: BertModel | None = None,
    tokenizer: WordPieceTokenizer | None = None,
) -> list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """``BertModel``'s outputs on ``texts`` (``(text, pair or None)`` tuples): one
    ``(inputs, outputs)`` pair of dicts per text, by the graph's names (None = the
    embedded model and tokenizer); outputs as :func:`output_names`, batch 1.

        >>> reference([("Hi!", None)])[0][1]["attentions.5"].shape  # doctest: +SKIP
        (1, 12, 4, 4)
    """
    model = BertModel.from_pretrained() if model is None else model
    tokenizer = WordPieceTokenizer.from_pretrained() if tokenizer is None else tokenizer
    texts = list(texts)
    if not texts or not all(isinstance(t, tuple) and len(t) == 2 for t in texts):
        raise ValueError("texts must be a non-empty list of (text, pair or None) tuples")
    names = output_names(model.config.num_hidden_layers)
    cases = []
    for text, pair in texts:
        feeds = encode(tokenizer, text, pair)
        with torch.no_grad():
            out = model(
                **{k: torch.from_numpy(v) for k, v in feeds.items()},
                output_attentions=True,
                output_hidden_states=True,
            )
        tensors = (out.last_hidden_state, *out.hidden_states, *out.attentions)
        cases.append((feeds, {n: t.numpy() for n, t in zip(names, tensors, strict=True)}))
    return cases


def compare(path: str | Path, cases=None) -> ParityReport:
    """Run the ONNX file ``path`` on the inputs of ``cases`` (:func:`reference`; None =
    ``reference()`` of ``PARITY_TEXTS``) and report the largest differences from
    ``BertModel``'s outputs.

        >>> compare("playground-model.onnx").max_attention_diff   # doctest: +SKIP
        0.02...
    """
    cases = reference() if cases is None else cases
    sess = session(path)
    worst_attention = worst_hidden = total = 0.0
    count = 0
    for feeds, want in cases:
        names = list(want)
        got = dict(zip(names, sess.run(names, feeds), strict=True))
        for name in names:
            diff = np.abs(got[name] - want[name])
            if name.startswith("attentions."):  # (1, N, T, T)
                worst_attention = max(worst_attention, float(diff.max()))
                total, count = total + float(diff.sum()), count + diff.size
            elif name.startswith("hidden_states."):  # (1, T, C)
                worst_hidden = max(worst_hidden, float(diff.max()))
    return ParityReport(
        file=Path(path).name,
        bytes=Path(path).stat().st_size,
        texts=len(cases),
        max_attention_diff=worst_attention,
        mean_attention_diff=total / max(count, 1),
        max_hidden_diff=worst_hidden,
    )


# --- the page's files ------------------------------------------------------------------

VARIANTS = {  # name -> (function from the float32 file, what it stores)
    "float32": (None, "float32 weights, as exported"),
    "float16": (fp16_weights, "float16 weights, float32 arithmetic"),
    "int8 dynamic": (dynamic_int8, "int8 weights and activations (onnxruntime's)"),
    "int8": (int8_weights, f"int8 weights, a float16 scale per {BLOCK_SIZE}, float32 arithmetic"),
}
SHIPPED = "int8"


def export_playground(out_dir: str | Path) -> dict:
    """Write the Playground's model, vocabulary and manifest into ``out_dir``.

    Exports the embedded model, makes every variant of ``VARIANTS``, compares each with
    ``BertModel`` on ``PARITY_TEXTS`` and ships ``SHIPPED``. Raises RuntimeError, and
    writes nothing, if the float32 file or the shipped one differ by more than
    ``FP32_TOLERANCE`` or ``INT8_TOLERANCE``. Returns the manifest (also written as
    ``playground-model.json``).

        >>> export_playground("docs/figures")["bytes"]    # doctest: +SKIP
        24...
    """
    out_dir = Path(out_dir)
    model = BertModel.from_pretrained()
    tokenizer = WordPieceTokenizer.from_pretrained()
    config = model.config
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(Path(tmp) / "float32.onnx", model)
        cases = reference(PARITY_TEXTS, model, tokenizer)
        files, reports = {}, {}
        for name, (make, _) in VARIANTS.items():
            files[name] = fp32 if make is None else make(fp32, Path(tmp) / f"{name}.onnx")
            reports[name] = compare(files[name], cases)
        for name, tolerance in (("float32", FP32_TOLERANCE), (SHIPPED, INT8_TOLERANCE)):
            if reports[name].max_attention_diff > tolerance:
                raise RuntimeError(
                    f"the {name} ONNX file's attention weights differ from BertModel's by "
                    f"{reports[name].max_attention_diff:.3g} > {tolerance}: not written"
                )
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(files[SHIPPED], out_dir / MODEL_FILE)
    shutil.copyfile(default_model_dir() / "vocab.txt", out_dir / VOCAB_FILE)
    manifest = {
        "model": MODEL_FILE,
        "vocab": VOCAB_FILE,
        "bytes": (out_dir / MODEL_FILE).stat().st_size,
        "sha256": sha256_file(out_dir / MODEL_FILE),
        "variant": SHIPPED,
        "source": "sentence-transformers/all-MiniLM-L6-v2 (embedded in bertguide)",
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "hidden_size": config.hidden_size,
        "max_length": MAX_LENGTH,
        "do_lower_case": tokenizer.do_lower_case,
        "inputs": list(INPUT_NAMES),
        "outputs": output_names(config.num_hidden_layers),
        "panels": ["tokens", "attention", "similarity"],  # the heads: playground_heads
        "parity": {
            "texts": [list(t) for t in PARITY_TEXTS],
            "variants": [
                {"name": name, "stores": VARIANTS[name][1], **asdict(report)}
                for name, report in reports.items()
            ],
        },
    }
    (out_dir / MANIFEST_FILE).write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
