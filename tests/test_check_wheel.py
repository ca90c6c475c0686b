"""The wheel check's reading of the pages (scripts/check_wheel.py); the install itself
runs in `make test`, not here."""

import importlib.util
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from tests.docs_testing import audit_fences, make_sybil

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("check_wheel", ROOT / "scripts" / "check_wheel.py")
check_wheel = importlib.util.module_from_spec(spec)
sys.modules["check_wheel"] = check_wheel  # dataclasses look their module up
spec.loader.exec_module(check_wheel)

PAGE = dedent(
    """
    # A page

    ```python
    x = 1
    ```

    <!-- invisible-code-block: python
    hidden = True
    -->

    !!! note
        ```py title="y.py"
        y = x + 1
        ```

    ```pycon
    >>> y * 10
    20
    >>> y + 1
    3
    ```

    <!-- skip: next "needs a network" -->
    ```python
    raise RuntimeError("never runs")
    ```

    <!-- wheel-check: skip "needs a checkout of the repository" -->
    ```python
    from tests.docs_testing import make_sybil
    ```

    ```console
    $ bertguide tokenize "a b"
    ...
    ```
    """
)


def test_only_what_a_reader_sees_is_collected(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    blocks, passed_over, skipped = check_wheel.visible_blocks(page, make_sybil(path=str(tmp_path)))
    assert [(b.number, b.kind) for b in blocks] == [
        (1, "python"),
        (2, "python"),
        (3, "pycon"),
        (3, "pycon"),
        (6, "console"),
    ]
    assert [b.source for b in blocks[:4]] == ["x = 1\n", "y = x + 1\n", "y * 10\n", "y + 1\n"]
    assert [(p.number, p.reason) for p in passed_over] == [
        (5, "needs a checkout of the repository")
    ]
    assert skipped == 1
    assert audit_fences(tmp_path)[2] == []


def test_the_marker_needs_a_reason(tmp_path: Path):
    (tmp_path / "page.md").write_text("<!-- wheel-check: skip -->\n```python\nx = 1\n```\n")
    problems = audit_fences(tmp_path)[2]
    assert len(problems) == 1 and "wheel check without a reason" in str(problems[0])


def _environment(home: Path) -> dict[str, str]:
    """The development environment's Python and its bertguide script, nothing else."""
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home)}


kernel = pytest.mark.allow_hosts(["127.0.0.1"])  # the kernel talks over localhost


@kernel
def test_a_failing_block_is_named_and_later_blocks_do_not_run(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n```python\nx = 1\n```\n\n```python\nassert x == 2, 'x is 1'\n```\n\n"
        "```python\nraise SystemExit('never reached')\n```\n"
    )
    result = check_wheel.run_page(page, Path(sys.executable), _environment(tmp_path))
    assert result.blocks == 3
    assert result.problem.startswith("block 2 (line 7) failed")
    assert "AssertionError: x is 1" in result.problem
    assert "assert x == 2" in result.problem  # the traceback shows the page's own line
    assert "never reached" not in result.problem


@kernel
def test_console_cells_print_what_the_page_shows(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(
        '# A page\n\n```console\n$ bertguide tokenize "Hello"\n...hello...\n'
        '$ bertguide tokenize ""\nbertguide: error: TEXT is empty...\n[exit 2]\n```\n\n'
        '```console\n$ bertguide tokenize "Hello"\nsomething else\n```\n'
    )
    result = check_wheel.run_page(page, Path(sys.executable), _environment(tmp_path))
    # the first block's two commands match (the exit code included); the second does not
    assert result.problem.startswith("block 2 (line 11) printed"), result.problem
    assert "but the page shows\nsomething else" in result.problem
