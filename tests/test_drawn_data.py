"""The arrays each figure is drawn from, read back off the matplotlib artists.

A figure can carry the right labels and still draw the wrong numbers: the transpose of
an attention matrix (keys as rows), the column of a token instead of its row, a cell
of the grid in another cell's place, sentence B's rows under the title "Sentence A ->
Sentence B". These tests build the inputs by hand, with every number distinct and the
attention asymmetric, so that any such swap changes what is drawn, and compare the
drawn arrays, bar heights, line widths and printed numbers with the inputs.

The interactive view cuts its panels in the browser, so there the view's own
JavaScript (``unpack``) is run under Node.js on the data the page carries.

Dimensions: L = layers, N = heads, T = tokens, C = hidden size.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from textwrap import fill

import matplotlib
import numpy as np
import pytest
import torch

from bertguide.analysis.attention_maps import Attention
from bertguide.analysis.contextual import SenseVectors
from bertguide.analysis.embeddings import EmbeddingParts
from bertguide.analysis.patterns import MASS_PATTERNS, PATTERNS, PatternScores
from bertguide.export import views
from bertguide.figures import attention_maps as maps
from bertguide.figures.attention import plot_softmax_scaling
from bertguide.figures.contextual import plot_word_senses
from bertguide.figures.embeddings import plot_embedding_parts
from bertguide.figures.encoder import PART_COLOURS, plot_parameter_breakdown

matplotlib.use("Agg")
import matplotlib.pyplot as plt

L, N, T = 2, 3, 4
TOKENS = ["[CLS]", "cat", "sat", "[SEP]"]


def distinct_attention(L: int, N: int, T: int, seed: int) -> torch.Tensor:
    """(L, N, T, T) rows that sum to 1, every entry distinct, no matrix symmetric."""
    g = torch.Generator().manual_seed(seed)
    weights = (torch.randn(L, N, T, T, generator=g) * 2).softmax(-1)
    assert weights.flatten().unique().numel() == weights.numel()
    assert not torch.allclose(weights, weights.transpose(-2, -1), atol=1e-3)
    return weights


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def attention() -> Attention:
    return Attention(list(TOKENS), distinct_attention(L, N, T, seed=0))


def drawn(image) -> np.ndarray:
    """The numbers an AxesImage shows (matplotlib keeps them as a masked array)."""
    return np.ma.getdata(image.get_array())


def tick_texts(labels) -> list[str]:
    return [label.get_text() for label in labels]


def cell_of(ax) -> tuple[int, int]:
    """(row, column) of an axes in its figure's grid."""
    spec = ax.get_subplotspec()
    return spec.rowspan.start, spec.colspan.start


# --- plot_attention ----------------------------------------------------------------


@pytest.mark.parametrize(("layer", "head"), [(0, 0), (1, 2), (0, 1)])
def test_plot_attention_draws_one_head_with_queries_as_rows(attention, layer, head):
    fig = maps.plot_attention(attention, layer, head)
    ax = fig.axes[0]
    (image,) = ax.get_images()
    np.testing.assert_allclose(drawn(image), attention.weights[layer, head].numpy(), rtol=1e-6)
    # rows are the queries: each drawn row is a distribution, the columns are not
    np.testing.assert_allclose(drawn(image).sum(1), np.ones(T), rtol=1e-5)
    assert not np.allclose(drawn(image).sum(0), np.ones(T), atol=1e-3)
    assert list(ax.get_xticks()) == list(range(T)) and list(ax.get_yticks()) == list(range(T))
    assert tick_texts(ax.get_xticklabels()) == TOKENS
    assert tick_texts(ax.get_yticklabels()) == TOKENS
    assert "key" in ax.get_xlabel() and "query" in ax.get_ylabel()
    assert ax.get_title() == f"layer {layer}, head {head}"


def test_plot_attention_without_a_head_draws_the_mean_of_the_layers_heads(attention):
    fig = maps.plot_attention(attention, 1, None)
    (image,) = fig.axes[0].get_images()
    np.testing.assert_allclose(drawn(image), attention.weights[1].mean(0).numpy(), rtol=1e-6)
    assert fig.axes[0].get_title() == "layer 1, mean of heads"


# --- plot_head_view ----------------------------------------------------------------


