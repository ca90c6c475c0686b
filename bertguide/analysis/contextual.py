"""Contextual vs static embeddings: one word's vectors in many sentences.

Chapter: Contextual vs static embeddings. Dimensions: M = sentences, C = hidden size.

``word_vector(sentence, word)`` is the vector BERT gives ``word`` in that sentence (any
layer); ``word_vectors`` does many sentences in one padded batch; ``word_sense_vectors``
adds a 2-D PCA of them (``pca_2d``), so the senses of an ambiguous word can be drawn
(``bertguide.figures.contextual``). ``WORD_SENSES`` holds the chapter's example
sentences, two senses per word.

Left out: words that split into several word pieces (pass a single piece) and
subword pooling.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bertguide.analysis import model_and_tokenizer
from bertguide.checks import check_int

# Ambiguous words, each in sentences of two senses. The contextual-embeddings chapter
# and its figure both read this table.
WORD_SENSES: dict[str, dict[str, tuple[str, ...]]] = {
    "bank": {
        "money": (
            "She paid the cheque into her bank account.",
            "The bank raised its interest rates again.",
            "He works as a cashier at the local bank.",
            "I need to withdraw cash from the bank.",
        ),
        "river": (
            "They had a picnic on the bank of the river.",
            "The boat drifted towards the muddy bank.",
            "Reeds grew thick along the river bank.",
            "We fished from the grassy bank of the stream.",
        ),
    },
    "python": {
        "snake": (
            "The python swallowed the rabbit whole.",
            "A python is a large snake that squeezes its prey.",
            "The zookeeper fed the python a mouse.",
            "He got bit by Python.",
        ),
        "language": (
            "Python is my favorite programming language.",
            "She wrote the script in Python.",
            "You can install the package with Python's pip.",
            "Our team rewrote the server in Python last year.",
        ),
    },
    "bat": {
        "animal": (
            "A bat flew out of the cave at dusk.",
            "The bat hangs upside down while it sleeps.",
            "Each bat eats thousands of insects a night.",
            "The vampire bat feeds on blood.",
        ),
        "sports": (
            "He swung the bat and hit the ball.",
            "The batter picked up a heavier bat.",
            "She gripped the cricket bat with both hands.",
            "A wooden bat can break on a fast pitch.",
        ),
    },
}


@dataclass
class SenseVectors:
    """The contextual vectors of one word in several sentences, and their 2-D PCA."""

    word: str
    senses: list[str]  # the sense of each sentence
    sentences: list[str]
    vectors: torch.Tensor  # (M, C): the word's vector in each of the M sentences
    points: torch.Tensor  # (M, 2): the vectors projected on their two main directions


def word_vector(sentence: str, word: str, layer: int = -1, *, model=None, tokenizer=None):
    """The contextual vector (C,) of ``word`` (one word piece) in ``sentence``.

    ``layer`` indexes ``hidden_states``: 0 is the embedding layer's output, -1 (the
    default) the last layer, i.e. ``last_hidden_state``.
    """
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError(f"sentence must be a non-empty str, got {sentence!r}")
    return word_vectors([sentence], word, layer, model=model, tokenizer=tokenizer)[0]


def word_vectors(sentences: list[str], word: str, layer: int = -1, *, model=None, tokenizer=None):
    """``word``'s contextual vector in each sentence, (M, C), from one padded batch."""
    if not isinstance(word, str) or not word.strip():
        raise ValueError(f"word must be a non-empty str, got {word!r}")
    check_int("layer", layer)
    model, tokenizer = model_and_tokenizer(model, tokenizer)
    pieces = tokenizer.tokenize(word)
    if len(pieces) != 1:
        raise ValueError(f"word must be a single word piece, but {word!r} splits into {pieces}")
    batch = tokenizer(list(sentences), padding=True, return_tensors="pt")  # (M, T)
    positions = []
    for ids in batch["input_ids"].tolist():
        tokens = tokenizer.convert_ids_to_tokens(ids)
        if pieces[0] not in tokens:
            shown = [t for t in tokens if t != tokenizer.pad_token]
            raise ValueError(f"word {word!r} is not among the sentence's tokens {shown}")
        positions.append(tokens.index(pieces[0]))
    with torch.no_grad():
        hidden_states = model(**batch, output_hidden_states=True).hidden_states
    if not -len(hidden_states) <= layer < len(hidden_states):
        raise ValueError(
            f"layer must be in [{-len(hidden_states)}, {len(hidden_states)}), got {layer}"
        )
    rows = torch.arange(len(positions))
    return hidden_states[layer][rows, torch.tensor(positions)]  # (M, C)


def pca_2d(vectors: torch.Tensor) -> torch.Tensor:
    """(M, C) -> (M, 2): centre the rows, project on the two top singular directions.

    Each direction's sign is fixed so that its largest coordinate is positive, which
    makes the picture the same from run to run.
    """
    if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2 or vectors.shape[0] < 2:
        raise ValueError("vectors must be a 2-D tensor with at least 2 rows (M, C)")
    centred = vectors.double() - vectors.double().mean(dim=0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    directions = vh[:2]  # (2, C)
    flip = torch.sign(directions.gather(1, directions.abs().argmax(dim=1, keepdim=True)))
    return (centred @ (directions * flip).T).float()  # (M, 2)


def word_sense_vectors(
    word: str,
    examples: dict[str, tuple[str, ...]] | None = None,
    layer: int = -1,
    *,
    model=None,
    tokenizer=None,
) -> SenseVectors:
    """``word``'s vector in every sentence of ``examples`` ({sense: sentences}), with PCA.

    ``examples`` defaults to ``WORD_SENSES[word]``.
    """
    if examples is None:
        if word not in WORD_SENSES:
            raise ValueError(
                f"word {word!r} has no default examples; pass examples= "
                f"or use one of {sorted(WORD_SENSES)}"
            )
        examples = WORD_SENSES[word]
    if not isinstance(examples, dict) or not examples:
        raise TypeError("examples must be a non-empty dict {sense: [sentences]}")
    senses, sentences = [], []
    for sense, texts in examples.items():
        for text in texts:
            senses.append(sense)
            sentences.append(text)
    vectors = word_vectors(sentences, word, layer, model=model, tokenizer=tokenizer)  # (M, C)
    return SenseVectors(word, senses, sentences, vectors, pca_2d(vectors))
