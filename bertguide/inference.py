"""Using the pre-trained model: ``fill_mask`` and ``next_sentence``, and the model they use.

Chapter: "Pre-training: MLM and NSP" (its reader calls) and every chapter after it.
``bertguide.pretraining`` builds the heads and ``BertForPreTraining``; this module asks
a trained one what it learned:

    fill_mask(text)              the most likely tokens at each [MASK], with probabilities
    next_sentence(a, b)          P(IsNext) for the pair [CLS] a [SEP] b [SEP]

Given no model, both use the restored model that ships with the package
(``shipped_restored_model``: the embedded model plus the shipped difference of the run
"restored-heads", hash-checked against its record), found inside the call and read
once per process, so ``import bertguide`` reads no weights.

Left out: pipelines over many texts at once, top-p sampling and generation (see the
GPT chapter's ``generation``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from bertguide.checks import check_int, check_str
from bertguide.masking import IS_NEXT
from bertguide.pretrained import sha256_file
from bertguide.pretraining import BertForPreTraining
from bertguide.tokenizer import WordPieceTokenizer

SHIPPED = Path(__file__).resolve().parent / "data"  # runs/NAME.json, weights/NAME.safetensors


def read_shipped_weights(name: str) -> dict[str, torch.Tensor]:
    """The tensors of run ``name``'s weights that ship with the package, after checking
    the file's SHA-256 against the run's record (a mismatch names the file and both)."""
    from safetensors.torch import load_file

    path, record = SHIPPED / "weights" / f"{name}.safetensors", SHIPPED / "runs" / f"{name}.json"
    if not path.is_file() or not record.is_file():
        raise FileNotFoundError(f"run {name!r} ships no weights ({path}): reinstall bertguide")
    expected = json.loads(record.read_text(encoding="utf-8"))["weights"]["sha256"]
    found = sha256_file(path)
    if found != expected:
        raise ValueError(
            f"{path} has SHA-256 {found}, but the shipped record says {expected}: "
            f"the file is damaged or was replaced; reinstall bertguide"
        )
    return load_file(str(path))


def embedded_with_fresh_heads() -> BertForPreTraining:
    """The embedded model as ``BertForPreTraining`` with seeded fresh heads (quietly)."""
    logger = logging.getLogger("bertguide.pretraining")  # where from_pretrained logs
    level = logger.level
    logger.setLevel(logging.ERROR)  # "has no heads: initialised" is expected here
    try:
        return BertForPreTraining.from_pretrained(None, seed=0)
    finally:
        logger.setLevel(level)


@functools.lru_cache(maxsize=1)
def shipped_restored_model() -> BertForPreTraining:
    """The restored MLM/NSP model that ships with the package (the run "restored-heads"
    of ``bertguide.experiments``): the embedded model plus the shipped difference,
    float32, eval mode. Read once per process and shared."""
    model = embedded_with_fresh_heads()
    changed = {k: v.float() for k, v in read_shipped_weights("restored-heads").items()}
    missing = set(changed) - set(model.state_dict())
    if missing:
        raise ValueError(f"the shipped weights hold tensors the model lacks: {sorted(missing)}")
    model.load_state_dict(changed, strict=False)
    model.tie_weights()
    model.heads_loaded, model.fresh_heads = True, []
    return model.eval()


def default_pretraining_model() -> BertForPreTraining:
    """The model ``fill_mask`` and ``next_sentence`` use when given none: the restored
    model that ships with the package (``shipped_restored_model``), read in a second."""
    return shipped_restored_model()


@functools.lru_cache(maxsize=1)
def _default_tokenizer() -> WordPieceTokenizer:
    return WordPieceTokenizer.from_pretrained()


def _model_and_tokenizer(model, tokenizer) -> tuple[BertForPreTraining, WordPieceTokenizer]:
    if model is None:
        model = default_pretraining_model()
    if not isinstance(model, BertForPreTraining):
        raise TypeError(f"model must be a BertForPreTraining, not {type(model).__name__}")
    tokenizer = _default_tokenizer() if tokenizer is None else tokenizer
    if not isinstance(tokenizer, WordPieceTokenizer):
        raise TypeError(f"tokenizer must be a WordPieceTokenizer, not {type(tokenizer).__name__}")
    if len(tokenizer) > model.config.vocab_size:
        raise ValueError(
            f"the tokenizer has {len(tokenizer)} tokens but the model only "
            f"vocab_size={model.config.vocab_size}: pass the model's own tokenizer"
        )
    return model, tokenizer


@contextlib.contextmanager
def _inference(model: nn.Module) -> Iterator[None]:
    """Eval mode (no dropout) and no gradients, then the model's mode as it was."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def fill_mask(
    text: str,
    top_k: int = 5,
    *,
    model: BertForPreTraining | None = None,
    tokenizer: WordPieceTokenizer | None = None,
) -> list[list[tuple[str, float]]]:
    """The ``top_k`` most likely tokens for each [MASK] in ``text``, with probabilities.

    Returns one list per [MASK], in the order of the text, of ``(token, probability)``
    sorted from the most likely; the probabilities are the softmax over the whole
    vocabulary at that position. ``tokenizer`` defaults to the embedded one.

    >>> model = BertForPreTraining.from_pretrained()  # untrained heads: guesses are noise
    >>> guesses = fill_mask("Paris is the [MASK] of France.", top_k=2, model=model)
    >>> len(guesses), len(guesses[0])  # one list for the one [MASK], of top_k pairs
    (1, 2)
    >>> (first, p_first), (second, p_second) = guesses[0]
    >>> isinstance(first, str), p_first >= p_second  # (token, probability), most likely first
    (True, True)
    """
    check_str("text", text, empty=False)
    check_int("top_k", top_k)
    model, tokenizer = _model_and_tokenizer(model, tokenizer)
    check_int("top_k", top_k, 1, model.config.vocab_size)
    batch = tokenizer(text).to(model.bert.embeddings.word_embeddings.weight.device)  # (1, T)
    positions = (batch["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten()  # (K,)
    if len(positions) == 0:
        raise ValueError(
            "text has no [MASK] token: write [MASK] where a token is to be predicted, "
            "e.g. 'Paris is the [MASK] of France.'"
        )
    with _inference(model):
        logits = model(**batch).prediction_logits[0, positions]  # (K, V)
    probabilities, ids = logits.softmax(dim=-1).topk(top_k, dim=-1)  # (K, top_k) each
    return [
        list(zip(tokenizer.convert_ids_to_tokens(row_ids), row_p, strict=True))
        for row_ids, row_p in zip(ids.tolist(), probabilities.tolist(), strict=True)
    ]


def next_sentence(
    a: str,
    b: str,
    *,
    model: BertForPreTraining | None = None,
    tokenizer: WordPieceTokenizer | None = None,
) -> float:
    """The probability that ``b`` follows ``a`` (IsNext), from the next-sentence head.

    The pair is encoded as ``[CLS] a [SEP] b [SEP]`` (cut to the tokenizer's maximum
    length when longer). ``tokenizer`` defaults to the embedded one.

    >>> model = BertForPreTraining.from_pretrained()  # untrained heads
    >>> p = next_sentence("I bought milk.", "Then I went home.", model=model)
    >>> round(p, 1)  # an untrained head gives even odds
    0.5
    """
    check_str("a", a, empty=False)
    check_str("b", b, empty=False)
    model, tokenizer = _model_and_tokenizer(model, tokenizer)
    max_length = min(tokenizer.model_max_length, model.config.max_position_embeddings)
    batch = tokenizer(a, b, truncation=True, max_length=max_length)  # (1, T)
    batch = batch.to(model.bert.embeddings.word_embeddings.weight.device)
    with _inference(model):
        logits = model(**batch).seq_relationship_logits  # (1, 2)
    return logits.softmax(dim=-1)[0, IS_NEXT].item()
