"""The task heads against transformers' BertFor... classes, and the helpers around them.

Parity follows minGPT's import test: the same weights in both implementations, the
same batch, the same logits and losses; in both directions (a transformers checkpoint
read by us, ours read by transformers with no missing or unexpected keys).
"""

import logging
import random

import pytest
import torch
import transformers

import bertguide as bg
from bertguide.checkpoint import hf_state_dict
from bertguide.config import BertConfig
from bertguide.finetuning import (
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    TaskOutput,
)
from bertguide.pretrained import resolve
from bertguide.tokenizer import load_vocab
from bertguide.words_and_spans import (
    align_labels,
    answer_question,
    best_span,
    encode_words,
    word_predictions,
)

ATOL = 1e-5
TINY = dict(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=64,
)
PAIRS = {  # ours -> transformers
    BertForSequenceClassification: transformers.BertForSequenceClassification,
    BertForTokenClassification: transformers.BertForTokenClassification,
    BertForQuestionAnswering: transformers.BertForQuestionAnswering,
}


@pytest.fixture(autouse=True, scope="module")
def quiet():
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def batch_and_labels(cls, num_labels, seed=0):
    """Random ids with padding and segments (3, 12), and labels fitting the head."""
    g = torch.Generator().manual_seed(seed)
    B, T = 3, 12
    batch = {
        "input_ids": torch.randint(1, TINY["vocab_size"], (B, T), generator=g),
        "token_type_ids": (torch.arange(T) >= 6).long().expand(B, T).clone(),
        "attention_mask": torch.ones(B, T, dtype=torch.long),
    }
    batch["attention_mask"][1, 8:] = 0
    batch["input_ids"][1, 8:] = 0
    if cls is BertForSequenceClassification and num_labels == 1:
        labels = {"labels": torch.randn(B, generator=g)}
    elif cls is BertForSequenceClassification:
        labels = {"labels": torch.randint(0, num_labels, (B,), generator=g)}
    elif cls is BertForTokenClassification:
        tags = torch.randint(0, num_labels, (B, T), generator=g)
        tags[:, 0] = tags[1, 8:] = -100  # [CLS] and padding take no part in the loss
        labels = {"labels": tags}
    else:  # an answer past the end of the sequence is clamped and ignored
        labels = {
            "start_positions": torch.tensor([2, 5, 40]),
            "end_positions": torch.tensor([4, 5, 41]),
        }
    return batch, labels


def assert_same(ours: TaskOutput, theirs) -> None:
    if ours.logits is None:
        torch.testing.assert_close(ours.start_logits, theirs.start_logits, atol=ATOL, rtol=0)
        torch.testing.assert_close(ours.end_logits, theirs.end_logits, atol=ATOL, rtol=0)
    else:
        torch.testing.assert_close(ours.logits, theirs.logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.loss, theirs.loss, atol=ATOL, rtol=0)
    assert torch.isfinite(ours.loss)


CASES = [
    (BertForSequenceClassification, 3),
    (BertForSequenceClassification, 1),  # regression: mean squared error
    (BertForTokenClassification, 5),
    (BertForQuestionAnswering, 2),
]


@pytest.mark.parametrize(("cls", "num_labels"), CASES)
def test_reads_a_transformers_checkpoint(tmp_path, cls, num_labels):
    torch.manual_seed(0)
    theirs = PAIRS[cls](transformers.BertConfig(**TINY, num_labels=num_labels))
    theirs.save_pretrained(tmp_path)
    theirs = PAIRS[cls].from_pretrained(tmp_path, attn_implementation="eager").eval()
    ours = cls.from_pretrained(tmp_path)
    assert ours.head_loaded and ours.num_labels == num_labels and not ours.training
    batch, labels = batch_and_labels(cls, num_labels)
    with torch.no_grad():
        assert_same(ours(**batch, **labels), theirs(**batch, **labels))


@pytest.mark.parametrize(("cls", "num_labels"), CASES)
def test_transformers_reads_our_checkpoint(tmp_path, cls, num_labels):
    torch.manual_seed(1)
    ours = cls(BertConfig(**TINY), num_labels=num_labels).eval()
    ours.save_pretrained(tmp_path)
    theirs, info = PAIRS[cls].from_pretrained(
        tmp_path, output_loading_info=True, attn_implementation="eager"
    )
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert not info["mismatched_keys"]
    assert theirs.config.num_labels == num_labels
    batch, labels = batch_and_labels(cls, num_labels, seed=1)
    with torch.no_grad():
        assert_same(ours(**batch, **labels), theirs.eval()(**batch, **labels))


def test_token_and_span_models_have_no_pooler_like_transformers():
    for cls in (BertForTokenClassification, BertForQuestionAnswering):
        ours = set(hf_state_dict(cls(BertConfig(**TINY))))
        theirs = set(PAIRS[cls](transformers.BertConfig(**TINY)).state_dict())
        assert ours == theirs
    ours = set(hf_state_dict(BertForSequenceClassification(BertConfig(**TINY))))
    assert "bert.pooler.dense.weight" in ours


