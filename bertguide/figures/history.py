"""Seventy-five years of language models in one small table of published facts.

Serves the chapter "GPT: the autoregressive branch" (its history section and the
figures ``lm-timeline`` and ``lm-parameter-growth``).

Language models came in four generations, as Zhao et al. (2023), A Survey of Large
Language Models (https://arxiv.org/abs/2303.18223), section 1, tell it:

=====  ==================================  =============================================
gen.   name                                what predicts the next word
=====  ==================================  =============================================
1      statistical n-gram models           counts of the last n - 1 words, smoothed
2      neural language models              a neural network over learned word vectors
3      pre-trained language models         a network pre-trained on unlabelled text
                                           (ELMo's LSTM, then BERT's and GPT-2's
                                           Transformers), then adapted to each task,
                                           usually by fine-tuning
4      large language models               a Transformer so large that it follows
                                           instructions and examples without fine-tuning
=====  ==================================  =============================================

One row is in no generation (``generation`` None): the 2017 Transformer, a
translation model trained from scratch, kept as the architecture of the later rows.

``LANGUAGE_MODELS`` holds one ``LanguageModel`` record per model: its year (of the first
public paper or announcement), organisation, generation, parameter count **where the
authors published one** (``None`` otherwise: n-gram models have counts, not parameters,
and OpenAI published no size for ChatGPT or GPT-4), and ``source``, the paper or
announcement the row comes from, with a link. Counts are the authors' own; where a paper
trained several sizes, the row is the largest and ``note`` says so.

    >>> gpt3 = by_name("GPT-3")
    >>> gpt3.year, f"{gpt3.parameters:,}"
    (2020, '175,000,000,000')

Left out: anything without a primary source, training compute and data sizes, and the
many models of each year that are not landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

# generation number -> its name
GENERATIONS = {
    1: "statistical n-gram models",
    2: "neural language models",
    3: "pre-trained language models",
    4: "large language models",
}


@dataclass(frozen=True)
class LanguageModel:
    """One row of the table: a model and where its facts come from."""

    model: str  # the name it is known by
    year: int  # year of the first public paper or announcement
    organisation: str  # who built it
    generation: int | None  # 1..4, a key of GENERATIONS; None: not a language model
    parameters: int | None  # the published count; None where none was published
    source: str  # the paper or announcement, with a link
    note: str = ""  # what the row stands for, where that needs saying


def _row(facts: tuple, source: str, note: str = "") -> LanguageModel:
    # (model, year, organisation, generation, parameters) on one line of the table
    return LanguageModel(*facts, source, note)


LANGUAGE_MODELS: tuple[LanguageModel, ...] = (
    _row(
        ("n-grams of English", 1948, "Bell Labs", 1, None),
        "Shannon (1948), A Mathematical Theory of Communication, "
        "https://doi.org/10.1002/j.1538-7305.1948.tb01338.x",
        "letter and word n-gram approximations of English",
    ),
    _row(
        ("Kneser-Ney smoothing", 1995, "Philips", 1, None),
        "Kneser & Ney (1995), Improved backing-off for m-gram language modeling, "
        "https://doi.org/10.1109/ICASSP.1995.479394",
    ),
    _row(
        ("Neural probabilistic LM", 2003, "Université de Montréal", 2, None),
        "Bengio et al. (2003), A Neural Probabilistic Language Model, JMLR 3, "
        "https://www.jmlr.org/papers/v3/bengio03a.html",
    ),
    _row(
        ("word2vec", 2013, "Google", 2, None),
        "Mikolov et al. (2013), Efficient Estimation of Word Representations in Vector "
        "Space, https://arxiv.org/abs/1301.3781",
        "static word vectors, not a full language model",
    ),
    _row(
        ("Transformer (big)", 2017, "Google", None, 213_000_000),
        "Vaswani et al. (2017), Attention Is All You Need, table 3, "
        "https://arxiv.org/abs/1706.03762",
        "a translation model trained from scratch, not pre-trained; the "
        "architecture of everything after it",
    ),
    _row(
        ("ELMo", 2018, "Allen Institute for AI", 3, 93_600_000),
        "Peters et al. (2018), Deep Contextualized Word Representations, "
        "https://aclanthology.org/N18-1202/; count from AllenNLP's ELMo page, "
        "https://allenai.org/allennlp/software/elmo",
    ),
    _row(
        ("GPT-1", 2018, "OpenAI", 3, 117_000_000),
        "Radford et al. (2018), Improving Language Understanding by Generative "
        "Pre-Training, https://cdn.openai.com/research-covers/language-unsupervised/"
        "language_understanding_paper.pdf; count from the GPT-2 paper, table 2",
    ),
    _row(
        ("BERT-large", 2018, "Google", 3, 340_000_000),
        "Devlin et al. (2019), BERT, https://aclanthology.org/N19-1423/",
        "the paper's rounding (336 M counted with the pre-training heads); BERT-base: 110 M",
    ),
    _row(
        ("GPT-2", 2019, "OpenAI", 3, 1_542_000_000),
        "Radford et al. (2019), Language Models are Unsupervised Multitask Learners, "
        "table 2, https://cdn.openai.com/better-language-models/"
        "language_models_are_unsupervised_multitask_learners.pdf",
        "the largest of four sizes; the smallest is 117 M",
    ),
    _row(
        ("T5-11B", 2019, "Google", 3, 11_000_000_000),
        "Raffel et al. (2020), Exploring the Limits of Transfer Learning with a Unified "
        "Text-to-Text Transformer, https://arxiv.org/abs/1910.10683",
        "the largest of five sizes",
    ),
    _row(
        ("GPT-3", 2020, "OpenAI", 4, 175_000_000_000),
        "Brown et al. (2020), Language Models are Few-Shot Learners, "
        "https://arxiv.org/abs/2005.14165",
        "the largest of eight sizes",
    ),
    _row(
        ("Gopher", 2021, "DeepMind", 4, 280_000_000_000),
        "Rae et al. (2021), Scaling Language Models: Methods, Analysis & Insights from "
        "Training Gopher, https://arxiv.org/abs/2112.11446",
    ),
    _row(
        ("InstructGPT", 2022, "OpenAI", 4, 175_000_000_000),
        "Ouyang et al. (2022), Training language models to follow instructions with "
        "human feedback, https://arxiv.org/abs/2203.02155",
        "GPT-3 tuned with RLHF; 1.3 B and 6 B versions too",
    ),
    _row(
        ("Chinchilla", 2022, "DeepMind", 4, 70_000_000_000),
        "Hoffmann et al. (2022), Training Compute-Optimal Large Language Models, "
        "https://arxiv.org/abs/2203.15556",
    ),
    _row(
        ("PaLM", 2022, "Google", 4, 540_000_000_000),
        "Chowdhery et al. (2022), PaLM: Scaling Language Modeling with Pathways, "
        "https://arxiv.org/abs/2204.02311",
    ),
    _row(
        ("ChatGPT", 2022, "OpenAI", 4, None),
        "OpenAI (2022), Introducing ChatGPT, https://openai.com/index/chatgpt/",
        "a sibling of InstructGPT; no size published",
    ),
    _row(
        ("LLaMA", 2023, "Meta", 4, 65_000_000_000),
        "Touvron et al. (2023), LLaMA: Open and Efficient Foundation Language Models, "
        "https://arxiv.org/abs/2302.13971",
        "the largest of four sizes",
    ),
    _row(
        ("GPT-4", 2023, "OpenAI", 4, None),
        "OpenAI (2023), GPT-4 Technical Report, https://arxiv.org/abs/2303.08774",
        "the report withholds the model size",
    ),
    _row(
        ("Llama 3.1 405B", 2024, "Meta", 4, 405_000_000_000),
        "Llama Team, AI @ Meta (2024), The Llama 3 Herd of Models, "
        "https://arxiv.org/abs/2407.21783",
    ),
)


def by_name(model: str) -> LanguageModel:
    """The record of ``model`` (its name as in the table); ValueError names the known ones.

    >>> by_name("BERT-large").parameters
    340000000
    """
    for record in LANGUAGE_MODELS:
        if record.model == model:
            return record
    known = ", ".join(r.model for r in LANGUAGE_MODELS)
    raise ValueError(f"model must be one of the table's names ({known}), got {model!r}")


def with_parameters() -> list[LanguageModel]:
    """The records with a published parameter count, in table (time) order."""
    return [r for r in LANGUAGE_MODELS if r.parameters is not None]
