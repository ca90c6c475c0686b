"""The encoder stack: feed-forward block, encoder layer, encoder, pooler, BertModel.

Dimension legend: B = batch size, T = tokens, C = hidden size, N = heads,
I = intermediate (feed-forward) size, L = layers.

One encoder layer (post-LayerNorm, as in the original BERT):

    a = LayerNorm(x + Dropout(MultiHeadSelfAttention(x) W_o))      # BertAttention
    y = LayerNorm(a + Dropout(GELU(a W_1 + b_1) W_2 + b_2))        # BertIntermediate/Output

``BertModel`` = ``BertEmbeddings`` -> L layers -> ``BertPooler`` (tanh of a dense layer on
the [CLS] vector; ``mean_pool`` averages the tokens instead). Class and attribute names
are those of ``transformers``, so a Hugging Face checkpoint's keys name our parameters;
``from_pretrained`` still maps them explicitly (``bertguide.checkpoint``, shared by
every model class) so that every
difference is visible and every mismatch fails with the key's name.

Input conventions: ``input_ids`` must be a 2-D LongTensor (B, T), even for a single
sequence (``ids.unsqueeze(0)``); a 1-D tensor is refused rather than guessed at.
``attention_mask`` (B, T) holds 1 for real tokens and 0 for padding. Types and shapes
are checked on every call; values (ids inside the vocabulary, a mask of 1s and 0s with
no empty row) in eval mode only, since reading them waits for the device: in training
mode the batches come from the tokenizer or a collator, and the forward pass has no
host syncs.

Left out: the pre-training and task heads (see ``pretraining.py``, ``finetuning.py``),
decoder use, cross-attention, key/value caches, gradient checkpointing, head pruning
and ``inputs_embeds``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.attention import BertAttention, DenseResidualNorm
from bertguide.checkpoint import load_pretrained, read_checkpoint, write_checkpoint
from bertguide.checks import check_flags
from bertguide.config import BertConfig
from bertguide.embeddings import BertEmbeddings
from bertguide.initialization import init_bert_weights


class BertIntermediate(nn.Module):
    """First half of the feed-forward block: widen C -> I and apply GELU.

    (B, T, C) -> (B, T, I).

    >>> config = BertConfig.tiny()
    >>> tuple(BertIntermediate(config)(torch.randn(2, 5, 32)).shape)  # I = 64
    (2, 5, 64)
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        # exact GELU: x * Phi(x), Phi the standard normal CDF (erf form, not tanh)
        return F.gelu(self.dense(hidden_states))  # (B, T, C) -> (B, T, I)


class BertOutput(DenseResidualNorm):
    """Second half: narrow I -> C, dropout, add the residual, LayerNorm.

    (B, T, I) and the sub-layer's input (B, T, C) -> (B, T, C).

    >>> config = BertConfig.tiny()
    >>> tuple(BertOutput(config)(torch.randn(2, 5, 64), torch.randn(2, 5, 32)).shape)
    (2, 5, 32)
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config.intermediate_size, config)


class BertLayer(nn.Module):
    """One encoder layer: attention sub-layer, then feed-forward sub-layer.

    (B, T, C) -> (B, T, C), and the weights (B, N, T, T) or None.

    >>> config = BertConfig.tiny()
    >>> y, weights = BertLayer(config)(torch.randn(2, 5, 32), output_attentions=True)
    >>> tuple(y.shape), tuple(weights.shape)
    ((2, 5, 32), (2, 4, 5, 5))
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, C) -> (B, T, C), attention weights (B, N, T, T) or None."""
        a, weights = self.attention(hidden_states, attention_mask, output_attentions)
        return self.output(self.intermediate(a), a), weights


class BertEncoder(nn.Module):
    """L encoder layers applied one after another.

    (B, T, C) -> (B, T, C), plus L + 1 hidden states and L attention maps when asked.

    >>> config = BertConfig.tiny()
    >>> x, hidden, weights = BertEncoder(config)(
    ...     torch.randn(2, 5, 32), output_attentions=True, output_hidden_states=True
    ... )
    >>> tuple(x.shape), len(hidden), len(weights)  # L = 2
    ((2, 5, 32), 3, 2)
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> tuple[torch.Tensor, tuple | None, tuple | None]:
        """(B, T, C) -> last (B, T, C), L + 1 hidden states or None, L weights or None."""
        all_hidden = [hidden_states] if output_hidden_states else None  # embeddings first
        all_weights = [] if output_attentions else None
        for layer in self.layer:
            hidden_states, weights = layer(hidden_states, attention_mask, output_attentions)
            if output_hidden_states:
                all_hidden.append(hidden_states)
            if output_attentions:
                all_weights.append(weights)
        return (
            hidden_states,
            tuple(all_hidden) if output_hidden_states else None,
            tuple(all_weights) if output_attentions else None,
        )


