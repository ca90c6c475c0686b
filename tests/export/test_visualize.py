"""Attention plots, offline views and head patterns on the embedded model."""

from __future__ import annotations

import base64
import importlib.resources
import itertools
import json
import math
import re
import sys

import matplotlib
import pytest
import torch

import bertguide as bg
from bertguide.analysis import patterns
from bertguide.export import views
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
    grid = plot_attention_grid(tired)  # one image of 72 tiles (tests/test_drawn_data.py)
    assert len(grid.axes) == 1 and len(grid.axes[0].get_xticklabels()) == 12
    fig = plot_head_view(tired, layer=5, token="it")
    assert len(fig.axes[0].lines) == len(tired.tokens)
    with pytest.raises(ValueError, match="layer"):
        bg.plot_attention(tired, layer=6)
    with pytest.raises(TypeError, match="attention"):
        bg.plot_attention(tired.weights, layer=0)


HOSTILE = 'He said "hi" </script><script>alert(1)</script> & <b>bold</b>'


def _data(html):
    """The view's data, as the page carries it (the first view's, if several)."""
    match = re.search(r'<script type="application/json" class="bv-data">(.*?)</script>', html)
    return json.loads(match.group(1))


def _decoded(data) -> torch.Tensor:
    raw = torch.frombuffer(bytearray(base64.b64decode(data["weights"])), dtype=torch.uint8)
    return raw.reshape(data["shape"]).float() / 255  # (L, N, T, T)


def test_view_escapes_tokens_and_needs_no_network():
    view = bg.attention_view(HOSTILE)
    page = view.html
    # the data and the code: two script elements, and no token closes one early
    assert page.count("</script>") == 2
    assert "alert(1)</script>" not in page and "<b>bold</b>" not in page
    tokens = _data(page)["tokens"]
    assert tokens == view.attention.tokens and "script" in tokens and '"' in tokens
    assert "cdnjs" not in page and "require.config" not in page and "<script src" not in page


def test_view_data_round_trips_to_the_weights(tired):
    data = _data(bg.attention_view(tired, view="head", layer=3).html)
    assert data["shape"] == list(tired.weights.shape) == [6, 12, 16, 16]
    error = (_decoded(data) - tired.weights).abs().max()
    assert float(error) <= 0.5 / 255 + 1e-6  # one byte per weight: half a step at most
    assert data["params"]["layer"] == 3 and data["blocks"] == [
        {"name": "All", "rows": [0, 16], "cols": [0, 16]}
    ]


def test_pair_views_cut_the_four_sentence_blocks():
    pair = bg.get_attention("The cat sat on the mat.", "It was very comfortable there.")
    b, T = pair.sentence_b_start, len(pair.tokens)
    assert (b, T) == (9, 16)  # [CLS] the cat sat on the mat . [SEP] | it ... [SEP]
    data = _data(bg.attention_view(pair, view="model").html)
    assert data["blocks"] == [
        {"name": "All", "rows": [0, 16], "cols": [0, 16]},
        {"name": "Sentence A -> Sentence A", "rows": [0, 9], "cols": [0, 9]},
        {"name": "Sentence B -> Sentence B", "rows": [9, 16], "cols": [9, 16]},
        {"name": "Sentence A -> Sentence B", "rows": [0, 9], "cols": [9, 16]},
        {"name": "Sentence B -> Sentence A", "rows": [9, 16], "cols": [0, 9]},
    ]
    assert data["params"]["div_width"] == views.MODEL_VIEW_WIDTH


def _shipped(view):
    """Every form a view leaves the package in."""
    views._sent.clear()
    notebook = [view._repr_html_(), view._repr_html_()]
    return [view.html, view.page(assets="a"), view.fragment(inline=False), *notebook]


def test_no_shipped_view_logs_to_the_console(tired):
    for kind in views.VIEWS:
        for html in _shipped(bg.attention_view(tired, view=kind)):
            assert "console.log" not in html
            assert "https://cdnjs" not in html and "PYTHON_PARAMS" not in html


