"""SpanBERT: mask whole spans of words, and predict them from the span's two edges.

Serves the chapter "The BERT family". Joshi et al. (2020), "SpanBERT: Improving
Pre-training by Representing and Predicting Spans".

Dimension legend: B = batch size, T = tokens, C = hidden size, V = vocabulary size,
M = masked positions in the batch, K = longest span (in words).

What changes relative to BERT. (1) *Span masking*: instead of single tokens, SpanBERT
masks contiguous spans of whole words. A span's length l (in words) is drawn from a
geometric distribution with p = 0.2, clipped at K = 10 (drawn again above it, so the
probabilities are renormalised: P(l) = p (1-p)^(l-1) / (1 - (1-p)^K), mean 3.8 words);
its start is drawn uniformly among the words where it fits; spans are drawn until 15 %
of the tokens are masked. The 80/10/10 rule applies to whole spans ([MASK] for all of a
span's tokens, random tokens for all, or all kept). (2) *Span-boundary objective* (SBO):
each masked token x_i of a span s..e is also predicted from the encoder's vectors of
the two tokens just outside the span, x_(s-1) and x_(e+1), and a learned embedding of
its position i - s + 1 in the span, through a two-layer GELU/LayerNorm network:

    y_i = f(x_(s-1), x_(e+1), p_(i-s+1)),   loss = MLM(x_i) + SBO(y_i)

so the boundary vectors must summarise the span's content. (3) No next-sentence
prediction: single contiguous segments (``BertModel`` without its pooler).

Choices made here: spans never overlap and never touch (one unmasked token at least
between two spans), so both boundary tokens of a span are always visible; a span
never crosses a special token; lengths are never cut: the last span drawn is kept or
left out, whichever lands nearer the 15 % budget (every row gets at least one span),
so every span but the last follows the length law exactly; a length that fits nowhere
in the sequence (a short sentence) is drawn again.

Left out: SpanBERT's single-sequence data pipeline, its tokenization (cased BERT),
the pair-target bookkeeping of the original code and fine-tuning recipes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.checks import check_float, check_generator, check_int
from bertguide.config import BertConfig
from bertguide.family.common import MaskedLMHead
from bertguide.initialization import init_bert_weights
from bertguide.masking import (
    IGNORE_INDEX,
    MASK_FRACTION,
    RANDOM_FRACTION,
    MaskingVocab,
    as_vocab,
    word_ids,
)
from bertguide.model import BertModel
from bertguide.tokenizer import WordPieceTokenizer

GEOMETRIC_P = 0.2  # p of the span-length law
MAX_SPAN_LENGTH = 10  # K: longest span, in words
MASK_BUDGET = 0.15  # share of the tokens to mask


def span_length_probabilities(p: float = GEOMETRIC_P, max_length: int = MAX_SPAN_LENGTH):
    """P(l) for l = 1 .. K: the geometric law clipped at K and renormalised, (K,) float64.

    >>> probs = span_length_probabilities()
    >>> round(float((torch.arange(1, 11) * probs).sum()), 2)        # mean length (paper: 3.8)
    3.8
    """
    p = check_float("p", p, 1e-9, 1.0)
    check_int("max_length", max_length, 1)
    lengths = torch.arange(1, max_length + 1, dtype=torch.float64)
    weights = p * (1 - p) ** (lengths - 1)  # (K,)
    return weights / weights.sum()


def sample_span_lengths(
    n: int,
    p: float = GEOMETRIC_P,
    max_length: int = MAX_SPAN_LENGTH,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``n`` span lengths (in words) drawn from ``span_length_probabilities``: (n,) long.

    >>> sample_span_lengths(5, generator=torch.Generator().manual_seed(0)).tolist()
    [10, 5, 3, 8, 4]
    """
    check_int("n", n, minimum=0)
    check_generator("generator", generator)
    probabilities = span_length_probabilities(p, max_length)
    return torch.multinomial(probabilities, n, replacement=True, generator=generator) + 1


@dataclass
class SpanMaskingOutput:
    input_ids: torch.Tensor  # (B, T): spans replaced by [MASK] / random tokens / kept
    labels: torch.Tensor  # (B, T): the original id inside spans, -100 elsewhere
    span_boundaries: torch.Tensor  # (B, T, 2): (s - 1, e + 1) at span tokens, 0 elsewhere
    spans: list[list[tuple[int, int, int]]]  # per row, as drawn: (first token, last, words)