def test_the_embedded_encoder_gets_a_fresh_head_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="bertguide.finetuning"):
        ours = BertForSequenceClassification.from_pretrained(num_labels=2, seed=3)
    assert not ours.head_loaded
    assert "has no classifier for BertForSequenceClassification: initialised" in caplog.text
    encoder = bg.BertModel.from_pretrained()
    for key, tensor in encoder.state_dict().items():
        assert torch.equal(ours.bert.state_dict()[key], tensor), key
    again = BertForSequenceClassification.from_pretrained(num_labels=2, seed=3)
    assert torch.equal(ours.classifier.weight, again.classifier.weight)  # seeded
    assert 0.01 < ours.classifier.weight.std().item() < 0.03  # N(0, 0.02)
    # the real 6-layer encoder, written by us and read by transformers
    ours.id2label = {0: "negative", 1: "positive"}
    ours.save_pretrained(tmp_path)
    theirs = transformers.BertForSequenceClassification.from_pretrained(
        tmp_path, attn_implementation="eager"
    ).eval()
    assert theirs.config.id2label == {0: "negative", 1: "positive"}
    tok = bg.WordPieceTokenizer.from_pretrained()
    batch = tok(["A gripping, beautiful film.", "Dull and far too long."], padding=True)
    labels = torch.tensor([1, 0])
    with torch.no_grad():
        assert_same(ours(**batch, labels=labels), theirs(**batch, labels=labels))
    back = BertForSequenceClassification.from_pretrained(tmp_path)
    assert back.head_loaded and back.id2label == {0: "negative", 1: "positive"}
    with pytest.raises(ValueError, match="num_labels=3"):
        BertForSequenceClassification.from_pretrained(tmp_path, num_labels=3)


def test_another_tasks_checkpoint_gives_the_encoder_and_a_fresh_head(tmp_path):
    torch.manual_seed(2)
    source = BertForSequenceClassification(BertConfig(**TINY), num_labels=3)
    source.save_pretrained(tmp_path)
    qa = BertForQuestionAnswering.from_pretrained(tmp_path)
    assert not qa.head_loaded and qa.num_labels == 2
    for key, tensor in qa.bert.state_dict().items():
        assert torch.equal(tensor, source.bert.state_dict()[key]), key
    assert "pooler.dense.weight" not in qa.bert.state_dict()


def test_bad_labels_fail_clearly():
    model = BertForTokenClassification(BertConfig(**TINY), num_labels=3)
    batch, _ = batch_and_labels(BertForTokenClassification, 3)
    with pytest.raises(ValueError, match="labels has shape"):
        model(**batch, labels=torch.zeros(3, dtype=torch.long))
    qa = BertForQuestionAnswering(BertConfig(**TINY))
    with pytest.raises(ValueError, match="both"):
        qa(**batch, start_positions=torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="num_labels"):
        BertForSequenceClassification(BertConfig(**TINY), num_labels=0)


# -----------------------------------------------------------------------------
# token classification: labels of words <-> labels of tokens


def test_labels_go_to_the_first_piece_of_each_word(tok):
    words = ["Jim", "Henson", "was", "a", "puppeteer", "in", "Zürich", "U.S.A."]
    tags = [1, 2, 0, 0, 0, 0, 3, 3]
    example = encode_words(tok, words, tags)
    tokens = tok.convert_ids_to_tokens(example["input_ids"].tolist())
    # "puppeteer" and "U.S.A." are several pieces: only the first carries the label
    assert tokens[5:8] == ["puppet", "##eer", "in"]
    assert example["labels"].tolist()[5:8] == [0, -100, 0]
    assert tokens[9:] == ["u", ".", "s", ".", "a", ".", "[SEP]"]
    assert example["labels"].tolist()[9:] == [3, -100, -100, -100, -100, -100, -100]
    # the same word ids as transformers' fast tokenizer with is_split_into_words=True
    fast = transformers.BertTokenizer(
        vocab=load_vocab(resolve(None) / "vocab.txt"), do_lower_case=True
    )
    reference = fast(words, is_split_into_words=True)
    assert example["input_ids"].tolist() == reference["input_ids"]
    assert example["word_ids"] == reference.word_ids()
    # reading predictions back gives one per word
    assert word_predictions(example["word_ids"], example["labels"]) == tags


def test_align_labels_by_hand():
    assert align_labels([None, 0, 1, 1, 1, 2, None], [7, 8, 9]) == [-100, 7, 8, -100, -100, 9, -100]
    assert word_predictions([None, 0, 0, 1, None], torch.tensor([5, 1, 2, 3, 5])) == [1, 3]
    with pytest.raises(ValueError, match="word_labels has 1"):
        align_labels([None, 0, 1], [4])


def test_truncated_words_lose_their_labels(tok):
    example = encode_words(tok, ["one", "two", "three", "four"], [1, 2, 3, 4], max_length=4)
    assert example["labels"].tolist() == [-100, 1, 2, -100]
    assert example["input_ids"].shape == (4,)


# -----------------------------------------------------------------------------
# span prediction


