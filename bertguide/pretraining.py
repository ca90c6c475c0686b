"""BERT's pre-training heads and the model that carries them: ``BertForPreTraining``.

Dimension legend: B = batch size, T = tokens, C = hidden size, V = vocabulary size,
M = labelled (masked) positions in the batch.

Two heads sit on the encoder (Devlin et al., 2019, section 3.1):

    masked LM:      logits = LayerNorm(GELU(h W_t + b_t)) E^T + b     for each token vector h
    next sentence:  logits = pooled W_s + b_s                          for the [CLS] vector

``E`` is the word-embedding matrix (V, C): the decoder of the masked-LM head *is* that
matrix, one tensor used twice (tied), plus a bias of its own per token. The loss is the
sum of two cross-entropies, the masked LM's over the labelled positions (labels other
than -100) and the next-sentence one over the batch, as in transformers.

``prediction_logits`` is always (B, T, V), as transformers returns it. Those logits are
the costliest tensor of pre-training (30,522 scores per token), yet only ~15 % of the
positions have a label. So ``score_masked_only=True`` (with ``labels``) runs the head
on the M labelled positions alone: their logits come as ``masked_lm_logits`` (M, V), in
the row-major order of ``prediction_mask`` (B, T), and ``prediction_logits`` is None.
The loss is the same (the other positions do not enter it); training is faster.

Class and attribute names are those of transformers' ``BertForPreTraining``, so
checkpoint keys name our parameters: ``bert.`` for the encoder, ``cls.predictions.*``
and ``cls.seq_relationship.*`` for the heads. ``from_pretrained`` reads the heads when a
checkpoint has them and otherwise initialises them (BERT's initialisation, seeded):
the embedded default, a sentence-embedding model, has none, so ``heads_loaded`` is False
and the heads must be trained before ``fill_mask`` says anything sensible.

Left out: untied decoders, heads for other objectives (see the model family chapter),
``inputs_embeds`` and returning tuples instead of the output dataclass.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.checkpoint import load_pretrained, read_checkpoint, write_checkpoint
from bertguide.checks import check_bool, check_int
from bertguide.config import BertConfig
from bertguide.initialization import init_bert_weights
from bertguide.masking import IGNORE_INDEX
from bertguide.model import BertModel

logger = logging.getLogger(__name__)


class BertPredictionHeadTransform(nn.Module):
    """dense -> GELU -> LayerNorm on every token vector: (..., C) -> (..., C)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(F.gelu(self.dense(hidden_states)))  # exact (erf) GELU


class BertLMPredictionHead(nn.Module):
    """The masked-LM head: transform, then scores for every token of the vocabulary.

    ``decoder.weight`` is the (V, C) word-embedding matrix when ``word_embeddings`` is
    given (tied: the same Parameter), a fresh matrix otherwise; ``bias`` (V,) is its own.
    """

    def __init__(self, config: BertConfig, word_embeddings: nn.Parameter | None = None) -> None:
        super().__init__()
        C, V = config.hidden_size, config.vocab_size
        self.transform = BertPredictionHeadTransform(config)
        if word_embeddings is None:
            self.decoder = nn.Linear(C, V, bias=False)
        else:
            self.decoder = nn.Linear(C, V, bias=False, device="meta")  # no memory: replaced
            self.decoder.weight = word_embeddings  # tied: one tensor, two uses
        self.bias = nn.Parameter(torch.zeros(V))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """(..., C) -> (..., V): one score per vocabulary token for each vector."""
        return self.decoder(self.transform(hidden_states)) + self.bias


