"""Each page of the guide as a Jupyter notebook: its prose and its code, in order.

The code cells are the page's visible blocks exactly as the docs tests read them
(``tests/docs_testing.py``'s Sybil parsers), in page order: Python fences at any
indentation (the solutions inside ``??? success`` boxes included), each ``>>>``
example of a ``pycon`` fence as a cell of its own, and each ``$ bertguide ...`` line
of a ``console`` fence as a ``!bertguide ...`` cell. Left out, as a reader never sees
them run: hidden ``invisible-code-block`` blocks, fences under ``skip: next`` and
fences under ``wheel-check: skip`` (those two stay in the notebook as shown code).

The prose between blocks becomes Markdown cells: admonitions turn into a bold title
and their text, links and pictures point at the published site, KaTeX maths is
written with ``$`` delimiters, the ``text`` block that shows a cell's output is
dropped (the cell prints it), and the interactive views and inlined diagrams become
links to the page. Raw HTML is kept as written; footnotes and abbreviations are not
converted.

The first cell installs exactly the package's version (``bertguide/version.py``) where
it is missing or another version is installed (Colab, a fresh virtual environment),
does nothing where that version is installed, and says how to install the wheel from a
file on a machine without a network. The notebooks carry no outputs
and no timestamps, so a page always gives the same bytes.

The MkDocs hook (``scripts/mkdocs_hooks.py``) writes the chapters' notebooks into the
built site; ``notebooks/`` in the repository holds the same files, so that Colab can
open them from GitHub (it opens notebooks from GitHub, Gists and Drive, not from any
URL). ``scripts/check_wheel.py`` executes every page's notebook in a fresh kernel.

    python scripts/chapter_notebooks.py            # rewrite notebooks/ from the pages
    python scripts/chapter_notebooks.py --check    # exit 1 when notebooks/ is stale
"""

from __future__ import annotations

import argparse
import ast
import doctest
import posixpath
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402  (the repository root is on the path first)

from tests.docs_testing import (  # noqa: E402
    AUDITED_LANGUAGES,
    ConsoleEvaluator,
    find_python_fences,
    make_sybil,
    wheel_check_skip,
)

DOCS = ROOT / "docs"
NOTEBOOKS = ROOT / "notebooks"  # the committed copy Colab opens
CHAPTERS_SECTION = "Chapters"  # the nav section whose Markdown pages get a notebook

VERSION_FILE = ROOT / "bertguide" / "version.py"  # the one place the version is written

INSTALL_CELL = """\
# The chapter runs with bertguide {version}: this installs exactly that version
# where it is missing or another one is (Colab, a fresh environment).
# Without a network: copy bertguide-{version}-py3-none-any.whl (from PyPI, or built
# with `python -m build`) next to the notebook and run instead
#   %pip install --no-index --find-links . bertguide=={version}
# (torch and the other dependencies must be installed already, or lie there too).
import importlib.metadata

try:
    _installed = importlib.metadata.version("bertguide")
except importlib.metadata.PackageNotFoundError:
    _installed = None
if _installed != "{version}":
    %pip install --quiet bertguide=={version}"""


def package_version(path: Path = VERSION_FILE) -> str:
    """``__version__`` of ``bertguide/version.py``, read as setuptools reads it for the
    wheel: from the file, without importing the package (and torch with it)."""
    for node in ast.parse(Path(path).read_text(encoding="utf-8")).body:
        names = [getattr(target, "id", None) for target in getattr(node, "targets", [])]
        if isinstance(node, ast.Assign) and names == ["__version__"]:
            return ast.literal_eval(node.value)
    raise RuntimeError(f"{path} assigns no __version__")


def install_cell(version: str | None = None) -> str:
    """The first cell of every notebook: install bertguide ``version`` (the package's own
    by default) unless exactly that version is installed."""
    return INSTALL_CELL.format(version=version or package_version())


# --- the blocks a reader sees ---------------------------------------------------------