@pytest.mark.parametrize(("token", "head"), [("cat", 1), ("sat", None), (0, 2)])
def test_plot_head_view_follows_the_tokens_row(attention, token, head):
    layer = 1
    i = attention.index(token)
    fig = maps.plot_head_view(attention, layer, token, head=head)
    ax = fig.axes[0]
    w = attention.weights[layer]
    row = (w.mean(0) if head is None else w[head])[i].numpy()  # (T,): where token i looks
    strength = row / row.max()
    lines = ax.lines
    assert len(lines) == T
    for k, line in enumerate(lines):
        # from token i on the left (top = first token) to token k on the right
        assert list(line.get_xdata()) == [0.0, 1.0]
        assert list(line.get_ydata()) == [T - 1 - i, T - 1 - k]
        assert line.get_linewidth() == pytest.approx(0.3 + 5.0 * strength[k], rel=1e-5)
        assert line.get_alpha() == pytest.approx(0.15 + 0.85 * strength[k], rel=1e-5)
    right = {t.get_position()[1]: t.get_text() for t in ax.texts if t.get_position()[0] > 1}
    left = {t.get_position()[1]: t for t in ax.texts if t.get_position()[0] < 0}
    for k, name in enumerate(TOKENS):
        assert right[T - 1 - k] == f"{name}  {row[k]:.2f}"
        assert left[T - 1 - k].get_text() == name
        assert (left[T - 1 - k].get_fontweight() == "bold") == (k == i)


# --- plot_attention_grid -----------------------------------------------------------


def test_plot_attention_grid_puts_each_head_in_its_own_tile(attention):
    fig = maps.plot_attention_grid(attention)
    (ax,) = fig.axes
    (image,) = ax.get_images()
    mosaic = np.ma.filled(image.get_array().astype(float), np.nan)
    T = len(TOKENS)
    assert mosaic.shape == (L * (T + 1) - 1, N * (T + 1) - 1)
    for layer in range(L):
        for head in range(N):
            top, left = layer * (T + 1), head * (T + 1)
            tile = mosaic[top : top + T, left : left + T]
            np.testing.assert_allclose(tile, attention.weights[layer, head].numpy(), rtol=1e-6)
    gaps = np.isnan(mosaic)
    assert gaps[T, :].all() and gaps[:, T].all()  # a blank line between the tiles
    assert tick_texts(ax.get_xticklabels()) == [str(head) for head in range(N)]
    assert tick_texts(ax.get_yticklabels()) == [f"layer {layer}" for layer in range(L)]
    # each label sits over the middle of its tile
    assert ax.get_xticks()[1] == pytest.approx((T + 1) + (T - 1) / 2)


def test_plot_attention_grid_for_one_token_draws_its_row_in_every_tile(attention):
    fig = maps.plot_attention_grid(attention, token="sat")
    i, T = TOKENS.index("sat"), len(TOKENS)
    (image,) = fig.axes[0].get_images()
    mosaic = np.ma.filled(image.get_array().astype(float), np.nan)
    assert mosaic.shape == (L * 2 - 1, N * (T + 1) - 1)
    for layer in range(L):
        for head in range(N):
            row = mosaic[layer * 2, head * (T + 1) : head * (T + 1) + T]
            np.testing.assert_allclose(row, attention.weights[layer, head, i].numpy(), rtol=1e-6)


# --- plot_token_by_layer -----------------------------------------------------------


def test_plot_token_by_layer_draws_and_prints_the_head_mean_of_the_tokens_row(attention):
    i = TOKENS.index("cat")
    fig = maps.plot_token_by_layer(attention, "cat")
    ax = fig.axes[0]
    expected = attention.weights[:, :, i, :].mean(1).numpy()  # (L, T)
    (image,) = ax.get_images()
    np.testing.assert_allclose(drawn(image), expected, rtol=1e-6)
    printed = {(t.get_position()[1], t.get_position()[0]): t.get_text() for t in ax.texts}
    labelled = {(l, k) for l in range(L) for k in range(T) if expected[l, k] >= maps.LABELLED}
    assert set(printed) == labelled and labelled  # the larger shares, and only those
    for layer, k in labelled:
        text = printed[(layer, k)]
        assert float(text) == pytest.approx(round(float(expected[layer, k]), 2), abs=1e-9)
    assert tick_texts(ax.get_xticklabels()) == TOKENS
    assert tick_texts(ax.get_yticklabels()) == [f"layer {layer}" for layer in range(L)]
    assert "'cat'" in ax.get_title()


def test_plot_token_by_layer_picks_the_asked_occurrence():
    tokens = ["[CLS]", "it", "saw", "it", "[SEP]"]
    attention = Attention(tokens, distinct_attention(L, N, len(tokens), seed=1))
    fig = maps.plot_token_by_layer(attention, "it", occurrence=1)
    (image,) = fig.axes[0].get_images()
    expected = attention.weights[:, :, 3, :].mean(1).numpy()
    np.testing.assert_allclose(drawn(image), expected, rtol=1e-6)


