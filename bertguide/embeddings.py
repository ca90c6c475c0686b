"""BERT's input layer: one vector per token, from three lookup tables.

Dimension legend: B = batch size, T = tokens, C = hidden size.

For token ``t`` at position ``p`` in segment ``s`` the input vector is

    x = LayerNorm(word_embeddings[t] + token_type_embeddings[s] + position_embeddings[p])

followed by dropout while training. The three tables are learned; positions are
*absolute* (row ``p`` of a table with ``max_position_embeddings`` rows), so BERT cannot
read sequences longer than that table.

Checks: the ids' type, dtype and shape are checked on every call (no cost); their
*values* (inside the tables) only in eval mode, where a reader calls the model on a
sentence: reading a tensor's min and max waits for the device (a host sync), which a
training loop should not pay on every step. In training mode the batches come from
the tokenizer or a collator that built them from the vocabulary.

Left out: relative and rotary position schemes, and ``inputs_embeds`` (feeding vectors
instead of ids).
"""

from __future__ import annotations

import torch
from torch import nn

from bertguide.config import BertConfig


def check_ids(
    name: str, ids: torch.Tensor, shape: torch.Size, upper: int, what: str, values: bool = True
) -> None:
    """Fail clearly unless ``ids`` is a LongTensor of ``shape`` with values in [0, upper).

    ``values=False`` checks only type, dtype and shape, which costs no host sync.
    """
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, not {type(ids).__name__}")
    if ids.dtype != torch.long:
        raise TypeError(f"{name} must have dtype torch.long, not {ids.dtype}")
    if ids.shape != shape:
        raise ValueError(
            f"{name} has shape {list(ids.shape)} but input_ids has shape {list(shape)}; "
            f"they must match"
        )
    if not values or ids.is_meta or ids.numel() == 0:
        return  # meta tensors have no values to check
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= upper:
        bad = low if low < 0 else high
        raise ValueError(f"{name} contains {bad}, outside [0, {upper}) ({what})")


def check_input_ids(input_ids: torch.Tensor) -> None:
    """input_ids must be a 2-D LongTensor (B, T): one row per sequence, even for one."""
    if not isinstance(input_ids, torch.Tensor):
        raise TypeError(
            f"input_ids must be a torch.Tensor of shape (batch, tokens), "
            f"not {type(input_ids).__name__}; e.g. torch.tensor([ids])"
        )
    if input_ids.dtype != torch.long:
        raise TypeError(f"input_ids must have dtype torch.long, not {input_ids.dtype}")
    if input_ids.dim() != 2:
        hint = "; for one sequence use input_ids.unsqueeze(0)" if input_ids.dim() == 1 else ""
        raise ValueError(
            f"input_ids must be 2-D (batch, tokens), got shape {list(input_ids.shape)}{hint}"
        )
    if input_ids.shape[1] == 0:
        raise ValueError("input_ids has no tokens (shape [B, 0])")


class BertEmbeddings(nn.Module):
    """Token + segment + position embeddings, then LayerNorm and dropout.

    input_ids (B, T) [, token_type_ids (B, T), position_ids (B, T)] -> (B, T, C).
    ``token_types=False`` builds no segment table (DistilBERT): ``token_type_ids`` are
    then accepted and ignored.

    >>> config = BertConfig.tiny()
    >>> tuple(BertEmbeddings(config)(torch.tensor([[2, 7, 3]])).shape)
    (1, 3, 32)
    """

    def __init__(self, config: BertConfig, token_types: bool = True) -> None:
        super().__init__()
        C = config.hidden_size
        self.word_embeddings = nn.Embedding(
            config.vocab_size, C, padding_idx=config.pad_token_id
        )  # one row per WordPiece token
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, C)
        self.token_type_embeddings = (  # A/B segment; DistilBERT has none
            nn.Embedding(config.type_vocab_size, C) if token_types else None
        )
        self.LayerNorm = nn.LayerNorm(C, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """input_ids (B, T) -> token vectors (B, T, C)."""
        check_input_ids(input_ids)
        B, T = input_ids.shape
        max_positions = self.position_embeddings.num_embeddings
        if T > max_positions:
            raise ValueError(
                f"input_ids has {T} tokens but this model reads at most "
                f"max_position_embeddings={max_positions}; truncate the input"
            )
        V = self.word_embeddings.num_embeddings
        values = not self.training  # value checks sync with the device: not while training
        check_ids("input_ids", input_ids, input_ids.shape, V, "vocab_size", values)
        segments = self.token_type_embeddings  # None: no segment table, ids ignored
        if segments is not None and token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)  # everything is segment A
        elif segments is not None:
            S = segments.num_embeddings
            check_ids(
                "token_type_ids", token_type_ids, input_ids.shape, S, "type_vocab_size", values
            )
        if position_ids is None:
            position_ids = torch.arange(T, device=input_ids.device).expand(B, T)  # 0 .. T-1
        else:
            check_ids(
                "position_ids",
                position_ids,
                input_ids.shape,
                max_positions,
                "max_position_embeddings",
                values,
            )

        x = self.word_embeddings(input_ids)  # (B, T, C)
        if segments is not None:
            x = x + segments(token_type_ids)  # (B, T, C)
        x = x + self.position_embeddings(position_ids)  # (B, T, C)
        return self.dropout(self.LayerNorm(x))