@dataclass
class Block:
    """One piece of code a reader runs: a fence, or one ``>>>`` example of a fence."""

    number: int  # the fence's number among the page's Python-looking fences, from 1
    line: int  # the line of the fence in the Markdown source
    kind: str  # "python", "pycon" or "console"
    source: str


@dataclass
class PassedOver:
    """A fence under ``<!-- wheel-check: skip "reason" -->``."""

    number: int
    line: int
    reason: str


def visible_blocks(page: Path, sybil=None) -> tuple[list[Block], list[PassedOver], int]:
    """The blocks of ``page`` a reader sees, in order; the ones passed over; and how many
    fences the docs tests' ``skip`` markers leave out.

    Blocks come from the docs tests' own parser, so both checks see the same code;
    hidden blocks (``invisible-code-block``) are dropped.
    """
    page = Path(page)
    sybil = sybil or make_sybil(path=str(page.parent))
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    fences = find_python_fences(text)

    def fence_of(offset: int) -> tuple[int, int]:
        line = text.count("\n", 0, offset) + 1
        for number, fence in enumerate(fences, start=1):
            if fence.line <= line <= fence.end:
                return number, fence.line
        raise ValueError(f"{page}:{line}: a visible block outside any fence the audit sees")

    blocks: list[Block] = []
    passed_over: dict[int, PassedOver] = {}
    skipped: set[int] = set()
    skipping = skip_next = False
    regions = sorted((region for _, region in sybil.parse(page).regions), key=_start)
    for region in regions:
        if type(region.evaluator).__name__ == "Skipper":
            action = region.parsed[0]
            skip_next = action == "next"
            skipping = action == "start" or (skipping and action != "end")
            continue
        hidden = "directive" in region.lexemes  # an invisible-code-block comment
        if skip_next or skipping:
            skip_next = False
            if not hidden:
                skipped.add(fence_of(region.start)[0])
            continue
        if hidden:
            continue
        number, line = fence_of(region.start)
        reason = wheel_check_skip(lines, line)
        if reason is not None:
            passed_over[number] = PassedOver(number, line, reason)
        elif isinstance(region.parsed, doctest.Example):
            blocks.append(Block(number, line, "pycon", region.parsed.source))
        elif isinstance(region.evaluator, ConsoleEvaluator):
            blocks.append(Block(number, line, "console", str(region.parsed)))
        else:
            blocks.append(Block(number, line, "python", str(region.parsed)))
    return blocks, list(passed_over.values()), len(skipped)


def _start(region) -> int:
    return region.start


def console_commands(source: str) -> list[tuple[str, list[str]]]:
    """``[(command, lines printed under it)]`` of a console block's ``$ `` lines."""
    commands: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
    return commands


def console_cell(command: str, expected: list[str]) -> str:
    """A console command as a notebook cell; one the page shows failing prints its exit
    code the way the page does (``[exit 2]``)."""
    if re.search(r"[{}$]", command):
        raise ValueError(
            f"the console command {command!r} has $, {{ or }}, which IPython would expand: "
            "quote it differently on the page"
        )
    fails = bool(expected) and re.fullmatch(r"\[exit \d+\]", expected[-1].strip()) is not None
    return f'!{command} || echo "[exit $?]"' if fails else f"!{command}"


# --- the prose ------------------------------------------------------------------------

