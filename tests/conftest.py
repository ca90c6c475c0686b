"""Fixtures shared by the unit tests, and the built site served to a real browser."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.browsing import launch_chromium, sync_playwright_or_skip

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The built site: ``$BERTGUIDE_SITE_DIR`` (``make test`` builds it first) or a fresh,
    strict build of the working tree, figures and vendored assets included."""
    configured = os.environ.get("BERTGUIDE_SITE_DIR")
    if configured:
        site = Path(configured)
        if not site.is_absolute():
            site = ROOT / site
        if (site / "index.html").is_file():
            return site
    # without the docs extra (the oldest versions' check, .github/workflows/compat.yml)
    pytest.importorskip("mkdocs", reason="building the site needs the docs extra")
    # What `make build` does before mkdocs: the vendored JS and the rendered figures.
    if (ROOT / "node_modules").is_dir():
        subprocess.run([sys.executable, "scripts/vendor_assets.py"], cwd=ROOT, check=True)
    from bertguide.figures import render_all

    render_all(ROOT / "docs" / "figures")
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    if result.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{result.stderr[-4000:]}")
    return site


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """A copy of the embedded model's files that a test may damage.

    The weights are a symlink to the real file: unlink it before writing to it.
    """
    from bertguide import pretrained

    source = pretrained.default_model_dir()
    target = tmp_path / "model"
    target.mkdir()
    for name in ("config.json", "vocab.txt"):
        shutil.copy(source / name, target / name)
    (target / "model.safetensors").symlink_to(source / "model.safetensors")
    return target


# --- the built site in headless Chromium (tests/test_browser*.py, test_playground.py) ---


@pytest.fixture(scope="session")
def site_url(built_site: Path):
    """The built site served on 127.0.0.1 (an unused port) for the whole test run."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test (each test opens its own context)."""
    sync_playwright = sync_playwright_or_skip()
    with sync_playwright() as p:
        chromium = launch_chromium(p)
        yield chromium
        chromium.close()
