"""Every figure the site shows, rendered from the real model, deterministic and cached.

``bertguide figures`` (or ``render_all("docs/figures")``) writes one file per
registered figure into the git-ignored ``docs/figures/``. Pages reference them as
``![alt](figures/NAME.svg)``.

Adding a figure is a few lines anywhere in the package::

    from bertguide.figures import figure

    @figure("embedding-norms")                 # -> docs/figures/embedding-norms.svg
    def embedding_norms():
        return bg.plot_something(...)          # a matplotlib Figure (closed for you)

    @figure("chicken-head-view", kind="html")  # -> docs/figures/chicken-head-view.html
    def chicken_view():
        return "<!doctype html>..."            # a str is written as it is (UTF-8)

and one import line in ``FIGURE_MODULES`` below, so that ``render_all`` finds the
module. Rules a figure function follows:

* it takes no arguments and seeds anything random itself (``torch.manual_seed``);
* it returns a matplotlib ``Figure`` (saved as SVG, and also PNG when ``formats``
  says so) or a ``str`` of HTML;
* it reads the model and text through the package (``BertModel.from_pretrained()``,
  ``bertguide.corpus``), never from the network.

Bytes are identical from run to run: SVG ids are salted with the figure's name,
no date is written into SVG or PNG metadata, and the text is kept as glyph paths
(no fonts looked up by the browser).

The cache: ``manifest.json`` in the output folder records, per file, a hash of
everything the figure depends on (the function's source, the source of the
modules named in ``depends``, bertguide's and matplotlib's versions, the SHA-256
of the embedded model's weights) and of the file written. A figure is re-rendered
only when that hash changed or the file is missing or was edited.

Left out: parallel rendering and figures that depend on data outside the package.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Modules whose import registers figures. Add yours here.
FIGURE_MODULES: tuple[str, ...] = ("bertguide.visualize",)

# The modules most figures draw with: their source is part of every figure's hash
# unless a figure passes its own ``depends``.
DEFAULT_DEPENDS = (
    "bertguide.visualize",
    "bertguide.patterns",
    "bertguide.model",
    "bertguide.attention",
    "bertguide.embeddings",
    "bertguide.tokenizer",
    "bertguide.config",
)

FORMATS = ("svg", "png")
PNG_DPI = 150


@dataclass(frozen=True)
class Figure:
    """One registered figure: a function that draws it and the files it becomes."""

    name: str  # file stem under the output folder
    function: Callable[[], object]
    kind: str = "matplotlib"  # "matplotlib" (returns a Figure) or "html" (returns a str)
    formats: tuple[str, ...] = ("svg",)
    depends: tuple[str, ...] = DEFAULT_DEPENDS

    @property
    def files(self) -> tuple[str, ...]:
        if self.kind == "html":
            return (f"{self.name}.html",)
        return tuple(f"{self.name}.{fmt}" for fmt in self.formats)


REGISTRY: dict[str, Figure] = {}


def figure(
    name: str,
    *,
    kind: str = "matplotlib",
    formats: tuple[str, ...] = ("svg",),
    depends: tuple[str, ...] = DEFAULT_DEPENDS,
) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register the decorated function as the figure ``name`` (see the module docstring)."""
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(
            f"figure name must be a plain file stem like 'attention-grid', got {name!r}"
        )
    if kind not in ("matplotlib", "html"):
        raise ValueError(f"kind must be 'matplotlib' or 'html', got {kind!r}")
    formats = tuple(formats)
    if kind == "matplotlib" and (not formats or any(f not in FORMATS for f in formats)):
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {formats!r}")

    def register(function: Callable[[], object]) -> Callable[[], object]:
        existing = REGISTRY.get(name)
        if existing is not None and _qualname(existing.function) != _qualname(function):
            raise ValueError(
                f"figure name {name!r} is already registered by {_qualname(existing.function)}"
            )
        REGISTRY[name] = Figure(name, function, kind, formats, tuple(depends))
        return function

    return register


def _qualname(function: Callable) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def load_all() -> dict[str, Figure]:
    """Import every module of ``FIGURE_MODULES`` so their figures register; return the registry."""
    for module in FIGURE_MODULES:
        importlib.import_module(module)
    return dict(sorted(REGISTRY.items()))


# --- deterministic writing -------------------------------------------------------------


def save_matplotlib(fig, path: Path, fmt: str, salt: str) -> None:
    """Write ``fig`` as SVG or PNG with no date and stable ids, so the bytes never change."""
    import matplotlib

    if fmt == "svg":
        with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
            fig.savefig(path, format="svg", metadata={"Date": None})
    elif fmt == "png":
        fig.savefig(path, format="png", dpi=PNG_DPI, metadata={"Software": None})
    else:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")


def render(fig_spec: Figure, out_dir: Path) -> list[Path]:
    """Run one figure function and write its files; return the paths written."""
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    result = fig_spec.function()
    out_dir.mkdir(parents=True, exist_ok=True)
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


def _model_hash() -> str:
    from bertguide.pretrained import EXPECTED_SHA256

    return EXPECTED_SHA256["model.safetensors"]


def input_hash(fig_spec: Figure) -> str:
    """A hash of everything the figure's bytes depend on."""
    import matplotlib

    import bertguide

    digest = hashlib.sha256()
    parts = [
        fig_spec.name,
        fig_spec.kind,
        ",".join(fig_spec.formats),
        inspect.getsource(fig_spec.function),
        bertguide.__version__,
        matplotlib.__version__,
        _model_hash(),
        *(_module_source(name) for name in fig_spec.depends),
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
    out_dir: str | Path = "docs/figures", force: bool = False, names: list[str] | None = None
) -> RenderReport:
    """Render every registered figure (or only ``names``) into ``out_dir``, skipping fresh ones."""
    start = time.perf_counter()
    out_dir = Path(out_dir)
    registry = load_all()
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
