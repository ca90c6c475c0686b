"""The Playground page in a real headless Chromium: the model runs in the browser and
computes what the Python model computes.

One browser session on the built site (``built_site``; ``BERTGUIDE_SITE_DIR=site``
points it at a build), served from 127.0.0.1 with no special headers, as GitHub Pages
serves it:

* first load: under 1 MB, and neither the model nor the engine is fetched before the
  reader presses the button, whose label states the model's size;
* the reader presses it; then, for fixed sentences (the seed's *it* sentence, a pair,
  accents and punctuation) typed into the page, the browser's tokens and ids equal the
  Python tokenizer's, and its attention weights (every layer and head) equal
  onnxruntime's in Python on the same file within ``SAME_FILE_TOLERANCE`` and PyTorch's
  ``BertModel`` within ``bertguide.export.playground.INT8_TOLERANCE``;
* the head view follows the keyboard, the similarity panel equals PyTorch's cosines, the
  page switches to the dark scheme and fits a 390 px screen;
* every request went to 127.0.0.1, and no script error happened.

It prints what it measures (``pytest -s``): first-load bytes, the time from the click to
the first result, the model's time per sentence in the browser, and the differences.
Needs Debian's ``chromium`` and the ``playwright`` package; skips, saying why, without.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
import torch

from bertguide.export import playground as pg
from bertguide.model import BertModel
from bertguide.tokenizer import WordPieceTokenizer

FIRST_LOAD_BUDGET = 1_000_000  # bytes, HTML and every same-site resource it loads
# The browser and Python run the same file with the same kernels, one compiled to
# WebAssembly: what is left is the order of float32 sums (measured: ~1e-7).
SAME_FILE_TOLERANCE = 1e-4
CASES = {  # name -> (text, pair)
    "the it sentence": pg.PARITY_TEXTS[0],
    "a pair": pg.PARITY_TEXTS[1],
    "accents and punctuation": pg.PARITY_TEXTS[2],
    "longer than 128 tokens": pg.PARITY_TEXTS[4],
}
ROOT_SELECTOR = "[data-bertguide-playground]"

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]


@pytest.fixture(scope="module")
def site(built_site: Path) -> Path:
    for name in (pg.MODEL_FILE, pg.VOCAB_FILE, pg.MANIFEST_FILE):
        if not (built_site / "figures" / name).is_file():
            pytest.fail(f"the built site lacks figures/{name}: run `bertguide figures` first")
    if not (built_site / "assets/vendor/onnxruntime-web/ort.wasm.min.mjs").is_file():
        pytest.fail("the built site lacks onnxruntime-web: run scripts/vendor_assets.py first")
    return built_site


@pytest.fixture(scope="module")
def server(site, site_url):
    """The session's server of the built site, once the checks above pass."""
    return site_url


@pytest.fixture(scope="module")
def python_side(site):
    """For every case: the Python tokens, and attention from PyTorch and from onnxruntime."""
    model = BertModel.from_pretrained()
    tokenizer = WordPieceTokenizer.from_pretrained()
    cases = pg.reference(list(CASES.values()), model, tokenizer)
    session = pg.session(site / "figures" / pg.MODEL_FILE)
    L = model.config.num_hidden_layers
    names = [f"attentions.{i}" for i in range(L)]
    out = {}
    for name, (feeds, want) in zip(CASES, cases, strict=True):
        ids = feeds["input_ids"][0].tolist()
        out[name] = {
            "ids": ids,
            "tokens": tokenizer.convert_ids_to_tokens(ids),
            "torch": np.stack([want[n][0] for n in names]),  # (L, N, T, T)
            "onnx": np.stack([a[0] for a in session.run(names, feeds)]),  # (L, N, T, T)
        }
    return model, tokenizer, out


def _same_site(url: str, base: str) -> bool:
    return urlparse(url).netloc == urlparse(base).netloc


def _runs(page) -> int:
    return int(page.get_attribute(ROOT_SELECTOR, "data-runs") or 0)


