"""BERT's tokenizer: text -> basic tokens -> WordPiece pieces -> ids, written out.

Two stages, as in the original BERT code:

1. ``BasicTokenizer`` cleans the text (drops NUL, U+FFFD and every control or format
   character such as the zero-width joiner or the soft hyphen, turns all whitespace
   into spaces), puts spaces around CJK ideographs, splits on whitespace, then for an
   uncased vocabulary lower-cases and strips accents (NFD, then drop the combining
   marks, category Mn) and splits off every punctuation character (ASCII symbols and
   Unicode category P*) as a token of its own.
2. WordPiece splits each of those words greedily, longest match first, into pieces of
   the vocabulary; a piece that continues a word is written with ``##``. A word that no
   sequence of pieces can cover, or that is longer than ``max_input_chars_per_word``
   characters, becomes ``[UNK]``.

With the embedded default's vocabulary (the 30,522-token uncased BERT vocabulary) the
classic example comes out as ``"unaffable" -> ["una", "##ffa", "##ble"]``, not as the
``un ##aff ##able`` of the original paper's code comments: greedy longest match takes
"una" first because "una" is in this vocabulary.

``WordPieceTokenizer`` adds the special tokens (``[CLS] A [SEP]`` or
``[CLS] A [SEP] B [SEP]`` with ``token_type_ids`` 0 for A and 1 for B), truncation
(``longest_first``, ``only_first``, ``only_second``), padding, attention masks and
decoding. It gives the same tokens and ids as transformers' ``BertTokenizer`` on the
same ``vocab.txt``. Where transformers' Python tokenizer and its Rust ("fast") one
disagree we follow the Python one, which is what this file mirrors:

* Greek capital sigma at the end of a word lower-cases to the final form ``ς`` (Python's
  ``str.lower``); the Rust tokenizer lower-cases letter by letter and gives ``σ``.
* ``decode`` joins the tokens with spaces, glues ``##`` pieces to the piece before, and,
  with ``clean_up_tokenization_spaces=True`` (the default), removes the space before
  ``. , ! ?`` and inside ``n't 'm 's 've 're`` and `` ' ``, over the whole string; the
  Rust decoder cleans up token by token and so leaves ``don ' t``.
* ``longest_first`` truncation of a pair removes one token at a time from the longer
  sequence, from the second on a tie, so when both are long the first keeps the odd
  token (62 + 63 tokens -> 63 + 62 for a budget of 125); the Rust code gives the second
  the odd token instead.

Encoding is fast because every distinct word is split once and cached (word -> ids).

``WordPieceTokenizer.train`` learns a new vocabulary from a corpus: start from the
characters, then repeatedly merge the adjacent pair of symbols with the highest
likelihood score ``count(ab) / (count(a) * count(b))``.

Left out: offsets mappings, overflowing tokens and strides, ``pad_to_multiple_of``, left
padding, added (user-defined) tokens, ``do_basic_tokenize=False``, the Rust fast path and
the byte-level fallback of later models.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain, pairwise
from pathlib import Path

import torch

# -----------------------------------------------------------------------------
# characters: what BERT calls whitespace, control, punctuation and CJK


def is_whitespace(char: str) -> bool:
    """Space, tab, newline, carriage return or a Unicode space separator (Zs)."""
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
    """Any "other" character (Cc, Cf, Cn, Co, Cs) except tab, newline, carriage return."""
    if char in "\t\n\r":
        return False
    return unicodedata.category(char).startswith("C")


def is_punctuation(char: str) -> bool:
    """Every non-alphanumeric printable ASCII character, and Unicode punctuation (P*)."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True  # ASCII symbols such as $ + < = > ^ ` | ~ count as punctuation too
    return unicodedata.category(char).startswith("P")


# The CJK Unified Ideographs blocks (and their compatibility blocks). Hiragana, katakana
# and hangul are not in them: they are written with spaces or are split by WordPiece.
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def is_cjk(char: str) -> bool:
    cp = ord(char)
    return any(low <= cp <= high for low, high in CJK_RANGES)


