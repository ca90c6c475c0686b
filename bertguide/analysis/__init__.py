"""The chapters' analysis helpers: functions that run a real model and measure it.

These sit above the model code (``bertguide.model``, ``bertguide.tokenizer``) and below
the drawings (``bertguide.figures``): each module here serves one chapter and returns
numbers and tensors, never pictures.

=====================  =============================================
module                 chapter
=====================  =============================================
``embeddings``         Embeddings: the three tables of one sentence
``encoder``            The encoder stack: where the parameters live
``contextual``         Contextual vs static embeddings: word senses
``attention_maps``     Visualising attention: ``get_attention``
``patterns``           Visualising attention: what heads look at
=====================  =============================================

Every helper takes ``model=`` and ``tokenizer=``; left out, they are the embedded
default, loaded once per process by :func:`default_model_and_tokenizer`.
"""

from __future__ import annotations

import functools

from bertguide.model import BertModel
from bertguide.tokenizer import WordPieceTokenizer


@functools.lru_cache(maxsize=1)
def default_model_and_tokenizer() -> tuple[BertModel, WordPieceTokenizer]:
    """The embedded model (eval mode) and its tokenizer, loaded once and shared."""
    return BertModel.from_pretrained(), WordPieceTokenizer.from_pretrained()


def model_and_tokenizer(model=None, tokenizer=None) -> tuple[BertModel, WordPieceTokenizer]:
    """``model`` and ``tokenizer`` as given, each ``None`` replaced by the default."""
    if model is None or tokenizer is None:
        default_model, default_tokenizer = default_model_and_tokenizer()
        model = default_model if model is None else model
        tokenizer = default_tokenizer if tokenizer is None else tokenizer
    return model, tokenizer
