"""Head-pattern scores on synthetic attention whose answers are known by construction.

``bertguide.analysis.patterns`` turns attention into numbers the chapter prints ("the
share of this head's attention that goes to [CLS]"). Here every head is built by hand:
an exact previous-token shift, a head that looks only at [CLS], a uniform head, a head
that stays inside its own sentence of a pair. The scores must come out as those
constructions say, and as a plain loop over the rows computes them from the module
docstring's definitions. ``pattern_scores`` is fed hand-built attention too (through
its ``get_attention``), to check that it averages over query rows, not over texts.

Dimensions: L = layers, N = heads, T = tokens.
"""

from __future__ import annotations

import math

import pytest
import torch

from bertguide.analysis import patterns
from bertguide.analysis.attention_maps import Attention
from bertguide.analysis.patterns import MASS_PATTERNS, PATTERNS, PatternScores, classify

L, N = 2, 3  # not square, so (layer, head) and (head, layer) differ
TOKENS = ["[CLS]", "dogs", ",", "cats", "bark", ".", "[SEP]"]  # T = 7
PAIR = ["[CLS]", "the", "cat", "sat", "down", "[SEP]", "it", "was", "very", "tired", "[SEP]"]
PAIR_TYPES = [0] * 6 + [1] * 5


def one_hot_rows(T: int, targets: list[int]) -> torch.Tensor:
    """(T, T): row i puts all its attention on column targets[i]."""
    return torch.nn.functional.one_hot(torch.tensor(targets), T).float()


def spread(T: int, columns_of_row) -> torch.Tensor:
    """(T, T): row i attends uniformly to the columns ``columns_of_row(i)``."""
    m = torch.zeros(T, T)
    for i in range(T):
        cols = columns_of_row(i)
        m[i, cols] = 1.0 / len(cols)
    return m


def per_row(weights, tokens, types=None):
    """The scorer's sums divided by their number of rows: the mean score per query."""
    sums = patterns._row_scores(weights, tokens, types)
    T = len(tokens)
    means = {name: value / T for name, value in sums.items() if not name.startswith("_")}
    if types is not None:
        means["block"] = sums["block"] / sums["_block_rows"]
    return means


# --- the scorer on heads built by hand --------------------------------------------


@pytest.fixture
def diagonal_heads():
    """Layer 0: previous, self, next (cyclic shifts). Layer 1: [CLS], uniform, punctuation."""
    T = len(TOKENS)
    punct = [k for k, t in enumerate(TOKENS) if t in (",", ".")]
    w = torch.zeros(L, N, T, T)
    w[0, 0] = one_hot_rows(T, [(i - 1) % T for i in range(T)])  # row 0 wraps to [SEP]
    w[0, 1] = torch.eye(T)
    w[0, 2] = one_hot_rows(T, [(i + 1) % T for i in range(T)])  # the last row wraps to [CLS]
    w[1, 0] = one_hot_rows(T, [0] * T)
    w[1, 1] = torch.full((T, T), 1.0 / T)
    w[1, 2] = spread(T, lambda i: punct)
    return w


def test_shifted_heads_score_one_on_their_own_offset_and_zero_on_the_others(diagonal_heads):
    s = per_row(diagonal_heads, TOKENS)
    T = len(TOKENS)
    shifted = (T - 1) / T  # the one wrapped row has no neighbour at that offset
    assert s["previous"][0].tolist() == pytest.approx([shifted, 0.0, 0.0])
    assert s["self"][0].tolist() == pytest.approx([0.0, 1.0, 0.0])
    assert s["next"][0].tolist() == pytest.approx([0.0, 0.0, shifted])


