"""The Playground's fill-mask and next-sentence panels: the restored heads, in ONNX.

Chapter: "Playground: your own sentence" (the heads themselves are the pre-training
chapter's, restored by ``bertguide.experiments.restoring``).

``bertguide.export.playground`` exports the embedded encoder for the tokens, attention and
similarity panels. This module exports the shipped restored model (a ``BertForPreTraining``:
the same embeddings, an encoder trained on a little further, and both heads) into ONE
file with both heads' answers, computed in the graph so that the page only reads them:

    inputs   input_ids, attention_mask, token_type_ids     int64 (B, T), B = 1 on the page
    outputs  fill_mask.ids    int64   (B + M, k)  the k most likely tokens at [CLS]
                                                  and at each [MASK]
             fill_mask.probs  float32 (B + M, k)  their probabilities (softmax over V)
             is_next          float32 (B,)        P(IsNext): segment B follows segment A

M = the [MASK] tokens of the batch, k = ``TOP_K``, V = vocabulary, C = hidden size.
The rows follow the tokens in row-major order: each sequence's [CLS] (position 0), then
its [MASK]s. The [CLS] row is there so that the rows are never empty: onnxruntime-web
fails ("divide by zero") on a text with no [MASK] when they are; readers skip it. The
masked-LM head runs on these B + M vectors only, not on all B x T: the page's work is
(1 + M) x C x V multiply-adds, not T x C x V.

The decoder is tied to the word embeddings (one (V, C) table, read by the embedding
lookup and by the decoder). A trace stores it twice, the second time transposed; here
the copy is dropped and the decoder reads every row of the one table through a
``Gather`` of ``Range(0, V)``, so that ``bertguide.export.playground.int8_weights`` stores the
table once, as int8 (the same scheme as the encoder's file, and half the file).

``compare_heads`` runs the file next to ``fill_mask`` and ``next_sentence`` (PyTorch) on
``FILL_MASK_TEXTS`` and ``NSP_PAIRS``; ``export_heads`` writes the file and its manifest
only if every text's top-k tokens are the same and P(IsNext) differs by at most
``NSP_TOLERANCE``.

Left out: whole-word masking in the panel (one [MASK] is one token), top-k over a
sub-vocabulary, and the MLM logits themselves (V numbers per position, left in the graph).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bertguide.export.playground import (
    INPUT_NAMES,
    MAX_LENGTH,
    consumers,
    encode,
    insert_sorted,
    int8_weights,
    name_weights,
    require_module,
    session,
    trace_to_onnx,
)
from bertguide.inference import fill_mask, next_sentence, shipped_restored_model
from bertguide.pretrained import sha256_file
from bertguide.pretraining import BertForPreTraining
from bertguide.tokenizer import WordPieceTokenizer

HEADS_MODEL_FILE = "playground-heads.onnx"
HEADS_MANIFEST_FILE = "playground-heads.json"
HEADS_OUTPUTS = ("fill_mask.ids", "fill_mask.probs", "is_next")
TOP_K = 5  # tokens the page shows for each [MASK]
TABLE = "embeddings.word_embeddings.weight"  # (V, C): the lookup's and the decoder's
NSP_TOLERANCE = 0.05  # largest |P(IsNext) difference| of the int8 file; see the manifest

# the texts every build compares: the pre-training chapter's examples first
FILL_MASK_TEXTS: tuple[str, ...] = (
    "Paris is a beautiful [MASK].",
    "The capital of France is [MASK].",
    "She [MASK] a letter to her [MASK] yesterday.",
    "The man went to the [MASK] to buy a gallon of milk.",
)
NSP_PAIRS: tuple[tuple[str, str], ...] = (
    ("She cooked pasta.", "It was delicious."),
    ("Turn the radio on.", "She bought a new hat."),
    ("The man went to the store.", "He bought a gallon of milk."),
    ("The man went to the store.", "Penguins are flightless birds."),
)


class HeadsForExport(nn.Module):
    """``BertForPreTraining`` with three positional inputs and the panels' three outputs.

    (B, T) ids, mask, segments -> top-k ids (B + M, k) and their probabilities (B + M, k)
    at each [CLS] and each [MASK] (row-major order), and P(IsNext) (B,). Every linear
    layer reads a 3-d tensor, so that the trace writes ``MatMul`` (which
    ``int8_weights`` stores as int8), not ``Gemm``.
    """

    def __init__(self, model: BertForPreTraining, mask_token_id: int, top_k: int = TOP_K):
        super().__init__()
        if not isinstance(model, BertForPreTraining):
            raise TypeError(f"model must be a BertForPreTraining, not {type(model).__name__}")
        V = model.config.vocab_size
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= V:
            raise ValueError(f"top_k must be an int in [1, {V}], got {top_k!r}")
        self.bert, self.cls = model.bert, model.cls  # weights named bert.*, cls.*
        self.mask_token_id = int(mask_token_id)
        self.top_k = top_k

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        bert, heads = self.bert, self.cls
        x = bert.embeddings(input_ids, token_type_ids)  # (B, T, C)
        mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T)
        last, _, _ = bert.encoder(x, mask)  # (B, T, C)
        first = torch.arange(input_ids.shape[1]) == 0  # (T,): [CLS]
        rows = (input_ids == self.mask_token_id) | first  # (B, T): [CLS] and each [MASK]
        masked = last[rows][None]  # (1, B + M, C): never empty (see the module docstring)
        table = bert.embeddings.word_embeddings.weight  # (V, C), tied to the decoder
        scores = heads.predictions.transform(masked) @ table.T + heads.predictions.bias
        probs, ids = scores[0].softmax(dim=-1).topk(self.top_k, dim=-1)  # (M, k) each
        pooled = torch.tanh(bert.pooler.dense(last[:, :1]))  # (B, 1, C): [CLS]
        is_next = heads.seq_relationship(pooled).softmax(dim=-1)[:, 0, 0]  # (B,)
        return ids, probs, is_next


def export_heads_onnx(
    path: str | Path, model: BertForPreTraining, tokenizer: WordPieceTokenizer | None = None
) -> Path:
    """Trace ``model`` into the float32 ONNX file ``path``, outputs ``HEADS_OUTPUTS``.

    B and T are dynamic, and so is M (the [MASK] count). The word-embedding table is
    stored once (see the module docstring). Returns the path.

        >>> export_heads_onnx("heads.onnx", restored_model())   # doctest: +SKIP
        PosixPath('heads.onnx')
    """
    onnx = require_module("onnx")
    tokenizer = WordPieceTokenizer.from_pretrained() if tokenizer is None else tokenizer
    wrapper = HeadsForExport(model, tokenizer.mask_token_id).eval()
    V = model.config.vocab_size
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = torch.arange(1, 9).remainder(V)[None]  # (1, 8): the trace records operations
    ids[0, 3] = tokenizer.mask_token_id  # one [MASK], so that the head's path is traced
    example = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUT_NAMES}
    dynamic.update({"fill_mask.ids": {0: "rows"}, "fill_mask.probs": {0: "rows"}})
    dynamic["is_next"] = {0: "batch"}
    trace_to_onnx(wrapper, example, path, HEADS_OUTPUTS, dynamic)
    graph_model = onnx.load(str(path))
    name_weights(graph_model.graph)
    table = model.bert.embeddings.word_embeddings.weight.detach().numpy()
    _share_table(graph_model.graph, table)
    config = model.config
    graph_model.doc_string = (
        f"bertguide BertForPreTraining ({config.num_hidden_layers} layers, "
        f"hidden {config.hidden_size}): top-{TOP_K} tokens at each [MASK], P(IsNext)"
    )
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, str(path))
    return path


def _share_table(graph, table: np.ndarray) -> None:
    """Drop the trace's transposed copy of the (V, C) ``table`` and let the decoder read
    ``Transpose(Gather(table, Range(0, V)))`` instead: the table stays one initializer,
    read by ``Gather`` only."""
    from onnx import helper, numpy_helper

    V = table.shape[0]
    copies = [
        t
        for t in graph.initializer
        if tuple(t.dims) == table.T.shape and np.array_equal(numpy_helper.to_array(t), table.T)
    ]
    if len(copies) != 1 or TABLE not in {t.name for t in graph.initializer}:
        raise RuntimeError(
            f"expected the table {TABLE} and one transposed copy in the trace, found "
            f"{len(copies)} copies: has the decoder changed?"
        )
    copy = copies[0].name
    graph.initializer.remove(copies[0])
    const = numpy_helper.from_array
    graph.initializer.extend(
        [const(np.array(0, np.int64), "decoder.start"), const(np.array(V, np.int64), "decoder.V")]
    )
    graph.initializer.append(const(np.array(1, np.int64), "decoder.step"))
    nodes = [
        helper.make_node("Range", ["decoder.start", "decoder.V", "decoder.step"], ["decoder.rows"]),
        helper.make_node("Gather", [TABLE, "decoder.rows"], ["decoder.table"]),  # (V, C)
        helper.make_node("Transpose", ["decoder.table"], [copy], perm=[1, 0]),  # (C, V)
    ]
    insert_sorted(graph, nodes)
    readers = {node.op_type for node in consumers(graph)[TABLE]}
    assert readers == {"Gather"}, readers


# --- does the file answer what PyTorch answers? -----------------------------------------


@dataclass(frozen=True)
class HeadsParity:
    """How an ONNX file's answers differ from ``fill_mask`` and ``next_sentence``."""

    file: str
    bytes: int
    masks: int  # [MASK] tokens over FILL_MASK_TEXTS
    top_k_equal: int  # of them, those whose top-k tokens (in order) are the same
    top1_equal: int  # ... whose most likely token is the same
    max_prob_diff: float  # max |probability difference| over the top-k of every [MASK]
    pairs: int
    max_nsp_diff: float  # max |P(IsNext) difference| over NSP_PAIRS


