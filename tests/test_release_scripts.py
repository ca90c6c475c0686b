"""The release's own checks: the oldest versions pyproject.toml promises
(scripts/oldest_constraints.py) and what a release uploads (scripts/check_dist.py)."""

from __future__ import annotations

import importlib.util
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


oldest_constraints = _script("oldest_constraints")
check_dist = _script("check_dist")


def test_every_declared_dependency_has_a_lower_bound_that_becomes_a_pin():
    pins = oldest_constraints.oldest(["test", "docs"])
    assert pins["torch"] and pins["transformers"] and pins["mkdocstrings"]
    assert "huggingface-hub" in pins  # names are normalised, so pip matches them


def test_lower_bounds_are_read_and_missing_ones_refused(tmp_path: Path):
    assert oldest_constraints.lower_bound("mkdocstrings[python]>=1.0.8") == (
        "mkdocstrings",
        "1.0.8",
    )
    assert oldest_constraints.lower_bound("numpy>=1.24,<3") == ("numpy", "1.24")
    for bad in ("numpy", "numpy<3", "numpy==1.24"):
        with pytest.raises(ValueError, match="exactly one lower bound"):
            oldest_constraints.lower_bound(bad)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\ndependencies = ["a>=1"]\n[project.optional-dependencies]\nx = ["A>=2"]\n'
    )
    with pytest.raises(ValueError, match="two lower bounds"):
        oldest_constraints.oldest(["x"], pyproject)
    with pytest.raises(ValueError, match="no extras"):
        oldest_constraints.oldest(["y"], pyproject)


def _dist(folder: Path, version: str = "1.2.3", extra: dict[str, str] | None = None) -> Path:
    folder.mkdir()
    info = f"bertguide-{version}.dist-info"
    files = {name: "x" for name in check_dist.REQUIRED_IN_WHEEL}
    files |= {
        "bertguide/data/runs/a/report.json": "{}",
        f"{info}/METADATA": "",
        f"{info}/licenses/LICENSE": "MIT",
        **(extra or {}),
    }
    with zipfile.ZipFile(folder / f"bertguide-{version}-py3-none-any.whl", "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
    with tarfile.open(folder / f"bertguide-{version}.tar.gz", "w:gz") as sdist:
        for name in ("pyproject.toml", "README.md", "LICENSE", "PKG-INFO", "bertguide/version.py"):
            member = tarfile.TarInfo(f"bertguide-{version}/{name}")
            sdist.addfile(member, io.BytesIO(b""))
    return folder


def test_a_clean_release_passes_and_the_tag_must_match(tmp_path: Path, capsys):
    dist = _dist(tmp_path / "dist")
    assert check_dist.check(dist, "v1.2.3") == []
    assert "bertguide-1.2.3-py3-none-any.whl: 0.00 MB" in capsys.readouterr().out
    assert check_dist.check(dist, "v1.2.4") == [
        "the tag v1.2.4 is not v + the package's version 1.2.3"
    ]


def test_files_a_reader_does_not_need_are_refused(tmp_path: Path):
    dist = _dist(tmp_path / "dist", extra={"tests/test_x.py": "", "bertguide/a.pyc": ""})
    problems = check_dist.check(dist)
    assert any("tests/test_x.py is neither the package" in p for p in problems)
    assert any("bertguide/a.pyc is not for readers" in p for p in problems)


def test_a_stray_file_in_dist_is_refused(tmp_path: Path):
    dist = _dist(tmp_path / "dist")
    (dist / "bertguide-1.2.2-py3-none-any.whl").write_bytes(b"")
    assert "not one pure-Python bertguide wheel" in check_dist.check(dist)[0]