def _wait_for_result(page, text, pair, after_runs):
    """Wait until the page drew a result newer than ``after_runs`` for text and pair."""
    page.wait_for_function(
        """([text, pair, after]) => {
            const last = window.bertguidePlayground.last;
            const runs = Number(document.querySelector("[data-bertguide-playground]")
                .dataset.runs);
            return runs > after && last.text === text && (last.pair ?? "") === pair;
        }""",
        arg=[text, pair or "", after_runs],
        timeout=20_000,
    )


def _read_result(page):
    """The page's last result; its attention weights as (L, N, T, T) float32."""
    got = page.evaluate(
        """() => {
            const r = window.bertguidePlayground.last;
            const base64 = (a) => {  // float32 bytes, unchanged
                const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
                let text = "";
                for (let i = 0; i < bytes.length; i += 0x8000) {
                    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
                }
                return btoa(text);
            };
            return {tokens: r.tokens, ids: r.inputIds, types: r.tokenTypeIds, T: r.T, ms: r.ms,
                    truncated: r.truncated, attentions: r.attentions.map(base64)};
        }"""
    )
    T = got["T"]
    got["attentions"] = np.stack(
        [
            np.frombuffer(base64.b64decode(a), np.float32).reshape(-1, T, T)
            for a in got["attentions"]
        ]
    )
    return got


