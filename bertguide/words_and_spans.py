"""Words and spans: what goes into the token head and comes out of the span head.

Chapter: Fine-tuning and transfer learning. The heads of ``bertguide.finetuning`` see
word pieces; a reader has words and wants answers. ``encode_words``/``align_labels``
label each word's first piece (-100 the rest, left out of the loss),
``word_predictions`` reads one prediction per word back, ``best_span`` decodes the best
valid span from start and end logits, ``answer_question`` slides windows over a long
context and returns the exact characters of the answer. T = tokens.

Left out: labelling every piece of a word (the paper labels the first), answers that
span two windows, "no answer" (SQuAD 2.0).
"""

from __future__ import annotations

import torch

from bertguide.checks import check_int
from bertguide.finetuning import IGNORE_INDEX, BertForQuestionAnswering
from bertguide.tokenizer import WordPieceTokenizer

# --- token classification: words <-> tokens ------------------------------------------


def align_labels(word_ids: list[int | None], word_labels: list[int]) -> list[int]:
    """One label per token from one label per word: the first piece of each word gets
    the word's label, its other pieces and the special tokens -100 (left out of the loss).

    >>> align_labels([None, 0, 1, 1, 2, None], [3, 0, 5])   # word 1 split into 2 pieces
    [-100, 3, 0, -100, 5, -100]
    """
    if not isinstance(word_labels, (list, tuple)):
        raise TypeError(f"word_labels must be a list of ints, not {type(word_labels).__name__}")
    out, previous = [], None
    for word in word_ids:
        if word is None or word == previous:
            out.append(IGNORE_INDEX)
        elif not 0 <= word < len(word_labels):
            raise ValueError(f"word_ids names word {word}, but word_labels has {len(word_labels)}")
        else:
            out.append(int(word_labels[word]))
        previous = word
    return out


def word_predictions(word_ids: list[int | None], token_predictions) -> list[int]:
    """One prediction per word, read at the word's first piece (T,) -> (words,).

    >>> word_predictions([None, 0, 1, 1, 2, None], [9, 3, 0, 4, 5, 9])
    [3, 0, 5]
    """
    if isinstance(token_predictions, torch.Tensor):
        token_predictions = token_predictions.tolist()
    if len(token_predictions) < len(word_ids):
        raise ValueError(
            f"token_predictions has {len(token_predictions)} values for {len(word_ids)} tokens"
        )
    first = {}
    for position, word in enumerate(word_ids):
        if word is not None and word not in first:
            first[word] = token_predictions[position]
    return [first[w] for w in sorted(first)]


def encode_words(
    tokenizer: WordPieceTokenizer,
    words: list[str],
    labels: list[int] | None = None,
    max_length: int | None = None,
) -> dict:
    """Pre-split words (a CoNLL sentence) -> one example for ``BertForTokenClassification``.

    Every word is tokenized on its own, so each token's word is the index of the word it
    came from (transformers' ``is_split_into_words=True``); a word that yields no token
    (only control characters) has none. Returns a dict of (T,) LongTensors
    ``input_ids``, ``token_type_ids``, ``attention_mask`` and, given ``labels`` (one per
    word), ``labels`` aligned by ``align_labels``; plus ``word_ids`` (a list). With
    ``max_length`` the tokens are cut to fit, the words cut off losing their labels.

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> ex = encode_words(tok, ["Angela", "Merkel", "visited", "Paris"], [1, 2, 0, 3])
    >>> ex["labels"].tolist()           # [CLS] angela mer ##kel visited paris [SEP]
    [-100, 1, 2, -100, 0, 3, -100]
    >>> ex["word_ids"]
    [None, 0, 1, 1, 2, 3, None]
    """
    if not isinstance(words, (list, tuple)) or not all(isinstance(w, str) for w in words):
        raise TypeError("words must be a list of str")
    if labels is not None and len(labels) != len(words):
        raise ValueError(f"labels must give one label per word: {len(words)} words, {len(labels)}")
    ids, word_ids = [tokenizer.cls_token_id], [None]
    for index, word in enumerate(words):
        pieces = tokenizer.encode(word, add_special_tokens=False)
        ids += pieces
        word_ids += [index] * len(pieces)
    if max_length is not None:
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 3:
            raise ValueError(f"max_length must be an int >= 3, got {max_length!r}")
        ids, word_ids = ids[: max_length - 1], word_ids[: max_length - 1]
    ids.append(tokenizer.sep_token_id)
    word_ids.append(None)
    example = {
        "input_ids": torch.tensor(ids),  # (T,)
        "token_type_ids": torch.zeros(len(ids), dtype=torch.long),  # (T,)
        "attention_mask": torch.ones(len(ids), dtype=torch.long),  # (T,)
    }
    if labels is not None:
        example["labels"] = torch.tensor(align_labels(word_ids, list(labels)))  # (T,)
    example["word_ids"] = word_ids
    return example


