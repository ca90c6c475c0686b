"""SQuAD's EM/F1 and conlleval's entity scores: the rules, the edge cases, the errors."""

import random

import pytest

from bertguide.metrics import (
    bio_entities,
    entity_scores,
    exact_match,
    normalize_answer,
    squad_scores,
    token_f1,
)

# --- SQuAD v1.1 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("The Nile", "nile"),
        ("the the THE", ""),
        ("A  cat,\tan owl\nand a  dog.", "cat owl and dog"),
        ("theatre and anthem", "theatre and anthem"),  # articles only as whole words
        ("U.S.A.", "usa"),
        ("rock-'n'-roll!", "rocknroll"),
        ("l'the", "lthe"),  # punctuation goes first, so the article is no longer a word
        ("", ""),
    ],
)
def test_normalisation(text, normalised):
    assert normalize_answer(text) == normalised


def test_exact_match_ignores_case_punctuation_articles_and_spacing():
    assert exact_match("The  Pacific.", "pacific") == 1.0
    assert exact_match("an Ocean", "the ocean") == 1.0
    assert exact_match("Pacific Ocean", "Pacific") == 0.0


def test_scores_take_the_best_gold_answer():
    golds = ["Christopher Columbus", "Columbus", "the explorer Columbus"]
    assert exact_match("columbus", golds) == 1.0
    assert token_f1("Columbus sailed", golds) == pytest.approx(2 / 3)  # P 1/2, R 1
    assert token_f1("Columbus", ("Christopher Columbus",)) == pytest.approx(2 / 3)


def test_f1_is_over_a_bag_of_words():
    # order does not matter; a repeated word counts as often as both sides have it
    assert token_f1("Paul Allen and Bill Gates", "Bill Gates and Paul Allen") == 1.0
    # prediction "new new york" (3 words), gold "new york" (2): 2 shared
    assert token_f1("new new york", "new york") == pytest.approx(2 * (2 / 3) / (2 / 3 + 1))


def test_empty_prediction_and_nothing_shared():
    assert exact_match("", "1989") == 0.0 and token_f1("", "1989") == 0.0
    assert token_f1("1989", "1990") == 0.0
    # only articles and punctuation: normalises to "", so SQuAD v1.1 gives F1 0, EM 1
    assert exact_match("the", "a.") == 1.0 and token_f1("the", "a.") == 0.0


def test_squad_scores_are_percent_means():
    scores = squad_scores(["1989", "Paris", "William"], ["1989", ["Rome"], "William Shakespeare"])
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 0 + 2 / 3) / 3)


def test_squad_errors_name_the_bad_input():
    with pytest.raises(TypeError, match="prediction must be a str"):
        exact_match(None, "x")
    with pytest.raises(TypeError, match="each gold answer must be a str"):
        token_f1("x", ["x", 3])
    with pytest.raises(ValueError, match="at least one gold answer"):
        token_f1("x", [])
    with pytest.raises(ValueError, match="2 predictions for 1 questions"):
        squad_scores(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="one item per question"):
        squad_scores("abc", ["a", "b", "c"])
    with pytest.raises(ValueError, match="no questions"):
        squad_scores([], [])


# --- CoNLL-2003, conlleval ----------------------------------------------------------


def test_entities_are_read_from_b_and_i_tags():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-LOC", "B-LOC"]
    assert bio_entities(tags) == [("PER", 0, 1), ("LOC", 3, 5), ("LOC", 6, 6)]
    assert bio_entities([]) == [] and bio_entities(["O", "O"]) == []


def test_an_i_tag_that_continues_nothing_starts_an_entity():
    assert bio_entities(["I-PER", "I-PER"]) == [("PER", 0, 1)]  # at the sentence start
    assert bio_entities(["O", "I-LOC"]) == [("LOC", 1, 1)]  # after O
    assert bio_entities(["B-ORG", "I-PER", "I-PER"]) == [("ORG", 0, 0), ("PER", 1, 2)]


