"""The built site in a real headless Chromium: the interactive views draw, react, fit
their column at 1280 and 390 px, and no page asks another host for anything or logs an
error. Every page is screenshot, light and dark, wide and narrow, into build/screenshots/
(git-ignored) for a person to look at.

Needs Debian's ``chromium`` and the Python ``playwright`` driver (it never downloads a
browser: it starts /usr/bin/chromium). Skips, saying why, where either is missing.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from bertguide.analysis.attention_maps import get_attention
from bertguide.export import views
from bertguide.figures.attention_maps import CHICKEN_TIRED, PAIR

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "screenshots"
WIDTHS = (1280, 390)  # a laptop and a phone
FONTS = (".woff2", ".woff", ".ttf")

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]


@pytest.fixture(scope="module")
def server(site_url):
    """The session's server of the built site."""
    return site_url


class Visit:
    """One page, in a fresh context (an empty cache) or in ``context``, with what it
    fetched and logged."""

    def __init__(self, browser, url: str, scheme="light", width=1280, context=None):
        self.own = context is None
        self.context = context or browser.new_context(
            color_scheme=scheme, viewport={"width": width, "height": 900}
        )
        self.page = self.context.new_page()
        self.requests, self.errors = [], []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        self.page.goto(url, wait_until="load")

    def foreign(self, base: str) -> list[str]:
        host = urlparse(base).netloc
        return [
            u
            for u in self.requests
            if urlparse(u).scheme in ("http", "https") and urlparse(u).netloc != host
        ]

    def close(self):
        self.page.close()
        if self.own:
            self.context.close()


def _expected(weight: float) -> float:
    """A weight as the page carries it: one byte, round(255 w)."""
    return round(weight * 255) / 255


def test_head_view_draws_tokens_reacts_to_hover_and_numbers_its_heads(server, browser):
    visit = Visit(browser, f"{server}/visualizing-attention/")
    frame_element = visit.page.locator("iframe.bertguide-view").first
    frame_element.scroll_into_view_if_needed()
    frame = frame_element.content_frame
    frame.locator("svg text", has_text="chicken").first.wait_for(timeout=15000)
    texts = frame.locator("svg text").evaluate_all("ts => ts.map(t => t.textContent.trim())")
    assert {"chicken", "road", "it", "tired"} <= set(texts)

    # the chapter's view opens on layer 3; "it" (10) -> "chicken" (2) in head 1, drawn at
    # an opacity of weight / 12 (all 12 heads shown)
    weight = float(get_attention(CHICKEN_TIRED).weights[3, 1, 10, 2])
    line = frame.locator(
        "g.headAttention[head-index='1'] g.tokenAttention[left-token-index='10'] "
        "line[right-token-index='2']"
    )
    assert float(line.get_attribute("stroke-opacity")) == pytest.approx(
        _expected(weight) / 12, abs=1e-6
    )

    def highlighted():
        return frame.locator("svg line[visibility='visible']").count()

    assert highlighted() == 0
    frame.locator("svg text", has_text="chicken").first.hover()
    visit.page.wait_for_timeout(300)
    # hovering a token shows only its own lines: one per head and token on the right
    assert highlighted() > 0
    assert frame.locator("svg g[visibility='hidden']").count() >= 1

    # 12 swatches, 12 colours, numbered 0..11; a click hides a head and pales its swatch
    swatches = frame.locator("svg rect[width='20'][height='20']")
    fills = swatches.evaluate_all("rs => rs.map(r => r.getAttribute('fill'))")
    assert fills == list(views.HEAD_COLORS)
    numbers = frame.locator("svg text[font-weight='bold']")
    assert numbers.evaluate_all("ts => ts.map(t => t.textContent)") == [str(i) for i in range(12)]
    visit.page.mouse.move(0, 0)
    swatches.nth(11).click()
    assert swatches.nth(11).get_attribute("fill") == views.lighter(views.HEAD_COLORS[11])
    assert visit.errors == [] and visit.foreign(server) == []
    visit.close()


def test_model_view_cuts_the_sentence_blocks_in_the_browser(server, browser):
    visit = Visit(browser, f"{server}/figures/pair-model-view.html", "dark")
    page = visit.page
    page.locator("svg line").first.wait_for(state="attached", timeout=15000)
    pair = get_attention(*PAIR)
    b, T = pair.sentence_b_start, len(pair.tokens)

    def first_thumbnail():  # layer 0, head 0: one group of lines per token on the left
        groups = page.locator("svg > g").first.locator("g")
        return groups.count(), groups.first.locator("line")

    count, lines = first_thumbnail()
    assert (count, lines.count()) == (T, T)
    assert float(lines.nth(b).get_attribute("stroke-opacity")) == pytest.approx(
        _expected(float(pair.weights[0, 0, 0, b])), abs=1e-6
    )
    page.select_option("select.bv-filter", label="Sentence A -> Sentence B")
    page.wait_for_timeout(200)
    count, lines = first_thumbnail()
    assert (count, lines.count()) == (b, T - b)  # rows of A, columns of B
    assert float(lines.nth(0).get_attribute("stroke-opacity")) == pytest.approx(
        _expected(float(pair.weights[0, 0, 0, b])), abs=1e-6
    )
    labels = page.locator("svg > text").evaluate_all("ts => ts.map(t => t.textContent)")
    assert {str(h) for h in range(12)} <= set(labels) and "Layers" in labels
    assert visit.errors == [] and visit.foreign(server) == []
    visit.close()


