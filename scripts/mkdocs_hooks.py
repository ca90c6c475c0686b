"""MkDocs hooks (mkdocs.yml ``hooks:``): light pages.

Three jobs, each keeping what a reader downloads small:

* maths is rendered to HTML at build time by KaTeX (``render_maths``), so a page
  carries KaTeX's stylesheet but not its 270 KB of JavaScript;
* the API reference pages stay out of the search index (every page loads the index);
* notebook pages lose the JupyterLab stylesheet mkdocs-jupyter inlines (below).

Notebook pages without an inlined JupyterLab.

mkdocs-jupyter writes into every notebook page JupyterLab's whole stylesheet (about
590 KB: its template inlines it, and no plugin option leaves it out) and nbconvert's
MathJax and Mermaid loaders (MathJax with an empty URL, so it never runs; Mermaid would
import itself from a CDN). This hook removes those blocks; docs/assets/stylesheets/
extra.css styles the few classes a notebook page uses, with Material's own colours, so
notebook cells look like the chapters' code blocks in light and dark mode.

Only the blocks mkdocs-jupyter writes are removed, recognised by how they start: a
notebook output's own <style> or <script> stays. A notebook page without them means
mkdocs-jupyter changed: the build stops and says so.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# pymdownx.arithmatex (generic mode) leaves \( ... \) in a span and \[ ... \] in a div
MATHS = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">\s*'
    r"\\(?P<open>[\(\[])(?P<tex>.*?)\\[\)\]]\s*</(?P=tag)>",
    re.S,
)
KATEX_SCRIPT = """
const katex = require("katex");
const items = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = items.map(([tex, display]) =>
  katex.renderToString(tex, { displayMode: display, throwOnError: true })
);
process.stdout.write(JSON.stringify(out));
"""


def render_maths(html: str, where: str = "a page") -> str:
    """Every arithmatex span and div of ``html`` rendered by KaTeX (node, node_modules)."""
    found = list(MATHS.finditer(html))
    if not found:
        return html
    items = [[html_lib.unescape(m["tex"]).strip(), m["open"] == "["] for m in found]
    try:
        result = subprocess.run(
            ["node", "-e", KATEX_SCRIPT],
            input=json.dumps(items),
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or error
        raise RuntimeError(f"{where}: KaTeX could not render its maths: {detail}") from error
    rendered = iter(json.loads(result.stdout))

    def replace(match: re.Match) -> str:
        tag = match["tag"]
        return f'<{tag} class="arithmatex katex-rendered">{next(rendered)}</{tag}>'

    return MATHS.sub(replace, html)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri.startswith("api/"):
        page.meta["search"] = {"exclude": True}  # the reference is in the nav, not in search
    return markdown


BOILERPLATE = {
    # JupyterLab's stylesheet and its light theme, the Pygments colours (twice, once as
    # the repr of a Python list) and Mermaid's styles
    "stylesheet": re.compile(
        r"<style[^>]*>\s*(?:@charset \"UTF-8\";)?\s*"
        r"(?:\.jupyter-wrapper\s*\{|\[?'?pre \{ line-height: 125%; \}|\.jp-Mermaid)"
        r".*?</style>",
        re.S,
    ),
    "mathjax": re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S),
    "mermaid": re.compile(
        r"<script type=\"module\">\s*document\.addEventListener\(\"DOMContentLoaded\", "
        r"async \(\) => \{\s*const diagrams = document\.querySelectorAll\(\"\.jp-Mermaid.*?"
        r"</script>",
        re.S,
    ),
}


def strip_boilerplate(html: str) -> tuple[str, dict[str, int]]:
    """``html`` without mkdocs-jupyter's inlined blocks, and how many of each it held."""
    removed = {}
    for name, pattern in BOILERPLATE.items():
        html, removed[name] = pattern.subn("", html)
    return html, removed


def on_page_content(html, page, config, files):
    html = render_maths(html, page.file.src_uri)
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    html, removed = strip_boilerplate(html)
    missing = [name for name, count in removed.items() if count == 0]
    if missing or "jupyter-wrapper{" in html.replace(" ", ""):
        raise RuntimeError(
            f"{page.file.src_uri}: mkdocs-jupyter's inlined {missing or 'stylesheet'} not "
            "found where scripts/mkdocs_hooks.py expects it; update BOILERPLATE there"
        )
    return html