def _row_spans(words, attention, budget_share, probabilities, generator):
    """One row's spans: word numbers (T,) -> [(first token, last token, words), ...]."""
    first, last = {}, {}
    for t, w in enumerate(words):
        if w:
            first.setdefault(w, t)
            last[w] = t
    W = len(first)  # words 1 .. W
    n_tokens = sum(1 for w in words if w)
    if W == 0:
        return []
    budget = max(1, round(budget_share * n_tokens))
    masked = [False] * (W + 2)  # masked[w] for words 1 .. W; 0 and W + 1 stay False

    def joined(a: int, b: int) -> bool:  # words a and b = a + 1 are neighbours in the text
        return 1 <= a and b <= W and last[a] + 1 == first[b]

    def fits(start: int, length: int) -> bool:
        end = start + length - 1
        if end > W or any(masked[start : end + 1]):
            return False
        if any(not joined(w, w + 1) for w in range(start, end)):
            return False  # the span would cross a special token
        if (joined(start - 1, start) and masked[start - 1]) or (
            joined(end, end + 1) and masked[end + 1]
        ):
            return False  # it would touch another span
        left, right = first[start] - 1, last[end] + 1  # the boundary tokens
        return left >= 0 and right < len(words) and bool(attention[left] and attention[right])

    spans, n_masked, misses = [], 0, 0
    while n_masked < budget and misses < 100:
        length = int(torch.multinomial(probabilities, 1, generator=generator)) + 1
        starts = [s for s in range(1, W + 1) if fits(s, length)]
        if not starts:
            misses += 1  # this length fits nowhere: draw another
            continue
        start = starts[int(torch.randint(len(starts), (1,), generator=generator))]
        end = start + length - 1
        n_tokens = last[end] - first[start] + 1
        if spans and n_masked + n_tokens - budget > budget - n_masked:
            break  # leaving this last span out lands nearer the budget
        masked[start : end + 1] = [True] * length
        spans.append((first[start], last[end], length))
        n_masked += n_tokens
    return spans  # in the order drawn


def span_mask(
    input_ids: torch.Tensor,
    tokenizer: WordPieceTokenizer | MaskingVocab,
    *,
    attention_mask: torch.Tensor | None = None,
    mask_budget: float = MASK_BUDGET,
    p: float = GEOMETRIC_P,
    max_span_length: int = MAX_SPAN_LENGTH,
    generator: torch.Generator | None = None,
) -> SpanMaskingOutput:
    """SpanBERT's masking of a (B, T) batch; see the module docstring for the rules.

    Words are a piece and its "##" continuations (``masking.word_ids``); special tokens
    and padding are never masked. 80/10/10 per span. ``generator`` makes it repeatable.

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> batch = tok(["The cat sat on the mat.", "A dog barked at the mailman today."],
    ...             padding=True)
    >>> out = span_mask(batch["input_ids"], tok, attention_mask=batch["attention_mask"],
    ...                 generator=torch.Generator().manual_seed(0))
    >>> out.spans  # [(first token, last token, words)] per row
    [[(1, 7, 7)], [(1, 1, 1)]]
    >>> tuple(out.span_boundaries.shape)  # (B, T, 2): the tokens just outside each span
    (2, 11, 2)
    """
    vocab = as_vocab(tokenizer)
    if not isinstance(input_ids, torch.Tensor) or input_ids.dtype != torch.long:
        raise TypeError("input_ids must be a torch.LongTensor of shape (B, T)")
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must have shape (B, T), got {list(input_ids.shape)}")
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    elif not isinstance(attention_mask, torch.Tensor) or attention_mask.shape != input_ids.shape:
        raise ValueError(f"attention_mask must be a tensor of shape {list(input_ids.shape)}")
    mask_budget = check_float("mask_budget", mask_budget, 1e-9, 1.0)
    check_generator("generator", generator)
    probabilities = span_length_probabilities(p, max_span_length)

    candidates = ~torch.isin(input_ids, vocab.special_ids) & attention_mask.bool()  # (B, T)
    words = word_ids(input_ids, candidates, vocab.continues_word)  # (B, T): 0 = not a word
    masked_ids = input_ids.clone()
    labels = torch.full_like(input_ids, IGNORE_INDEX)
    boundaries = torch.zeros(*input_ids.shape, 2, dtype=torch.long)  # (B, T, 2)
    all_spans = []
    for b in range(input_ids.shape[0]):
        spans = _row_spans(
            words[b].tolist(), attention_mask[b].tolist(), mask_budget, probabilities, generator
        )
        for first, last, _ in spans:
            labels[b, first : last + 1] = input_ids[b, first : last + 1]
            boundaries[b, first : last + 1] = torch.tensor([first - 1, last + 1])
            action = float(torch.rand(1, generator=generator))  # one choice for the span
            if action < MASK_FRACTION:
                masked_ids[b, first : last + 1] = vocab.mask_token_id
            elif action < MASK_FRACTION + RANDOM_FRACTION:
                n = last - first + 1
                pick = torch.randint(len(vocab.replacement_ids), (n,), generator=generator)
                masked_ids[b, first : last + 1] = vocab.replacement_ids[pick]
        all_spans.append(spans)
    return SpanMaskingOutput(masked_ids, labels, boundaries, all_spans)