_FENCE = re.compile(
    r"^(?P<indent>(?:[ \t]*>)*[ \t]*(?:(?:[-*+]|\d+[.)])[ \t]+)?)"
    r"(?P<fence>`{3,}|~{3,})[ \t]*\{?\.?(?P<language>[\w+-]*)"
)
_ADMONITION = re.compile(
    r"^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?|===)[ \t]*(?P<kind>[\w-]*)[^\"\n]*"
    r"(?:\"(?P<title>[^\"]*)\")?[ \t]*$"
)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
# [text](url) and ![alt](url); the text may hold [brackets] one level deep ([CLS])
_LINK = re.compile(
    r"(?P<lead>!?\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]\()(?P<url>[^)\s]+)(?P<rest>[^)]*\))"
)
_ATTRIBUTE = re.compile(r"(?P<name>\b(?:src|href))=\"(?P<url>[^\"]+)\"")
_ATTR_LIST = re.compile(r"(?<=[)\]#\w])[ \t]*\{:?[ \t]*[.#][^}\n]*\}")
_IFRAME = re.compile(r"<iframe\b(?P<attributes>[^>]*)>\s*</iframe>", re.S)
_TITLE = re.compile(r"\btitle=\"(?P<title>[^\"]*)\"")
_SNIPPET = re.compile(r"^[ \t]*--8<--.*$", re.M)
_FENCED = re.compile(r"^[ \t]*(`{3,}|~{3,}).*?^[ \t]*\1[ \t]*$", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.S)


@dataclass
class _Fence:
    start: int  # 1-based line of the opening fence
    end: int  # 1-based line of the closing fence
    language: str


def _fences(lines: list[str]) -> list[_Fence]:
    """Every fenced block of a page, any language, found line by line."""
    found: list[_Fence] = []
    opened: tuple[str, _Fence] | None = None
    for number, line in enumerate(lines, start=1):
        match = _FENCE.match(line)
        if match is None:
            continue
        fence, rest = match["fence"], line[match.end("fence") :].strip()
        if opened is not None:
            if fence[0] == opened[0][0] and len(fence) >= len(opened[0]) and not rest:
                opened[1].end = number
                opened = None
            continue
        current = _Fence(number, len(lines), match["language"].lower())
        found.append(current)
        opened = (fence, current)
    return found


def _unwrap_admonitions(lines: list[str]) -> list[str]:
    """Admonitions and content tabs as a bold title and their text, dedented; one output
    line per input line, so line numbers stay those of the page."""
    out: list[str] = []
    open_at: list[int] = []  # the indent of each open admonition's header
    for line in lines:
        if not line.strip():
            out.append("")
            continue
        indent = len(line) - len(line.lstrip())
        while open_at and indent < open_at[-1] + 4:
            open_at.pop()
        shifted = line[4 * len(open_at) :] if open_at else line
        match = _ADMONITION.match(shifted)
        if match:
            title = match["title"] if match["title"] is not None else match["kind"].title()
            out.append(f"{match['indent']}**{title}**" if title else "")
            open_at.append(indent)
        else:
            out.append(shifted)
    return out


def site_link(url: str, source: str, site_url: str, page_url: str) -> str:
    """A link of the page ``source`` (``tokenization.md``) as an absolute URL on the site.

    Markdown links are relative to the source file; ``page_url`` (``tokenization/``) is
    what the raw HTML links are relative to, and is passed as ``source=None``.
    """
    parsed = urlparse(url)
    if parsed.scheme or url.startswith(("#", "/", "mailto:")):
        return url if not url.startswith("#") else f"{site_url}{page_url}{url}"
    path, _, anchor = url.partition("#")
    if source is None:
        target = posixpath.normpath(posixpath.join(page_url, path))
    else:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
        if target.endswith((".md", ".ipynb")):  # a page: where the site serves it
            target = page_url_of(target)
    target = "" if target == "." else target
    return f"{site_url}{target}" + (f"#{anchor}" if anchor else "")


def _outside(pattern: re.Pattern, text: str, change) -> str:
    """``change`` applied to the parts of ``text`` that ``pattern`` does not match."""
    parts, position = [], 0
    for match in pattern.finditer(text):
        parts += [change(text[position : match.start()]), match.group()]
        position = match.end()
    return "".join([*parts, change(text[position:])])


def _view_title(iframe: re.Match) -> str:
    title = _TITLE.search(iframe["attributes"])
    return title["title"] if title else "An interactive view"


