"""Run every page of the guide the way a reader does: after a plain ``pip install``.

The docs tests (``tests/docs_testing.py``) run the pages inside the development
environment, with the test extras, hidden set-up blocks and the repository on the path.
A reader has none of that. This check builds the wheel, installs it into a virtual
environment of its own **without extras**, and runs each page's visible blocks, in
order, in one fresh ``python`` process per page (one namespace, like a notebook), from
a temporary folder outside the repository:

* Python fences (any spelling the docs tests run, indented or not) run as written;
* ``pycon`` examples run line by line as in an interactive session;
* ``console`` blocks run their ``$ bertguide ...`` lines through the installed
  ``bertguide`` script, and what they print is compared with the page;
* hidden ``<!-- invisible-code-block: python ... -->`` blocks do not run: a reader
  never sees them;
* a block under ``<!-- skip: next "reason" -->`` is skipped, as in the docs tests; a
  block under ``<!-- wheel-check: skip "reason" -->`` is passed over here only, and
  every one is printed.

The first block that raises fails the check, naming its page, block and line.
What it leaves out: printed output of Python blocks is not compared (the docs tests
do that), and notebooks are not run.

The environment is cached in ``.wheelcheck/`` (git-ignored), keyed by a hash of the
project's dependencies in ``pyproject.toml`` and of ``constraints.txt``; a warm run
rebuilds and reinstalls only the wheel, and only when the package's files changed.
What the pages train once (the tiny GPT) comes from the per-user cache that
``make build`` fills (``bertguide.cache``), as it would on a reader's machine after
one run; the training itself is exercised there.

    python scripts/check_wheel.py                 # every page under docs/
    python scripts/check_wheel.py docs/cli.md     # some pages
    python scripts/check_wheel.py --keep-going    # report every failing page
"""

from __future__ import annotations

import argparse
import doctest
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.docs_testing import (  # noqa: E402  (the repository root is on the path first)
    ConsoleEvaluator,
    compare_output,
    find_python_fences,
    make_sybil,
    wheel_check_skip,
)

CACHE = ROOT / ".wheelcheck"
DOCS = ROOT / "docs"
CONSTRAINTS = ROOT / "constraints.txt"
PAGE_TIMEOUT = 900  # seconds for one page


@dataclass
class Block:
    """One piece of code a reader pastes: a fence, or one ``>>>`` example of a fence."""

    number: int  # the fence's number among the page's Python-looking fences, from 1
    line: int  # the line of the fence in the Markdown source
    kind: str  # "python", "pycon" or "console"
    source: str


@dataclass
class PassedOver:
    number: int
    line: int
    reason: str


def visible_blocks(page: Path, sybil) -> tuple[list[Block], list[PassedOver], int]:
    """The blocks of ``page`` a reader sees, in order; the ones passed over; and how many
    fences the docs tests' ``skip`` markers leave out.

    Blocks come from the docs tests' own parser, so both checks see the same code;
    hidden blocks (``invisible-code-block``) are dropped.
    """
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
    for region in sorted((region for _, region in sybil.parse(page).regions), key=_start):
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


def _shown(page: Path) -> str:
    """A page's name as the report prints it: relative to the repository when inside it."""
    page = page.resolve()
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else str(page)


# --- the reader's environment -------------------------------------------------------


def _run(command: list, **options) -> None:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, **options
    )
    if result.returncode:
        sys.exit(
            f"wheel check: `{' '.join(map(str, command))}` failed "
            f"(exit {result.returncode}):\n{result.stdout}{result.stderr}"
        )