# --- span prediction: logits -> answer ----------------------------------------------


def best_span(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    max_answer_length: int = 30,
    allowed: torch.Tensor | None = None,
) -> tuple[int, int, float]:
    """The span (start, end) with the highest start + end score, end >= start, at most
    ``max_answer_length`` tokens, both ends where ``allowed`` (T,) is True (the context).

    Scores every pair at once: an upper-triangular band of the (T, T) matrix
    ``start_logits[i] + end_logits[j]``. Returns (start, end, score), end inclusive.

    >>> best_span(torch.tensor([0.0, 5.0, 1.0]), torch.tensor([0.0, 1.0, 4.0]))
    (1, 2, 9.0)
    """
    for name, x in (("start_logits", start_logits), ("end_logits", end_logits)):
        if not isinstance(x, torch.Tensor) or x.dim() != 1:
            raise ValueError(f"{name} must be a 1-D tensor (T,)")
    if start_logits.shape != end_logits.shape:
        raise ValueError(
            f"start_logits {list(start_logits.shape)} and end_logits "
            f"{list(end_logits.shape)} differ in shape"
        )
    check_int("max_answer_length", max_answer_length, 1)
    T = start_logits.shape[0]
    if allowed is None:
        allowed = torch.ones(T, dtype=torch.bool)
    if not isinstance(allowed, torch.Tensor) or allowed.shape != (T,):
        raise ValueError(f"allowed must be a bool tensor of shape [{T}]")
    allowed = allowed.bool().cpu()
    if not allowed.any():
        raise ValueError("allowed is False everywhere: there is no token to answer with")
    scores = start_logits.detach().float().cpu()[:, None] + end_logits.detach().float().cpu()
    i = torch.arange(T)
    length = i[None, :] - i[:, None]  # (T, T): end - start
    valid = (length >= 0) & (length < max_answer_length) & allowed[:, None] & allowed[None, :]
    scores = scores.masked_fill(~valid, float("-inf"))  # (T, T)
    flat = int(scores.argmax())
    start, end = divmod(flat, T)
    return start, end, float(scores[start, end])


@torch.no_grad()
def answer_question(
    question: str,
    context: str,
    model: BertForQuestionAnswering,
    tokenizer: WordPieceTokenizer | None = None,
    max_length: int = 384,
    stride: int = 128,
    max_answer_length: int = 30,
) -> dict:
    """The answer to ``question`` in ``context``: the best span over all windows.

    The context is cut into windows of ``max_length`` tokens (question included) that
    overlap by ``stride`` tokens; each window's best context span is scored by
    ``best_span`` and the best of all windows wins. The offsets map it back to
    characters, so ``answer == context[start:end]`` exactly, original case and accents
    included. Returns ``{"answer", "start", "end", "score", "window"}``.

    >>> model = BertForQuestionAnswering.from_pretrained()  # untrained head: any span
    >>> context = "The Eiffel Tower is in Paris."
    >>> result = answer_question("Where is the Eiffel Tower?", context, model)
    >>> sorted(result)
    ['answer', 'end', 'score', 'start', 'window']
    >>> result["answer"] == context[result["start"]:result["end"]]
    True
    """
    if not isinstance(model, BertForQuestionAnswering):
        raise TypeError(f"model must be a BertForQuestionAnswering, not {type(model).__name__}")
    for name, text in (("question", question), ("context", context)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{name} must be a non-empty str")
    tokenizer = WordPieceTokenizer.from_pretrained() if tokenizer is None else tokenizer
    batch = tokenizer(
        question,
        context,
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=True,
    )  # (W, T): one row per window
    offsets = batch.pop("offset_mapping")  # (W, T, 2)
    batch.pop("overflow_to_sample_mapping")
    was_training = model.training
    model.eval()
    try:
        device = model.bert.embeddings.word_embeddings.weight.device
        out = model(**{k: v.to(device) for k, v in batch.items()})
    finally:
        model.train(was_training)
    best = None
    for w in range(offsets.shape[0]):
        allowed = torch.tensor([s == 1 for s in batch.sequence_ids(w)])  # context tokens
        if not allowed.any():
            continue
        start, end, score = best_span(
            out.start_logits[w], out.end_logits[w], max_answer_length, allowed
        )
        if best is None or score > best["score"]:
            a, b = int(offsets[w, start, 0]), int(offsets[w, end, 1])
            best = {"answer": context[a:b], "start": a, "end": b, "score": score, "window": w}
    if best is None:
        raise ValueError("the question leaves no room for the context: raise max_length")
    return best
