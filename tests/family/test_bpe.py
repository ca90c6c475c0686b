"""Byte-level BPE: merges by rank, exact round trips, a deterministic trainer that
merges what a brute-force count would, and the same units as the tokenizers library."""

import os
import random
import subprocess
import sys
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

from bertguide.corpus import sentence_documents
from bertguide.family.bpe import (
    BYTE_SYMBOLS,
    ByteBPE,
    merge_pair,
    pretokenize,
    symbols_to_bytes,
    train_bpe,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def texts():
    return [" ".join(document) for document in sentence_documents("lee", "train")[:40]]


@pytest.fixture(scope="module")
def bpe(texts):
    return train_bpe(texts, num_merges=600)


HARD = [
    "The sandwich was tasty \N{SANDWICH}",
    "naïve café, Ångström, Łódź",
    "Ελλάδα, Москва, 東京, ᏣᎳᎩ, ትግርኛ",
    "\N{WAVING HAND SIGN}\N{EMOJI MODIFIER FITZPATRICK TYPE-4} "
    "\N{FAMILY}\N{REGIONAL INDICATOR SYMBOL LETTER F}\N{REGIONAL INDICATOR SYMBOL LETTER R}",
    "  two  spaces,\ta tab,\r\nand lines\n\n",
    "snake_case_name x² ½ 3.14159 don't we'll",
    "e\N{COMBINING ACUTE ACCENT} (e and a combining accent)",
    "",
]


# --- the byte alphabet ----------------------------------------------------------------


def test_the_alphabet_is_gpt2s_printable_map():
    assert len(set(BYTE_SYMBOLS)) == 256
    assert all(s.isprintable() and not s.isspace() for s in BYTE_SYMBOLS)
    assert BYTE_SYMBOLS[ord("a")] == "a" and BYTE_SYMBOLS[ord("!")] == "!"
    assert (BYTE_SYMBOLS[32], BYTE_SYMBOLS[10], BYTE_SYMBOLS[0]) == ("Ġ", "Ċ", "Ā")
    assert symbols_to_bytes(BYTE_SYMBOLS) == bytes(range(256))


# --- encoding by rank -----------------------------------------------------------------


def test_merges_are_applied_in_rank_order_not_left_to_right():
    assert ByteBPE([("b", "c"), ("a", "b")]).tokenize("abc") == ["a", "bc"]
    assert ByteBPE([("a", "b"), ("b", "c")]).tokenize("abc") == ["ab", "c"]
    # "ab" first, then "cd", then "abcd" from the two; "bc" (rank 3) never forms
    merges = [("a", "b"), ("c", "d"), ("ab", "cd"), ("b", "c")]
    assert ByteBPE(merges).tokenize("abcd") == ["abcd"]
    assert ByteBPE(merges).tokenize("bcd") == ["b", "cd"]


def test_merge_pair_joins_left_to_right_without_overlap():
    assert merge_pair(list("aaaa"), ("a", "a")) == ["aa", "aa"]
    assert merge_pair(list("abab"), ("b", "a")) == ["a", "ba", "b"]
    assert merge_pair([], ("a", "b")) == []


def test_encoding_equals_applying_every_merge_in_rank_order(bpe, texts):
    """The encoder's shortcut (merge the lowest-ranked pair present, repeat) gives what
    applying all merges one after the other, as training did, gives."""
    words = sorted(Counter(w for t in texts[:10] for w in pretokenize(t)))
    for word in words + pretokenize(" ".join(HARD)):
        symbols = list(word)
        for pair in bpe.merges:
            symbols = merge_pair(symbols, pair)
        assert bpe.split_word(word) == symbols, word


def test_ids_are_the_bytes_then_the_merges(bpe):
    assert bpe.encode("a") == [ord("a")]
    first = "".join(bpe.merges[0])
    assert bpe.vocab[first] == 256 and bpe.units[256] == first
    assert len(bpe) == 256 + len(bpe.merges)  # each merge made a new unit here


def test_bad_merges_are_refused():
    with pytest.raises(ValueError, match="twice"):
        ByteBPE([("a", "b"), ("a", "b")])
    with pytest.raises(ValueError, match="no earlier merge"):
        ByteBPE([("ab", "c")])
    with pytest.raises(TypeError):
        pretokenize(3)
    with pytest.raises(TypeError, match="one str"):
        train_bpe("not a list of texts")


# --- nothing is unknown, everything comes back -----------------------------------------


@pytest.mark.parametrize("text", HARD)
def test_any_text_round_trips_exactly_with_known_units(bpe, text):
    ids = bpe.encode(text)
    assert all(0 <= i < len(bpe) for i in ids)  # no unknown token exists, none is needed
    assert bpe.decode(ids) == text
    assert symbols_to_bytes(bpe.tokenize(text)) == text.encode("utf-8")


def test_any_byte_string_round_trips_even_when_it_is_not_utf8(bpe):
    generator = random.Random(0)
    strings = [bytes(generator.randrange(256) for _ in range(n)) for n in range(0, 200, 7)]
    strings += [b"\xff\xfe", b"caf\xc3", b"\xe6\x9d", bytes(range(256))]
    for data in strings:
        assert bpe.decode_bytes(bpe.encode(data)) == data, data


def test_accents_and_emoji_are_known_bytes_not_one_unknown(bpe):
    assert bpe.readable(bpe.tokenize("\N{SANDWICH}")) == ["<f0>", "<9f>", "<a5>", "<aa>"]
    assert bpe.readable(["Ã©"]) == ["é"]
    assert len(bpe.encode("Ελλάδα")) <= len("Ελλάδα".encode())


# --- training ---------------------------------------------------------------------------


def brute_force_merges(texts, num_merges):
    """Sennrich et al.'s loop as written: count every pair of every word, every step."""
    counts = Counter(w for t in texts for w in pretokenize(t))
    words = {w: list(w) for w in counts}
    merges = []
    for _ in range(num_merges):
        pairs = Counter()
        for word, symbols in words.items():
            for pair in pairwise(symbols):
                pairs[pair] += counts[word]
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        words = {w: merge_pair(s, best) for w, s in words.items()}
    return merges


def test_training_merges_what_a_full_recount_would(texts):
    assert train_bpe(texts[:8], num_merges=150).merges == brute_force_merges(texts[:8], 150)


def test_the_first_merge_is_the_most_frequent_pair(texts):
    counts = Counter()
    for word, n in Counter(w for t in texts for w in pretokenize(t)).items():
        for pair in pairwise(word):
            counts[pair] += n
    assert train_bpe(texts, num_merges=1).merges == [counts.most_common(1)[0][0]]


def test_training_stops_when_no_pair_is_frequent_enough():
    assert train_bpe(["ab"], num_merges=5).merges == []
    assert train_bpe(["ab"], num_merges=5, min_frequency=1).merges == [("a", "b")]
    assert train_bpe(["ab ab"], num_merges=0).merges == []


def test_training_is_deterministic_across_processes_and_hash_seeds():
    code = (
        "from bertguide.corpus import sentence_documents\n"
        "from bertguide.family.bpe import train_bpe\n"
        "texts = [' '.join(d) for d in sentence_documents('lee', 'train')[:30]]\n"
        "print(train_bpe(texts, num_merges=300).merges)\n"
    )
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] and outputs[0].startswith("[(")


# --- against GPT-2's pattern and the tokenizers library ----------------------------------


def test_the_words_are_those_of_gpt2s_pattern(texts):
    regex = pytest.importorskip("regex")
    gpt2 = regex.compile(
        r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    )
    hard = [t for t in HARD if "½" not in t]  # "²", "½": numbers to \p{N}, letters here
    for text in texts + hard:
        expected = [
            "".join(BYTE_SYMBOLS[b] for b in word.encode("utf-8")) for word in gpt2.findall(text)
        ]
        assert pretokenize(text) == expected


def test_the_units_are_those_of_the_tokenizers_library(bpe, texts):
    tokenizers = pytest.importorskip("tokenizers")
    reference = tokenizers.Tokenizer(
        tokenizers.models.BPE(vocab=dict(bpe.vocab), merges=list(bpe.merges))
    )
    reference.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    heldout = [" ".join(d) for d in sentence_documents("lee", "heldout")[:10]]
    for text in heldout + texts[:5] + [t for t in HARD if "½" not in t]:
        assert bpe.tokenize(text) == reference.encode(text).tokens, text
