"""The package's layout holds: small modules, imports in one direction, a light import.

A newcomer should find each chapter's code in one place and read any module in one
sitting; these tests keep it so as the chapters grow.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bertguide"
MAX_CODE_LINES = 450  # statements only: docstrings, comments and blank lines are free


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


def imported_modules(path: Path, type_checking: bool = False) -> set[str]:
    """Every bertguide module ``path`` imports when it runs, at the top or in a function;
    with ``type_checking``, also those its ``if TYPE_CHECKING:`` blocks import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree) if type_checking else _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                # `from bertguide import corpus` imports the module bertguide.corpus
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return {name for name in found if name in MODULES}


GRAPH = {name: imported_modules(path) - {name} for name, path in MODULES.items()}
# The cycle rule counts type-only imports too: a cycle through annotations is still two
# modules that cannot be read, or split, one without the other.
TYPED_GRAPH = {name: imported_modules(path, True) - {name} for name, path in MODULES.items()}


def code_lines(source: str) -> int:
    """The lines of ``source`` that hold code: no docstring, comment or blank line.

    A string standing alone as a statement (a docstring, or the note after a constant)
    is documentation, however many lines it takes.
    """
    prose = set()
    for node in ast.walk(ast.parse(source)):
        value = node.value if isinstance(node, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            prose.update(range(node.lineno, node.end_lineno + 1))
    lines = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip and token.type != tokenize.ENDMARKER:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - prose)


SAMPLE = '''"""A module.

Its docstring, on three lines."""

# a comment
X = 1  # counted
"""The note after a constant."""


def f(a,
      b):
    """Doc."""
    return a + b
'''


def test_code_lines_leave_out_prose():
    assert code_lines(SAMPLE) == 4  # X = 1, the two lines of def f(a, b), return


def test_every_module_is_short_enough_to_read():
    """A cap on code, not on prose: a docstring that explains, or an example, never
    pushes a module over it."""
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := code_lines(path.read_text(encoding="utf-8"))) > MAX_CODE_LINES
    }
    assert not long, f"modules over {MAX_CODE_LINES} lines of code: {long}"


FMT_SKIP = re.compile(r"#\s*fmt:\s*(skip|off)\b")


def test_no_module_opts_out_of_the_formatter():
    """Every line is laid out by ``ruff format``: no ``# fmt: skip`` or ``# fmt: off``,
    so that no line's layout is one person's taste to keep by hand."""
    opted_out = {}
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        if rows := [i for i, line in enumerate(lines, 1) if FMT_SKIP.search(line)]:
            opted_out[name] = rows
    assert not opted_out, f"lines the formatter may not touch (module: line numbers): {opted_out}"


def test_the_formatter_check_sees_both_forms():
    assert FMT_SKIP.search("x = (1,  2)  # fmt: skip") and FMT_SKIP.search("# fmt: off")
    assert not FMT_SKIP.search("def save(fig, fmt: str) -> None:")


def test_no_module_imports_the_package_root():
    """Inside the package, code imports the module it needs, never `import bertguide`."""
    offenders = sorted(n for n, deps in GRAPH.items() if "bertguide" in deps and n != "bertguide")
    assert not offenders


def _cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    graph = {n: deps - {"bertguide"} for n, deps in TYPED_GRAPH.items() if n != "bertguide"}
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
    config = TYPED_GRAPH["bertguide.config"]
    monkeypatch.setitem(TYPED_GRAPH, "bertguide.config", config | {"bertguide.model"})
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


# --- private names stay in their module ---------------------------------------------