def strip_accents(text: str) -> str:
    """Decompose (NFD), then drop the combining marks: 'café' -> 'cafe'."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


class _CleaningTable(dict):
    """A ``str.translate`` table filled on demand: code point -> replacement.

    Control characters map to None (deleted), whitespace to a space, CJK ideographs to
    themselves with a space either side; everything else to itself.
    """

    def __init__(self, tokenize_chinese_chars: bool):
        super().__init__()
        self.tokenize_chinese_chars = tokenize_chinese_chars

    def __missing__(self, cp: int) -> str | int | None:
        char = chr(cp)
        if cp == 0 or cp == 0xFFFD or is_control(char):
            value = None
        elif is_whitespace(char):
            value = " "
        elif self.tokenize_chinese_chars and is_cjk(char):
            value = f" {char} "
        else:
            value = cp
        self[cp] = value
        return value


_CLEANING_TABLES = {flag: _CleaningTable(flag) for flag in (True, False)}


class BasicTokenizer:
    """Cleaning, whitespace splitting, lower-casing, accent stripping, punctuation splits."""

    def __init__(
        self,
        do_lower_case: bool = True,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        never_split: Iterable[str] = (),
    ):
        self.do_lower_case = do_lower_case
        # None means "follow do_lower_case", as in the original BERT.
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.never_split = frozenset(never_split)
        self._table = _CLEANING_TABLES[bool(tokenize_chinese_chars)]

    def clean(self, text: str) -> str:
        """Drop control characters, whitespace -> ' ', spaces around CJK ideographs."""
        return text.translate(self._table)

    def normalize(self, word: str) -> str:
        """One whitespace-separated word -> its NFC, lower-cased, accent-free form."""
        if word in self.never_split:
            return word
        word = unicodedata.normalize("NFC", word)
        if self.do_lower_case:
            word = word.lower()  # per word, so a final Σ becomes ς as Python decides
            if self.strip_accents is not False:
                word = strip_accents(word)
        elif self.strip_accents:
            word = strip_accents(word)
        return word

    @staticmethod
    def split_on_punctuation(word: str) -> list[str]:
        """'hello,world!' -> ['hello', ',', 'world', '!']"""
        pieces, current = [], []
        for char in word:
            if is_punctuation(char):
                if current:
                    pieces.append("".join(current))
                    current = []
                pieces.append(char)
            else:
                current.append(char)
        if current:
            pieces.append("".join(current))
        return pieces

    def split_word(self, word: str) -> list[str]:
        """A whitespace-separated word of cleaned text -> the basic tokens it holds."""
        if word in self.never_split:
            return [word]
        return self.split_on_punctuation(self.normalize(word))

    def tokenize(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return [token for word in self.clean(text).split() for token in self.split_word(word)]


# -----------------------------------------------------------------------------
# what the tokenizer returns


class BatchEncoding(dict):
    """``input_ids``, ``token_type_ids`` and ``attention_mask``, as keys or attributes."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to(self, device) -> BatchEncoding:
        """Move every tensor to ``device`` (a new BatchEncoding)."""
        return BatchEncoding(
            {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self.items()}
        )


@dataclass
class TokenizationSteps:
    """Every stage of one tokenization, for reading (``print(steps)``) or checking."""

    text: str  # the input (for a pair: the two texts joined by " | ")
    cleaned: str  # after cleaning, CJK spacing, lower-casing and accent stripping
    words: list[str]  # the basic tokenizer's output
    pieces: list[list[str]]  # the WordPiece pieces of each word
    tokens: list[str]  # all pieces with [CLS] and [SEP]
    ids: list[int]  # the token ids

    def __str__(self) -> str:
        lines = [f"text:    {self.text!r}", f"cleaned: {self.cleaned!r}"]
        width = max([len("word"), *(len(w) for w in self.words)])
        piece_text = [" ".join(p) for p in self.pieces]
        piece_width = max([len("pieces"), *(len(p) for p in piece_text)])
        lines.append(f"{'word':<{width}}  {'pieces':<{piece_width}}  ids")
        ids = iter(
            i for t, i in zip(self.tokens, self.ids, strict=True) if t not in ("[CLS]", "[SEP]")
        )
        for word, pieces, text in zip(self.words, self.pieces, piece_text, strict=True):
            piece_ids = " ".join(str(next(ids)) for _ in pieces)
            lines.append(f"{word:<{width}}  {text:<{piece_width}}  {piece_ids}")
        lines.append("tokens:  " + " ".join(self.tokens))
        lines.append("ids:     " + " ".join(map(str, self.ids)))
        return "\n".join(lines)


