"""The built site loads nothing from other hosts, has the pages it promises, links
only to pages it has, and keeps every page under 1 MB on first load."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent

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
    assert "katex.js" in home  # math is rendered by the site's own KaTeX, fetched on demand
    assert "fonts.googleapis" not in home


# --- links ------------------------------------------------------------------------------


def _page_url(site: Path, page: Path) -> str:
    """The URL path a built file is served at: /notebooks/quickstart/ for its index.html."""
    rel = page.relative_to(site).as_posix()
    return "/" + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)


def _local_file(site: Path, url: str) -> Path | None:
    """The file that a same-site URL path serves, or None when the site has none."""
    path = urlparse(url).path
    target = site / path.lstrip("/")
    if path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None


def test_every_relative_link_points_at_a_built_file(built_site: Path):
    """`mkdocs build --strict` checks the Markdown pages' links; this also checks the
    notebooks' (mkdocs-jupyter writes them as they are) and the views' pages."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    prefix = urlparse(re.search(r"^site_url:\s*(\S+)", config, re.M)[1]).path  # 404.html's
    broken = {}
    for page in sorted(built_site.rglob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8", errors="replace"), "html.parser")
        base = _page_url(built_site, page)
        for a in soup.find_all("a", href=True):
            href = a["href"].strip()
            if not href or href.startswith(("#", "mailto:")) or urlparse(href).scheme:
                continue
            url = urljoin(base, href)
            if url.startswith(prefix):  # absolute, below the published site's path
                url = "/" + url[len(prefix) :]
            if _local_file(built_site, url) is None:
                broken.setdefault(base, []).append(href)
    assert not broken, broken


# --- notebook pages ------------------------------------------------------------------------


def test_notebook_pages_carry_no_jupyterlab_stylesheet_and_are_styled(built_site: Path):
    notebooks = sorted((built_site / "notebooks").glob("*/index.html"))
    assert len(notebooks) >= 2
    for page in notebooks:
        text = page.read_text(encoding="utf-8")
        assert "jupyter-wrapper{" not in text.replace(" ", ""), page  # the 580 KB stylesheet
        assert "mermaid.esm" not in text and "x-mathjax-config" not in text, page
        assert 'class="jupyter-wrapper"' in text and "clipboard-copy-txt" in text
    css = (built_site / "assets" / "stylesheets" / "extra.css").read_text(encoding="utf-8")
    for selector in (".clipboard-copy-txt", ".highlight-ipynb", ".jp-OutputArea-output"):
        assert selector in css, selector


def test_the_hook_removes_only_what_mkdocs_jupyter_inlined():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from mkdocs_hooks import strip_boilerplate
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    page = (
        '<style type="text/css">\n@charset "UTF-8";.jupyter-wrapper{--md-red-50: #ffebee}</style>'
        '<style type="text/css">\n.jupyter-wrapper{--jp-shadow-base-lightness: 0}</style>'
        "<style>\n  ['pre { line-height: 125%; }\\ntd.linenos']</style>"
        '<!-- Load mathjax -->\n<script src=""> </script><!-- End of mathjax configuration -->'
        '<script type="module">\n  document.addEventListener("DOMContentLoaded", async () => {'
        '\n    const diagrams = document.querySelectorAll(".jp-Mermaid > pre.mermaid");</script>'
        '<div class="jupyter-wrapper"><style>.my-output { color: red }</style>'
        "<script>drawMyOutput()</script></div>"
    )
    stripped, removed = strip_boilerplate(page)
    assert removed == {"stylesheet": 3, "mathjax": 1, "mermaid": 1}
    assert stripped == (
        '<div class="jupyter-wrapper"><style>.my-output { color: red }</style>'
        "<script>drawMyOutput()</script></div>"
    )


# --- page weight ---------------------------------------------------------------------------

MAX_PAGE_BYTES = 1_000_000
KATEX_FILES = ("katex.min.js", "auto-render.min.js", "katex.min.css")
FETCHING_LINKS = {"stylesheet", "icon", "preload", "modulepreload", "manifest"}
FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.S)


