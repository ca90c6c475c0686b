"""How the field scores answers and entities: SQuAD's EM and F1, CoNLL's entity F1.

Chapter: Fine-tuning and transfer learning. A span reader and a tagger are judged by
what they extract, not by their loss, and each benchmark fixed its own rules:

* **SQuAD v1.1** (Rajpurkar et al., 2016), its official ``evaluate-v1.1.py``. Both
  strings are *normalised*: lower-cased, ASCII punctuation removed, the articles
  "a", "an" and "the" removed as whole words, runs of whitespace collapsed to one
  space. *Exact match* (EM) is 1 when the normalised strings are equal. *F1* treats
  each normalised string as a bag of words: with ``n`` words in common (counted with
  multiplicity), precision ``n / len(prediction)``, recall ``n / len(gold)``, F1 their
  harmonic mean, and 0 when nothing is shared (two empty strings included: v1.1 has no
  unanswerable questions; SQuAD 2.0's script scores that case 1). A question with
  several gold answers takes the best score over them. The corpus scores are means,
  as percentages.
* **CoNLL-2003** (Tjong Kim Sang and De Meulder, 2003), its ``conlleval`` script.
  Tags are BIO: ``B-TYPE`` begins an entity, ``I-TYPE`` continues one, ``O`` is
  outside. An entity is (type, first word, last word); it counts as correct only when
  the prediction has the same type *and* the same two ends. Reading the spans follows
  conlleval: an entity starts at every ``B-``, and at an ``I-`` that follows ``O``,
  the start of a sentence, or an entity of another type; it ends before an ``O``, a
  ``B-`` or a change of type. Precision = correct / predicted entities, recall =
  correct / gold entities, F1 their harmonic mean, all as percentages, 0 when a
  denominator is 0. Sentences are read separately (an entity never crosses one).

Example (the worked cases are in the functions' docstrings)::

    squad_scores(["Leonardo da Vinci"], [["Leonardo da Vinci", "da Vinci"]])
    entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]])

Left out: SQuAD 2.0's no-answer scoring, conlleval's IOBES tags, its per-type table,
its token accuracy and its ``-r`` (raw) mode.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from bertguide.checks import check_str

_PUNCTUATION = frozenset(string.punctuation)  # ASCII only, as in the official script
_ARTICLES = re.compile(r"\b(a|an|the)\b")

# --- SQuAD v1.1: exact match and token F1 ------------------------------------------


def _gold_list(answers) -> list[str]:
    """One gold answer (a str) or several (a list or tuple of str) -> a list of str."""
    golds = [answers] if isinstance(answers, str) else answers
    if not isinstance(golds, (list, tuple)):
        raise TypeError(
            f"gold answers must be a str or a list of str, not {type(answers).__name__}"
        )
    if not golds:
        raise ValueError("a question needs at least one gold answer, got none")
    return [check_str("each gold answer", g) for g in golds]


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces.

    >>> normalize_answer("  The Eiffel-Tower, in PARIS! ")
    'eiffeltower in paris'
    >>> normalize_answer("an apple a day")   # articles go, whole words only
    'apple day'
    """
    text = check_str("text", text).lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, answers: str | Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer, else 0.0.

    >>> exact_match("the Nile", "Nile.")          # article and full stop do not count
    1.0
    >>> exact_match("Columbus", ["Christopher Columbus", "Columbus"])  # best of golds
    1.0
    >>> exact_match("Christopher Columbus", "Columbus")
    0.0
    """
    guess = normalize_answer(check_str("prediction", prediction))
    return float(any(guess == normalize_answer(g) for g in _gold_list(answers)))


def _token_f1(prediction: str, gold: str) -> float:
    predicted, wanted = normalize_answer(prediction).split(), normalize_answer(gold).split()
    shared = sum((Counter(predicted) & Counter(wanted)).values())
    if shared == 0:  # also when either is empty
        return 0.0
    precision, recall = shared / len(predicted), shared / len(wanted)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, answers: str | Sequence[str]) -> float:
    """SQuAD's F1 between the bags of normalised words; the best over the gold answers.

    >>> round(token_f1("Christopher Columbus", "Columbus"), 4)  # P 1/2, R 1
    0.6667
    >>> token_f1("in 1492", ["1492", "the year 1492"])  # best: "1492", P 1/2, R 1
    0.6666666666666666
    >>> token_f1("", "Columbus"), token_f1("", "")   # v1.1: nothing shared scores 0
    (0.0, 0.0)
    """
    check_str("prediction", prediction)
    return max(_token_f1(prediction, g) for g in _gold_list(answers))


def squad_scores(
    predictions: Sequence[str], answers: Sequence[str | Sequence[str]]
) -> dict[str, float]:
    """Mean exact match and F1 over questions, in percent: ``{"exact_match", "f1"}``.

    ``answers[i]`` is question i's gold answer, or a list of them.

    >>> squad_scores(["Leonardo da Vinci", "in 1989"], ["Leonardo da Vinci", ["1989"]])
    {'exact_match': 50.0, 'f1': 83.33333333333333}
    """
    if isinstance(predictions, str) or isinstance(answers, str):
        raise TypeError("predictions and answers must be lists, one item per question")
    if len(predictions) != len(answers):
        raise ValueError(
            f"{len(predictions)} predictions for {len(answers)} questions: "
            "one prediction per question"
        )
    if not predictions:
        raise ValueError("no questions to score")
    em = sum(exact_match(p, a) for p, a in zip(predictions, answers, strict=True))
    f1 = sum(token_f1(p, a) for p, a in zip(predictions, answers, strict=True))
    return {"exact_match": 100 * em / len(predictions), "f1": 100 * f1 / len(predictions)}


# --- CoNLL-2003: entity-level precision, recall and F1 -----------------------------


def _split_tag(tag, position: int) -> tuple[str, str]:
    """``"B-PER"`` -> ("B", "PER"), ``"O"`` -> ("O", "")."""
    if tag == "O":
        return "O", ""
    if isinstance(tag, str) and tag[:2] in ("B-", "I-") and len(tag) > 2:
        return tag[0], tag[2:]
    raise ValueError(
        f"tag {tag!r} at position {position} is not BIO: use 'O', 'B-TYPE' or 'I-TYPE'"
    )


def bio_entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities of one sentence's BIO tags, read as conlleval reads them:
    ``[(type, first word, last word), ...]`` in order.

    >>> bio_entities(["B-PER", "I-PER", "O", "B-LOC", "B-LOC"])
    [('PER', 0, 1), ('LOC', 3, 3), ('LOC', 4, 4)]
    >>> bio_entities(["O", "I-ORG", "I-ORG", "I-PER"])  # I- without B-, type change
    [('ORG', 1, 2), ('PER', 3, 3)]
    """
    if isinstance(tags, str):
        raise TypeError(f"tags must be a list of tags, one per word, not the str {tags!r}")
    entities: list[tuple[str, int, int]] = []
    open_type, first = "", 0  # the entity being read ("" = none)
    for position, tag in enumerate(tags):
        prefix, kind = _split_tag(tag, position)
        continues = prefix == "I" and kind == open_type
        if open_type and not continues:  # O, B- or another type closes it
            entities.append((open_type, first, position - 1))
            open_type = ""
        if prefix != "O" and not continues:  # B-, or an I- that cannot continue
            open_type, first = kind, position
    if open_type:
        entities.append((open_type, first, len(tags) - 1))
    return entities


