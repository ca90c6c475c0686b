"""What BERT's heads look at: scores for the patterns of Clark et al. and Kovaleva et al.

Chapter: Visualising attention (the figures are in ``bertguide.figures.attention_maps``).
Dimensions: L = layers, N = heads, T = tokens, S = sentences.

Clark et al. 2019 ("What does BERT look at?") found heads that send most of their
attention to [CLS], to [SEP], to punctuation, or to the previous / next token, and
heads that attend broadly. Kovaleva et al. 2019 ("Revealing the dark secrets of
BERT") sorted heads into vertical (everyone looks at the same few tokens),
diagonal (a fixed offset: previous / self / next), block (tokens stay in their own
sentence of a pair) and heterogeneous patterns.

``pattern_scores(texts)`` measures every head over a sample of texts; each score is
an average over all query tokens of all texts, so it reads "the share of this head's
attention that goes to ...":

* ``cls``, ``sep``, ``punctuation``: attention mass on those tokens (vertical);
* ``previous``, ``self``, ``next``: mass on the token at offset -1, 0, +1 (diagonal);
* ``block`` (sentence pairs only): the share of a token's attention to other words
  (not [CLS]/[SEP]) that stays in its own sentence, offsets -1/0/+1 left out so that
  a diagonal head does not count as a block;
* ``broad``: the entropy of the row divided by log(T) (1 = uniform).

``classify(scores)`` names each head by its largest mass score, or ``broad`` when no
target gets ``threshold`` of the attention.

Left out: the syntax-specific heads of Clark et al. (they need a parsed treebank)
and Kovaleva et al.'s trained image classifier of patterns.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import torch

from bertguide import corpus
from bertguide.analysis.attention_maps import get_attention

MASS_PATTERNS = ("cls", "sep", "punctuation", "previous", "self", "next")
PATTERNS = (*MASS_PATTERNS, "block", "broad")
PUNCTUATION = frozenset(".,;:!?'\"()-")


@dataclass
class PatternScores:
    """Per-pattern (L, N) tensors of mean scores, and the sample they were measured on."""

    scores: dict[str, torch.Tensor]  # pattern -> (L, N)
    num_texts: int
    num_pairs: int
    num_tokens: int

    def per_layer(self, pattern: str) -> torch.Tensor:
        """(L,): the pattern's score averaged over the heads of each layer."""
        return self[pattern].mean(1)

    def __getitem__(self, pattern: str) -> torch.Tensor:
        if pattern not in self.scores:
            raise ValueError(f"pattern must be one of {PATTERNS}, got {pattern!r}")
        return self.scores[pattern]

    def best_head(self, pattern: str) -> tuple[int, int]:
        """(layer, head) with the highest score for ``pattern``."""
        s = self[pattern]  # (L, N)
        flat = int(s.argmax())
        return divmod(flat, s.shape[1])


def _row_scores(weights: torch.Tensor, tokens: list[str], token_type_ids: list[int] | None):
    """weights (L, N, T, T) of one input -> pattern -> (L, N) sums over its T query rows."""
    T = len(tokens)
    is_cls = torch.tensor([t == "[CLS]" for t in tokens])  # (T,)
    is_sep = torch.tensor([t == "[SEP]" for t in tokens])
    is_punct = torch.tensor([t in PUNCTUATION for t in tokens])
    out = {
        "cls": weights[..., is_cls].sum(-1).sum(-1),  # (L, N, T) -> (L, N)
        "sep": weights[..., is_sep].sum(-1).sum(-1),
        "punctuation": weights[..., is_punct].sum(-1).sum(-1),
        "self": torch.diagonal(weights, dim1=-2, dim2=-1).sum(-1),
        "previous": torch.diagonal(weights, offset=-1, dim1=-2, dim2=-1).sum(-1),
        "next": torch.diagonal(weights, offset=1, dim1=-2, dim2=-1).sum(-1),
    }
    entropy = -(weights * weights.clamp_min(1e-12).log()).sum(-1)  # (L, N, T)
    out["broad"] = (entropy / torch.log(torch.tensor(float(T)))).sum(-1)
    if token_type_ids is not None:
        segment = torch.tensor(token_type_ids)
        ordinary = ~(is_cls | is_sep)
        far = (torch.arange(T)[:, None] - torch.arange(T)[None, :]).abs() > 1  # not diagonal
        same = (segment[:, None] == segment[None, :]) & ordinary[None, :] & far  # (T, T)
        kept = (weights * same).sum(-1)  # (L, N, T): mass kept in the own sentence
        total = (weights * (ordinary[None, :] & far)).sum(-1).clamp_min(1e-12)
        out["block"] = (kept / total)[..., ordinary].sum(-1)  # rows of ordinary tokens only
        out["_block_rows"] = int(ordinary.sum())
    return out