def _lab(color):
    """CIE L*a*b* (D65) of '#rrggbb'."""
    rgb = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    )
    f = [t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29 for t in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _contrast(a, b):
    light = sorted((views.relative_luminance(a), views.relative_luminance(b)))
    return (light[1] + 0.05) / (light[0] + 0.05)


def test_every_head_has_its_own_readable_colour_and_a_number():
    colors = views.HEAD_COLORS
    assert len(colors) == 12 == len(set(colors))
    for color in colors:
        assert _contrast(color, "#ffffff") >= 3.0, color  # lines and swatches on white
        assert _contrast(color, views.ink_on(color)) >= 4.5, color  # the number on it
        assert _contrast(views.lighter(color), "#333333") >= 4.5, color  # hidden head
    closest = min(math.dist(_lab(a), _lab(b)) for a, b in itertools.combinations(colors, 2))
    assert closest >= 25  # CIE76: far apart (d3's category10 repeats: heads 10, 11 = 0, 1)
    head = views.bertviz_script("head")
    assert "schemeCategory10" not in head and "HEAD_COLORS[i % HEAD_COLORS.length]" in head
    assert ".text((d, i) => i)" in head  # the swatches are numbered
    assert "LAYER_COLORS = HEAD_COLORS" in views.bertviz_script("model")


def test_colour_helpers_compute_known_values():
    assert views.relative_luminance("#ffffff") == 1.0 and views.relative_luminance("#000000") == 0
    assert round(views.relative_luminance("#808080"), 4) == 0.2159
    assert views.lighter("#000000", 0.5) == "#808080" and views.lighter("#d62728", 0) == "#d62728"
    assert views.ink_on("#ffff00") == "#000000" and views.ink_on("#000080") == "#ffffff"
    with pytest.raises(ValueError, match="color"):
        views.lighter("red")
    with pytest.raises(ValueError, match="amount"):
        views.lighter("#000000", 2)


@pytest.mark.parametrize(
    ("view", "old", "new"),
    [
        ("model", "const DIV_WIDTH = 970;", "const DIV_WIDTH = 900;"),
        ("head", "d3.schemeCategory10", "d3.schemeTableau10"),
        ("head", "requirejs(['jquery', 'd3']", "requirejs(['d3', 'jquery']"),
        ("model", 'console.log("x", x, y)', 'console.log("at", x, y)'),
        ("model", "const TEXT_SIZE = 13;", "const TEXT_SIZE = 13; d3.transition();"),
    ],
)
def test_a_changed_bertviz_fails_loudly(monkeypatch, view, old, new):
    real = importlib.resources.files("bertviz").joinpath(f"{view}_view.js").read_text()
    assert old in real
    changed = real.replace(old, new)

    class Changed:
        def joinpath(self, name):
            return self

        def read_text(self, encoding=None):
            return changed

    monkeypatch.setattr(views.resources, "files", lambda package: Changed())
    views.bertviz_script.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="bertviz's"):
            views.bertviz_script(view)
    finally:
        monkeypatch.undo()
        views.bertviz_script.cache_clear()
    assert "DIV_WIDTH = params['div_width']" in views.bertviz_script("model")


JQUERY, D3 = "jQuery v3.7.1", "d3-selection/ v1.4.2"


def test_a_notebook_sends_the_libraries_once_and_each_kind_of_code_once(monkeypatch, tired):
    monkeypatch.setattr(views, "_sent", set())
    head, model = bg.attention_view(tired, layer=3), bg.attention_view(tired, view="model")
    first, second, third = head._repr_html_(), model._repr_html_(), head._repr_html_()
    assert JQUERY in first and D3 in first and "swatchNumbers" in first
    assert JQUERY not in second and "DIV_WIDTH" in second and "swatchNumbers" not in second
    assert JQUERY not in third and "swatchNumbers" not in third and "DIV_WIDTH" not in third
    assert _data(third)["weights"] == _data(first)["weights"]
    assert len(third) - len(json.dumps(_data(third))) < 2500  # the data, a div, a call
    monkeypatch.setitem(sys.modules, "google.colab", object())  # each output its own frame
    assert JQUERY in model._repr_html_() and "DIV_WIDTH" in model._repr_html_()


def test_views_get_distinct_ids_and_use_the_packages_libraries(tired):
    view = bg.attention_view(tired, view="model")
    first, second = view.fragment(), view.fragment()
    id1 = re.search(r'id="([^"]+)"', first).group(1)
    id2 = re.search(r'id="([^"]+)"', second).group(1)
    assert id1 != id2 and _data(first)["params"]["root_div_id"] == id1
    vendor = importlib.resources.files("bertguide.export").joinpath("vendor")
    for paths in views.LIBRARIES.values():
        for path in paths:  # inside: the package's files, byte for byte
            assert vendor.joinpath(path).read_text(encoding="utf-8") in view.html
    site = view.page(assets="../assets/vendor")
    assert re.findall(r'<script src="([^"]+)"></script>', site) == [
        "../assets/vendor/d3-selection/d3-selection.min.js",
        "../assets/vendor/jquery/jquery.slim.min.js",
    ]
    assert JQUERY not in site and view.page(assets="../assets/vendor") == site  # same bytes
    with pytest.raises(ValueError, match="view"):
        bg.attention_view(tired, view="neuron")
    with pytest.raises(ValueError, match="heads"):
        bg.attention_view(tired, heads=[12])


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
