"""BERT's two pre-training inputs: masked tokens (MLM) and sentence pairs (NSP).

Dimension legend: B = batch size, T = tokens, V = vocabulary size.

Masked language modelling (Devlin et al., 2019, section 3.1). In every sequence, choose
15 % of the tokens; the model must predict the original token at each chosen position
from the corrupted sequence. Of the chosen tokens

    80 % are replaced by [MASK]          the usual case: "my dog is [MASK]"
    10 % are replaced by a random token  so the model cannot trust an unmasked token
    10 % are left as they are            so the model also predicts visible tokens

and ``labels`` hold the original id at the chosen positions and -100 (ignored by the
loss) everywhere else. The choices made here, and why:

* **An exact count, by default.** Each sequence gets ``round(0.15 * n)`` chosen tokens
  (at least one), ``n`` being its number of candidate tokens, as in BERT's original
  ``create_pretraining_data.py`` (which counted [CLS] and [SEP] in ``n`` too: one or two
  tokens' difference). Every sequence then contributes to the loss, and the number of
  labelled positions in a batch barely varies. ``exact_count=False`` draws each token
  independently with probability 0.15 instead (a Bernoulli draw, as transformers'
  ``DataCollatorForLanguageModeling`` does).
* **Never chosen:** the special tokens [PAD], [UNK], [CLS], [SEP] and [MASK], and any
  position where ``attention_mask`` is 0. ([UNK] has nothing to teach: its label would
  be "unknown".)
* **Random replacements** are drawn uniformly from the vocabulary *without* the five
  special tokens and the ``[unusedN]`` placeholders (994 of them in BERT's uncased
  vocabulary): those never occur in text, so their embeddings are never trained, and a
  replacement should look like a real token. BERT's code drew from the whole vocabulary.
* **80/10/10 per token**, also under whole-word masking, as BERT's code does.
* **Whole-word masking** (``whole_word=True``, the later BERT release): a word is a
  piece and the ``##`` pieces that follow it ("una ##ffa ##ble"); all pieces of a word
  are chosen together. With an exact count, words are visited in a random order and
  taken while their pieces still fit in ``round(0.15 * n)`` (a word that does not fit is
  skipped), as in BERT's code.

Masking can be *static* (``mask_examples``: one mask per example, made once, as BERT's
data generator wrote them to disk) or *dynamic* (``PreTrainingCollator``: a new mask
each time an example is put into a batch, as in RoBERTa).

Next-sentence prediction (section 3.1, task 2). ``make_nsp_pairs`` turns documents of
sentences into ``[CLS] A [SEP] B [SEP]`` examples: B is the sentence that follows A in
its document half of the time (IsNext, label 0, as in transformers) and a random
sentence of another document otherwise (NotNext, label 1).

Left out: BERT's packing of several sentences into each segment up to the target
length (and its short-sequence probability), random truncation from the front, span
masking (SpanBERT) and masking on a GPU with a CPU generator.
"""

from __future__ import annotations

import random
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import torch

from bertguide.checks import check_flags, check_float, check_generator, check_int
from bertguide.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer

IGNORE_INDEX = -100  # label of a position the loss skips (transformers' convention)
MASK_FRACTION = 0.8  # of the chosen tokens: replaced by [MASK]
RANDOM_FRACTION = 0.1  # of the chosen tokens: replaced by a random token (the rest stay)
IS_NEXT, NOT_NEXT = 0, 1  # next_sentence_label values, as in transformers
UNUSED_TOKEN = re.compile(r"\[unused\d+\]")