def heads_reference(
    model: BertForPreTraining,
    tokenizer: WordPieceTokenizer | None = None,
    texts=FILL_MASK_TEXTS,
    pairs=NSP_PAIRS,
) -> dict:
    """PyTorch's answers: ``{"fill_mask": [fill_mask(text, TOP_K)...], "is_next": [...]}``.

    >>> heads_reference(restored_model())["is_next"][0]     # doctest: +SKIP
    0.9...
    """
    tokenizer = WordPieceTokenizer.from_pretrained() if tokenizer is None else tokenizer
    kw = {"model": model, "tokenizer": tokenizer}
    return {
        "fill_mask": [fill_mask(text, TOP_K, **kw) for text in texts],
        "is_next": [next_sentence(a, b, **kw) for a, b in pairs],
    }


def run_heads(sess, tokenizer: WordPieceTokenizer, text: str, pair: str | None = None) -> dict:
    """One text (and pair) through a heads file's ``session``: ``{"fill_mask": one list of
    (token, probability) per [MASK], "is_next": float}``.

    >>> run_heads(session("playground-heads.onnx"), tok, "Hi [MASK]!")  # doctest: +SKIP
    {'fill_mask': [[('!', 0.3...), ...]], 'is_next': 0.9...}
    """
    ids, probs, is_next = sess.run(list(HEADS_OUTPUTS), encode(tokenizer, text, pair))
    return {
        "fill_mask": [  # row 0 is [CLS]'s
            list(zip(tokenizer.convert_ids_to_tokens(row.tolist()), p.tolist(), strict=True))
            for row, p in zip(ids[1:], probs[1:], strict=True)
        ],
        "is_next": float(is_next[0]),
    }


