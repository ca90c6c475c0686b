"""The history table: every row sourced, counts only where published, all of them drawn.

References: the numbers the papers print (GPT-2's table 2, the GPT-3 and BERT papers),
the generations of Zhao et al. (2023), A Survey of Large Language Models, section 1,
and the drawn figure's own artists (one point per counted row, one label per model).
"""

from __future__ import annotations

import re

import pytest

from bertguide.figures.history import GENERATIONS, LANGUAGE_MODELS, by_name, with_parameters

LINK = re.compile(r"https://\S+[\w/]")


def test_every_row_has_a_source_with_a_link():
    for record in LANGUAGE_MODELS:
        assert record.source.strip(), f"{record.model} has no source"
        assert LINK.search(record.source), f"{record.model}: source without a link"
        assert re.search(r"\(\d{4}\)", record.source), f"{record.model}: source without a year"


def test_rows_are_in_time_order_and_in_a_known_generation():
    years = [r.year for r in LANGUAGE_MODELS]
    assert years == sorted(years)
    generations = {r.generation for r in LANGUAGE_MODELS} - {None}
    assert generations == set(GENERATIONS) == {1, 2, 3, 4}
    assert len({r.model for r in LANGUAGE_MODELS}) == len(LANGUAGE_MODELS)


def test_generations_follow_zhao_et_al():
    # ELMo is a pre-trained language model, with BERT and GPT-2 (Zhao et al., section 1)
    assert GENERATIONS[3] == "pre-trained language models"
    for model in ("ELMo", "GPT-1", "BERT-large", "GPT-2"):
        assert by_name(model).generation == 3, model
    assert by_name("word2vec").generation == 2 and by_name("GPT-3").generation == 4
    # the 2017 Transformer was trained from scratch to translate: in no generation
    assert by_name("Transformer (big)").generation is None


def test_published_counts_are_the_papers_numbers():
    assert by_name("GPT-2").parameters == 1_542_000_000  # GPT-2 paper, table 2
    assert by_name("GPT-1").parameters == 117_000_000  # same table, "the original GPT"
    assert by_name("BERT-large").parameters == 340_000_000
    assert by_name("GPT-3").parameters == 175_000_000_000
    # no size was published for these: the table says so rather than guessing
    assert by_name("GPT-4").parameters is None and by_name("ChatGPT").parameters is None


def test_by_name_rejects_an_unknown_model():
    with pytest.raises(ValueError, match="model must be one of"):
        by_name("GPT-5")


def test_the_parameter_plot_draws_every_published_count():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bertguide.figures.gpt import plot_parameter_growth

    fig = plot_parameter_growth(LANGUAGE_MODELS)
    try:
        ax = fig.axes[0]
        points = [tuple(xy) for c in ax.collections for xy in c.get_offsets().tolist()]
        expected = [(r.year, r.parameters) for r in with_parameters()]
        assert sorted(points) == sorted((float(x), float(y)) for x, y in expected)
        labels = {t.get_text() for t in ax.texts}
        assert {r.model for r in with_parameters()} <= labels
        unpublished = " ".join(t for t in labels if t.startswith("no published count"))
        assert "GPT-4" in unpublished and "ChatGPT" in unpublished
        assert ax.get_yscale() == "log"
    finally:
        plt.close(fig)


def test_the_timeline_names_every_row():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bertguide.figures.gpt import plot_timeline

    fig = plot_timeline(LANGUAGE_MODELS)
    try:
        texts = [t.get_text() for t in fig.axes[0].texts]
        for record in LANGUAGE_MODELS:
            assert record.model in texts and str(record.year) in texts
        assert texts.count("size not published") == 2
        assert any(t.startswith("not a language model") for t in texts)  # the grey row
    finally:
        plt.close(fig)
