"""embedding_parts reads the three tables right; plot_embedding_parts draws them."""

from __future__ import annotations

import matplotlib
import pytest
import torch

import bertguide as bg
from bertguide.analysis.embeddings import embedding_parts
from bertguide.figures.embeddings import plot_embedding_parts

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def model_and_tokenizer():
    return bg.BertModel.from_pretrained(), bg.WordPieceTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def parts(model_and_tokenizer):
    model, tok = model_and_tokenizer
    return embedding_parts("Paris is a beautiful city", "I love Paris", model=model, tokenizer=tok)


def test_parts_add_up_to_the_embedding_layer(model_and_tokenizer, parts):
    model, tok = model_and_tokenizer
    batch = tok("Paris is a beautiful city", "I love Paris")
    with torch.no_grad():
        expected = model.embeddings(batch["input_ids"], batch["token_type_ids"])[0]  # (T, C)
    assert torch.allclose(parts.output, expected, atol=1e-6)
    assert torch.allclose(parts.token + parts.segment + parts.position, parts.total)
    assert parts.position_ids == list(range(len(parts.tokens)))
    assert parts.token_type_ids == [0] * 7 + [1] * 4


def test_rows_are_the_tables_rows(model_and_tokenizer, parts):
    model, _ = model_and_tokenizer
    tables = model.embeddings
    assert torch.equal(parts.token[1], tables.word_embeddings.weight[3000].detach())  # paris
    assert torch.equal(parts.segment[8], tables.token_type_embeddings.weight[1].detach())
    assert torch.equal(parts.position[4], tables.position_embeddings.weight[4].detach())


def test_plot_draws_one_strip_per_token_and_row(parts):
    fig = plot_embedding_parts(parts, dims=8)
    images = fig.axes[0].get_images()
    assert len(images) == 5 * len(parts.tokens)  # token, segment, position, sum, LayerNorm
    assert images[0].get_array().shape == (1, 8)
    matplotlib.pyplot.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"parts": "not parts"}, TypeError, "parts must be an EmbeddingParts"),
        ({"dims": 0}, ValueError, "dims must be a positive int"),
        ({"dims": True}, ValueError, "dims must be a positive int"),
    ],
)
def test_bad_arguments_are_named(parts, kwargs, error, words):
    arguments = {"parts": parts, **kwargs}
    with pytest.raises(error, match=words):
        plot_embedding_parts(**arguments)