def entity_scores(
    predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]
) -> dict[str, float]:
    """conlleval's scores over sentences of BIO tags (one list of tags per sentence).

    Returns ``precision``, ``recall`` and ``f1`` in percent, and the counts
    ``predicted``, ``gold`` and ``correct`` (entities).

    >>> gold = [["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC"]]
    >>> guess = [["B-PER", "I-PER", "O", "O", "B-LOC", "B-LOC"]]  # the place split
    >>> scores = entity_scores(guess, gold)
    >>> scores["correct"], scores["predicted"], scores["gold"]
    (1, 3, 2)
    >>> round(scores["precision"], 2), scores["recall"], round(scores["f1"], 2)
    (33.33, 50.0, 40.0)
    >>> entity_scores([["B-PER", "O"]], [["B-ORG", "O"]])["f1"]  # right span, wrong type
    0.0
    """
    for name, value in (("predicted", predicted), ("gold", gold)):
        if isinstance(value, str) or (value and isinstance(value[0], str)):
            raise TypeError(f"{name} must be a list of sentences, each a list of tags")
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predicted sentences for {len(gold)} gold ones")
    n_predicted = n_gold = n_correct = 0
    for i, (guess, truth) in enumerate(zip(predicted, gold, strict=True)):
        if len(guess) != len(truth):
            raise ValueError(
                f"sentence {i}: {len(guess)} predicted tags for {len(truth)} gold tags"
            )
        found, wanted = set(bio_entities(guess)), set(bio_entities(truth))
        n_predicted, n_gold = n_predicted + len(found), n_gold + len(wanted)
        n_correct += len(found & wanted)
    precision = 100 * n_correct / n_predicted if n_predicted else 0.0
    recall = 100 * n_correct / n_gold if n_gold else 0.0
    both = precision + recall
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / both if both else 0.0,
        "predicted": n_predicted,
        "gold": n_gold,
        "correct": n_correct,
    }


__all__ = [
    "bio_entities",
    "entity_scores",
    "exact_match",
    "normalize_answer",
    "squad_scores",
    "token_f1",
]