def _hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _install_key() -> str:
    """A hash of what decides the reader's installed dependencies: the project's
    ``dependencies`` and ``requires-python``, and the pins. Editing the extras or tool
    settings in pyproject.toml keeps the environment (the wheel is reinstalled)."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib

        project = tomllib.loads(pyproject)["project"]
        wanted = json.dumps([project.get("dependencies"), project.get("requires-python")])
    except ImportError:  # Python 3.10: the whole file
        wanted = pyproject
    digest = hashlib.sha256(wanted.encode() + b"\0" + CONSTRAINTS.read_bytes())
    return digest.hexdigest()[:16]


def package_files() -> list[Path]:
    """The files a clone holds that go into the wheel (tracked, or new and not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "bertguide"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if listed.returncode == 0:
        files = [ROOT / name for name in listed.stdout.splitlines()]
    else:  # not a git checkout: everything but caches
        files = [p for p in (ROOT / "bertguide").rglob("*") if "__pycache__" not in p.parts]
    files = [path for path in files if path.is_file()]
    return sorted({*files, ROOT / "pyproject.toml", ROOT / "README.md"})


def reader_venv(log) -> tuple[Path, str]:
    """A virtual environment with the current wheel installed; return it and the wheel name."""
    key = _install_key() + f"-py{sys.version_info[0]}{sys.version_info[1]}"
    venv = CACHE / f"venv-{key}"
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if not (venv / "ready").exists():
        for old in CACHE.glob("venv-*"):
            shutil.rmtree(old)
        log(f"new environment {venv.relative_to(ROOT)} (dependencies or constraints.txt changed)")
        _run([sys.executable, "-m", "venv", venv])
        # torch first, from the constraints: an unpinned torch pulls GBs of CUDA wheels
        _run([*pip, "-c", CONSTRAINTS, "torch"])
    files = package_files()
    source = _hash(files)
    stamp = venv / "installed-source"
    wheel_name = (
        (venv / "installed-wheel").read_text() if (venv / "installed-wheel").exists() else ""
    )
    if (venv / "ready").exists() and stamp.exists() and stamp.read_text() == source:
        return venv, wheel_name
    with tempfile.TemporaryDirectory(prefix="bertguide-wheel-") as folder:
        # build from a clean copy, so that no stale build/ folder leaks into the wheel
        tree = Path(folder) / "src"
        for path in files:
            (tree / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, tree / path.relative_to(ROOT))
        dist = Path(folder) / "dist"
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, tree])
        (wheel,) = dist.glob("bertguide-*.whl")
        if (venv / "ready").exists():  # dependencies are in place: swap the package only
            _run([*pip, "--force-reinstall", "--no-deps", wheel])
        else:
            _run([*pip, "-c", CONSTRAINTS, wheel])  # no extras: what `pip install` gives
            (venv / "ready").touch()
        wheel_name = wheel.name
    (venv / "installed-wheel").write_text(wheel_name)
    stamp.write_text(source)
    log(f"installed {wheel_name} into {venv.relative_to(ROOT)}")
    return venv, wheel_name


def reader_environment(venv: Path) -> dict[str, str]:
    """Who runs the pages: a shell with the venv activated, nothing of the repository's."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA", "BERTGUIDE_"))
        or name == "BERTGUIDE_CACHE"
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["MPLBACKEND"] = "Agg"  # no screen
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


# The program the fresh process runs. Standard library only; everything is inside one
# function so that the pages' names land in a clean __main__, as in a pasted script.
RUNNER = """
def _reader(spec_file, results_file):
    import json, linecache, shlex, subprocess, sys, time, traceback

    spec = json.load(open(spec_file, encoding="utf-8"))
    namespace = vars(sys.modules["__main__"])
    for name in ("_reader", "__file__", "__cached__"):
        namespace.pop(name, None)
    results = []
    for block in spec["blocks"]:
        label = f"{spec['page']} block {block['number']} (line {block['line']})"
        print(f"--- {label}", flush=True)
        started, outputs = time.perf_counter(), []
        try:
            if block["kind"] == "console":
                for line in block["source"].splitlines():
                    if not line.startswith("$ "):
                        continue
                    run = subprocess.run(shlex.split(line[2:]), capture_output=True, text=True)
                    printed = run.stdout + run.stderr
                    if run.returncode:
                        printed = printed.rstrip("\\n") + f"\\n[exit {run.returncode}]"
                    outputs.append(printed)
            else:
                # tracebacks show the page's own lines
                lines = block["source"].splitlines(keepends=True)
                linecache.cache[label] = (len(block["source"]), None, lines, label)
                mode = "single" if block["kind"] == "pycon" else "exec"
                exec(compile(block["source"], label, mode), namespace)
        except BaseException:
            traceback.print_exc()
            results.append({**block, "failed": True, "seconds": time.perf_counter() - started})
            json.dump(results, open(results_file, "w", encoding="utf-8"))
            sys.exit(1)
        finally:
            sys.stdout.flush()
        results.append(
            {**block, "outputs": outputs, "seconds": time.perf_counter() - started}
        )
        json.dump(results, open(results_file, "w", encoding="utf-8"))


