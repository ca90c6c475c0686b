"""Every figure the site shows, rendered from the real model, deterministic and cached.

The pictures of each chapter live in one module of this package, beside a shared
style (``style.py``):

=====================  =============================================
module                 chapter
=====================  =============================================
``language_models``    Language models and BERT (and GPT's mask)
``tokenization``       Tokenization
``attention``          Self-attention and multi-head attention
``embeddings``         Embeddings
``encoder``            The encoder stack and model sizes
``contextual``         Contextual vs static embeddings
``attention_maps``     Visualising attention
``pretraining``        Pre-training: MLM and NSP (restores the heads once)
``finetuning``         Fine-tuning and transfer learning (measures the learning curves once)
``family``             The BERT family (runs each variant's measurement once)
``playground``         Playground (the model's files: ``kind="file"``)
``gpt``                GPT: the autoregressive branch (trains the tiny GPT once)
=====================  =============================================

Each module holds the chapter's drawing functions (they take data and return a
matplotlib ``Figure``) and the site's figures, marked with ``@figure``::

    from bertguide.figures import figure

    @figure("embedding-norms")                 # -> docs/figures/embedding-norms.svg
    def _fig_embedding_norms():
        return plot_embedding_norms(...)       # a matplotlib Figure (closed for you)

    @figure("chicken-head-view", kind="html")  # -> docs/figures/chicken-head-view.html
    def _html_chicken_view():
        return "<!doctype html>..."            # a str is written as it is (UTF-8)

A figure that is not a picture -- the Playground's ONNX model, its vocabulary -- is a
``kind="file"``: its function takes the output folder, writes the files named in
``outputs`` into it and returns nothing; ``versioned`` adds distributions whose
version its bytes depend on::

    @figure("playground-model", kind="file", outputs=("playground-model.onnx",),
            versioned=("onnx", "onnxruntime"))
    def _files_playground(out_dir):
        export_playground(out_dir)             # writes out_dir / "playground-model.onnx"

``@figure`` only marks the function: importing a module registers nothing.
``load_all()`` imports the modules named in ``FIGURE_MODULES`` (a new chapter adds
its module there) and collects the marked functions; ``bertguide figures`` (or
``render_all("docs/figures")``) writes one file per figure into the git-ignored
``docs/figures/``. Pages reference them as ``![alt](figures/NAME.svg)``. Rules a
figure function follows:

* it takes no arguments (a ``kind="file"`` function: the output folder) and seeds
  anything random itself (``torch.manual_seed``);
* it returns a matplotlib ``Figure`` (saved as SVG, and also PNG when ``formats``
  says so) or a ``str`` of HTML, or writes its ``outputs`` (``kind="file"``);
* it reads the model and text through the package (``BertModel.from_pretrained()``,
  ``bertguide.corpus``), never from the network.

Bytes are identical from run to run: SVG ids are salted with the figure's name,
no date is written into SVG or PNG metadata, and the text is kept as glyph paths
(no fonts looked up by the browser).

The cache: ``manifest.json`` in the output folder records, per file, a hash of
everything the figure depends on (the source of the figure's own module and of the
modules in ``DEFAULT_DEPENDS`` and ``depends``: this registry, the style, the analysis
helpers, the model code and the corpora; the versions of bertguide, torch, matplotlib
and gensim, and of the figure's ``versioned`` distributions; the SHA-256 of the
embedded model's weights) and of the file written. A figure is re-rendered only when
that hash changed or the file is missing or was edited.

Left out: parallel rendering and figures that depend on data outside the package.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bertguide.pretrained import EXPECTED_SHA256

# The modules that hold the site's figures, one per chapter. A new chapter adds its own.
FIGURE_MODULES: tuple[str, ...] = (
    "bertguide.figures.language_models",
    "bertguide.figures.tokenization",
    "bertguide.figures.attention",
    "bertguide.figures.embeddings",
    "bertguide.figures.encoder",
    "bertguide.figures.contextual",
    "bertguide.figures.attention_maps",
    "bertguide.figures.pretraining",
    "bertguide.figures.playground",
    "bertguide.figures.gpt",
    "bertguide.figures.family",
    "bertguide.figures.finetuning",
)

# What every figure is drawn with: the source of these modules is part of every
# figure's hash, with the figure's own module and any ``depends`` it names.
DEFAULT_DEPENDS = (
    "bertguide.figures",
    "bertguide.figures.style",
    "bertguide.export.views",
    "bertguide.analysis",
    "bertguide.analysis.attention_maps",
    "bertguide.analysis.contextual",
    "bertguide.analysis.embeddings",
    "bertguide.analysis.encoder",
    "bertguide.analysis.patterns",
    "bertguide.model",
    "bertguide.attention",
    "bertguide.embeddings",
    "bertguide.tokenizer",
    "bertguide.config",
    "bertguide.corpus",
    "bertguide.pretrained",
    "bertguide.gpt",
)
# Distributions whose version is part of every figure's hash.
VERSIONED = ("bertguide", "torch", "matplotlib", "gensim", "bertviz")

FORMATS = ("svg", "png")
PNG_DPI = 150


@dataclass(frozen=True)
class Figure:
    """One registered figure: a function that draws it and the files it becomes."""

    name: str  # file stem under the output folder
    function: Callable[..., object]
    kind: str = "matplotlib"  # "matplotlib" (returns a Figure), "html" (a str) or "file"
    formats: tuple[str, ...] = ("svg",)
    depends: tuple[str, ...] = ()  # modules beyond DEFAULT_DEPENDS and its own
    outputs: tuple[str, ...] = ()  # kind="file": the files its function writes
    versioned: tuple[str, ...] = ()  # distributions beyond VERSIONED its bytes depend on

    @property
    def files(self) -> tuple[str, ...]:
        if self.kind == "file":
            return self.outputs
        if self.kind == "html":
            return (f"{self.name}.html",)
        return tuple(f"{self.name}.{fmt}" for fmt in self.formats)


def figure(
    name: str,
    *,
    kind: str = "matplotlib",
    formats: tuple[str, ...] = ("svg",),
    depends: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    versioned: tuple[str, ...] = (),
) -> Callable[[Callable[..., object]], Callable[..., object]]:
    """Mark the decorated function as the site figure ``name`` (see the module docstring).

    The function gets a ``figure_spec`` attribute (a :class:`Figure`) and is otherwise
    unchanged; nothing is registered until :func:`load_all` collects it.
    """
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(
            f"figure name must be a plain file stem like 'attention-grid', got {name!r}"
        )
    if kind not in ("matplotlib", "html", "file"):
        raise ValueError(f"kind must be 'matplotlib', 'html' or 'file', got {kind!r}")
    outputs = tuple(outputs)
    if (kind == "file") != bool(outputs):
        raise ValueError(
            f"outputs: a kind='file' figure names its files, others none; got {outputs!r}"
        )
    for output in outputs:
        if not isinstance(output, str) or not output or "/" in output or output.startswith("."):
            raise ValueError(f"outputs must be plain file names like 'model.onnx', got {output!r}")
    formats = tuple(formats)
    if kind == "matplotlib" and (not formats or any(f not in FORMATS for f in formats)):
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {formats!r}")

    def mark(function: Callable[..., object]) -> Callable[..., object]:
        function.figure_spec = Figure(
            name, function, kind, formats, tuple(depends), outputs, tuple(versioned)
        )
        return function

    return mark


def _qualname(function: Callable) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def collect(modules) -> dict[str, Figure]:
    """The figures marked with ``@figure`` in ``modules`` (module objects or names), by name.

    Two functions that claim the same name are an error that names both.
    """
    found: dict[str, Figure] = {}
    for module in modules:
        if isinstance(module, str):
            module = importlib.import_module(module)
        for value in vars(module).values():
            spec = getattr(value, "figure_spec", None)
            if not isinstance(spec, Figure) or spec.function is not value:
                continue
            existing = found.get(spec.name)
            if existing is not None and existing.function is not value:
                raise ValueError(
                    f"figure name {spec.name!r} is claimed by both "
                    f"{_qualname(existing.function)} and {_qualname(value)}"
                )
            found[spec.name] = spec
    return dict(sorted(found.items()))


def load_all() -> dict[str, Figure]:
    """Every figure of every module in ``FIGURE_MODULES``, by name."""
    return collect(FIGURE_MODULES)


# --- deterministic writing -------------------------------------------------------------


_DECIMALS = re.compile(r"-?\d+\.\d{3,}")
_GEOMETRY = re.compile(r'(\s(?:d|x|y|x1|x2|y1|y2|points)=")([^"]*)"')


def _hundredths(match: re.Match) -> str:
    text = f"{float(match.group()):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def compact_svg(text: str) -> str:
    r"""matplotlib's SVG with coordinates to 1/100 of a point and no whitespace between
    tags: the same picture (a figure is a few hundred points wide), 10 to 20 % fewer
    bytes for a reader to download.

    >>> compact_svg('<svg>\n <path d="M 0.123456 \n L 10 2.5"/>\n</svg>')
    '<svg><path d="M 0.12 L 10 2.5"/></svg>'
    """
    text = _GEOMETRY.sub(
        lambda m: m.group(1) + _DECIMALS.sub(_hundredths, " ".join(m.group(2).split())) + '"', text
    )
    return re.sub(r">\s+<", "><", text)


def save_matplotlib(fig, path: Path, fmt: str, salt: str) -> None:
    """Write ``fig`` as SVG (``compact_svg``) or PNG with no date and stable ids, so the
    bytes never change."""
    import io

    import matplotlib

    if fmt == "svg":
        with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        Path(path).write_text(compact_svg(buffer.getvalue()), encoding="utf-8")
    elif fmt == "png":
        fig.savefig(path, format="png", dpi=PNG_DPI, metadata={"Software": None})
    else:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")


def render(fig_spec: Figure, out_dir: Path) -> list[Path]:
    """Run one figure function and write its files; return the paths written."""
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    out_dir.mkdir(parents=True, exist_ok=True)
    if fig_spec.kind == "file":
        fig_spec.function(out_dir)
        missing = [name for name in fig_spec.outputs if not (out_dir / name).is_file()]
        if missing:
            raise RuntimeError(f"figure {fig_spec.name!r} did not write {missing} into {out_dir}")
        return [out_dir / name for name in fig_spec.outputs]
    result = fig_spec.function()
    written = []
    if fig_spec.kind == "html":
        if not isinstance(result, str):
            raise TypeError(
                f"figure {fig_spec.name!r} must return a str of HTML, got {type(result)}"
            )
        path = out_dir / f"{fig_spec.name}.html"
        path.write_text(result, encoding="utf-8")
        return [path]
    if not isinstance(result, matplotlib.figure.Figure):
        raise TypeError(
            f"figure {fig_spec.name!r} must return a matplotlib Figure, got {type(result)}"
        )
    try:
        for fmt in fig_spec.formats:
            path = out_dir / f"{fig_spec.name}.{fmt}"
            save_matplotlib(result, path, fmt, salt=fig_spec.name)
            written.append(path)
    finally:
        plt.close(result)
    return written


# --- the cache -------------------------------------------------------------------------


def _module_source(name: str) -> str:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError:
        return f"<{name} missing>"
    try:
        return inspect.getsource(module)
    except (OSError, TypeError):
        return f"<{name} without source>"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def shipped_results() -> list[str]:
    """The shipped results of the guide's runs (``bertguide/data/runs``), as text: a
    figure drawn from a report is drawn again when a report changes."""
    folder = Path(__file__).resolve().parent.parent / "data" / "runs"
    return [path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.json"))]


def input_hash(fig_spec: Figure) -> str:
    """A hash of everything the figure's bytes depend on."""
    digest = hashlib.sha256()
    own_module = fig_spec.function.__module__
    modules = dict.fromkeys((own_module, *DEFAULT_DEPENDS, *fig_spec.depends))
    parts = [
        fig_spec.name,
        fig_spec.kind,
        ",".join(fig_spec.formats),
        inspect.getsource(fig_spec.function),
        *(f"{name} {_version(name)}" for name in (*VERSIONED, *fig_spec.versioned)),
        *fig_spec.outputs,
        EXPECTED_SHA256["model.safetensors"],
        *(_module_source(name) for name in modules),
        *shipped_results(),
    ]
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


