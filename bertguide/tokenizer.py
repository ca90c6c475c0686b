"""BERT's tokenizer: text -> basic tokens -> WordPiece pieces -> ids, written out.

Two stages, as in the original BERT code:

1. ``BasicTokenizer`` (in ``bertguide.basic_tokenizer``) cleans the text (drops NUL,
   U+FFFD and every control or format character such as the zero-width joiner or the
   soft hyphen, turns all whitespace into spaces), puts spaces around CJK ideographs,
   splits on whitespace, then for an uncased vocabulary lower-cases and strips accents
   (NFD, then drop the combining marks, category Mn) and splits off every punctuation
   character (ASCII symbols and Unicode category P*) as a token of its own.
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

Learning a new vocabulary from a corpus is in ``bertguide.wordpiece_training``.

What a call returns, ``BatchEncoding``, and truncation are in ``bertguide.encoding``;
offsets, word ids and overflowing windows in ``bertguide.offsets``. Left out:
``pad_to_multiple_of``, left padding, added (user-defined) tokens,
``do_basic_tokenize=False``, the Rust fast path and byte-level fallback of later models.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path

import torch

from bertguide.basic_tokenizer import BasicTokenizer
from bertguide.checks import check_int, check_str
from bertguide.encoding import BatchEncoding, truncate
from bertguide.offsets import attach, encode_rows, word_spans
from bertguide.pretrained import find_file, resolve


@dataclass
class TokenizationSteps:
    """Every stage of one tokenization, for reading (``print(steps)``) or checking.

    >>> steps = WordPieceTokenizer.from_pretrained().show_your_work("Unaffable!")
    >>> steps.words, steps.pieces
    (['unaffable', '!'], [['una', '##ffa', '##ble'], ['!']])
    >>> steps.tokens, steps.ids
    (['[CLS]', 'una', '##ffa', '##ble', '!', '[SEP]'], [101, 14477, 20961, 3468, 999, 102])
    """

    text: str  # the input (for a pair: the two texts joined by " | ")
    cleaned: str  # after cleaning, CJK spacing, lower-casing and accent stripping
    words: list[str]  # the basic tokenizer's output
    pieces: list[list[str]]  # the WordPiece pieces of each word
    tokens: list[str]  # all pieces with [CLS] and [SEP]
    ids: list[int]  # the token ids
    piece_ids: list[list[int]]  # the ids of each word's pieces

    def __str__(self) -> str:
        lines = [f"text:    {self.text!r}", f"cleaned: {self.cleaned!r}"]
        width = max([len("word"), *(len(w) for w in self.words)])
        piece_text = [" ".join(p) for p in self.pieces]
        piece_width = max([len("pieces"), *(len(p) for p in piece_text)])
        lines.append(f"{'word':<{width}}  {'pieces':<{piece_width}}  ids")
        for word, text, ids in zip(self.words, piece_text, self.piece_ids, strict=True):
            lines.append(f"{word:<{width}}  {text:<{piece_width}}  {' '.join(map(str, ids))}")
        lines.append("tokens:  " + " ".join(self.tokens))
        lines.append("ids:     " + " ".join(map(str, self.ids)))
        return "\n".join(lines)


# -----------------------------------------------------------------------------
# the tokenizer

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# The strategies by name: the first is what True means, the last what False means.
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


def _strategy(name: str, value, allowed: tuple[str, ...]) -> str:
    """``padding`` or ``truncation`` as a strategy's name: True is the first of
    ``allowed``, False or None the last (do nothing), a name of ``allowed`` itself;
    anything else is refused, naming the argument and what it may be."""
    if value is True:
        return allowed[0]
    if value is False or value is None:
        return allowed[-1]
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(map(repr, allowed))
        raise ValueError(f"{name} must be True, False or one of {choices}; got {value!r}")
    return value


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


def _as_batch(name: str, text) -> list[str]:
    """One text or a non-empty list of texts -> a list of texts."""
    if isinstance(text, str):
        return [text]
    if not isinstance(text, (list, tuple)):
        raise TypeError(f"{name} must be a str or a list of str, got {type(text).__name__}")
    if not text:
        raise ValueError(f"{name} is an empty list: pass at least one text")
    for item in text:
        check_str(f"every item of {name}", item)
    return list(text)


class WordPieceTokenizer:
    """BERT's WordPiece tokenizer with the call conventions of transformers' BertTokenizer.

    Text -> WordPiece tokens -> ids; a call on a list of texts returns a ``BatchEncoding``
    of LongTensors (B, T): ``input_ids``, ``token_type_ids``, ``attention_mask``.

    >>> tok = WordPieceTokenizer.from_pretrained()  # the embedded uncased vocabulary
    >>> len(tok), tok.tokenize("My dog Fido is cute.")
    (30522, ['my', 'dog', 'fi', '##do', 'is', 'cute', '.'])
    >>> batch = tok(["a cat", "the dog sat"], padding=True)
    >>> tuple(batch["input_ids"].shape), batch["attention_mask"].tolist()  # (B, T)
    ((2, 5), [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    """

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
        check_int("max_input_chars_per_word", max_input_chars_per_word, 1)
        check_int("model_max_length", model_max_length, 2)
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
        self._word_spans = _WordCache(partial(word_spans, self), cache_size)  # for offsets

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike | None = None, **kwargs):
        """The tokenizer of a Hugging Face-format directory (None: the embedded default)."""
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

    def word_spans(self, word: str) -> tuple[tuple[int, int, int, int], ...]:
        """One word of cleaned text -> (id, start, end, basic token) per piece, cached:
        ``bertguide.offsets.word_spans``, which offsets and word ids are built from.

        >>> WordPieceTokenizer.from_pretrained().word_spans("cats!")   # cats, then !
        ((8870, 0, 4, 0), (999, 4, 5, 1))
        """
        return self._word_spans[word]

    def segments(self, text: str) -> list[tuple[bool, str]]:
        """Text -> [(is_special_token, part)]: special tokens written in the text cut out.

        >>> WordPieceTokenizer.from_pretrained().segments("Paris is the [MASK].")
        [(False, 'Paris is the '), (True, '[MASK]'), (False, '.')]
        """
        if "[" not in text:
            return [(False, text)]
        parts = self._special_pattern.split(text)
        return [(i % 2 == 1, part) for i, part in enumerate(parts) if part]

    def _lookup(self, text: str, cache: _WordCache, special) -> list:
        out = []
        for is_special, part in self.segments(text):
            if is_special:
                out.append(special(part))
            else:
                words = self.basic_tokenizer.clean(part).split()
                out.extend(chain.from_iterable(map(cache.__getitem__, words)))
        return out

    def tokenize(self, text: str) -> list[str]:
        """'Unaffable!' -> ['una', '##ffa', '##ble', '!'] (no special tokens added)."""
        check_str("text", text)
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
            ids, pair = truncate(ids, pair, truncation, max_length, n_special)
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
        truncation = _strategy("truncation", truncation, TRUNCATION_STRATEGIES)
        if max_length is not None:
            check_int("max_length", max_length, 1)
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
        check_str("text", text)
        if text_pair is not None:
            check_str("text_pair", text_pair)
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
        return_offsets_mapping: bool = False,
        return_overflowing_tokens: bool = False,
        stride: int = 0,
    ) -> BatchEncoding:
        """Text(s) -> BatchEncoding of input_ids, token_type_ids, attention_mask [B, T];
        offset_mapping [B, T, 2], word_ids() and overflowing windows: ``bertguide.offsets``."""
        texts = _as_batch("text", text)
        pairs = None
        if text_pair is not None:
            pairs = _as_batch("text_pair", text_pair)
            if len(pairs) != len(texts):
                raise ValueError(
                    f"text_pair must give one pair per text: {len(texts)} texts, {len(pairs)} pairs"
                )
        padding = _strategy("padding", padding, PADDING_STRATEGIES)
        if return_tensors not in ("pt", None):
            raise ValueError(f"return_tensors must be 'pt' or None, got {return_tensors!r}")
        truncation, max_length = self._truncation_strategy(truncation, max_length)

        args = (add_special_tokens, truncation, max_length)
        wanted = (return_offsets_mapping, return_overflowing_tokens)
        if any(wanted):  # offsets, word ids, windows: see bertguide.offsets
            rows, extras = encode_rows(self, texts, pairs, *args, stride, return_overflowing_tokens)
        else:
            rows = [self._build(t, pairs[i] if pairs else None, *args) for i, t in enumerate(texts)]
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
        if any(wanted):
            return attach(out, extras, target, return_tensors == "pt", wanted)
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
        check_str("text", text)
        texts = [text] if text_pair is None else [text, check_str("text_pair", text_pair)]
        cleaned, words, tokens = [], [], [self.cls_token]
        for part_text in texts:
            part_clean = []
            for is_special, part in self.segments(part_text):
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
            piece_ids=[[self.vocab[p] for p in ps] for ps in pieces],
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


_SPECIAL_NAMES = ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token")
