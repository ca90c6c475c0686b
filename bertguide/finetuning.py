"""Fine-tuning heads: the four task types of the BERT paper on one pre-trained encoder.

Chapter: Fine-tuning and transfer learning. B = batch, T = tokens, K = ``num_labels``.

Devlin et al. (2019, figure 4) put one small layer on the encoder for each kind of task:

    sentence or pair classification:  logits = Dropout(pooled) W + b          (B, K)
    token classification (NER):       logits = Dropout(h_t) W + b   per token  (B, T, K)
    span prediction (QA):             [start, end] = h_t W + b     per token  (B, T) x 2

A pair of sentences is the same classifier on ``[CLS] A [SEP] B [SEP]``. Losses, names
and checkpoint keys are transformers' (``bert.``, ``classifier.``, ``qa_outputs.``;
``num_labels=1`` is a regression with the mean squared error; span positions outside
the sequence are ignored), so checkpoints go both ways with no missing keys. Each
class builds its parts as transformers' do: the encoder ``bert`` (built without its
pooler, ``add_pooling_layer=False``, in the token and span models, which read every
token) and the head ``classifier`` (``qa_outputs`` for spans). ``from_pretrained``
loads a head the checkpoint has, or initialises it (seeded) and says so:
``model.head_loaded`` is then False.

What goes in and comes out of the token and span heads (a word's label on its first
piece, the best valid span, an answer from a long context) is in
``bertguide.words_and_spans``.

Each head writes its ``forward`` signature out in full, as transformers does, so that a
reader sees every argument where the head is defined: a duplicate-code scan lists these
signatures as repeats, and they are kept on purpose.

Left out: multi-label classification, multiple choice, ``inputs_embeds``, tuples."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bertguide.checkpoint import Checkpoint, load_pretrained, read_checkpoint, write_checkpoint
from bertguide.checks import check_int
from bertguide.config import BertConfig
from bertguide.initialization import init_bert_weights, materialize
from bertguide.model import BertModel

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100  # label of tokens that do not enter the token-classification loss


@dataclass
class TaskOutput:
    """What the heads return (transformers' field names)."""

    logits: torch.Tensor | None = None  # (B, K) or (B, T, K); None for span prediction
    loss: torch.Tensor | None = None  # scalar, when labels (or positions) were given
    start_logits: torch.Tensor | None = None  # (B, T): span prediction only
    end_logits: torch.Tensor | None = None  # (B, T)
    hidden_states: tuple[torch.Tensor, ...] | None = None  # L + 1 of (B, T, C)
    attentions: tuple[torch.Tensor, ...] | None = None  # L of (B, N, T, T)


class BertTaskModel(nn.Module):
    """What the three task models share: labels, checkpoint reading and writing.

    Each subclass builds its parts in its own ``__init__``, as transformers' classes
    do: the encoder ``self.bert`` (``BertModel``, with its pooler or without) and the
    head (``self.classifier`` or ``self.qa_outputs``). Two class attributes say what
    the subclass builds, for the code that reads or trains its parts by name:
    ``head_name``, the head's attribute (and checkpoint key prefix), and
    ``uses_pooler``, whether the encoder is built with its pooler
    (``add_pooling_layer``).
    """

    head_name = "classifier"  # the head's attribute and checkpoint key prefix
    uses_pooler = True  # the encoder's add_pooling_layer

    def __init__(
        self,
        config: BertConfig,
        num_labels: int = 2,
        classifier_dropout: float | None = None,
        id2label: dict[int, str] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"config must be a BertConfig, not {type(config).__name__}")
        if isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 1:
            raise ValueError(f"num_labels must be an int >= 1, got {num_labels!r}")
        if classifier_dropout is not None and not 0.0 <= classifier_dropout < 1.0:
            raise ValueError(
                f"classifier_dropout must be in [0, 1) or None, got {classifier_dropout}"
            )
        self.config = config
        self.num_labels = num_labels
        self.classifier_dropout = classifier_dropout
        self.id2label = _label_map(id2label, num_labels)
        self.head_loaded = False  # True when from_pretrained read the head

    @property
    def head(self) -> nn.Linear:
        """The task's output layer: ``self.classifier`` (``qa_outputs`` for spans)."""
        return self.classifier

    def init_head(self, generator: torch.Generator | None = None) -> None:
        """BERT's initialisation of the head: weight ~ N(0, initializer_range), bias 0
        (given memory first when the model was built on the meta device)."""
        materialize(self.head)
        init_bert_weights(self.head, self.config.initializer_range, generator)

    def encode(self, input_ids, attention_mask, token_type_ids, position_ids, attn, hidden):
        return self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            output_attentions=attn,
            output_hidden_states=hidden,
        )

    # --- Hugging Face format -------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike | None = None,
        *,
        num_labels: int | None = None,
        id2label: dict[int, str] | None = None,
        seed: int = 0,
    ):
        """Load a Hugging Face-format BERT directory (None = the embedded default).

        The encoder is read as ``BertModel.from_pretrained`` reads it (a checkpoint of
        another task's head or of the pre-training heads is fine: those tensors are
        skipped). The head is loaded when the checkpoint has this model's head and is
        initialised otherwise (drawn from ``torch.Generator().manual_seed(seed)``),
        with a warning, and so is a missing pooler; ``model.head_loaded`` says which.
        ``num_labels`` defaults to the loaded head's size, then to config.json's
        ``id2label``, then to 2. Returns the model in eval mode, weights in float32.

        >>> model = BertForSequenceClassification.from_pretrained(num_labels=3)
        >>> model.head_loaded, model.classifier.weight.shape
        (False, torch.Size([3, 384]))
        """
        check_int("seed", seed)
        checkpoint = read_checkpoint(name_or_path)
        num_labels, id2label = _labels(cls, checkpoint, num_labels, id2label)
        dropout = checkpoint.settings.get("classifier_dropout")
        model, report = load_pretrained(
            lambda: cls(checkpoint.config, num_labels, dropout, id2label),
            checkpoint,
            prefix="bert.",
            optional=(cls.head_name, "bert.pooler"),
            seed=seed,
        )
        model.head_loaded = cls.head_name not in report.fresh
        if report.fresh:
            logger.warning(
                "%s has no %s for %s: initialised (seed %d); fine-tune before use",
                checkpoint.directory,
                ", ".join(part.rsplit(".", 1)[-1] for part in report.fresh),
                cls.__name__,
                seed,
            )
        return model

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Write config.json and model.safetensors (Hugging Face format); return the dir.

        ``transformers.<ClassName>.from_pretrained(directory)`` reads it with no missing
        or unexpected keys; the label names go into config.json's ``id2label``.
        """
        settings = {
            **self.config.to_hf_dict(),
            "architectures": [type(self).__name__],
            "classifier_dropout": self.classifier_dropout,
            "id2label": {str(i): name for i, name in self.id2label.items()},
            "label2id": {name: i for i, name in self.id2label.items()},
        }
        return write_checkpoint(self, directory, settings)


def _labels(cls, checkpoint: Checkpoint, num_labels, id2label) -> tuple[int, dict | None]:
    """``num_labels`` and ``id2label`` for ``cls.from_pretrained``: the stored head's
    size first, then config.json's label names, then 2 (start and end for spans)."""
    stored = checkpoint.tensors.get(f"{cls.head_name}.weight")
    if id2label is None and isinstance(checkpoint.settings.get("id2label"), dict):
        id2label = {int(k): str(v) for k, v in checkpoint.settings["id2label"].items()}
    if stored is not None:
        if num_labels is not None and num_labels != stored.shape[0]:
            raise ValueError(
                f"{checkpoint.directory} has a {cls.head_name} head for {stored.shape[0]} "
                f"labels, but num_labels={num_labels} was asked for: leave num_labels out, "
                f"or start from a checkpoint without that head"
            )
        num_labels = stored.shape[0]
    elif num_labels is None and cls is BertForQuestionAnswering:
        num_labels = 2  # start and end, whatever labels config.json names
    elif num_labels is None:
        num_labels = len(id2label) if id2label else 2
    if id2label is not None and len(id2label) != num_labels:
        id2label = None  # the config's label names are for another head: default names
    return num_labels, id2label


