"""One version everywhere: the package, the wheel, the notebooks' install cell, the site's
footer and its Colab links, ``bertguide info``, the changelog and the install commands the
README and the home page show all name the version written in ``bertguide/version.py``."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest
from packaging.version import Version

import bertguide
from bertguide import version as version_module

ROOT = Path(__file__).resolve().parent.parent
VERSION = bertguide.__version__


def _script(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


chapter_notebooks = _script("chapter_notebooks")


def test_the_version_is_written_once_and_read_from_there():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    assert str(Version(VERSION)) == VERSION  # a canonical PEP 440 version
    assert version_module.__version__ == VERSION
    assert chapter_notebooks.package_version() == VERSION  # read without importing
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "bertguide.version.__version__"}


def test_the_installed_package_is_this_version():
    """An editable install records its version when it is installed: after a change of
    bertguide/version.py, `make install` installs again (its stamp depends on the file)."""
    assert importlib.metadata.version("bertguide") == VERSION, "reinstall: `make install`"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^\$\(STAMPS\)/python:.*bertguide/version\.py", makefile, re.M)


def test_package_version_reads_the_assignment(tmp_path: Path):
    path = tmp_path / "version.py"
    path.write_text('"""Doc."""\n\nOTHER = "9"\n__version__ = "1.2.3"\n', encoding="utf-8")
    assert chapter_notebooks.package_version(path) == "1.2.3"
    path.write_text("VERSION = '1'\n", encoding="utf-8")
    try:
        chapter_notebooks.package_version(path)
    except RuntimeError as error:
        assert "no __version__" in str(error)
    else:
        raise AssertionError("a file without __version__ must fail")


def test_every_notebook_installs_exactly_this_version():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 10
    for path in notebooks:
        cell = nbformat.read(path, as_version=4).cells[0]
        assert cell.cell_type == "code", path.name
        assert cell.source == chapter_notebooks.install_cell(VERSION), path.name
        assert set(re.findall(r"bertguide==(\S+)", cell.source)) == {VERSION}, path.name
        assert f"%pip install --quiet bertguide=={VERSION}" in cell.source
        assert f"bertguide-{VERSION}-py3-none-any.whl" in cell.source  # without a network


def test_the_install_cell_installs_only_when_the_version_differs():
    """Run the cell's Python with the pip magic replaced: it asks for the install exactly
    when bertguide is missing or another version."""
    source = chapter_notebooks.install_cell("1.2.3")
    code = source.replace("%pip install --quiet bertguide==1.2.3", "asked.append('1.2.3')")
    assert "%pip" not in "\n".join(
        line for line in code.splitlines() if not line.lstrip().startswith("#")
    )
    for installed, expected in (("1.2.3", []), ("1.2.2", ["1.2.3"]), (None, ["1.2.3"])):

        def version(name, installed=installed):
            assert name == "bertguide"
            if installed is None:
                raise importlib.metadata.PackageNotFoundError(name)
            return installed

        namespace = {"asked": []}
        original = importlib.metadata.version
        importlib.metadata.version = version
        try:
            exec(compile(code, "install-cell", "exec"), namespace)
        finally:
            importlib.metadata.version = original
        assert namespace["asked"] == expected, installed


def test_the_footer_and_the_colab_links_name_this_version():
    hooks = _script("mkdocs_hooks")
    assert f"bertguide {VERSION}," in hooks.tested_with()
    assert hooks.release_tag() == f"v{VERSION}"


def test_bertguide_info_names_this_version(capsys):
    from bertguide import cli

    try:
        cli.main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out.strip() == f"bertguide {VERSION}"


def test_the_changelog_has_this_release():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n")
    assert "[Keep a Changelog](https://keepachangelog.com/en/1.1.0/)" in text
    assert "## [Unreleased]" in text
    released = re.findall(r"^## \[(\d[^\]]*)\] - (\d{4}-\d{2}-\d{2})$", text, re.M)
    assert released and released[0][0] == VERSION, "the newest entry is this version"
    assert f"[{VERSION}]: https://github.com/bertguide/bertguide/releases/tag/v{VERSION}" in text


def test_the_readme_and_the_home_page_show_the_reader_s_install():
    for name in ("README.md", "docs/index.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert f"pip install bertguide=={VERSION}" in text, name
        git = f'pip install "git+https://github.com/bertguide/bertguide@v{VERSION}"'
        assert git in text, name
        assert "python -m build" in text, name
        pinned = set(re.findall(r"bertguide==(\d[\w.]*)", text))
        assert pinned == {VERSION}, (name, pinned)
