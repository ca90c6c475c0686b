"""Check what a release would upload: the sdist and the wheel in ``dist/``.

    python scripts/check_dist.py dist                # after `python -m build`
    python scripts/check_dist.py dist --tag v0.1.0   # ... and the tag names that version

It fails (exit 1, one line a problem) unless ``dist/`` holds exactly one sdist and one
wheel of ``bertguide``, of one version (the build read it from ``bertguide/version.py``),
and that version is the tag's when a tag is given. The wheel must hold only the package,
its data files and its metadata (no tests, docs, notebooks, build outputs, caches or
compiled files), with what a reader's examples read (the vendored scripts and their
licences, the shipped reports) and the licence; the sdist the package's sources,
``pyproject.toml``, the README and the licence. Each file must stay under PyPI's default
limit of 100 MB a file; their sizes are printed.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import zipfile
from pathlib import Path

PYPI_LIMIT = 100 * 1024 * 1024  # bytes: PyPI's default upload limit for one file
# what no reader needs: folders of the repository, build outputs, caches, compiled files
UNWANTED = ("tests/", "docs/", "notebooks/", "benchmarks/", "node_modules/", "site/", ".")
UNWANTED_PARTS = ("__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".wheelcheck")
REQUIRED_IN_WHEEL = (
    "bertguide/__init__.py",
    "bertguide/version.py",
    "bertguide/export/vendor/d3-selection/d3-selection.min.js",
    "bertguide/export/vendor/d3-selection/LICENSE",
    "bertguide/export/vendor/jquery/jquery.slim.min.js",
    "bertguide/export/vendor/jquery/LICENSE.txt",
)


def _unwanted(name: str) -> bool:
    parts = name.split("/")
    return (
        name.startswith(UNWANTED)
        or any(part in UNWANTED_PARTS for part in parts)
        or name.endswith((".pyc", ".pyo", ".so"))
    )


def wheel_problems(path: Path, version: str) -> list[str]:
    with zipfile.ZipFile(path) as wheel:
        names = [n for n in wheel.namelist() if not n.endswith("/")]
    info = f"bertguide-{version}.dist-info/"
    problems = [
        f"{path.name}: {n} is neither the package nor its metadata"
        for n in names
        if not n.startswith(("bertguide/", info))
    ]
    problems += [f"{path.name}: {n} is not for readers" for n in names if _unwanted(n)]
    problems += [f"{path.name}: {n} is missing" for n in REQUIRED_IN_WHEEL if n not in names]
    if not any(n.startswith("bertguide/data/") and n.endswith(".json") for n in names):
        problems.append(f"{path.name}: no shipped reports (bertguide/data/**/*.json)")
    if not any(n.startswith(info) and "/licenses/LICENSE" in n for n in names):
        problems.append(f"{path.name}: the licence is missing")
    return problems


def sdist_problems(path: Path, version: str) -> list[str]:
    top = f"bertguide-{version}/"
    with tarfile.open(path) as sdist:
        names = [m.name for m in sdist.getmembers() if m.isfile()]
    problems = [f"{path.name}: {n} is outside {top}" for n in names if not n.startswith(top)]
    inner = [n.removeprefix(top) for n in names]
    problems += [f"{path.name}: {n} is not for readers" for n in inner if _unwanted(n)]
    for needed in ("pyproject.toml", "README.md", "LICENSE", "PKG-INFO", "bertguide/version.py"):
        if needed not in inner:
            problems.append(f"{path.name}: {needed} is missing")
    return problems


def check(dist: Path, tag: str | None = None) -> list[str]:
    """Every problem of ``dist``'s files, as one line each; [] when it may be uploaded."""
    files = sorted(p for p in Path(dist).iterdir() if p.is_file())
    wheels = [p.name for p in files if p.name.endswith("-py3-none-any.whl")]
    if len(wheels) != 1 or not wheels[0].startswith("bertguide-"):
        return [f"{dist} holds {[p.name for p in files]}: not one pure-Python bertguide wheel"]
    version = wheels[0].removeprefix("bertguide-").removesuffix("-py3-none-any.whl")
    problems = []
    if tag is not None and tag != f"v{version}":
        problems.append(f"the tag {tag} is not v + the package's version {version}")
    wheel, sdist = f"bertguide-{version}-py3-none-any.whl", f"bertguide-{version}.tar.gz"
    if [p.name for p in files] != sorted([wheel, sdist]):
        return [*problems, f"{dist} holds {[p.name for p in files]}, not {sdist} and {wheel}"]
    for path in files:
        size = path.stat().st_size
        print(f"{path.name}: {size / 1e6:.2f} MB")
        if size > PYPI_LIMIT:
            problems.append(f"{path.name} is over PyPI's limit of {PYPI_LIMIT / 1e6:.0f} MB")
    problems += wheel_problems(Path(dist) / wheel, version)
    problems += sdist_problems(Path(dist) / sdist, version)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist", type=Path, help="the folder python -m build wrote")
    parser.add_argument("--tag", help="the git tag being released (v0.1.0)")
    args = parser.parse_args(argv)
    problems = check(args.dist, args.tag)
    for problem in problems:
        print(f"check_dist: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
