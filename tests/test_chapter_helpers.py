"""Helpers of the attention, encoder and contextual-embeddings chapters and their figures."""

from __future__ import annotations

import matplotlib
import pytest
import torch

import bertguide as bg
from bertguide.analysis.contextual import (
    WORD_SENSES,
    pca_2d,
    word_sense_vectors,
    word_vector,
    word_vectors,
)
from bertguide.analysis.encoder import model_size_breakdowns
from bertguide.figures.attention import plot_softmax_scaling
from bertguide.figures.contextual import plot_word_senses
from bertguide.figures.encoder import plot_parameter_breakdown

matplotlib.use("Agg")


def test_word_vector_is_the_row_of_the_chosen_layer():
    model = bg.BertModel.from_pretrained()
    tok = bg.WordPieceTokenizer.from_pretrained()
    sentence = "The bank raised its interest rates."
    batch = tok(sentence)
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True)
    position = tok.convert_ids_to_tokens(batch["input_ids"][0].tolist()).index("bank")
    assert torch.allclose(word_vector(sentence, "bank"), out.last_hidden_state[0, position])
    assert torch.allclose(word_vector(sentence, "bank", 0), out.hidden_states[0][0, position])
    assert torch.allclose(word_vector(sentence, "bank", 3), out.hidden_states[3][0, position])


def test_word_vectors_of_a_padded_batch_equal_one_sentence_at_a_time():
    sentences = ["The bank.", "They walked along the river bank at dawn."]
    batched = word_vectors(sentences, "bank", 2)
    assert batched.shape == (2, 384)
    for row, sentence in zip(batched, sentences, strict=True):
        assert torch.allclose(row, word_vector(sentence, "bank", 2), atol=1e-5)


def test_word_vector_rejects_bad_input():
    with pytest.raises(ValueError, match="sentence"):
        word_vector("  ", "bank")
    with pytest.raises(ValueError, match="not among the sentence's tokens"):
        word_vector("The river is wide.", "bank")
    with pytest.raises(ValueError, match="single word piece"):
        word_vector("It was unaffable.", "unaffable")
    with pytest.raises(TypeError, match="layer"):
        word_vector("The bank.", "bank", layer="last")
    with pytest.raises(ValueError, match="layer must be in"):
        word_vector("The bank.", "bank", layer=7)


def test_pca_2d_keeps_distances_of_points_already_in_a_plane():
    torch.manual_seed(0)
    plane = torch.randn(10, 2) * torch.tensor([3.0, 1.0])
    basis, _ = torch.linalg.qr(torch.randn(16, 2))  # an orthonormal 2-D basis in 16-D
    vectors = plane @ basis.T + torch.randn(16)  # rotate into 16-D and shift
    points = pca_2d(vectors)
    assert points.shape == (10, 2)
    assert torch.allclose(torch.cdist(points, points), torch.cdist(plane, plane), atol=1e-4)
    assert torch.allclose(points.mean(dim=0), torch.zeros(2), atol=1e-5)
    assert points[:, 0].var() > points[:, 1].var()  # first direction varies most
    assert torch.equal(pca_2d(vectors), points)  # sign fixed: same picture every time
    with pytest.raises(ValueError, match="at least 2 rows"):
        pca_2d(torch.randn(1, 4))


def test_word_sense_vectors_and_plot():
    group = word_sense_vectors("bank")
    expected = [s for sense, texts in WORD_SENSES["bank"].items() for s in [sense] * len(texts)]
    assert group.senses == expected
    assert group.vectors.shape == (len(expected), 384) and group.points.shape == (len(expected), 2)
    custom = word_sense_vectors("bat", {"animal": ("A bat flew by.", "The bat slept.")})
    assert custom.senses == ["animal", "animal"]
    fig = plot_word_senses([group, custom])
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["money", "river"]
    with pytest.raises(ValueError, match="no default examples"):
        word_sense_vectors("cat")
    with pytest.raises(TypeError, match="SenseVectors"):
        plot_word_senses(["bank"])
    with pytest.raises(ValueError, match="non-empty list"):
        plot_word_senses([])


def test_model_size_breakdowns_match_built_models():
    breakdowns = model_size_breakdowns()
    base = bg.BertConfig.base()
    assert breakdowns["BERT-base"] == bg.parameter_breakdown(base)
    with torch.device("meta"):
        six_layers = bg.BertModel(
            bg.BertConfig.from_dict({**base.to_dict(), "num_hidden_layers": 6})
        )
        one_layer = bg.count_parameters(bg.BertLayer(base))
    distil = breakdowns["DistilBERT"]
    assert sum(distil.values()) == bg.count_parameters(six_layers) - 2 * 768 - (768 * 768 + 768)
    albert = breakdowns["ALBERT-base"]
    assert albert["attention"] + albert["feed_forward"] + 4 * 768 == one_layer
    fig = plot_parameter_breakdown(breakdowns)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(breakdowns)
    assert list(ax.get_yticks()) == sorted(ax.get_yticks(), reverse=True)  # first on top
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_parameter_breakdown({})
    with pytest.raises(TypeError, match="count >= 0"):
        plot_parameter_breakdown({"x": {"attention": -1}})


def test_plot_softmax_scaling_checks_its_input():
    fig = plot_softmax_scaling(torch.tensor([3.0, 1.0, 0.0]), d_k=4)
    heights = [[bar.get_height() for bar in ax.patches] for ax in fig.axes]
    assert heights[0] == pytest.approx(torch.tensor([3.0, 1.0, 0.0]).softmax(-1).tolist())
    assert heights[1] == pytest.approx(torch.tensor([1.5, 0.5, 0.0]).softmax(-1).tolist())
    with pytest.raises(ValueError, match="1-D tensor"):
        plot_softmax_scaling(torch.zeros(2, 2), d_k=4)
    with pytest.raises(ValueError, match="d_k"):
        plot_softmax_scaling(torch.zeros(3), d_k=0)
