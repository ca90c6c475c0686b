"""Fixtures shared by the unit tests, and the built site served to a real browser."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.browsing import CHROMIUM, launch_chromium, sync_playwright_or_skip

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


@pytest.fixture(scope="session")
def tok():
    """The embedded model's WordPiece tokenizer, read once for the whole run."""
    from bertguide.tokenizer import WordPieceTokenizer

    return WordPieceTokenizer.from_pretrained()


@pytest.fixture(scope="session")
def transformers():
    """Hugging Face transformers, imported when a parity test first asks for it (the
    package itself never imports it)."""
    import transformers

    return transformers


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


# --- passes that are reused while nothing they depend on changed -------------------------
#
# The browser tests (marker ``browser``) and the fingerprints (marker ``reusable``) are
# deterministic functions of files: the built site, the package, the tests, the pinned
# tools. A pass is recorded in .make/passed/ under a hash of all of them, and a later run
# with the same hash skips the test, saying so. Any change to the site, the package, a
# test or a pin runs them again; a fresh clone (CI) runs them all, and so does
# BERTGUIDE_RECHECK=1.

PASSED = ROOT / ".make" / "passed"
_DIGESTS: dict[str, str] = {}


def _digest_files(paths) -> str:
    digest = hashlib.sha256()
    for path in paths:
        name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _code_digest() -> str:
    """The package, the tests and the pins the reused passes depend on."""
    if "code" not in _DIGESTS:
        import torch

        files = [
            path
            for folder in ("bertguide", "tests")
            for path in (ROOT / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        ]
        pins = ("conftest.py", "pyproject.toml", "constraints.txt", "package-lock.json")
        files += [ROOT / name for name in pins]
        browser = CHROMIUM.stat() if CHROMIUM.exists() else None
        browser = browser and (browser.st_size, browser.st_mtime)
        tools = f"{sys.version}|{torch.__version__}|{browser}"
        _DIGESTS["code"] = _digest_files(sorted(files)) + tools
    return _DIGESTS["code"]


def _site_digest(site: Path) -> str:
    if str(site) not in _DIGESTS:
        _DIGESTS[str(site)] = _digest_files(sorted(p for p in site.rglob("*") if p.is_file()))
    return _DIGESTS[str(site)]


@pytest.fixture(autouse=True)
def _reuse_a_pass(request):
    """Skip a browser or ``reusable`` test that passed before on the same files."""
    item = request.node
    browser = item.get_closest_marker("browser") is not None
    reusable = browser or item.get_closest_marker("reusable") is not None
    if not reusable or os.environ.get("BERTGUIDE_RECHECK"):
        yield
        return
    parts = [item.nodeid, _code_digest()]
    if browser:
        parts.append(_site_digest(request.getfixturevalue("built_site")))
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
    if (PASSED / key).exists():
        same = "site, package, tests and tools" if browser else "package, tests and tools"
        pytest.skip(f"passed before on the same {same} (BERTGUIDE_RECHECK=1 runs it again)")
    item.passed_marker = PASSED / key
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    marker = getattr(item, "passed_marker", None)
    if marker is not None and report.when == "call" and report.passed:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(item.nodeid + "\n", encoding="utf-8")
    return report