def pattern_scores(texts, pairs=(), *, model=None, tokenizer=None) -> PatternScores:
    """Measure every head on ``texts`` (single sentences) and ``pairs`` (for ``block``)."""
    texts, pairs = list(texts), list(pairs)
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise ValueError("texts must be a non-empty list of non-empty strings")
    if not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
        raise ValueError("pairs must be a list of (text, text_pair) tuples")
    sums: dict[str, torch.Tensor] = {}
    rows = block_rows = 0
    for text in texts:
        a = get_attention(text, model=model, tokenizer=tokenizer)
        for name, value in _row_scores(a.weights, a.tokens, None).items():
            sums[name] = sums.get(name, 0) + value
        rows += len(a.tokens)
    block = None
    for first, second in pairs:
        a = get_attention(first, second, model=model, tokenizer=tokenizer)
        T, b = len(a.tokens), a.sentence_b_start
        part = _row_scores(a.weights, a.tokens, [0] * b + [1] * (T - b))
        block = part["block"] if block is None else block + part["block"]
        block_rows += part["_block_rows"]
    scores = {name: value / rows for name, value in sums.items()}
    L, N = scores["cls"].shape
    scores["block"] = block / block_rows if block is not None else torch.full((L, N), float("nan"))
    return PatternScores(scores, len(texts), len(pairs), rows)


def classify(scores: PatternScores, threshold: float = 0.4) -> list[list[str]]:
    """Names, ``[L][N]``: each head's largest mass pattern, or 'broad' below threshold."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    stacked = torch.stack([scores[p] for p in MASS_PATTERNS])  # (6, L, N)
    best, which = stacked.max(0)  # (L, N)
    return [
        [
            MASS_PATTERNS[int(k)] if float(v) >= threshold else "broad"
            for v, k in zip(bv, bk, strict=True)
        ]
        for bv, bk in zip(best, which, strict=True)
    ]


def sample_sentences(count: int = 48, pairs: int = 16, seed: int = 0):
    """Real text for the measurements: Wikipedia sentences (8-30 words) and adjacent pairs."""
    sentences = []
    for line in corpus.wikipedia_lines():
        for sentence in line.split(". "):
            words = sentence.split()
            if 8 <= len(words) <= 30 and sentence.isascii():
                sentences.append(sentence.rstrip(".") + ".")
    if len(sentences) < count + 2 * pairs:
        raise ValueError(f"the corpus has only {len(sentences)} usable sentences")
    rng = random.Random(seed)
    picked = rng.sample(range(len(sentences) - 1), count + pairs)
    texts = [sentences[i] for i in picked[:count]]
    pair_list = [(sentences[i], sentences[i + 1]) for i in picked[count:]]
    return texts, pair_list


@functools.lru_cache(maxsize=1)
def default_scores() -> PatternScores:
    """The scores of the embedded model on ``sample_sentences()`` (what the chapter shows)."""
    texts, pairs = sample_sentences()
    return pattern_scores(texts, pairs)
