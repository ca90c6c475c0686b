"""Trained weights that ship inside the package, hash-checked like the embedded model.

The restored model (``restored-heads``) is the embedded encoder after continued
pre-training, with MLM and NSP heads. Its word embeddings (and so the tied decoder)
never trained, so only what differs from the embedded checkpoint ships: the encoder
layers, the pooler and the heads, in float16 (~22 MB instead of ~91 MB in float32).
``load_restored`` adds them to the embedded model in float32. Before the file is
written, ``pack_restored`` records the float32 model's decisions on held-out text (the
top five tokens at each masked position, the IsNext decision of each pair) and checks
that the float16 weights make the same ones; the tests check it again.

The tiny GPT's weights (a few hundred kB) ship whole, in float32.

Every file's SHA-256 is in the run's shipped record (``bertguide/data/runs``) and is
checked when the file is read.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bertguide.experiments.store import DATA, shipped_record
from bertguide.inference import (
    embedded_with_fresh_heads,
    read_shipped_weights,
    shipped_restored_model,
)
from bertguide.pretrained import sha256_file

read_checked = read_shipped_weights  # the one hash-checked reader, the library's

WEIGHTS = DATA / "weights"
DTYPE = torch.float16


def weights_path(name: str) -> Path:
    return WEIGHTS / f"{name}.safetensors"


def has_shipped(name: str) -> bool:
    """Whether run ``name``'s weights ship and its shipped record is current."""
    from bertguide.experiments.registry import get_run
    from bertguide.experiments.store import is_current

    record = shipped_record(name)
    return weights_path(name).is_file() and is_current(record, get_run(name))


def difference(model, base) -> dict[str, torch.Tensor]:
    """The tensors of ``model`` that differ from ``base``'s (same names), in ``DTYPE``."""
    base_state = base.state_dict()
    return {
        name: tensor.detach().to(DTYPE).contiguous()
        for name, tensor in model.state_dict().items()
        if name not in base_state or not torch.equal(tensor, base_state[name])
    }


def load_restored():
    """The restored model that ships (``bertguide.inference.shipped_restored_model``)."""
    return shipped_restored_model()


def decisions(model, batches) -> dict[str, list]:
    """What ``model`` decides on held-out ``batches`` (``restoring.decision_batches``):
    the five best token ids at each masked position and the IsNext decision (1 =
    NotNext) of each pair."""
    top5, is_next = [], []
    model.eval()
    with torch.no_grad():
        for batch in batches:
            output = model(**batch, score_masked_only=True)
            logits = output.masked_lm_logits  # (M, V) at the masked positions
            top5 += logits.topk(5, dim=-1).indices.tolist()
            is_next += output.seq_relationship_logits.argmax(-1).tolist()
    return {"top5": top5, "next_sentence": is_next}


def agreement(found: dict[str, list], expected: dict[str, list]) -> dict[str, float]:
    """Shares of equal decisions: top-1, the top-5 set, and the NSP decision."""
    pairs = list(zip(found["top5"], expected["top5"], strict=True))
    nsp = list(zip(found["next_sentence"], expected["next_sentence"], strict=True))
    return {
        "top1": sum(a[0] == b[0] for a, b in pairs) / len(pairs),
        "top5": sum(set(a) == set(b) for a, b in pairs) / len(pairs),
        "next_sentence": sum(a == b for a, b in nsp) / len(nsp),
    }


def pack_restored(model, batches, name: str = "restored-heads") -> dict:
    """Write ``model``'s difference from the embedded model into the package; return the
    ``weights`` entry of its shipped record (file, SHA-256, bytes, dtype, the float32
    model's decisions on held-out ``batches`` and how far the float16 weights agree)."""
    from safetensors.torch import save_file

    WEIGHTS.mkdir(parents=True, exist_ok=True)
    path = weights_path(name)
    changed = difference(model, embedded_with_fresh_heads())
    save_file(changed, str(path))
    path.chmod(0o644)  # package data: readable by every user
    expected = decisions(model, batches)
    reloaded = embedded_with_fresh_heads()
    reloaded.load_state_dict({k: v.float() for k, v in changed.items()}, strict=False)
    reloaded.tie_weights()
    return {
        "file": f"weights/{path.name}",
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "dtype": str(DTYPE).removeprefix("torch."),
        "tensors": len(changed),
        "decisions": expected,
        "agreement": agreement(decisions(reloaded, batches), expected),
    }


def pack_whole(folder: Path, name: str) -> dict:
    """Copy a run's ``model.safetensors`` (small, float32) into the package as it is."""
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    path = weights_path(name)
    path.write_bytes((Path(folder) / "model.safetensors").read_bytes())
    path.chmod(0o644)
    return {
        "file": f"weights/{path.name}",
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "dtype": "float32",
    }
