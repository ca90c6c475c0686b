"""Put the front-end files the site serves into docs/assets/vendor.

Two sources, one copy each:

* KaTeX and onnxruntime-web (the Playground's engine) come from node_modules
  (``npm ci`` reads package-lock.json) and are never committed;
* the libraries the interactive attention views call (d3's selection module,
  jQuery's slim build) are shipped inside the package, in
  ``bertguide/export/vendor`` (committed, so that ``pip install`` carries them), and the site
  serves those same files.

Run from the repository root:

    python scripts/vendor_assets.py            # fill docs/assets/vendor (git-ignored)
    python scripts/vendor_assets.py --package  # refresh bertguide/export/vendor from node_modules

``--package`` is for a version bump: change package.json, run ``npm install``, then
this; it copies the files unchanged and writes a NOTICE naming the npm package and
its exact version next to them. tests/export/test_vendor.py checks that the committed copies
are byte-identical to the npm release that package-lock.json pins.

A missing source means ``npm ci`` did not run or package.json lost a dependency, and
stops the build with a message that says so.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "docs" / "assets" / "vendor"
PACKAGE_VENDOR = ROOT / "bertguide" / "export" / "vendor"

# node_modules path -> docs/assets/vendor path
SITE_FILES = {
    # KaTeX renders the chapters' formulas (pymdownx.arithmatex, generic mode).
    "katex/dist/katex.min.js": "katex/katex.min.js",
    "katex/dist/katex.min.css": "katex/katex.min.css",
    "katex/dist/fonts": "katex/fonts",
    "katex/dist/contrib/auto-render.min.js": "katex/auto-render.min.js",
    # onnxruntime-web runs the Playground's model in the reader's browser: its WebAssembly
    # build only (an ES module, its loader and the engine), on one thread.
    "onnxruntime-web/dist/ort.wasm.min.mjs": "onnxruntime-web/ort.wasm.min.mjs",
    "onnxruntime-web/dist/ort-wasm-simd-threaded.mjs": (
        "onnxruntime-web/ort-wasm-simd-threaded.mjs"
    ),
    "onnxruntime-web/dist/ort-wasm-simd-threaded.wasm": (
        "onnxruntime-web/ort-wasm-simd-threaded.wasm"
    ),
}

# npm package -> (its files that bertguide/export/vendor/<package>/ holds, unchanged). bertviz's
# views, as bertguide/export/views.py patches them, call d3.select (d3 5.16.0 bundles this module
# at this version) and jQuery's selectors, events and .val(): its slim build has them all.
PACKAGE_FILES = {
    "d3-selection": ("dist/d3-selection.min.js", "LICENSE"),
    "jquery": ("dist/jquery.slim.min.js", "LICENSE.txt"),
}
WHY = {
    "d3-selection": "d3.select in bertviz's views (d3 5.16.0 bundles this module)",
    "jquery": "jQuery in bertviz's views: its slim build (no ajax, no effects)",
}


def _source(name: str) -> Path:
    source = NODE_MODULES / name
    if not source.exists():
        raise SystemExit(f"vendor_assets: {source} is missing: run `npm ci` in {ROOT} first")
    return source


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copyfile(source, target)


def notice(package: str, version: str, files: tuple[str, ...]) -> str:
    """The NOTICE written beside a vendored npm package's files."""
    names = ", ".join(f"{Path(f).name} (npm: {f})" for f in files)
    return (
        f"{package} {version}, from npm (https://www.npmjs.com/package/{package}/v/{version}),\n"
        f"copied unchanged by scripts/vendor_assets.py --package: {names}.\n"
        f"Used for: {WHY[package]}.\n"
        f"Licence: see the LICENSE file beside this one.\n"
    )


def vendor_package() -> list[Path]:
    """Refresh bertguide/export/vendor from node_modules: the files unchanged, plus a NOTICE."""
    written = []
    for package, files in PACKAGE_FILES.items():
        version = json.loads((_source(package) / "package.json").read_text())["version"]
        folder = PACKAGE_VENDOR / package
        if folder.exists():
            shutil.rmtree(folder)
        for name in files:
            _copy(_source(f"{package}/{name}"), folder / Path(name).name)
            written.append(folder / Path(name).name)
        (folder / "NOTICE").write_text(notice(package, version, files), encoding="utf-8")
        written.append(folder / "NOTICE")
    return written


def vendor() -> list[Path]:
    """Fill docs/assets/vendor afresh: KaTeX from node_modules, the views' libraries from
    the package."""
    if VENDOR.exists():
        shutil.rmtree(VENDOR)  # generated and git-ignored: no stale files are published
    copied = []
    for source_name, target_name in SITE_FILES.items():
        _copy(_source(source_name), VENDOR / target_name)
        copied.append(VENDOR / target_name)
    for package in PACKAGE_FILES:
        folder = PACKAGE_VENDOR / package
        if not folder.is_dir():
            raise SystemExit(f"vendor_assets: {folder} is missing: run with --package first")
        _copy(folder, VENDOR / package)
        copied.append(VENDOR / package)
    return copied


if __name__ == "__main__":
    if sys.argv[1:] == ["--package"]:
        done = vendor_package()
        print(f"vendor_assets: {len(done)} files written into {PACKAGE_VENDOR.relative_to(ROOT)}")
    elif sys.argv[1:]:
        raise SystemExit("usage: python scripts/vendor_assets.py [--package]")
    else:
        done = vendor()
        print(f"vendor_assets: {len(done)} entries copied into {VENDOR.relative_to(ROOT)}")
    sys.exit(0)
