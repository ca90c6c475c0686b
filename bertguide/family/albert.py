"""ALBERT: BERT with narrow embeddings, one set of layer weights, and sentence order.

Serves the chapter "The BERT family". Lan et al. (2020), "ALBERT: A Lite BERT for
Self-supervised Learning of Language Representations".

Dimension legend: B = batch size, T = tokens, C = hidden size (H in the paper),
E = embedding size, V = vocabulary size, L = layers, I = feed-forward size.

What changes relative to BERT. (1) *Factorised embeddings*: the word table is V x E
with E much smaller than C, and one Linear(E, C) lifts every token vector to the
layers' width, so the embeddings cost V*E + E*C instead of V*C parameters (ALBERT-base:
3.9 M instead of 23 M). (2) *Cross-layer sharing*: the L layers are one layer applied L
times (``share_layers="all"``), so the stack costs one layer's parameters; the paper
also tries sharing only the attention or only the feed-forward blocks ("attention",
"ffn"), and "none" is BERT's independent layers. Shared means *one tensor*: every
layer reads the same Parameter and its gradient is the sum of every layer's
contribution. (3) *Sentence-order prediction* (SOP) replaces next-sentence prediction:
both segments always come from the same document and are consecutive; the label says
whether they are in their original order (0) or swapped (1), so topic alone cannot
solve the task. The layers themselves are ``bertguide.model.BertLayer`` unchanged.

ALBERT-base (E = 128, C = 768, L = 12, V = 30,000) has 11,683,584 parameters, the
count of transformers' ``AlbertModel``:

>>> from bertguide.model import count_parameters
>>> with torch.device("meta"):                  # shapes only: no memory, no init
...     count_parameters(AlbertModel(AlbertConfig.base()))
11683584

Left out: the tanh GELU approximation of the released checkpoints (``gelu_new``; the
layers here use the exact GELU, as BERT), n-gram masking, the SentencePiece vocabulary,
LAMB, segments of several sentences and transformers' layer groups other than "all
shared" and "none shared".
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.checks import check_float, check_int
from bertguide.config import BertConfig
from bertguide.family.common import BertEncoderModel, MaskedLMHead
from bertguide.initialization import init_bert_weights
from bertguide.masking import IGNORE_INDEX, PreTrainingCollator, check_documents, truncate_pair
from bertguide.model import BertEncoder
from bertguide.tokenizer import WordPieceTokenizer

SHARING = ("all", "attention", "ffn", "none")  # what the L layers share
IN_ORDER, SWAPPED = 0, 1  # sentence_order_label values, as in transformers


@dataclass
class AlbertConfig(BertConfig):
    """``BertConfig`` plus ALBERT's two switches. Defaults: ALBERT-base's shapes."""

    vocab_size: int = 30000  # ALBERT's SentencePiece vocabulary
    embedding_size: int = 128  # E: width of the three embedding tables
    share_layers: str | bool = "all"  # "all", "attention", "ffn" or "none" (True/False)
    hidden_dropout_prob: float = 0.0  # ALBERT trains without dropout
    attention_probs_dropout_prob: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("embedding_size", self.embedding_size, 1)
        if isinstance(self.share_layers, bool):
            self.share_layers = "all" if self.share_layers else "none"
        if self.share_layers not in SHARING:
            raise ValueError(f"share_layers must be one of {SHARING}, got {self.share_layers!r}")

    @classmethod
    def base(cls, **overrides) -> AlbertConfig:
        """ALBERT-base: E = 128, 12 layers of width 768 (12 M parameters)."""
        return cls(**overrides)

    @classmethod
    def large(cls, **overrides) -> AlbertConfig:
        """ALBERT-large: E = 128, 24 layers of width 1024, 16 heads (18 M parameters)."""
        sizes = dict(
            hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096
        )
        return cls(**{**sizes, **overrides})


def shared_encoder(config: AlbertConfig) -> BertEncoder:
    """L ``BertLayer``s that share what ``config.share_layers`` says: (B, T, C) -> (B, T, C).

    "all": one layer object, listed L times, so each Parameter exists once. "attention"
    or "ffn": L layers whose attention (or feed-forward) sub-modules are layer 0's.

    >>> enc = shared_encoder(AlbertConfig.base())
    >>> enc.layer[0].attention.self.query.weight is enc.layer[11].attention.self.query.weight
    True
    """
    if not isinstance(config, AlbertConfig):
        raise TypeError(f"config must be an AlbertConfig, not {type(config).__name__}")
    L = config.num_hidden_layers
    if config.share_layers == "all":
        encoder = BertEncoder(dataclasses.replace(config, num_hidden_layers=1))
        encoder.layer = nn.ModuleList([encoder.layer[0]] * L)  # one layer, L times
        return encoder
    encoder = BertEncoder(config)
    first = encoder.layer[0]
    for layer in encoder.layer[1:]:
        if config.share_layers == "attention":
            layer.attention = first.attention
        elif config.share_layers == "ffn":
            layer.intermediate, layer.output = first.intermediate, first.output
    return encoder


class AlbertModel(BertEncoderModel):
    """ALBERT's encoder: E-wide embeddings -> Linear(E, C) -> shared layers -> pooler.

    input_ids (B, T) -> ``BertModelOutput`` with ``pooler_output`` (B, C), the
    tanh-pooled [CLS] vector as BERT's.
    """

    def __init__(self, config: AlbertConfig) -> None:
        if not isinstance(config, AlbertConfig):
            raise TypeError(f"config must be an AlbertConfig, not {type(config).__name__}")
        super().__init__(
            config,
            embedding_size=config.embedding_size,
            encoder=shared_encoder(config),
            add_pooling_layer=True,
        )


# --- parameters ------------------------------------------------------------------

# (substring of a parameter's name, group), first match wins; the groups of
# bertguide.model.parameter_breakdown plus the projection
_GROUPS = (
    ("LayerNorm", "layer_norms"),
    ("word_embeddings", "word_embeddings"),
    ("position_embeddings", "position_embeddings"),
    ("token_type_embeddings", "token_type_embeddings"),
    ("embeddings_project", "embedding_projection"),
    (".attention.", "attention"),
    (".intermediate.", "feed_forward"),
    (".output.", "feed_forward"),
    ("pooler.", "pooler"),
)


def albert_parameter_breakdown(model_or_config: AlbertModel | AlbertConfig) -> dict[str, int]:
    """Parameters per part of ALBERT, each shared tensor counted once.

    The keys are those of ``bertguide.model.parameter_breakdown`` plus
    ``embedding_projection``, so the two compare part by part with BERT's; the values
    sum to ``count_parameters(model)``. A config is built on the meta device.

    >>> albert_parameter_breakdown(AlbertConfig.base())["word_embeddings"]   # V * E
    3840000
    """
    if isinstance(model_or_config, AlbertConfig):
        with torch.device("meta"):
            model = AlbertModel(model_or_config)
    elif isinstance(model_or_config, AlbertModel):
        model = model_or_config
    else:
        kind = type(model_or_config).__name__
        raise TypeError(f"model_or_config must be an AlbertModel or AlbertConfig, not {kind}")
    counts = dict.fromkeys([group for _, group in _GROUPS], 0)
    for name, parameter in model.named_parameters():  # a shared Parameter appears once
        group = next(g for part, g in _GROUPS if part in name)
        counts[group] += parameter.numel()
    return counts


# --- transformers' AlbertModel keys ------------------------------------------------

_HF_LAYER_KEYS = {  # transformers' AlbertLayer -> our BertLayer
    "attention.query": "attention.self.query",
    "attention.key": "attention.self.key",
    "attention.value": "attention.self.value",
    "attention.dense": "attention.output.dense",
    "attention.LayerNorm": "attention.output.LayerNorm",
    "ffn": "intermediate.dense",
    "ffn_output": "output.dense",
    "full_layer_layer_norm": "output.LayerNorm",
}


def convert_hf_albert_state_dict(
    state_dict: dict[str, torch.Tensor], config: AlbertConfig
) -> dict[str, torch.Tensor]:
    """transformers' ``AlbertModel`` tensors -> ``AlbertModel(config)``'s keys.

    transformers stores G layer groups (``albert_layer_groups.g``) and runs group
    ``i * G // L`` at layer i; G = 1 is ALBERT's full sharing ("all") and G = L no
    sharing ("none"). Every layer index gets its group's tensors, so the result loads
    with ``strict=True``. Heads (``predictions.``, ``sop_classifier.``) and buffers
    are skipped. Raises ValueError for a layout this model cannot hold.

    >>> import transformers
    >>> config = AlbertConfig(vocab_size=100, embedding_size=16, hidden_size=32,
    ...                       num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    >>> hf_model = transformers.AlbertModel(transformers.AlbertConfig(  # one group: "all"
    ...     vocab_size=100, embedding_size=16, hidden_size=32, num_hidden_layers=2,
    ...     num_attention_heads=2, intermediate_size=64, hidden_act="gelu"))
    >>> model = AlbertModel(config)
    >>> model.load_state_dict(convert_hf_albert_state_dict(hf_model.state_dict(), config))
    <All keys matched successfully>
    >>> ids = torch.tensor([[2, 15, 7, 3]])
    >>> torch.equal(model.eval()(ids).last_hidden_state, hf_model.eval()(ids).last_hidden_state)
    True
    """
    if not isinstance(config, AlbertConfig):
        raise TypeError(f"config must be an AlbertConfig, not {type(config).__name__}")
    L = config.num_hidden_layers
    groups = {
        k.split(".albert_layer_groups.")[1].split(".")[0]
        for k in state_dict
        if ".albert_layer_groups." in k
    }
    G = {"all": 1, "none": L}.get(config.share_layers)
    if G is None or len(groups) != G or any(".albert_layers.1." in k for k in state_dict):
        raise ValueError(
            f"the checkpoint has {len(groups)} layer group(s); share_layers="
            f"{config.share_layers!r} with {L} layers reads 1 ('all') or {L} ('none'), "
            f"one layer per group"
        )
    out: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        key = key.removeprefix("albert.")
        if key.startswith(("predictions.", "sop_classifier.")) or key.endswith("_ids"):
            continue
        if key.startswith("encoder.embedding_hidden_mapping_in."):
            out[key.replace("encoder.embedding_hidden_mapping_in", "embeddings_project")] = tensor
        elif key.startswith("encoder.albert_layer_groups."):
            parts = key.split(".")  # encoder albert_layer_groups g albert_layers 0 name... w
            group, name, leaf = int(parts[2]), ".".join(parts[5:-1]), parts[-1]
            for i in range(L):
                if i * G // L == group:
                    out[f"encoder.layer.{i}.{_HF_LAYER_KEYS[name]}.{leaf}"] = tensor
        elif key.startswith("pooler."):
            out[key.replace("pooler.", "pooler.dense.")] = tensor
        else:
            out[key] = tensor  # embeddings.*: the same names
    return out


# --- sentence-order prediction ------------------------------------------------------


def make_sop_pairs(
    documents: Sequence[Sequence[str]],
    tokenizer: WordPieceTokenizer,
    *,
    max_length: int = 128,
    swap_probability: float = 0.5,
    seed: int = 0,
) -> list[dict]:
    """Sentence-order examples: two consecutive sentences, in order or swapped.

    For each pair of consecutive sentences (s, s + 1) of a document: with probability
    ``swap_probability`` the example is ``[CLS] s+1 [SEP] s [SEP]`` (SWAPPED, label 1),
    otherwise ``[CLS] s [SEP] s+1 [SEP]`` (IN_ORDER, label 0). Each example is a dict::

        input_ids, token_type_ids      as in make_nsp_pairs (at most max_length ids)
        sentence_order_label           0 (in order) or 1 (swapped)
        sentence_a, sentence_b         (document index, sentence index) of A and of B

    Too long a pair is cut with ``truncate_pair``; sentences without a token are skipped.

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> docs = [["The cat sat.", "It purred.", "Then it slept."],
    ...         ["Rain fell.", "The river rose.", "Roads closed."]]
    >>> pairs = make_sop_pairs(docs, tok, max_length=16)
    >>> [(p["sentence_a"], p["sentence_b"], p["sentence_order_label"]) for p in pairs]
    [((0, 0), (0, 1), 0), ((0, 1), (0, 2), 0), ((1, 1), (1, 0), 1), ((1, 2), (1, 1), 1)]
    >>> tok.decode(pairs[2]["input_ids"])  # swapped: sentence 1 before sentence 0
    '[CLS] the river rose. [SEP] rain fell. [SEP]'
    """
    check_documents(documents)
    if not isinstance(tokenizer, WordPieceTokenizer):
        raise TypeError(f"tokenizer must be a WordPieceTokenizer, not {type(tokenizer).__name__}")
    check_int("max_length", max_length, minimum=5)
    swap_probability = check_float("swap_probability", swap_probability, 0.0, 1.0)
    check_int("seed", seed, minimum=0)
    budget = max_length - 3  # room left by [CLS], [SEP], [SEP]
    rng = random.Random(seed)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    examples = []
    for d, document in enumerate(documents):
        sentences = [
            (s, ids)
            for s, text in enumerate(document)
            if (ids := tokenizer.encode(text, add_special_tokens=False))
        ]
        for first, second in pairwise(sentences):  # (sentence index, ids) each
            label = SWAPPED if rng.random() < swap_probability else IN_ORDER
            (s_a, ids_a), (s_b, ids_b) = (second, first) if label == SWAPPED else (first, second)
            a, b = truncate_pair(ids_a, ids_b, budget)
            examples.append(
                {
                    "input_ids": [cls, *a, sep, *b, sep],
                    "token_type_ids": [0] * (len(a) + 2) + [1] * (len(b) + 1),
                    "sentence_order_label": label,
                    "sentence_a": (d, s_a),
                    "sentence_b": (d, s_b),
                }
            )
    return examples


class SentenceOrderCollator(PreTrainingCollator):
    """``PreTrainingCollator`` for SOP examples: a batch with ``sentence_order_label`` (B,).

    Masks as the parent does (dynamically unless the examples carry ``labels``).

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> docs = [["The cat sat.", "It purred.", "Then it slept."],
    ...         ["Rain fell.", "The river rose.", "Roads closed."]]
    >>> collate = SentenceOrderCollator(tok, generator=torch.Generator().manual_seed(0))
    >>> batch = collate(make_sop_pairs(docs, tok))
    >>> batch["sentence_order_label"]  # (B,): 0 in order, 1 swapped
    tensor([0, 0, 1, 1])
    >>> config = AlbertConfig(vocab_size=len(tok), embedding_size=16, hidden_size=32,
    ...                       num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    >>> out = AlbertForPreTraining(config)(**batch)
    >>> tuple(out.sop_logits.shape), bool(out.loss == out.mlm_loss + out.sop_loss)
    ((4, 2), True)
    """

    def __call__(self, examples: Sequence[dict]) -> dict[str, torch.Tensor]:
        renamed = []
        for i, example in enumerate(examples):
            if not isinstance(example, dict) or "sentence_order_label" not in example:
                raise TypeError(f"examples[{i}] must be a dict with 'sentence_order_label'")
            renamed.append({**example, "next_sentence_label": example["sentence_order_label"]})
        batch = super().__call__(renamed)
        batch["sentence_order_label"] = batch.pop("next_sentence_label")
        return batch


@dataclass
class AlbertForPreTrainingOutput:
    prediction_logits: torch.Tensor | None  # (B, T, V); None with score_masked_only
    sop_logits: torch.Tensor  # (B, 2): in order (0), swapped (1)
    loss: torch.Tensor | None = None  # mlm_loss + sop_loss (of those whose labels were given)
    mlm_loss: torch.Tensor | None = None
    sop_loss: torch.Tensor | None = None
    masked_lm_logits: torch.Tensor | None = None  # (M, V) with score_masked_only, else None
    prediction_mask: torch.Tensor | None = None  # (B, T) bool: the rows of masked_lm_logits


class AlbertForPreTraining(nn.Module):
    """ALBERT with its two pre-training heads: masked LM (through E) and sentence order."""

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.config = config
        self.albert = AlbertModel(config)
        self.predictions = MaskedLMHead(  # decoder tied to the E-wide word embeddings
            config.hidden_size, self.albert.embeddings.word_embeddings.weight, config.layer_norm_eps
        )
        self.predictions.init_weights(config.initializer_range)
        self.sop_classifier = nn.Linear(config.hidden_size, 2)  # on the pooled [CLS]
        init_bert_weights(self.sop_classifier, config.initializer_range)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        sentence_order_label: torch.Tensor | None = None,
        score_masked_only: bool = False,
    ) -> AlbertForPreTrainingOutput:
        """input_ids (B, T) -> logits and losses; labels (B, T) and ``score_masked_only``
        as for ``BertForPreTraining`` (the MLM head on the M labelled positions only)."""
        if score_masked_only and labels is None:
            raise ValueError("score_masked_only needs labels: they say which positions to score")
        out = self.albert(input_ids, attention_mask, token_type_ids)
        hidden, mask = out.last_hidden_state, None  # (B, T, C)
        if score_masked_only:
            mask = labels != IGNORE_INDEX  # (B, T)
            hidden = hidden[mask]  # (M, C)
        logits = self.predictions(hidden)  # (B, T, V), or (M, V) with score_masked_only
        sop_logits = self.sop_classifier(out.pooler_output)  # (B, 2)
        mlm_loss = sop_loss = None
        if labels is not None and mask is not None:
            mlm_loss = F.cross_entropy(logits, labels[mask])
        elif labels is not None:
            mlm_loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten())
        if sentence_order_label is not None:
            sop_loss = F.cross_entropy(sop_logits, sentence_order_label)
        losses = [x for x in (mlm_loss, sop_loss) if x is not None]
        return AlbertForPreTrainingOutput(
            prediction_logits=None if score_masked_only else logits,
            sop_logits=sop_logits,
            loss=sum(losses) if losses else None,
            mlm_loss=mlm_loss,
            sop_loss=sop_loss,
            masked_lm_logits=logits if score_masked_only else None,
            prediction_mask=mask,
        )
