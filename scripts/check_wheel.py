"""Run every page of the guide the way a reader does: after a plain ``pip install``.

The docs tests (``tests/docs_testing.py``) run the pages inside the development
environment, with the test extras, hidden set-up blocks and the repository on the path.
A reader has none of that. This check builds the wheel, installs it into a virtual
environment of its own **without extras** (plus ``ipykernel``, to run notebooks), and
runs each page as the notebook a reader downloads (``scripts/chapter_notebooks.py``
makes it; the chapters' notebooks are the ones the site publishes): top to bottom,
in a fresh kernel of that environment per page, from a temporary folder outside the
repository:

* Python fences (any spelling the docs tests run, indented or not) are code cells;
* each ``pycon`` example is a cell of its own;
* each ``$ bertguide ...`` line of a ``console`` block is a ``!bertguide ...`` cell,
  and what it prints is compared with the page;
* hidden ``<!-- invisible-code-block: python ... -->`` blocks are not in the notebook:
  a reader never sees them;
* a block under ``<!-- skip: next "reason" -->`` is not run, as in the docs tests; a
  block under ``<!-- wheel-check: skip "reason" -->`` is not run here only, and every
  one is printed.

The first cell that raises fails the check, naming its page, block and line.
What it leaves out: printed output of Python blocks is not compared (the docs tests
do that), and the notebooks under docs/notebooks/ are not run here (the site build
runs them).

The environment is cached in ``.wheelcheck/`` (git-ignored), keyed by a hash of the
project's dependencies in ``pyproject.toml`` and of ``constraints.txt``; a warm run
rebuilds and reinstalls only the wheel, and only when the package's files changed.
A page that passed is not run again while nothing it depends on changed: the
installed package's files (or the given wheel), the environment's pins, the page's
notebook and this script (``.wheelcheck/passed/``; ``--rerun`` runs every page
anyway). A fresh clone, as in CI, runs them all. The few heads the pages fine-tune
in seconds are made in the reader's run cache (``BERTGUIDE_CACHE``), as on a
reader's machine; everything else the pages read ships in the package.

    python scripts/check_wheel.py                 # every page under docs/
    python scripts/check_wheel.py docs/cli.md     # some pages
    python scripts/check_wheel.py --keep-going    # report every failing page
    python scripts/check_wheel.py --rerun         # run pages that passed unchanged too
    python scripts/check_wheel.py --wheel dist/bertguide-0.1.0-py3-none-any.whl
                                                  # a wheel built elsewhere (a release's)
    python scripts/check_wheel.py --constraints oldest.txt
                                                  # other pins than constraints.txt
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from chapter_notebooks import (  # noqa: E402  (scripts/ is on the path first)
    Block,
    PassedOver,
    code_cells,
    console_commands,
    page_notebook,
    read_config,
    visible_blocks,
)

from tests.docs_testing import compare_output, make_sybil  # noqa: E402

__all__ = ["Block", "PassedOver", "main", "run_page", "visible_blocks"]

CACHE = ROOT / ".wheelcheck"
DOCS = ROOT / "docs"
CONSTRAINTS = ROOT / "constraints.txt"
CELL_TIMEOUT = 900  # seconds for one cell
KERNEL = "bertguide-reader"  # the kernel spec this check writes for the reader's Python


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


def _install_key(constraints: Path = CONSTRAINTS) -> str:
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
    digest = hashlib.sha256(wanted.encode() + b"\0" + Path(constraints).read_bytes())
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


def reader_venv(log, wheel: Path | None = None, constraints: Path = CONSTRAINTS):
    """A virtual environment with the current wheel installed (or ``wheel``, a file built
    elsewhere), its dependencies pinned by ``constraints``; return it and the wheel name."""
    key = _install_key(constraints) + f"-py{sys.version_info[0]}{sys.version_info[1]}"
    venv = CACHE / f"venv-{key}"
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if not (venv / "ready").exists():
        for old in CACHE.glob("venv-*"):
            shutil.rmtree(old)
        log(f"new environment {venv.relative_to(ROOT)} (dependencies or constraints.txt changed)")
        _run([sys.executable, "-m", "venv", venv])
        # torch first, from the constraints: an unpinned torch pulls GBs of CUDA wheels
        _run([*pip, "-c", constraints, "torch"])
    files = package_files()
    source = _hash(files) if wheel is None else hashlib.sha256(wheel.read_bytes()).hexdigest()
    stamp = venv / "installed-source"
    wheel_name = (
        (venv / "installed-wheel").read_text() if (venv / "installed-wheel").exists() else ""
    )
    if (venv / "ready").exists() and stamp.exists() and stamp.read_text() == source:
        _install_kernel(venv, pip, log, constraints)
        return venv, wheel_name
    with tempfile.TemporaryDirectory(prefix="bertguide-wheel-") as folder:
        if wheel is None:
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
            _run([*pip, "-c", constraints, wheel])  # no extras: what `pip install` gives
            (venv / "ready").touch()
        wheel_name = wheel.name
    (venv / "installed-wheel").write_text(wheel_name)
    stamp.write_text(source)
    log(f"installed {wheel_name} into {venv.relative_to(ROOT)}")
    _install_kernel(venv, pip, log, constraints)
    return venv, wheel_name


def _install_kernel(venv: Path, pip: list, log, constraints: Path = CONSTRAINTS) -> None:
    """ipykernel (pinned) into the reader's environment, once: a reader runs the pages
    as notebooks, in Jupyter or Colab, where it is always there."""
    if (venv / "kernel-ready").exists():
        return
    _run([*pip, "-c", constraints, "ipykernel"])
    (venv / "kernel-ready").touch()
    log(f"installed ipykernel into {venv.relative_to(ROOT)}")


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


def kernel_manager(python: Path, folder: Path):
    """A Jupyter kernel manager whose kernel is ``python``'s ipykernel: the kernel spec is
    written into ``folder``, so nothing of the user's Jupyter set-up is read or changed."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    spec = Path(folder, "kernels", KERNEL)
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "bertguide reader", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(spec.parent)])
    return AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def page_key(venv: Path, notebook) -> str:
    """What a page's result depends on: the environment (its pins and the installed
    package's files, ``installed-source``), the page's notebook and this script."""
    import nbformat

    digest = hashlib.sha256()
    for part in (
        venv.name,
        (venv / "installed-source").read_text(),
        nbformat.writes(notebook),
        Path(__file__).read_text(encoding="utf-8"),
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:24]


