"""BERT's first tokenization stage: clean the text and split it into words.

Chapter: Tokenization. ``BasicTokenizer`` cleans the text (drops NUL, U+FFFD and
every control or format character such as the zero-width joiner or the soft hyphen,
turns all whitespace into spaces), puts spaces around CJK ideographs, splits on
whitespace, then for an uncased vocabulary lower-cases and strips accents (NFD, then
drop the combining marks, category Mn) and splits off every punctuation character
(ASCII symbols and Unicode category P*) as a token of its own. The second stage,
WordPiece, is in ``bertguide.tokenizer``.

>>> BasicTokenizer().tokenize("Héllo, World!")
['hello', ',', 'world', '!']

Left out: the rule sets of other models (byte-level BPE, SentencePiece).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

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
    """Cleaning, whitespace splitting, lower-casing, accent stripping, punctuation splits.

    Text -> words (no sub-words yet: that is WordPiece's job).

    >>> BasicTokenizer().tokenize("Héllo, WORLD! Don't.")
    ['hello', ',', 'world', '!', 'don', "'", 't', '.']
    """

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