def _label_map(id2label, num_labels: int) -> dict[int, str]:
    if id2label is None:
        return {i: f"LABEL_{i}" for i in range(num_labels)}
    if not isinstance(id2label, dict) or sorted(id2label) != list(range(num_labels)):
        raise ValueError(f"id2label must map each of 0..{num_labels - 1} to a name")
    return {int(i): str(name) for i, name in id2label.items()}


def _check_labels(name: str, labels, shape: tuple[int, ...], dtype=torch.long) -> None:
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, not {type(labels).__name__}")
    if tuple(labels.shape) != shape:
        raise ValueError(f"{name} has shape {list(labels.shape)}, expected {list(shape)}")
    if dtype == torch.long and labels.dtype != torch.long:
        raise TypeError(f"{name} must be a LongTensor (class indices), got {labels.dtype}")


class BertForSequenceClassification(BertTaskModel):
    """One label (or, with ``num_labels=1``, one number) per sequence or pair, from [CLS].

    logits (B, num_labels); with ``labels`` (B,) also the cross-entropy loss.

    >>> model = BertForSequenceClassification.from_pretrained(num_labels=2)
    >>> out = model(torch.tensor([[101, 2204, 102]]), labels=torch.tensor([1]))
    >>> tuple(out.logits.shape), out.loss.dim()
    ((1, 2), 0)
    """

    head_name = "classifier"
    uses_pooler = True  # a subclass that reads every token instead sets False

    def __init__(
        self,
        config: BertConfig,
        num_labels: int = 2,
        classifier_dropout: float | None = None,
        id2label: dict[int, str] | None = None,
    ) -> None:
        super().__init__(config, num_labels, classifier_dropout, id2label)
        self.bert = BertModel(config, add_pooling_layer=self.uses_pooler)
        p = config.hidden_dropout_prob if classifier_dropout is None else classifier_dropout
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, num_labels)  # pooled [CLS] -> K
        init_bert_weights(self.classifier, config.initializer_range)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> TaskOutput:
        """input_ids (B, T) -> logits (B, K); labels (B,) class ids (or floats for K = 1).

        >>> from bertguide.tokenizer import WordPieceTokenizer
        >>> tok = WordPieceTokenizer.from_pretrained()
        >>> model = BertForSequenceClassification.from_pretrained(num_labels=2)
        >>> batch = tok(["great film", "dull"], padding=True)
        >>> out = model(**batch, labels=torch.tensor([1, 0]))
        >>> tuple(out.logits.shape), out.loss.dim()  # (B, num_labels); mean cross-entropy
        ((2, 2), 0)
        """
        encoded = self.encode(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            output_attentions,
            output_hidden_states,
        )
        logits = self.classifier(self.dropout(encoded.pooler_output))  # (B, K)
        loss = None
        if labels is not None:
            B = input_ids.shape[0]
            if self.num_labels == 1:  # regression
                _check_labels("labels", labels, (B,), dtype=None)
                loss = F.mse_loss(logits.squeeze(-1), labels.to(logits.dtype))
            else:
                _check_labels("labels", labels, (B,))
                loss = F.cross_entropy(logits, labels)
        return TaskOutput(logits, loss, None, None, encoded.hidden_states, encoded.attentions)