class BertPooler(nn.Module):
    """A sentence vector: tanh(dense) of the first token's ([CLS]) final vector.

    (B, T, C) -> (B, C), each value in (-1, 1).

    >>> config = BertConfig.tiny()
    >>> pooled = BertPooler(config)(torch.randn(2, 5, 32))
    >>> tuple(pooled.shape), bool(pooled.abs().max() < 1)
    ((2, 32), True)
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))  # (B, T, C) -> (B, C)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, T, C) token vectors, (B, T) mask -> (B, C): the mean over the real tokens.

    The other way to one vector per sequence, next to the pooler's [CLS]: padding
    (mask 0) is left out of the mean, and a row with no real token gives zeros.

    >>> hidden = torch.tensor([[[1.0], [3.0], [9.0]], [[4.0], [0.0], [0.0]]])  # (2, 3, 1)
    >>> mean_pool(hidden, torch.tensor([[1, 1, 0], [1, 0, 0]]))
    tensor([[2.],
            [4.]])
    """
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (B, C)


@dataclass
class BertModelOutput:
    """What ``BertModel`` returns (field names as in transformers).

    >>> config = BertConfig.tiny()
    >>> out = BertModel(config)(torch.tensor([[2, 7, 3]]), output_hidden_states=True)
    >>> tuple(out.last_hidden_state.shape), tuple(out.pooler_output.shape)  # (B, T, C), (B, C)
    ((1, 3, 32), (1, 32))
    >>> len(out.hidden_states), out.attentions is None  # L + 1; not asked for
    (3, True)
    """

    last_hidden_state: torch.Tensor  # (B, T, C): one contextual vector per token
    pooler_output: torch.Tensor | None  # (B, C): tanh(dense([CLS] vector)); None: no pooler
    hidden_states: tuple[torch.Tensor, ...] | None = None  # L + 1 of (B, T, C); [0] = embeddings
    attentions: tuple[torch.Tensor, ...] | None = None  # L of (B, N, T, T); rows sum to 1


def padding_mask(
    attention_mask: torch.Tensor | None, input_ids: torch.Tensor, values: bool = True
) -> torch.Tensor | None:
    """attention_mask (B, T) of 1/0 -> bool (B, 1, 1, T) for every head and query, or None.

    With ``values`` (eval mode) the mask's values are checked and an all-ones mask is
    dropped; both read the tensor on the host. Without (training), neither happens.

    >>> ids = torch.tensor([[101, 7592, 102], [101, 102, 0]])
    >>> padding_mask(torch.tensor([[1, 1, 1], [1, 1, 0]]), ids).int().tolist()
    [[[[1, 1, 1]]], [[[1, 1, 0]]]]
    >>> padding_mask(torch.ones(2, 3, dtype=torch.long), ids) is None  # nothing to hide
    True
    """
    if attention_mask is None:
        return None
    if not isinstance(attention_mask, torch.Tensor):
        kind = type(attention_mask).__name__
        raise TypeError(f"attention_mask must be a torch.Tensor, not {kind}")
    if attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"attention_mask has shape {list(attention_mask.shape)} but input_ids has shape "
            f"{list(input_ids.shape)}; they must match"
        )
    if attention_mask.is_meta or not values:
        return attention_mask.bool()[:, None, None, :]
    mask = attention_mask.bool()
    if not torch.equal(mask.to(attention_mask.dtype), attention_mask):
        raise ValueError("attention_mask must hold only 1 (real token) and 0 (padding)")
    empty = ~mask.any(dim=1)
    if empty.any():
        rows = empty.nonzero().flatten().tolist()
        raise ValueError(f"attention_mask row(s) {rows} are all 0: nothing to attend to")
    if mask.all():
        return None  # nothing to hide: let attention skip the mask
    return mask[:, None, None, :]  # (B, 1, 1, T): the same keys hidden for every query


