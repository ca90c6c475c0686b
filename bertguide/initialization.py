"""BERT's initialisation of fresh weights, written once for every model of the package.

Devlin et al. (2019) draw every weight matrix and embedding table from a normal
distribution with standard deviation ``initializer_range`` (0.02) and start every
bias at 0 and every LayerNorm at the identity (gain 1, shift 0). transformers does
the same; so does GPT-2, which then rescales a few layers (see ``gpt``).

``init_bert_weights(module, initializer_range)`` applies that rule to every
sub-module of ``module`` in ``nn.Module.apply``'s order (children first), so the
draws come out in the same order whoever calls it. A ``tied`` parameter, one that
*is* another module's tensor (the masked-LM decoder is the word-embedding matrix),
is left to its owner. Loading a checkpoint overwrites these values; they matter when
a model or a head is trained from scratch.

A model built on the "meta" device (shapes only, as ``from_pretrained`` builds it)
has no values to initialise: ``materialize`` first gives its parameters memory.
"""

from __future__ import annotations

import functools
from collections.abc import Collection

import torch
from torch import nn


def init_bert_weights(
    module: nn.Module,
    initializer_range: float,
    generator: torch.Generator | None = None,
    *,
    tied: Collection[nn.Parameter] = (),
) -> None:
    """BERT's initialisation of ``module`` and all its sub-modules, in place.

    ``nn.Linear`` and ``nn.Embedding`` weights ~ N(0, initializer_range), with an
    embedding's padding row set to 0; their biases 0; ``nn.LayerNorm`` weight 1, bias
    0; any other module's own ``bias`` Parameter (the masked-LM heads' per-token bias)
    0. Draws come from ``generator`` (None: torch's global generator). Parameters in
    ``tied`` are left alone; so is everything on the meta device (no values).

    >>> layer = nn.Linear(4, 3)
    >>> init_bert_weights(layer, 0.02, torch.Generator().manual_seed(0))
    >>> layer.bias.tolist(), round(layer.weight.std().item(), 2)
    ([0.0, 0.0, 0.0], 0.02)
    """
    init = functools.partial(_init_one, std=initializer_range, generator=generator, tied=tied)
    module.apply(init)


def materialize(module: nn.Module, *, tied: Collection[nn.Parameter] = ()) -> None:
    """Give every parameter of ``module`` still on the meta device memory on the CPU
    (uninitialised: ``init_bert_weights`` or a checkpoint fills it); ``tied`` ones and
    real ones are left as they are.

    >>> with torch.device("meta"):
    ...     layer = nn.Linear(4, 3)
    >>> materialize(layer)
    >>> layer.weight.device
    device(type='cpu')
    """
    for sub in module.modules():
        for name, parameter in list(sub.named_parameters(recurse=False)):
            if parameter.is_meta and not any(parameter is t for t in tied):
                fresh = torch.empty(parameter.shape, dtype=parameter.dtype, device="cpu")
                setattr(sub, name, nn.Parameter(fresh, requires_grad=parameter.requires_grad))


def _own(module: nn.Module, name: str, tied: Collection[nn.Parameter]):
    """``module``'s own Parameter ``name``, or None if absent, tied or on meta."""
    parameter = dict(module.named_parameters(recurse=False)).get(name)
    if parameter is None or parameter.is_meta or any(parameter is t for t in tied):
        return None
    return parameter


@torch.no_grad()
def _init_one(module: nn.Module, std: float, generator, tied) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        weight = _own(module, "weight", tied)
        if weight is not None:
            weight.normal_(0.0, std, generator=generator)
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        weight = _own(module, "weight", tied)
        if weight is not None:
            weight.fill_(1.0)
    bias = _own(module, "bias", tied)
    if bias is not None:
        bias.zero_()
