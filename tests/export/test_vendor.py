"""The d3 and jQuery files shipped in bertguide/export/vendor are the npm releases the lock file
pins, byte for byte, with their licences, and a plain install carries them."""

from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path

import pytest

from bertguide.export import views

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "bertguide" / "export" / "vendor"
NODE_MODULES = ROOT / "node_modules"

sys.path.insert(0, str(ROOT / "scripts"))
import vendor_assets  # noqa: E402

sys.path.remove(str(ROOT / "scripts"))


def _locked_version(package: str) -> str:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    return lock["packages"][f"node_modules/{package}"]["version"]


def test_the_views_libraries_are_vendored_with_licence_and_notice():
    named = {path for paths in views.LIBRARIES.values() for path in paths}
    shipped = {
        f"{p}/{Path(f).name}" for p, files in vendor_assets.PACKAGE_FILES.items() for f in files
    }
    assert named <= shipped
    for package in vendor_assets.PACKAGE_FILES:
        folder = VENDOR / package
        assert any(folder.glob("LICENSE*")), package
        notice = (folder / "NOTICE").read_text(encoding="utf-8")
        assert notice.startswith(f"{package} {_locked_version(package)}, from npm"), notice
    # d3-selection is d3 5's own module, jQuery the version package.json asks for
    pins = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    assert _locked_version("jquery") == pins["jquery"]
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert _locked_version("d3") == pins["d3"] == "5.16.0"
    assert "d3-selection" in lock["packages"]["node_modules/d3"]["dependencies"]


def test_the_vendored_files_are_the_npm_release_byte_for_byte():
    if not NODE_MODULES.is_dir():
        pytest.skip("node_modules is absent: run `npm ci` to compare with the npm release")
    for package, files in vendor_assets.PACKAGE_FILES.items():
        installed = json.loads((NODE_MODULES / package / "package.json").read_text())["version"]
        assert installed == _locked_version(package), (package, installed)
        for name in files:
            shipped = (VENDOR / package / Path(name).name).read_bytes()
            assert shipped == (NODE_MODULES / package / name).read_bytes(), (package, name)
        # and the NOTICE is the one the script writes for this version
        expected = vendor_assets.notice(package, installed, files)
        assert (VENDOR / package / "NOTICE").read_text(encoding="utf-8") == expected


def test_a_plain_install_carries_the_vendored_files_and_bertviz():
    """pip builds the wheel from pyproject.toml: its package data must match every file."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["package-data"]["bertguide"]
    for path in VENDOR.rglob("*"):
        if path.is_file():
            relative = path.relative_to(ROOT / "bertguide").as_posix()
            assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative
    dependencies = [d.split(">")[0].split("=")[0] for d in project["project"]["dependencies"]]
    assert "bertviz" in dependencies  # the views read bertviz's scripts at run time