def test_an_entity_counts_only_with_its_type_and_both_ends():
    gold = [["B-ORG", "I-ORG", "O", "B-PER"]]
    assert entity_scores(gold, gold)["f1"] == 100.0
    cases = {
        "type mismatch": [["B-LOC", "I-LOC", "O", "B-PER"]],
        "too short": [["B-ORG", "O", "O", "B-PER"]],
        "too long": [["B-ORG", "I-ORG", "I-ORG", "B-PER"]],
        "split in two": [["B-ORG", "B-ORG", "O", "B-PER"]],
    }
    for name, guess in cases.items():
        scores = entity_scores(guess, gold)
        assert scores["correct"] == 1, name  # only the person is right
        assert scores["gold"] == 2, name


def test_i_without_b_matches_a_gold_entity_that_has_its_b():
    # conlleval reads "O I-PER I-PER" as one person: the same entity as "O B-PER I-PER"
    assert entity_scores([["O", "I-PER", "I-PER"]], [["O", "B-PER", "I-PER"]])["f1"] == 100.0


def test_precision_recall_f1_and_empty_predictions():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    guess = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "B-LOC"]]
    scores = entity_scores(guess, gold)
    assert (scores["correct"], scores["predicted"], scores["gold"]) == (2, 3, 3)
    assert scores["precision"] == pytest.approx(200 / 3)
    assert scores["recall"] == pytest.approx(200 / 3)
    assert scores["f1"] == pytest.approx(200 / 3)
    nothing = entity_scores([["O"] * 4, ["O"] * 2], gold)  # no entity predicted
    assert (nothing["precision"], nothing["recall"], nothing["f1"]) == (0.0, 0.0, 0.0)
    assert entity_scores([], [])["f1"] == 0.0


def test_an_entity_never_crosses_sentences():
    # one sentence ends in B-PER, the next starts with I-PER: two entities, not one
    scores = entity_scores([["O", "B-PER"], ["I-PER", "O"]], [["O", "B-PER"], ["B-PER", "O"]])
    assert scores["f1"] == 100.0


def _conlleval_chunks(tags):
    """conlleval.pl's startOfChunk/endOfChunk for B/I/O, restated independently."""
    chunks, previous, previous_type, start = [], "O", "", None
    for i, tag in enumerate([*tags, "O"]):  # conlleval closes chunks at a sentence end
        prefix, kind = (tag, "") if tag == "O" else tag.split("-", 1)
        ends = (previous in "BI" and prefix in "BO") or (previous != "O" and previous_type != kind)
        starts = prefix == "B" or (previous == "O" and prefix == "I")
        starts = starts or (prefix != "O" and previous_type != kind)
        if ends and start is not None:
            chunks.append((previous_type, start, i - 1))
            start = None
        if starts:
            start = i
        previous, previous_type = prefix, kind
    return chunks


def test_random_tag_sequences_match_conllevals_rules():
    rng = random.Random(0)
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    for _ in range(2000):
        sequence = [rng.choice(tags) for _ in range(rng.randint(0, 12))]
        assert bio_entities(sequence) == _conlleval_chunks(sequence), sequence


def test_entity_errors_name_the_bad_input():
    with pytest.raises(ValueError, match=r"tag 'E-PER' at position 1 is not BIO"):
        bio_entities(["O", "E-PER"])
    with pytest.raises(ValueError, match="'B-' at position 0"):
        bio_entities(["B-"])
    with pytest.raises(TypeError, match="not the str"):
        bio_entities("B-PER")
    with pytest.raises(TypeError, match="predicted must be a list of sentences"):
        entity_scores(["B-PER", "O"], [["B-PER", "O"]])
    with pytest.raises(ValueError, match="2 predicted sentences for 1 gold"):
        entity_scores([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="sentence 0: 1 predicted tags for 2 gold tags"):
        entity_scores([["O"]], [["O", "O"]])