# What a view must satisfy where it is shown: the drawing fits the width it has, or it
# scrolls with a scroll bar and a hint that show; its text stays 10 px or more; an iframe
# is as tall as what it holds and no wider than the text column.
MEASURE = """root => {
  const svg = root.querySelector('.bv-vis svg'), scroller = root.querySelector('.bv-scroll');
  const box = svg.getBoundingClientRect(), view = scroller.getBoundingClientRect();
  const scale = box.width / svg.viewBox.baseVal.width;
  const sizes = Array.from(svg.querySelectorAll('text'),
                           t => parseFloat(getComputedStyle(t).fontSize));
  return {
    left: box.left - view.left, right: box.right - view.left, width: view.width,
    scrolls: scroller.scrollWidth > scroller.clientWidth + 1,
    scrollbar: scroller.offsetHeight - scroller.clientHeight,
    hint: !root.querySelector('.bv-hint').hidden,
    smallest: Math.min(...sizes) * scale,
    height: document.documentElement.scrollHeight, inner: window.innerHeight,
  };
}"""


def _check_fit(m: dict, where: str) -> None:
    assert m["smallest"] >= views.MIN_TEXT_PX - 0.01, (where, m)
    if m["scrolls"]:
        assert m["hint"] and m["scrollbar"] >= 6, (where, m)  # seen, and usable
    else:
        assert m["left"] >= -0.5 and m["right"] <= m["width"] + 0.5, (where, m)
        assert not m["hint"], (where, m)


@pytest.mark.parametrize("width", WIDTHS)
def test_chapter_views_fit_the_column(server, browser, width):
    # one view on each of the two attention chapters
    for chapter in ("visualizing-attention", "head-patterns"):
        visit = Visit(browser, f"{server}/{chapter}/", width=width)
        column = visit.page.locator("article.md-content__inner").evaluate(
            "a => a.clientWidth - parseFloat(getComputedStyle(a).paddingLeft)"
            " - parseFloat(getComputedStyle(a).paddingRight)"
        )
        frames = visit.page.locator("iframe.bertguide-view")
        assert frames.count() == 1, chapter
        element = frames.nth(0)
        element.scroll_into_view_if_needed()
        frame = element.content_frame
        frame.locator(".bv-vis svg[data-bv-box]").wait_for(timeout=15000)
        visit.page.wait_for_timeout(300)  # the frame takes the height of its content
        m = frame.locator(".bertguide-attention-view").evaluate(MEASURE)
        _check_fit(m, f"{chapter} at {width}px")
        assert m["height"] <= m["inner"] + 1, (chapter, width, m)  # nothing cut off below
        assert element.bounding_box()["width"] <= column + 1, (chapter, width, column)
        assert visit.errors == [] and visit.foreign(server) == []
        visit.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_notebook_views_fit_the_column(server, browser, width):
    visit = Visit(browser, f"{server}/notebooks/explore-attention/", width=width)
    roots = visit.page.locator(".bertguide-attention-view")
    assert roots.count() == 3  # the notebook shows three views, each in its own root
    for i in range(3):
        roots.nth(i).locator(".bv-vis svg[data-bv-box]").wait_for(timeout=15000)
        m = roots.nth(i).evaluate(MEASURE)
        _check_fit(m, f"notebook view {i} at {width}px")
        cell = roots.nth(i).evaluate("r => r.closest('.jp-OutputArea-output').clientWidth")
        assert roots.nth(i).bounding_box()["width"] <= cell + 1
    assert visit.errors == [] and visit.foreign(server) == []
    visit.close()


def _pages(site: Path) -> list[str]:
    return sorted(
        "/" + p.relative_to(site).parent.as_posix().strip(".") for p in site.rglob("index.html")
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_loads_cleanly_and_is_screenshot(server, browser, built_site, width, scheme):
    """Full-page screenshots into build/screenshots/: look at them after a change."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900})
    problems = {}
    for path in _pages(built_site):
        url = f"{server}{path.rstrip('/')}/" if path != "/" else f"{server}/"
        visit = Visit(browser, url, context=context)
        page = visit.page
        # lazy frames load when scrolled to; a full-page shot wants them drawn
        page.evaluate(
            "document.querySelectorAll('[loading=lazy]').forEach(e => e.loading = 'eager')"
        )
        for frame in page.locator("iframe.bertguide-view").all():
            frame.content_frame.locator(".bv-vis svg[data-bv-box]").wait_for(timeout=15000)
        # the whole page in one viewport: no page scroll bar eats the width, and scroll
        # bars inside the page are drawn (a full_page shot leaves them out)
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": width, "height": min(height, 16000)})
        page.wait_for_timeout(200)
        name = path.strip("/").replace("/", "-") or "index"
        page.screenshot(path=str(SHOTS / f"{name}-{width}-{scheme}.png"))
        if visit.errors or visit.foreign(server):
            problems[path] = visit.errors + visit.foreign(server)
        visit.close()
    context.close()
    assert not problems, problems
