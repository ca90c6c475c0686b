"""Copy the front-end files the site serves from node_modules into docs/assets/vendor.

The files come from npm at build time (``npm ci`` reads package-lock.json) and are
never committed: docs/assets/vendor is git-ignored. Run from the repository root:

    python scripts/vendor_assets.py

Each entry maps a path under node_modules (a file or a folder) to a path under
docs/assets/vendor. A missing source means ``npm ci`` did not run or package.json
lost a dependency, and stops the build with a message that says so.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "docs" / "assets" / "vendor"

# node_modules path -> vendor path
FILES = {
    # KaTeX renders the chapters' formulas (pymdownx.arithmatex, generic mode).
    "katex/dist/katex.min.js": "katex/katex.min.js",
    "katex/dist/katex.min.css": "katex/katex.min.css",
    "katex/dist/fonts": "katex/fonts",
    "katex/dist/contrib/auto-render.min.js": "katex/auto-render.min.js",
    # d3 5 and jQuery draw the interactive attention views (bertviz's head and model view).
    "d3/dist/d3.min.js": "d3/d3.min.js",
    "d3/LICENSE": "d3/LICENSE",
    "jquery/dist/jquery.min.js": "jquery/jquery.min.js",
    "jquery/LICENSE.txt": "jquery/LICENSE.txt",
}


def vendor(files: dict[str, str] = FILES) -> list[Path]:
    copied = []
    for source_name, target_name in files.items():
        source = NODE_MODULES / source_name
        target = VENDOR / target_name
        if not source.exists():
            raise SystemExit(f"vendor_assets: {source} is missing: run `npm ci` in {ROOT} first")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)
        copied.append(target)
    return copied


if __name__ == "__main__":
    done = vendor()
    print(f"vendor_assets: {len(done)} entries copied into {VENDOR.relative_to(ROOT)}")
    sys.exit(0)
