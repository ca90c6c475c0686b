"""Self-attention: the formula, a function that is the formula, then BERT's heads.

Dimension legend used in the shape comments:

    B = batch size      T = tokens (sequence length)     C = hidden size
    N = attention heads H = head size (C / N)

The formula (Vaswani et al., 2017, "Attention Is All You Need"):

    Attention(Q, K, V) = softmax(Q K^T / sqrt(H)) V

Each token's query is compared with every token's key (a dot product); dividing by
sqrt(H) keeps the scores' spread independent of the head size; the softmax turns each
row of scores into weights that sum to one; a token's output is the weighted mean of the
value vectors. A padding mask removes [PAD] positions from every row before the softmax.

Multi-head attention runs N such attentions side by side on H-wide slices of the
C-wide token vectors, then concatenates them (N * H = C) and mixes them with one
linear layer (``BertSelfOutput.dense``), followed by a residual connection and
LayerNorm.

When the weights are not asked for, ``BertSelfAttention`` calls PyTorch's fused
``torch.nn.functional.scaled_dot_product_attention`` (same result, less memory);
when they are, it computes them with ``scaled_dot_product_attention`` below.

The sub-layers' ``forward`` signatures repeat, as in transformers, so that each class
reads whole on its own; a duplicate-code scan lists them, and they are kept on purpose.

Left out: causal masks (see ``gpt.py``), cross-attention, key/value caches,
relative position scores and head pruning.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.config import BertConfig


def _check_attention_inputs(q, k, v, mask) -> None:
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, not {type(t).__name__}")
        if t.dim() < 2:
            raise ValueError(f"{name} must have at least 2 dims (..., T, H), got {t.dim()}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must have the same last dim, got {q.shape[-1]} and {k.shape[-1]}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have as many rows, got {k.shape[-2]} and {v.shape[-2]}")
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise TypeError("mask must be a bool tensor, True where a query may attend a key")
        try:
            torch.broadcast_shapes(mask.shape, (*q.shape[:-1], k.shape[-2]))
        except RuntimeError as error:
            raise ValueError(
                f"mask of shape {list(mask.shape)} does not broadcast to the scores' shape "
                f"{[*q.shape[:-1], k.shape[-2]]}"
            ) from error


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T / sqrt(H)) v, returned with the weights: ``(output, weights)``.

    q: (..., Tq, H), k: (..., Tk, H), v: (..., Tk, Hv). ``mask`` is a bool tensor that
    broadcasts to (..., Tq, Tk), True where a query may attend to a key. ``dropout_p``
    drops weights (as in training). Returns output (..., Tq, Hv), weights (..., Tq, Tk).

    One query, two keys: the query matches the first key, so it gets more weight.

    >>> q = torch.tensor([[1.0, 0.0]])  # (Tq=1, H=2)
    >>> k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # (Tk=2, H=2)
    >>> v = torch.tensor([[1.0], [0.0]])  # (Tk=2, Hv=1)
    >>> out, weights = scaled_dot_product_attention(q, k, v)
    >>> weights  # softmax([1, 0] / sqrt(2))
    tensor([[0.6698, 0.3302]])
    >>> out
    tensor([[0.6698]])
    """
    _check_attention_inputs(q, k, v, mask)
    # times 1/sqrt(H) rather than divided by sqrt(H): same value, and the same rounding
    # as transformers, so the two agree bit for bit
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.size(-1)))  # (..., Tq, Tk)
    if mask is not None:
        # the most negative float, not -inf: a row with nothing to attend stays finite
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = scores.softmax(dim=-1)  # each row sums to 1
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v, weights  # (..., Tq, Hv), (..., Tq, Tk)


class BertSelfAttention(nn.Module):
    """N attention heads in parallel: project to q, k, v, attend, concatenate.

    (B, T, C) -> (B, T, C), and with ``output_attentions`` the weights (B, N, T, T).

    >>> config = BertConfig.tiny()
    >>> y, weights = BertSelfAttention(config)(torch.randn(2, 5, 32), output_attentions=True)
    >>> tuple(y.shape), tuple(weights.shape)  # (B, T, C), (B, N, T, T)
    ((2, 5, 32), (2, 4, 5, 5))
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        C = config.hidden_size
        self.num_attention_heads = config.num_attention_heads  # N
        self.attention_head_size = config.head_size  # H
        self.query = nn.Linear(C, C)  # all N heads' query projections in one matrix
        self.key = nn.Linear(C, C)
        self.value = nn.Linear(C, C)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, C) -> heads concatenated (B, T, C), weights (B, N, T, T) or None.

        ``attention_mask``: bool (B, 1, 1, T), True on real tokens, or None.
        """
        B, T, C = hidden_states.shape
        N, H = self.num_attention_heads, self.attention_head_size
        q = self.query(hidden_states).view(B, T, N, H).transpose(1, 2)  # (B, N, T, H)
        k = self.key(hidden_states).view(B, T, N, H).transpose(1, 2)  # (B, N, T, H)
        v = self.value(hidden_states).view(B, T, N, H).transpose(1, 2)  # (B, N, T, H)
        dropout_p = self.dropout.p if self.training else 0.0

        if output_attentions:  # explicit, so the weights can be returned and drawn
            y, weights = scaled_dot_product_attention(q, k, v, attention_mask, dropout_p)
        else:  # PyTorch's fused kernel computes the same without keeping the weights
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=attention_mask, dropout_p=dropout_p
            )
            weights = None
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, N * H): heads side by side
        return y, weights


class DenseResidualNorm(nn.Module):
    """Project back to C, dropout, add the residual, LayerNorm (post-LN, as BERT).

    Both sub-layers end this way; transformers names the two uses BertSelfOutput and
    BertOutput, and so do we, so checkpoint keys map one to one.
    """

    def __init__(self, in_features: int, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(in_features, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        """hidden_states (B, T, in_features), input_tensor: the sub-layer's input (B, T, C)."""
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertSelfOutput(DenseResidualNorm):
    """Mix the concatenated heads (dense C -> C), then residual + LayerNorm.

    heads (B, T, C) and the sub-layer's input (B, T, C) -> (B, T, C).

    >>> config = BertConfig.tiny()
    >>> x = torch.randn(2, 5, 32)
    >>> tuple(BertSelfOutput(config)(x, x).shape)
    (2, 5, 32)
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config.hidden_size, config)


class BertAttention(nn.Module):
    """The attention sub-layer: multi-head self-attention, then its output block.

    (B, T, C) -> (B, T, C), and the weights (B, N, T, T) or None.

    >>> config = BertConfig.tiny()
    >>> y, weights = BertAttention(config)(torch.randn(2, 5, 32))
    >>> tuple(y.shape), weights is None
    ((2, 5, 32), True)
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)  # named as in transformers' checkpoints
        self.output = BertSelfOutput(config)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, C) -> (B, T, C), weights (B, N, T, T) or None."""
        heads, weights = self.self(hidden_states, attention_mask, output_attentions)
        return self.output(heads, hidden_states), weights