def test_vertical_and_broad_heads_score_one_on_their_target(diagonal_heads):
    s = per_row(diagonal_heads, TOKENS)
    T = len(TOKENS)
    assert float(s["cls"][1, 0]) == pytest.approx(1.0)
    assert float(s["sep"][1, 0]) == 0.0 and float(s["punctuation"][1, 0]) == 0.0
    assert float(s["punctuation"][1, 2]) == pytest.approx(1.0)
    assert float(s["cls"][1, 2]) == 0.0
    # the uniform head: entropy log T of log T, and 1/T of its mass on each target
    assert float(s["broad"][1, 1]) == pytest.approx(1.0)
    assert float(s["cls"][1, 1]) == pytest.approx(1 / T)
    assert float(s["punctuation"][1, 1]) == pytest.approx(2 / T)
    # one-hot rows have no entropy
    assert s["broad"][0].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)
    assert "block" not in s  # a single text has no sentences to stay in


def test_a_row_split_two_ways_has_half_the_maximum_entropy():
    T = 4
    w = torch.zeros(1, 1, T, T)
    w[0, 0, :, :2] = 0.5  # every row: half on token 0, half on token 1
    s = per_row(w, ["[CLS]", "a", "b", "[SEP]"])
    assert float(s["broad"]) == pytest.approx(math.log(2) / math.log(T))
    assert float(s["cls"]) == pytest.approx(0.5)


@pytest.fixture
def pair_heads():
    """Heads on a pair: within each sentence, across them, half-and-half, previous token."""
    T = len(PAIR)
    types = torch.tensor(PAIR_TYPES)
    ordinary = [k for k, t in enumerate(PAIR) if t not in ("[CLS]", "[SEP]")]

    def far_words(i, same):
        return [j for j in ordinary if abs(i - j) > 1 and (bool(types[i] == types[j]) == same)]

    within = spread(T, lambda i: far_words(i, True) or [i])
    across = spread(T, lambda i: far_words(i, False))
    # 0.5 on itself, 0.3 on [CLS] (neither counts), 0.1 in its sentence, 0.1 in the other
    mixed = 0.5 * torch.eye(T) + 0.3 * one_hot_rows(T, [0] * T)
    mixed += 0.1 * spread(T, lambda i: far_words(i, True) or [0]) + 0.1 * across
    previous = one_hot_rows(T, [max(i - 1, 0) for i in range(T)])
    w = torch.stack([within, across, mixed, previous, within.T.softmax(-1), across])
    return w.reshape(L, N, T, T)


def test_block_is_the_share_of_far_word_attention_kept_in_the_own_sentence(pair_heads):
    s = per_row(pair_heads, PAIR, PAIR_TYPES)
    assert float(s["block"][0, 0]) == pytest.approx(1.0)  # within its sentence
    assert float(s["block"][0, 1]) == pytest.approx(0.0)  # only the other sentence
    assert float(s["block"][0, 2]) == pytest.approx(0.5)  # self and [CLS] left out
    # a previous-token head stays in its sentence, but offsets -1/0/+1 do not count
    assert float(s["block"][1, 0]) == pytest.approx(0.0)
    assert float(s["previous"][1, 0]) == pytest.approx((len(PAIR) - 1) / len(PAIR))


def reference_scores(weights, tokens, types=None):
    """The module docstring's definitions, row by row in plain Python: (L, N) means."""
    Lw, Nw, T, _ = weights.shape
    ordinary = [t not in ("[CLS]", "[SEP]") for t in tokens]
    out = {name: torch.zeros(Lw, Nw, dtype=torch.float64) for name in PATTERNS}
    for layer in range(Lw):
        for head in range(Nw):
            rows = weights[layer, head].double().tolist()
            sums = dict.fromkeys(PATTERNS, 0.0)
            block_rows = 0
            for i, row in enumerate(rows):
                sums["cls"] += sum(w for w, t in zip(row, tokens, strict=True) if t == "[CLS]")
                sums["sep"] += sum(w for w, t in zip(row, tokens, strict=True) if t == "[SEP]")
                sums["punctuation"] += sum(
                    w for w, t in zip(row, tokens, strict=True) if t in patterns.PUNCTUATION
                )
                sums["previous"] += row[i - 1] if i >= 1 else 0.0
                sums["self"] += row[i]
                sums["next"] += row[i + 1] if i + 1 < T else 0.0
                entropy = -sum(w * math.log(w) for w in row if w > 0)
                sums["broad"] += entropy / math.log(T)
                if types is not None and ordinary[i]:
                    block_rows += 1
                    far = [j for j in range(T) if ordinary[j] and abs(i - j) > 1]
                    total = sum(row[j] for j in far)
                    kept = sum(row[j] for j in far if types[j] == types[i])
                    sums["block"] += kept / total if total > 0 else 0.0
            for name in PATTERNS:
                rows_counted = block_rows if name == "block" else T
                out[name][layer, head] = sums[name] / rows_counted if rows_counted else 0.0
    return out