def compare_heads(
    path: str | Path, want: dict, tokenizer: WordPieceTokenizer | None = None
) -> HeadsParity:
    """Run the file ``path`` on ``FILL_MASK_TEXTS`` and ``NSP_PAIRS`` and compare with
    ``want`` (:func:`heads_reference`).

        >>> compare_heads("playground-heads.onnx", want).top_k_equal   # doctest: +SKIP
        5
    """
    tokenizer = WordPieceTokenizer.from_pretrained() if tokenizer is None else tokenizer
    sess = session(path)
    masks = top_k = top1 = 0
    prob_diff = nsp_diff = 0.0
    for text, expected in zip(FILL_MASK_TEXTS, want["fill_mask"], strict=True):
        got = run_heads(sess, tokenizer, text)["fill_mask"]
        for g, e in zip(got, expected, strict=True):
            masks += 1
            top_k += [t for t, _ in g] == [t for t, _ in e]
            top1 += g[0][0] == e[0][0]
            prob_diff = max(prob_diff, *(abs(a[1] - b[1]) for a, b in zip(g, e, strict=True)))
    for (a, b), expected in zip(NSP_PAIRS, want["is_next"], strict=True):
        nsp_diff = max(nsp_diff, abs(run_heads(sess, tokenizer, a, b)["is_next"] - expected))
    return HeadsParity(
        file=Path(path).name,
        bytes=Path(path).stat().st_size,
        masks=masks,
        top_k_equal=top_k,
        top1_equal=top1,
        max_prob_diff=prob_diff,
        pairs=len(NSP_PAIRS),
        max_nsp_diff=nsp_diff,
    )


