"""Attention plots, offline views and head patterns on the embedded model."""

from __future__ import annotations

import json
import re

import matplotlib
import pytest
import torch

import bertguide as bg
from bertguide.analysis import patterns
from bertguide.figures.attention_maps import plot_attention_grid, plot_head_view

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def tired():
    return bg.get_attention("The chicken didn't cross the road because it was too tired.")


def test_attention_rows_are_distributions(tired):
    L, N, T, T2 = tired.weights.shape
    assert (L, N) == (6, 12) and T == T2 == len(tired.tokens)
    assert torch.allclose(tired.weights.sum(-1), torch.ones(L, N, T), atol=1e-5)
    assert tired.index("it") == tired.tokens.index("it")
    with pytest.raises(ValueError, match="not in"):
        tired.index("zebra")
    with pytest.raises(ValueError, match="text"):
        bg.get_attention("")


def test_plots_label_tokens_and_reject_bad_layers(tired):
    fig = bg.plot_attention(tired, layer=1, head=3)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == tired.tokens
    assert len(plot_attention_grid(tired).axes) == 72
    fig = plot_head_view(tired, layer=5, token="it")
    assert len(fig.axes[0].lines) == len(tired.tokens)
    with pytest.raises(ValueError, match="layer"):
        bg.plot_attention(tired, layer=6)
    with pytest.raises(TypeError, match="attention"):
        bg.plot_attention(tired.weights, layer=0)


HOSTILE = 'He said "hi" </script><script>alert(1)</script> & <b>bold</b>'


def _params(html):
    match = re.search(r"const params = (\{.*?\}); //", html, re.S)
    return json.loads(match.group(1))


def test_view_escapes_tokens_and_needs_no_network():
    view = bg.attention_view(HOSTILE)
    page = view.html
    # one script element (libraries and view inside): no token closes it early
    assert page.count("</script>") == 1
    assert "alert(1)</script>" not in page and "<b>bold</b>" not in page
    tokens = _params(page)["attention"][0]["left_text"]
    assert tokens == view.attention.tokens and "script" in tokens and '"' in tokens
    assert "cdnjs" not in page and "require.config" not in page and "<script src" not in page


def test_views_get_distinct_ids_and_site_pages_link_local_assets(tired):
    view = bg.attention_view(tired, view="model")
    first, second = view._repr_html_(), view._repr_html_()
    id1 = re.search(r'id="([^"]+)"', first).group(1)
    id2 = re.search(r'id="([^"]+)"', second).group(1)
    assert id1 != id2 and _params(first)["root_div_id"] == id1
    site = view.page(assets="../assets/vendor")
    assert '<script src="../assets/vendor/d3/d3.min.js"></script>' in site
    assert view.page(assets="../assets/vendor") == site  # same bytes every time
    with pytest.raises(ValueError, match="view"):
        bg.attention_view(tired, view="neuron")


def test_pattern_scores_find_a_previous_token_head():
    texts = ["The quick brown fox jumps over the lazy dog near the river bank."] * 2
    pairs = [("The cat sat on the mat.", "It was very comfortable there.")]
    scores = patterns.pattern_scores(texts, pairs)
    for name in patterns.PATTERNS:
        assert scores[name].shape == (6, 12)
        assert float(scores[name].min()) >= 0.0 and float(scores[name].max()) <= 1.0 + 1e-5
    layer, head = scores.best_head("previous")
    assert float(scores["previous"][layer, head]) > 0.5
    labels = patterns.classify(scores)
    assert labels[layer][head] == "previous"
    with pytest.raises(ValueError, match="threshold"):
        patterns.classify(scores, threshold=0)
