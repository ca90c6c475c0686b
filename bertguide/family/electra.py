"""ELECTRA: a small generator fills the masks, BERT learns to spot the replaced tokens.

Serves the chapter "The BERT family". Clark et al. (2020), "ELECTRA: Pre-training Text
Encoders as Discriminators Rather Than Generators".

Dimension legend: B = batch size, T = tokens, C = hidden size, E = embedding size,
V = vocabulary size, M = masked positions in the batch.

What changes relative to BERT. Masking is BERT's, but the masked sequence now feeds a
small *generator*, an ordinary masked-LM model (``ElectraForMaskedLM``, a fraction of
the discriminator's width). At every masked position a token is *sampled* from the
generator's softmax (no gradient flows through the sample), giving a corrupted
sequence that looks plausible. The *discriminator* (``ElectraForPreTraining``, a BERT
without pooler plus a per-token binary head) reads the corrupted sequence and labels
every token: replaced (1) or original (0). A sampled token that equals the original is
original (label 0), as in the paper: the label compares tokens, not positions. The loss
is ``mlm_loss + 50 * discriminator_loss`` (lambda = 50), the discriminator's being a
binary cross-entropy averaged over all real tokens, so every token teaches the
discriminator, not only the 15 % masked. After pre-training the generator is thrown
away and the discriminator is fine-tuned like BERT.

Left out: ELECTRA's masking proportions (85 % [MASK], 15 % kept, no random tokens;
the batches here come from ``PreTrainingCollator``'s 80/10/10), sharing the token
embeddings between generator and discriminator, the two-stage and adversarial
variants, and ELECTRA's learning-rate layer decay for fine-tuning.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.checks import check_float, check_generator, check_int
from bertguide.config import BertConfig
from bertguide.family.common import (
    BertEncoderModel,
    MaskedLMHead,
)
from bertguide.initialization import init_bert_weights
from bertguide.masking import IGNORE_INDEX

DISCRIMINATOR_WEIGHT = 50.0  # lambda of the combined loss (Clark et al., section 3)
ORIGINAL, REPLACED = 0, 1  # discriminator labels, as in transformers


class ElectraModel(BertEncoderModel):
    """ELECTRA's encoder: BERT without pooler; E-wide embeddings projected when E != C.

    input_ids (B, T) -> ``last_hidden_state`` (B, T, C); the generator's and the
    discriminator's body alike.

    >>> config = BertConfig.tiny()
    >>> model = ElectraModel(config, embedding_size=16)  # E = 16, projected to C = 32
    >>> tuple(model.embeddings.word_embeddings.weight.shape)  # (V, E)
    (100, 16)
    >>> tuple(model(torch.tensor([[2, 7, 3]])).last_hidden_state.shape)  # (B, T, C)
    (1, 3, 32)
    """

    def __init__(self, config: BertConfig, embedding_size: int | None = None) -> None:
        if embedding_size == config.hidden_size:
            embedding_size = None  # transformers: no projection when E = C
        super().__init__(config, embedding_size=embedding_size)


class ElectraForMaskedLM(nn.Module):
    """The generator: ``ElectraModel`` + a masked-LM head tied to its word embeddings."""

    def __init__(self, config: BertConfig, embedding_size: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.electra = ElectraModel(config, embedding_size)
        word_embeddings = self.electra.embeddings.word_embeddings.weight  # (V, E)
        self.generator_head = MaskedLMHead(
            config.hidden_size, word_embeddings, config.layer_norm_eps
        )
        self.generator_head.init_weights(config.initializer_range)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        prediction_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """input_ids (B, T) -> logits (B, T, V), or (M, V) at ``prediction_mask`` (B, T)."""
        hidden = self.electra(input_ids, attention_mask, token_type_ids).last_hidden_state
        if prediction_mask is not None:
            hidden = hidden[prediction_mask]  # (M, C), row-major order
        return self.generator_head(hidden)


class ElectraDiscriminatorPredictions(nn.Module):
    """dense -> GELU -> one score per token: (B, T, C) -> (B, T); > 0 means "replaced"."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dense_prediction = nn.Linear(config.hidden_size, 1)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.dense_prediction(F.gelu(self.dense(hidden_states))).squeeze(-1)  # (B, T)