MANIFEST = "manifest.json"


def _read_manifest(out_dir: Path) -> dict:
    path = out_dir / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_fresh(fig_spec: Figure, entry: dict | None, key: str, out_dir: Path) -> bool:
    if not entry or entry.get("inputs") != key:
        return False
    files = entry.get("files", {})
    for name in fig_spec.files:
        path = out_dir / name
        if not path.exists() or files.get(name) != _file_hash(path):
            return False
    return True


@dataclass
class RenderReport:
    """What ``render_all`` did: which figures it drew, which it found cached, how long."""

    out_dir: Path
    rendered: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [
            f"figures: {len(self.rendered)} rendered, {len(self.cached)} cached "
            f"in {self.seconds:.1f} s -> {self.out_dir}"
        ]
        for name in self.rendered:
            lines.append(f"  rendered {name:<32} {self.timings[name]:6.2f} s")
        return "\n".join(lines)


def render_all(
    out_dir: str | Path = "docs/figures",
    force: bool = False,
    names: list[str] | None = None,
    registry: dict[str, Figure] | None = None,
) -> RenderReport:
    """Render every figure (or only ``names``) into ``out_dir``, skipping fresh ones.

    ``registry`` defaults to :func:`load_all`; pass your own ``{name: Figure}`` to render
    figures of your own modules (``collect([module])``).
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    registry = load_all() if registry is None else registry
    if names is not None:
        unknown = sorted(set(names) - set(registry))
        if unknown:
            raise ValueError(f"names: unknown figures {unknown}; known: {sorted(registry)}")
        registry = {name: registry[name] for name in names}
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(out_dir)
    report = RenderReport(out_dir)
    for name, fig_spec in registry.items():
        key = input_hash(fig_spec)
        if not force and _is_fresh(fig_spec, manifest.get(name), key, out_dir):
            report.cached.append(name)
            continue
        t0 = time.perf_counter()
        paths = render(fig_spec, out_dir)
        report.timings[name] = time.perf_counter() - t0
        manifest[name] = {"inputs": key, "files": {p.name: _file_hash(p) for p in paths}}
        report.rendered.append(name)
        # written after every figure, so an interrupted build keeps what it finished
        (out_dir / MANIFEST).write_text(
            json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    report.seconds = time.perf_counter() - start
    return report