_reader(*__import__("sys").argv[1:])
"""


@dataclass
class PageResult:
    page: str
    blocks: int
    seconds: float
    problem: str | None = None


def console_problem(block: Block, outputs: list[str]) -> str | None:
    """Compare what each ``$ bertguide`` line printed with the lines under it on the page."""
    expected: list[list[str]] = []
    for line in block.source.splitlines():
        if line.startswith("$ "):
            expected.append([])
        elif expected:
            expected[-1].append(line)
    for lines, printed in zip(expected, outputs, strict=True):
        problem = compare_output("\n".join(lines), printed)
        if problem:
            return problem
    return None


def run_page(page: Path, blocks: list[Block], python: Path, env: dict[str, str]) -> PageResult:
    """Run a page's blocks in one fresh process, in an empty folder; report the first error."""
    name = _shown(page)
    with tempfile.TemporaryDirectory(prefix="bertguide-reader-") as folder:
        spec, results_file = Path(folder, ".spec.json"), Path(folder, ".results.json")
        runner = Path(folder, ".reader.py")
        spec.write_text(json.dumps({"page": name, "blocks": [asdict(b) for b in blocks]}))
        runner.write_text(RUNNER)
        work = Path(folder, "work")
        work.mkdir()
        started = time.perf_counter()
        try:
            process = subprocess.run(
                [str(python), str(runner), str(spec), str(results_file)],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=PAGE_TIMEOUT,
            )
            output, code = process.stdout + process.stderr, process.returncode
        except subprocess.TimeoutExpired as error:
            output, code = f"{error.stdout or ''}{error.stderr or ''}", None
        seconds = time.perf_counter() - started
        results = json.loads(results_file.read_text()) if results_file.exists() else []
    done = [r for r in results if not r.get("failed")]
    fences = len({block.number for block in blocks})
    tail = textwrap.indent("\n".join(output.rstrip().splitlines()[-40:]), "    ")
    if code is None:
        return PageResult(name, fences, seconds, f"timed out after {PAGE_TIMEOUT} s\n{tail}")
    if code or len(done) != len(blocks):
        where = "after its last block"
        if len(done) < len(blocks):
            where = f"block {blocks[len(done)].number} (line {blocks[len(done)].line})"
        return PageResult(name, fences, seconds, f"{where} failed (exit {code}):\n{tail}")
    for block, result in zip(blocks, done, strict=True):
        if block.kind == "console":
            problem = console_problem(block, result["outputs"])
            if problem:
                where = f"block {block.number} (line {block.line})"
                return PageResult(name, fences, seconds, f"{where} printed\n{problem}")
    return PageResult(name, fences, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path, help="pages to run (default: docs/*.md)")
    parser.add_argument("--keep-going", action="store_true", help="run every page, then fail")
    args = parser.parse_args(argv)
    pages = [p.resolve() for p in args.pages] or sorted(DOCS.glob("*.md"))

    def log(message: str) -> None:
        print(f"wheel check: {message}", flush=True)

    started = time.perf_counter()
    venv, wheel = reader_venv(log)
    env = reader_environment(venv)
    sybil = make_sybil(path=str(DOCS))
    total_blocks = total_skipped = 0
    passed_over: list[str] = []
    failures: list[PageResult] = []
    for page in pages:
        blocks, over, skipped = visible_blocks(page, sybil)
        total_skipped += skipped
        for item in over:
            passed_over.append(
                f"{_shown(page)} block {item.number} (line {item.line}): {item.reason}"
            )
        if not blocks:
            print(f"  {_shown(page):36} no visible blocks", flush=True)
            continue
        result = run_page(page, blocks, venv / "bin" / "python", env)
        status = "ok" if result.problem is None else "FAILED"
        print(
            f"  {result.page:36} {result.blocks:3} blocks {result.seconds:7.1f} s  {status}",
            flush=True,
        )
        total_blocks += result.blocks
        if result.problem is not None:
            failures.append(result)
            print(textwrap.indent(f"{result.page} {result.problem}", "  "), flush=True)
            if not args.keep_going:
                break
    for line in passed_over:
        print(f"  passed over (wheel-check: skip): {line}")
    elapsed = time.perf_counter() - started
    summary = (
        f"{len(pages)} pages, {total_blocks} blocks run, {len(passed_over)} passed over, "
        f"{total_skipped} skipped by the docs' skip markers; {wheel} without extras; "
        f"{elapsed:.0f} s"
    )
    if failures:
        log(f"FAILED on {', '.join(f.page for f in failures)} ({summary})")
        return 1
    log(f"every visible block ran after a plain pip install ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
