"""A tiny BERT classifier trained by ``bertguide.training.train``, in one or more processes.

The task has a known solution: is token 7 in the sequence? ``tests/test_training.py``
imports the pieces below to train in its own process, and launches this file under
torchrun to train the same model on two processes::

    python -m torch.distributed.run --standalone --nproc_per_node=2 \\
        tests/ddp_train_script.py OUT_DIR

Every process writes ``OUT_DIR/rank{r}.json`` (its rank, the world size, its history and
how often it ran ``eval_fn``); process 0 also saves the trained weights of each run to
``OUT_DIR/weights.pt``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from torch import nn

from bertguide.config import BertConfig
from bertguide.model import BertModel
from bertguide.training import TrainingConfig, train

CLS, TARGET = 1, 7  # token ids: [CLS] starts every sequence; the label says if 7 is present
LENGTH = 8  # tokens per sequence (T), [CLS] included


def tiny_bert_config(dropout: float = 0.1) -> BertConfig:
    """A 2-layer, 32-wide BERT over a 50-token vocabulary."""
    return BertConfig.tiny(
        vocab_size=50,
        max_position_embeddings=32,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )


class TinyClassifier(nn.Module):
    """BertModel + a linear head on the [CLS] vector; returns a dict with loss and logits.

    The pooler is not used, so DDP has to cope with parameters that get no gradient.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.bert = BertModel(config)
        self.classifier = nn.Linear(config.hidden_size, 2)

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None) -> dict:
        cls_vector = self.bert(input_ids).last_hidden_state[:, 0]  # (B, T, C) -> (B, C)
        logits = self.classifier(cls_vector)  # (B, 2)
        loss = None if labels is None else nn.functional.cross_entropy(logits, labels)
        return {"loss": loss, "logits": logits}


def build_model(dropout: float = 0.1, seed: int = 1234) -> TinyClassifier:
    """The same initial weights for every caller with the same seed."""
    torch.manual_seed(seed)
    return TinyClassifier(tiny_bert_config(dropout))


def make_examples(count: int, seed: int) -> list[dict[str, torch.Tensor]]:
    """``count`` examples, half with a 7 somewhere after [CLS]: {input_ids (T,), labels ()}."""
    g = torch.Generator().manual_seed(seed)
    others = torch.tensor([t for t in range(2, 50) if t != TARGET])
    examples = []
    for i in range(count):
        ids = others[torch.randint(len(others), (LENGTH,), generator=g)]
        ids[0] = CLS
        label = i % 2
        if label:
            ids[torch.randint(1, LENGTH, (1,), generator=g)] = TARGET
        examples.append({"input_ids": ids, "labels": torch.tensor(label)})
    return examples


def accuracy(model: nn.Module, examples: list[dict[str, torch.Tensor]]) -> float:
    """Fraction of ``examples`` whose label the model predicts."""
    batch = torch.utils.data.default_collate(examples)
    predictions = model(batch["input_ids"])["logits"].argmax(-1)  # (B,)
    return (predictions == batch["labels"]).float().mean().item()


# The runs compared between one process and two. No dropout: each process draws its own
# dropout masks, so only a dropout-free run can match a single process exactly.
RUNS = {
    "plain": TrainingConfig(
        max_steps=5, batch_size=8, learning_rate=1e-3, warmup_steps=2, eval_every=2, seed=3
    ),
    "accumulate_freeze": TrainingConfig(
        max_steps=5,
        batch_size=8,
        learning_rate=1e-3,
        warmup_steps=2,
        gradient_accumulation_steps=2,
        lr_multipliers={"bert.embeddings.": 0.0, "classifier.": 5.0},
        seed=4,
    ),
}
TRAIN_EXAMPLES = 64
EVAL_EXAMPLES = 32


def run(name: str) -> tuple[TinyClassifier, dict, int]:
    """Train the run ``name``; return the model, its history and how often eval_fn ran."""
    model = build_model(dropout=0.0)
    held_out = make_examples(EVAL_EXAMPLES, seed=99)
    calls = []

    def eval_fn(m: nn.Module) -> dict[str, float]:
        calls.append(1)
        return {"accuracy": accuracy(m, held_out)}

    history = train(model, make_examples(TRAIN_EXAMPLES, seed=0), RUNS[name], eval_fn=eval_fn)
    return model, history.to_dict(), len(calls)


def main(out_dir: Path) -> None:
    results, weights = {}, {}
    for name in RUNS:
        model, history, eval_calls = run(name)
        results[name] = {"history": history, "eval_calls": eval_calls}
        weights[name] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    world_size = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
    record = {"rank": rank, "world_size": world_size, "runs": results}
    (out_dir / f"rank{rank}.json").write_text(json.dumps(record), encoding="utf-8")
    if rank == 0:
        torch.save(weights, out_dir / "weights.pt")
    if torch.distributed.is_initialized():
        torch.distributed.barrier()  # every rank has written its results


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    # End the process here, without Python's and C++'s exit-time teardown: gloo's
    # background threads, still joinable when the interpreter's static objects are
    # destroyed, sometimes end a rank in std::terminate ("terminate called without an
    # active exception", SIGABRT) after its work is done and written, more often on a
    # loaded machine; a barrier before destroy_process_group made it rarer, not rare.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