# --- the span-boundary objective ----------------------------------------------------


class SpanBoundaryHead(nn.Module):
    """y_i = f(x_(s-1), x_(e+1), p_(i-s+1)), then scores against the word embeddings.

    f is dense(3C -> C), GELU, LayerNorm, dense(C -> C), GELU, LayerNorm; p is a learned
    embedding of the position in the span (1 = first token); the decoder is the tied
    (V, C) word-embedding matrix plus a bias of the head's own.
    """

    def __init__(self, config: BertConfig, word_embeddings: nn.Parameter) -> None:
        super().__init__()
        C, eps = config.hidden_size, config.layer_norm_eps
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, C)
        self.dense1 = nn.Linear(3 * C, C)
        self.LayerNorm1 = nn.LayerNorm(C, eps=eps)
        self.dense2 = nn.Linear(C, C)
        self.LayerNorm2 = nn.LayerNorm(C, eps=eps)
        self.decoder = nn.Linear(C, config.vocab_size, bias=False, device="meta")
        self.decoder.weight = word_embeddings  # tied
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(
        self,
        hidden_states: torch.Tensor,
        span_boundaries: torch.Tensor,
        prediction_mask: torch.Tensor,
    ) -> torch.Tensor:
        """hidden (B, T, C), boundaries (B, T, 2), mask (B, T) bool -> logits (M, V)."""
        b, t = prediction_mask.nonzero(as_tuple=True)  # (M,) each, row-major
        left, right = span_boundaries[b, t, 0], span_boundaries[b, t, 1]  # (M,) each
        x = torch.cat(
            [hidden_states[b, left], hidden_states[b, right], self.position_embeddings(t - left)],
            dim=-1,
        )  # (M, 3C)
        x = self.LayerNorm1(F.gelu(self.dense1(x)))  # (M, C)
        x = self.LayerNorm2(F.gelu(self.dense2(x)))  # (M, C)
        return self.decoder(x) + self.bias  # (M, V)


@dataclass
class SpanBertOutput:
    loss: torch.Tensor  # mlm_loss + sbo_loss
    mlm_loss: torch.Tensor
    sbo_loss: torch.Tensor
    mlm_logits: torch.Tensor  # (M, V) at the masked positions, row-major
    sbo_logits: torch.Tensor  # (M, V), same positions


class SpanBertForPreTraining(nn.Module):
    """BERT without pooler or NSP, with an MLM head and the span-boundary head.

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> batch = tok(["The cat sat on the mat.", "A dog barked."], padding=True)
    >>> masking = span_mask(batch["input_ids"], tok, attention_mask=batch["attention_mask"],
    ...                     generator=torch.Generator().manual_seed(0))
    >>> model = SpanBertForPreTraining(BertConfig(hidden_size=32, num_hidden_layers=2,
    ...                                           num_attention_heads=4, intermediate_size=64))
    >>> out = model(masking.input_ids, batch["attention_mask"], masking.labels,
    ...             masking.span_boundaries)
    >>> round(out.mlm_loss.item()), round(out.sbo_loss.item())  # untrained: ln(30522) = 10.3
    (10, 10)
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False)
        word_embeddings = self.bert.embeddings.word_embeddings.weight  # (V, C)
        self.mlm = MaskedLMHead(config.hidden_size, word_embeddings, config.layer_norm_eps)
        self.mlm.init_weights(config.initializer_range)
        self.sbo = SpanBoundaryHead(config, word_embeddings)
        init_bert_weights(self.sbo, config.initializer_range, tied=[word_embeddings])

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        labels: torch.Tensor,
        span_boundaries: torch.Tensor,
    ) -> SpanBertOutput:
        """Span-masked input_ids (B, T), labels (B, T), span_boundaries (B, T, 2)."""
        if not isinstance(labels, torch.Tensor) or labels.shape != input_ids.shape:
            raise ValueError("labels must be a tensor of input_ids' shape (B, T)")
        if span_boundaries.shape != (*input_ids.shape, 2):
            raise ValueError(f"span_boundaries must have shape {[*input_ids.shape, 2]}")
        hidden = self.bert(input_ids, attention_mask).last_hidden_state  # (B, T, C)
        masked = labels != IGNORE_INDEX  # (B, T)
        targets = labels[masked]  # (M,)
        mlm_logits = self.mlm(hidden[masked])  # (M, V)
        sbo_logits = self.sbo(hidden, span_boundaries, masked)  # (M, V)
        mlm_loss = F.cross_entropy(mlm_logits, targets)
        sbo_loss = F.cross_entropy(sbo_logits, targets)
        return SpanBertOutput(mlm_loss + sbo_loss, mlm_loss, sbo_loss, mlm_logits, sbo_logits)
