"""RoBERTa's vocabulary: a byte-level BPE, learned from the offline corpus.

Serves the chapter "The BERT family" (RoBERTa's vocabulary). RoBERTa (Liu et al. 2019,
section 4.4) replaced BERT's 30K WordPiece vocabulary with a byte-level BPE of 50K units,
following GPT-2 (Radford et al. 2019, section 2.2): byte-pair encoding (Sennrich et al.
2016) run on bytes instead of characters. No RoBERTa vocabulary ships offline, so this
module learns one from the guide's corpus, in four steps:

* **bytes** (``BYTE_SYMBOLS``): the text's UTF-8 bytes, each shown as one printable
  character, as GPT-2's code does: a printable byte stands for itself ("a" is "a"), and
  the 68 others (control bytes, the space, ...) borrow the characters from U+0100 on,
  so the space is "Ġ" and a newline "Ċ". Any string of bytes can be written with these
  256 symbols, so nothing is ever unknown;
* **words** (``pretokenize``): GPT-2's pattern cuts the text into runs of letters, of
  digits, or of other symbols, with the space before a run kept at its front
  (" cat" is one word, written "Ġcat"); merges never cross a word's edge, which keeps
  BPE from joining, say, a word and the full stop after it (GPT-2's section 2.2);
* **training** (``train_bpe``): count the words once, then merge the most frequent
  adjacent pair of symbols, again and again; the counts are kept per distinct word
  (the word-frequency trick), so a merge rewrites only the words that hold its pair;
* **encoding** (``ByteBPE.tokenize``): split each word into bytes and apply the learned
  merges in the order they were learned (by rank), the earliest first.

>>> bpe = train_bpe(["low lower lowest"] * 5, num_merges=4)
>>> bpe.merges
[('l', 'o'), ('lo', 'w'), ('low', 'e'), ('Ġ', 'lowe')]
>>> bpe.tokenize("slower lows")  # " lows" never occurred: "Ġ" stays apart
['s', 'lowe', 'r', 'Ġ', 'low', 's']

Left out: RoBERTa's own vocabulary (GPT-2's merges, 50,265 ids with its special
tokens) and its special tokens (<s>, </s>, <pad>, <mask>); a trainer as fast as the
``tokenizers`` library's (this one takes seconds for a few thousand merges of a 2.5 MB
text on one core).
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise

from bertguide.checks import check_int


def _byte_symbols() -> tuple[str, ...]:
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    borrowed = iter(range(0x100, 0x200))  # U+0100 on, for the bytes that do not print
    return tuple(chr(b) if b in printable else chr(next(borrowed)) for b in range(256))


BYTE_SYMBOLS = _byte_symbols()
"""``BYTE_SYMBOLS[b]``: the one-character symbol that shows byte ``b`` (GPT-2's map)."""
SYMBOL_BYTE = {symbol: b for b, symbol in enumerate(BYTE_SYMBOLS)}
_SHOW = dict(enumerate(BYTE_SYMBOLS))  # str.translate's table: byte number -> symbol

# GPT-2's pattern, its \p{L} (letter) and \p{N} (number) written with Python's re: a
# letter is a word character that is neither a digit nor "_" (so a few number signs such
# as "½" count as letters here). English contractions; then runs of letters, of digits,
# or of other symbols, each with the one space before it; a run of spaces gives its
# last space to the word that follows.
_WORD = re.compile(r"'(?:s|t|re|ve|m|ll|d)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+")


def pretokenize(text: str | bytes) -> list[str]:
    """Text -> its words, each written in byte symbols, the space before it as "Ġ".

    A ``bytes`` argument that is not valid UTF-8 is cut the same way, its invalid
    bytes standing as symbols of their own, so every byte string has words.

    >>> pretokenize("The cat's 3 toys!")
    ['The', 'Ġcat', "'s", 'Ġ3', 'Ġtoys', '!']
    >>> pretokenize("café")  # é is two bytes: 0xC3 0xA9, shown as Ã and ©
    ['cafÃ©']
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="surrogateescape")  # invalid byte -> U+DC80..
    if not isinstance(text, str):
        raise TypeError(f"text must be a str or bytes, not {type(text).__name__}")
    # a byte's latin-1 character has the byte's number: the table turns it into its symbol
    return [
        word.encode("utf-8", errors="surrogateescape").decode("latin-1").translate(_SHOW)
        for word in _WORD.findall(text)
    ]


def symbols_to_bytes(symbols: Iterable[str]) -> bytes:
    """The bytes that byte symbols stand for: ``pretokenize``'s inverse.

    >>> symbols_to_bytes(["Ġcaf", "Ã©"]).decode("utf-8")
    ' café'
    """
    return bytes(SYMBOL_BYTE[c] for symbol in symbols for c in symbol)


def merge_pair(symbols: Sequence[str], pair: tuple[str, str]) -> list[str]:
    """Every occurrence of ``pair`` in ``symbols`` joined into one unit, left to right.

    >>> merge_pair(["a", "a", "a", "b"], ("a", "a"))
    ['aa', 'a', 'b']
    """
    merged, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            merged.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return merged


class ByteBPE:
    """A byte-level BPE vocabulary: the 256 bytes, then one unit per merge, in rank order.

    ``merges[r]`` is the pair merged at step ``r`` of training (its rank); the ids are
    the bytes (id ``b`` for byte ``b``), then the merged units in the order they were
    made. ``tokenize`` splits each word into bytes and, as long as two neighbours form
    a learned pair, merges the pair of lowest rank everywhere in the word; a word that
    training never saw still ends up as known units, at worst single bytes.

    >>> bpe = ByteBPE([("b", "c"), ("a", "b")])
    >>> bpe.tokenize("abc")  # "bc" was learned first, so "ab" never forms
    ['a', 'bc']
    >>> bpe.decode(bpe.encode("abc \\N{SANDWICH}"))
    'abc 🥪'
    """

    def __init__(self, merges: Sequence[tuple[str, str]]) -> None:
        self.merges = [tuple(pair) for pair in merges]
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        if len(self.ranks) != len(self.merges):
            raise ValueError("merges holds the same pair twice")
        self.vocab = {symbol: b for b, symbol in enumerate(BYTE_SYMBOLS)}
        for a, b in self.merges:
            if a not in self.vocab or b not in self.vocab:
                raise ValueError(f"merge ({a!r}, {b!r}) joins a unit no earlier merge made")
            self.vocab.setdefault(a + b, len(self.vocab))
        self.units = list(self.vocab)  # id -> unit
        self._cache: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"ByteBPE(256 bytes + {len(self.merges):,} merges = {len(self):,} units)"

    def split_word(self, word: str) -> list[str]:
        """One word, in byte symbols -> its units: merges applied by rank."""
        if word in self._cache:
            return self._cache[word]
        symbols = list(word)
        while len(symbols) > 1:
            pair = min(pairwise(symbols), key=lambda p: self.ranks.get(p, len(self.ranks)))
            if pair not in self.ranks:
                break  # no two neighbours form a learned pair
            symbols = merge_pair(symbols, pair)
        self._cache[word] = symbols
        return symbols

    def tokenize(self, text: str | bytes) -> list[str]:
        """Text -> units in byte symbols ("Ġ" is the space before a word)."""
        return [unit for word in pretokenize(text) for unit in self.split_word(word)]

    def encode(self, text: str | bytes) -> list[int]:
        """Text -> ids (0 to 255 the bytes, then the merged units)."""
        return [self.vocab[unit] for unit in self.tokenize(text)]

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """Ids -> exactly the bytes they stand for."""
        return symbols_to_bytes(self.units[i] for i in ids)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text (a byte that is not valid UTF-8 shows as U+FFFD)."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    @staticmethod
    def readable(units: Iterable[str]) -> list[str]:
        """Units as the text they stand for; a unit that is not whole UTF-8 characters
        as its bytes in hex, between angle brackets.

        >>> ByteBPE([]).tokenize(" é")
        ['Ġ', 'Ã', '©']
        >>> ByteBPE.readable(["Ġ", "Ã", "©", "Ã©"])
        [' ', '<c3>', '<a9>', 'é']
        """
        shown = []
        for unit in units:
            data = symbols_to_bytes([unit])
            try:
                shown.append(data.decode("utf-8"))
            except UnicodeDecodeError:
                shown.append("<" + " ".join(f"{b:02x}" for b in data) + ">")
        return shown


def train_bpe(texts: Iterable[str], num_merges: int = 1000, min_frequency: int = 2) -> ByteBPE:
    """Learn ``num_merges`` merges from ``texts``: each the most frequent pair of the time.

    The words of all texts are counted once (``pretokenize``); each distinct word is
    kept as a list of symbols with its count. A step merges the adjacent pair that
    occurs most often, counting each word as often as it occurs; ties go to the pair
    that sorts first, so training is deterministic. Only the words that hold the pair
    are rewritten, and only their pairs are counted again. Stops early when no pair
    occurs ``min_frequency`` times.

    >>> bpe = train_bpe(["the cat sat on the mat"] * 3, num_merges=4)
    >>> bpe.merges  # "at" 9 times; then "he" and "th" 6 times each, and "h" sorts first
    [('a', 't'), ('h', 'e'), ('t', 'he'), ('c', 'at')]
    >>> bpe
    ByteBPE(256 bytes + 4 merges = 260 units)
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be an iterable of str, not one str")
    check_int("num_merges", num_merges, minimum=0)
    check_int("min_frequency", min_frequency, minimum=1)
    word_counts: Counter[str] = Counter()
    for text in texts:
        word_counts.update(pretokenize(text))
    words = [list(word) for word in word_counts]  # each distinct word, as symbols
    counts = list(word_counts.values())

    pair_count: Counter[tuple[str, str]] = Counter()
    pair_words: dict[tuple[str, str], set[int]] = {}  # pair -> the words that hold it
    for index, symbols in enumerate(words):
        for pair in pairwise(symbols):
            pair_count[pair] += counts[index]
            pair_words.setdefault(pair, set()).add(index)
    heap = [(-n, pair) for pair, n in pair_count.items()]
    heapq.heapify(heap)

    merges: list[tuple[str, str]] = []
    while len(merges) < num_merges and heap:
        negative, pair = heapq.heappop(heap)
        if -negative != pair_count[pair]:  # the count fell since: file it again
            if pair_count[pair] > 0:
                heapq.heappush(heap, (-pair_count[pair], pair))
            continue
        if -negative < min_frequency:
            break
        merges.append(pair)
        unit = pair[0] + pair[1]
        change: Counter[tuple[str, str]] = Counter()
        for index in pair_words.pop(pair):
            old = words[index]
            if pair not in pairwise(old):
                continue  # the word held the pair once; an earlier merge took it
            new = merge_pair(old, pair)
            for p in pairwise(old):
                change[p] -= counts[index]
            for p in pairwise(new):
                change[p] += counts[index]
                if unit in p:  # a pair the word did not hold before
                    pair_words.setdefault(p, set()).add(index)
            words[index] = new
        for p, delta in change.items():
            pair_count[p] += delta
            if delta > 0:  # a count that rose gets a new entry; one that fell, when popped
                heapq.heappush(heap, (-pair_count[p], p))
        del pair_count[pair]
    return ByteBPE(merges)
