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

from tests.docs_testing import audit_fences, compare_output, find_python_fences, make_sybil

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


def test_printed_output_is_compared_with_the_text_block_after_it(tmp_path: Path):
    from sybil.example import SybilFailure

    good = write_page(
        tmp_path,
        '```python\nprint("x =", 0.1 + 0.2)\n```\n\n```text\nx = 0.30000000000000004\n```\n',
        "good.md",
    )
    run_page(tmp_path, good)
    bad = write_page(tmp_path, '```python\nprint("x =", 3)\n```\n\n```text\nx = 4\n```\n', "bad.md")
    with pytest.raises(SybilFailure, match="printed other numbers: 3 where the page shows 4"):
        run_page(tmp_path, bad)
    words = write_page(tmp_path, '```python\nprint("cat")\n```\n\n```text\ndog\n```\n', "words.md")
    with pytest.raises(SybilFailure, match="the block printed\ncat\nbut the page shows\ndog"):
        run_page(tmp_path, words)
    # a text block that does not follow the code directly is prose, not output
    apart = write_page(
        tmp_path, '```python\nprint("cat")\n```\n\nSome words.\n\n```text\ndog\n```\n', "apart.md"
    )
    run_page(tmp_path, apart)


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        ("0.951", "0.952", True),  # one unit in the last shown digit
        ("0.951", "0.953", False),
        ("2.4e-07", "2.5e-07", True),
        ("2.4e-07", "1.8e-07", False),
        ("42", "43", False),  # integers are exact
        ("torch 2.13.0", "torch 2.14.0", False),  # versions are text, not numbers
        ("[0.5, 1.25]", "[0.5, 1.24]", True),
        ("path: ...\nsize 3", "path: /tmp/x/y\nsize 3", True),  # ... is any text
        ("path: ...\nsize 3", "path: /tmp/x/y\nsize 4", False),
        ("a  \n\nb\n\n", "a\n\nb", True),  # trailing spaces and end blank lines
        ("tensor([0.474, 0.379])", "tensor([0.474, 0.379, 0.1])", False),
    ],
)
def test_compare_output_rules(expected, actual, ok):
    assert (compare_output(expected, actual) is None) is ok


def test_every_text_block_after_code_is_compared():
    """Count the pages' text blocks that follow code directly: every one is compared."""
    compared = 0
    for page in sorted(DOCS.rglob("*.md")):
        document = make_sybil(path=str(DOCS)).parse(page)
        compared += sum("expected_output" in region.lexemes for _, region in document.regions)
    shown = sum(page.read_text().count("```text") for page in DOCS.rglob("*.md"))
    assert compared == shown >= 80