class BertForTokenClassification(BertTaskModel):
    """One label per token (named entities, parts of speech); -100 labels are ignored.

    logits (B, T, num_labels).

    >>> model = BertForTokenClassification.from_pretrained(num_labels=5)
    >>> tuple(model(torch.tensor([[101, 3533, 7226, 102]])).logits.shape)
    (1, 4, 5)
    """

    head_name = "classifier"
    uses_pooler = False

    def __init__(
        self,
        config: BertConfig,
        num_labels: int = 2,
        classifier_dropout: float | None = None,
        id2label: dict[int, str] | None = None,
    ) -> None:
        super().__init__(config, num_labels, classifier_dropout, id2label)
        self.bert = BertModel(config, add_pooling_layer=False)  # every token, not [CLS]
        p = config.hidden_dropout_prob if classifier_dropout is None else classifier_dropout
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, num_labels)  # each token -> K
        init_bert_weights(self.classifier, config.initializer_range)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> TaskOutput:
        """input_ids (B, T) -> logits (B, T, K); labels (B, T), -100 where no label.

        >>> from bertguide.tokenizer import WordPieceTokenizer
        >>> from bertguide.words_and_spans import encode_words, word_predictions
        >>> tok = WordPieceTokenizer.from_pretrained()
        >>> model = BertForTokenClassification.from_pretrained(num_labels=5)
        >>> example = encode_words(tok, ["Angela", "Merkel", "visited", "Paris"], [1, 2, 0, 3])
        >>> word_ids = example.pop("word_ids")
        >>> out = model(**{k: v[None] for k, v in example.items()})  # a batch of one: (1, T)
        >>> tuple(out.logits.shape), out.loss.dim()  # (B, T, K); labels were included
        ((1, 7, 5), 0)
        >>> len(word_predictions(word_ids, out.logits[0].argmax(-1)))  # a label id per word
        4
        """
        encoded = self.encode(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            output_attentions,
            output_hidden_states,
        )
        logits = self.classifier(self.dropout(encoded.last_hidden_state))  # (B, T, K)
        loss = None
        if labels is not None:
            _check_labels("labels", labels, tuple(input_ids.shape))
            loss = F.cross_entropy(
                logits.view(-1, self.num_labels), labels.view(-1), ignore_index=IGNORE_INDEX
            )
        return TaskOutput(logits, loss, None, None, encoded.hidden_states, encoded.attentions)