def markdown_cell_text(text: str, source: str, site_url: str, page_url: str) -> str:
    """Page Markdown as notebook Markdown (see the module docstring); "" when empty."""
    text = _COMMENT.sub("", text)

    def maths(part: str) -> str:  # outside code spans
        part = re.sub(r"\\\((.+?)\\\)", r"$\1$", part, flags=re.S)
        return re.sub(r"\\\[(.+?)\\\]", r"$$\1$$", part, flags=re.S)

    def prose(part: str) -> str:  # outside fenced blocks
        part = _IFRAME.sub(
            lambda m: f"[{_view_title(m)} (on the page)]({site_url}{page_url})", part
        )
        part = _SNIPPET.sub(f"[The diagram is on the page.]({site_url}{page_url})", part)
        part = _LINK.sub(
            lambda m: m["lead"] + site_link(m["url"], source, site_url, page_url) + m["rest"],
            part,
        )
        part = _ATTRIBUTE.sub(
            lambda m: f'{m["name"]}="{site_link(m["url"], None, site_url, page_url)}"', part
        )
        return _outside(_CODE_SPAN, _ATTR_LIST.sub("", part), maths)

    text = _outside(_FENCED, text, prose)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# --- the notebook ---------------------------------------------------------------------


def page_url_of(source: str) -> str:
    """The URL path of a page below the site (``api/model.md`` -> ``api/model/``)."""
    stem = source.rsplit(".", 1)[0]
    return "" if stem == "index" else stem.removesuffix("/index") + "/"


def page_notebook(page: Path, site_url: str, sybil=None) -> nbformat.NotebookNode:
    """The notebook of one page: the install cell, then its prose and code in order."""
    page = Path(page)
    if not site_url.endswith("/"):
        raise ValueError(f"site_url must end with '/', got {site_url!r}")
    source = page.relative_to(DOCS).as_posix() if page.is_relative_to(DOCS) else page.name
    page_url = page_url_of(source)
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks, _, _ = visible_blocks(page, sybil)
    by_fence: dict[int, list[Block]] = {}
    for block in blocks:
        by_fence.setdefault(block.number, []).append(block)
    fences = _fences(lines)
    python_fences = [f for f in fences if f.language in AUDITED_LANGUAGES]
    audited = [f.line for f in find_python_fences("\n".join(lines))]
    if [f.start for f in python_fences] != audited:  # the two scanners must agree
        raise RuntimeError(f"{page}: fences found at {audited} and at other lines here")
    prose = _unwrap_admonitions(lines)

    title = next((line[2:].strip() for line in lines if line.startswith("# ")), page.stem)
    cells = [
        nbformat.v4.new_code_cell(install_cell()),
        nbformat.v4.new_markdown_cell(
            f"*This notebook is the page [{title}]({site_url}{page_url}) of "
            f"[bertguide]({site_url}): its text, and its code in the order the page runs "
            "it. Run the cells from the top. The pictures and interactive views are on "
            "the page.*"
        ),
    ]
    pending: list[str] = []  # Markdown lines not yet in a cell

    def flush() -> None:
        text = markdown_cell_text("\n".join(pending), source, site_url, page_url)
        if text:
            cells.append(nbformat.v4.new_markdown_cell(text))
        pending.clear()

    position, ran_last = 0, False  # position: 0-based index of the next line to place
    for fence in fences:
        between = prose[position : fence.start - 1]
        if fence.language in AUDITED_LANGUAGES:
            number = python_fences.index(fence) + 1
            pending += between
            if number in by_fence:
                flush()
                cells += [cell for block in by_fence[number] for cell in code_cells(block)]
                ran_last = True
            else:  # skipped on the page: shown, not run
                pending += prose[fence.start - 1 : fence.end]
                ran_last = False
        elif (
            fence.language == "text"
            and ran_last
            and not _COMMENT.sub("", "\n".join(between)).strip()
        ):
            pending += between  # the output of the cell above: the cell prints it
            ran_last = False
        else:
            pending += between + prose[fence.start - 1 : fence.end]
            ran_last = False
        position = fence.end
    pending += prose[position:]
    flush()

    notebook = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"  # fixed ids: the same page gives the same bytes
    nbformat.validate(notebook)
    return notebook


