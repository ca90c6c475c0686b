"""The figure registry: registration rules, identical bytes run to run, the cache."""

from __future__ import annotations

import json

import matplotlib
import pytest

from bertguide import figures

matplotlib.use("Agg")


@pytest.fixture
def registry(monkeypatch):
    """No figure modules, and a registry each test fills with its own figures."""
    monkeypatch.setattr(figures, "FIGURE_MODULES", ())
    found: dict[str, figures.Figure] = {}

    def add(function):
        found[function.figure_spec.name] = function.figure_spec
        return function

    original = figures.render_all
    monkeypatch.setattr(
        figures,
        "render_all",
        lambda out_dir, force=False, names=None: original(out_dir, force, names, registry=found),
    )
    return add


def _line_figure():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1, 2], [0, 1, 4], label="squares")
    ax.set_title("x²")
    ax.legend()
    return fig


def test_decorator_marks_and_rejects_bad_names():
    marked = figures.figure("squares", formats=("svg", "png"))(_line_figure)
    assert marked is _line_figure
    assert marked.figure_spec.files == ("squares.svg", "squares.png")
    with pytest.raises(ValueError, match="figure name"):
        figures.figure("../escape")
    with pytest.raises(ValueError, match="formats"):
        figures.figure("x", formats=("jpg",))
    with pytest.raises(ValueError, match="kind"):
        figures.figure("x", kind="pdf")


def test_collect_finds_marked_functions_and_refuses_two_with_one_name():
    import types

    module = types.ModuleType("chapter")

    @figures.figure("one")
    def one():
        return "<p>1</p>"

    @figures.figure("one")
    def other():
        return "<p>other</p>"

    module.one, module.helper = one, len
    assert list(figures.collect([module])) == ["one"]
    module.other = other
    with pytest.raises(ValueError, match="claimed by both"):
        figures.collect([module])


def test_import_registers_nothing_and_load_all_finds_every_chapter():
    import subprocess
    import sys

    code = (
        "import sys, bertguide, bertguide.figures as f;"
        "print('matplotlib' in sys.modules, len(f.FIGURE_MODULES))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", str(len(figures.FIGURE_MODULES))]
    registry = figures.load_all()
    modules = {spec.function.__module__ for spec in registry.values()}
    assert modules == set(figures.FIGURE_MODULES)
    assert "softmax-scaling" in registry and "pattern-gallery" in registry


def test_bytes_identical_when_forced_twice(registry, tmp_path):
    registry(figures.figure("squares", formats=("svg", "png"))(_line_figure))
    figures.render_all(tmp_path, force=True)
    first = {p.name: p.read_bytes() for p in tmp_path.glob("squares.*")}
    figures.render_all(tmp_path, force=True)
    second = {p.name: p.read_bytes() for p in tmp_path.glob("squares.*")}
    assert sorted(first) == ["squares.png", "squares.svg"]
    assert first == second
    svg = first["squares.svg"].decode()
    assert "<dc:date>" not in svg and "<svg" in svg


def test_cache_skips_fresh_and_redraws_changed_or_missing(registry, tmp_path):
    calls = []

    def page():
        calls.append(1)
        return "<!doctype html><p>hello</p>"

    registry(figures.figure("hello", kind="html")(page))
    report = figures.render_all(tmp_path)
    assert (report.rendered, report.cached) == (["hello"], [])
    report = figures.render_all(tmp_path)
    assert (report.rendered, report.cached) == ([], ["hello"])
    assert "0 rendered, 1 cached" in str(report)
    assert len(calls) == 1

    (tmp_path / "hello.html").write_text("edited by hand")
    assert figures.render_all(tmp_path).rendered == ["hello"]
    (tmp_path / "hello.html").unlink()
    assert figures.render_all(tmp_path).rendered == ["hello"]

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["hello"]["inputs"] = "0" * 64  # as if the figure's source had changed
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert figures.render_all(tmp_path).rendered == ["hello"]
    assert len(calls) == 4


def test_input_hash_follows_the_function_source(registry):
    def one():
        return "<p>1</p>"

    def two():
        return "<p>2</p>"

    a = figures.Figure("a", one, kind="html")
    b = figures.Figure("a", two, kind="html")
    assert figures.input_hash(a) == figures.input_hash(a)
    assert figures.input_hash(a) != figures.input_hash(b)


def test_wrong_return_type_is_a_clear_error(registry, tmp_path):
    registry(figures.figure("broken")(lambda: "not a figure"))
    with pytest.raises(TypeError, match="matplotlib Figure"):
        figures.render_all(tmp_path)
    with pytest.raises(ValueError, match="unknown figures"):
        figures.render_all(tmp_path, names=["nope"])


def test_input_hash_follows_the_corpus_the_registry_and_gensim(monkeypatch):
    spec = figures.load_all()["pattern-scores"]
    before = figures.input_hash(spec)
    for module in ("bertguide.corpus", "bertguide.figures", "bertguide.analysis.patterns"):
        original = figures._module_source
        monkeypatch.setattr(
            figures,
            "_module_source",
            lambda name, m=module, o=original: o(name) + (name == m) * "#",
        )
        assert figures.input_hash(spec) != before, module
        monkeypatch.setattr(figures, "_module_source", original)
    original_version = figures._version
    monkeypatch.setattr(
        figures, "_version", lambda d: "9.9" if d == "gensim" else original_version(d)
    )
    assert figures.input_hash(spec) != before
