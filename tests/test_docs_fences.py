"""No Python block on any page goes untested by accident.

Stock Sybil runs only fences whose info string is exactly ``python``; anything
else (``python title="x.py"``, ``py``, ``pycon``, a typo) is silently skipped.
The audit finds every Python-looking fence on its own and checks that the
guide's parsers collected it or that a ``skip`` with a reason stands before it.
"""

from pathlib import Path
from textwrap import dedent

import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

from tests.docs_testing import audit_fences, find_python_fences, make_sybil

DOCS = Path(__file__).resolve().parent.parent / "docs"

TITLED = dedent(
    """
    # A page

    ```python
    x = 1
    ```

    ```python title="x.py"
    x += 1
    ```
    """
)


def write_page(directory: Path, text: str, name: str = "page.md") -> Path:
    page = directory / name
    page.write_text(dedent(text), encoding="utf-8")
    return page


def run_page(directory: Path, page: Path) -> dict:
    """Evaluate a page with the guide's parsers; return its namespace."""
    document = make_sybil(path=str(directory)).parse(page)
    for example in document:
        example.evaluate()
    return document.namespace


def test_every_fence_in_the_docs_is_executed_or_skipped_with_a_reason():
    executed, skipped, problems = audit_fences(DOCS)
    assert not problems, "\n".join(map(str, problems))
    assert executed > 0
    print(f"fence audit: {executed} Python blocks executed, {skipped} skipped with a reason")


def test_audit_catches_a_titled_block_that_stock_sybil_skips(tmp_path: Path):
    write_page(tmp_path, TITLED)
    stock = Sybil(parsers=[PythonCodeBlockParser(), SkipParser()], path=str(tmp_path))
    executed, _, problems = audit_fences(tmp_path, stock)
    assert executed == 1
    assert len(problems) == 1
    assert 'title="x.py"' in str(problems[0])
    assert "neither executed" in str(problems[0])


def test_the_guides_parser_runs_titled_blocks(tmp_path: Path):
    page = write_page(tmp_path, TITLED)
    assert audit_fences(tmp_path)[:2] == (2, 0)
    assert run_page(tmp_path, page)["x"] == 2


def test_a_failing_titled_block_fails(tmp_path: Path):
    page = write_page(tmp_path, '```python title="bad.py"\nassert 1 == 2, "ran"\n```\n')
    with pytest.raises(AssertionError, match="ran"):
        run_page(tmp_path, page)


def test_indented_blocks_in_admonitions_tabs_and_lists_run(tmp_path: Path):
    page = write_page(
        tmp_path,
        """
        !!! note
            ```python
            seen = ["admonition"]
            ```

        === "Tab"

            ```py
            seen.append("tab")
            ```

        1. A step:
           ```python3 hl_lines="1"
           seen.append("list")
           ```
        """,
    )
    executed, skipped, problems = audit_fences(tmp_path)
    assert (executed, skipped, problems) == (3, 0, [])
    assert run_page(tmp_path, page)["seen"] == ["admonition", "tab", "list"]


def test_pycon_blocks_run_as_doctests(tmp_path: Path):
    page = write_page(tmp_path, "```pycon\n>>> 2 + 2\n5\n```\n")
    assert audit_fences(tmp_path)[0] == 1
    with pytest.raises(Exception, match="Expected:"):
        run_page(tmp_path, page)


def test_skip_needs_a_reason(tmp_path: Path):
    write_page(
        tmp_path,
        """
        <!-- skip: next -->

        ```python
        raise RuntimeError("never runs")
        ```

        <!-- skip: next "needs a network to download bert-base-uncased" -->
        ```python
        raise RuntimeError("never runs")
        ```
        """,
    )
    executed, skipped, problems = audit_fences(tmp_path)
    assert (executed, skipped) == (0, 1)
    assert len(problems) == 1 and "without a reason" in str(problems[0])


def test_other_python_spellings_are_flagged(tmp_path: Path):
    write_page(tmp_path, "```ipython\nx = 1\n```\n\n```{.python}\ny = 2\n```\n")
    executed, _, problems = audit_fences(tmp_path)
    assert executed == 1  # {.python} is the attribute-list spelling of python
    assert [p.info for p in problems] == ["ipython"]


def test_scanner_ignores_fences_inside_other_fences():
    text = "````markdown\n```python\nnot code\n```\n````\n\n```python\nx = 1\n```\n"
    assert [fence.line for fence in find_python_fences(text)] == [7]


def test_invisible_blocks_run(tmp_path: Path):
    page = write_page(tmp_path, "<!-- invisible-code-block: python\nhidden = 3\n-->\n")
    assert run_page(tmp_path, page)["hidden"] == 3
