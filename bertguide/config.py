"""The shape of a BERT model: one dataclass with Hugging Face's field names.

``BertConfig`` holds every number that decides how big a BERT is and how it
computes. The field names are those of ``transformers.BertConfig``, so a
``config.json`` written for Hugging Face reads straight into it:

>>> BertConfig.base().hidden_size, BertConfig.large().num_hidden_layers
(768, 24)

Reading a Hugging Face ``config.json`` (``from_pretrained`` / ``from_dict``):

* bookkeeping keys that do not change what the encoder computes (``architectures``,
  ``transformers_version``, ``use_cache``, label maps, ...) are ignored, by an
  explicit list;
* keys that *would* change it are accepted only at the value this implementation
  computes (``position_embedding_type="absolute"``, ``is_decoder=False``, ...), and
  anything else fails with a message naming the key;
* any other unknown key fails too, naming it, rather than being silently dropped.

Left out: relative position embeddings, decoder/cross-attention options,
activations other than the exact (erf) GELU, and head pruning.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bertguide.checks import check_float, check_int, check_str
from bertguide.pretrained import read_config, resolve

# Keys Hugging Face writes into config.json that say nothing about the encoder's
# arithmetic: provenance, generation/training switches, label maps for task heads,
# and the unused "pooler_*" keys of the original Google checkpoints.
IGNORED_HF_KEYS = frozenset(
    {
        "_name_or_path",
        "architectures",
        "model_type",  # checked below when present, then dropped
        "transformers_version",
        "dtype",
        "torch_dtype",
        "use_cache",
        "gradient_checkpointing",
        "output_attentions",
        "output_hidden_states",
        "return_dict",
        "torchscript",
        "id2label",
        "label2id",
        "num_labels",
        "problem_type",
        "finetuning_task",
        "classifier_dropout",
        "tie_word_embeddings",
        "bos_token_id",
        "eos_token_id",
        "sep_token_id",
        "tokenizer_class",
        "prefix",
        "task_specific_params",
        "chunk_size_feed_forward",  # a memory-saving loop; the result is the same
        "output_past",
        "directionality",
        "pooler_fc_size",
        "pooler_num_attention_heads",
        "pooler_num_fc_layers",
        "pooler_size_per_head",
        "pooler_type",
    }
)

# Keys that change what the model computes. Only the value that BERT's encoder uses
# (and this package implements) is accepted.
REQUIRED_HF_VALUES: dict[str, Any] = {
    "model_type": "bert",
    "position_embedding_type": "absolute",
    "is_decoder": False,
    "add_cross_attention": False,
    "is_encoder_decoder": False,
    "pruned_heads": {},
}

SUPPORTED_ACTIVATIONS = ("gelu",)  # exact GELU, x * Phi(x) with the erf


@dataclass
class BertConfig:
    """Sizes and constants of a BERT encoder. The defaults are BERT-base (uncased).

    >>> config = BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
    ...                     intermediate_size=1536)  # all-MiniLM-L6-v2's shape
    >>> config.head_size  # H = C / N
    32
    >>> BertConfig().hidden_size, BertConfig.base().head_size
    (768, 64)
    """

    vocab_size: int = 30522  # rows of the word-embedding table (WordPiece vocabulary)
    hidden_size: int = 768  # width of every token vector between layers (C)
    num_hidden_layers: int = 12  # encoder layers stacked on top of each other
    num_attention_heads: int = 12  # heads per self-attention layer (N)
    intermediate_size: int = 3072  # inner width of each feed-forward block (4 * C in BERT)
    hidden_act: str = "gelu"  # feed-forward activation; "gelu" is the exact erf form
    hidden_dropout_prob: float = 0.1  # dropout on embeddings and on each sub-layer's output
    attention_probs_dropout_prob: float = 0.1  # dropout on the attention weights
    max_position_embeddings: int = 512  # longest sequence: rows of the position table
    type_vocab_size: int = 2  # segments (sentence A / sentence B): rows of the type table
    initializer_range: float = 0.02  # std of the normal init of weights for training
    layer_norm_eps: float = 1e-12  # epsilon inside every LayerNorm
    pad_token_id: int = 0  # id of [PAD]; its word-embedding row starts at zero

    def __post_init__(self) -> None:
        positive_ints = (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
        )
        for name in positive_ints:
            check_int(name, getattr(self, name), 1)
        # JSON may write 0 for 0.0: the floats are stored as floats
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            setattr(self, name, check_float(name, getattr(self, name), 0.0, 1.0, open_high=True))
        for name in ("initializer_range", "layer_norm_eps"):
            setattr(self, name, check_float(name, getattr(self, name), 0.0, open_low=True))
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads})"
            )
        if check_str("hidden_act", self.hidden_act) not in SUPPORTED_ACTIVATIONS:
            raise ValueError(
                f"hidden_act={self.hidden_act!r} is not implemented; "
                f"expected one of {SUPPORTED_ACTIVATIONS}"
            )
        pad = check_int("pad_token_id", self.pad_token_id)
        if not 0 <= pad < self.vocab_size:
            raise ValueError(
                f"pad_token_id must be in [0, vocab_size={self.vocab_size}), got {pad}"
            )

    @property
    def head_size(self) -> int:
        """Width of one attention head (H = hidden_size / num_attention_heads)."""
        return self.hidden_size // self.num_attention_heads

    # --- the two sizes of the original paper ---------------------------------

    @classmethod
    def base(cls, **overrides: Any) -> BertConfig:
        """BERT-base: 12 layers, 768 wide, 12 heads (110 M parameters)."""
        return cls(**overrides)

    @classmethod
    def large(cls, **overrides: Any) -> BertConfig:
        """BERT-large: 24 layers, 1024 wide, 16 heads (335 M parameters)."""
        sizes = dict(
            hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096
        )
        return cls(**{**sizes, **overrides})

    @classmethod
    def tiny(cls, **overrides: Any) -> BertConfig:
        """A toy BERT for examples and tests: 2 layers, 32 wide, 4 heads, feed-forward 64,
        a 100-token vocabulary. It computes in milliseconds and knows nothing.

        >>> BertConfig.tiny().hidden_size, BertConfig.tiny(num_attention_heads=2).head_size
        (32, 16)
        """
        sizes = dict(
            vocab_size=100,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
        )
        return cls(**{**sizes, **overrides})

    # --- dictionaries and Hugging Face config.json ---------------------------

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BertConfig:
        """Build from a dict of our fields or a Hugging Face ``config.json`` dict."""
        if not isinstance(d, dict):
            raise TypeError(f"d must be a dict, not {type(d).__name__}")
        fields = {f.name for f in dataclasses.fields(cls)}
        for key, expected in REQUIRED_HF_VALUES.items():
            if key in d and d[key] != expected:
                raise ValueError(
                    f"config {key}={d[key]!r} is not supported: this BERT implements only "
                    f"{key}={expected!r}"
                )
        unknown = sorted(set(d) - fields - IGNORED_HF_KEYS - set(REQUIRED_HF_VALUES))
        if unknown:
            raise ValueError(
                f"unknown config field(s) {', '.join(unknown)}; "
                f"expected fields of BertConfig: {', '.join(sorted(fields))}"
            )
        return cls(**{key: value for key, value in d.items() if key in fields})

    def to_dict(self) -> dict[str, Any]:
        """Our fields only, JSON-ready."""
        return dataclasses.asdict(self)

    def to_hf_dict(self) -> dict[str, Any]:
        """The dict ``transformers.BertConfig`` expects in a ``config.json``."""
        return {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "position_embedding_type": "absolute",
            **self.to_dict(),
        }

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike | None = None) -> BertConfig:
        """Read ``config.json`` of a Hugging Face BERT directory (None = embedded default)."""
        directory = resolve(name_or_path)
        try:
            return cls.from_dict(read_config(directory))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{Path(directory) / 'config.json'}: {error}") from error

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write ``config.json`` (Hugging Face format) into ``directory``; return its path."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        target = path / "config.json"
        target.write_text(json.dumps(self.to_hf_dict(), indent=2) + "\n", encoding="utf-8")
        return target