def _luminance(css_rgb: str) -> float:
    r, g, b = (int(v) for v in css_rgb[css_rgb.index("(") + 1 :].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_the_playground_runs_the_model_in_the_browser(server, site, python_side, browser, tmp_path):
    model, tokenizer, expected = python_side
    manifest = json.loads((site / "figures" / pg.MANIFEST_FILE).read_text(encoding="utf-8"))
    page = browser.new_page(color_scheme="light", viewport={"width": 1200, "height": 900})
    requests, errors, sizes = [], [], {}
    page.on("request", lambda r: requests.append((r.method, r.url)))
    page.on("pageerror", lambda e: errors.append(str(e)))

    def body_size(request):  # the bytes of every GET that finished (HEAD has none)
        if request.method == "GET":
            sizes[request.url] = request.sizes()["responseBodySize"]

    page.on("requestfinished", body_size)

    # --- first load: light, and no model ------------------------------------------
    page.goto(f"{server}/playground/", wait_until="load")
    button = page.locator(f"{ROOT_SELECTOR} .md-button--primary")
    page.wait_for_function(
        f"() => !document.querySelector('{ROOT_SELECTOR} .md-button--primary').disabled"
    )
    page.wait_for_load_state("networkidle")
    page.remove_listener("requestfinished", body_size)
    first_load = sum(sizes.values())
    heavy = [u for m, u in requests if m == "GET" and u.endswith((".onnx", ".wasm", ".txt"))]
    assert heavy == [], heavy
    assert first_load < FIRST_LOAD_BUDGET, sorted(sizes.items(), key=lambda kv: -kv[1])
    label = button.inner_text()
    assert f"{manifest['bytes'] / 1e6:.1f} MB" in label, label
    # the table of measured differences is the manifest's
    shipped = page.locator("[data-bertguide-playground-variants] tr[data-variant='int8']")
    assert "this page" in shipped.inner_text()

    # --- the click, the download, the first result ---------------------------------
    start = time.perf_counter()
    button.focus()
    page.keyboard.press("Enter")  # as a keyboard presses it
    page.wait_for_selector(f"{ROOT_SELECTOR}[data-state='ready']", timeout=60_000)
    click_to_result = time.perf_counter() - start
    # the button is gone: the focus is on the first panel it brought, not lost on <body>
    focused = page.evaluate("() => document.activeElement.closest('section')?.dataset.panel")
    assert focused == "attention", focused
    timings = page.evaluate("() => window.bertguidePlayground.timings")

    # --- fixed sentences, typed into the page ----------------------------------------
    measured, latencies, drawn = {}, {}, {}
    for name, (text, pair) in CASES.items():
        runs = _runs(page)
        start = time.perf_counter()
        page.fill("#bg-pg-pair", pair or "")
        page.fill("#bg-pg-text", text)
        _wait_for_result(page, text, pair, runs)
        latencies[name] = time.perf_counter() - start
        got = _read_result(page)
        want = expected[name]
        assert got["tokens"] == want["tokens"], name
        assert got["ids"] == want["ids"], name
        if pair:
            assert got["types"][-1] == 1 and got["types"][0] == 0
        T = got["T"]
        browser_attention = got["attentions"]
        assert browser_attention.shape == (6, 12, T, T) == want["torch"].shape
        assert got["truncated"] == (T == pg.MAX_LENGTH)
        drawn[name] = browser_attention
        measured[name] = (
            T,
            got["ms"],
            float(np.abs(browser_attention - want["onnx"]).max()),
            float(np.abs(browser_attention - want["torch"]).max()),
        )
        assert measured[name][2] <= SAME_FILE_TOLERANCE, (name, measured[name])
        assert measured[name][3] <= pg.INT8_TOLERANCE, (name, measured[name])
        # the tokens panel shows the same tokens
        chips = page.locator(".bg-pg-tokens .bg-pg-token-text").all_inner_texts()
        assert chips == want["tokens"]
        if got["truncated"]:
            assert f"cut to the first {T}" in page.locator(".bg-pg-note").first.inner_text()

    # --- the head view and the keyboard (the "it" exercise) --------------------------
    text, _ = CASES["the it sentence"]
    runs = _runs(page)
    page.fill("#bg-pg-pair", "")
    page.fill("#bg-pg-text", text)
    _wait_for_result(page, text, None, runs)
    tokens = expected["the it sentence"]["tokens"]
    it = tokens.index("it")
    page.focus(f".bg-pg-hv-col button[data-index='{it}']")
    visible = page.locator(".bg-pg-hv-lines g[visibility='visible']")
    assert visible.count() == 1
    assert visible.first.get_attribute("data-from") == str(it)
    readout = page.locator(".bg-pg-focus").inner_text()
    assert "‘it’ looks most at" in readout
    page.keyboard.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.dataset.index") == str(it + 1)
    page.keyboard.press("Escape")
    assert visible.count() == len(tokens)
    # the mouse: hovering shows a token's lines for as long as it stays there
    animal = tokens.index("animal")
    page.hover(f".bg-pg-hv-col button[data-index='{animal}']")
    assert visible.count() == 1 and visible.first.get_attribute("data-from") == str(animal)
    page.hover("section[data-panel='attention'] h2")
    assert visible.count() == len(tokens)
    # the jump button picks the head where 'it' gives the nouns (a word after "the",
    # "a", ...) the largest share together; "tired" and "wide" land on different heads,
    # as the page says (its hidden block checks the same in PyTorch)
    found = {}
    for word in ("tired", "wide"):
        text = f"The animal didn't cross the street because it was too {word}."
        runs = _runs(page)
        page.fill("#bg-pg-text", text)
        _wait_for_result(page, text, None, runs)
        weights = _read_result(page)["attentions"][:, :, it, :]  # (L, N, T), as drawn
        page.click(f".bg-pg-hv-col button[data-index='{it}']")
        page.click(".bg-pg-jump")  # the mouse crosses other tokens: 'it' stays selected
        selected = page.locator(".bg-pg-hv-col button[aria-selected='true']")
        assert selected.get_attribute("data-index") == str(it)
        layer = int(page.input_value("#bg-pg-layer"))
        head = int(page.input_value("#bg-pg-head"))
        nouns = [tokens.index("animal"), tokens.index("street")]
        best = np.unravel_index(np.argmax(weights[:, :, nouns].sum(-1)), weights.shape[:2])
        assert (layer, head) == (best[0], best[1]), word
        said = page.locator(".bg-pg-link").inner_text()
        animal = f"‘animal’ {weights[layer, head, nouns[0]]:.2f}"
        assert f"Layer {layer}, head {head}" in said and animal in said, said
        found[word] = (layer, head)
    assert found == {"tired": (3, 1), "wide": (5, 11)}, found
    page.select_option("#bg-pg-head", str((found["wide"][1] + 1) % 12))
    assert page.locator(".bg-pg-link").inner_text() == ""  # said only while it is shown

    # --- one word in two sentences ---------------------------------------------------
    a = page.get_attribute(ROOT_SELECTOR, "data-similar-a")
    b = page.get_attribute(ROOT_SELECTOR, "data-similar-b")
    word = page.get_attribute(ROOT_SELECTOR, "data-word")
    page.wait_for_selector(".bg-pg-sim-list li", timeout=20_000)
    shown = [float(v) for v in page.locator(".bg-pg-sim-value").all_inner_texts()]
    cosines = _python_cosines(model, tokenizer, a, b, word)
    assert len(shown) == len(cosines) == 7
    assert np.abs(np.array(shown) - cosines).max() <= 0.01, (shown, cosines)

    # --- dark scheme, then a 390 px phone ---------------------------------------------
    light_bg = page.evaluate(_CANVAS_CORNER)
    page.click("label[for='__palette_1']")  # Material's toggle to the dark scheme
    page.wait_for_function("() => document.body.dataset.mdColorScheme === 'slate'")
    page.wait_for_timeout(200)
    dark_bg = page.evaluate(_CANVAS_CORNER)
    assert sum(light_bg[:3]) > 600 and sum(dark_bg[:3]) < 200, (light_bg, dark_bg)
    chip = page.locator(".bg-pg-token-text").first
    assert _luminance(chip.evaluate("e => getComputedStyle(e).color")) > 0.6
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    root_box = page.locator(ROOT_SELECTOR).bounding_box()
    canvas_box = page.locator(".bg-pg-heatmap").bounding_box()
    assert root_box["width"] <= 390 and canvas_box["width"] <= root_box["width"] + 0.5
    page.screenshot(path=str(tmp_path / "playground-390-dark.png"), full_page=True)

    assert errors == []
    foreign = [u for _, u in requests if not _same_site(u, server)]
    assert foreign == [], foreign
    page.close()

    runs = [m[1] for m in measured.values()]
    print(
        f"\nPlayground in headless Chromium: first load {first_load / 1e3:.0f} kB; "
        f"model {manifest['bytes'] / 1e6:.1f} MB; click to first result "
        f"{click_to_result:.1f} s (page's own clock {timings['firstResultMs'] / 1e3:.1f} s)"
    )
    for name, (T, ms, same_file, vs_torch) in measured.items():
        print(
            f"  {name:24} T={T:3}  model {ms:6.0f} ms  typed->drawn {latencies[name]:.2f} s  "
            f"|attention - onnxruntime| {same_file:.1e}  |attention - PyTorch| {vs_torch:.1e}"
        )
    print(f"  mean model time per sentence {np.mean(runs):.0f} ms; {len(requests)} requests")


_CANVAS_CORNER = """() => Array.from(
    document.querySelector('.bg-pg-heatmap').getContext('2d').getImageData(1, 1, 1, 1).data)"""


def _python_cosines(model, tokenizer, a, b, word):
    """Cosine of the word's vectors (mean of its pieces) in a and b, after each layer."""
    pieces = tokenizer.tokenize(word)
    vectors = []
    for text in (a, b):
        batch = tokenizer(text)
        tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
        at = next(i for i in range(1, len(tokens)) if tokens[i : i + len(pieces)] == pieces)
        with torch.no_grad():
            hidden = model(**batch, output_hidden_states=True).hidden_states
        vectors.append([h[0, at : at + len(pieces)].mean(0) for h in hidden])
    return np.array(
        [float(torch.cosine_similarity(x, y, dim=0)) for x, y in zip(*vectors, strict=True)]
    )
