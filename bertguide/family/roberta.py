"""RoBERTa: BERT's model, trained differently: new masks, no NSP, full inputs, big batches.

Serves the chapter "The BERT family". Liu et al. (2019), "RoBERTa: A Robustly Optimized
BERT Pretraining Approach".

Dimension legend: B = batch size, T = tokens, E = epochs (passes over the data).

What changes relative to BERT: nothing in the network, everything in its training.
(1) *Dynamic masking*: BERT masked its data once, ten copies with different masks, so
over 40 epochs a sequence met each of its masks four times; RoBERTa draws a new mask
every time a sequence is fed to the model. Here the two are two data pipelines with one
interface (``StaticMasking``, ``DynamicMasking``), and ``count_distinct_masks`` measures
the difference: over E epochs a sequence sees at most ``duplicates`` masks under static
masking and (almost always) E under dynamic masking. (2) *No next-sentence prediction*:
the loss is the masked-LM loss alone (``BertForPreTraining`` without
``next_sentence_label``, see ``mlm_only_loss``). (3) *Full-sentence inputs*: each input
is packed with whole consecutive sentences up to ``max_length`` tokens, running on into
the next document after an extra separator (``pack_full_sentences``), instead of BERT's
sentence pairs. (4) *Larger batches*: 8K sequences per step with a learning rate raised
to match (``EQUAL_COMPUTE_BATCHES``, ``large_batch_config``: gradient accumulation gives
a large batch on a small machine).

Elsewhere: RoBERTa's kind of vocabulary, a byte-level BPE, is ``bertguide.family.bpe``
(learned from the offline corpus); the pipelines here keep BERT's WordPiece ids.

Left out: RoBERTa's own 50K vocabulary, the larger corpora and longer training,
RoBERTa's position offset (its ids start after the padding index) and its absence of
segment embeddings; the model here keeps BERT's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from bertguide.checks import check_bool, check_float, check_int
from bertguide.masking import PreTrainingCollator, check_documents, mask_examples
from bertguide.tokenizer import WordPieceTokenizer
from bertguide.training import TrainingConfig

# Liu et al. (2019), Table 3: batch size -> (steps, peak learning rate), for the same
# number of sequences (256 M: BERT-base's 1 M steps of 256)
EQUAL_COMPUTE_BATCHES = {256: (1_000_000, 1e-4), 2_048: (125_000, 7e-4), 8_192: (31_000, 1e-3)}


# --- full-sentence inputs --------------------------------------------------------------


def pack_full_sentences(
    documents: Sequence[Sequence[str]],
    tokenizer: WordPieceTokenizer,
    *,
    max_length: int = 512,
    cross_documents: bool = True,
) -> list[dict]:
    """Pack whole consecutive sentences into inputs of at most ``max_length`` tokens.

    Sentences are taken in order and added to the current input while they fit in
    ``[CLS] ... [SEP]``; the next one starts a new input. ``cross_documents=True``
    (RoBERTa's FULL-SENTENCES) runs on into the next document after an extra [SEP];
    ``False`` (DOC-SENTENCES) ends an input at each document's end, so inputs near the
    end of a document are shorter. A sentence longer than an input is cut to fit.
    Each example is a dict::

        input_ids       [CLS] s1 s2 ... [SEP] (a [SEP] between documents), list of int
        sentences       [(document index, sentence index), ...] in the input

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> docs = [["The cat sat.", "It purred."], ["Rain fell.", "The river rose."]]
    >>> [tok.decode(x["input_ids"]) for x in pack_full_sentences(docs, tok, max_length=16)]
    ['[CLS] the cat sat. it purred. [SEP] rain fell. [SEP]', '[CLS] the river rose. [SEP]']
    >>> inputs = pack_full_sentences(docs, tok, max_length=16, cross_documents=False)
    >>> [x["sentences"] for x in inputs]  # one input per document here
    [[(0, 0), (0, 1)], [(1, 0), (1, 1)]]
    """
    check_documents(documents)
    if not isinstance(tokenizer, WordPieceTokenizer):
        raise TypeError(f"tokenizer must be a WordPieceTokenizer, not {type(tokenizer).__name__}")
    check_int("max_length", max_length, minimum=3)
    check_bool("cross_documents", cross_documents)
    budget = max_length - 2  # room left by [CLS] and [SEP]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    examples: list[dict] = []
    ids: list[int] = []
    where: list[tuple[int, int]] = []

    def emit() -> None:
        if ids:
            examples.append({"input_ids": [cls, *ids, sep], "sentences": list(where)})
            ids.clear()
            where.clear()

    for d, document in enumerate(documents):
        new_document = True
        for s, text in enumerate(document):
            sentence = tokenizer.encode(text, add_special_tokens=False)[:budget]
            if not sentence:
                continue
            boundary = [sep] if new_document and ids else []  # between two documents
            if len(ids) + len(boundary) + len(sentence) > budget:
                emit()
                boundary = []
            ids.extend(boundary + sentence)
            where.append((d, s))
            new_document = False
        if not cross_documents:
            emit()
    emit()
    return examples


# --- static and dynamic masking -----------------------------------------------------------


class StaticMasking:
    """BERT's pipeline: every example masked ``duplicates`` times, once, before training.

    ``dataset`` holds the ``duplicates`` masked copies of every example (with ``labels``
    and a ``source`` index), and ``collate_fn`` (a ``PreTrainingCollator``) keeps their
    masks: pass both to ``train``. ``epoch(e)`` is what pass e over the original data
    sees: copy ``e % duplicates`` of each example (BERT: 10 copies over 40 epochs).

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> examples = [{"input_ids": tok.encode("The cat sat on the mat. It purred and then slept.")}]
    >>> static = StaticMasking(examples, tok, duplicates=10)
    >>> len(static.dataset), static.epoch(13) == static.epoch(3)  # pass 13 reads copy 3
    (10, True)
    >>> batch = static.collate_fn(static.epoch(0))  # as in train: the stored masks are kept
    >>> batch["labels"].tolist() == [static.epoch(0)[0]["labels"]]
    True
    """

    def __init__(
        self,
        examples: Sequence[dict],
        tokenizer: WordPieceTokenizer,
        *,
        duplicates: int = 10,
        mlm_probability: float = 0.15,
        seed: int = 0,
    ) -> None:
        self.duplicates = check_int("duplicates", duplicates, 1)
        generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
        sources = [{**example, "source": i} for i, example in enumerate(examples)]
        self.copies = [
            mask_examples(sources, tokenizer, mlm_probability=mlm_probability, generator=generator)
            for _ in range(duplicates)
        ]  # duplicates lists, one mask per example each
        self.dataset = [example for copy in self.copies for example in copy]
        self.collate_fn = PreTrainingCollator(tokenizer)  # keeps the stored labels

    def epoch(self, e: int) -> list[dict]:
        """The masked examples (input_ids, labels, source) that pass ``e`` reads."""
        return self.copies[check_int("e", e, minimum=0) % self.duplicates]


class DynamicMasking:
    """RoBERTa's pipeline: the examples stay unmasked; the collator masks every batch anew.

    ``dataset`` (the examples with a ``source`` index) and ``collate_fn`` (a seeded
    ``PreTrainingCollator``) go to ``train`` as they are. ``epoch(e)`` masks every
    example as the collator would, drawing on the same generator, so consecutive calls
    give new masks, as consecutive epochs do.

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> examples = [{"input_ids": tok.encode("The cat sat on the mat. It purred and then slept.")}]
    >>> dynamic = DynamicMasking(examples, tok, seed=0)
    >>> sorted(dynamic.collate_fn(dynamic.dataset))  # as in train: masked in the batch
    ['attention_mask', 'input_ids', 'labels', 'token_type_ids']
    >>> dynamic.epoch(0) == dynamic.epoch(1)  # a new mask on every pass
    False
    """

    def __init__(
        self,
        examples: Sequence[dict],
        tokenizer: WordPieceTokenizer,
        *,
        mlm_probability: float = 0.15,
        seed: int = 0,
    ) -> None:
        generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
        self.dataset = [{**example, "source": i} for i, example in enumerate(examples)]
        self.collate_fn = PreTrainingCollator(
            tokenizer, mlm_probability=mlm_probability, generator=generator
        )

    def epoch(self, e: int) -> list[dict]:
        """Every example masked now (input_ids, labels, source), one at a time."""
        check_int("e", e, minimum=0)
        masked = []
        for example in self.dataset:
            batch = self.collate_fn([example])  # (1, T) tensors, a fresh mask
            masked.append(
                {
                    "input_ids": batch["input_ids"][0].tolist(),
                    "labels": batch["labels"][0].tolist(),
                    "source": example["source"],
                }
            )
        return masked


def count_distinct_masks(pipeline: StaticMasking | DynamicMasking, num_epochs: int) -> torch.Tensor:
    """How many different masks each example meets over ``num_epochs`` passes: (n,) long.

    Two masks differ when the masked ``input_ids`` or the ``labels`` differ (which
    positions were chosen, or what they became: [MASK], a random token or unchanged).
    Static masking gives at most ``duplicates``; dynamic masking up to ``num_epochs``
    (fewer only for short sequences, which have few ways to be masked).

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> examples = [{"input_ids": tok.encode("The cat sat on the mat. It purred and then slept.")}]
    >>> count_distinct_masks(StaticMasking(examples, tok, duplicates=4), 10)
    tensor([4])
    >>> count_distinct_masks(DynamicMasking(examples, tok), 10)
    tensor([10])
    """
    if not isinstance(pipeline, (StaticMasking, DynamicMasking)):
        kind = type(pipeline).__name__
        raise TypeError(f"pipeline must be a StaticMasking or DynamicMasking, not {kind}")
    seen: dict[int, set] = {}
    for e in range(check_int("num_epochs", num_epochs, 1)):
        for example in pipeline.epoch(e):
            mask = (tuple(example["input_ids"]), tuple(example["labels"]))
            seen.setdefault(example["source"], set()).add(mask)
    return torch.tensor([len(seen[i]) for i in sorted(seen)])


def masked_coverage(pipeline: StaticMasking | DynamicMasking, num_epochs: int) -> torch.Tensor:
    """Per example, the share of its tokens chosen (labelled) at least once: (n,) float.

    Static masking with one copy: about 15 %, whatever the number of epochs; dynamic:
    about ``1 - (1 - 0.15) ** num_epochs`` (80 % after 10 epochs).
    """
    if not isinstance(pipeline, (StaticMasking, DynamicMasking)):
        kind = type(pipeline).__name__
        raise TypeError(f"pipeline must be a StaticMasking or DynamicMasking, not {kind}")
    chosen: dict[int, torch.Tensor] = {}
    for e in range(check_int("num_epochs", num_epochs, 1)):
        for example in pipeline.epoch(e):
            hit = torch.tensor(example["labels"]) != -100  # (T,)
            i = example["source"]
            chosen[i] = hit if i not in chosen else chosen[i] | hit
    return torch.stack([chosen[i].float().mean() for i in sorted(chosen)])


# --- no NSP, large batches ------------------------------------------------------------


def mlm_only_loss(model, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``train``'s ``loss_fn`` for RoBERTa: the masked-LM loss alone.

    Any ``next_sentence_label`` in the batch is dropped, so ``BertForPreTraining``
    computes no NSP loss and its NSP head gets no gradient.

    >>> from bertguide.config import BertConfig
    >>> from bertguide.pretraining import BertForPreTraining
    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> model = BertForPreTraining(BertConfig(vocab_size=len(tok), hidden_size=32,
    ...     num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)).eval()
    >>> example = {"input_ids": tok.encode("The cat sat on the mat."), "next_sentence_label": 0}
    >>> batch = PreTrainingCollator(tok, generator=torch.Generator().manual_seed(0))([example])
    >>> loss = mlm_only_loss(model, batch)  # as train(..., loss_fn=mlm_only_loss) calls it
    >>> loss.backward()
    >>> bool(torch.allclose(loss, model(**batch).mlm_loss))  # the same loss, less work
    True
    >>> model.cls.seq_relationship.weight.grad is None
    True
    """
    if not isinstance(batch, Mapping) or "labels" not in batch:
        raise ValueError("batch must be a dict with 'labels' (the masked-LM targets)")
    inputs = {k: v for k, v in batch.items() if k != "next_sentence_label"}
    return model(**inputs, score_masked_only=True).loss  # the decoder on masked tokens


def large_batch_config(
    batch_size: int = 8_192,
    micro_batch_size: int = 32,
    *,
    learning_rate: float | None = None,
    max_steps: int | None = None,
    warmup_steps: int = 0,
    seed: int = 0,
) -> TrainingConfig:
    """A ``TrainingConfig`` for RoBERTa's large batches on a machine that fits small ones.

    ``batch_size`` sequences per optimiser step, in ``batch_size // micro_batch_size``
    accumulated micro-batches. Adam as in RoBERTa: betas (0.9, 0.98), eps 1e-6, weight
    decay 0.01. For a batch size of ``EQUAL_COMPUTE_BATCHES`` the learning rate and
    steps default to its row (the same 256 M sequences in all).

    >>> large_batch_config(2048, 64).gradient_accumulation_steps
    32
    """
    check_int("batch_size", batch_size, 1)
    check_int("micro_batch_size", micro_batch_size, 1)
    if batch_size % micro_batch_size:
        raise ValueError(
            f"batch_size ({batch_size}) must be a multiple of micro_batch_size ({micro_batch_size})"
        )
    steps, rate = EQUAL_COMPUTE_BATCHES.get(batch_size, (None, None))
    learning_rate = rate if learning_rate is None else learning_rate
    if learning_rate is None:
        raise ValueError(
            f"batch_size {batch_size} is not in EQUAL_COMPUTE_BATCHES "
            f"{sorted(EQUAL_COMPUTE_BATCHES)}: pass learning_rate=..."
        )
    return TrainingConfig(
        batch_size=batch_size,
        gradient_accumulation_steps=batch_size // micro_batch_size,
        learning_rate=check_float("learning_rate", learning_rate, 0.0),
        max_steps=steps if max_steps is None else max_steps,
        warmup_steps=warmup_steps,
        adam_betas=(0.9, 0.98),
        adam_eps=1e-6,
        weight_decay=0.01,
        seed=seed,
    )