class BertModel(nn.Module):
    """BERT's encoder: embeddings, L layers, pooler.

    input_ids (B, T) -> ``BertModelOutput``: last_hidden_state (B, T, C), pooler_output
    (B, C), and with ``output_hidden_states`` / ``output_attentions`` L + 1 tensors
    (B, T, C) / L tensors (B, N, T, T).

    ``add_pooling_layer=False`` leaves the pooler out (``pooler_output`` is then None),
    as transformers does for the heads that read every token. The BERT family's
    variants reuse this class with parts of their own: ``embeddings`` (DistilBERT's
    have no segment table, ALBERT's are E wide) and ``encoder`` (ALBERT's shares its
    layers); None builds BERT's. New weights follow BERT's initialisation
    (``bertguide.initialization``); ``from_pretrained`` replaces them.

    >>> from bertguide.tokenizer import WordPieceTokenizer
    >>> tokenizer = WordPieceTokenizer.from_pretrained()
    >>> model = BertModel.from_pretrained()  # the embedded all-MiniLM-L6-v2
    >>> batch = tokenizer(["The cat sat.", "Hi"], padding=True)
    >>> out = model(**batch, output_attentions=True)
    >>> tuple(out.last_hidden_state.shape), tuple(out.pooler_output.shape)
    ((2, 6, 384), (2, 384))
    >>> len(out.attentions), tuple(out.attentions[0].shape)  # L = 6 of (B, N, T, T)
    (6, (2, 12, 6, 6))
    """

    def __init__(
        self,
        config: BertConfig,
        add_pooling_layer: bool = True,
        *,
        embeddings: nn.Module | None = None,
        encoder: BertEncoder | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"config must be a BertConfig, not {type(config).__name__}")
        if not isinstance(add_pooling_layer, bool):
            kind = type(add_pooling_layer).__name__
            raise TypeError(f"add_pooling_layer must be a bool, not {kind}")
        self.config = config
        self.embeddings = BertEmbeddings(config) if embeddings is None else embeddings
        self.encoder = BertEncoder(config) if encoder is None else encoder
        self.pooler = BertPooler(config) if add_pooling_layer else None
        init_bert_weights(self, config.initializer_range)

    def embed(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """input_ids (B, T) -> the first layer's input (B, T, C); checks the ids.

        BERT's is its embeddings' output; ALBERT and ELECTRA project it from E to C.
        """
        return self.embeddings(input_ids, token_type_ids, position_ids)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BertModelOutput:
        """input_ids (B, T) -> BertModelOutput; see the module docstring for conventions."""
        check_flags(output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        x = self.embed(input_ids, token_type_ids, position_ids)  # (B, T, C); checks ids
        mask = padding_mask(attention_mask, input_ids, values=not self.training)  # (B,1,1,T)
        x, hidden_states, attentions = self.encoder(
            x, mask, output_attentions, output_hidden_states
        )
        return BertModelOutput(
            last_hidden_state=x,
            pooler_output=None if self.pooler is None else self.pooler(x),  # (B, C)
            hidden_states=hidden_states,
            attentions=attentions,
        )

    # --- Hugging Face format -------------------------------------------------

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike | None = None) -> BertModel:
        """Load a Hugging Face-format BERT directory (None = the embedded default).

        Every tensor of the encoder and the pooler must be there; heads and buffers the
        file also holds are skipped (``bertguide.checkpoint``). Returns the model in
        eval mode, weights in float32.
        """
        checkpoint = read_checkpoint(name_or_path)
        model, _ = load_pretrained(lambda: cls(checkpoint.config), checkpoint)
        return model

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write config.json and model.safetensors (Hugging Face format); return the dir."""
        return write_checkpoint(self, directory, self.config.to_hf_dict())


# --- counting parameters -------------------------------------------------------


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (shared tensors counted once); works on the meta device.

    >>> with torch.device("meta"):  # no memory used
    ...     model = BertModel(BertConfig.base())
    >>> count_parameters(model)  # BERT-base
    109482240
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, not {type(module).__name__}")
    return sum(p.numel() for p in module.parameters())


# (substring of a parameter's name, group), first match wins
_PARAMETER_GROUPS = (
    ("LayerNorm", "layer_norms"),
    ("word_embeddings", "word_embeddings"),
    ("position_embeddings", "position_embeddings"),
    ("token_type_embeddings", "token_type_embeddings"),
    (".attention.", "attention"),  # q, k, v and the output projection
    (".intermediate.", "feed_forward"),
    (".output.", "feed_forward"),  # the attention's .output. was matched above
    ("pooler.", "pooler"),
)


def parameter_breakdown(model_or_config: BertModel | BertConfig) -> dict[str, int]:
    """Parameters per part of BERT; the values sum to ``count_parameters(model)``.

    Given a config, the model is built on the meta device, so even BERT-large costs
    no memory.

    >>> parts = parameter_breakdown(BertConfig.base())
    >>> parts["word_embeddings"], parts["attention"], parts["feed_forward"]
    (23440896, 28348416, 56669184)
    >>> sum(parts.values())
    109482240
    """
    if isinstance(model_or_config, BertConfig):
        with torch.device("meta"):
            model = BertModel(model_or_config)
    elif isinstance(model_or_config, BertModel):
        model = model_or_config
    else:
        raise TypeError(
            f"model_or_config must be a BertModel or a BertConfig, "
            f"not {type(model_or_config).__name__}"
        )
    counts = dict.fromkeys([group for _, group in _PARAMETER_GROUPS], 0)
    for name, parameter in model.named_parameters():
        group = next((g for part, g in _PARAMETER_GROUPS if part in name), None)
        if group is None:
            raise RuntimeError(f"parameter {name} belongs to no group of parameter_breakdown")
        counts[group] += parameter.numel()
    return counts
