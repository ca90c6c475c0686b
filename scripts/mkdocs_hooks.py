"""MkDocs hooks (mkdocs.yml ``hooks:``): light pages, and a guide to take away.

Three jobs keep what a reader downloads small:

* maths is rendered to HTML at build time by KaTeX (``render_maths``), so a page
  carries KaTeX's stylesheet but not its 270 KB of JavaScript;
* the API reference pages stay out of the search index (every page loads the index),
  and so do the pages' code blocks (a third of the index; ``exclude_code_from_search``);
* notebook pages lose the JupyterLab stylesheet mkdocs-jupyter inlines (below).

Two let a reader take the guide away:

* every chapter (the Markdown pages of the nav's "Chapters") gets, under its title, a
  link to itself as a notebook and one that opens that notebook in Colab; the
  notebooks are written into the built site's ``notebooks/`` (``scripts/
  chapter_notebooks.py`` makes them; Colab opens the repository's committed copy at
  the release tag ``v`` + the package's version, so the notebook it opens is this
  page's and installs the package this site was built from); the notebook pages (the
  Quickstart) get the same line, for their own notebook;
* the footer says which versions of bertguide, torch and transformers the build ran
  every example with (``config.extra.tested_with``, shown by ``overrides/partials/
  copyright.html``); bertguide's is ``bertguide/version.py``'s, and the build stops
  if the installed package says otherwise.

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
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import chapter_notebooks  # noqa: E402  (scripts/ is on the path first)

TESTED_PACKAGES = ("bertguide", "torch", "transformers")

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
        # KaTeX writes each formula twice, as MathML (with its TeX source) for screen
        # readers and as HTML for the eye: the search index keeps only what a reader
        # sees, so an excerpt reads "step t" and not "step ttt" or "\sqrt{d_k}"
        shown = next(rendered).replace(
            '<span class="katex-mathml">', '<span class="katex-mathml" data-search-exclude>'
        )
        return f'<{tag} class="arithmatex katex-rendered">{shown}</{tag}>'

    return MATHS.sub(replace, html)


def tested_with() -> str:
    """The footer's line: the versions this build runs every example with."""
    version = chapter_notebooks.package_version()
    installed = importlib.metadata.version("bertguide")
    if installed != version:
        raise RuntimeError(
            f"bertguide/version.py says {version} but the installed package is {installed}: "
            "reinstall it (`make install`) so that the footer names the code that ran"
        )
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in TESTED_PACKAGES)
    return f"Every example on this page ran with {versions}."


def on_config(config):
    """The footer's versions, and which pages are chapters (they get a notebook)."""
    config.extra["tested_with"] = tested_with()
    # a chapter the nav lists but docs/ lacks: MkDocs itself says so (and --strict stops)
    config.extra["chapters"] = [
        page
        for page in chapter_notebooks.chapter_pages(config.nav)
        if (Path(config.docs_dir) / page).is_file()
    ]
    return config


def github_repository(config) -> str:
    """``owner/name`` from ``repo_url``."""
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)/?", config.repo_url or "")
    if match is None:
        raise RuntimeError(
            f"mkdocs.yml: the chapters' Colab links need repo_url on github.com, got "
            f"{config.repo_url!r}"
        )
    return match[1]


def release_tag() -> str:
    """The git tag of the release this site documents: ``v`` + the package's version."""
    return f"v{chapter_notebooks.package_version()}"


def _icon(name: str) -> str:
    """One of Material's bundled SVG icons, inline (as its :material-...: emoji gives)."""
    import material

    path = Path(material.__file__).parent / "templates" / ".icons" / f"{name}.svg"
    return f'<span class="twemoji">{path.read_text(encoding="utf-8").strip()}</span>'


def take_away_line(page_url: str, source: str, config) -> str:
    """The HTML line under a chapter's title: the notebook, and the notebook in Colab."""
    name = chapter_notebooks.notebook_name(source)
    up = "../" * page_url.count("/")  # from the page's folder to the site's root
    repository, tag = github_repository(config), release_tag()
    colab = f"https://colab.research.google.com/github/{repository}/blob/{tag}/notebooks/{name}"
    return (
        '<p class="bertguide-take-away"><small>'
        f'<a href="{up}notebooks/{name}" download>{_icon("material/download")} '
        "Download this chapter as a notebook</a> · "
        f'<a href="{colab}">{_icon("simple/googlecolab")} Open in Colab</a></small></p>'
    )


TEST_MARKERS = ("<!-- invisible-code-block:", "<!-- skip:", "<!-- wheel-check:")


def without_test_markers(markdown: str) -> str:
    r"""The page without the tests' hidden blocks and markers (HTML comments a reader
    never sees, which would still be downloaded); fenced code is left as it is.

    >>> without_test_markers("a\n<!-- invisible-code-block: python\nx = 1\n-->\nb")
    'a\nb'
    """
    kept, fence, hidden = [], None, False
    for line in markdown.splitlines(keepends=True):
        stripped = line.lstrip()
        if hidden:
            hidden = "-->" not in line
            continue
        if fence is None and stripped.startswith(TEST_MARKERS):
            hidden = "-->" not in line
            continue
        if stripped.startswith(("```", "~~~")):
            mark = stripped[:3]
            fence = mark if fence is None else (None if mark == fence else fence)
        kept.append(line)
    return "".join(kept)


