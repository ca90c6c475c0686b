"""What the BERT variants share: BERT without its pooler, narrow embeddings, an MLM head.

Serves the chapter "The BERT family". Dimension legend: B = batch size, T = tokens,
C = hidden size (the layers' width), E = embedding size, V = vocabulary size.

Each variant of the family is a small change to ``bertguide``'s own BERT, and three
changes recur, so they live here once:

* **no pooler**: ELECTRA, SpanBERT and DistilBERT never use the tanh-pooled [CLS]
  vector, so ``BertEncoderModel`` is ``BertModel`` without it (embeddings -> L layers);
* **narrow embeddings**: ALBERT (and ELECTRA's small generators) look tokens up in an
  E-wide table and project E -> C before the first layer (``embedding_size``);
* **an MLM head for E-wide embeddings**: dense C -> E, GELU, LayerNorm, then scores
  against the (tied) E-wide word embeddings (``MaskedLMHead``; with E = C it computes
  what ``pretraining.BertLMPredictionHead`` computes).

The layers themselves are ``bertguide.model.BertEncoder``'s, unchanged.

Left out: anything a single variant needs (see its module), and checkpoint loading
beyond the conversions each module offers for parity tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.checks import check_flags, check_int
from bertguide.config import BertConfig
from bertguide.embeddings import BertEmbeddings
from bertguide.model import BertEncoder, init_bert_weights, padding_mask


@dataclass
class EncoderOutput:
    """What the family's encoders return (transformers' field names)."""

    last_hidden_state: torch.Tensor  # (B, T, C): one contextual vector per token
    pooler_output: torch.Tensor | None = None  # (B, C) for models with a pooler (ALBERT)
    hidden_states: tuple[torch.Tensor, ...] | None = None  # L + 1 of (B, T, C); [0] = input
    attentions: tuple[torch.Tensor, ...] | None = None  # L of (B, N, T, T)


def embedding_config(config: BertConfig, embedding_size: int) -> BertConfig:
    """The config of an E-wide ``BertEmbeddings``: ``config`` with hidden_size = E.

    ``BertEmbeddings`` reads the vocabulary, position and segment sizes, the LayerNorm
    epsilon, the dropout and the pad id; the head count is set to 1 only so that any E
    passes ``BertConfig``'s check (E = 128 is not divisible by 12 heads).

    >>> embedding_config(BertConfig.base(), 128).hidden_size
    128
    """
    check_int("embedding_size", embedding_size, 1)
    return dataclasses.replace(
        config, hidden_size=embedding_size, num_attention_heads=1, intermediate_size=1
    )


class BertEncoderModel(nn.Module):
    """BERT without the pooler: embeddings (E wide), a projection E -> C, L layers.

    ``embedding_size=None`` gives BERT's C-wide embeddings and no projection; any
    integer gives an E-wide table and an ``embeddings_project`` Linear(E, C), even
    when E = C (ALBERT always has it). ``embeddings`` replaces the embedding layer
    (DistilBERT's has no segment table) and ``encoder`` the stack (ALBERT shares it).

    >>> model = BertEncoderModel(BertConfig(hidden_size=64, num_attention_heads=4,
    ...     num_hidden_layers=2, intermediate_size=128), embedding_size=16)
    >>> model(torch.tensor([[101, 2023, 102]])).last_hidden_state.shape
    torch.Size([1, 3, 64])
    """

    def __init__(
        self,
        config: BertConfig,
        *,
        embedding_size: int | None = None,
        embeddings: nn.Module | None = None,
        encoder: BertEncoder | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"config must be a BertConfig, not {type(config).__name__}")
        self.config = config
        C = config.hidden_size
        if embeddings is not None:
            self.embeddings = embeddings
        elif embedding_size is None:
            self.embeddings = BertEmbeddings(config)  # (B, T) -> (B, T, C)
        else:
            self.embeddings = BertEmbeddings(embedding_config(config, embedding_size))  # E wide
        self.embeddings_project = None if embedding_size is None else nn.Linear(embedding_size, C)
        self.encoder = BertEncoder(config) if encoder is None else encoder
        self.apply(partial(init_bert_weights, std=config.initializer_range))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> EncoderOutput:
        """input_ids (B, T) -> EncoderOutput; conventions as in ``BertModel.forward``."""
        check_flags(output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        x = self.embeddings(input_ids, token_type_ids, position_ids)  # (B, T, E); checks ids
        if self.embeddings_project is not None:
            x = self.embeddings_project(x)  # (B, T, E) -> (B, T, C)
        mask = padding_mask(attention_mask, input_ids, values=not self.training)  # (B,1,1,T)
        x, hidden_states, attentions = self.encoder(
            x, mask, output_attentions, output_hidden_states
        )
        return EncoderOutput(x, None, hidden_states, attentions)


class MaskedLMHead(nn.Module):
    """Masked-LM scores from C-wide vectors through E-wide word embeddings (tied).

        logits = LayerNorm(GELU(h W_t + b_t)) E^T + b      W_t: (C, E), E: (V, E)

    ``decoder.weight`` *is* ``word_embeddings`` (one Parameter, two uses); ``bias`` (V,)
    is the head's own. With E = C this is ``pretraining.BertLMPredictionHead``.

    >>> table = nn.Embedding(100, 16)                       # V = 100, E = 16
    >>> MaskedLMHead(64, table.weight)(torch.zeros(2, 5, 64)).shape   # C = 64
    torch.Size([2, 5, 100])
    """

    def __init__(
        self, hidden_size: int, word_embeddings: nn.Parameter, layer_norm_eps: float = 1e-12
    ) -> None:
        super().__init__()
        if not isinstance(word_embeddings, nn.Parameter) or word_embeddings.dim() != 2:
            raise TypeError("word_embeddings must be the (V, E) nn.Parameter of an nn.Embedding")
        V, E = word_embeddings.shape
        self.dense = nn.Linear(check_int("hidden_size", hidden_size, 1), E)
        self.LayerNorm = nn.LayerNorm(E, eps=layer_norm_eps)
        self.decoder = nn.Linear(E, V, bias=False, device="meta")  # no memory: replaced
        self.decoder.weight = word_embeddings  # tied
        self.bias = nn.Parameter(torch.zeros(V, device=word_embeddings.device))

    def init_weights(self, std: float) -> None:
        """BERT's initialisation of the head's own tensors; the tied decoder is left alone.

        (``init_bert_weights`` cannot be applied to the whole head: it would redraw the
        word embeddings through the tied decoder.)"""
        with torch.no_grad():
            self.dense.weight.normal_(0.0, std)
            self.dense.bias.zero_()
            self.LayerNorm.weight.fill_(1.0)
            self.LayerNorm.bias.zero_()
            self.bias.zero_()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """(..., C) -> (..., V)."""
        x = self.LayerNorm(F.gelu(self.dense(hidden_states)))  # (..., E); exact (erf) GELU
        return self.decoder(x) + self.bias  # (..., V)