# -----------------------------------------------------------------------------
# the tokenizer

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")
CLEANUPS = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


def load_vocab(path: str | os.PathLike) -> dict[str, int]:
    """vocab.txt (one token a line, the line number is the id) -> {token: id}."""
    vocab: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            vocab[line.rstrip("\n")] = index
    return vocab


class _WordCache(dict):
    """word -> tuple, computed on a miss; emptied when it holds ``max_size`` words."""

    def __init__(self, compute, max_size: int):
        super().__init__()
        self.compute = compute
        self.max_size = max_size

    def __missing__(self, word: str) -> tuple:
        if len(self) >= self.max_size:
            self.clear()
        value = self[word] = self.compute(word)
        return value


def _check_int(name: str, value, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


class WordPieceTokenizer:
    """BERT's WordPiece tokenizer with the call conventions of transformers' BertTokenizer."""

    def __init__(
        self,
        vocab: str | os.PathLike | dict[str, int],
        do_lower_case: bool = True,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        max_input_chars_per_word: int = 100,
        model_max_length: int = 512,
        cache_size: int = 1 << 17,
    ):
        if isinstance(vocab, (str, os.PathLike)):
            vocab = load_vocab(vocab)
        elif not isinstance(vocab, dict):
            raise TypeError(
                f"vocab must be a path to vocab.txt or a dict[str, int], got {type(vocab).__name__}"
            )
        missing = [t for t in SPECIAL_TOKENS if t not in vocab]
        if missing:
            raise ValueError(f"vocab lacks the special token(s) {', '.join(missing)}")
        _check_int("max_input_chars_per_word", max_input_chars_per_word, 1)
        _check_int("model_max_length", model_max_length, 2)
        self.vocab = dict(vocab)
        self.ids_to_tokens = {i: t for t, i in self.vocab.items()}
        if len(self.ids_to_tokens) != len(self.vocab):
            raise ValueError("vocab maps two tokens to the same id")
        self.do_lower_case = do_lower_case
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.max_input_chars_per_word = max_input_chars_per_word
        self.model_max_length = model_max_length
        self.pad_token, self.unk_token, self.cls_token, self.sep_token, self.mask_token = (
            SPECIAL_TOKENS
        )
        self.pad_token_id = self.vocab[self.pad_token]
        self.unk_token_id = self.vocab[self.unk_token]
        self.cls_token_id = self.vocab[self.cls_token]
        self.sep_token_id = self.vocab[self.sep_token]
        self.mask_token_id = self.vocab[self.mask_token]
        self.all_special_ids = frozenset(self.vocab[t] for t in SPECIAL_TOKENS)
        self.basic_tokenizer = BasicTokenizer(
            do_lower_case, strip_accents, tokenize_chinese_chars, never_split=SPECIAL_TOKENS
        )
        # Special tokens written in the text ("Paris is the [MASK] of France.") stay whole.
        self._special_pattern = re.compile("(" + "|".join(map(re.escape, SPECIAL_TOKENS)) + ")")
        # No piece is longer than this, so WordPiece need not try longer substrings.
        self._longest_piece = max(len(t.removeprefix("##")) for t in self.vocab)
        self._word_tokens = _WordCache(self._split_word, cache_size)
        self._word_ids = _WordCache(self._word_to_ids, cache_size)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike | None = None, **kwargs):
        """The tokenizer of a Hugging Face-format directory (None: the embedded default)."""
        from bertguide.pretrained import find_file, resolve

        directory = resolve(name_or_path)
        options = {}
        config_path = Path(directory) / "tokenizer_config.json"
        if config_path.is_file():
            config = json.loads(config_path.read_text(encoding="utf-8"))
            for key in ("do_lower_case", "strip_accents", "tokenize_chinese_chars"):
                if key in config:
                    options[key] = config[key]
            # transformers writes a huge number when the limit is unknown: ignore that
            if isinstance(config.get("model_max_length"), int) and (
                2 <= config["model_max_length"] <= 1_000_000
            ):
                options["model_max_length"] = config["model_max_length"]
        options.update(kwargs)
        return cls(find_file(directory, "vocab.txt"), **options)

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return (
            f"WordPieceTokenizer(vocab_size={len(self)}, do_lower_case={self.do_lower_case}, "
            f"model_max_length={self.model_max_length})"
        )

    # --- text -> tokens ------------------------------------------------------------

    def wordpiece(self, word: str) -> list[str]:
        """Greedy longest-match-first split of one basic token: 'unaffable' -> pieces."""
        if len(word) > self.max_input_chars_per_word:
            return [self.unk_token]
        pieces, start = [], 0
        while start < len(word):
            end = min(len(word), start + self._longest_piece)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            else:  # no piece of the vocabulary starts here: the whole word is unknown
                return [self.unk_token]
            pieces.append(piece)
            start = end
        return pieces

    def _split_word(self, word: str) -> tuple[str, ...]:
        # one whitespace-separated word of cleaned text -> all its pieces
        pieces = []
        for token in self.basic_tokenizer.split_word(word):
            pieces.extend([token] if token in SPECIAL_TOKENS else self.wordpiece(token))
        return tuple(pieces)

    def _word_to_ids(self, word: str) -> tuple[int, ...]:
        return tuple(self.vocab[piece] for piece in self._word_tokens[word])

    def _segments(self, text: str) -> list[tuple[bool, str]]:
        # text -> [(is_special_token, part)], special tokens written in the text cut out
        if "[" not in text:
            return [(False, text)]
        parts = self._special_pattern.split(text)
        return [(i % 2 == 1, part) for i, part in enumerate(parts) if part]

    def _lookup(self, text: str, cache: _WordCache, special) -> list:
        out = []
        for is_special, part in self._segments(text):
            if is_special:
                out.append(special(part))
            else:
                words = self.basic_tokenizer.clean(part).split()
                out.extend(chain.from_iterable(map(cache.__getitem__, words)))
        return out

    def tokenize(self, text: str) -> list[str]:
        """'Unaffable!' -> ['una', '##ffa', '##ble', '!'] (no special tokens added)."""
        _check_text("text", text)
        return self._lookup(text, self._word_tokens, str)

    def _text_to_ids(self, text: str) -> list[int]:
        if "[" not in text:  # the common case, kept short
            words = self.basic_tokenizer.clean(text).split()
            return list(chain.from_iterable(map(self._word_ids.__getitem__, words)))
        return self._lookup(text, self._word_ids, self.vocab.__getitem__)

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | list[int]:
        """Token(s) -> id(s); a token not in the vocabulary gives the id of [UNK]."""
        if isinstance(tokens, str):
            return self.vocab.get(tokens, self.unk_token_id)
        return [self.vocab.get(token, self.unk_token_id) for token in tokens]

    def convert_ids_to_tokens(self, ids: int | list[int]) -> str | list[str]:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        if isinstance(ids, int):
            return self._id_to_token(ids)
        return [self._id_to_token(i) for i in ids]

    def _id_to_token(self, index: int) -> str:
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"ids must hold ints, got {type(index).__name__}")
        try:
            return self.ids_to_tokens[index]
        except KeyError:
            raise ValueError(f"id {index} is not in the vocabulary (0..{len(self) - 1})") from None

    # --- tokens -> model inputs -----------------------------------------------------

    def _truncate(
        self, ids: list[int], pair: list[int] | None, strategy: str, max_length: int, n_special: int
    ) -> tuple[list[int], list[int] | None]:
        if max_length <= n_special:
            raise ValueError(
                f"max_length={max_length} leaves no room for text: the special tokens alone "
                f"take {n_special}; pass max_length >= {n_special + 1}"
            )
        excess = len(ids) + (len(pair) if pair is not None else 0) + n_special - max_length
        if excess <= 0:
            return ids, pair
        if pair is None and strategy == "only_second":
            raise ValueError("truncation='only_second' needs a text_pair")
        if pair is None or strategy == "only_first":
            if excess >= len(ids):
                raise ValueError(
                    f"the first sequence has {len(ids)} tokens, too few to remove {excess}; "
                    f"use truncation='longest_first' or a larger max_length"
                )
            return ids[: len(ids) - excess], pair
        if strategy == "only_second":
            if excess >= len(pair):
                raise ValueError(
                    f"the second sequence has {len(pair)} tokens, too few to remove {excess}; "
                    f"use truncation='longest_first' or a larger max_length"
                )
            return ids, pair[: len(pair) - excess]
        # longest_first: remove one token at a time from the longer sequence, from the
        # second on a tie. Done in one step: first even out the lengths, then share the
        # rest, the second sequence taking the odd one.
        n_first, n_second = len(ids), len(pair)
        even_out = min(abs(n_first - n_second), excess)
        shared = excess - even_out
        if n_first > n_second:
            n_first -= even_out
        else:
            n_second -= even_out
        n_first -= shared // 2
        n_second -= shared - shared // 2
        return ids[:n_first], pair[:n_second]

    def _build(
        self,
        text: str,
        text_pair: str | None,
        add_special_tokens: bool,
        truncation: str,
        max_length: int | None,
    ) -> tuple[list[int], list[int]]:
        # one example -> (input_ids, token_type_ids), special tokens added, truncated
        ids = self._text_to_ids(text)
        pair = self._text_to_ids(text_pair) if text_pair is not None else None
        n_special = (2 if pair is None else 3) if add_special_tokens else 0
        if truncation != "do_not_truncate":
            ids, pair = self._truncate(ids, pair, truncation, max_length, n_special)
        if add_special_tokens:
            input_ids = [self.cls_token_id, *ids, self.sep_token_id]
            type_ids = [0] * len(input_ids)
            if pair is not None:
                input_ids += [*pair, self.sep_token_id]
                type_ids += [1] * (len(pair) + 1)
        else:
            input_ids = ids + (pair or [])
            type_ids = [0] * len(ids) + [1] * len(pair or [])
        if truncation == "do_not_truncate" and len(input_ids) > self.model_max_length:
            raise ValueError(
                f"the sequence has {len(input_ids)} tokens, more than the model's "
                f"model_max_length={self.model_max_length}: pass truncation=True (and "
                f"max_length) to cut it"
            )
        return input_ids, type_ids

    def _truncation_strategy(self, truncation, max_length) -> tuple[str, int | None]:
        if truncation is True:
            truncation = "longest_first"
        elif truncation is False or truncation is None:
            truncation = "do_not_truncate"
        if truncation not in TRUNCATION_STRATEGIES:
            raise ValueError(
                f"truncation must be True, False or one of {', '.join(TRUNCATION_STRATEGIES)}; "
                f"got {truncation!r}"
            )
        if max_length is not None:
            _check_int("max_length", max_length, 1)
        elif truncation != "do_not_truncate":
            max_length = self.model_max_length
        return truncation, max_length

    def encode(
        self,
        text: str,
        text_pair: str | None = None,
        add_special_tokens: bool = True,
        truncation: bool | str = False,
        max_length: int | None = None,
    ) -> list[int]:
        """Text (and optional pair) -> ids: [CLS] text [SEP] (pair [SEP])."""
        _check_text("text", text)
        if text_pair is not None:
            _check_text("text_pair", text_pair)
        truncation, max_length = self._truncation_strategy(truncation, max_length)
        return self._build(text, text_pair, add_special_tokens, truncation, max_length)[0]

    def __call__(
        self,
        text: str | list[str],
        text_pair: str | list[str] | None = None,
        padding: bool | str = False,
        truncation: bool | str = False,
        max_length: int | None = None,
        return_tensors: str | None = "pt",
        add_special_tokens: bool = True,
    ) -> BatchEncoding:
        """Text(s) -> BatchEncoding of input_ids, token_type_ids, attention_mask [B, T]."""
        texts = _as_batch("text", text)
        pairs = None
        if text_pair is not None:
            pairs = _as_batch("text_pair", text_pair)
            if len(pairs) != len(texts):
                raise ValueError(
                    f"text_pair must give one pair per text: {len(texts)} texts, {len(pairs)} pairs"
                )
        if padding is True:
            padding = "longest"
        elif padding is False or padding is None:
            padding = "do_not_pad"
        if padding not in PADDING_STRATEGIES:
            raise ValueError(
                f"padding must be True, False, 'longest', 'max_length' or 'do_not_pad'; "
                f"got {padding!r}"
            )
        if return_tensors not in ("pt", None):
            raise ValueError(f"return_tensors must be 'pt' or None, got {return_tensors!r}")
        truncation, max_length = self._truncation_strategy(truncation, max_length)

        rows = [
            self._build(t, pairs[i] if pairs else None, add_special_tokens, truncation, max_length)
            for i, t in enumerate(texts)
        ]
        lengths = [len(ids) for ids, _ in rows]
        if padding == "max_length":
            target = max_length if max_length is not None else self.model_max_length
            if max(lengths) > target:
                raise ValueError(
                    f"a sequence has {max(lengths)} tokens, more than max_length={target}: "
                    f"pass truncation=True to cut it to max_length"
                )
        elif padding == "longest":
            target = max(lengths)
        else:
            target = None
            if return_tensors == "pt" and len(set(lengths)) > 1:
                raise ValueError(
                    f"the texts give sequences of different lengths {sorted(set(lengths))}: "
                    f"pass padding=True to build a tensor (or return_tensors=None for lists)"
                )
        input_ids, token_type_ids, attention_mask = [], [], []
        for (ids, type_ids), n in zip(rows, lengths, strict=True):
            pad = (target - n) if target is not None else 0
            input_ids.append(ids + [self.pad_token_id] * pad)
            token_type_ids.append(type_ids + [0] * pad)
            attention_mask.append([1] * n + [0] * pad)
        out = {
            "input_ids": input_ids,  # (B, T)
            "token_type_ids": token_type_ids,  # (B, T)
            "attention_mask": attention_mask,  # (B, T)
        }
        if return_tensors == "pt":
            out = {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}
        return BatchEncoding(out)

    # --- ids -> text ----------------------------------------------------------------

    def decode(
        self,
        ids,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool = True,
    ) -> str:
        """Ids -> text: pieces joined, '##' glued on, spaces before punctuation removed."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() > 1:
                raise ValueError(f"ids must be one sequence (1-D), got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        if isinstance(ids, int):
            ids = [ids]
        if not isinstance(ids, (list, tuple)):
            raise TypeError(f"ids must be a list of ints or a 1-D tensor, got {type(ids).__name__}")
        tokens = [
            self._id_to_token(i)
            for i in ids
            if not (skip_special_tokens and i in self.all_special_ids)
        ]
        text = " ".join(tokens).replace(" ##", "").strip()
        if clean_up_tokenization_spaces:
            for before, after in CLEANUPS:
                text = text.replace(before, after)
        return text

    # --- show your work -------------------------------------------------------------

    def show_your_work(self, text: str, text_pair: str | None = None) -> TokenizationSteps:
        """Every stage of tokenizing ``text`` (and ``text_pair``); print it to read it."""
        _check_text("text", text)
        texts = [text] if text_pair is None else [text, _check_text("text_pair", text_pair)]
        cleaned, words, tokens = [], [], [self.cls_token]
        for part_text in texts:
            part_clean = []
            for is_special, part in self._segments(part_text):
                if is_special:
                    part_clean.append(part)
                    words.append(part)
                    continue
                for word in self.basic_tokenizer.clean(part).split():
                    part_clean.append(self.basic_tokenizer.normalize(word))
                    words.extend(self.basic_tokenizer.split_word(word))
            cleaned.append(" ".join(part_clean))
        pieces = [[w] if w in SPECIAL_TOKENS else self.wordpiece(w) for w in words]
        n_first = len(self.tokenize(text))
        flat = [p for ps in pieces for p in ps]
        tokens += [*flat[:n_first], self.sep_token]
        if text_pair is not None:
            tokens += [*flat[n_first:], self.sep_token]
        return TokenizationSteps(
            text=" | ".join(texts),
            cleaned=" | ".join(cleaned),
            words=words,
            pieces=pieces,
            tokens=tokens,
            ids=[self.vocab[t] for t in tokens],
        )

    # --- saving and training --------------------------------------------------------

    def save_vocabulary(self, directory: str | os.PathLike) -> Path:
        """Write vocab.txt (one token a line, in id order) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "vocab.txt"
        ordered = sorted(self.vocab.items(), key=lambda item: item[1])
        if [i for _, i in ordered] != list(range(len(ordered))):
            raise ValueError("the vocabulary ids are not 0..n-1, so vocab.txt cannot hold them")
        path.write_text("".join(f"{token}\n" for token, _ in ordered), encoding="utf-8")
        return path

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """vocab.txt and tokenizer_config.json, readable by from_pretrained and transformers."""
        self.save_vocabulary(directory)
        config = {
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": self.do_lower_case,
            "strip_accents": self.strip_accents,
            "tokenize_chinese_chars": self.tokenize_chinese_chars,
            "model_max_length": self.model_max_length,
            **{name: token for name, token in zip(_SPECIAL_NAMES, SPECIAL_TOKENS, strict=True)},
        }
        (Path(directory) / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
        return Path(directory)

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int = 3000,
        min_frequency: int = 2,
        limit_alphabet: int | None = 500,
        do_lower_case: bool = True,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        score: str = "likelihood",
        **kwargs,
    ) -> WordPieceTokenizer:
        """Learn a WordPiece vocabulary of ``vocab_size`` tokens from ``texts``.

        The texts go through the same BasicTokenizer; ``limit_alphabet`` keeps the most
        frequent characters (rarer ones end up as [UNK]); ``min_frequency`` is the
        fewest times a pair must occur to be merged. The likelihood score favours rare
        pairs, so with ``min_frequency=2`` a small corpus spends much of the vocabulary
        on rare whole words; ``min_frequency`` around 10 gives common words their own
        tokens first. ``score="frequency"`` merges the most frequent pair instead (BPE).
        """
        if score not in ("likelihood", "frequency"):
            raise ValueError(f"score must be 'likelihood' or 'frequency', got {score!r}")
        if isinstance(texts, str):
            raise TypeError("texts must be an iterable of str, not one str")
        _check_int("vocab_size", vocab_size, len(SPECIAL_TOKENS) + 1)
        _check_int("min_frequency", min_frequency, 1)
        if limit_alphabet is not None:
            _check_int("limit_alphabet", limit_alphabet, 1)
        basic = BasicTokenizer(do_lower_case, strip_accents, tokenize_chinese_chars)
        word_counts: Counter[str] = Counter()
        n_texts = 0
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"texts must hold str, got {type(text).__name__}")
            word_counts.update(basic.tokenize(text))
            n_texts += 1
        if not word_counts:
            raise ValueError(f"texts hold no words to learn from ({n_texts} texts)")
        tokens = learn_wordpiece(word_counts, vocab_size, min_frequency, limit_alphabet, score)
        vocab = {token: i for i, token in enumerate(tokens)}
        return cls(
            vocab,
            do_lower_case=do_lower_case,
            strip_accents=strip_accents,
            tokenize_chinese_chars=tokenize_chinese_chars,
            **kwargs,
        )