def code_cells(block: Block) -> list[nbformat.NotebookNode]:
    """A block's cells: its code, or one ``!bertguide ...`` cell per console command."""
    if block.kind != "console":
        return [nbformat.v4.new_code_cell(block.source.rstrip("\n"))]
    return [
        nbformat.v4.new_code_cell(console_cell(command, expected))
        for command, expected in console_commands(block.source)
    ]


def notebook_text(notebook: nbformat.NotebookNode) -> str:
    """The notebook as the file holds it (nbformat's own JSON layout, newline-ended)."""
    return nbformat.writes(notebook) + "\n"


def chapter_pages(nav: list) -> list[str]:
    """The Markdown pages (paths under docs/) of the ``Chapters`` section of ``nav``."""
    for entry in nav or []:
        if isinstance(entry, dict) and CHAPTERS_SECTION in entry:
            return [page for page in _nav_files(entry[CHAPTERS_SECTION]) if page.endswith(".md")]
    raise ValueError(f"mkdocs.yml's nav has no {CHAPTERS_SECTION!r} section")


def _nav_files(items) -> list[str]:
    if isinstance(items, str):
        return [items]
    if isinstance(items, dict):
        return [page for value in items.values() for page in _nav_files(value)]
    return [page for item in items or [] for page in _nav_files(item)]


def notebook_name(source: str) -> str:
    """``tokenization.md`` -> ``tokenization.ipynb`` (the file under notebooks/)."""
    return source.rsplit(".", 1)[0].replace("/", "-") + ".ipynb"


def chapter_notebooks(config_file: Path = ROOT / "mkdocs.yml") -> dict[str, str]:
    """``{file name: notebook text}`` for every chapter of the site's nav."""
    config = read_config(config_file)
    sybil = make_sybil(path=str(DOCS))
    missing = [page for page in chapter_pages(config["nav"]) if not (DOCS / page).is_file()]
    if missing:
        raise FileNotFoundError(f"{config_file}'s nav lists {missing}, which docs/ lacks")
    return {
        notebook_name(page): notebook_text(page_notebook(DOCS / page, config["site_url"], sybil))
        for page in chapter_pages(config["nav"])
    }


def read_config(config_file: Path) -> dict:
    """site_url and nav of mkdocs.yml (its ``!!python/name`` tags are not needed here)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    config = yaml.load(Path(config_file).read_text(encoding="utf-8"), Loader=Loader)
    return {"site_url": config["site_url"].rstrip("/") + "/", "nav": config["nav"]}


def stale(folder: Path = NOTEBOOKS) -> list[str]:
    """The files of ``folder`` that differ from the pages, are missing or are left over."""
    wanted = chapter_notebooks()
    present = {path.name for path in Path(folder).glob("*.ipynb")}
    problems = [f"{name} is missing" for name in sorted(wanted.keys() - present)]
    problems += [f"{name} has no chapter" for name in sorted(present - wanted.keys())]
    problems += [
        f"{name} differs from its page"
        for name in sorted(wanted.keys() & present)
        if (Path(folder) / name).read_text(encoding="utf-8") != wanted[name]
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is stale")
    parser.add_argument("--out", type=Path, default=NOTEBOOKS, help="default: notebooks/")
    args = parser.parse_args(argv)
    try:
        return _write_or_check(args)
    except FileNotFoundError as error:
        print(f"chapter_notebooks: {error}", file=sys.stderr)
        return 2


def _write_or_check(args) -> int:
    if args.check:
        problems = stale(args.out)
        for problem in problems:
            print(f"{args.out}: {problem}")
        return 1 if problems else 0
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = chapter_notebooks()
    for path in args.out.glob("*.ipynb"):
        if path.name not in wanted:
            path.unlink()
    for name, text in wanted.items():
        (args.out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(wanted)} notebooks into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