@dataclass(frozen=True)
class MaskingVocab:
    """What masking needs to know about a vocabulary (build it with ``from_tokenizer``)."""

    mask_token_id: int  # id of [MASK]
    pad_token_id: int  # id of [PAD], for padding batches
    vocab_size: int  # V
    special_ids: torch.Tensor  # (S,) ids that are never chosen
    replacement_ids: torch.Tensor  # (R,) ids a random replacement is drawn from
    continues_word: torch.Tensor  # (V,) bool: True for "##" pieces

    @classmethod
    def from_tokenizer(cls, tokenizer: WordPieceTokenizer) -> MaskingVocab:
        """Read the ids from a tokenizer (cached: one tokenizer gives one MaskingVocab)."""
        if not isinstance(tokenizer, WordPieceTokenizer):
            raise TypeError(
                f"tokenizer must be a WordPieceTokenizer, not {type(tokenizer).__name__}"
            )
        cached = _VOCAB_CACHE.get(tokenizer)
        if cached is not None:
            return cached
        V = len(tokenizer)
        tokens = [tokenizer.ids_to_tokens[i] for i in range(V)]
        special = [tokenizer.vocab[t] for t in SPECIAL_TOKENS]
        replacements = [
            i for i, t in enumerate(tokens) if t not in SPECIAL_TOKENS and not UNUSED_TOKEN.match(t)
        ]
        vocab = cls(
            mask_token_id=tokenizer.mask_token_id,
            pad_token_id=tokenizer.pad_token_id,
            vocab_size=V,
            special_ids=torch.tensor(special),
            replacement_ids=torch.tensor(replacements),
            continues_word=torch.tensor([t.startswith("##") for t in tokens]),
        )
        _VOCAB_CACHE[tokenizer] = vocab
        return vocab


_VOCAB_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def as_vocab(tokenizer: WordPieceTokenizer | MaskingVocab) -> MaskingVocab:
    """The ``MaskingVocab`` of a tokenizer (built once per tokenizer), or the one given.

    >>> vocab = as_vocab(WordPieceTokenizer.from_pretrained())
    >>> vocab.mask_token_id, vocab.vocab_size, as_vocab(vocab) is vocab
    (103, 30522, True)
    """
    return (
        tokenizer if isinstance(tokenizer, MaskingVocab) else MaskingVocab.from_tokenizer(tokenizer)
    )


def word_ids(
    input_ids: torch.Tensor, candidates: torch.Tensor, continues_word: torch.Tensor
) -> torch.Tensor:
    """Number the words of each row: (B, T) -> (B, T) of 1, 2, ... (0 = not a candidate).

    A candidate "##" piece belongs to the word of the candidate just before it; any other
    candidate starts a new word.

    >>> # [CLS] una ##ffa ##ble dog [SEP]  ->  0 1 1 1 2 0
    """
    follows_candidate = torch.zeros_like(candidates)
    follows_candidate[:, 1:] = candidates[:, :-1]
    starts = candidates & ~(continues_word[input_ids] & follows_candidate)  # (B, T)
    return torch.where(candidates, starts.cumsum(dim=1), 0)


def _choose(
    words: torch.Tensor, scores: torch.Tensor, probability: float, exact_count: bool
) -> torch.Tensor:
    """Choose whole words, row by row: (B, T) word numbers -> (B, T) bool.

    Each word's score is the draw at its first piece. Exact count: visit the words from
    the lowest score up and take each one whose pieces still fit in the row's budget of
    max(1, round(probability * n)) tokens. Otherwise: take the words scoring below
    ``probability``.
    """
    chosen = torch.zeros_like(words, dtype=torch.bool)
    for row in range(words.shape[0]):
        w = words[row]  # (T,)
        n_words = int(w.max())
        if n_words == 0:
            continue
        first = torch.ones_like(w, dtype=torch.bool)
        first[1:] = w[1:] != w[:-1]
        starts = (first & (w > 0)).nonzero().flatten()  # (W,) first piece of each word
        score = scores[row, starts]  # (W,) one uniform draw per word
        if exact_count:
            lengths = torch.bincount(w, minlength=n_words + 1)[1:].tolist()  # pieces per word
            budget = max(1, round(probability * sum(lengths)))
            picked = []
            for j in score.argsort().tolist():  # words in a random order
                if lengths[j] <= budget:
                    picked.append(j + 1)
                    budget -= lengths[j]
                    if budget == 0:
                        break
            picked = torch.tensor(picked, dtype=torch.long, device=w.device)
        else:
            picked = (score < probability).nonzero().flatten() + 1
        chosen[row] = torch.isin(w, picked)
    return chosen


