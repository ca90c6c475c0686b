"""Taking the guide away: each chapter as a notebook (downloadable, and openable in Colab
from the repository's committed copy), an edit link on every page, and the versions
every example ran with in every page's footer."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path
from textwrap import dedent

import nbformat
import pytest
from bs4 import BeautifulSoup

import bertguide

ROOT = Path(__file__).resolve().parent.parent
SITE_URL = "https://bertguide.github.io/bertguide/"
# Colab opens the notebooks of the release the site was built from
COLAB = (
    "https://colab.research.google.com/github/bertguide/bertguide/blob/"
    f"v{bertguide.__version__}/notebooks/"
)


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


chapter_notebooks = _script("chapter_notebooks")


def _chapters() -> list[str]:
    return chapter_notebooks.chapter_pages(
        chapter_notebooks.read_config(ROOT / "mkdocs.yml")["nav"]
    )


# --- the notebooks ----------------------------------------------------------------------


def test_the_committed_notebooks_are_the_chapters_as_they_are_now():
    """Colab opens notebooks/ on GitHub: it must be what the pages give today."""
    problems = chapter_notebooks.stale()
    assert not problems, (
        "notebooks/ is stale; rewrite it with `.venv/bin/python scripts/chapter_notebooks.py`"
        f" and commit it: {problems}"
    )


def test_the_chapters_are_the_markdown_pages_of_the_chapters_section():
    nav = [
        {"Home": "index.md"},
        {"Chapters": [{"A": "a.md"}, {"Nb": "notebooks/x.ipynb"}, {"Sub": [{"B": "b/c.md"}]}]},
        {"Command line": "cli.md"},
    ]
    assert chapter_notebooks.chapter_pages(nav) == ["a.md", "b/c.md"]
    assert chapter_notebooks.notebook_name("b/c.md") == "b-c.ipynb"
    with pytest.raises(ValueError, match="no 'Chapters' section"):
        chapter_notebooks.chapter_pages([{"Home": "index.md"}])
    chapters = _chapters()
    assert "tokenization.md" in chapters and "cli.md" not in chapters


PAGE = dedent(
    """\
    # A chapter

    Some *prose* with maths \\(d_k\\), a [link](other.md#part), a
    [`code link`](api/model.md) and ![a picture [CLS]](figures/x.svg){ .on-light }.

    ```python
    x = 1
    print(x)
    ```

    <!-- invisible-code-block: python
    assert x == 1
    -->

    ```text
    1
    ```

    ??? success "Solutions"

        The answer:

        ```python
        y = x + 1
        ```

    <!-- skip: next "needs a network" -->
    ```python
    download()
    ```

    <!-- wheel-check: skip "needs a checkout" -->
    ```python
    import tests
    ```

    ```pycon
    >>> y * 10
    20
    ```

    <iframe class="bertguide-view" src="../figures/v.html" title="A view"></iframe>
    """
)


@pytest.fixture
def notebook(tmp_path: Path) -> nbformat.NotebookNode:
    page = tmp_path / "chapter.md"
    page.write_text(PAGE, encoding="utf-8")
    return chapter_notebooks.page_notebook(page, SITE_URL)


def test_a_notebook_holds_the_blocks_a_reader_runs_in_order(notebook):
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    assert notebook.metadata.kernelspec.name == "python3"
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    install, *blocks = code
    assert install == chapter_notebooks.install_cell(bertguide.__version__)
    assert f"%pip install --quiet bertguide=={bertguide.__version__}" in install
    # the solution inside ??? success runs; the hidden and the skipped blocks do not
    assert blocks == ["x = 1\nprint(x)", "y = x + 1", "y * 10"]
    assert [cell.id for cell in notebook.cells] == [f"cell-{i}" for i in range(len(notebook.cells))]


def test_a_notebook_s_prose_points_at_the_site(notebook):
    text = "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "# A chapter" in text
    assert "maths $d_k$" in text
    assert f"[link]({SITE_URL}other/#part)" in text
    assert f"[`code link`]({SITE_URL}api/model/)" in text
    assert f"![a picture [CLS]]({SITE_URL}figures/x.svg)." in text  # attribute list dropped
    assert "**Solutions**\n\nThe answer:" in text  # the admonition, dedented
    assert "```python\ndownload()\n```" in text  # skipped blocks are shown, not run
    assert "```python\nimport tests\n```" in text
    assert f"[A view (on the page)]({SITE_URL}chapter/)" in text
    assert "```text" not in text  # the printed output: the cell prints it
    assert "invisible-code-block" not in text and "skip: next" not in text


def test_console_commands_become_shell_cells():
    assert chapter_notebooks.console_cell('bertguide tokenize "a"', ["..."]) == (
        '!bertguide tokenize "a"'
    )
    failing = chapter_notebooks.console_cell('bertguide tokenize ""', ["error", "[exit 2]"])
    assert failing == '!bertguide tokenize "" || echo "[exit $?]"'
    with pytest.raises(ValueError, match="IPython would expand"):
        chapter_notebooks.console_cell("bertguide tokenize {x}", [])


def test_a_chapter_notebook_runs_the_pages_visible_blocks():
    """What the docs tests run, minus hidden blocks, is what a reader downloads."""
    page = ROOT / "docs" / "gpt.md"
    notebook = chapter_notebooks.page_notebook(page, SITE_URL)
    blocks, _, _ = chapter_notebooks.visible_blocks(page)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"][1:]
    assert code == [block.source.rstrip("\n") for block in blocks]
    solutions = PAGE_SOLUTIONS.search(page.read_text(encoding="utf-8"))
    assert solutions is not None
    assert any(dedent(solutions["code"]).strip() == cell for cell in code)


PAGE_SOLUTIONS = re.compile(
    r"^\?\?\? success[^\n]*\n\n    ```python\n(?P<code>.*?)\n    ```", re.S | re.M
)


# --- the built site ---------------------------------------------------------------------


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _page_html(site: Path, source: str) -> Path:
    stem = source.removesuffix(".md")
    return site / ("index.html" if stem == "index" else f"{stem}/index.html")


def test_every_chapter_links_its_notebook_and_colab(built_site: Path):
    chapters = _chapters()
    assert len(chapters) >= 10
    for source in chapters:
        name = chapter_notebooks.notebook_name(source)
        line = _soup(_page_html(built_site, source)).select_one("p.bertguide-take-away")
        assert line is not None, source
        download, colab = line.find_all("a")
        assert "Download this chapter as a notebook" in download.get_text()
        assert download.has_attr("download") and download.find("svg") is not None
        assert download["href"] == f"../notebooks/{name}", source
        assert colab["href"] == COLAB + name and "Open in Colab" in colab.get_text()
        published = built_site / "notebooks" / name
        committed = ROOT / "notebooks" / name  # what the Colab link opens
        assert published.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")
        nbformat.validate(nbformat.reads(published.read_text(encoding="utf-8"), as_version=4))


def test_pages_that_are_not_chapters_have_no_notebook_line(built_site: Path):
    for source in ("index.md", "cli.md", "glossary.md"):
        assert _soup(_page_html(built_site, source)).select_one("p.bertguide-take-away") is None


def test_every_page_has_an_edit_link_and_a_plain_repository_link(built_site: Path):
    for source in ("index.md", "tokenization.md", "api/model.md"):
        soup = _soup(_page_html(built_site, source))
        edit = soup.select_one('a[rel="edit"]')
        assert edit is not None, source
        assert edit["href"] == f"https://github.com/bertguide/bertguide/edit/main/docs/{source}"
        # no data-md-component="source": Material would ask api.github.com for stars
        repository = soup.select_one("a.md-source")
        assert repository["href"] == "https://github.com/bertguide/bertguide"
        assert not repository.has_attr("data-md-component")


def test_every_page_s_footer_names_the_versions_it_ran_with(built_site: Path):
    versions = f"bertguide {bertguide.__version__}, " + ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("torch", "transformers")
    )
    expected = f"Every example on this page ran with {versions}."
    pages = sorted(built_site.rglob("index.html"))
    assert len(pages) >= 20
    for page in pages:
        footer = _soup(page).select_one(".bertguide-tested-with")
        assert footer is not None, page
        assert " ".join(footer.get_text().split()) == expected, page
