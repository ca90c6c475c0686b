"""Learning a WordPiece vocabulary from text, as BERT's vocabulary was learned.

Chapter: Tokenization (the section on where the vocabulary comes from).

``train_wordpiece(texts, vocab_size)`` runs the texts through the same
``BasicTokenizer`` as encoding does, then ``learn_wordpiece`` starts from single
characters (the first of a word bare, the rest as ``##c``) and repeatedly merges the
adjacent pair of symbols with the highest likelihood score
``count(ab) / (count(a) * count(b))``, until the vocabulary is full. The result is an
ordinary ``WordPieceTokenizer``:

>>> tok = train_wordpiece(["low lower lowest"] * 5, vocab_size=30, min_frequency=2)
>>> tok.tokenize("lowest")
['lowest']

Left out: Google's original (unpublished) WordPiece trainer, which scores merges on a
language model of the whole corpus, and byte-level fallbacks.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

from bertguide.checks import check_int
from bertguide.tokenizer import SPECIAL_TOKENS, BasicTokenizer, WordPieceTokenizer


def train_wordpiece(
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

    >>> texts = ["the cat sat on the mat"] * 5 + ["the cats sat"] * 3
    >>> tok = train_wordpiece(texts, vocab_size=40)
    >>> len(tok), tok.tokenize("the cats sat")
    (25, ['the', 'cats', 'sat'])
    """
    if score not in ("likelihood", "frequency"):
        raise ValueError(f"score must be 'likelihood' or 'frequency', got {score!r}")
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of str, not one str")
    check_int("vocab_size", vocab_size, len(SPECIAL_TOKENS) + 1)
    check_int("min_frequency", min_frequency, 1)
    if limit_alphabet is not None:
        check_int("limit_alphabet", limit_alphabet, 1)
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
    return WordPieceTokenizer(
        vocab,
        do_lower_case=do_lower_case,
        strip_accents=strip_accents,
        tokenize_chinese_chars=tokenize_chinese_chars,
        **kwargs,
    )


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