@pytest.mark.parametrize("with_pair", [False, True], ids=["text", "pair"])
def test_scores_of_random_attention_equal_a_row_by_row_loop(with_pair):
    tokens, types = (PAIR, PAIR_TYPES) if with_pair else (TOKENS, None)
    T = len(tokens)
    g = torch.Generator().manual_seed(0)
    weights = (torch.randn(L, N, T, T, generator=g) * 2).softmax(-1)
    got = per_row(weights, tokens, types)
    expected = reference_scores(weights, tokens, types)
    names = [p for p in PATTERNS if with_pair or p != "block"]
    assert sorted(got) == sorted(names)
    for name in names:
        torch.testing.assert_close(got[name].double(), expected[name], atol=1e-5, rtol=0)


# --- classify, best_head, per_layer ------------------------------------------------


def scores_of(values: dict[str, list[list[float]]], fill: float = 0.0625) -> PatternScores:
    """PatternScores (L, N) from the given values; other patterns get ``fill``."""
    scores = {p: torch.full((L, N), fill) for p in PATTERNS}
    for name, grid in values.items():
        scores[name] = torch.tensor(grid)
    return PatternScores(scores, num_texts=1, num_pairs=1, num_tokens=10)


@pytest.fixture
def labelled():
    """One head per mass pattern; values exact in binary, so thresholds compare exactly."""
    z = 0.0625
    return scores_of(
        {
            "cls": [[0.875, z, z], [z, z, z]],
            "sep": [[z, 0.625, z], [z, z, z]],
            "punctuation": [[z, z, 0.5], [z, z, z]],
            "previous": [[z, z, z], [0.4375, z, z]],
            "self": [[z, z, z], [z, 0.375, z]],
            "next": [[z, z, z], [z, z, 0.75]],
            "broad": [[0.96875] * N] * L,  # not a mass score: never a label
            "block": [[0.96875] * N] * L,
        }
    )


def test_classify_names_each_head_by_its_largest_mass_score(labelled):
    assert classify(labelled) == [
        ["cls", "sep", "punctuation"],
        ["previous", "broad", "next"],  # self's 0.375 is under the 0.4 threshold
    ]
    assert classify(labelled, threshold=0.375)[1][1] == "self"  # reaching it is enough
    assert classify(labelled, threshold=0.5)[0] == ["cls", "sep", "punctuation"]
    assert classify(labelled, threshold=0.5)[1] == ["broad", "broad", "next"]
    assert classify(labelled, threshold=1.0) == [["broad"] * N] * L
    for bad in (0, 0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="threshold"):
            classify(labelled, threshold=bad)


def test_classify_knows_every_mass_pattern(labelled):
    names = {name for row in classify(labelled, threshold=0.375) for name in row}
    assert names == set(MASS_PATTERNS)


def test_best_head_returns_layer_then_head():
    s = scores_of(
        {
            "cls": [[0.1, 0.2, 0.3], [0.9, 0.4, 0.5]],  # best: layer 1, head 0
            "sep": [[0.1, 0.2, 0.8], [0.3, 0.4, 0.5]],  # best: layer 0, head 2
            "next": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.7]],  # best: layer 1, head 2
        }
    )
    assert s.best_head("cls") == (1, 0)
    assert s.best_head("sep") == (0, 2)
    assert s.best_head("next") == (1, 2)
    layer, head = s.best_head("sep")
    assert isinstance(layer, int) and isinstance(head, int)
    with pytest.raises(ValueError, match="pattern"):
        s.best_head("diagonal")


