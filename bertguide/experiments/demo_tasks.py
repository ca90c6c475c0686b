"""Three small demonstration datasets, and the heads trained on them for a few seconds.

Chapter: Fine-tuning and transfer learning. Offline, the guide has labelled data for
one task only (sentiment, ``bertguide.experiments.sentiment``). To show the other three heads of
``bertguide.finetuning`` at work, this module holds datasets written for the guide:

    PAIRS   36 premise / hypothesis pairs, 12 each entailment, neutral, contradiction
    NER     30 sentences, each word tagged O or B-/I- PER, LOC, ORG (BIO tags)
    QA      30 questions, each with a one-sentence context holding its answer

They are **demonstrations**, a few dozen examples written by hand: a model trained on
them for a few seconds shows what each head outputs, not what BERT can do on a real
benchmark (MNLI has 393k pairs, CoNLL-2003 14k sentences, SQuAD 88k questions). The
chapter's example sentences (``SEED_PAIR``, ``SEED_NER``, ``SEED_QA``) are kept out of
the training data; ``train_demo`` trains a head on one dataset, ``demo_model`` caches
the result per machine (``bertguide.experiments.cache``).

Dimension legend: B = examples per batch, T = tokens, K = labels.

Example (trains once per machine, then reads the cache)::

    model, report = demo_model("ner")
    tag_words(model, SEED_NER)            # one tag per word, whatever it learned

Left out: development sets (there is too little data to hold any out). The chapter
scores the QA and NER heads with ``bertguide.metrics`` on their own training
examples, which shows the metrics at work, not how well the heads generalise.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch

from bertguide.finetuning import (
    IGNORE_INDEX,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertTaskModel,
)
from bertguide.tokenizer import WordPieceTokenizer
from bertguide.training import TrainingConfig, TrainingHistory, train
from bertguide.words_and_spans import answer_question, encode_words, word_predictions

TASKS = ("pairs", "ner", "qa")

# --- sentence pairs: does the hypothesis follow from the premise? -------------------------

PAIR_LABELS = ("entailment", "neutral", "contradiction")
PAIRS: tuple[tuple[str, str, str], ...] = (
    ("A man is playing a guitar on stage.", "Someone is making music.", "entailment"),
    ("A man is playing a guitar on stage.", "The man is asleep at home.", "contradiction"),
    ("A man is playing a guitar on stage.", "The man is a famous singer.", "neutral"),
    ("The children are laughing in the park.", "Kids are outside.", "entailment"),
    ("The children are laughing in the park.", "The children are crying.", "contradiction"),
    ("The children are laughing in the park.", "The children are on holiday.", "neutral"),
    ("She bought three apples at the market.", "She bought fruit.", "entailment"),
    ("She bought three apples at the market.", "She bought nothing.", "contradiction"),
    ("She bought three apples at the market.", "She likes to bake pies.", "neutral"),
    ("The dog is sleeping on the sofa.", "An animal is resting.", "entailment"),
    ("The dog is sleeping on the sofa.", "The dog is running in the garden.", "contradiction"),
    ("The dog is sleeping on the sofa.", "The dog is five years old.", "neutral"),
    ("The train left the station at noon.", "The train departed.", "entailment"),
    ("The train left the station at noon.", "The train never left.", "contradiction"),
    ("The train left the station at noon.", "The train was full of tourists.", "neutral"),
    ("It is snowing in the mountains.", "It is cold in the mountains.", "entailment"),
    ("It is snowing in the mountains.", "The mountains are hot and dry.", "contradiction"),
    ("It is snowing in the mountains.", "Skiers are happy today.", "neutral"),
    ("The sky is dark and stormy.", "The weather is bad.", "entailment"),
    ("The sky is dark and stormy.", "The sky is clear and bright.", "contradiction"),
    ("The sky is dark and stormy.", "A football match was cancelled.", "neutral"),
    ("The glass is empty.", "There is nothing in the glass.", "entailment"),
    ("The glass is empty.", "The glass is full of water.", "contradiction"),
    ("The glass is empty.", "Someone was thirsty.", "neutral"),
    ("He won the chess tournament.", "He plays chess.", "entailment"),
    ("He won the chess tournament.", "He lost every game.", "contradiction"),
    ("He won the chess tournament.", "He trained for ten years.", "neutral"),
    ("The road is dry and dusty.", "There is dust on the road.", "entailment"),
    ("The road is dry and dusty.", "The road is flooded.", "contradiction"),
    ("The road is dry and dusty.", "The road leads to a farm.", "neutral"),
    ("The lights in the room are off.", "The room is dark.", "entailment"),
    ("The lights in the room are off.", "The room is brightly lit.", "contradiction"),
    ("The lights in the room are off.", "Everyone has gone to bed.", "neutral"),
    ("Two women are drinking coffee.", "People are having a drink.", "entailment"),
    ("Two women are drinking coffee.", "Nobody is drinking anything.", "contradiction"),
    ("Two women are drinking coffee.", "The women are sisters.", "neutral"),
)
SEED_PAIR = ("It rains", "The sun shines")  # the chapter's example, not trained on

# --- named entities: one BIO tag per word --------------------------------------------------

NER_LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
# A word without "/TAG" is O; "New/B-LOC Zealand/I-LOC" is one two-word location.
NER: tuple[str, ...] = (
    "Angela/B-PER Merkel/I-PER visited Paris/B-LOC last week",
    "Barack/B-PER Obama/I-PER spoke at Harvard/B-ORG University/I-ORG",
    "Emmanuel/B-PER Macron/I-PER flew to Berlin/B-LOC",
    "Maria/B-PER works for Google/B-ORG in London/B-LOC",
    "The United/B-ORG Nations/I-ORG met in Geneva/B-LOC",
    "Serena/B-PER Williams/I-PER won the final in Melbourne/B-LOC",
    "Apple/B-ORG opened a store in Tokyo/B-LOC",
    "Taylor/B-PER Swift/I-PER sang in Los/B-LOC Angeles/I-LOC",
    "Microsoft/B-ORG hired Satya/B-PER Nadella/I-PER",
    "Elon/B-PER Musk/I-PER founded SpaceX/B-ORG in California/B-LOC",
    "The Red/B-ORG Cross/I-ORG sent help to Haiti/B-LOC",
    "Pope Francis/B-PER travelled to Brazil/B-LOC",
    "Amazon/B-ORG moved its offices to Seattle/B-LOC",
    "Greta/B-PER Thunberg/I-PER sailed to New/B-LOC Zealand/I-LOC",
    "The BBC/B-ORG interviewed Rishi/B-PER Sunak/I-PER in Manchester/B-LOC",
    "Nelson/B-PER Mandela/I-PER was born in South/B-LOC Africa/I-LOC",
    "Toyota/B-ORG builds cars in Japan/B-LOC",
    "Marie/B-PER Curie/I-PER studied in Warsaw/B-LOC and Paris/B-LOC",
    "Oxford/B-ORG University/I-ORG invited Jane/B-PER Goodall/I-PER",
    "Vladimir/B-PER Putin/I-PER arrived in Beijing/B-LOC",
    "Shakira/B-PER performed for FIFA/B-ORG in Qatar/B-LOC",
    "Netflix/B-ORG signed a deal with Steven/B-PER Spielberg/I-PER",
    "Justin/B-PER Trudeau/I-PER went to Washington/B-LOC",
    "NASA/B-ORG launched a rocket from Texas/B-LOC",
    "Albert/B-PER Einstein/I-PER moved to Princeton/B-LOC",
    "The World/B-ORG Bank/I-ORG lent money to Egypt/B-LOC",
    "Kamala/B-PER Harris/I-PER met workers from Ford/B-ORG in Detroit/B-LOC",
    "Lionel/B-PER Messi/I-PER left Barcelona/B-ORG for Paris/B-LOC",
    "Samsung/B-ORG and Sony/B-ORG compete in Korea/B-LOC",
    "Frida/B-PER Kahlo/I-PER painted in Mexico/B-LOC City/I-LOC",
)
SEED_NER = ("Joe", "Biden", "went", "to", "New", "York")  # the chapter's example

# --- extractive question answering: the answer is a span of the context --------------------

QA: tuple[tuple[str, str, str], ...] = (
    (
        "Who painted the Mona Lisa?",
        "The Mona Lisa was painted by Leonardo da Vinci in the sixteenth century.",
        "Leonardo da Vinci",
    ),
    (
        "Who wrote Romeo and Juliet?",
        "Romeo and Juliet is a play written by William Shakespeare around 1595.",
        "William Shakespeare",
    ),
    (
        "When did the Berlin Wall fall?",
        "The Berlin Wall fell in 1989, and Germany was reunited a year later.",
        "1989",
    ),
    (
        "Where is the Eiffel Tower?",
        "The Eiffel Tower stands in Paris and was finished in 1889.",
        "Paris",
    ),
    (
        "Who invented the telephone?",
        "Alexander Graham Bell is credited with inventing the telephone in 1876.",
        "Alexander Graham Bell",
    ),
    (
        "What is the capital of Japan?",
        "Tokyo is the capital of Japan and its largest city.",
        "Tokyo",
    ),
    (
        "Who discovered penicillin?",
        "Penicillin was discovered by Alexander Fleming in 1928.",
        "Alexander Fleming",
    ),
    (
        "Who discovered radium?",
        "Marie Curie and Pierre Curie discovered radium in 1898.",
        "Marie Curie and Pierre Curie",
    ),
    (
        "Who first reached the South Pole?",
        "Roald Amundsen led the first expedition to reach the South Pole, in 1911.",
        "Roald Amundsen",
    ),
    (
        "When did the Titanic sink?",
        "The Titanic sank in April 1912 after it hit an iceberg.",
        "April 1912",
    ),
    (
        "Who was the first person on the Moon?",
        "Neil Armstrong was the first person to walk on the Moon, in 1969.",
        "Neil Armstrong",
    ),
    ("Where was Mozart born?", "Wolfgang Amadeus Mozart was born in Salzburg in 1756.", "Salzburg"),
    (
        "Which river flows through Cairo?",
        "Cairo lies on the banks of the Nile, the longest river in Africa.",
        "the Nile",
    ),
    (
        "Who developed the theory of relativity?",
        "The theory of relativity was developed by Albert Einstein.",
        "Albert Einstein",
    ),
    ("What is the largest ocean?", "The Pacific is the largest ocean on Earth.", "The Pacific"),
    (
        "Who founded Microsoft?",
        "Microsoft was founded by Bill Gates and Paul Allen in 1975.",
        "Bill Gates and Paul Allen",
    ),
    ("When did the Second World War end?", "The Second World War ended in 1945.", "1945"),
    (
        "Who described the structure of DNA?",
        "In 1953 James Watson and Francis Crick described the double helix of DNA.",
        "James Watson and Francis Crick",
    ),
    (
        "Who led the first voyage around the world?",
        "Ferdinand Magellan led the first voyage around the world.",
        "Ferdinand Magellan",
    ),
    ("What language is spoken in Brazil?", "Most people in Brazil speak Portuguese.", "Portuguese"),
    (
        "Who composed the Moonlight Sonata?",
        "The Moonlight Sonata was composed by Ludwig van Beethoven in 1801.",
        "Ludwig van Beethoven",
    ),
    (
        "Where is the Great Barrier Reef?",
        "The Great Barrier Reef lies off the coast of Australia.",
        "Australia",
    ),
    (
        "Who invented the printing press?",
        "Johannes Gutenberg built his printing press around 1440.",
        "Johannes Gutenberg",
    ),
    (
        "Who climbed Mount Everest first?",
        "Edmund Hillary and Tenzing Norgay reached the top of Mount Everest in 1953.",
        "Edmund Hillary and Tenzing Norgay",
    ),
    (
        "Who discovered the planet Uranus?",
        "William Herschel discovered the planet Uranus in 1781.",
        "William Herschel",
    ),
    ("What is the capital of Canada?", "Ottawa, not Toronto, is the capital of Canada.", "Ottawa"),
    (
        "Who led India to independence?",
        "Mahatma Gandhi led the movement that won India its independence in 1947.",
        "Mahatma Gandhi",
    ),
    (
        "Where did the Olympic Games begin?",
        "The Olympic Games began in ancient Greece, at Olympia.",
        "Olympia",
    ),
    (
        "Who found the tomb of Tutankhamun?",
        "Howard Carter found the tomb of Tutankhamun in Egypt in 1922.",
        "Howard Carter",
    ),
    (
        "When did the French Revolution begin?",
        "The French Revolution began in 1789 with the storming of the Bastille.",
        "1789",
    ),
)
SEED_QA = (
    "Who discovered America?",
    "In 1492 Christopher Columbus sailed west from Spain and discovered America.",
)  # the chapter's example, not trained on


# --- data -> examples ----------------------------------------------------------------------


def parse_tagged(sentence: str) -> tuple[list[str], list[str]]:
    """``"Emmanuel/B-PER Macron/I-PER flew"`` -> (words, tags); an untagged word is O.

    >>> parse_tagged("Emmanuel/B-PER Macron/I-PER flew")
    (['Emmanuel', 'Macron', 'flew'], ['B-PER', 'I-PER', 'O'])
    """
    words, tags = [], []
    for item in sentence.split():
        word, _, tag = item.partition("/")
        tag = tag or "O"
        if tag not in NER_LABELS:
            raise ValueError(f"unknown tag {tag!r} in {sentence!r}; tags are {NER_LABELS}")
        words.append(word)
        tags.append(tag)
    return words, tags


def pair_examples(tokenizer: WordPieceTokenizer) -> list[dict]:
    """PAIRS -> examples of (T,) tensors ``[CLS] premise [SEP] hypothesis [SEP]``, labels."""
    examples = []
    for premise, hypothesis, label in PAIRS:
        encoded = tokenizer(premise, hypothesis)  # (1, T) each
        example = {k: v[0] for k, v in encoded.items()}
        example["labels"] = torch.tensor(PAIR_LABELS.index(label))
        examples.append(example)
    return examples


def ner_examples(tokenizer: WordPieceTokenizer) -> list[dict]:
    """NER -> examples of (T,) tensors, each word's first piece labelled (-100 the rest)."""
    examples = []
    for sentence in NER:
        words, tags = parse_tagged(sentence)
        example = encode_words(tokenizer, words, [NER_LABELS.index(t) for t in tags])
        example.pop("word_ids")
        examples.append(example)
    return examples


