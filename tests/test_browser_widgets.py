"""The chapters' widgets and the Playground's fill-mask and next-sentence panels, in a
real headless Chromium on the built site (``built_site``; ``BERTGUIDE_SITE_DIR`` points
it at a build), served from 127.0.0.1 with no special headers.

* before the reader presses a button, each widget's page stays under 1 MB and fetches
  no model and no engine (the tokenizer widget fetches the vocabulary when it comes
  into view: still under 1 MB);
* the tokenizer widget's tokens and ids equal ``WordPieceTokenizer``'s on fixed
  sentences, typed into the page;
* the attention widget's row (where the selected token looks, in the chosen layer and
  head) equals ``BertModel``'s within ``bertguide.export.playground.INT8_TOLERANCE``, and the
  head view follows the mouse and the keyboard;
* the similarity widget's cosines equal PyTorch's within 0.01;
* the fill-mask panel's top-1 equals the restored model's in PyTorch on the
  pre-training chapter's example, and its P(IsNext) is within
  ``bertguide.export.playground_heads.NSP_TOLERANCE`` of PyTorch's. These skip, saying why,
  when the heads' export is not in docs/figures or the restored model is not in the
  cache (``bertguide figures`` makes both): the tests never train it;
* every widget fits 390 px, follows the dark scheme, and is screenshot at 1280 and
  390 px, light and dark, into build/screenshots/ (git-ignored) for a person to look at;
* every request went to 127.0.0.1, and no script error happened.

Needs Debian's ``chromium`` and the ``playwright`` package; skips, saying why, without.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
import torch

from bertguide.experiments import restoring
from bertguide.export import playground as pg
from bertguide.export import playground_heads as ph
from bertguide.inference import fill_mask, next_sentence
from bertguide.model import BertModel
from bertguide.pretraining import BertForPreTraining
from bertguide.tokenizer import WordPieceTokenizer

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "screenshots"
BUDGET = 1_000_000  # bytes a page may load before the reader presses a button
PAGES = {  # widget kind -> the page that holds it
    "tokenizer": "tokenization",
    "attention": "visualizing-attention",
    "similarity": "contextual-embeddings",
    "heads": "playground",
}
TOKENIZER_TEXTS = (
    "Unaffable Fido keeps playing with tokenization.",
    "Crème brûlée, naïve café — ça va? Oui : très bien !",
    "The capital of France is [MASK].",
    "你好世界 😀 GPT-3's 1,000,000 tokens",
)
HEAVY = (".onnx", ".wasm", ".txt")

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]


@pytest.fixture(scope="module")
def site(built_site: Path) -> Path:
    for name in (pg.MODEL_FILE, pg.VOCAB_FILE, pg.MANIFEST_FILE):
        if not (built_site / "figures" / name).is_file():
            pytest.fail(f"the built site lacks figures/{name}: run `bertguide figures` first")
    return built_site


@pytest.fixture(scope="module")
def server(site, site_url):
    """The session's server of the built site, once the checks above pass."""
    return site_url


@pytest.fixture(scope="module")
def restored(site) -> BertForPreTraining:
    """The restored model that ships with the package (the exported heads' source)."""
    exported = [
        ROOT / "docs" / "figures" / n for n in (ph.HEADS_MODEL_FILE, ph.HEADS_MANIFEST_FILE)
    ]
    missing = [p.name for p in exported if not p.is_file()]
    missing += [n for n in ("playground-heads.onnx",) if not (site / "figures" / n).is_file()]
    if missing:
        pytest.skip(
            f"{', '.join(sorted(set(missing)))} not in docs/figures or the built site: "
            "`bertguide figures --out docs/figures` exports the restored heads"
        )
    return restoring.restored_model()  # shipped with the package


