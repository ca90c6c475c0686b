"""The demonstration datasets, their encoding, and the training and cache of their heads.

Training runs on a tiny stand-in (a 1-layer, 32-wide BERT with the embedded vocabulary,
written to a temporary folder), never on the embedded model, and the cache lives in a
temporary ``BERTGUIDE_CACHE``.
"""

from __future__ import annotations

import json

import pytest
import torch

from bertguide.config import BertConfig
from bertguide.experiments import demo_tasks, store
from bertguide.finetuning import (
    IGNORE_INDEX,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)
from bertguide.model import BertModel


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, tok):
    """A 1-layer, 32-wide BERT in the Hugging Face format, with the embedded vocabulary."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = BertConfig.tiny(
        vocab_size=len(tok), num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=64
    )
    BertModel(config).save_pretrained(folder)
    tok.save_vocabulary(folder)
    return folder


# --- the data ---------------------------------------------------------------------------


def test_the_datasets_are_balanced_and_well_formed():
    labels = [label for _, _, label in demo_tasks.PAIRS]
    assert {name: labels.count(name) for name in demo_tasks.PAIR_LABELS} == {
        "entailment": 12,
        "neutral": 12,
        "contradiction": 12,
    }
    assert len(demo_tasks.NER) == 30 and len(demo_tasks.QA) == 30
    tags = [t for sentence in demo_tasks.NER for t in demo_tasks.parse_tagged(sentence)[1]]
    for kind in ("PER", "LOC", "ORG"):
        assert tags.count(f"B-{kind}") >= 10  # every entity type seen at least 10 times
    for previous, tag in zip(["O", *tags], tags, strict=False):
        if tag.startswith("I-"):  # an I- tag continues an entity of the same type
            assert previous[2:] == tag[2:], (previous, tag)
    for question, context, answer in demo_tasks.QA:
        assert question.endswith("?") and answer in context


def test_the_chapter_examples_are_not_training_data():
    premises = {text.lower().rstrip(".") for p in demo_tasks.PAIRS for text in p[:2]}
    assert not {s.lower() for s in demo_tasks.SEED_PAIR} & premises
    words = {w for sentence in demo_tasks.NER for w in demo_tasks.parse_tagged(sentence)[0]}
    assert not {"Joe", "Biden", "York"} & words
    question, context = demo_tasks.SEED_QA
    assert all(question != q and context != c for q, c, _ in demo_tasks.QA)
    assert not any("Columbus" in c or "America" in q for q, c, _ in demo_tasks.QA)


def test_parse_tagged_and_its_errors():
    words, tags = demo_tasks.parse_tagged("Greta/B-PER Thunberg/I-PER sailed to New/B-LOC")
    assert words == ["Greta", "Thunberg", "sailed", "to", "New"]
    assert tags == ["B-PER", "I-PER", "O", "O", "B-LOC"]
    with pytest.raises(ValueError, match="unknown tag 'B-CITY'"):
        demo_tasks.parse_tagged("Paris/B-CITY")


def test_every_answer_is_found_at_its_tokens(tok):
    examples = demo_tasks.qa_examples(tok)
    for example, (_, _, answer) in zip(examples, demo_tasks.QA, strict=True):
        start, end = int(example["start_positions"]), int(example["end_positions"])
        assert example["token_type_ids"][start] == 1  # in the context, not the question
        assert tok.decode(example["input_ids"][start : end + 1].tolist()) == answer.lower()
    first = demo_tasks.answer_positions(tok, "Who wrote it?", "Ada wrote it.", "Ada")
    # [CLS] who wrote it ? [SEP] ada wrote it . [SEP]
    assert (int(first["start_positions"]), int(first["end_positions"])) == (6, 6)
    with pytest.raises(ValueError, match="not in the context"):
        demo_tasks.answer_positions(tok, "Who?", "Ada wrote it.", "Bob")
    with pytest.raises(ValueError, match="token boundaries"):
        demo_tasks.answer_positions(tok, "Who?", "Ada wrote it.", "da")


def test_pair_and_ner_examples(tok):
    pairs = demo_tasks.pair_examples(tok)
    first = pairs[0]  # [CLS] a man is playing a guitar on stage . [SEP] someone ... [SEP]
    assert first["token_type_ids"].tolist() == [0] * 11 + [1] * 6
    assert int(first["labels"]) == demo_tasks.PAIR_LABELS.index("entailment")
    ner = demo_tasks.ner_examples(tok)[1]  # Barack Obama spoke at Harvard University
    pieces = tok.convert_ids_to_tokens(ner["input_ids"].tolist())
    labels = [demo_tasks.NER_LABELS[i] if i != IGNORE_INDEX else "-" for i in ner["labels"]]
    words_with_tags = [(p, t) for p, t in zip(pieces, labels, strict=True) if t != "-"]
    assert words_with_tags == [
        ("barack", "B-PER"),
        ("obama", "I-PER"),
        ("spoke", "O"),
        ("at", "O"),
        ("harvard", "B-ORG"),
        ("university", "I-ORG"),
    ]


def test_pad_collate_pads_ids_with_0_and_labels_with_minus_100():
    batch = demo_tasks.pad_collate(
        [
            {"input_ids": torch.tensor([5, 6, 7]), "labels": torch.tensor([1, 2, 3])},
            {"input_ids": torch.tensor([8]), "labels": torch.tensor([4])},
        ]
    )
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[1, 2, 3], [4, -100, -100]]
    scalars = demo_tasks.pad_collate([{"y": torch.tensor(1)}, {"y": torch.tensor(0)}])
    assert scalars["y"].tolist() == [1, 0]


# --- training and reading the heads (tiny stand-in) ----------------------------------------

FAST = demo_tasks.DemoSettings(num_epochs=2, batch_size=6, warmup_steps=0, threads=1)


@pytest.mark.parametrize(
    ("task", "cls"),
    [
        ("pairs", BertForSequenceClassification),
        ("ner", BertForTokenClassification),
        ("qa", BertForQuestionAnswering),
    ],
)
def test_train_demo_trains_the_right_head(task, cls, tiny_dir, tok):
    model, history = demo_tasks.train_demo(task, FAST, name_or_path=tiny_dir)
    assert type(model) is cls and not model.training
    assert len(history.loss) == 2 * (30 // 6 if task != "pairs" else 36 // 6)
    if task == "pairs":
        probabilities = demo_tasks.predict_pair(model, *demo_tasks.SEED_PAIR, tok)
        assert list(probabilities) == list(demo_tasks.PAIR_LABELS)
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    elif task == "ner":
        tags = demo_tasks.tag_words(model, demo_tasks.SEED_NER, tok)
        assert len(tags) == 6 and set(tags) <= set(demo_tasks.NER_LABELS)
    else:
        found = demo_tasks.answer_question(*demo_tasks.SEED_QA, model, tok)
        context = demo_tasks.SEED_QA[1]
        assert found["answer"] == context[found["start"] : found["end"]] != ""


def test_a_trained_head_learns_its_training_tags(tiny_dir):
    settings = demo_tasks.DemoSettings(num_epochs=10, learning_rate=1e-3, threads=1)
    _, history = demo_tasks.train_demo("ner", settings, name_or_path=tiny_dir)
    first, last = sum(history.loss[:5]) / 5, sum(history.loss[-5:]) / 5
    assert first > 1.8 and last < 0.7 * first  # from about ln 7 = 1.95 to well below


def test_demo_model_trains_once_then_reads_the_cache(monkeypatch, tmp_path, tiny_dir, capfd):
    monkeypatch.setenv("BERTGUIDE_CACHE", str(tmp_path))
    real = demo_tasks.train_demo
    calls = []

    def tiny(task, settings=None, name_or_path=None):
        calls.append(task)
        return real(task, FAST, name_or_path=tiny_dir)

    monkeypatch.setattr(demo_tasks, "train_demo", tiny)
    model, report = demo_tasks.demo_model("ner", FAST)
    assert "fine-tuning the ner demonstration head" in capfd.readouterr().err
    assert isinstance(model, BertForTokenClassification) and model.head_loaded
    assert model.id2label == dict(enumerate(demo_tasks.NER_LABELS))
    assert report["task"] == "ner" and report["steps"] == len(report["loss"]) == 10
    again, _ = demo_tasks.demo_model("ner", FAST)
    assert calls == ["ner"] and capfd.readouterr().err == ""
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    folder = store.cache_directory("demo-ner", demo_tasks.DemoRun("ner", FAST))
    assert json.loads((folder / "config.json").read_text())["id2label"]["1"] == "B-PER"
    with pytest.raises(ValueError, match="task must be one of"):
        demo_tasks.demo_model("sentiment")
