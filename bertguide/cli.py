"""The ``bertguide`` command.

    bertguide info       the embedded model, its hash check and the versions in use
    bertguide figures    render every figure the site uses (cached)

Bad input (an unwritable output folder, a model directory that is not one) or a
broken install of the embedded model prints one line on stderr and exits with code 2;
no traceback reaches the user. Only those errors are turned into one line: anything
else is a bug in the package and keeps its traceback, so it can be reported.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from bertguide import figures, pretrained
from bertguide.pretrained import PretrainedModelError

EXIT_USAGE = 2


class UsageError(Exception):
    """What the user asked for cannot be done; the message says why, in one line."""


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def cmd_info(args: argparse.Namespace) -> int:
    directory = pretrained.default_model_dir()
    digests = pretrained.verify_default(directory)
    config = pretrained.read_config(directory)
    lines = [
        f"bertguide {_version('bertguide')}",
        f"python {platform.python_version()}",
        *(
            f"{name} {_version(name)}"
            for name in ("torch", "transformers", "safetensors", "gensim", "numpy")
        ),
        "",
        f"embedded model: {pretrained.DEFAULT_MODEL}",
        f"  package: {pretrained.DEFAULT_PACKAGE} {_version(pretrained.DEFAULT_PACKAGE)}",
        f"  path: {directory}",
        *(f"  sha256 {name}: {digest} (ok)" for name, digest in digests.items()),
        "  shape: {num_hidden_layers} layers, {num_attention_heads} heads, "
        "hidden size {hidden_size}, vocabulary {vocab_size}".format(**config),
    ]
    print("\n".join(lines))
    return 0


def writable_folder(path: str) -> Path:
    """``path`` as a folder that exists (made if needed) and can be written to."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".bertguide-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UsageError(f"cannot write to {folder}: {error.strerror or error}") from error
    return folder


def cmd_figures(args: argparse.Namespace) -> int:
    writable_folder(args.out)
    report = figures.render_all(args.out, force=args.force)
    print(report)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bertguide", description="How BERT works: the guide's command-line tools."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="show the embedded model, its hash check and versions")
    info.set_defaults(run=cmd_info)
    figs = sub.add_parser("figures", help="render every figure the site uses")
    figs.add_argument("--out", default="docs/figures", help="output folder (docs/figures)")
    figs.add_argument("--force", action="store_true", help="re-render even when cached")
    figs.set_defaults(run=cmd_figures)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (UsageError, PretrainedModelError) as error:
        message = " ".join(str(error).split())  # one line, whatever the message held
        print(f"bertguide: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