def _is_private(name: str) -> bool:
    """``_name`` is private; ``__name__`` (a dunder) is not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module an ``ImportFrom`` names, relative imports (``from .x``) resolved."""
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _dotted(node: ast.AST) -> list[str] | None:
    """``a.b.c`` -> ["a", "b", "c"]; None for anything but names and attributes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def private_uses(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every private name ``module`` takes from another bertguide module, in words.

    Three ways are seen, inside ``if TYPE_CHECKING:`` blocks too: ``from bertguide.x
    import _name`` (or a private module, ``bertguide._x``); ``m._name`` where ``m`` came
    from ``import bertguide.x as m`` (or ``from bertguide import x``); and
    ``Name._attr`` where ``Name`` was imported from another bertguide module.
    """
    tree = ast.parse(source)
    found = set()
    origin: dict[str, str] = {}  # local name -> the dotted bertguide name it stands for

    def report(node: ast.AST, dotted: str) -> None:
        parts = dotted.split(".")
        first = next(i for i, part in enumerate(parts) if _is_private(part))
        owner = ".".join(parts[:first])
        if owner != module:
            found.add((node.lineno, parts[first], owner))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "bertguide":
                    continue
                if any(map(_is_private, alias.name.split("."))):
                    report(node, alias.name)
                if alias.asname:
                    origin[alias.asname] = alias.name
                else:
                    origin["bertguide"] = "bertguide"
        elif isinstance(node, ast.ImportFrom):
            source_module = _absolute(node, module, is_package)
            if source_module.split(".")[0] != "bertguide":
                continue
            for alias in node.names:
                dotted = f"{source_module}.{alias.name}"
                if any(map(_is_private, dotted.split("."))):
                    report(node, dotted)
                origin[alias.asname or alias.name] = dotted
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            parts = _dotted(node)
            if parts and parts[0] in origin:
                report(node, ".".join([origin[parts[0]], *parts[1:]]))
    return [f"{module}:{line} uses {name} of {owner}" for line, name, owner in sorted(found)]


def test_no_module_uses_another_modules_private_names():
    """A leading underscore means "this module's own": another module that needs the
    name needs it public, with a docstring, where it belongs."""
    offenders = [
        use
        for name, path in MODULES.items()
        for use in private_uses(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
    ]
    assert not offenders, "private names used across modules:\n" + "\n".join(offenders)


PLANTED = """
from typing import TYPE_CHECKING

import bertguide.gpt
import bertguide.model as model_module
from bertguide import masking
from bertguide.model import BertModel, _padding_mask
from bertguide.version import __version__

if TYPE_CHECKING:
    from bertguide.tokenizer import _WordCache


def _own_helper():
    return model_module._init_weights, masking._as_vocab, BertModel._init_weights


_own_helper(), bertguide.gpt._IGNORED_SUFFIXES, bertguide.gpt.__name__
"""


def test_the_private_name_check_finds_planted_uses():
    found = private_uses(PLANTED, "bertguide.planted")
    assert found == [
        "bertguide.planted:7 uses _padding_mask of bertguide.model",
        "bertguide.planted:11 uses _WordCache of bertguide.tokenizer",
        "bertguide.planted:15 uses _as_vocab of bertguide.masking",
        "bertguide.planted:15 uses _init_weights of bertguide.model",
        "bertguide.planted:15 uses _init_weights of bertguide.model.BertModel",
        "bertguide.planted:18 uses _IGNORED_SUFFIXES of bertguide.gpt",
    ]
    # relative imports are resolved; a module's own private names and dunders are fine
    relative = private_uses("from ..masking import _as_vocab\n", "bertguide.family.albert")
    assert relative == ["bertguide.family.albert:1 uses _as_vocab of bertguide.masking"]
    assert private_uses("import bertguide.model as m\nm._x\n", "bertguide.model") == []
    assert private_uses("from bertguide import __version__\n", "bertguide.cli") == []


def test_the_package_check_names_a_planted_offender(monkeypatch, tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("from bertguide.model import _secret\n", encoding="utf-8")
    monkeypatch.setitem(MODULES, "bertguide.planted", planted)
    offender = "bertguide.planted:1 uses _secret of bertguide.model"
    with pytest.raises(AssertionError, match=re.escape(offender)):
        test_no_module_uses_another_modules_private_names()
