"""The encoder stack: where the parameters of five BERT-shaped models live.

Chapter: The encoder stack and model sizes.

``model_size_breakdowns()`` counts the parameters of each part (embeddings, attention,
feed-forward, LayerNorms, pooler) of BERT-base, BERT-large, the embedded MiniLM,
DistilBERT and ALBERT-base, from ``bertguide.model.parameter_breakdown`` on the meta
device (no memory) and, for ALBERT's factorised and shared layout, from its formula.
``bertguide.figures.encoder`` draws them.

Left out: the task heads, which add a few thousand parameters at most.
"""

from __future__ import annotations

from bertguide.config import BertConfig
from bertguide.model import parameter_breakdown


def model_size_breakdowns() -> dict[str, dict[str, int]]:
    """Parameter parts of BERT-base, BERT-large, the embedded MiniLM, DistilBERT, ALBERT-base.

    DistilBERT is a 6-layer BERT-base without token-type embeddings and pooler; ALBERT-base
    has 128-wide embeddings projected to 768 and one layer shared by all 12.
    """
    base = BertConfig.base()
    parts = parameter_breakdown(base)
    distil = parameter_breakdown(BertConfig.from_dict({**base.to_dict(), "num_hidden_layers": 6}))
    distil.update(token_type_embeddings=0, pooler=0)
    E, C, L = 128, base.hidden_size, base.num_hidden_layers
    albert = {
        "word_embeddings": 30_000 * E,
        "position_embeddings": base.max_position_embeddings * E,
        "token_type_embeddings": base.type_vocab_size * E,
        "embedding_projection": E * C + C,
        "layer_norms": 2 * E + 2 * 2 * C,  # one on the embeddings, two in the shared layer
        "attention": parts["attention"] // L,
        "feed_forward": parts["feed_forward"] // L,
        "pooler": parts["pooler"],
    }
    return {
        "BERT-large": parameter_breakdown(BertConfig.large()),
        "BERT-base": parts,
        "DistilBERT": distil,
        "MiniLM-L6-H384": parameter_breakdown(BertConfig.from_pretrained()),
        "ALBERT-base": albert,
    }
