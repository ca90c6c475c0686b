"""Visualising attention: run the model once and keep what the drawings need.

Chapter: Visualising attention. Dimensions: L = layers, N = heads, T = tokens.

``get_attention(text, text_pair=None)`` returns an :class:`Attention`: the tokens and
the weights, one (L, N, T, T) tensor whose row ``[l, n, i]`` is where token ``i`` looks
in layer ``l``, head ``n`` (it sums to 1). ``token_by_layer`` reduces it to where one
token looks in each layer. The drawings are in ``bertguide.figures.attention_maps``,
the interactive views in ``bertguide.export.views``, the head-pattern scores in
``bertguide.analysis.patterns``.

Left out: attention rollout and flow, and gradient-based attributions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bertguide.analysis import model_and_tokenizer


@dataclass
class Attention:
    """One input's attention: the tokens and every layer's and head's weights.

    ``weights`` is (L, N, T, T); ``sentence_b_start`` is the index of the second text's
    first token, or None for a single text.

    >>> a = get_attention("The cat sat.", "It purred.")
    >>> a.num_layers, a.num_heads, a.index("cat"), a.sentence_b_start
    (6, 12, 2, 6)
    >>> a.tokens[a.sentence_b_start:]
    ['it', 'pu', '##rred', '.', '[SEP]']
    """

    tokens: list[str]
    weights: torch.Tensor  # (L, N, T, T); weights[l, n, i, j] = how much i looks at j
    sentence_b_start: int | None = None  # index of the first token of the second text

    @property
    def num_layers(self) -> int:
        return self.weights.shape[0]

    @property
    def num_heads(self) -> int:
        return self.weights.shape[1]

    def index(self, token: str | int, occurrence: int = 0) -> int:
        """Position of ``token`` (a str, its ``occurrence``-th appearance; or an int index)."""
        if isinstance(token, bool) or not isinstance(token, (str, int)):
            raise TypeError(f"token must be a str or an int index, not {type(token).__name__}")
        if isinstance(token, int):
            if not -len(self.tokens) <= token < len(self.tokens):
                raise ValueError(f"token index {token} is out of range for {len(self.tokens)}")
            return token % len(self.tokens)
        found = [i for i, t in enumerate(self.tokens) if t == token]
        if len(found) <= occurrence:
            raise ValueError(f"token {token!r} (occurrence {occurrence}) is not in {self.tokens}")
        return found[occurrence]


def get_attention(
    text: str, text_pair: str | None = None, *, model=None, tokenizer=None
) -> Attention:
    """Run ``model`` (default: the embedded one) on one text or pair; return its attention.

    >>> a = get_attention("The cat sat.")
    >>> a.tokens, tuple(a.weights.shape)  # (L, N, T, T)
    (['[CLS]', 'the', 'cat', 'sat', '.', '[SEP]'], (6, 12, 6, 6))
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty str, got {text!r}")
    if text_pair is not None and (not isinstance(text_pair, str) or not text_pair.strip()):
        raise ValueError(f"text_pair must be None or a non-empty str, got {text_pair!r}")
    model, tokenizer = model_and_tokenizer(model, tokenizer)
    batch = tokenizer(text, text_pair, return_tensors="pt")
    with torch.no_grad():
        out = model(**batch, output_attentions=True)
    weights = torch.stack([a[0] for a in out.attentions]).float()  # (L, N, T, T)
    ids = batch["input_ids"][0].tolist()
    tokens = tokenizer.convert_ids_to_tokens(ids)
    start = None
    if text_pair is not None:
        start = batch["token_type_ids"][0].tolist().index(1)
    return Attention(tokens, weights, start)


def check_attention(attention) -> Attention:
    if not isinstance(attention, Attention):
        raise TypeError(
            f"attention must be an Attention from bg.get_attention(...), "
            f"not {type(attention).__name__}"
        )
    return attention


def check_layer_head(attention: Attention, layer: int, head: int | None) -> None:
    if not isinstance(layer, int) or not 0 <= layer < attention.num_layers:
        raise ValueError(f"layer must be an int in [0, {attention.num_layers}), got {layer!r}")
    if head is not None and (not isinstance(head, int) or not 0 <= head < attention.num_heads):
        raise ValueError(f"head must be None or an int in [0, {attention.num_heads}), got {head!r}")


def token_by_layer(attention: Attention, token: str | int, occurrence: int = 0) -> torch.Tensor:
    """(L, T): where ``token`` looks in each layer, averaged over the heads."""
    check_attention(attention)
    i = attention.index(token, occurrence)
    return attention.weights[:, :, i, :].mean(1)  # (L, N, T) -> (L, T)