def mask_tokens(
    input_ids: torch.Tensor,
    tokenizer: WordPieceTokenizer | MaskingVocab,
    *,
    attention_mask: torch.Tensor | None = None,
    mlm_probability: float = 0.15,
    generator: torch.Generator | None = None,
    whole_word: bool = False,
    exact_count: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Corrupt ids for masked language modelling; return ``(masked_input_ids, labels)``.

    input_ids: (T,) or (B, T) LongTensor; ``attention_mask`` of the same shape (1 = real
    token, 0 = padding). Both outputs have the input's shape; ``labels`` holds the
    original id at the chosen positions and -100 elsewhere. The input is not modified.
    ``generator`` (a seeded ``torch.Generator``) makes the result repeatable. See the
    module docstring for what is chosen and how.

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> ids = tok("The cat sat on the mat.")["input_ids"]                # (1, 9)
    >>> masked, labels = mask_tokens(ids, tok, generator=torch.Generator().manual_seed(0))
    >>> (labels != -100).sum().item()                                  # round(0.15 * 7)
    1
    """
    vocab = as_vocab(tokenizer)
    if not isinstance(input_ids, torch.Tensor) or input_ids.dtype != torch.long:
        raise TypeError("input_ids must be a torch.LongTensor of shape (T,) or (B, T)")
    if input_ids.dim() not in (1, 2) or input_ids.shape[-1] == 0:
        raise ValueError(f"input_ids must have shape (T,) or (B, T), got {list(input_ids.shape)}")
    if input_ids.numel() and (int(input_ids.min()) < 0 or int(input_ids.max()) >= vocab.vocab_size):
        raise ValueError(f"input_ids must hold ids in [0, {vocab.vocab_size}) (the vocabulary)")
    if attention_mask is not None and (
        not isinstance(attention_mask, torch.Tensor) or attention_mask.shape != input_ids.shape
    ):
        raise ValueError(
            f"attention_mask must be a tensor of input_ids' shape {list(input_ids.shape)}"
        )
    probability = check_float("mlm_probability", mlm_probability, 0.0, 1.0, open_low=True)
    check_generator("generator", generator)
    check_flags(whole_word=whole_word, exact_count=exact_count)

    one_row = input_ids.dim() == 1
    ids = input_ids.unsqueeze(0) if one_row else input_ids  # (B, T)
    device = ids.device
    candidates = ~torch.isin(ids, vocab.special_ids.to(device))  # (B, T) bool
    if attention_mask is not None:
        mask = attention_mask.unsqueeze(0) if one_row else attention_mask
        candidates &= mask.bool()

    # Every random number is drawn up front, whatever is chosen, so that a seed fixes
    # the whole result.
    B, T = ids.shape
    R = len(vocab.replacement_ids)
    scores = torch.rand(B, T, generator=generator, device=device)  # which tokens (words)
    action = torch.rand(B, T, generator=generator, device=device)  # [MASK], random or kept
    random_index = torch.randint(R, (B, T), generator=generator, device=device)

    continues = vocab.continues_word.to(device)
    if not whole_word:
        continues = torch.zeros_like(continues)  # every token is a word of its own
    words = word_ids(ids, candidates, continues)  # (B, T)
    chosen = _choose(words, scores, probability, exact_count)  # (B, T) bool

    labels = torch.where(chosen, ids, IGNORE_INDEX)  # (B, T)
    to_mask = chosen & (action < MASK_FRACTION)
    to_random = chosen & (action >= MASK_FRACTION) & (action < MASK_FRACTION + RANDOM_FRACTION)
    masked = torch.where(to_mask, vocab.mask_token_id, ids)  # a new tensor: input untouched
    masked = torch.where(to_random, vocab.replacement_ids.to(device)[random_index], masked)
    if one_row:
        return masked[0], labels[0]
    return masked, labels


# --- examples and batches ---------------------------------------------------------------

# The keys of an example that become model inputs (every other key is left out of batches).
EXAMPLE_KEYS = ("input_ids", "token_type_ids", "labels", "next_sentence_label")


def _example_ids(example, index: int, key: str) -> list[int]:
    value = example[key]
    if isinstance(value, torch.Tensor):
        if value.dim() != 1:
            raise ValueError(f"examples[{index}][{key!r}] must be 1-D, got {list(value.shape)}")
        return value.tolist()
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"examples[{index}][{key!r}] must be a list of ints or a 1-D tensor")
    return list(value)


def mask_examples(
    examples: Sequence[dict],
    tokenizer: WordPieceTokenizer | MaskingVocab,
    *,
    mlm_probability: float = 0.15,
    generator: torch.Generator | None = None,
    whole_word: bool = False,
    exact_count: bool = True,
) -> list[dict]:
    """Static masking: mask every example once; return new examples with ``labels``.

    Each example is a dict with ``input_ids`` (a list or 1-D tensor); the result has the
    same keys, ``input_ids`` masked and ``labels`` added (lists). BERT's data generator
    did this ``dupe_factor=10`` times with different seeds, so that each sequence was
    seen with 10 masks over 40 epochs; a ``PreTrainingCollator`` then keeps the masks.

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> pairs = [{"input_ids": tok.encode("The cat sat.")}]
    >>> static = mask_examples(pairs, tok, generator=torch.Generator().manual_seed(0))
    >>> tok.convert_ids_to_tokens(static[0]["input_ids"])  # 15% of 3 words: one masked
    ['[CLS]', 'the', '[MASK]', 'sat', '.', '[SEP]']
    >>> static[0]["labels"]  # the original id where masked, -100 (ignored) elsewhere
    [-100, -100, 4937, -100, -100, -100]
    """
    if not isinstance(examples, Sequence):
        raise TypeError(f"examples must be a list of dicts, not {type(examples).__name__}")
    masked_examples = []
    for i, example in enumerate(examples):
        if not isinstance(example, dict) or "input_ids" not in example:
            raise TypeError(f"examples[{i}] must be a dict with 'input_ids'")
        ids = torch.tensor(_example_ids(example, i, "input_ids"), dtype=torch.long)
        masked, labels = mask_tokens(
            ids,
            tokenizer,
            mlm_probability=mlm_probability,
            generator=generator,
            whole_word=whole_word,
            exact_count=exact_count,
        )
        masked_examples.append({**example, "input_ids": masked.tolist(), "labels": labels.tolist()})
    return masked_examples


class PreTrainingCollator:
    """A list of examples -> one padded batch of model inputs (a dict of tensors).

    Examples are dicts with ``input_ids`` and optionally ``token_type_ids``,
    ``next_sentence_label`` and ``labels`` (other keys are ignored). The batch holds
    ``input_ids``, ``token_type_ids``, ``attention_mask`` (B, T), padded on the right to
    the longest example, and, when there is something to predict, ``labels`` (B, T) and
    ``next_sentence_label`` (B,).

    * Examples with ``labels`` (static masking, see ``mask_examples``) keep their masks.
    * Examples without them are masked here, anew each time (dynamic masking), with
      ``generator``, unless ``mlm=False``.

    With a ``torch.utils.data.DataLoader`` and several workers, each worker gets a copy of
    the generator and so repeats the same masks: use ``num_workers=0``, or reseed per worker.

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> docs = [["The cat sat.", "It purred.", "Then it slept."],
    ...         ["Rain fell.", "The river rose.", "Roads closed."]]
    >>> pairs = make_nsp_pairs(docs, tok, max_length=16)
    >>> collate = PreTrainingCollator(tok, generator=torch.Generator().manual_seed(0))
    >>> batch = collate(pairs)  # masked anew on every call (dynamic masking)
    >>> {key: tuple(value.shape) for key, value in batch.items()}  # (B, T) and (B,)
    {'input_ids': (4, 11), 'token_type_ids': (4, 11), 'attention_mask': (4, 11),
     'labels': (4, 11), 'next_sentence_label': (4,)}
    """

    def __init__(
        self,
        tokenizer: WordPieceTokenizer | MaskingVocab,
        *,
        mlm: bool = True,
        mlm_probability: float = 0.15,
        generator: torch.Generator | None = None,
        whole_word: bool = False,
        exact_count: bool = True,
    ) -> None:
        self.vocab = as_vocab(tokenizer)
        check_flags(mlm=mlm, whole_word=whole_word, exact_count=exact_count)
        check_generator("generator", generator)
        self.mlm = mlm
        self.mlm_probability = check_float(
            "mlm_probability", mlm_probability, 0.0, 1.0, open_low=True
        )
        self.generator = generator
        self.whole_word = whole_word
        self.exact_count = exact_count

    def __call__(self, examples: Sequence[dict]) -> dict[str, torch.Tensor]:
        if not isinstance(examples, Sequence) or len(examples) == 0:
            raise ValueError("examples must be a non-empty list of dicts")
        for i, example in enumerate(examples):
            if not isinstance(example, dict) or "input_ids" not in example:
                raise TypeError(f"examples[{i}] must be a dict with 'input_ids'")
        has_labels = {"labels" in e for e in examples}
        has_nsp = {"next_sentence_label" in e for e in examples}
        if len(has_labels) > 1 or len(has_nsp) > 1:
            raise ValueError(
                "either every example or none must have 'labels' (and 'next_sentence_label')"
            )

        rows = [_example_ids(e, i, "input_ids") for i, e in enumerate(examples)]
        B, T = len(rows), max(len(r) for r in rows)
        input_ids = torch.full((B, T), self.vocab.pad_token_id, dtype=torch.long)
        token_type_ids = torch.zeros(B, T, dtype=torch.long)
        attention_mask = torch.zeros(B, T, dtype=torch.long)
        labels = torch.full((B, T), IGNORE_INDEX, dtype=torch.long)
        for i, (example, ids) in enumerate(zip(examples, rows, strict=True)):
            n = len(ids)
            input_ids[i, :n] = torch.tensor(ids, dtype=torch.long)
            attention_mask[i, :n] = 1
            if "token_type_ids" in example:
                token_type_ids[i, :n] = torch.tensor(_example_ids(example, i, "token_type_ids"))
            if "labels" in example:
                labels[i, :n] = torch.tensor(_example_ids(example, i, "labels"))

        batch = {
            "input_ids": input_ids,  # (B, T)
            "token_type_ids": token_type_ids,  # (B, T)
            "attention_mask": attention_mask,  # (B, T)
        }
        if has_labels == {True}:
            batch["labels"] = labels  # (B, T): static masks, kept
        elif self.mlm:
            batch["input_ids"], batch["labels"] = mask_tokens(
                input_ids,
                self.vocab,
                attention_mask=attention_mask,
                mlm_probability=self.mlm_probability,
                generator=self.generator,
                whole_word=self.whole_word,
                exact_count=self.exact_count,
            )
        if has_nsp == {True}:
            nsp = [int(e["next_sentence_label"]) for e in examples]
            batch["next_sentence_label"] = torch.tensor(nsp, dtype=torch.long)  # (B,)
        return batch


# --- next-sentence pairs -----------------------------------------------------------------


def check_documents(documents) -> None:
    """A TypeError unless ``documents`` is a list of documents, each a list of str.

    >>> check_documents([["The cat sat.", "It slept."], ["Rain fell."]])
    >>> check_documents(["The cat sat.", "It slept."])   # sentences, not documents
    Traceback (most recent call last):
        ...
    TypeError: documents[0] must be a list of sentences, not str
    """
    if not isinstance(documents, Sequence) or isinstance(documents, str):
        raise TypeError("documents must be a list of documents, each a list of sentences (str)")
    for d, document in enumerate(documents):
        if not isinstance(document, Sequence) or isinstance(document, str):
            kind = type(document).__name__
            raise TypeError(f"documents[{d}] must be a list of sentences, not {kind}")
        for s, sentence in enumerate(document):
            if not isinstance(sentence, str):
                kind = type(sentence).__name__
                raise TypeError(f"documents[{d}][{s}] must be a str, not {kind}")


def truncate_pair(a: list[int], b: list[int], max_tokens: int) -> tuple[list[int], list[int]]:
    """Shorten a pair to ``max_tokens`` ids in all, one id at a time from the end of the
    longer one (B on a tie), so both keep at least one id when ``max_tokens >= 2``.

    >>> truncate_pair([1, 2, 3, 4, 5], [6, 7], 4)
    ([1, 2], [6, 7])
    """
    n_a, n_b = len(a), len(b)
    while n_a + n_b > max_tokens:
        if n_a > n_b:
            n_a -= 1
        else:
            n_b -= 1
    return a[:n_a], b[:n_b]


def make_nsp_pairs(
    documents: Sequence[Sequence[str]],
    tokenizer: WordPieceTokenizer,
    *,
    max_length: int = 128,
    next_probability: float = 0.5,
    seed: int = 0,
) -> list[dict]:
    """Sentence pairs for next-sentence prediction, one per adjacent pair of sentences.

    For each sentence A that has a next sentence in its document: with probability
    ``next_probability`` B is that next sentence (IsNext, ``next_sentence_label`` 0),
    otherwise B is a random sentence of a random *other* document (NotNext, label 1).
    Each example is a dict::

        input_ids         [CLS] A [SEP] B [SEP], at most max_length ids (list of int)
        token_type_ids    0 for [CLS] A [SEP], 1 for B [SEP]
        next_sentence_label   0 (IsNext) or 1 (NotNext)
        sentence_a, sentence_b   (document index, sentence index) of A and of B

    Too long a pair is cut with ``truncate_pair`` (from the end of the longer sentence), so
    both sentences keep some tokens. Sentences that give no token are skipped. ``seed``
    makes the pairs repeatable. Masking comes later (``mask_examples`` or the collator).

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> docs = [["The cat sat.", "It purred.", "Then it slept."],
    ...         ["Rain fell.", "The river rose.", "Roads closed."]]
    >>> pairs = make_nsp_pairs(docs, tok, max_length=16)
    >>> len(pairs), [p["next_sentence_label"] for p in pairs]
    (4, [1, 0, 1, 1])
    >>> tok.convert_ids_to_tokens(pairs[0]["input_ids"])  # NotNext: B from the other document
    ['[CLS]', 'the', 'cat', 'sat', '.', '[SEP]', 'rain', 'fell', '.', '[SEP]']
    >>> pairs[0]["token_type_ids"]
    [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    """
    check_documents(documents)
    if not isinstance(tokenizer, WordPieceTokenizer):
        raise TypeError(f"tokenizer must be a WordPieceTokenizer, not {type(tokenizer).__name__}")
    if check_int("max_length", max_length) < 5:
        raise ValueError(
            f"max_length must be >= 5 ([CLS] A [SEP] B [SEP], one token of each), got {max_length}"
        )
    next_probability = check_float("next_probability", next_probability, 0.0, 1.0)
    check_int("seed", seed)

    budget = max_length - 3  # room left by [CLS], [SEP], [SEP]

    def encode(sentence: str) -> list[int]:
        return tokenizer.encode(
            sentence, add_special_tokens=False, truncation=True, max_length=budget
        )

    # tokenized[d] = [(sentence index, ids), ...]; sentences without a token left out
    tokenized = [
        [(s, ids) for s, ids in enumerate(map(encode, document)) if ids] for document in documents
    ]
    non_empty = [d for d, sentences in enumerate(tokenized) if sentences]
    if len(non_empty) < 2:
        raise ValueError("documents must hold at least two documents with text, for NotNext pairs")
    rank = {d: k for k, d in enumerate(non_empty)}

    rng = random.Random(seed)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    examples = []
    for d, sentences in enumerate(tokenized):
        for (s_a, ids_a), (s_next, ids_next) in pairwise(sentences):
            if rng.random() < next_probability:
                label, d_b, (s_b, ids_b) = IS_NEXT, d, (s_next, ids_next)
            else:  # a document drawn uniformly from the others: skip over d itself
                k = rng.randrange(len(non_empty) - 1)
                d_b = non_empty[k + (k >= rank[d])]
                label, (s_b, ids_b) = NOT_NEXT, rng.choice(tokenized[d_b])
            a, b = truncate_pair(ids_a, ids_b, budget)
            examples.append(
                {
                    "input_ids": [cls, *a, sep, *b, sep],
                    "token_type_ids": [0] * (len(a) + 2) + [1] * (len(b) + 1),
                    "next_sentence_label": label,
                    "sentence_a": (d, s_a),
                    "sentence_b": (d_b, s_b),
                }
            )
    return examples
