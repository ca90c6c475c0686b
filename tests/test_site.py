"""The built site loads nothing from other hosts and has the pages it promises."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

from bs4 import BeautifulSoup

# (tag, attribute) pairs whose URL the browser fetches on its own when the page loads.
LOADED = [
    ("script", "src"),
    ("img", "src"),
    ("img", "srcset"),
    ("source", "src"),
    ("source", "srcset"),
    ("iframe", "src"),
    ("video", "src"),
    ("audio", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("input", "src"),
    ("image", "href"),
    ("use", "href"),
]
# <link rel=...> values that make the browser fetch the target.
FETCHING_RELS = {
    "stylesheet",
    "preload",
    "modulepreload",
    "prefetch",
    "icon",
    "manifest",
    "preconnect",
    "dns-prefetch",
    "apple-touch-icon",
    "shortcut",
}
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])(?P<url>[^'")\s]+)""")


def is_external(url: str) -> bool:
    url = url.strip()
    parsed = urlparse(url)
    return url.startswith("//") or (parsed.scheme in {"http", "https"} and bool(parsed.netloc))


def external_loads(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    found = []
    for tag, attribute in LOADED:
        for element in soup.find_all(tag):
            value = element.get(attribute) or element.get(f"xlink:{attribute}") or ""
            urls = [part.split()[0] for part in value.split(",") if part.strip()]
            found += [f"<{tag} {attribute}={url}>" for url in urls if is_external(url)]
    for link in soup.find_all("link"):
        rels = {rel.lower() for rel in link.get("rel", [])}
        if rels & FETCHING_RELS and is_external(link.get("href", "")):
            found.append(f"<link rel={' '.join(sorted(rels))} href={link['href']}>")
    for element in soup.find_all(style=True):
        found += [
            f"style url({m['url']})"
            for m in CSS_URL.finditer(element["style"])
            if is_external(m["url"])
        ]
    for style in soup.find_all("style"):
        found += [
            f"<style> url({m['url']})"
            for m in CSS_URL.finditer(style.get_text())
            if is_external(m["url"])
        ]
    return found


def test_checker_sees_external_loads():
    html = """
    <link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">
    <script src="//cdn.example.org/x.js"></script>
    <img src="https://example.org/a.png"><img src="figures/local.svg">
    <a href="https://arxiv.org/abs/1810.04805">the BERT paper</a>
    <div style="background: url('https://example.org/b.png')"></div>
    """
    found = external_loads(html)
    assert len(found) == 4
    assert not any("arxiv" in item for item in found)


def test_no_page_loads_anything_from_another_host(built_site: Path):
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) >= 3
    offenders = {}
    for page in pages:
        found = external_loads(page.read_text(encoding="utf-8", errors="replace"))
        if found:
            offenders[str(page.relative_to(built_site))] = found
    assert not offenders, offenders


def test_no_stylesheet_loads_anything_from_another_host(built_site: Path):
    offenders = {}
    for sheet in built_site.rglob("*.css"):
        urls = [m["url"] for m in CSS_URL.finditer(sheet.read_text(errors="replace"))]
        external = [url for url in urls if is_external(url)]
        if external:
            offenders[str(sheet.relative_to(built_site))] = external
    assert not offenders, offenders


def test_promised_pages_exist(built_site: Path):
    for page in ("index.html", "testing/index.html"):
        assert (built_site / page).is_file(), page
    home = (built_site / "index.html").read_text(encoding="utf-8")
    assert "katex" in home  # math is rendered by the site's own KaTeX
    assert "fonts.googleapis" not in home