class ElectraForPreTraining(nn.Module):
    """The discriminator: ``ElectraModel`` + a replaced-token head (transformers' name)."""

    def __init__(self, config: BertConfig, embedding_size: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.electra = ElectraModel(config, embedding_size)
        self.discriminator_predictions = ElectraDiscriminatorPredictions(config)
        init_bert_weights(self.discriminator_predictions, config.initializer_range)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """input_ids (B, T) -> logits (B, T): one "replaced" score per token."""
        hidden = self.electra(input_ids, attention_mask, token_type_ids).last_hidden_state
        return self.discriminator_predictions(hidden)  # (B, T)


def make_generator_config(config: BertConfig, divisor: int = 4) -> BertConfig:
    """A generator ``divisor`` times narrower than the discriminator ``config``.

    Width, heads and feed-forward size are divided; depth and vocabulary kept. The
    paper found generators 1/4 to 1/2 of the discriminator's size to work best.

    >>> make_generator_config(BertConfig.base()).hidden_size
    192
    """
    check_int("divisor", divisor, 1)
    C, N, I = config.hidden_size, config.num_attention_heads, config.intermediate_size
    if C % divisor or N % divisor or I % divisor:
        raise ValueError(
            f"divisor {divisor} must divide hidden_size ({C}), num_attention_heads ({N}) "
            f"and intermediate_size ({I})"
        )
    return dataclasses.replace(
        config,
        hidden_size=C // divisor,
        num_attention_heads=N // divisor,
        intermediate_size=I // divisor,
    )


# --- the replaced-token detection task -----------------------------------------------


def sample_tokens(
    logits: torch.Tensor, generator: torch.Generator | None = None, temperature: float = 1.0
) -> torch.Tensor:
    """One token id sampled from softmax(logits / temperature) per row: (M, V) -> (M,).

    No gradient: the sample is data for the discriminator, not part of the generator's
    graph (the generator learns from its own MLM loss only).

    >>> sample_tokens(torch.tensor([[0.0, 30.0, 0.0]]))       # almost surely token 1
    tensor([1])
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise ValueError("logits must be a 2-D tensor (M, V)")
    check_generator("generator", generator)
    temperature = check_float("temperature", temperature, 1e-6)
    with torch.no_grad():
        probabilities = (logits.float() / temperature).softmax(dim=-1)  # (M, V)
        if probabilities.shape[0] == 0:
            return torch.empty(0, dtype=torch.long, device=logits.device)
        return torch.multinomial(probabilities, 1, generator=generator).squeeze(1)  # (M,)


def replace_tokens(
    original_ids: torch.Tensor,
    prediction_mask: torch.Tensor,
    sampled_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Put the samples in; label each token: ``(corrupted_ids, labels)``, both (B, T).

    ``labels`` is 1 (REPLACED) exactly where the corrupted token differs from the
    original, 0 (ORIGINAL) elsewhere, including masked positions whose sample equals
    the original, and -100 on padding (``attention_mask`` 0).

    >>> replace_tokens(torch.tensor([[5, 6, 7]]), torch.tensor([[False, True, True]]),
    ...                torch.tensor([6, 9]))
    (tensor([[5, 6, 9]]), tensor([[0, 0, 1]]))
    """
    if original_ids.shape != prediction_mask.shape or prediction_mask.dtype != torch.bool:
        raise ValueError("prediction_mask must be a bool tensor of original_ids' shape (B, T)")
    if sampled_ids.shape != (int(prediction_mask.sum()),):
        raise ValueError(
            f"sampled_ids must hold one id per masked position: shape "
            f"[{int(prediction_mask.sum())}], got {list(sampled_ids.shape)}"
        )
    corrupted = original_ids.clone()
    corrupted[prediction_mask] = sampled_ids  # row-major order, as hidden[prediction_mask]
    labels = (corrupted != original_ids).long()  # compare tokens, not positions
    if attention_mask is not None:
        labels = labels.masked_fill(attention_mask == 0, IGNORE_INDEX)
    return corrupted, labels


def discriminator_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the (B, T) logits over the tokens whose label is not -100."""
    real = labels != IGNORE_INDEX
    return F.binary_cross_entropy_with_logits(logits[real], labels[real].float())


@dataclass
class ElectraOutput:
    loss: torch.Tensor  # generator_loss + discriminator_weight * discriminator_loss
    generator_loss: torch.Tensor  # MLM cross-entropy over the masked positions
    discriminator_loss: torch.Tensor  # BCE over all real tokens
    generator_logits: torch.Tensor  # (M, V) at the masked positions
    discriminator_logits: torch.Tensor  # (B, T)
    corrupted_ids: torch.Tensor  # (B, T): the discriminator's input
    discriminator_labels: torch.Tensor  # (B, T): 1 replaced, 0 original, -100 padding


class ElectraGeneratorDiscriminator(nn.Module):
    """Generator and discriminator trained together on one masked batch.

    ``generator_config`` defaults to ``make_generator_config(config)`` (a quarter of the
    width). ``forward`` takes a batch of ``PreTrainingCollator`` (masked ``input_ids`` and
    ``labels``) and returns an ``ElectraOutput`` whose ``loss`` goes to ``train``.
    Samples are drawn with ``sampling_generator`` (seed it for repeatable corruption).

    >>> config = BertConfig.tiny()
    >>> model = ElectraGeneratorDiscriminator(
    ...     config, sampling_generator=torch.Generator().manual_seed(0)
    ... )
    >>> model.generator.config.hidden_size  # a quarter of the discriminator's 32
    8
    >>> input_ids = torch.tensor([[2, 7, 4, 9, 3]])  # position 2 masked (id 4)
    >>> labels = torch.tensor([[-100, -100, 5, -100, -100]])  # its original id
    >>> out = model(input_ids, labels)
    >>> tuple(out.discriminator_logits.shape), out.loss.dim()  # (B, T), a scalar
    ((1, 5), 0)
    """

    def __init__(
        self,
        config: BertConfig,
        generator_config: BertConfig | None = None,
        *,
        discriminator_weight: float = DISCRIMINATOR_WEIGHT,
        sampling_generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if generator_config is None:
            generator_config = make_generator_config(config)
        if generator_config.vocab_size != config.vocab_size:
            raise ValueError("the generator and the discriminator must share one vocabulary")
        self.generator = ElectraForMaskedLM(generator_config)
        self.discriminator = ElectraForPreTraining(config)
        self.discriminator_weight = check_float("discriminator_weight", discriminator_weight, 0.0)
        check_generator("sampling_generator", sampling_generator)
        self.sampling_generator = sampling_generator

    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> ElectraOutput:
        """Masked input_ids (B, T) and labels (B, T) -> ElectraOutput."""
        if not isinstance(labels, torch.Tensor) or labels.shape != input_ids.shape:
            raise ValueError("labels must be a tensor of input_ids' shape (B, T)")
        masked = labels != IGNORE_INDEX  # (B, T): the positions to fill
        original = torch.where(masked, labels, input_ids)  # (B, T): the text before masking
        logits = self.generator(input_ids, attention_mask, token_type_ids, masked)  # (M, V)
        generator_loss = F.cross_entropy(logits, labels[masked])
        sampled = sample_tokens(logits, self.sampling_generator)  # (M,), no gradient
        corrupted, disc_labels = replace_tokens(original, masked, sampled, attention_mask)
        disc_logits = self.discriminator(corrupted, attention_mask, token_type_ids)  # (B, T)
        disc_loss = discriminator_loss(disc_logits, disc_labels)
        return ElectraOutput(
            loss=generator_loss + self.discriminator_weight * disc_loss,
            generator_loss=generator_loss,
            discriminator_loss=disc_loss,
            generator_logits=logits,
            discriminator_logits=disc_logits,
            corrupted_ids=corrupted,
            discriminator_labels=disc_labels,
        )
