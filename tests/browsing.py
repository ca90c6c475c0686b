"""Headless Chromium for the browser tests: Debian's binary, no other host, no download.

The fixtures that use it (``site_url``, ``browser``) are in tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; playwright never downloads a browser
CHROMIUM_ARGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",  # no other host, ever
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-sandbox",
    "--disable-gpu",
]


def site_pages(site: Path) -> list[str]:
    """Every page of the built site, as a path from its root ("/", "/tokenization/", ...)."""
    return sorted(
        "/" + p.relative_to(site).parent.as_posix().strip(".").strip("/") + "/"
        for p in site.rglob("index.html")
        if "assets" not in p.relative_to(site).parts
    )


def sync_playwright_or_skip():
    """playwright's ``sync_playwright``, or a skip that says what is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        pytest.skip("the playwright package is not installed: pip install playwright")
    return sync_playwright


def launch_chromium(playwright):
    """Headless Chromium with scroll bars drawn, as a reader sees them."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        ignore_default_args=["--hide-scrollbars"],
    )