class BertPreTrainingHeads(nn.Module):
    """Both heads: masked-LM scores per token and next-sentence scores per sequence."""

    def __init__(self, config: BertConfig, word_embeddings: nn.Parameter | None = None) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config, word_embeddings)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)  # [IsNext, NotNext]

    def forward(
        self, sequence_output: torch.Tensor, pooled_output: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(..., C) token vectors, (B, C) pooled -> (..., V) and (B, 2) logits."""
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)


@dataclass
class BertForPreTrainingOutput:
    """What ``BertForPreTraining`` returns (transformers' field names, and a few more)."""

    prediction_logits: torch.Tensor | None  # (B, T, V); None with score_masked_only
    seq_relationship_logits: torch.Tensor  # (B, 2): scores of IsNext (0) and NotNext (1)
    last_hidden_state: torch.Tensor  # (B, T, C): the encoder's output
    pooler_output: torch.Tensor  # (B, C): tanh(dense([CLS] vector))
    loss: torch.Tensor | None = None  # mlm_loss + nsp_loss (of those whose labels were given)
    mlm_loss: torch.Tensor | None = None  # mean cross-entropy over the labelled positions
    nsp_loss: torch.Tensor | None = None  # mean cross-entropy over the batch
    masked_lm_logits: torch.Tensor | None = None  # (M, V) with score_masked_only, else None
    prediction_mask: torch.Tensor | None = None  # (B, T) bool: the rows of masked_lm_logits
    hidden_states: tuple[torch.Tensor, ...] | None = None  # L + 1 of (B, T, C)
    attentions: tuple[torch.Tensor, ...] | None = None  # L of (B, N, T, T)


def _check_label_tensor(name: str, labels, shape: torch.Size, allowed: str, ok) -> None:
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long:
        raise TypeError(f"{name} must be a torch.LongTensor of shape {list(shape)}")
    if labels.shape != shape:
        raise ValueError(f"{name} has shape {list(labels.shape)}, expected {list(shape)}")
    if labels.numel() and not labels.is_meta and not bool(ok(labels).all()):
        raise ValueError(f"{name} must hold {allowed}")


class BertForPreTraining(nn.Module):
    """BERT with its two pre-training heads: ``.bert`` (the encoder) and ``.cls``.

    The masked-LM head's decoder is the word-embedding matrix itself (tied).

    >>> config = BertConfig.tiny(num_attention_heads=2)
    >>> model = BertForPreTraining(config)
    >>> model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    True
    >>> out = model(torch.tensor([[2, 7, 9, 3]]))  # no labels: scores at every position
    >>> tuple(out.prediction_logits.shape), tuple(out.seq_relationship_logits.shape)
    ((1, 4, 100), (1, 2))
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"config must be a BertConfig, not {type(config).__name__}")
        self.config = config
        self.bert = BertModel(config)
        word_embeddings = self.bert.embeddings.word_embeddings.weight  # (V, C)
        self.cls = BertPreTrainingHeads(config, word_embeddings)
        init_bert_weights(self.cls, config.initializer_range, tied=[word_embeddings])
        self.heads_loaded = False  # True when from_pretrained read both heads
        self.fresh_heads: tuple[str, ...] = ("predictions", "seq_relationship")  # not loaded

    def tie_weights(self) -> None:
        """Make the decoder weight the word-embedding Parameter again (after loading)."""
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        score_masked_only: bool = False,
    ) -> BertForPreTrainingOutput:
        """input_ids (B, T) -> BertForPreTrainingOutput.

        labels (B, T): the original id at masked positions, -100 elsewhere.
        next_sentence_label (B,): 0 when B follows A, 1 when B is random. Each loss is
        computed when its labels are given and ``loss`` is their sum (transformers
        returns a loss only when both are given). ``prediction_logits`` is (B, T, V).
        ``score_masked_only=True`` (it needs ``labels``) runs the masked-LM head on the
        M labelled positions only, the same loss for a fraction of the work: their
        logits are ``masked_lm_logits`` (M, V), in the row-major order of
        ``prediction_mask`` (B, T), and ``prediction_logits`` is None.

        >>> config = BertConfig.tiny(num_attention_heads=2)
        >>> model = BertForPreTraining(config).eval()  # no dropout: the same loss twice
        >>> labels = torch.tensor([[-100, 7, -100, -100]])  # predict position 1 only: M = 1
        >>> ids, nsp = torch.tensor([[2, 4, 9, 3]]), torch.tensor([0])
        >>> out = model(ids, labels=labels, next_sentence_label=nsp)
        >>> tuple(out.prediction_logits.shape), bool(out.loss == out.mlm_loss + out.nsp_loss)
        ((1, 4, 100), True)
        >>> fast = model(ids, labels=labels, next_sentence_label=nsp, score_masked_only=True)
        >>> tuple(fast.masked_lm_logits.shape), fast.prediction_mask.tolist()  # (M, V), (B, T)
        ((1, 100), [[False, True, False, False]])
        >>> bool(torch.allclose(fast.loss, out.loss)), fast.prediction_logits is None
        (True, True)
        """
        check_bool("score_masked_only", score_masked_only)
        if score_masked_only and labels is None:
            raise ValueError("score_masked_only needs labels: they say which positions to score")
        encoded = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        B, V = input_ids.shape[0], self.config.vocab_size
        sequence_output = encoded.last_hidden_state  # (B, T, C)
        prediction_mask = None
        if labels is not None:
            _check_label_tensor(
                "labels",
                labels,
                input_ids.shape,
                f"-100 or token ids in [0, {V})",
                lambda x: (x == IGNORE_INDEX) | ((x >= 0) & (x < V)),
            )
            if score_masked_only:
                prediction_mask = labels != IGNORE_INDEX  # (B, T)
                sequence_output = sequence_output[prediction_mask]  # (M, C)
        if next_sentence_label is not None:
            _check_label_tensor(
                "next_sentence_label",
                next_sentence_label,
                torch.Size([B]),
                "0 (IsNext) or 1 (NotNext)",
                lambda x: (x == 0) | (x == 1),
            )

        logits, seq_relationship_logits = self.cls(
            sequence_output, encoded.pooler_output
        )  # (B, T, V), or (M, V) with score_masked_only; (B, 2)

        mlm_loss = nsp_loss = loss = None
        if labels is not None:
            if prediction_mask is None:
                mlm_loss = F.cross_entropy(logits.view(-1, V), labels.view(-1))
            else:
                mlm_loss = F.cross_entropy(logits, labels[prediction_mask])
            loss = mlm_loss
        if next_sentence_label is not None:
            nsp_loss = F.cross_entropy(seq_relationship_logits, next_sentence_label)
            loss = nsp_loss if loss is None else loss + nsp_loss
        return BertForPreTrainingOutput(
            prediction_logits=None if score_masked_only else logits,
            seq_relationship_logits=seq_relationship_logits,
            last_hidden_state=encoded.last_hidden_state,
            pooler_output=encoded.pooler_output,
            loss=loss,
            mlm_loss=mlm_loss,
            nsp_loss=nsp_loss,
            masked_lm_logits=logits if score_masked_only else None,
            prediction_mask=prediction_mask,
            hidden_states=encoded.hidden_states,
            attentions=encoded.attentions,
        )

    # --- Hugging Face format -------------------------------------------------

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | os.PathLike | None = None, *, seed: int = 0
    ) -> BertForPreTraining:
        """Load a Hugging Face-format BERT directory (None = the embedded default).

        The encoder is read as ``BertModel.from_pretrained`` reads it. Each head whose
        ``cls.*`` tensors the checkpoint holds is loaded; a head it lacks is initialised
        (BERT's initialisation, drawn from ``torch.Generator().manual_seed(seed)``), and
        so is the pooler when the checkpoint has none (``BertForMaskedLM`` files: the
        pooler only feeds the next-sentence head). What was initialised is logged and
        named in ``model.fresh_heads``; ``model.heads_loaded`` is True when nothing was.
        A stored copy of the tied decoder must equal the word embeddings. Returns the
        model in eval mode, weights in float32.
        """
        check_int("seed", seed)
        checkpoint = read_checkpoint(name_or_path)
        _fold_decoder_bias(checkpoint.tensors)
        model, report = load_pretrained(
            lambda: cls(checkpoint.config),
            checkpoint,
            prefix="bert.",
            optional=("cls.predictions", "cls.seq_relationship", "bert.pooler"),
            seed=seed,
        )
        model.fresh_heads = tuple(part.rsplit(".", 1)[-1] for part in report.fresh)
        model.heads_loaded = not model.fresh_heads
        if model.fresh_heads:
            logger.warning(
                "%s has no %s: initialised (seed %d); train before trusting the predictions",
                checkpoint.directory,
                ", ".join(model.fresh_heads),
                seed,
            )
        return model

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write config.json and model.safetensors (Hugging Face format); return the dir.

        ``transformers.BertForPreTraining.from_pretrained(directory)`` reads it with no
        missing or unexpected keys: the tied ``cls.predictions.decoder.weight`` is left
        out, as transformers leaves it out (it ties the decoder to the embeddings itself).
        """
        settings = {
            **self.config.to_hf_dict(),
            "architectures": ["BertForPreTraining"],
            "tie_word_embeddings": True,
        }
        return write_checkpoint(self, directory, settings)


def _fold_decoder_bias(tensors: dict[str, torch.Tensor]) -> None:
    """Older checkpoints store the masked-LM bias twice, the second time as
    ``cls.predictions.decoder.bias``: keep it once, as ``cls.predictions.bias``."""
    bias = tensors.pop("cls.predictions.decoder.bias", None)
    if bias is None:
        return
    kept = tensors.setdefault("cls.predictions.bias", bias)
    if not torch.equal(kept, bias):
        raise ValueError("cls.predictions.decoder.bias differs from cls.predictions.bias")
