"""Embeddings: the three lookup tables of one sentence, read part by part.

Chapter: Embeddings. Dimensions: T = tokens, C = hidden size.

``embedding_parts(text, text_pair)`` looks up the token, segment and position rows of
every token in the model's own tables, adds them and applies the embedding LayerNorm,
keeping every step, so the chapter can show (and test) that their sum is what
``model.embeddings`` computes. ``bertguide.figures.embeddings`` draws it.

Left out: dropout (the parts are those of eval mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bertguide.analysis import model_and_tokenizer

EMBEDDINGS_PAIR = ("Paris is a beautiful city", "I love Paris")


@dataclass
class EmbeddingParts:
    """The embedding layer's input vectors, part by part, for one text (or pair).

    Every tensor is (T, C); ``output`` is what ``model.embeddings`` returns in eval mode.
    """

    tokens: list[str]
    token_type_ids: list[int]
    position_ids: list[int]
    token: torch.Tensor  # (T, C): word_embeddings rows, one per token id
    segment: torch.Tensor  # (T, C): token_type_embeddings rows, A = 0, B = 1
    position: torch.Tensor  # (T, C): position_embeddings rows 0 .. T-1
    total: torch.Tensor  # (T, C): token + segment + position
    output: torch.Tensor  # (T, C): LayerNorm(total)


def embedding_parts(
    text: str, text_pair: str | None = None, *, model=None, tokenizer=None
) -> EmbeddingParts:
    """Look up the three embeddings of ``text`` (and ``text_pair``) in the model's tables."""
    model, tokenizer = model_and_tokenizer(model, tokenizer)
    batch = tokenizer(text, text_pair)
    input_ids, token_type_ids = batch["input_ids"][0], batch["token_type_ids"][0]  # (T,)
    position_ids = torch.arange(input_ids.shape[0])  # (T,)
    embeddings = model.embeddings
    with torch.no_grad():
        token = embeddings.word_embeddings.weight[input_ids]  # (T, C)
        segment = embeddings.token_type_embeddings.weight[token_type_ids]  # (T, C)
        position = embeddings.position_embeddings.weight[position_ids]  # (T, C)
        total = token + segment + position
        output = embeddings.LayerNorm(total)  # (T, C)
    return EmbeddingParts(
        tokens=tokenizer.convert_ids_to_tokens(input_ids.tolist()),
        token_type_ids=token_type_ids.tolist(),
        position_ids=position_ids.tolist(),
        token=token,
        segment=segment,
        position=position,
        total=total,
        output=output,
    )