def _references(text: str, kind: str, base: str) -> list[str]:
    """The same-site URLs that loading this HTML or CSS makes the browser fetch."""
    found = []
    if kind == "css":
        # a browser downloads a font only when text on the page uses it: fonts are left to
        # the browser test, which measures what really loads
        text = FONT_FACE.sub("", text)
        found = [m["url"] for m in CSS_URL.finditer(text)]
    else:
        soup = BeautifulSoup(text, "html.parser")
        for tag, attribute in LOADED:
            for element in soup.find_all(tag):
                value = (element.get(attribute) or "").strip()
                if attribute == "srcset" and value:  # the largest candidate, at worst
                    value = value.split(",")[-1].split()[0]
                found.append(value)
        for link in soup.find_all("link", href=True):
            if {rel.lower() for rel in link.get("rel", [])} & FETCHING_LINKS:
                found.append(link["href"])
        for element in soup.find_all(style=True):
            found += [m["url"] for m in CSS_URL.finditer(element["style"])]
        for style in soup.find_all("style"):
            found += [m["url"] for m in CSS_URL.finditer(style.get_text())]
        # Material starts its search worker on every page, and the worker loads the index
        config = soup.find("script", id="__config")
        if config is not None:
            settings = json.loads(config.get_text())
            root = settings["base"].rstrip("/")
            found += [settings["search"], root + "/search/search_index.json"]
            # docs/assets/javascripts/katex.js fetches KaTeX's stylesheet on pages with
            # maths, and its scripts only where the build left maths unrendered
            maths = soup.find_all(class_="arithmatex")
            if maths:
                found.append(f"{root}/assets/vendor/katex/katex.min.css")
            if any("katex-rendered" not in m.get("class", []) for m in maths):
                found += [f"{root}/assets/vendor/katex/{name}" for name in KATEX_FILES]
    urls = [urljoin(base, url.strip()) for url in found if url and url.strip()]
    return [url for url in urls if not urlparse(url).scheme and not url.startswith("data:")]


def page_weight(site: Path, page: Path) -> dict[str, int]:
    """Bytes per file fetched on a first load of ``page`` with an empty cache: the HTML and
    every same-site file it references, iframes and what they reference included, each
    file once."""
    files: dict[str, int] = {}
    todo = [_page_url(site, page)]
    while todo:
        url = urlparse(todo.pop()).path
        path = _local_file(site, url)
        if path is None or url in files:
            continue
        files[url] = path.stat().st_size
        if path.suffix in (".html", ".css"):
            text = path.read_text(encoding="utf-8", errors="replace")
            todo += _references(text, path.suffix[1:], url)
    return files


def test_page_weight_counts_each_shared_file_once(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "lib.js").write_text("x" * 100)
    (tmp_path / "style.css").write_text("body{background:url(bg.png)} @font-face{src:url(f.woff2)}")
    (tmp_path / "bg.png").write_bytes(b"p" * 50)
    (tmp_path / "f.woff2").write_bytes(b"f" * 1000)
    (tmp_path / "frame.html").write_text('<script src="lib.js"></script>')
    page = tmp_path / "a" / "index.html"
    page.write_text(
        '<link rel="stylesheet" href="../style.css"><script src="../lib.js"></script>'
        '<iframe src="../frame.html" loading="lazy"></iframe><img src="../missing.svg">'
        '<a href="../elsewhere.html">a link is not a load</a>'
    )
    files = page_weight(tmp_path, page)
    assert files == {
        "/a/": page.stat().st_size,
        "/style.css": (tmp_path / "style.css").stat().st_size,
        "/bg.png": 50,
        "/lib.js": 100,
        "/frame.html": (tmp_path / "frame.html").stat().st_size,
    }


def test_no_page_weighs_more_than_1_mb_on_first_load(built_site: Path):
    weights = {}
    for page in sorted(built_site.rglob("index.html")):
        files = page_weight(built_site, page)
        heaviest = sorted(files.items(), key=lambda item: -item[1])[:3]
        weights[_page_url(built_site, page)] = (sum(files.values()), len(files), heaviest)
    rows = [
        f"{url:<36} {total / 1000:8.1f} KB  {count:3d} files  largest: "
        + ", ".join(f"{name} {size / 1000:.0f}" for name, size in heaviest)
        for url, (total, count, heaviest) in sorted(weights.items(), key=lambda kv: -kv[1][0])
    ]
    table = "first-load weight per page (fonts not counted):\n" + "\n".join(rows)
    print(table)
    report = ROOT / "build" / "page-weights.txt"
    report.parent.mkdir(exist_ok=True)
    report.write_text(table + "\n", encoding="utf-8")
    heavy = [url for url, (total, _, _) in weights.items() if total > MAX_PAGE_BYTES]
    assert not heavy, f"pages over {MAX_PAGE_BYTES:,} bytes: {heavy}\n{table}"


