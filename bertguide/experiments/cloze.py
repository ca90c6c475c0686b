"""Everyday cloze sentences: does a masked language model guess the word a person would?

Chapter: "Pre-training: MLM and NSP". The held-out MLM accuracy of the restoring run is
measured on randomly masked Wikipedia and news tokens, where many answers are "the" or
"of" and many are unguessable names. A reader tries something else first: a sentence
with one word missing that anyone could fill in. ``CLOZE`` is a small set of such
sentences, written for this guide (none is taken from the training text), in three kinds:

    fact      world knowledge: "The capital of France is [MASK]."
    sense     common sense about everyday things and people
    word      word sense and grammar: the word is fixed by its neighbours

Each has one ``[MASK]`` and one expected answer, a single WordPiece of the embedded
vocabulary (``tests`` check both). ``cloze_scores`` reports top-1 and top-5 accuracy
over them, overall and per kind, and each sentence's top five.

Left out: several right answers per sentence (a guess like "city" for "Paris is a
beautiful [MASK]." is good but not the one expected), multi-piece answers.
"""

from __future__ import annotations

from collections.abc import Sequence

CLOZE: tuple[tuple[str, str, str], ...] = (
    # (kind, sentence with one [MASK], the expected word)
    ("fact", "The capital of France is [MASK].", "paris"),
    ("fact", "The capital of Japan is [MASK].", "tokyo"),
    ("fact", "Berlin is the capital of [MASK].", "germany"),
    ("fact", "The sun rises in the [MASK].", "east"),
    ("fact", "Water boils at one hundred [MASK] Celsius.", "degrees"),
    ("fact", "There are seven days in a [MASK].", "week"),
    ("fact", "There are twelve months in a [MASK].", "year"),
    ("fact", "The Pacific is the largest [MASK] on Earth.", "ocean"),
    ("fact", "Shakespeare wrote plays and [MASK].", "poems"),
    ("fact", "The Amazon is a river in South [MASK].", "america"),
    ("fact", "Christmas is celebrated in [MASK].", "december"),
    ("fact", "The Moon goes around the [MASK].", "earth"),
    ("fact", "A triangle has three [MASK].", "sides"),
    ("fact", "Rome is a city in [MASK].", "italy"),
    ("sense", "She drank a cup of hot [MASK].", "coffee"),
    ("sense", "He opened the door with a [MASK].", "key"),
    ("sense", "The baby was crying because it was [MASK].", "hungry"),
    ("sense", "I wear glasses because I cannot [MASK] well.", "see"),
    ("sense", "We use an umbrella when it [MASK].", "rains"),
    ("sense", "The children went to [MASK] on Monday morning.", "school"),
    ("sense", "He was tired, so he went to [MASK].", "bed"),
    ("sense", "Birds build nests in [MASK].", "trees"),
    ("sense", "The doctor works in a [MASK].", "hospital"),
    ("sense", "You need a ticket to board the [MASK].", "train"),
    ("sense", "The cat chased the [MASK].", "mouse"),
    ("sense", "They ate breakfast in the [MASK].", "morning"),
    ("sense", "She wrote the letter with a [MASK].", "pen"),
    ("sense", "Fish live in [MASK].", "water"),
    ("word", "He is taller [MASK] his brother.", "than"),
    ("word", "She has lived here [MASK] 1990.", "since"),
    ("word", "The opposite of hot is [MASK].", "cold"),
    ("word", "The book is on the [MASK] next to the bed.", "table"),
    ("word", "They were born in the same [MASK] and grew up together.", "town"),
    ("word", "He plays the guitar in a rock [MASK].", "band"),
    ("word", "The river bank was covered in [MASK] after the flood.", "mud"),
    ("word", "She deposited the money at the [MASK].", "bank"),
    ("word", "The football team won the [MASK] last night.", "game"),
    ("word", "I would like a glass of [MASK], please.", "water"),
    ("word", "The president gave a [MASK] to the nation.", "speech"),
    ("word", "The police arrested the [MASK].", "suspect"),
)
KINDS = ("fact", "sense", "word")


def cloze_scores(model, tokenizer=None, items: Sequence[tuple[str, str, str]] = CLOZE) -> dict:
    """Top-1 and top-5 accuracy of ``model`` (a ``BertForPreTraining``) on ``items``.

    Returns ``{"top1": share, "top5": share, "kinds": {kind: {"top1", "top5", "n"}},
    "guesses": [[sentence, expected, [five guesses]], ...]}``.

    >>> from bertguide.experiments.restoring import restored_model
    >>> scores = cloze_scores(restored_model())
    >>> round(scores["top5"] * len(CLOZE))  # sentences with the word in its top five
    15
    """
    from bertguide.inference import fill_mask

    if not items:
        raise ValueError("items is empty: no cloze sentence to score")
    guesses, kinds = [], {}
    for kind, sentence, expected in items:
        top = [token for token, _ in fill_mask(sentence, 5, model=model, tokenizer=tokenizer)[0]]
        guesses.append([sentence, expected, top])
        tally = kinds.setdefault(kind, {"top1": 0, "top5": 0, "n": 0})
        tally["top1"] += top[0] == expected
        tally["top5"] += expected in top
        tally["n"] += 1
    for tally in kinds.values():
        tally["top1"], tally["top5"] = tally["top1"] / tally["n"], tally["top5"] / tally["n"]
    n = len(items)
    return {
        "top1": sum(g[2][0] == g[1] for g in guesses) / n,
        "top5": sum(g[1] in g[2] for g in guesses) / n,
        "kinds": kinds,
        "guesses": guesses,
    }
