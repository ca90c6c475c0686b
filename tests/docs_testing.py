"""How the guide's pages are tested: Sybil parsers and the fence audit.

Every Markdown page under ``docs/`` is a test. ``docs/conftest.py`` builds the
Sybil object below; pytest then runs each page's Python blocks top to bottom in
one namespace per page, like a notebook.

What runs:

* fenced blocks whose info string starts with ``python``, ``py`` or ``python3``,
  with or without attributes (``python title="model.py" hl_lines="2"``), at any
  indentation (inside admonitions, content tabs and lists);
* ``pycon`` blocks, as doctests (each ``>>>`` line's output is compared);
* hidden blocks written as ``<!-- invisible-code-block: python ... -->``, for
  set-up and for assertions the page does not need to show.

What is compared: a Python block followed directly (nothing but blank lines and hidden
blocks between) by a ```` ```text ```` block must print that text. The output is
captured and matched against the block (:func:`compare_output`): trailing spaces and
blank lines at either end are ignored; ``...`` in the text stands for any text (as
doctest's ELLIPSIS); integers must be equal; a decimal number may differ by at most
one unit in the last digit the page shows (the page's ``0.951`` accepts 0.950 to
0.952, ``2.4e-07`` accepts 2.3e-07 to 2.5e-07), which absorbs the last-digit rounding
that differs between CPUs and BLAS libraries and nothing more.

Terminal sessions: a ```` ```console ```` block whose lines start with
``$ bertguide`` is a transcript. Each command runs in a fresh process (the package's
own entry point, in a temporary folder shared by the block's commands) and what it
prints, stdout and stderr together, is compared with the lines under it, by the same
rules; a command that exits with an error code shows it as ``[exit N]`` on its last
line. Only ``bertguide`` commands may appear.

What is skipped: a block preceded by ``<!-- skip: next "reason" -->``. The reason
is required; the audit fails on a skip without one.

The wheel check (``scripts/check_wheel.py``, part of ``make test``) runs every page's
*visible* blocks again, the way a reader does: after a plain ``pip install`` of the built
wheel (no extras), in a fresh process per page, from a folder outside the repository.
Hidden blocks do not run there. A block that can only work in a checkout of the
repository is passed over by that check alone with
``<!-- wheel-check: skip "reason" -->`` directly above it (blank lines and a
``skip: next`` comment may stand between); the docs tests still run it. The reason is
required, the audit fails on the marker without one, and the check prints every block
it passes over.

Stock Sybil only collects fences whose info string is exactly ``python`` and
silently ignores the rest; :func:`audit_fences` finds every Python-looking fence
with an independent scanner and reports each one that the parsers did not
collect, so a block can never go untested by accident.

Left out: reStructuredText, MyST directives and non-Python languages.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sybil import Document, Region, Sybil
from sybil.evaluators.doctest import DocTestEvaluator
from sybil.evaluators.python import PythonEvaluator
from sybil.evaluators.skip import Skipper
from sybil.parsers.abstract.doctest import DocTestStringParser
from sybil.parsers.markdown import SkipParser
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer, RawFencedCodeBlockLexer

PYTHON_LANGUAGES = ("python", "py", "python3")
DOCTEST_LANGUAGES = ("pycon",)
# Any info string that names Python in some way; the audit looks for all of these.
AUDITED_LANGUAGES = (*PYTHON_LANGUAGES, *DOCTEST_LANGUAGES, "console", "ipython", "python2", "py3")

_INFO = re.compile(
    r"[ \t]*\{?\.?(?P<language>[\w+-]+)\}?(?P<attributes>[^\n]*)$\n",
    re.MULTILINE,
)
_DOCTEST_FLAGS = 0


# A number as printed: no letter, digit or dot before it, and not the start of a
# version string such as 2.13.0 (no ".digit" or digit after it).
_NUMBER = re.compile(
    r"(?<![\w.])[-+]?(?:\d+\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w]|\.\d)|(?<![\w.])(?:nan|inf)\b"
)
_ACTUAL_NUMBER = r"([-+]?(?:\d+\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf)"


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip("\n")


def _tolerance(shown: str) -> float:
    """One unit in the last digit ``shown`` prints; 0 for an integer."""
    mantissa, _, exponent = shown.lower().partition("e")
    if "." not in mantissa:
        return 0.0
    decimals = len(mantissa.split(".")[1])
    return 10.0 ** (-decimals + int(exponent or 0))


def compare_output(expected: str, actual: str) -> str | None:
    """None if ``actual`` prints what ``expected`` shows (see the module docstring),
    else a message that says what differs."""
    expected, actual = _normalise(expected), _normalise(actual)
    pattern, numbers, position = [], [], 0
    for match in re.finditer(rf"\.\.\.|{_NUMBER.pattern}", expected):
        pattern.append(re.escape(expected[position : match.start()]))
        if match.group() == "...":
            pattern.append("(?:.*?)")
        else:
            pattern.append(_ACTUAL_NUMBER)
            numbers.append(match.group())
        position = match.end()
    pattern.append(re.escape(expected[position:]))
    found = re.fullmatch("".join(pattern), actual, flags=re.DOTALL)
    if found is None:
        return f"the block printed\n{actual}\nbut the page shows\n{expected}"
    wrong = []
    for shown, printed in zip(numbers, found.groups(), strict=True):
        a, b = float(shown), float(printed)
        if math.isnan(a) and math.isnan(b):
            continue
        if not math.isclose(a, b, rel_tol=0, abs_tol=_tolerance(shown) * (1 + 1e-9)):
            wrong.append(f"{printed} where the page shows {shown}")
    if wrong:
        return "the block printed other numbers: " + "; ".join(wrong) + f"\nprinted:\n{actual}"
    return None


# Hidden blocks may stand between a block and its output (they are invisible on the page).
_HIDDEN_BLOCK = re.compile(r"<!--\s*invisible-code(?:-block)?:\s*python.*?-->", re.DOTALL)


class PrintedOutputEvaluator:
    """Run a Python block with its printed output captured; compare it with the page."""

    def __init__(self, python: PythonEvaluator) -> None:
        self.python = python

    def __call__(self, example) -> str | None:
        __tracebackhide__ = True
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            self.python(example)
        return compare_output(example.region.lexemes["expected_output"], buffer.getvalue())


CONSOLE_LANGUAGES = ("console",)


def run_transcript(source: str, timeout: float = 300) -> str | None:
    """Run every ``$ bertguide ...`` line of a console block; compare with its output."""
    commands: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
        elif line.strip():
            return f"a console block must start with a '$ ' command line, got {line!r}"
    if not commands:
        return "a console block without any '$ ' command"
    problems = []
    with tempfile.TemporaryDirectory(prefix="bertguide-console-") as folder:
        for command, expected in commands:
            argv = shlex.split(command)
            if argv[0] != "bertguide":
                return f"only bertguide commands may run in a console block, not {argv[0]!r}"
            result = subprocess.run(
                [sys.executable, "-m", "bertguide.cli", *argv[1:]],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=timeout,
                env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            )
            printed = result.stdout + result.stderr
            if result.returncode:
                printed = printed.rstrip("\n") + f"\n[exit {result.returncode}]"
            problem = compare_output("\n".join(expected), printed)
            if problem:
                problems.append(f"$ {command}\n{problem}")
    return "\n\n".join(problems) or None


class ConsoleEvaluator:
    def __call__(self, example) -> str | None:
        return run_transcript(str(example.parsed))


class PythonFenceParser:
    """Collect Python fences (with attributes), pycon doctests and invisible blocks."""

    def __init__(self) -> None:
        self.fences = RawFencedCodeBlockLexer(
            info_pattern=_INFO, mapping={"language": "language", "source": "source"}
        )
        self.invisible = DirectiveInHTMLCommentLexer(
            directive=r"(invisible-)?code(-block)?", arguments=r"python"
        )
        self.python = PythonEvaluator()
        self.printed = PrintedOutputEvaluator(self.python)
        self.console = ConsoleEvaluator()
        self.doctests = DocTestStringParser(DocTestEvaluator(_DOCTEST_FLAGS))

    def _code(self, region: Region) -> Region:
        region.parsed = region.lexemes["source"]
        region.evaluator = self.python
        return region

    def _doctest(self, region: Region, document: Document) -> Iterator[Region]:
        source = region.lexemes["source"]
        for example in self.doctests(source, document.path):
            example.adjust(region, source)
            yield example

    def __call__(self, document: Document) -> Iterable[Region]:
        code: Region | None = None  # the last Python block, until its output is known
        for region in self.fences(document):
            language = region.lexemes["language"]
            if code is not None:
                between = _HIDDEN_BLOCK.sub("", document.text[code.end : region.start])
                if language == "text" and not between.strip():
                    code.lexemes["expected_output"] = str(region.lexemes["source"])
                    code.evaluator = self.printed
                yield code
                code = None
            if language in PYTHON_LANGUAGES:
                if str(region.lexemes["source"]).lstrip().startswith(">>>"):
                    yield from self._doctest(region, document)
                else:
                    code = self._code(region)
            elif language in DOCTEST_LANGUAGES:
                yield from self._doctest(region, document)
            elif language in CONSOLE_LANGUAGES:
                region.parsed = str(region.lexemes["source"])
                region.evaluator = self.console
                yield region
        if code is not None:
            yield code
        for region in self.invisible(document):
            yield self._code(region)


def make_sybil(**options) -> Sybil:
    """The Sybil object the guide uses (``docs/conftest.py`` passes fixtures)."""
    return Sybil(
        parsers=[PythonFenceParser(), SkipParser()],
        patterns=["*.md"],
        **options,
    )


# --- the audit --------------------------------------------------------------------

_FENCE_LINE = re.compile(
    r"^(?P<prefix>(?:[ \t]*>)*[ \t]*(?:(?:[-*+]|\d+[.)])[ \t]+)?)"
    r"(?P<fence>`{3,}|~{3,})[ \t]*\{?\.?(?P<language>[\w+-]*)"
)
_SKIP_NEXT = re.compile(r"<!--+\s*skip:\s*next(?P<reason>[^\n]*?)\s*--+>")
_WHEEL_CHECK_SKIP = re.compile(r"<!--+\s*wheel-check:\s*skip(?P<reason>[^\n]*?)\s*--+>")


@dataclass(frozen=True)
class FenceProblem:
    path: Path
    line: int
    info: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: ```{self.info}``` {self.why}"


@dataclass
class Fence:
    line: int  # 1-based line of the opening fence
    info: str
    language: str
    end: int = 0  # 1-based line of the closing fence (the last line if never closed)


def find_python_fences(text: str) -> list[Fence]:
    """Every opening fence whose language names Python, found line by line."""
    fences: list[Fence] = []
    open_fence: str | None = None  # the characters of the fence now open
    current: Fence | None = None
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        match = _FENCE_LINE.match(line)
        if match is None:
            continue
        fence = match.group("fence")
        rest = line[match.end("fence") :].strip()
        if open_fence is not None:
            same_kind = fence[0] == open_fence[0] and len(fence) >= len(open_fence)
            if same_kind and not rest:
                open_fence = None
                if current is not None:
                    current.end = number
                    current = None
            continue
        open_fence = fence
        language = match.group("language").lower()
        if language in AUDITED_LANGUAGES:
            current = Fence(number, rest, language, end=len(lines))
            fences.append(current)
    return fences


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def audit_document(path: Path, sybil: Sybil) -> tuple[int, int, list[FenceProblem]]:
    """Return ``(executed, skipped, problems)`` for one page."""
    text = Path(path).read_text(encoding="utf-8")
    document = sybil.parse(Path(path))
    collected: set[int] = set()  # lines where an executed example starts
    skip_reasons: dict[int, str] = {}
    for _, region in document.regions:
        line = _line_of(text, region.start)
        if isinstance(region.evaluator, Skipper):
            action, reason = region.parsed
            skip_reasons[line] = (reason or "").strip() if action == "next" else ""
        else:
            collected.add(line)
    executed = skipped = 0
    problems = []
    lines = text.splitlines()
    for fence in find_python_fences(text):
        if wheel_check_skip(lines, fence.line) == "":
            problems.append(
                FenceProblem(
                    path, fence.line, fence.info, "is left out of the wheel check without a reason"
                )
            )
        skip_line = _preceding_skip(lines, fence.line)
        if skip_line is not None:
            if skip_reasons.get(skip_line, "").strip("\"' ") == "":
                problems.append(
                    FenceProblem(path, fence.line, fence.info, "is skipped without a reason")
                )
            else:
                skipped += 1
            continue
        if any(fence.line <= line <= fence.end for line in collected):
            executed += 1
        else:
            problems.append(
                FenceProblem(
                    path,
                    fence.line,
                    fence.info,
                    "is neither executed by the docs tests nor skipped with a reason",
                )
            )
    return executed, skipped, problems


def _preceding_skip(lines: Sequence[str], fence_line: int) -> int | None:
    """The line of a ``skip: next`` comment directly above a fence (blank lines allowed)."""
    index = fence_line - 2
    while index >= 0 and not lines[index].strip():
        index -= 1
    if index >= 0 and _SKIP_NEXT.search(lines[index]):
        return index + 1
    return None


def wheel_check_skip(lines: Sequence[str], fence_line: int) -> str | None:
    """The reason of a ``wheel-check: skip`` comment above a fence: ``None`` if there is
    none, ``""`` if it gives no reason. Blank lines and a ``skip: next`` may stand between.

    >>> wheel_check_skip(['<!-- wheel-check: skip "needs a checkout" -->', "", "```python"], 3)
    'needs a checkout'
    """
    index = fence_line - 2
    while index >= 0 and (not lines[index].strip() or _SKIP_NEXT.search(lines[index])):
        index -= 1
    if index >= 0 and (match := _WHEEL_CHECK_SKIP.search(lines[index])):
        return match.group("reason").strip().strip("\"'").strip()
    return None


def audit_fences(root: Path, sybil: Sybil | None = None) -> tuple[int, int, list[FenceProblem]]:
    """Audit every Markdown page under ``root``; return totals and problems."""
    sybil = sybil or make_sybil(path=str(root))
    executed = skipped = 0
    problems: list[FenceProblem] = []
    for page in sorted(Path(root).rglob("*.md")):
        done, passed_over, found = audit_document(page, sybil)
        executed += done
        skipped += passed_over
        problems.extend(found)
    return executed, skipped, problems