def answer_positions(
    tokenizer: WordPieceTokenizer, question: str, context: str, answer: str
) -> dict:
    """One QA example: ``[CLS] question [SEP] context [SEP]`` as (T,) tensors, and the
    token positions of the answer's first and last piece (``start_positions``,
    ``end_positions``), found from the characters through the offset mapping."""
    char_start = context.find(answer)
    if not answer or char_start < 0:
        raise ValueError(f"the answer {answer!r} is not in the context {context!r}")
    char_end = char_start + len(answer)
    encoded = tokenizer(question, context, return_offsets_mapping=True)
    offsets = encoded.pop("offset_mapping")[0]  # (T, 2)
    in_context = [s == 1 for s in encoded.sequence_ids(0)]
    starts = [t for t, ok in enumerate(in_context) if ok and offsets[t, 0] == char_start]
    ends = [t for t, ok in enumerate(in_context) if ok and offsets[t, 1] == char_end]
    if not starts or not ends:
        raise ValueError(f"the answer {answer!r} does not start and end on token boundaries")
    example = {k: v[0] for k, v in encoded.items()}
    example["start_positions"] = torch.tensor(starts[0])
    example["end_positions"] = torch.tensor(ends[-1])
    return example


def qa_examples(tokenizer: WordPieceTokenizer) -> list[dict]:
    """QA -> examples with ``start_positions`` and ``end_positions``."""
    return [answer_positions(tokenizer, q, c, a) for q, c, a in QA]