class BertForQuestionAnswering(BertTaskModel):
    """A start score and an end score per token: the answer is the best span of them.

    start_logits and end_logits (B, T); ``answer_question`` turns them into text.

    >>> out = BertForQuestionAnswering.from_pretrained()(torch.tensor([[101, 2040, 102]]))
    >>> tuple(out.start_logits.shape), tuple(out.end_logits.shape)
    ((1, 3), (1, 3))
    """

    head_name = "qa_outputs"
    uses_pooler = False

    def __init__(
        self,
        config: BertConfig,
        num_labels: int = 2,
        classifier_dropout: float | None = None,
        id2label: dict[int, str] | None = None,
    ) -> None:
        if num_labels != 2:
            raise ValueError(
                f"BertForQuestionAnswering has num_labels=2 (start, end), got {num_labels}"
            )
        super().__init__(config, 2, classifier_dropout, id2label)
        self.bert = BertModel(config, add_pooling_layer=False)  # every token, not [CLS]
        self.qa_outputs = nn.Linear(config.hidden_size, 2)  # each token -> start, end
        init_bert_weights(self.qa_outputs, config.initializer_range)

    @property
    def head(self) -> nn.Linear:
        return self.qa_outputs

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> TaskOutput:
        """input_ids (B, T) -> start_logits, end_logits (B, T); positions (B,) token indices.

        The loss is the mean of the start and end cross-entropies; a position outside
        [0, T) (an answer cut off by truncation) is clamped to T and ignored.

        >>> from bertguide.tokenizer import WordPieceTokenizer
        >>> tok = WordPieceTokenizer.from_pretrained()
        >>> model = BertForQuestionAnswering.from_pretrained()
        >>> batch = tok("Who wrote it?", "Ada wrote it.")  # ada is token 6
        >>> out = model(**batch, start_positions=torch.tensor([6]), end_positions=torch.tensor([6]))
        >>> tuple(out.start_logits.shape), out.loss.dim(), out.logits is None
        ((1, 11), 0, True)
        """
        encoded = self.encode(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            output_attentions,
            output_hidden_states,
        )
        # transformers applies no dropout before qa_outputs
        logits = self.qa_outputs(encoded.last_hidden_state)  # (B, T, 2)
        start_logits, end_logits = logits[..., 0], logits[..., 1]  # (B, T) each
        loss = None
        if (start_positions is None) != (end_positions is None):
            raise ValueError("pass both start_positions and end_positions, or neither")
        if start_positions is not None:
            B, T = input_ids.shape
            _check_labels("start_positions", start_positions, (B,))
            _check_labels("end_positions", end_positions, (B,))
            start = start_positions.clamp(0, T)  # T: an answer outside the window, ignored
            end = end_positions.clamp(0, T)
            loss = (
                F.cross_entropy(start_logits, start, ignore_index=T)
                + F.cross_entropy(end_logits, end, ignore_index=T)
            ) / 2
        return TaskOutput(
            None, loss, start_logits, end_logits, encoded.hidden_states, encoded.attentions
        )
