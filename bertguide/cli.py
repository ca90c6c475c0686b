"""The ``bertguide`` command: the guide's model from a terminal.

    bertguide tokenize TEXT [--pair TEXT] [--json]       pieces, ids and segments
    bertguide attention TEXT [--pair TEXT] --out FILE    an offline view (.html) or a
                        [--layer L] [--head H]           heatmap (.svg, .png)
    bertguide fill-mask TEXT [--top-k K] [--json]        the likeliest tokens per [MASK]
    bertguide next-sentence A B [--json]                 the probability that B follows A
    bertguide embed TEXT... [--json]                     sentence vectors, cosines
    bertguide figures [--out DIR] [--force]              render the site's figures
    bertguide info                                       model, hash check, versions

Every command that runs a model takes ``--model PATH``, a local Hugging Face-format
BERT directory; without it the embedded default is used. Results go to stdout, plain
or as JSON (``--json``), so they can be piped; messages and progress go to stderr.

Bad input (empty text, an unwritable or unknown output file, a directory that is not
a model, text too long for the model) or a broken install of the embedded model prints
one line on stderr and exits with code 2; no traceback reaches the user. Only those
errors are turned into one line: anything else is a bug in the package and keeps its
traceback, so it can be reported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path

import torch

from bertguide import figures, pretrained
from bertguide.analysis.attention_maps import get_attention
from bertguide.export.views import attention_view
from bertguide.figures.attention_maps import plot_attention
from bertguide.inference import default_pretraining_model, fill_mask, next_sentence
from bertguide.model import BertModel
from bertguide.pretrained import PretrainedModelError
from bertguide.pretraining import BertForPreTraining
from bertguide.tokenizer import WordPieceTokenizer
from bertguide.version import __version__

EXIT_USAGE = 2
ATTENTION_FORMATS = (".html", ".svg", ".png")


class UsageError(Exception):
    """What the user asked for cannot be done; the message says why, in one line."""


@contextlib.contextmanager
def users_input(what: str) -> Iterator[None]:
    """Turn the ValueError/TypeError a library call raises about ``what`` the user gave
    into a UsageError. Used only around calls whose input comes from the command line."""
    try:
        yield
    except (ValueError, TypeError) as error:
        raise UsageError(f"{what}: {error}") from error


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _text(value: str, name: str = "TEXT") -> str:
    if not value.strip():
        raise UsageError(f"{name} is empty: give some text to work on")
    return value


def _load(args: argparse.Namespace):
    """The tokenizer and encoder of ``--model`` (or the embedded default)."""
    return WordPieceTokenizer.from_pretrained(args.model), BertModel.from_pretrained(args.model)


def _print_json(value) -> None:
    print(json.dumps(value, ensure_ascii=False))


# --- tokenize ---------------------------------------------------------------------


def cmd_tokenize(args: argparse.Namespace) -> int:
    text = _text(args.text)
    pair = None if args.pair is None else _text(args.pair, "--pair")
    tok = WordPieceTokenizer.from_pretrained(args.model)
    with users_input("TEXT"):
        batch = tok(text, pair, truncation=args.max_length is not None, max_length=args.max_length)
    ids = batch["input_ids"][0].tolist()
    segments = batch["token_type_ids"][0].tolist()
    tokens = tok.convert_ids_to_tokens(ids)
    if args.json:
        _print_json({"tokens": tokens, "input_ids": ids, "token_type_ids": segments})
        return 0
    width = max(len("token"), *(len(t) for t in tokens))
    print(f"{'#':>3}  {'token':<{width}}  {'id':>6}  segment")
    for i, (token, token_id, segment) in enumerate(zip(tokens, ids, segments, strict=True)):
        print(f"{i:>3}  {token:<{width}}  {token_id:>6}  {'AB'[segment]}")
    return 0


# --- attention --------------------------------------------------------------------


def _output_file(path: str, formats: tuple[str, ...]) -> Path:
    out = Path(path)
    if out.suffix.lower() not in formats:
        raise UsageError(f"--out must end in one of {', '.join(formats)}, got {path!r}")
    if out.is_dir():
        raise UsageError(f"--out {path!r} is a folder: give a file name")
    if not out.parent.is_dir():
        raise UsageError(f"cannot write {path!r}: the folder {str(out.parent)!r} does not exist")
    return out


def cmd_attention(args: argparse.Namespace) -> int:
    text = _text(args.text)
    pair = None if args.pair is None else _text(args.pair, "--pair")
    out = _output_file(args.out, ATTENTION_FORMATS)
    tok, model = _load(args)
    with users_input("TEXT"):
        attention = get_attention(text, pair, model=model, tokenizer=tok)
    L, N = attention.num_layers, attention.num_heads
    if not 0 <= args.layer < L:
        raise UsageError(f"--layer must be in [0, {L}), got {args.layer}")
    if args.head is not None and not 0 <= args.head < N:
        raise UsageError(f"--head must be in [0, {N}) or left out (mean of heads)")
    try:
        if out.suffix.lower() == ".html":
            attention_view(attention, view=args.view, layer=args.layer).save(out)
        else:
            _save_heatmap(attention, args.layer, args.head, out)
    except OSError as error:
        raise UsageError(f"cannot write {str(out)!r}: {error.strerror or error}") from error
    print(out)
    return 0


def _save_heatmap(attention, layer: int, head: int | None, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plot_attention(attention, layer, head)
    try:
        fig.savefig(out, dpi=150)
    finally:
        plt.close(fig)


# --- fill-mask and next-sentence -------------------------------------------------


def _pretraining_model(args: argparse.Namespace):
    if args.model is None:
        return default_pretraining_model(), WordPieceTokenizer.from_pretrained()
    model = BertForPreTraining.from_pretrained(args.model)
    if not model.heads_loaded:
        raise UsageError(
            f"{args.model} has no trained pre-training heads ({', '.join(model.fresh_heads)} "
            f"missing): use a BertForPreTraining checkpoint, or leave out --model"
        )
    return model, WordPieceTokenizer.from_pretrained(args.model)


def cmd_fill_mask(args: argparse.Namespace) -> int:
    text = _text(args.text)
    if args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1, got {args.top_k}")
    model, tok = _pretraining_model(args)
    with users_input("TEXT"):
        results = fill_mask(text, args.top_k, model=model, tokenizer=tok)
    if args.json:
        _print_json([[{"token": t, "probability": p} for t, p in result] for result in results])
        return 0
    for k, result in enumerate(results):
        if len(results) > 1:
            print(f"[MASK] {k + 1}:")
        for token, probability in result:
            print(f"{probability:8.4f}  {token}")
    return 0


def cmd_next_sentence(args: argparse.Namespace) -> int:
    a, b = _text(args.a, "A"), _text(args.b, "B")
    model, tok = _pretraining_model(args)
    with users_input("A and B"):
        probability = next_sentence(a, b, model=model, tokenizer=tok)
    if args.json:
        _print_json({"is_next": probability})
    else:
        print(f"{probability:.4f}  probability that B follows A")
    return 0


# --- embed --------------------------------------------------------------------------


def cmd_embed(args: argparse.Namespace) -> int:
    texts = [_text(t) for t in args.texts]
    tok, model = _load(args)
    with users_input("TEXT"):
        batch = tok(texts, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state  # (B, T, C)
    mask = batch["attention_mask"].unsqueeze(-1).float()  # (B, T, 1)
    vectors = (hidden * mask).sum(1) / mask.sum(1)  # (B, C): mean of the real tokens
    vectors = torch.nn.functional.normalize(vectors, dim=-1)
    cosines = vectors @ vectors.T  # (B, B)
    if args.json:
        _print_json(
            {
                "texts": texts,
                "vectors": [[round(x, 6) for x in row] for row in vectors.tolist()],
                "cosine": [[round(x, 6) for x in row] for row in cosines.tolist()],
            }
        )
        return 0
    print(
        f"{len(texts)} vectors of {vectors.shape[1]} numbers (mean of the last layer, unit length)"
    )
    for i, text in enumerate(texts):
        first = " ".join(f"{x:+.3f}" for x in vectors[i, :4].tolist())
        print(f"{i}: [{first} ...]  {text}")
    if len(texts) > 1:
        print("cosine similarity:")
        for i in range(len(texts)):
            print("  " + "  ".join(f"{x:6.3f}" for x in cosines[i].tolist()))
    return 0


# --- figures and info -------------------------------------------------------------


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
    print(figures.render_all(args.out, force=args.force))
    return 0


def cmd_experiments(args: argparse.Namespace) -> int:
    from bertguide.experiments import refresh
    from bertguide.experiments.registry import BY_NAME

    unknown = [name for name in args.only if name not in BY_NAME]
    if unknown:
        raise UsageError(f"no run named {unknown[0]!r}; the runs are {', '.join(BY_NAME)}")
    if args.dry_run:
        return refresh.dry_run(args.only or None, log=_flushed_print)
    return refresh.refresh(args.only or None, write=args.write, log=_flushed_print)


def _flushed_print(*parts, flush: bool = True) -> None:
    print(*parts, flush=flush)


def _restored_lines() -> list[str]:
    """Which model fill-mask uses by default, where it comes from, and what it scores."""
    from bertguide.experiments import store, weights
    from bertguide.pretrained import sha256_file

    record = store.shipped_record("restored-heads")
    if weights.has_shipped("restored-heads"):
        path = weights.weights_path("restored-heads")
        entry, report = record["weights"], record["report"]
        ok = "ok" if sha256_file(path) == entry["sha256"] else "MISMATCH"
        return [
            "restored MLM/NSP heads (fill-mask, next-sentence): shipped with the package, "
            f"held-out MLM top-1 {report['mlm_accuracy']:.1%}, NSP {report['nsp_accuracy']:.1%}",
            f"  path: {path}",
            f"  sha256: {entry['sha256']} ({ok}); made {record['provenance']['date']}",
        ]
    return [
        "restored MLM/NSP heads (fill-mask, next-sentence): not shipped with this copy; "
        f"the first fill-mask makes them in {store.cache_directory('restored-heads')}"
    ]


def cmd_info(args: argparse.Namespace) -> int:
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
        "",
        *_restored_lines(),
    ]
    print("\n".join(lines))
    return 0


# --- the parser ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bertguide", description="How BERT works: the guide's command-line tools."
    )
    parser.add_argument("--version", action="version", version=f"bertguide {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, run, model: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        if model:
            p.add_argument(
                "--model",
                metavar="PATH",
                help="a local Hugging Face-format BERT directory (default: the embedded model)",
            )
        p.set_defaults(run=run)
        return p

    def pair_and_json(p: argparse.ArgumentParser, pair: bool = True) -> None:
        if pair:
            p.add_argument("--pair", metavar="TEXT", help="a second text: [CLS] A [SEP] B [SEP]")
        p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = command("tokenize", "split text into WordPiece tokens and ids", cmd_tokenize)
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--max-length", type=int, help="truncate to this many tokens")
    pair_and_json(p)

    p = command("attention", "draw a text's attention to a file", cmd_attention)
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--pair", metavar="TEXT", help="a second text: [CLS] A [SEP] B [SEP]")
    p.add_argument("--out", required=True, metavar="FILE", help="FILE.html, .svg or .png")
    p.add_argument("--layer", type=int, default=0, help="the layer (default 0)")
    p.add_argument("--head", type=int, help="one head (.svg/.png; default: mean of heads)")
    p.add_argument("--view", choices=("head", "model"), default="head", help="for .html")

    p = command("fill-mask", "the likeliest tokens for each [MASK] in TEXT", cmd_fill_mask)
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--top-k", type=int, default=5, help="how many tokens (default 5)")
    pair_and_json(p, pair=False)

    p = command("next-sentence", "the probability that B follows A", cmd_next_sentence)
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    pair_and_json(p, pair=False)

    p = command("embed", "sentence vectors (mean of the last layer) and cosines", cmd_embed)
    p.add_argument("texts", metavar="TEXT", nargs="+")
    pair_and_json(p, pair=False)

    p = command("figures", "render every figure the site uses (cached)", cmd_figures, False)
    p.add_argument("--out", default="docs/figures", help="output folder (docs/figures)")
    p.add_argument("--force", action="store_true", help="re-render even when cached")

    p = command(
        "experiments",
        "rerun the guide's trained runs from scratch and compare with the shipped results",
        cmd_experiments,
        False,
    )
    p.add_argument("--only", action="append", default=[], metavar="NAME", help="one run (repeat)")
    p.add_argument(
        "--dry-run", action="store_true", help="list what is stale, and why; train nothing"
    )
    p.add_argument("--write", action="store_true", help="ship the fresh results (to commit)")

    command("info", "show the embedded model, its hash check and versions", cmd_info, False)
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
    except ModuleNotFoundError as error:
        if (error.name or "bertguide").split(".")[0] == "bertguide":
            raise  # a module of the package itself is missing: a broken install, a bug
        print(
            f"bertguide: error: this command needs the Python package {error.name!r}: "
            f"pip install {error.name}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except BrokenPipeError:  # `bertguide tokenize ... | head`: the reader went away
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