def pad_collate(examples: list[dict]) -> dict:
    """Examples of different lengths -> a batch padded to the longest: (B, T) tensors.

    Padding is 0 (the [PAD] id, no attention, segment 0); labels are padded with -100.

    >>> pad_collate([{"input_ids": torch.tensor([1, 2])}, {"input_ids": torch.tensor([3])}])
    {'input_ids': tensor([[1, 2],
            [3, 0]])}
    """
    batch = {}
    for key in examples[0]:
        values = [e[key] for e in examples]
        if values[0].dim() == 0:
            batch[key] = torch.stack(values)  # (B,)
            continue
        fill = IGNORE_INDEX if key == "labels" else 0
        T = max(v.shape[0] for v in values)
        batch[key] = torch.stack(
            [torch.cat([v, v.new_full((T - v.shape[0],), fill)]) for v in values]
        )  # (B, T)
    return batch


# --- training ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSettings:
    """How ``train_demo`` trains a head on a demonstration dataset."""

    num_epochs: int = 10  # passes over the examples
    batch_size: int = 6  # examples per step
    learning_rate: float = 1e-4  # peak learning rate of the encoder
    head_lr_multiplier: float = 10.0  # the fresh head (and the pooler) learn this much faster
    warmup_steps: int = 5  # linear warmup, then linear decay to 0
    threads: int = 2  # torch.set_num_threads while training
    seed: int = 0  # head initialisation, batch order, dropout