def _hooks():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import mkdocs_hooks
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return mkdocs_hooks


def test_the_hook_renders_maths_at_build_time_and_fails_on_bad_tex():
    import shutil

    if shutil.which("node") is None or not (ROOT / "node_modules" / "katex").is_dir():
        pytest.skip("needs node and node_modules/katex (npm ci)")
    hooks = _hooks()
    page = (
        '<p><span class="arithmatex">\\(T \\times d\\)</span></p>'
        '<div class="arithmatex">\\[\nQ = X W_Q\n\\]</div>'
    )
    html = hooks.render_maths(page)
    assert html.count('class="arithmatex katex-rendered"') == 2
    assert 'class="katex-display"' in html and "\\(" not in html and "<math" in html
    with pytest.raises(RuntimeError, match=r"page\.md: KaTeX could not render"):
        hooks.render_maths('<span class="arithmatex">\\(\\frac{1\\)</span>', "page.md")


# --- the glossary ------------------------------------------------------------------------

# terms of both halves of the guide that the glossary must define
GLOSSARY_TERMS = {
    "wordpiece",
    "mlm",
    "nsp",
    "head",
    "softmax",
    "logits",
    "fine-tuning",
    "distillation",
    "albert",
    "roberta",
    "electra",
    "spanbert",
    "distilbert",
    "whole-word-masking",
    "dynamic-masking",
    "span-masking",
    "adamw",
    "warmup",
    "kl-divergence",
    "tf-idf",
    "temperature",
    "top-k",
    "perplexity",
    "zero-shot",
    "rlhf",
    "kv-cache",
}


def test_the_glossary_anchors_every_term_and_pages_link_their_first_use(built_site: Path):
    soup = BeautifulSoup(
        (built_site / "glossary" / "index.html").read_text(encoding="utf-8"), "html.parser"
    )
    ids = [dt.get("id") for dt in soup.select("article dl dt")]
    assert None not in ids and len(ids) == len(set(ids)), ids
    assert GLOSSARY_TERMS <= set(ids), GLOSSARY_TERMS - set(ids)
    linking = {}
    for page in sorted(built_site.rglob("index.html")):
        html = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        anchors = [a["href"].split("#", 1)[1] for a in html.select("article a.bg-term")]
        assert len(anchors) == len(set(anchors)), (page, anchors)  # first use only
        assert set(anchors) <= set(ids), (page, set(anchors) - set(ids))
        if anchors:
            linking[page.parent.name] = anchors
    assert len(linking) >= 15, sorted(linking)
    assert {"albert", "roberta", "electra"} <= set(linking["family"])
    assert "glossary" not in linking


def test_the_table_of_contents_shows_no_raw_tex(built_site: Path):
    soup = BeautifulSoup(
        (built_site / "attention" / "index.html").read_text(encoding="utf-8"), "html.parser"
    )
    titles = [a.get_text(" ", strip=True) for a in soup.select("nav a.md-nav__link")]
    assert "Why divide by √d_k?" in titles
    assert not [t for t in titles if "\\" in t], titles


def test_a_glossary_term_is_linked_once_in_running_text_only():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import glossary_links
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    terms = [("nsp", re.compile(r"(?<![\w-])(?:NSP)(?![\w-])"))]
    html = (
        "<h2>NSP</h2><p><code>NSP</code> and <a href='x'>NSP</a>, then NSP, NSP again "
        "and NSPs</p><li>NSP</li>"
    )
    linked = glossary_links.link_terms(html, terms, "../glossary/")
    assert linked.count('class="bg-term"') == 1
    assert 'then <a class="bg-term" href="../glossary/#nsp"' in linked
    assert linked.startswith("<h2>NSP</h2><p><code>NSP</code>")
