"""The package's layout holds: small modules, imports in one direction, a light import.

A newcomer should find each chapter's code in one place and read any module in one
sitting; these tests keep it so as the chapters grow.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bertguide"
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> bool:
    """An ``if TYPE_CHECKING:`` block: its imports serve type hints and never run."""
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _runtime_nodes(tree: ast.AST):
    """ast.walk, without descending into ``if TYPE_CHECKING:`` blocks."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if not _type_checking_only(node):
            todo.extend(ast.iter_child_nodes(node))


def imported_modules(path: Path) -> set[str]:
    """Every bertguide module ``path`` imports when it runs, at the top or in a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                # `from bertguide import corpus` imports the module bertguide.corpus
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return {name for name in found if name in MODULES}


GRAPH = {name: imported_modules(path) - {name} for name, path in MODULES.items()}


def test_every_module_is_short_enough_to_read():
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_module_imports_the_package_root():
    """Inside the package, code imports the module it needs, never `import bertguide`."""
    offenders = sorted(n for n, deps in GRAPH.items() if "bertguide" in deps and n != "bertguide")
    assert not offenders


def _cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    graph = {n: deps - {"bertguide"} for n, deps in GRAPH.items() if n != "bertguide"}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in graph[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycles():
    assert _cycles() == []


def test_the_cycle_finder_finds_a_cycle(monkeypatch):
    monkeypatch.setitem(GRAPH, "bertguide.config", GRAPH["bertguide.config"] | {"bertguide.model"})
    assert ["bertguide.config", "bertguide.model", "bertguide.pretrained"] in _cycles() or any(
        {"bertguide.config", "bertguide.model"} <= set(group) for group in _cycles()
    )


FOLDERS = ("analysis", "experiments", "export", "figures")


def kind(name: str) -> str:
    """Which kind of code a module is: its folder, "library", "cli" or "root"."""
    if name == "bertguide":
        return "root"
    if name == "bertguide.cli":
        return "cli"
    folder = name.split(".")[1]
    return folder if folder in FOLDERS else "library"  # the top level and family/


# Which kinds each kind may import. The library (the top level and family/) is what the
# chapters teach, importable without the rest; analysis runs the library; experiments
# train and measure it; export hands it to the browser; figures draw any of them. The
# package root re-exports the library and the three calls every reader meets first.
ALLOWED = {
    "library": {"library"},
    "analysis": {"library", "analysis"},
    "experiments": {"library", "analysis", "experiments"},
    "export": {"library", "analysis", "export"},
    "figures": {"library", "analysis", "experiments", "export", "figures"},
    "root": {"library", "analysis", "export", "figures"},
    "cli": {"library", "analysis", "experiments", "export", "figures"},
}


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for name, deps in sorted(graph.items()):
        for dep in sorted(deps - {"bertguide"}):
            if name.endswith(".__main__") and dep == "bertguide.cli":
                continue  # `python -m bertguide.experiments` is the command's entry point
            if kind(dep) not in ALLOWED[kind(name)]:
                found.append(f"{name} ({kind(name)}) imports {dep} ({kind(dep)})")
    return found


def test_each_folder_imports_only_what_its_kind_may():
    assert layer_violations(GRAPH) == []


def test_the_folder_rule_catches_a_library_module_that_imports_an_experiment():
    planted = {
        **GRAPH,
        "bertguide.model": GRAPH["bertguide.model"] | {"bertguide.experiments.store"},
    }
    assert layer_violations(planted) == [
        "bertguide.model (library) imports bertguide.experiments.store (experiments)"
    ]


def test_import_bertguide_imports_no_experiment():
    code = (
        "import sys, bertguide; "
        "print(sorted(m for m in sys.modules if m.startswith('bertguide.experiments')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_module_imports_matplotlib_at_import_time():
    """matplotlib is imported inside the functions that draw, never at a module's top."""
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "matplotlib" for n in names), name


def test_every_module_docstring_names_its_chapter_or_role():
    """Each module starts with a docstring; the chapters' ones say which chapter."""
    for name, path in MODULES.items():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{name} needs a docstring that says what it is for"
        if name.startswith(("bertguide.analysis.", "bertguide.figures.")) and not name.endswith(
            "style"
        ):
            assert "Chapter" in doc or "chapter" in doc, f"{name}'s docstring names no chapter"


@pytest.mark.parametrize("heavy", ["matplotlib", "sybil", "transformers"])
def test_import_bertguide_stays_light(heavy):
    code = f"import sys, bertguide; print({heavy!r} in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_every_module_is_listed_in_the_package_table():
    import bertguide

    doc = bertguide.__doc__
    for name in MODULES:
        if name == "bertguide" or name.count(".") > 2:
            continue
        short = name.removeprefix("bertguide.")
        if MODULES[name].name == "__init__.py" or short == "figures.style":
            continue  # the packages and the shared style are named in the prose
        assert f"``{short}``" in doc, f"{short} is missing from bertguide/__init__.py's table"