def export_heads(out_dir: str | Path, model: BertForPreTraining | None = None) -> dict:
    """Write ``playground-heads.onnx`` (int8 weights) and ``playground-heads.json`` into
    ``out_dir``, for ``model`` (None = the restored model that ships with the package,
    ``bertguide.inference.shipped_restored_model()``).

    Raises RuntimeError, and writes nothing, if the int8 file's top-1 token differs from
    PyTorch's at any [MASK] of ``FILL_MASK_TEXTS`` or its P(IsNext) by more than
    ``NSP_TOLERANCE`` on ``NSP_PAIRS``. Returns the manifest.

        >>> export_heads("docs/figures")["bytes"]      # doctest: +SKIP
        24...
    """
    if model is None:
        model = shipped_restored_model()
    tokenizer = WordPieceTokenizer.from_pretrained()
    out_dir = Path(out_dir)
    want = heads_reference(model, tokenizer)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_heads_onnx(Path(tmp) / "float32.onnx", model, tokenizer)
        int8 = int8_weights(fp32, Path(tmp) / "int8.onnx")
        reports = {
            name: compare_heads(f, want, tokenizer)
            for name, f in [("float32", fp32), ("int8", int8)]
        }
        shipped = reports["int8"]
        # int8 weights may swap two near-equal tokens lower down the list; the answer
        # (top-1) must be PyTorch's at every [MASK], and the manifest keeps the rest
        if shipped.top1_equal != shipped.masks or shipped.max_nsp_diff > NSP_TOLERANCE:
            raise RuntimeError(
                f"the int8 heads file differs from PyTorch: top-1 equal at "
                f"{shipped.top1_equal} of {shipped.masks} [MASK]s, P(IsNext) by "
                f"{shipped.max_nsp_diff:.3g} (tolerance {NSP_TOLERANCE}): not written"
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / HEADS_MODEL_FILE).write_bytes(int8.read_bytes())
    manifest = {
        "model": HEADS_MODEL_FILE,
        "bytes": (out_dir / HEADS_MODEL_FILE).stat().st_size,
        "sha256": sha256_file(out_dir / HEADS_MODEL_FILE),
        "variant": "int8",
        "source": "the embedded model with the restored heads that ship with the package",
        "max_length": MAX_LENGTH,
        "top_k": TOP_K,
        "mask_token": tokenizer.mask_token,
        "inputs": list(INPUT_NAMES),
        "outputs": list(HEADS_OUTPUTS),
        "panels": ["fill-mask", "next-sentence"],
        "parity": {
            "fill_mask_texts": list(FILL_MASK_TEXTS),
            "nsp_pairs": [list(p) for p in NSP_PAIRS],
            "reference": {  # PyTorch's answers, as JSON
                "fill_mask": [[[list(c) for c in m] for m in t] for t in want["fill_mask"]],
                "is_next": want["is_next"],
            },
            "nsp_tolerance": NSP_TOLERANCE,
            "variants": [{"name": n, **asdict(r)} for n, r in reports.items()],
        },
    }
    (out_dir / HEADS_MANIFEST_FILE).write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