_CLASSES = {
    "pairs": (BertForSequenceClassification, PAIR_LABELS),
    "ner": (BertForTokenClassification, NER_LABELS),
    "qa": (BertForQuestionAnswering, None),
}


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def train_demo(
    task: str, settings: DemoSettings | None = None, name_or_path=None
) -> tuple[BertTaskModel, TrainingHistory]:
    """Fine-tune the head of ``task`` ("pairs", "ner" or "qa") on its dataset.

    Starts from ``name_or_path`` (None = the embedded model); returns the model in eval
    mode and ``train``'s history. Seconds on 2 CPU cores.

    Example::

        model, history = train_demo("pairs")
        predict_pair(model, "It rains", "The sun shines")   # label -> probability
    """
    _check_task(task)
    settings = DemoSettings() if settings is None else settings
    tokenizer = WordPieceTokenizer.from_pretrained(name_or_path)
    examples = {"pairs": pair_examples, "ner": ner_examples, "qa": qa_examples}[task](tokenizer)
    cls, labels = _CLASSES[task]
    quiet = logging.getLogger("bertguide.finetuning")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "no head: initialised": the point of fine-tuning
    try:
        if labels is None:
            model = cls.from_pretrained(name_or_path, seed=settings.seed)
        else:
            id2label = dict(enumerate(labels))
            model = cls.from_pretrained(
                name_or_path, num_labels=len(labels), id2label=id2label, seed=settings.seed
            )
    finally:
        quiet.setLevel(level)
    fast = {f"{cls.head_name}.": settings.head_lr_multiplier}
    if model.uses_pooler:
        fast["bert.pooler."] = settings.head_lr_multiplier
    config = TrainingConfig(
        max_steps=settings.num_epochs * (len(examples) // settings.batch_size),
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_steps,
        lr_multipliers={**fast, "bert.embeddings.word_embeddings.": 0.0},
        seed=settings.seed,
        show_progress=False,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        history = train(model, examples, config, collate_fn=pad_collate)
    finally:
        torch.set_num_threads(threads)
    return model.eval(), history


# --- reading the trained heads -------------------------------------------------------------


@torch.no_grad()
def predict_pair(
    model: BertForSequenceClassification,
    premise: str,
    hypothesis: str,
    tokenizer: WordPieceTokenizer | None = None,
) -> dict[str, float]:
    """The probability of each label for one pair (eval mode), label name -> probability.

    Example::

        predict_pair(model, "It rains", "The sun shines")   # {'entailment': 0.1, ...}
    """
    tokenizer = WordPieceTokenizer.from_pretrained() if tokenizer is None else tokenizer
    model.eval()
    probabilities = model(**tokenizer(premise, hypothesis)).logits.softmax(-1)[0]  # (K,)
    return {model.id2label[i]: float(p) for i, p in enumerate(probabilities)}


@torch.no_grad()
def tag_words(
    model: BertForTokenClassification,
    words: list[str] | tuple[str, ...],
    tokenizer: WordPieceTokenizer | None = None,
) -> list[str]:
    """One predicted tag per word, read at each word's first piece (eval mode).

    Example::

        tag_words(model, ["Joe", "Biden", "went", "to", "New", "York"])  # ['B-PER', ...]
    """
    tokenizer = WordPieceTokenizer.from_pretrained() if tokenizer is None else tokenizer
    model.eval()
    example = encode_words(tokenizer, list(words))
    word_ids = example.pop("word_ids")
    logits = model(**{k: v[None] for k, v in example.items()}).logits[0]  # (T, K)
    return [model.id2label[i] for i in word_predictions(word_ids, logits.argmax(-1))]


# --- the results: trained once per machine (seconds), reports shipped ---------------------


@dataclass(frozen=True)
class DemoRun:
    """What a demonstration run computes (its identity, with its name and version)."""

    task: str
    settings: DemoSettings = DemoSettings()


DEFAULT_RUNS = SimpleNamespace(**{task: DemoRun(task) for task in TASKS})


def seed_answer(task: str, model: BertTaskModel):
    """What ``task``'s trained head says about the chapter's example: the label
    probabilities of ``SEED_PAIR``, the tags of ``SEED_NER`` or the answer to ``SEED_QA``."""
    if task == "pairs":
        return predict_pair(model, *SEED_PAIR)
    if task == "ner":
        return tag_words(model, SEED_NER)
    found = answer_question(*SEED_QA, model)
    return {"answer": found["answer"], "start": found["start"], "end": found["end"]}


def run_to_folder(run: DemoRun, folder: Path) -> dict:
    """Train ``run.task``'s head; save it into ``folder``; return the report, with what
    the head says about the chapter's example (``seed_answer``)."""
    start = time.perf_counter()
    model, history = train_demo(run.task, run.settings)
    model.save_pretrained(folder)
    WordPieceTokenizer.from_pretrained().save_vocabulary(folder)
    return {
        "task": run.task,
        "steps": len(history.loss),
        "loss": history.loss,
        "seed_answer": seed_answer(run.task, model),
        "train_time_s": history.wall_time_s,
        "wall_time_s": time.perf_counter() - start,
    }


def probe_settings(run: DemoRun) -> DemoRun:
    """The same run on one thread (the probe stops it after two steps)."""
    return DemoRun(run.task, dataclasses.replace(run.settings, threads=1))


def demo_model(task: str, settings: DemoSettings | None = None) -> tuple[BertTaskModel, dict]:
    """``task``'s trained head (eval mode) and the report of its training.

    The heads do not ship with the package: the first call on a machine trains the head
    (seconds on 2 CPU cores, announced on stderr) and keeps it in the cache; the report
    is the shipped one. Another CPU may train a slightly different head, so its
    predictions are checked by what they are (a label, a span), not to the last digit.

    Example::

        model, report = demo_model("qa")
        answer_question(*SEED_QA, model)["answer"]
    """
    from bertguide.experiments import store

    _check_task(task)
    run = DemoRun(task, DemoSettings() if settings is None else settings)
    name = f"demo-{task}"
    cls, _ = _CLASSES[task]
    default = run == getattr(DEFAULT_RUNS, task)
    return cls.from_pretrained(store.made(name, run)), store.report(name, None if default else run)


__all__ = [
    "NER",
    "NER_LABELS",
    "PAIRS",
    "PAIR_LABELS",
    "QA",
    "SEED_NER",
    "SEED_PAIR",
    "SEED_QA",
    "TASKS",
    "DemoSettings",
    "answer_positions",
    "answer_question",
    "demo_model",
    "ner_examples",
    "pad_collate",
    "pair_examples",
    "parse_tagged",
    "predict_pair",
    "qa_examples",
    "seed_answer",
    "tag_words",
    "train_demo",
]