_SPECIAL_NAMES = ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token")


def _check_text(name: str, text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    return text


def _as_batch(name: str, text) -> list[str]:
    if isinstance(text, str):
        return [text]
    if not isinstance(text, (list, tuple)):
        raise TypeError(f"{name} must be a str or a list of str, got {type(text).__name__}")
    if not text:
        raise ValueError(f"{name} is an empty list: pass at least one text")
    for item in text:
        _check_text(f"every item of {name}", item)
    return list(text)


# -----------------------------------------------------------------------------
# training: likelihood-scored merges


def learn_wordpiece(
    word_counts: dict[str, int],
    vocab_size: int,
    min_frequency: int = 2,
    limit_alphabet: int | None = None,
    score: str = "likelihood",
) -> list[str]:
    """Word counts -> a WordPiece vocabulary (special tokens, alphabet, merged pieces).

    Every word starts as its characters, the first bare and the rest as ``##c``. Each
    step merges the adjacent pair (a, b) with the highest score
    ``count(ab) / (count(a) * count(b))``: the pair whose joining most raises the
    likelihood of the corpus under a unigram model of the pieces, which prefers pairs
    whose parts rarely occur apart. Stops at ``vocab_size`` tokens or when no pair
    occurs ``min_frequency`` times.

    ``score="frequency"`` merges the most frequent pair instead, as byte-pair encoding
    does (and as the WordPiece trainer of the ``tokenizers`` library does): common words
    become single tokens sooner, where the likelihood score first spends the vocabulary
    on rare words whose letters always occur together.
    """
    if score not in ("likelihood", "frequency"):
        raise ValueError(f"score must be 'likelihood' or 'frequency', got {score!r}")
    by_frequency = score == "frequency"
    char_counts: Counter[str] = Counter()
    for word, count in word_counts.items():
        for char in word:
            char_counts[char] += count
    alphabet = {c for c, _ in char_counts.most_common(limit_alphabet)}

    # symbols of each word; a word with a character outside the alphabet is left out
    words, counts = [], []
    for word, count in word_counts.items():
        if all(c in alphabet for c in word):
            words.append([word[0]] + ["##" + c for c in word[1:]])
            counts.append(count)

    vocab = list(SPECIAL_TOKENS)
    seen = set(vocab)
    initial: Counter[str] = Counter()
    for symbols, n in zip(words, counts, strict=True):
        for symbol in symbols:
            initial[symbol] += n
    for symbol, _ in sorted(initial.items(), key=lambda item: (-item[1], item[0])):
        if symbol not in seen:
            vocab.append(symbol)
            seen.add(symbol)
    vocab = vocab[:vocab_size]

    symbol_count: Counter[str] = Counter(initial)
    pair_count: Counter[tuple[str, str]] = Counter()
    pair_words: dict[tuple[str, str], set[int]] = {}  # pair -> words that hold it
    pairs_of: dict[str, set[tuple[str, str]]] = {}  # symbol -> pairs it is part of

    def add_word(index: int, sign: int) -> set[tuple[str, str]]:
        symbols, n = words[index], counts[index] * sign
        touched = set()
        for pair in pairwise(symbols):
            pair_count[pair] += n
            touched.add(pair)
            if sign > 0:
                pair_words.setdefault(pair, set()).add(index)
                pairs_of.setdefault(pair[0], set()).add(pair)
                pairs_of.setdefault(pair[1], set()).add(pair)
        return touched

    for index in range(len(words)):
        add_word(index, +1)

    def pair_score(pair: tuple[str, str]) -> float:
        if by_frequency:
            return float(pair_count[pair])
        return pair_count[pair] / (symbol_count[pair[0]] * symbol_count[pair[1]])

    heap = [(-pair_score(p), p) for p, n in pair_count.items() if n >= min_frequency]
    heapq.heapify(heap)
    while len(vocab) < vocab_size and heap:
        negative_score, pair = heapq.heappop(heap)
        if pair_count[pair] < min_frequency or -negative_score != pair_score(pair):
            continue  # stale: the pair's count changed and a fresh entry was pushed
        a, b = pair
        merged = a + b.removeprefix("##")
        touched = set()
        for index in pair_words.pop(pair):
            symbols = words[index]
            if not any(p == pair for p in pairwise(symbols)):
                continue
            touched |= add_word(index, -1)
            new, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
                    new.append(merged)
                    symbol_count[a] -= counts[index]
                    symbol_count[b] -= counts[index]
                    symbol_count[merged] += counts[index]
                    i += 2
                else:
                    new.append(symbols[i])
                    i += 1
            words[index] = new
            touched |= add_word(index, +1)
        if merged not in seen:
            vocab.append(merged)
            seen.add(merged)
        # every pair whose count, or whose parts' counts, changed gets a fresh score
        for symbol in (a, b, merged):
            touched |= pairs_of.get(symbol, set())
        for p in touched:
            if pair_count[p] >= min_frequency:
                heapq.heappush(heap, (-pair_score(p), p))
    return vocab