# --- the bertviz panels of a sentence pair -----------------------------------------

PAIR_TOKENS = ["[CLS]", "the", "cat", "sat", "[SEP]", "it", "slept", "[SEP]"]
SENT_STEP = 1 / 255  # the view sends each weight rounded to one byte (or finer)
B_START = 5  # "it": sentence A has 5 tokens, sentence B 3, so a swap changes the shape
A, B = slice(0, B_START), slice(B_START, len(PAIR_TOKENS))
# bertviz's "Attention" menu: panel -> (query rows, key columns); bertviz draws a
# panel's attn[layer][head][i][j] from left_text[i] (the query) to right_text[j]
PANELS = {
    "All": (slice(None), slice(None)),
    "Sentence A -> Sentence A": (A, A),
    "Sentence B -> Sentence B": (B, B),
    "Sentence A -> Sentence B": (A, B),
    "Sentence B -> Sentence A": (B, A),
}


@pytest.fixture
def pair() -> Attention:
    weights = distinct_attention(L, N, len(PAIR_TOKENS), seed=2)
    return Attention(list(PAIR_TOKENS), weights, sentence_b_start=B_START)


def unpack_in_node(data: dict) -> dict:
    """bertviz's parameters as the view's own JavaScript (``unpack``) builds them from
    what the page carries: the weights as sent (rounded to steps of at most
    ``SENT_STEP``), cut into the menu's panels."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    script = (
        "var window = globalThis, lib = {};\n"  # the runtime's functions land in `lib`
        + views._RUNTIME
        + "\nvar unpackData = typeof unpack === 'function' ? unpack : lib.unpack;"
        + "\nvar data = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        + "\nprocess.stdout.write(JSON.stringify(unpackData(data)));\n"
    )
    result = subprocess.run(
        [node, "-e", script], input=json.dumps(data), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_view_sends_the_tokens_and_each_panel_as_query_rows_and_key_columns(pair):
    view = views.AttentionView(pair, view="model")
    assert view.data["tokens"] == PAIR_TOKENS
    blocks = {block["name"]: block for block in view.data["blocks"]}
    assert list(blocks) == list(PANELS)
    T = len(PAIR_TOKENS)
    for name, (rows, cols) in PANELS.items():
        assert blocks[name]["rows"] == list(rows.indices(T)[:2]), name
        assert blocks[name]["cols"] == list(cols.indices(T)[:2]), name


@pytest.mark.parametrize("kind", ["head", "model"])
def test_view_panels_take_rows_from_the_left_sentence_and_columns_from_the_right(pair, kind):
    unpacked = unpack_in_node(views.AttentionView(pair, view=kind).data)
    panels = {panel["name"]: panel for panel in unpacked["attention"]}
    assert list(panels) == list(PANELS)
    for name, (rows, cols) in PANELS.items():
        want = pair.weights[:, :, rows, cols]  # (L, N, rows, cols)
        got = torch.tensor(panels[name]["attn"], dtype=want.dtype)
        assert got.shape == want.shape, name
        torch.testing.assert_close(got, want, atol=SENT_STEP, rtol=0)
        assert panels[name]["left_text"] == PAIR_TOKENS[rows], name
        assert panels[name]["right_text"] == PAIR_TOKENS[cols], name
    a_to_b = torch.tensor(panels["Sentence A -> Sentence B"]["attn"])
    assert a_to_b.shape == (L, N, B_START, len(PAIR_TOKENS) - B_START)


def test_a_single_text_gets_only_the_all_panel(attention):
    unpacked = unpack_in_node(views.AttentionView(attention).data)
    (panel,) = unpacked["attention"]
    assert panel["name"] == "All" and panel["left_text"] == panel["right_text"] == TOKENS
    got = torch.tensor(panel["attn"], dtype=attention.weights.dtype)
    torch.testing.assert_close(got, attention.weights, atol=SENT_STEP, rtol=0)


# --- plot_pattern_scores and plot_pattern_gallery ----------------------------------


def hand_scores(L: int, N: int, seed: int) -> PatternScores:
    """PatternScores of every pattern, distinct random values in [0, 0.25) (below the
    gallery's threshold, so a test chooses which patterns a head clearly shows)."""
    g = torch.Generator().manual_seed(seed)
    scores = {p: torch.rand(L, N, generator=g) * 0.25 for p in PATTERNS}
    return PatternScores(scores, num_texts=7, num_pairs=2, num_tokens=70)


def test_plot_pattern_scores_draws_each_patterns_mean_over_heads():
    scores = hand_scores(L, N, seed=3)
    fig = maps.plot_pattern_scores(scores)
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    assert set(lines) == set(MASS_PATTERNS)
    for pattern in MASS_PATTERNS:
        np.testing.assert_allclose(lines[pattern].get_xdata(), np.arange(L))
        expected = scores.scores[pattern].mean(1).numpy()  # (L,): heads averaged
        np.testing.assert_allclose(lines[pattern].get_ydata(), expected, rtol=1e-6)


def test_plot_pattern_gallery_draws_each_patterns_best_head_on_the_right_input(monkeypatch):
    scores = hand_scores(L, N, seed=4)
    # ... then one clear best head per shown pattern, at (layer, head) cells that differ
    best = {"cls": (1, 2), "previous": (0, 1), "block": (1, 0), "sep": (0, 2)}
    for pattern, cell in best.items():
        scores.scores[pattern][cell] = 0.5 + 0.1 * list(best).index(pattern)
    single = Attention(list(TOKENS), distinct_attention(L, N, T, seed=5))
    double = Attention(list(PAIR_TOKENS), distinct_attention(L, N, 8, seed=6), B_START)

    def fake_get_attention(text, text_pair=None, **kwargs):
        return single if text_pair is None else double

    monkeypatch.setattr(maps, "get_attention", fake_get_attention)
    fig = maps.plot_pattern_gallery(scores, "one text", ("first", "second"))
    drawn_axes = [ax for ax in fig.axes if ax.get_images()]
    shown = [p for p in PATTERNS if p in best]  # the gallery keeps PATTERNS' order
    assert len(drawn_axes) == len(shown)
    for ax, pattern in zip(drawn_axes, shown, strict=True):
        layer, head = best[pattern]
        attention = double if pattern == "block" else single
        score = float(scores.scores[pattern][layer, head])
        assert ax.get_title() == f"{pattern} ({score:.2f})\nlayer {layer}, head {head}"
        (image,) = ax.get_images()
        np.testing.assert_allclose(drawn(image), attention.weights[layer, head].numpy(), rtol=1e-6)
        assert tick_texts(ax.get_yticklabels()) == attention.tokens


# --- the other chapters' figures ---------------------------------------------------


@pytest.fixture
def parts() -> EmbeddingParts:
    g = torch.Generator().manual_seed(7)
    T, C = 4, 6
    token, segment, position = (torch.randn(T, C, generator=g) for _ in range(3))
    total = token + segment + position
    return EmbeddingParts(
        tokens=["[CLS]", "hi", "[SEP]", "yo"],
        token_type_ids=[0, 0, 0, 1],
        position_ids=[0, 1, 2, 3],
        token=token,
        segment=segment,
        position=position,
        total=total,
        output=torch.nn.functional.layer_norm(total, (C,)),
    )


def test_plot_embedding_parts_draws_each_vector_under_its_rows_title(parts):
    dims = 5
    fig = plot_embedding_parts(parts, dims=dims)
    ax = fig.axes[0]
    vectors = {
        "token": parts.token,
        "+ segment": parts.segment,
        "+ position": parts.position,
        "= sum": parts.total,
        "LayerNorm": parts.output,
    }
    # row titles stand left of the boxes, at the height of their row
    titles = {
        round(t.get_position()[1] - 0.3, 6): t.get_text()
        for t in ax.texts
        if t.get_position()[0] == -0.2 and t.get_text() in vectors
    }
    assert sorted(titles.values()) == sorted(vectors)
    images = ax.get_images()
    assert len(images) == len(vectors) * len(parts.tokens)
    for image in images:
        left, right, bottom, top = image.get_extent()
        column, title = int(left), titles[round(bottom - 0.1, 6)]
        assert right - left == pytest.approx(0.9) and top - bottom == pytest.approx(0.4)
        expected = vectors[title][column, :dims].numpy()[None]  # (1, dims)
        np.testing.assert_allclose(drawn(image), expected, rtol=1e-6, err_msg=title)
        limit = float(vectors[title][:, :dims].abs().max())  # one colour scale per row
        assert image.get_clim() == pytest.approx((-limit, limit))
    labels = {(round(t.get_position()[0], 6), t.get_text()) for t in ax.texts}
    for i, token in enumerate(parts.tokens):
        assert (round(i + 0.45, 6), token) in labels
        assert (round(i + 0.45, 6), f"E_{'AB'[parts.token_type_ids[i]]}") in labels
        assert (round(i + 0.45, 6), f"E_{parts.position_ids[i]}") in labels


def test_plot_word_senses_puts_each_sentences_point_in_its_senses_colour():
    g = torch.Generator().manual_seed(8)
    points = torch.tensor([[-1.0, 0.2], [-2.0, -0.3], [1.5, 0.1], [2.0, 0.5], [-0.5, 1.0]])
    senses = ["money", "money", "river", "river", "river"]
    sentences = [f"Sentence number {k} about a bank of some kind." for k in range(5)]
    bank = SenseVectors("bank", senses, sentences, torch.randn(5, 8, generator=g), points)
    bat_points = torch.tensor([[0.5, 0.5], [-0.7, -0.1], [0.9, -0.4]])
    bat = SenseVectors(
        "bat", ["animal", "sports", "animal"], ["a", "b", "c"], torch.randn(3, 8), bat_points
    )
    fig = plot_word_senses([bank, bat])
    for ax, group in zip(fig.axes, (bank, bat), strict=True):
        assert ax.get_title() == f"'{group.word}'"
        collections = {c.get_label(): c for c in ax.collections}
        assert list(collections) == list(dict.fromkeys(group.senses))
        for sense, collection in collections.items():
            rows = [k for k, s in enumerate(group.senses) if s == sense]
            np.testing.assert_allclose(collection.get_offsets(), group.points[rows].numpy())
    # the river sentence on the money side of PC 1 is the one labelled with its text
    (note,) = [t for t in fig.axes[0].texts if hasattr(t, "xy")]
    assert tuple(note.xy) == (-0.5, 1.0) and note.get_text() == fill(sentences[4], 16)


def test_plot_parameter_breakdown_stacks_each_models_parts_at_its_label():
    breakdowns = {
        "first": {"attention": 3_000_000, "feed_forward": 5_000_000, "pooler": 250_000},
        "second": {"attention": 1_000_000, "word_embeddings": 7_000_000},
        "third": {"feed_forward": 2_500_000, "pooler": 750_000, "extra_part": 125_000},
    }
    fig = plot_parameter_breakdown(breakdowns)
    ax = fig.axes[0]
    y_of = dict(zip(tick_texts(ax.get_yticklabels()), ax.get_yticks(), strict=True))
    assert list(y_of) == list(breakdowns)
    assert y_of["first"] > y_of["second"] > y_of["third"]  # the first model on top
    bars = {}  # (model, part) -> (left, width)
    for container in ax.containers:
        part = container.get_label().replace(" ", "_")
        for patch in container.patches:
            y = patch.get_y() + patch.get_height() / 2
            (model,) = [name for name, at in y_of.items() if at == pytest.approx(y)]
            bars[(model, part)] = (patch.get_x(), patch.get_width())
            colour = PART_COLOURS.get(part, "#bdbdbd")
            assert matplotlib.colors.same_color(patch.get_facecolor(), colour)
    for model, parts in breakdowns.items():
        left = 0.0
        for part, count in parts.items():
            assert bars[(model, part)] == pytest.approx((left, count / 1e6)), (model, part)
            left += count / 1e6
        total = sum(parts.values()) / 1e6
        (label,) = [t for t in ax.texts if t.get_position()[1] == pytest.approx(y_of[model])]
        assert label.get_text() == f"{total:.1f} M"


def test_plot_softmax_scaling_draws_the_raw_softmax_left_and_the_scaled_one_right():
    g = torch.Generator().manual_seed(9)
    scores = torch.randn(6, generator=g) * 6  # raw dot products: a peaked softmax
    d_k = 64
    fig = plot_softmax_scaling(scores, d_k=d_k)
    left, right = sorted(fig.axes, key=lambda ax: ax.get_position().x0)
    expected = {
        left: ("softmax(q·k)", scores.double().softmax(-1)),
        right: (f"softmax(q·k / √{d_k})", (scores.double() / 8).softmax(-1)),
    }
    for ax, (title, weights) in expected.items():
        assert ax.get_title() == title
        heights = [bar.get_height() for bar in ax.patches]
        centres = [bar.get_x() + bar.get_width() / 2 for bar in ax.patches]
        np.testing.assert_allclose(heights, weights.numpy(), rtol=1e-9)
        np.testing.assert_allclose(centres, np.arange(6))
    assert max(bar.get_height() for bar in left.patches) > max(
        bar.get_height() for bar in right.patches
    )