def test_per_layer_averages_the_heads_of_each_layer():
    s = scores_of({"cls": [[0.25, 0.5, 0.75], [0.125, 0.0, 0.5]]})
    assert s.per_layer("cls").tolist() == pytest.approx([0.5, 0.625 / 3])


# --- pattern_scores: an average over query rows ------------------------------------


def _attention(tokens, matrix_of_head, b_start=None) -> Attention:
    T = len(tokens)
    w = torch.stack([matrix_of_head(T) for _ in range(L * N)]).reshape(L, N, T, T)
    return Attention(list(tokens), w, b_start)


SHORT = ["[CLS]", "hi", "[SEP]"]  # 3 rows, all on [CLS]
LONG = ["[CLS]", "a", "b", "c", "[SEP]"]  # 5 rows, all on [SEP]
PAIR_IN = ["[CLS]", "a", "b", "c", "d", "[SEP]", "e", "f", "g", "h", "[SEP]"]  # 8 words
PAIR_OUT = ["[CLS]", "a", "b", "[SEP]", "c", "d", "[SEP]"]  # 4 words


def _segment_heads(tokens, b_start, same: bool):
    types = [0] * b_start + [1] * (len(tokens) - b_start)
    words = [k for k, t in enumerate(tokens) if t not in ("[CLS]", "[SEP]")]

    def head(T):
        def columns(i):
            cols = [j for j in words if abs(i - j) > 1 and (types[i] == types[j]) == same]
            return cols or [0]

        return spread(T, columns)

    return _attention(tokens, head, b_start)


@pytest.fixture
def fake_inputs(monkeypatch):
    inputs = {
        ("short", None): _attention(SHORT, lambda T: one_hot_rows(T, [0] * T)),
        ("long", None): _attention(LONG, lambda T: one_hot_rows(T, [T - 1] * T)),
        ("in", "pair"): _segment_heads(PAIR_IN, 6, same=True),
        ("out", "pair"): _segment_heads(PAIR_OUT, 4, same=False),
    }

    def fake_get_attention(text, text_pair=None, *, model=None, tokenizer=None):
        return inputs[(text, text_pair)]

    monkeypatch.setattr(patterns, "get_attention", fake_get_attention)
    return inputs


def test_pattern_scores_average_over_all_query_rows_not_over_texts(fake_inputs):
    s = patterns.pattern_scores(["short", "long"], [("in", "pair"), ("out", "pair")])
    assert (s.num_texts, s.num_pairs, s.num_tokens) == (2, 2, 3 + 5)
    for name in PATTERNS:
        assert s[name].shape == (L, N)
    # 3 of the 8 rows look at [CLS], 5 at [SEP] (a mean of the texts' means would be 1/2)
    torch.testing.assert_close(s["cls"], torch.full((L, N), 3 / 8))
    torch.testing.assert_close(s["sep"], torch.full((L, N), 5 / 8))
    # one row of each text lands on a neighbour: "hi" on the [CLS] before it, "c" on the
    # [SEP] after it; and one row of each is its own target ([CLS], [SEP])
    torch.testing.assert_close(s["previous"], torch.full((L, N), 1 / 8))
    torch.testing.assert_close(s["next"], torch.full((L, N), 1 / 8))
    torch.testing.assert_close(s["self"], torch.full((L, N), 2 / 8))
    # block: 8 word rows stay in their sentence, 4 leave it: 8 / 12 (per pair: 1/2)
    torch.testing.assert_close(s["block"], torch.full((L, N), 8 / 12))


def test_pattern_scores_without_pairs_leave_block_undefined(fake_inputs):
    s = patterns.pattern_scores(["long"])
    assert torch.isnan(s["block"]).all()
    torch.testing.assert_close(s["sep"], torch.ones(L, N))


@pytest.mark.parametrize(
    ("texts", "pairs", "words"),
    [
        ([], (), "texts"),
        (["ok", " "], (), "texts"),
        (["ok"], [("only one",)], "pairs"),
        (["ok"], ["not a tuple"], "pairs"),
    ],
)
def test_pattern_scores_reject_bad_input(texts, pairs, words):
    with pytest.raises(ValueError, match=words):
        patterns.pattern_scores(texts, pairs)
