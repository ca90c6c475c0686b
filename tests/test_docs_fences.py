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


# --- every code block fits the text column ---------------------------------------------

# The widest code line a page may show, in monospace columns. Measured on the built site
# (`mkdocs build`, then headless Chromium with a 1280 x 900 window): Material's text
# column is 688 px wide there (and at every window width from 1220 to 1599 px), and a
# `pre > code` block in its 13.6 px monospace font holds 80 characters; at 81 the
# block's scrollWidth (695) exceeds its clientWidth (688) and it scrolls. 78 leaves two
# characters of margin.
MAX_CODE_COLUMNS = 78
# A block this long no longer reads as one step: split it, with a sentence between.
MAX_BLOCK_LINES = 35
TAB_SIZE = 8  # the browser's default `tab-size`, which the theme keeps

_ANY_FENCE = r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$"


def code_blocks(text: str) -> list[tuple[int, str, list[str]]]:
    """Every fenced block of a page, in any language and at any indentation, as
    ``(line of the opening fence, info string, body lines)``.

    Body lines lose the opening fence's indentation (as in a list item or an admonition,
    where that indentation is not shown). A fence inside a longer one (```` ```python ````
    in a ```` ````markdown ```` block) is part of the outer block's body.
    """
    import re

    fence_line = re.compile(_ANY_FENCE)
    lines = text.splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        opening = fence_line.match(lines[index])
        index += 1
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            continue  # not a fence (a backtick fence's info string has no backticks)
        start, fence, indent = index, opening["fence"], len(opening["indent"])
        body = []
        while index < len(lines):
            line = lines[index]
            index += 1
            closing = fence_line.match(line)
            if (
                closing is not None
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            shown_indent = min(indent, len(line) - len(line.lstrip(" ")))
            body.append(line[shown_indent:])
        blocks.append((start, opening["info"].strip(), body))
    return blocks


def display_columns(line: str) -> int:
    """Monospace columns a line takes: a tab runs to the next multiple of TAB_SIZE, an
    East Asian wide character (or emoji) takes two, a combining mark none."""
    import unicodedata

    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in line.expandtabs(TAB_SIZE)
    )


def layout_problems(root: Path) -> list[str]:
    """``page:line: what`` for every code line wider than MAX_CODE_COLUMNS and every
    block of MAX_BLOCK_LINES lines or more, on every Markdown page under ``root``."""
    problems = []
    for page in sorted(Path(root).rglob("*.md")):
        name = page.relative_to(root).as_posix()
        for start, info, body in code_blocks(page.read_text(encoding="utf-8")):
            for number, line in enumerate(body, start=start + 1):
                width = display_columns(line)
                if width > MAX_CODE_COLUMNS:
                    problems.append(
                        f"{name}:{number}: a ```{info} line of {width} characters"
                        f" (at most {MAX_CODE_COLUMNS} fit the text column)"
                    )
            if len(body) >= MAX_BLOCK_LINES:
                problems.append(
                    f"{name}:{start}: a ```{info} block of {len(body)} lines"
                    f" (split blocks of {MAX_BLOCK_LINES} lines or more)"
                )
    return problems


def test_every_code_block_fits_the_text_column():
    problems = layout_problems(DOCS)
    assert not problems, "code blocks that scroll or run long:\n" + "\n".join(problems)
    # the scanner sees every fence the audit sees, and the pages' other blocks too
    languages = set()
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        blocks = code_blocks(text)
        starts = {start for start, _, _ in blocks}
        python = {fence.line for fence in find_python_fences(text)}
        assert python <= starts, f"{page.name}: fences at {sorted(python - starts)} not scanned"
        languages |= {info.split()[0] for _, info, _ in blocks if info}
    assert {"python", "text"} <= languages


def test_the_layout_check_names_page_line_and_length(tmp_path: Path):
    fits = "x = [" + ", ".join(["1"] * 24) + "]"  # 5 + 24 + 23 * 2 + 1 = 76 characters
    too_wide = fits + "  # ok"  # 82 characters
    assert (len(fits), len(too_wide)) == (76, 82)
    write_page(
        tmp_path,
        "# A page\n\n"
        f"```python\n{fits}\n{'y' * 78}\n{too_wide}\n```\n\n"
        # indentation that the page does not show does not count ...
        f"!!! note\n    ```python\n    {'z' * 78}\n    ```\n\n"
        # ... nor does a fence inside a longer one start a block of its own
        f"````markdown\n```python\n{'w' * 79}\n```\n````\n\n"
        # 40 wide characters take 80 columns; a tab runs to column 8
        f"```text\n{'東' * 40}\n\t{'t' * 71}\n```\n\n"
        "```pycon\n" + ">>> 1\n1\n" * 17 + "```\n\n" + "```pycon\n" + ">>> 1\n1\n" * 18 + "```\n",
        "long.md",
    )
    assert layout_problems(tmp_path) == [
        "long.md:6: a ```python line of 82 characters (at most 78 fit the text column)",
        "long.md:16: a ```markdown line of 79 characters (at most 78 fit the text column)",
        "long.md:21: a ```text line of 80 characters (at most 78 fit the text column)",
        "long.md:22: a ```text line of 79 characters (at most 78 fit the text column)",
        "long.md:62: a ```pycon block of 36 lines (split blocks of 35 lines or more)",
    ]
    assert display_columns("東京タワー") == 10 and display_columns("café") == 4


def test_console_transcripts_run_and_are_compared(tmp_path: Path):
    from sybil.example import SybilFailure

    good = write_page(
        tmp_path,
        '```console\n$ bertguide tokenize "Fido" --json\n'
        '{"tokens": ["[CLS]", "fi", "##do", "[SEP]"], ...\n'
        '$ bertguide tokenize ""\nbertguide: error: TEXT is empty: ...\n[exit 2]\n```\n',
        "good.md",
    )
    run_page(tmp_path, good)
    wrong = write_page(
        tmp_path, '```console\n$ bertguide tokenize "Fido" --json\n{"tokens": []}\n```\n', "w.md"
    )
    with pytest.raises(SybilFailure, match="the block printed"):
        run_page(tmp_path, wrong)
    other = write_page(tmp_path, "```console\n$ rm -rf /tmp/x\n```\n", "other.md")
    with pytest.raises(SybilFailure, match="only bertguide commands"):
        run_page(tmp_path, other)
