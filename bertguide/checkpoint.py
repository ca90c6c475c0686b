"""Hugging Face-format checkpoints in and out: one path for every BERT model class.

``BertModel``, ``BertForPreTraining`` and the task heads each read and write the
files of their transformers namesakes (``config.json`` and ``model.safetensors``, or
``pytorch_model.bin``); their ``from_pretrained`` and ``save_pretrained`` are short
calls into this module.

Reading (``load_pretrained``), step by step:

1. ``read_checkpoint`` resolves the name or directory (``bertguide.pretrained``: None
   is the embedded default) and reads ``config.json`` and the tensors.
2. Each stored key is mapped to the model's key, with three explicit changes: the
   encoder's keys gain or lose ``bert.`` (a ``BertModel`` file has none, a
   ``BertFor...`` file has it; ``prefix`` says where the model keeps its encoder),
   TensorFlow-era ``LayerNorm.gamma``/``beta`` become ``weight``/``bias``, and the
   stored buffers ``embeddings.position_ids``/``token_type_ids`` are dropped (we build
   them on the fly). Tensors of a part the model does not have (another task's head,
   the pre-training heads, the pooler of a model without one) are skipped and logged.
3. The model is built on the meta device (no memory, no random draws). Its
   ``optional`` parts, the heads and the pooler, may be missing from the file: every
   one of them is first given BERT's initialisation from
   ``torch.Generator().manual_seed(seed)``, in the order given, and then the file's
   tensors (as float32) replace what they hold. A tensor that *is* another
   (the masked-LM decoder is the word-embedding matrix) is tied again.
4. Anything else fails with a ValueError that names every key at fault: a missing
   key outside the optional parts, an optional part stored only in part, an
   unexpected, mis-shaped or doubled key, a stored copy of a tied tensor that differs.

Writing (``write_checkpoint``): ``config.json`` and ``model.safetensors``, each tied
tensor once, under its first name, as transformers writes them.

Left out: sharded files, revisions, other dtypes than float32 and models other than
BERT's (the family's variants convert their transformers keys in their own modules).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from bertguide.config import BertConfig
from bertguide.initialization import init_bert_weights, materialize
from bertguide.pretrained import load_state_dict, read_config, resolve

logger = logging.getLogger(__name__)

HEAD_PREFIXES = ("cls.", "classifier.", "qa_outputs.")  # heads sit beside "bert."
BUFFER_KEYS = ("embeddings.position_ids", "embeddings.token_type_ids")


@dataclass
class Checkpoint:
    """A Hugging Face-format BERT directory, read: its config and its stored tensors.

    >>> checkpoint = read_checkpoint(None)  # the embedded all-MiniLM-L6-v2
    >>> checkpoint.config.num_hidden_layers, len(checkpoint.tensors)
    (6, 104)
    """

    directory: Path
    config: BertConfig  # config.json as a BertConfig
    settings: dict  # config.json as stored (architectures, id2label, ...)
    tensors: dict[str, torch.Tensor]  # stored key -> tensor, as stored


def read_checkpoint(name_or_path: str | os.PathLike | None = None) -> Checkpoint:
    """Resolve ``name_or_path`` (None = the embedded default) and read it."""
    directory = resolve(name_or_path)
    return Checkpoint(
        directory,
        BertConfig.from_pretrained(directory),
        read_config(directory),
        load_state_dict(directory),
    )


def model_key(stored: str, prefix: str = "") -> str:
    """A stored key -> the model's key, ``prefix`` being where the encoder lives.

    >>> model_key("bert.encoder.layer.0.output.LayerNorm.gamma")  # a BertModel's key
    'encoder.layer.0.output.LayerNorm.weight'
    >>> model_key("pooler.dense.bias", "bert."), model_key("cls.predictions.bias", "bert.")
    ('bert.pooler.dense.bias', 'cls.predictions.bias')
    """
    key = stored
    if key.endswith("LayerNorm.gamma"):  # TensorFlow-era names
        key = key.removesuffix("gamma") + "weight"
    elif key.endswith("LayerNorm.beta"):
        key = key.removesuffix("beta") + "bias"
    if key.startswith(HEAD_PREFIXES):
        return key
    return prefix + key.removeprefix("bert.")  # files of BertFor... nest the encoder


def tied_keys(model: nn.Module) -> dict[str, str]:
    """{key: the key it is tied to}: parameters that are another's tensor, by name.

    >>> from bertguide.pretraining import BertForPreTraining
    >>> with torch.device("meta"):
    ...     model = BertForPreTraining(BertConfig.tiny(num_hidden_layers=1))
    >>> tied_keys(model)
    {'cls.predictions.decoder.weight': 'bert.embeddings.word_embeddings.weight'}
    """
    first: dict[int, str] = {}
    tied = {}
    for name, parameter in model.named_parameters(remove_duplicate=False):
        if id(parameter) in first:
            tied[name] = first[id(parameter)]
        else:
            first[id(parameter)] = name
    return tied


@dataclass
class LoadReport:
    """What ``load_pretrained`` did beyond reading tensors."""

    fresh: tuple[str, ...] = ()  # optional parts the file lacked: initialised (seeded)
    ignored: tuple[str, ...] = ()  # stored keys skipped: buffers, parts the model lacks


def _listed(keys) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:8])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > 8 else "")


def _has_part(keys, part: str) -> bool:
    return any(k.startswith(part + ".") for k in keys)


def _convert(tensors: dict, expected: dict, prefix: str) -> tuple[dict, list[str]]:
    """Stored tensors -> (the model's keys to float32 tensors, the stored keys skipped)."""
    parts = [*HEAD_PREFIXES, f"{prefix}pooler."]
    absent = tuple(p for p in parts if not any(k.startswith(p) for k in expected))
    converted: dict[str, torch.Tensor] = {}
    ignored = []
    for stored, tensor in tensors.items():
        key = model_key(stored, prefix)
        if key.removeprefix(prefix) in BUFFER_KEYS or key.startswith(absent):
            ignored.append(stored)
        elif key in converted:
            raise ValueError(f"checkpoint has two tensors for {key!r} (with and without 'bert.')")
        else:
            converted[key] = tensor.float() if tensor.is_floating_point() else tensor
    return converted, ignored


def _problems(converted, expected, tied, optional) -> tuple[list[str], list[str]]:
    """(what is wrong with the converted tensors, the optional parts they lack).

    Stored copies of tied tensors are checked and dropped from ``converted``."""
    problems, fresh = [], []
    for key, source in tied.items():
        copy = converted.pop(key, None)  # older files store the tied copy too
        if copy is not None and source in converted and not torch.equal(copy, converted[source]):
            problems.append(
                f"{key} differs from {source}: this implementation ties them, so an "
                f"untied checkpoint cannot be read"
            )
    missing = set(expected) - set(converted) - set(tied)
    for part in optional:
        keys = {k for k in expected if k.startswith(part + ".") and k not in tied}
        if not keys:
            continue  # the model has no such part (a head without a pooler)
        if keys <= missing:
            fresh.append(part)
        elif keys & missing:
            problems.append(f"{part} is incomplete, missing: {_listed(keys & missing)}")
        missing -= keys
    if missing:
        problems.append(f"missing keys: {_listed(missing)}")
    unexpected = set(converted) - set(expected)
    if unexpected:
        problems.append(f"unexpected keys: {_listed(unexpected)}")
    misshaped = [
        f"{k} {list(converted[k].shape)} (expected {list(expected[k])})"
        for k in sorted(set(expected) & set(converted))
        if converted[k].shape != expected[k]
    ]
    if misshaped:
        problems.append(f"mis-shaped tensors: {_listed(misshaped)}")
    return problems, fresh


def load_pretrained(
    build: Callable[[], nn.Module],
    checkpoint: Checkpoint,
    *,
    prefix: str = "",
    optional: Sequence[str] = (),
    seed: int = 0,
) -> tuple[nn.Module, LoadReport]:
    """The model ``build()`` makes, holding ``checkpoint``'s weights, in eval mode.

    ``build`` runs on the meta device; ``prefix`` is where the model keeps its encoder
    ("" for ``BertModel``, "bert." for the others); ``optional`` names the parts
    (module paths) the file may lack, initialised in that order from
    ``torch.Generator().manual_seed(seed)``. See the module docstring for the rules.

    >>> from bertguide.model import BertModel
    >>> checkpoint = read_checkpoint(None)
    >>> model, report = load_pretrained(lambda: BertModel(checkpoint.config), checkpoint)
    >>> model.training, report.fresh, report.ignored
    (False, (), ('embeddings.position_ids',))
    """
    with torch.device("meta"):  # no memory and no random init: the checkpoint fills it
        model = build()
    expected = {k: v.shape for k, v in model.state_dict().items()}
    tied = tied_keys(model)
    converted, ignored = _convert(checkpoint.tensors, expected, prefix)
    problems, fresh = _problems(converted, expected, tied, optional)
    if problems:
        raise ValueError(
            f"{checkpoint.directory}: the checkpoint does not fit {type(model).__name__}: "
            + "; ".join(problems)
        )
    if ignored:
        logger.info("%s: skipped %d tensors: %s", checkpoint.directory, len(ignored), ignored)

    generator = torch.Generator().manual_seed(seed)
    std = checkpoint.config.initializer_range
    tied_parameters = [model.get_parameter(key) for key in tied]
    for part in optional:  # all of them, so that each draws the same numbers every time
        if _has_part(expected, part):
            module = model.get_submodule(part)
            materialize(module, tied=tied_parameters)
            init_bert_weights(module, std, generator, tied=tied_parameters)
    model.load_state_dict(converted, strict=False, assign=True)
    for key, source in tied.items():  # assign=True replaced the source: tie again
        owner, _, name = key.rpartition(".")
        setattr(model.get_submodule(owner), name, model.get_parameter(source))
    return model.eval(), LoadReport(tuple(fresh), tuple(ignored))


def hf_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's tensors under their own (transformers') keys, each tied tensor once,
    detached, contiguous and on the CPU: what ``write_checkpoint`` writes."""
    tied = tied_keys(model)
    return {
        k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k not in tied
    }


def write_checkpoint(model: nn.Module, directory: str | os.PathLike, settings: dict) -> Path:
    """Write ``settings`` as config.json and ``hf_state_dict(model)`` as
    model.safetensors into ``directory`` (made if needed); return the directory."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    save_file(hf_state_dict(model), str(path / "model.safetensors"), metadata={"format": "pt"})
    return path
