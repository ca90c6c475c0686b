"""The oldest versions ``pyproject.toml`` promises, written as a pip constraints file.

Each direct dependency's lower bound becomes a pin (``torch>=2.4`` -> ``torch==2.4``),
for the package and for the extras named on the command line. The scheduled
compatibility workflow (``.github/workflows/compat.yml``) installs with this file and
runs the tests and the wheel check, so that every lower bound pyproject.toml declares
is a version a test has run. A dependency without a lower bound is an error: it would
promise every version ever released.

    python scripts/oldest_constraints.py              # the package's own dependencies
    python scripts/oldest_constraints.py test docs    # ... and those of the extras
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?(?P<spec>.*)$")


def lower_bound(requirement: str) -> tuple[str, str]:
    """``(name, oldest version)`` of a requirement such as ``mkdocstrings[python]>=1.0``."""
    match = REQUIREMENT.match(requirement.split(";")[0])
    if match is None:
        raise ValueError(f"cannot read the requirement {requirement!r}")
    parts = [part.strip() for part in match["spec"].split(",")]
    bounds = [part[2:].strip() for part in parts if part.startswith(">=")]
    if len(bounds) != 1:
        raise ValueError(f"{requirement!r} needs exactly one lower bound (>=)")
    return match["name"], bounds[0]


def oldest(extras: list[str], pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """``{name: oldest version}`` for the dependencies and the ``extras``."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    unknown = sorted(set(extras) - set(optional))
    if unknown:
        raise ValueError(f"pyproject.toml has no extras {unknown}; it has {sorted(optional)}")
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += optional[extra]
    pins: dict[str, str] = {}
    for requirement in requirements:
        name, version = lower_bound(requirement)
        key = re.sub(r"[-_.]+", "-", name).lower()
        if pins.setdefault(key, version) != version:
            raise ValueError(f"{name} has two lower bounds: {pins[key]} and {version}")
    return pins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extras", nargs="*", help="extras whose dependencies to add")
    args = parser.parse_args(argv)
    try:
        pins = oldest(args.extras)
    except ValueError as error:
        print(f"oldest_constraints: {error}", file=sys.stderr)
        return 2
    print("# the lower bounds of pyproject.toml (scripts/oldest_constraints.py)")
    for name, version in sorted(pins.items()):
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
