"""The built chapter in a real headless Chromium: the interactive views draw and react,
and the page asks no other host for anything.

Needs Debian's ``chromium`` and the Python ``playwright`` driver (it never downloads a
browser: it starts /usr/bin/chromium). Skips, saying why, where either is missing.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-sandbox",
    "--disable-gpu",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]


def _playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        pytest.skip("the playwright package is not installed: pip install playwright")
    return sync_playwright


@pytest.fixture(scope="module")
def server(built_site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _open(browser, url, scheme="light"):
    page = browser.new_page(color_scheme=scheme, viewport={"width": 1200, "height": 900})
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url, wait_until="load")
    return page, requests, errors


def _foreign(requests, base):
    host = urlparse(base).netloc
    return [
        u
        for u in requests
        if urlparse(u).scheme in ("http", "https") and urlparse(u).netloc != host
    ]


def test_head_view_draws_tokens_and_reacts_to_hover(server, tmp_path):
    sync_playwright = _playwright()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page, requests, errors = _open(browser, f"{server}/visualizing-attention/")
        frame_element = page.locator("iframe.bertguide-view").first
        frame_element.scroll_into_view_if_needed()
        frame = frame_element.content_frame
        frame.locator("svg text", has_text="chicken").first.wait_for(timeout=15000)
        texts = frame.locator("svg text").evaluate_all("ts => ts.map(t => t.textContent.trim())")
        assert {"chicken", "road", "it", "tired"} <= set(texts)

        def highlighted():
            return frame.locator("svg line[visibility='visible']").count()

        assert frame.locator("svg line").count() > 0  # attention lines are drawn
        assert highlighted() == 0
        frame.locator("svg text", has_text="chicken").first.hover()
        page.wait_for_timeout(300)
        # hovering a token shows only its own lines: one per head and token on the right
        assert highlighted() > 0
        assert frame.locator("svg g[visibility='hidden']").count() >= 1

        page.screenshot(path=str(tmp_path / "light.png"), full_page=False)
        assert errors == []
        assert _foreign(requests, server) == []
        browser.close()


def test_model_view_and_notebook_ask_no_other_host(server):
    sync_playwright = _playwright()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page, requests, errors = _open(browser, f"{server}/figures/pair-model-view.html", "dark")
        page.locator("svg rect").first.wait_for(timeout=15000)
        assert page.locator("svg").count() >= 1
        page2, requests2, errors2 = _open(browser, f"{server}/notebooks/explore-attention/")
        page2.locator(".bertguide-attention-view svg text", has_text="chicken").first.wait_for(
            timeout=15000
        )
        # the notebook shows three views; each draws into its own root
        assert page2.locator(".bertguide-attention-view").count() == 3
        assert page2.locator(".bertguide-attention-view svg").count() >= 3
        assert errors == [] and errors2 == []
        assert _foreign(requests + requests2, server) == []
        browser.close()
