"""Where each token came from: character offsets, word ids and overflowing windows.

Chapter: Fine-tuning and transfer learning. Token classification needs to know which
word each token belongs to, and question answering which characters of the context a
token covers, so that a predicted span of tokens becomes an exact piece of the text.
``WordPieceTokenizer`` calls this module when asked for
``return_offsets_mapping=True`` or ``return_overflowing_tokens=True``:

>>> from bertguide.tokenizer import WordPieceTokenizer
>>> tok = WordPieceTokenizer.from_pretrained()
>>> batch = tok("Café au lait", return_offsets_mapping=True)
>>> batch.offset_mapping[0].tolist()
[[0, 0], [0, 4], [5, 7], [8, 11], [11, 12], [0, 0]]
>>> batch.word_ids()                     # "lait" is two pieces, lai ##t, of word 2
[None, 0, 1, 2, 2, None]

Offsets point into the *original* text, before cleaning, lower-casing and accent
stripping: each character of the cleaned, normalised word remembers the original
character it came from, and a token spans from its first character's origin to its
last one's. A character that cleaning deletes (a control character, a combining accent
stripped away) belongs to no token; a character that normalising expands (a Hangul
syllable becomes three jamo) gives every piece of it its own span. Special tokens the
tokenizer adds get ``(0, 0)``; ``[MASK]`` written in the text gets its real span. A
word is one basic token (punctuation characters are words of their own), numbered from
0 in each sequence of a pair. All of this equals transformers' fast (Rust)
``BertTokenizerFast``; where that lower-cases a final ``Σ`` letter by letter, the ids
follow the Python tokenizer (see ``bertguide.tokenizer``) and the offsets are the same.

Overflowing windows cut a sequence too long for ``max_length`` into windows that
overlap by ``stride`` tokens, as the Rust tokenizer does: a budget of ``L`` text tokens
gives windows starting at ``0, L - stride, 2 (L - stride), ...``, the last one ending at
the end of the sequence. With a pair and ``truncation="only_second"`` the question is
repeated in every window and only the context slides; ``overflow_to_sample_mapping``
says which input each window came from.

Left out: ``is_split_into_words`` (``bertguide.words_and_spans.encode_words`` covers token
classification), overflowing windows of a pair under ``longest_first``, left-side
truncation and byte offsets.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any, Protocol

import torch

from bertguide.checks import check_int
from bertguide.encoding import BatchEncoding, truncate

# A token's place in the text: (id, start, end, word index); positions are characters.
Span = tuple[int, int, int, int]


class Tokenizer(Protocol):
    """What this module reads from a tokenizer (``WordPieceTokenizer`` is one). Naming
    it here, rather than importing the tokenizer, keeps the dependency one-way: the
    tokenizer calls this module, never the reverse."""

    basic_tokenizer: Any  # .clean, .normalize, .split_on_punctuation (BasicTokenizer)
    vocab: dict[str, int]
    unk_token: str
    cls_token_id: int
    sep_token_id: int
    model_max_length: int

    def wordpiece(self, word: str) -> list[str]: ...

    def word_spans(self, word: str) -> tuple[Span, ...]: ...

    def segments(self, text: str) -> list[tuple[bool, str]]: ...


# -----------------------------------------------------------------------------
# one text -> ids, character spans and word indices


def word_spans(tokenizer: Tokenizer, word: str) -> tuple[Span, ...]:
    """One word of cleaned text -> (id, first char, last char + 1, basic token) per piece.

    Positions index the characters of ``word``; the basic tokens are numbered from 0.
    ``tokenizer.word_spans(word)`` is this, cached by the tokenizer.

    >>> from bertguide.tokenizer import WordPieceTokenizer
    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> word_spans(tok, "Zoë!")              # zoe (chars 0-3), ! (char 3), 2 basic tokens
    ((11199, 0, 3, 0), (999, 3, 4, 1))
    """
    basic = tokenizer.basic_tokenizer
    normalized = basic.normalize(word)
    per_char = word if word.isascii() else [basic.normalize(c) for c in word]  # 1:1 if ASCII
    if sum(map(len, per_char)) == len(normalized):  # the usual case: align char by char
        starts = [k for k, n in enumerate(per_char) for _ in n]  # normalized -> word char
        ends = [k + 1 for k in starts]
    else:  # the whole word normalises to another length than its characters: whole spans
        starts, ends = [0] * len(normalized), [len(word)] * len(normalized)
    out, start = [], 0
    for index, token in enumerate(basic.split_on_punctuation(normalized)):
        pieces = tokenizer.wordpiece(token)
        if pieces == [tokenizer.unk_token]:
            bounds = [(start, start + len(token))]
        else:
            lengths = [len(p) - 2 if p.startswith("##") else len(p) for p in pieces]
            cuts = [start + sum(lengths[:i]) for i in range(len(pieces) + 1)]
            bounds = list(pairwise(cuts))
        for piece, (a, b) in zip(pieces, bounds, strict=True):
            out.append((tokenizer.vocab[piece], starts[a], ends[b - 1], index))
        start += len(token)
    return tuple(out)


def _clean_words(clean, part: str, position: int) -> list[tuple[str, list[int]]]:
    """Text -> its words of cleaned text, each with the position in the text of each of
    its characters, character by character (deleted ones leave a gap)."""
    words: list[tuple[str, list[int]]] = []
    chars: list[str] = []
    where: list[int] = []
    for offset, char in enumerate(part, start=position):
        for c in clean(char):  # '' (deleted), ' ', ' x ' (CJK) or the character itself
            if not c.isspace():  # str.split()'s notion of whitespace, as the tokenizer's
                chars.append(c)
                where.append(offset)
            elif chars:
                words.append(("".join(chars), where))
                chars, where = [], []
    if chars:
        words.append(("".join(chars), where))
    return words


def text_spans(tokenizer: Tokenizer, text: str) -> list[Span]:
    """Text -> one ``(id, start, end, word)`` per token, no special tokens added.

    ``text[start:end]`` is the original text the token came from; ``word`` numbers
    the basic tokens from 0. The ids are those of ``tokenizer.encode(text,
    add_special_tokens=False)``.

    >>> from bertguide.tokenizer import WordPieceTokenizer
    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> [(tok.ids_to_tokens[i], s, e, w) for i, s, e, w in text_spans(tok, "Hi, Zoë!")]
    [('hi', 0, 2, 0), (',', 2, 3, 1), ('zoe', 4, 7, 2), ('!', 7, 8, 3)]
    """
    clean = tokenizer.basic_tokenizer.clean
    spans: list[Span] = []
    words = 0
    position = 0
    for is_special, part in tokenizer.segments(text):
        if is_special:
            spans.append((tokenizer.vocab[part], position, position + len(part), words))
            words += 1
            position += len(part)
            continue
        if clean(part).split() == part.split():  # cleaning only turned whitespace to spaces
            words_here = [
                (m.group(), range(position + m.start(), position + m.end()))
                for m in re.finditer(r"\S+", part)
            ]
        else:
            words_here = _clean_words(clean, part, position)
        for word, where in words_here:
            pieces = tokenizer.word_spans(word)  # cached: most words come again
            for i, a, b, w in pieces:
                spans.append((i, where[a], where[b - 1] + 1, words + w))
            words += pieces[-1][3] + 1 if pieces else 0
        position += len(part)
    return spans


# -----------------------------------------------------------------------------
# special tokens, truncation and overflowing windows


def _windows(n: int, budget: int, stride: int, name: str) -> list[tuple[int, int]]:
    """Token ranges of ``n`` tokens cut into windows of ``budget`` that overlap by ``stride``."""
    if n <= budget:
        return [(0, n)]
    if stride >= budget:
        raise ValueError(
            f"stride={stride} must be smaller than the {budget} tokens of {name} that fit "
            f"in one window (max_length minus the special tokens and the other sequence)"
        )
    out, start = [], 0
    while True:
        stop = min(start + budget, n)
        out.append((start, stop))
        if stop == n:
            return out
        start += budget - stride


def encode_rows(
    tokenizer: Tokenizer,
    texts: list[str],
    pairs: list[str] | None,
    add_special_tokens: bool,
    truncation: str,
    max_length: int | None,
    stride: int,
    overflowing: bool,
) -> tuple[list[tuple[list[int], list[int]]], list[dict]]:
    """Texts (and pairs) -> rows ``(input_ids, token_type_ids)`` and, per row, a dict of
    ``offsets`` (T, 2), ``word_ids`` (T,), ``sequence_ids`` (T,) and ``sample`` (its input).

    Without ``overflowing`` each input gives one row, truncated as ``tokenizer.encode``
    truncates; with it, every window of an input that is too long is a row of its own.
    """
    check_int("stride", stride, 0)
    if overflowing and truncation == "do_not_truncate":
        raise ValueError("return_overflowing_tokens=True needs truncation (and max_length)")
    rows = []
    for sample, text in enumerate(texts):
        first = text_spans(tokenizer, text)
        second = text_spans(tokenizer, pairs[sample]) if pairs is not None else None
        n_special = (2 if second is None else 3) if add_special_tokens else 0
        if truncation != "do_not_truncate" and not overflowing:
            ids, pair = truncate(
                [s[0] for s in first],
                None if second is None else [s[0] for s in second],
                truncation,
                max_length,
                n_special,
            )
            first = first[: len(ids)]
            second = None if second is None else second[: len(pair)]
        if overflowing:
            if max_length <= n_special:
                raise ValueError(f"max_length={max_length} leaves no room for text")
            if second is None and truncation == "only_second":
                raise ValueError("truncation='only_second' needs a text_pair")
            slide_second = second is not None and truncation == "only_second"
            if second is not None and truncation == "longest_first":
                raise ValueError(
                    "overflowing windows of a pair need truncation='only_second' (the "
                    "context slides, the question stays) or 'only_first', not 'longest_first'"
                )
            fixed = len(first if slide_second else second or [])
            budget = max_length - n_special - fixed
            if budget < 1:
                raise ValueError(
                    f"max_length={max_length} leaves no room for the sequence to cut: the "
                    f"other one and the special tokens take {fixed + n_special} tokens"
                )
            target = second if slide_second else first
            windows = _windows(len(target), budget, stride, "the truncated sequence")
        else:
            windows = [None]
        for window in windows:
            a, b = first, second
            if window is not None and truncation == "only_second" and second is not None:
                b = second[window[0] : window[1]]
            elif window is not None:
                a = first[window[0] : window[1]]
            rows.append(_row(tokenizer, a, b, add_special_tokens, truncation, sample))
    ids_and_types = [(row.pop("input_ids"), row.pop("token_type_ids")) for row in rows]
    return ids_and_types, rows


def _row(tokenizer, first, second, add_special_tokens, truncation, sample) -> dict:
    """[CLS] first [SEP] (second [SEP]) as ids, segments, offsets, word and sequence ids."""
    row = dict(input_ids=[], token_type_ids=[], offsets=[], word_ids=[], sequence_ids=[])

    def put(token_id: int, segment: int, span=(0, 0), word=None, sequence=None) -> None:
        for key, value in zip(row, (token_id, segment, span, word, sequence), strict=True):
            row[key].append(value)

    if add_special_tokens:
        put(tokenizer.cls_token_id, 0)
    for segment, spans in enumerate([first] if second is None else [first, second]):
        for token_id, start, end, word in spans:
            put(token_id, segment, (start, end), word, segment)
        if add_special_tokens:
            put(tokenizer.sep_token_id, segment)
    if truncation == "do_not_truncate" and len(row["input_ids"]) > tokenizer.model_max_length:
        raise ValueError(
            f"the sequence has {len(row['input_ids'])} tokens, more than the model's "
            f"model_max_length={tokenizer.model_max_length}: pass truncation=True (and "
            f"max_length) to cut it"
        )
    row["sample"] = sample
    return row


def attach(
    out: dict, extras: list[dict], target: int | None, tensors: bool, options
) -> BatchEncoding:
    """``out`` with ``offset_mapping`` (B, T, 2), ``overflow_to_sample_mapping`` (B,) and
    the word and sequence ids, padded to ``target`` tokens: a BatchEncoding."""
    return_offsets, return_overflowing = options
    pad = [(target - len(x["offsets"])) if target is not None else 0 for x in extras]
    if return_offsets:
        mapping = [[*x["offsets"], *[(0, 0)] * p] for x, p in zip(extras, pad, strict=True)]
        out["offset_mapping"] = torch.tensor(mapping, dtype=torch.long) if tensors else mapping
    if return_overflowing:
        samples = [x["sample"] for x in extras]
        out["overflow_to_sample_mapping"] = torch.tensor(samples) if tensors else samples
    word_ids = [[*x["word_ids"], *[None] * p] for x, p in zip(extras, pad, strict=True)]
    sequence_ids = [[*x["sequence_ids"], *[None] * p] for x, p in zip(extras, pad, strict=True)]
    return BatchEncoding(out, word_ids=word_ids, sequence_ids=sequence_ids)