def brute_force(start, end, max_len, allowed):
    best = None
    for i in range(len(start)):
        for j in range(i, min(len(start), i + max_len)):
            if allowed[i] and allowed[j]:
                score = start[i].item() + end[j].item()
                if best is None or score > best[2]:
                    best = (i, j, score)
    return best


def test_best_span_is_always_valid_and_the_best():
    rng = random.Random(0)
    for trial in range(300):
        T = rng.randint(1, 24)
        g = torch.Generator().manual_seed(trial)
        start, end = torch.randn(T, generator=g) * 5, torch.randn(T, generator=g) * 5
        a = rng.randrange(T)
        b = rng.randint(a + 1, T)
        allowed = torch.zeros(T, dtype=torch.bool)
        allowed[a:b] = True  # the context: a contiguous run, as in a window
        max_len = rng.randint(1, 8)
        i, j, score = best_span(start, end, max_len, allowed)
        assert a <= i <= j < b and j - i + 1 <= max_len
        expected = brute_force(start, end, max_len, allowed)
        assert (i, j) == expected[:2] and score == pytest.approx(expected[2])


def test_best_span_refuses_a_bad_end_before_start():
    # the highest end score sits before the highest start score: that pair is invalid
    start = torch.tensor([-5.0, -5.0, -5.0, 9.0, -5.0])
    end = torch.tensor([-5.0, 10.0, -5.0, -5.0, 1.0])
    assert best_span(start, end) == (3, 4, 10.0)  # not (3, 1), which would score 19
    with pytest.raises(ValueError, match="allowed"):
        best_span(start, end, allowed=torch.zeros(5, dtype=torch.bool))


class ControlledQA(BertForQuestionAnswering):
    """Logits we set: start 10 on the token ``start_id``, end 10 on ``end_id``, else 0."""

    def __init__(self, start_id, end_id):
        super().__init__(BertConfig(**TINY))
        self.start_id, self.end_id = start_id, end_id

    def forward(self, input_ids, **kwargs):
        start = (input_ids == self.start_id).float() * 10.0  # (B, T)
        end = (input_ids == self.end_id).float() * 10.0
        return TaskOutput(start_logits=start, end_logits=end)


def test_answer_question_finds_an_answer_past_the_first_window(tok):
    filler = " ".join(["The committee met again and the weather was mild."] * 40)
    context = filler + " Finally, the Zébra Stripes won the prize. " + filler[:200]
    question = "Which zebra team won?"  # "zebra" in the question must not be taken
    model = ControlledQA(tok.vocab["zebra"], tok.vocab["stripes"])
    assert len(tok.encode(context)) > 400
    found = answer_question(question, context, model, tok, max_length=64, stride=16)
    assert found["answer"] == "Zébra Stripes"
    assert context[found["start"] : found["end"]] == "Zébra Stripes"
    assert found["window"] > 5  # many windows in, not the first
    assert found["score"] == pytest.approx(20.0)


def test_answer_question_maps_offsets_to_the_exact_text(tok):
    context = "In 1889, Gustave Eiffel’s tower opened in Paris, France."
    model = ControlledQA(tok.vocab["gustave"], tok.vocab["##el"])  # e ##iff ##el
    found = answer_question("Who?", context, model, tok)
    assert found["answer"] == "Gustave Eiffel"
    assert found["window"] == 0


# -----------------------------------------------------------------------------
# the sentiment comparison (the quick models; the full run is in the chapter)


def test_cross_validation_of_the_quick_models():
    pytest.importorskip("sklearn")
    from bertguide.experiments.sentiment import cross_validate, load_polarity, summary

    texts, labels = load_polarity()
    assert len(texts) == 200 and sum(labels) == 100
    results = cross_validate(n_splits=5, models=("majority", "tfidf_logreg"))
    # balanced classes, stratified folds: the majority guess is right on exactly half
    assert results["majority"] == [0.5] * 5
    # 40 test sentences per fold, and the same folds and fits on a second run
    assert all(abs(a * 40 - round(a * 40)) < 1e-4 for a in results["tfidf_logreg"])
    assert (
        cross_validate(n_splits=5, models=("tfidf_logreg",))["tfidf_logreg"]
        == results["tfidf_logreg"]
    )
    assert summary(results).splitlines()[1].startswith("majority               0.500 ± 0.000")
    with pytest.raises(ValueError, match="unknown model"):
        cross_validate(models=("svm",))


def test_mean_pooled_features_leave_padding_out(tok):
    from bertguide.experiments.sentiment import mean_pooled_features

    torch.manual_seed(0)
    model = bg.BertModel(BertConfig(**{**TINY, "vocab_size": len(tok)})).eval()
    texts = ["a fine film", "a much longer and duller film than anyone wanted"]
    pooled = mean_pooled_features(texts, model, tok)  # (2, C), the first row padded
    with torch.no_grad():
        alone = model(**tok(texts[0])).last_hidden_state[0].mean(0)  # (C,), no padding
    torch.testing.assert_close(pooled[0], alone, atol=1e-5, rtol=0)
    assert pooled.shape == (2, TINY["hidden_size"])