def on_page_markdown(markdown, page, config, files):
    markdown = without_test_markers(markdown)
    if page.file.src_uri.startswith("api/"):
        page.meta["search"] = {"exclude": True}  # the reference is in the nav, not in search
    if page.file.src_uri in config.extra["chapters"]:
        line = take_away_line(page.url, page.file.src_uri, config)
        title = re.search(r"^# .*$", markdown, re.M)
        if title is None:
            raise RuntimeError(f"{page.file.src_uri}: a chapter without a '# ' title line")
        markdown = f"{markdown[: title.end()]}\n\n{line}\n{markdown[title.end() :]}"
    return markdown


def on_files(files, config):
    """Stop the build where a chapter's notebook would overwrite a published file."""
    for source in config.extra["chapters"]:
        target = f"notebooks/{chapter_notebooks.notebook_name(source)}"
        clash = [f.src_uri for f in files if f.dest_uri == target]
        if clash:  # e.g. a notebook of docs/notebooks/ published under that name
            raise RuntimeError(f"{source}'s notebook and {clash[0]} would both be {target}")
    return files


def on_post_build(config):
    """Each chapter's notebook into the site's notebooks/ folder."""
    folder = Path(config.site_dir) / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    sybil = chapter_notebooks.make_sybil(path=config.docs_dir)
    for source in config.extra["chapters"]:
        target = folder / chapter_notebooks.notebook_name(source)
        notebook = chapter_notebooks.page_notebook(
            Path(config.docs_dir) / source, config.site_url or "/", sybil
        )
        target.write_text(chapter_notebooks.notebook_text(notebook), encoding="utf-8")


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


def exclude_code_from_search(html: str) -> str:
    """Every highlighted code block marked ``data-search-exclude`` (Material's search
    skips it, then removes the attribute): prose and inline code stay searchable. So are
    the exercises' solutions (``??? success``): a search finds the exercise, and does
    not show its answer in an excerpt."""
    html = html.replace(
        '<details class="success">', '<details class="success" data-search-exclude>'
    )
    return html.replace(
        '<div class="highlight">', '<div class="highlight" data-search-exclude="code">'
    )


def notebook_take_away(html: str, source: str, config) -> str:
    """A notebook page's line under its title, as a chapter's: the notebook itself (the
    copy mkdocs-jupyter publishes beside the page) and the repository's copy in Colab."""
    name = Path(source).name
    repository, tag = github_repository(config), release_tag()
    docs = Path(config.docs_dir).resolve().relative_to(ROOT).as_posix()
    colab = f"https://colab.research.google.com/github/{repository}/blob/{tag}/{docs}/{source}"
    line = (
        '<p class="bertguide-take-away"><small>'
        f'<a href="{name}" download>{_icon("material/download")} '
        "Download this notebook</a> · "
        f'<a href="{colab}">{_icon("simple/googlecolab")} Open in Colab</a></small></p>'
    )
    return re.sub(r"(</h1>)", lambda m: m[1] + line, html, count=1)


INLINE_TEX = re.compile(r"\\\((?P<tex>.*?)\\\)")


def plain_tex(tex: str) -> str:
    """A heading's inline maths as the table of contents can show it, in plain text:
    ``\\sqrt{d_k}`` -> ``√d_k`` (the heading itself is rendered by KaTeX)."""
    tex = re.sub(r"\\sqrt\{([^{}]*)\}", "√\\1", tex)
    tex = re.sub(r"\\(?:mathrm|text|operatorname)\{([^{}]*)\}", "\\1", tex)
    return re.sub(r"[{}\\]", "", tex).strip()


def plain_toc(items) -> None:
    """The table of contents' titles without raw TeX (``Why divide by \\(\\sqrt{d_k}\\)?``)."""
    for item in items:
        item.title = INLINE_TEX.sub(lambda m: plain_tex(m["tex"]), item.title)
        plain_toc(item.children)


def on_page_content(html, page, config, files):
    plain_toc(page.toc)
    html = render_maths(html, page.file.src_uri)
    if not page.file.src_uri.endswith(".ipynb"):
        return exclude_code_from_search(html)
    html = notebook_take_away(html, page.file.src_uri, config)
    html, removed = strip_boilerplate(html)
    missing = [name for name, count in removed.items() if count == 0]
    if missing or "jupyter-wrapper{" in html.replace(" ", ""):
        raise RuntimeError(
            f"{page.file.src_uri}: mkdocs-jupyter's inlined {missing or 'stylesheet'} not "
            "found where scripts/mkdocs_hooks.py expects it; update BOILERPLATE there"
        )
    return html