class Visit:
    """One page in a fresh context: what it fetched (and how many bytes) and logged."""

    def __init__(self, browser, url: str, scheme: str = "light", width: int = 1280):
        self.context = browser.new_context(
            color_scheme=scheme, viewport={"width": width, "height": 900}
        )
        self.page = self.context.new_page()
        self.requests, self.errors, self.sizes = [], [], {}
        self.page.on("request", lambda r: self.requests.append((r.method, r.url)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        self.page.on("requestfinished", self._size)
        self.page.goto(url, wait_until="load")
        self.page.wait_for_load_state("networkidle")

    def _size(self, request):
        if request.method == "GET":
            self.sizes[request.url] = request.sizes()["responseBodySize"]

    def heavy(self) -> list[str]:
        return [u for m, u in self.requests if m == "GET" and u.endswith(HEAVY)]

    def foreign(self) -> list[str]:
        host = urlparse(self.page.url).netloc
        return [u for _, u in self.requests if urlparse(u).netloc not in (host, "")]

    def root(self, kind: str):
        return self.page.locator(f"[data-bertguide-widget='{kind}']")

    def load_model(self, kind: str) -> None:
        """Press the widget's button and wait until it drew its first result."""
        root = self.root(kind)
        root.scroll_into_view_if_needed()
        button = root.locator(".md-button--primary")
        self.page.wait_for_function(
            "k => !document.querySelector(`[data-bertguide-widget='${k}'] .md-button--primary`)"
            ".disabled",
            arg=kind,
        )
        button.focus()
        self.page.keyboard.press("Enter")  # as a keyboard presses it
        self.page.wait_for_selector(
            f"[data-bertguide-widget='{kind}'][data-state='ready']", timeout=90_000
        )
        # the button is gone: the focus is on the line that says the model is ready
        focused = self.page.evaluate(
            "k => document.activeElement.closest(`[data-bertguide-widget='${k}']`) !== null",
            arg=kind,
        )
        assert focused, self.page.evaluate("() => document.activeElement.outerHTML")

    def close(self) -> None:
        assert self.errors == [], self.errors
        assert self.foreign() == [], self.foreign()
        self.context.close()


def _runs(page, kind: str) -> int:
    return int(page.locator(f"[data-bertguide-widget='{kind}']").get_attribute("data-runs") or 0)


def _wait_runs(page, kind: str, after: int) -> None:
    page.wait_for_function(
        "([k, n]) => Number(document.querySelector(`[data-bertguide-widget='${k}']`)"
        ".dataset.runs) > n",
        arg=[kind, after],
        timeout=30_000,
    )


# --- first load ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_a_widget_page_stays_small_until_the_reader_asks(server, browser, site, kind):
    if kind == "heads" and not (site / "figures" / ph.HEADS_MANIFEST_FILE).is_file():
        pytest.skip(f"{ph.HEADS_MANIFEST_FILE} is not in the built site: `bertguide figures`")
    visit = Visit(browser, f"{server}/{PAGES[kind]}/")
    first = sum(visit.sizes.values())
    assert visit.heavy() == [], visit.heavy()
    assert first < BUDGET, sorted(visit.sizes.items(), key=lambda kv: -kv[1])[:5]
    root = visit.root(kind)
    assert root.count() == 1
    if kind == "tokenizer":  # the reader comes: the vocabulary, and nothing heavier
        root.scroll_into_view_if_needed()
        root.hover()
        visit.page.wait_for_selector("[data-bertguide-widget='tokenizer'][data-state='ready']")
        visit.page.wait_for_load_state("networkidle")
        assert [Path(urlparse(u).path).name for u in visit.heavy()] == [pg.VOCAB_FILE]
    else:  # a button that states the size of what it downloads
        button = root.locator(".md-button--primary")
        visit.page.wait_for_function(
            "k => !document.querySelector(`[data-bertguide-widget='${k}'] .md-button--primary`)"
            ".disabled",
            arg=kind,
        )
        manifest = visit.page.evaluate(f"() => window.bertguideWidgets.{kind}.model.manifest")
        assert f"{manifest['bytes'] / 1e6:.1f} MB" in button.inner_text()
    print(f"\n{PAGES[kind]}: first load {first / 1e3:.0f} kB")
    visit.close()


# --- the tokenizer ---------------------------------------------------------------------


def test_the_tokenizer_widget_gives_the_python_tokens(server, browser):
    tokenizer = WordPieceTokenizer.from_pretrained()
    visit = Visit(browser, f"{server}/tokenization/")
    page = visit.page
    visit.root("tokenizer").scroll_into_view_if_needed()
    page.focus("#bg-w-tokenizer-text")  # the keyboard reaches the box: the vocabulary loads
    page.wait_for_selector("[data-bertguide-widget='tokenizer'][data-state='ready']")
    box = page.locator("#bg-w-tokenizer-text")
    for text in TOKENIZER_TEXTS:
        runs = _runs(page, "tokenizer")
        box.fill(text)
        _wait_runs(page, "tokenizer", runs)
        ids = tokenizer.encode(text)
        tokens = page.locator(".bg-pg-token-text").all_inner_texts()
        shown = page.locator(".bg-pg-token-id").all_inner_texts()
        assert tokens == tokenizer.convert_ids_to_tokens(ids), text
        assert [int(i) for i in shown] == ids, text
    # the keyboard reaches the box, and typing updates the tokens
    box.fill("")
    box.focus()
    runs = _runs(page, "tokenizer")
    page.keyboard.type("Hello, world")
    _wait_runs(page, "tokenizer", runs)
    page.wait_for_function("() => window.bertguideWidgets.tokenizer.last.text === 'Hello, world'")
    tokens = page.locator(".bg-pg-token-text").all_inner_texts()
    assert tokens == ["[CLS]", *tokenizer.tokenize("Hello, world"), "[SEP]"]
    visit.close()


# --- attention: where a token looks ------------------------------------------------------


def test_the_attention_widget_row_equals_the_python_model(server, browser):
    visit = Visit(browser, f"{server}/visualizing-attention/")
    page = visit.page
    root = visit.root("attention")
    text = root.get_attribute("data-text")
    layer, head = int(root.get_attribute("data-layer")), int(root.get_attribute("data-head"))
    visit.load_model("attention")
    tokenizer = WordPieceTokenizer.from_pretrained()
    model = BertModel.from_pretrained()
    worst = 0.0
    for sentence in (text, text.replace("tired", "wide")):
        runs = _runs(page, "attention")
        page.fill("#bg-w-attention-text", sentence)
        _wait_runs(page, "attention", runs)
        page.wait_for_function(
            "t => window.bertguideWidgets.attention.last.text === t", arg=sentence
        )
        batch = tokenizer(sentence)
        tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
        it = tokens.index("it")
        with torch.no_grad():
            want = model(**batch, output_attentions=True).attentions[layer][0, head, it].numpy()
        # the widget keeps 'it' selected: its row, as the page holds it
        got = page.evaluate(
            """([l, h, i]) => {
                const w = window.bertguideWidgets.attention;
                const T = w.last.T;
                return {tokens: w.last.tokens, selected: w.attention.selected,
                        row: Array.from(w.last.attentions[l].subarray((h * T + i) * T,
                                                                      (h * T + i + 1) * T))};
            }""",
            [layer, head, it],
        )
        assert got["tokens"] == tokens and got["selected"] == it
        diff = float(np.abs(np.array(got["row"]) - want).max())
        worst = max(worst, diff)
        assert diff <= pg.INT8_TOLERANCE, (sentence, diff)
        # what the reader sees: only 'it''s lines, and the three tokens it looks at most
        visible = page.locator(".bg-pg-hv-lines g[visibility='visible']")
        assert visible.count() == 1 and visible.first.get_attribute("data-from") == str(it)
        top = tokens[int(np.argmax(want))]
        assert f"‘{top}’" in page.locator(".bg-pg-focus").inner_text()
    assert page.input_value("#bg-pg-layer") == str(layer)
    # the mouse, then the keyboard
    chicken = tokens.index("chicken")
    page.hover(f".bg-pg-hv-col button[data-index='{chicken}']")
    assert visible.count() == 1 and visible.first.get_attribute("data-from") == str(chicken)
    page.focus(f".bg-pg-hv-col button[data-index='{it}']")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.dataset.index") == str(it + 1)
    page.keyboard.press("Escape")
    page.mouse.move(0, 0)
    assert visible.count() == len(tokens)
    print(f"\nattention widget: largest |row - PyTorch| {worst:.1e}")
    visit.close()


# --- similarity ---------------------------------------------------------------------------


def _cosines(model, tokenizer, a: str, b: str, word: str) -> np.ndarray:
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


def test_the_similarity_widget_equals_the_python_model(server, browser):
    visit = Visit(browser, f"{server}/contextual-embeddings/")
    page = visit.page
    root = visit.root("similarity")
    a, b = root.get_attribute("data-similar-a"), root.get_attribute("data-similar-b")
    word = root.get_attribute("data-word")
    visit.load_model("similarity")
    model, tokenizer = BertModel.from_pretrained(), WordPieceTokenizer.from_pretrained()
    page.wait_for_selector(".bg-pg-sim-list li")
    shown = [float(v) for v in page.locator(".bg-pg-sim-value").all_inner_texts()]
    want = _cosines(model, tokenizer, a, b, word)
    assert len(shown) == len(want) == model.config.num_hidden_layers + 1
    assert np.abs(np.array(shown) - want).max() <= 0.01, (shown, want)
    # a word of two pieces, typed
    runs = _runs(page, "similarity")
    page.fill("#bg-pg-sim-a", "The tokenization of text comes first.")
    page.fill("#bg-pg-sim-b", "Good tokenization helps rare words.")
    page.fill("#bg-pg-sim-word", "tokenization")
    _wait_runs(page, "similarity", runs)
    page.wait_for_function("() => window.bertguideWidgets.similarity.last.word === 'tokenization'")
    shown = [float(v) for v in page.locator(".bg-pg-sim-value").all_inner_texts()]
    want = _cosines(
        model,
        tokenizer,
        "The tokenization of text comes first.",
        "Good tokenization helps rare words.",
        "tokenization",
    )
    assert np.abs(np.array(shown) - want).max() <= 0.01, (shown, want)
    visit.close()


# --- fill-mask and next sentence -------------------------------------------------------


def test_the_fill_mask_and_next_sentence_panels_equal_the_restored_model(server, browser, restored):
    tokenizer = WordPieceTokenizer.from_pretrained()
    visit = Visit(browser, f"{server}/playground/")
    page = visit.page
    root = visit.root("heads")
    text = root.get_attribute("data-text")
    a, b = root.get_attribute("data-a"), root.get_attribute("data-b")
    visit.load_model("heads")
    want = fill_mask(text, ph.TOP_K, model=restored, tokenizer=tokenizer)
    page.wait_for_selector(".bg-pg-fill-list li")
    shown = page.locator(".bg-pg-fill-list li .bg-pg-fill-token").all_inner_texts()
    probs = [float(p) for p in page.locator(".bg-pg-fill-list .bg-pg-sim-value").all_inner_texts()]
    assert shown[0] == want[0][0][0], (shown, want)
    assert shown == [t for t, _ in want[0]], (shown, want)  # all five, in order
    assert np.abs(np.array(probs) - [p for _, p in want[0]]).max() <= 0.02
    page.wait_for_selector(".bg-pg-is-next")
    nsp_diffs = []
    for first, second in ((a, b), ("Turn the radio on.", "She bought a new hat.")):
        page.fill("#bg-w-heads-a", first)
        page.fill("#bg-w-heads-b", second)
        expected = next_sentence(first, second, model=restored, tokenizer=tokenizer)
        page.wait_for_function(
            "([a, b]) => document.querySelector('#bg-w-heads-a').value === a &&"
            " window.bertguideWidgets.heads.isNext !== undefined",
            arg=[first, second],
        )
        page.wait_for_timeout(600)  # the debounced update, then the run
        got = page.evaluate("() => window.bertguideWidgets.heads.isNext")
        nsp_diffs.append(abs(got - expected))
        assert nsp_diffs[-1] <= ph.NSP_TOLERANCE, (first, second, got, expected)
    # two [MASK]s: two lists
    runs = _runs(page, "heads")
    page.fill("#bg-w-heads-text", "She [MASK] a letter to her [MASK] yesterday.")
    _wait_runs(page, "heads", runs)
    assert page.locator(".bg-pg-fill-list").count() == 2
    # [mask] in any case is the reader's [MASK]
    runs = _runs(page, "heads")
    page.fill("#bg-w-heads-text", text.replace("[MASK]", "[mask]"))
    _wait_runs(page, "heads", runs)
    lower = page.locator(".bg-pg-fill-list li .bg-pg-fill-token").all_inner_texts()
    assert lower == shown, (lower, shown)
    # past the 128 tokens the model reads: it says so, and says where the [MASK] went
    long = "the cat sat on the mat . " * 30  # 7 tokens a time: 210
    for typed, mask_read in ((long + "[MASK] .", False), ("A [MASK] city. " + long, True)):
        runs = _runs(page, "heads")
        page.fill("#bg-w-heads-text", typed)
        _wait_runs(page, "heads", runs)
        notes = page.locator("section[data-panel='fill-mask'] .bg-pg-note").all_inner_texts()
        assert any("reads at most 128 tokens" in n for n in notes), notes
        assert mask_read == (page.locator(".bg-pg-fill-list").count() == 1), notes
        assert mask_read != any("past the part the model reads" in n for n in notes), notes
    print(f"\nheads panels: |P(IsNext) - PyTorch| {max(nsp_diffs):.1e}")
    visit.close()


# --- 390 px, dark, and a look -----------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
def test_every_widget_fits_follows_the_scheme_and_is_screenshot(
    server, browser, site, width, scheme
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    heads = (site / "figures" / ph.HEADS_MODEL_FILE).is_file()
    for kind, page_name in PAGES.items():
        if kind == "heads" and not heads:
            continue
        visit = Visit(browser, f"{server}/{page_name}/", scheme, width)
        page = visit.page
        if kind == "tokenizer":
            visit.root(kind).hover()
            page.wait_for_selector("[data-bertguide-widget='tokenizer'][data-state='ready']")
        else:
            visit.load_model(kind)
        page.wait_for_timeout(300)
        root = visit.root(kind)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        box = root.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (kind, box)
        # text in the widget follows the scheme: light text on dark, dark on light
        color = root.locator("label").first.evaluate("e => getComputedStyle(e).color")
        rgb = [int(v) for v in color[color.index("(") + 1 :].split(",")[:3]]
        assert (sum(rgb) > 300) == (scheme == "dark"), (kind, scheme, color)
        root.screenshot(path=str(SHOTS / f"widget-{kind}-{width}-{scheme}.png"))
        visit.close()