@dataclass
class PageResult:
    page: str
    blocks: int
    seconds: float
    problem: str | None = None


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def printed(cell) -> str:
    """What a cell printed, stdout and stderr, as a terminal shows it."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")
    return _ANSI.sub("", text).replace("\r\n", "\n")


def run_page(
    page: Path,
    python: Path,
    env: dict[str, str],
    site_url: str = "https://bertguide.github.io/bertguide/",
    sybil=None,
    notebook=None,
) -> PageResult:
    """Run a page's notebook in a fresh kernel of ``python``, in an empty folder, with the
    environment ``env``; report the first cell that fails or prints what the page does
    not show."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    name = _shown(page)
    if notebook is None:  # the page's notebook, unless the caller made it already
        notebook = page_notebook(page, site_url, sybil)
    blocks, _, _ = visible_blocks(page, sybil)
    # which block (and which of its console commands) each code cell after the install is
    origin = [(block, index) for block in blocks for index in range(len(code_cells(block)))]
    code = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    if len(code) != len(origin) + 1:
        raise RuntimeError(f"{name}: {len(code)} code cells for {len(origin)} blocks")
    fences = len({block.number for block in blocks})
    started_cell: list[int] = []  # the index of the cell now running

    def where(cell_index: int) -> str:
        if cell_index == code[0]:
            return "the install cell"
        block, _ = origin[code.index(cell_index) - 1]
        return f"block {block.number} (line {block.line})"

    with tempfile.TemporaryDirectory(prefix="bertguide-reader-") as folder:
        work = Path(folder, "work")
        work.mkdir()
        client = NotebookClient(
            notebook,
            km=kernel_manager(python, Path(folder)),
            timeout=CELL_TIMEOUT,
            allow_errors=False,
            on_cell_execute=lambda cell, cell_index: started_cell.append(cell_index),
        )
        started = time.perf_counter()
        problem = None
        log = Path(folder, "kernel.log")  # the kernel's own messages, shown if it dies
        try:
            with open(log, "w", encoding="utf-8") as stderr:
                client.execute(env=env, cwd=str(work), stderr=stderr)
        except CellTimeoutError:
            problem = f"{where(started_cell[-1])} timed out after {CELL_TIMEOUT} s"
        except (CellExecutionError, DeadKernelError) as error:
            place = where(started_cell[-1]) if started_cell else "the kernel"
            text = str(error)
            if isinstance(error, DeadKernelError):
                text += "\n" + log.read_text(encoding="utf-8", errors="replace")
            tail = "\n".join(_ANSI.sub("", text).rstrip().splitlines()[-40:])
            problem = f"{place} failed:\n{textwrap.indent(tail, '    ')}"
        seconds = time.perf_counter() - started
    if problem is not None:
        return PageResult(name, fences, seconds, problem)
    for cell_index, (block, command) in zip(code[1:], origin, strict=True):
        if block.kind == "console":
            expected = console_commands(block.source)[command][1]
            mismatch = compare_output("\n".join(expected), printed(notebook.cells[cell_index]))
            if mismatch:
                return PageResult(name, fences, seconds, f"{where(cell_index)} printed\n{mismatch}")
    return PageResult(name, fences, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path, help="pages to run (default: docs/*.md)")
    parser.add_argument("--keep-going", action="store_true", help="run every page, then fail")
    parser.add_argument(
        "--rerun", action="store_true", help="run pages that passed unchanged again too"
    )
    parser.add_argument("--wheel", type=Path, help="install this wheel instead of building one")
    parser.add_argument(
        "--constraints", type=Path, default=CONSTRAINTS, help="pins (default: constraints.txt)"
    )
    args = parser.parse_args(argv)
    wheel = args.wheel.resolve() if args.wheel else None
    if wheel is not None and not wheel.is_file():
        parser.error(f"--wheel {args.wheel}: no such file")
    pages = [p.resolve() for p in args.pages] or sorted(DOCS.glob("*.md"))

    def log(message: str) -> None:
        print(f"wheel check: {message}", flush=True)

    started = time.perf_counter()
    venv, wheel = reader_venv(log, wheel, args.constraints.resolve())
    env = reader_environment(venv)
    sybil = make_sybil(path=str(DOCS))
    site_url = read_config(ROOT / "mkdocs.yml")["site_url"]
    total_blocks = total_skipped = unchanged = 0
    memo = CACHE / "passed"
    memo.mkdir(parents=True, exist_ok=True)
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
        notebook = page_notebook(page, site_url, sybil)
        key = page_key(venv, notebook)
        if not args.rerun and (memo / key).exists():
            print(f"  {_shown(page):36} unchanged since it passed", flush=True)
            unchanged += 1
            continue
        result = run_page(page, venv / "bin" / "python", env, site_url, sybil, notebook)
        if result.problem is None:
            (memo / key).write_text(f"{result.page} {result.blocks} blocks\n")
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
        f"{len(pages)} pages, {total_blocks} blocks run, {unchanged} pages unchanged since "
        f"they passed, {len(passed_over)} passed over, "
        f"{total_skipped} skipped by the docs' skip markers; {wheel} without extras "
        f"(ipykernel added); "
        f"{elapsed:.0f} s"
    )
    if failures:
        log(f"FAILED on {', '.join(f.page for f in failures)} ({summary})")
        return 1
    log(f"every page's notebook ran after a plain pip install ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
