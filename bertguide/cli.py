"""The ``bertguide`` command.

    bertguide info       the embedded model, its hash check and the versions in use
    bertguide figures    render every figure the site uses (cached)

Bad input or a broken install prints one line on stderr and exits with code 2;
no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence
from importlib import metadata

EXIT_USAGE = 2


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def cmd_info(args: argparse.Namespace) -> int:
    from bertguide import __version__, pretrained

    directory = pretrained.default_model_dir()
    digests = pretrained.verify_default(directory)
    config = pretrained.read_config(directory)
    lines = [
        f"bertguide {__version__}",
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


def cmd_figures(args: argparse.Namespace) -> int:
    from bertguide import figures

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
    except (ValueError, TypeError, OSError) as error:
        print(f"bertguide: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
