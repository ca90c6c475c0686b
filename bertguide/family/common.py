"""What the BERT variants share: narrow embeddings and an MLM head for them.

Serves the chapter "The BERT family". Dimension legend: B = batch size, T = tokens,
C = hidden size (the layers' width), E = embedding size, V = vocabulary size.

Each variant of the family is a small change to ``bertguide``'s own BERT, and three
changes recur:

* **no pooler**: ELECTRA, SpanBERT and DistilBERT never use the tanh-pooled [CLS]
  vector: ``BertModel(config, add_pooling_layer=False)`` leaves it out;
* **narrow embeddings**: ALBERT (and ELECTRA's small generators) look tokens up in an
  E-wide table and project E -> C before the first layer (``BertEncoderModel``, a
  ``BertModel`` with ``embedding_size``);
* **an MLM head for E-wide embeddings**: dense C -> E, GELU, LayerNorm, then scores
  against the (tied) E-wide word embeddings (``MaskedLMHead``; with E = C it computes
  what ``pretraining.BertLMPredictionHead`` computes).

The layers and the forward pass are ``bertguide.model``'s, unchanged.

Left out: anything a single variant needs (see its module), and checkpoint loading
beyond the conversions each module offers for parity tests.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.checks import check_int
from bertguide.config import BertConfig
from bertguide.embeddings import BertEmbeddings
from bertguide.initialization import init_bert_weights
from bertguide.model import BertEncoder, BertModel


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


class BertEncoderModel(BertModel):
    """``BertModel`` whose embedding table may be E wide, projected E -> C before the layers.

    ``embedding_size=None`` gives BERT's C-wide embeddings and no projection; any
    integer gives an E-wide table and an ``embeddings_project`` Linear(E, C), even
    when E = C (ALBERT always has it). ``encoder`` replaces the stack (ALBERT shares
    it); there is no pooler unless ``add_pooling_layer`` (ALBERT has one). The rest,
    forward pass included, is ``BertModel``'s.

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
        encoder: BertEncoder | None = None,
        add_pooling_layer: bool = False,
    ) -> None:
        embeddings = project = None
        if embedding_size is not None:
            embeddings = BertEmbeddings(embedding_config(config, embedding_size))  # E wide
            project = nn.Linear(embedding_size, config.hidden_size)
        super().__init__(config, add_pooling_layer, embeddings=embeddings, encoder=encoder)
        self.embeddings_project = project
        if project is not None:
            init_bert_weights(project, config.initializer_range)

    def embed(self, input_ids, token_type_ids=None, position_ids=None) -> torch.Tensor:
        """input_ids (B, T) -> (B, T, C): the embeddings (B, T, E), projected when E-wide."""
        x = super().embed(input_ids, token_type_ids, position_ids)  # (B, T, E)
        return x if self.embeddings_project is None else self.embeddings_project(x)


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
        """BERT's initialisation of the head's own tensors; the tied decoder is left alone."""
        init_bert_weights(self, std, tied=[self.decoder.weight])

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """(..., C) -> (..., V)."""
        x = self.LayerNorm(F.gelu(self.dense(hidden_states)))  # (..., E); exact (erf) GELU
        return self.decoder(x) + self.bias  # (..., V)
