"""The tiny GPT of the chapter "GPT: the autoregressive branch": its run and its data.

A GPT of the guide's own (``GPTConfig.tiny()``: bytes as tokens, 2 layers, 64 wide)
learns next-byte prediction on the offline corpus with the package's one training loop
(``bertguide.training.train``); its weights and report ship with the package (the run
``tiny-gpt`` of ``bertguide.experiments``):

    data      the UTF-8 bytes of the training documents of the Wikipedia sample and the
              Lee news corpus (``corpus.sentence_documents``), cut into windows of
              ``n_positions`` bytes; a window is one example
    held out  the first ``eval_windows`` windows of the held-out documents' bytes
    measure   the mean next-byte loss on them (nats), its perplexity e^loss, and bits
              per byte; against ln 256 (no knowledge) and a unigram byte model

``tiny_gpt()`` returns the trained model and its report (other settings train once per
machine, about ten seconds on 2 CPU cores, and are cached). The report holds the
settings, the losses, the wall time, the learning curve and four continuations of one
prompt (greedy; sampled at temperature 0.8 and 1.2 with top-k 20), shown as they come.
``bertguide.figures.gpt`` draws them.

Dimension legend: B = windows per batch, T = bytes per window (n_positions), V = 256.

Left out: a real tokenizer (bytes keep the vocabulary at 256 and need no training),
longer runs, learning-rate search, and GPUs.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from bertguide.corpus import CORPORA, sentence_documents
from bertguide.generation import generate
from bertguide.gpt import CONV1D_SUFFIXES, GPT2LMHeadModel, GPTConfig, convert_hf_gpt2_state_dict
from bertguide.training import TrainingConfig, train

PROMPT = "The history of "
# The modules the figures drawn from the tiny GPT depend on (the figure cache's key).
DEPENDS = (
    "bertguide.gpt",
    "bertguide.generation",
    "bertguide.training",
    "bertguide.corpus",
    "bertguide.experiments.tiny_gpt",
)


@dataclass(frozen=True)
class TinyGPTSettings:
    """Everything the tiny GPT's run depends on (the cache key is made from it)."""

    n_layer: int = 2  # decoder blocks
    n_embd: int = 64  # width (C)
    n_head: int = 4  # heads per layer
    n_positions: int = 64  # context window and window length (T)
    max_steps: int = 400  # optimiser steps
    batch_size: int = 32  # windows per step (B)
    learning_rate: float = 3e-3  # peak; linear warmup, then linear decay to 0
    warmup_steps: int = 20
    weight_decay: float = 0.01
    eval_every: int = 50  # held-out loss every this many steps (the curve's points)
    eval_windows: int = 128  # held-out windows of T bytes
    new_tokens: int = 160  # bytes generated after the prompt
    threads: int = 2  # torch.set_num_threads during the run
    seed: int = 0  # initialisation, batches and sampling

    def config(self) -> GPTConfig:
        """The model's ``GPTConfig``: ``tiny()`` with these sizes."""
        return GPTConfig.tiny(
            n_layer=self.n_layer,
            n_embd=self.n_embd,
            n_head=self.n_head,
            n_positions=self.n_positions,
        )


DEFAULT_SETTINGS = TinyGPTSettings()


def corpus_bytes(split: str) -> bytes:
    """The UTF-8 bytes of the Wikipedia and Lee documents of ``split`` ("train" or
    "heldout"): one document a line, its sentences joined by spaces.

    >>> corpus_bytes("heldout")[:30]
    b'Giving alms to the poor is oft'
    """
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
    lines = [" ".join(doc) for name in CORPORA for doc in sentence_documents(name, split)]
    return "\n".join(lines).encode("utf-8")


def byte_windows(data: bytes, T: int) -> torch.Tensor:
    """Non-overlapping windows of ``T`` bytes as ids: (len(data) // T, T), dtype long.

    >>> byte_windows(b"abcdefg", 3).tolist()
    [[97, 98, 99], [100, 101, 102]]
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    if isinstance(T, bool) or not isinstance(T, int) or T < 2:
        raise ValueError(f"T must be an int >= 2, got {T!r}")
    n = len(data) // T
    ids = torch.frombuffer(bytearray(data[: n * T]), dtype=torch.uint8).long()
    return ids.view(n, T)  # (N, T)


def unigram_loss(train_data: bytes, heldout_data: bytes) -> float:
    """Cross-entropy (nats per byte) of ``heldout_data`` under the byte frequencies of
    ``train_data`` (add-one smoothed): what a model that ignores context achieves."""
    counts = Counter(train_data)
    total = len(train_data) + 256
    log_p = {b: math.log((counts.get(b, 0) + 1) / total) for b in range(256)}
    return -sum(log_p[b] for b in heldout_data) / len(heldout_data)


def lm_loss(model: GPT2LMHeadModel, batch: torch.Tensor) -> torch.Tensor:
    """Mean next-byte loss of a batch of windows (B, T): the labels are the ids."""
    return model(batch, labels=batch).loss


class HeldOutLoss:
    """``eval_fn`` for ``train``: the mean next-byte loss over fixed held-out windows."""

    def __init__(self, windows: torch.Tensor, batch_size: int = 64) -> None:
        self.batches = windows.split(batch_size)  # each (B, T)

    @torch.no_grad()
    def __call__(self, model: GPT2LMHeadModel) -> dict[str, float]:
        losses = [float(lm_loss(model, batch)) * batch.size(0) for batch in self.batches]
        return {"heldout_loss": sum(losses) / sum(b.size(0) for b in self.batches)}


def decode(ids: list[int]) -> str:
    """Bytes to text; a byte sequence that is not valid UTF-8 shows as U+FFFD."""
    return bytes(ids).decode("utf-8", errors="replace")


def continuations(
    model: GPT2LMHeadModel, prompt: str = PROMPT, new_tokens: int = 160, seed: int = 0
) -> dict[str, str]:
    """The prompt continued four ways: greedy, and sampled (top-k 20) at three temperatures.

    Returns {"greedy": ..., "t=0.8, top-k 20": ..., "t=1.2, top-k 20": ...} without the
    prompt; each sampled one with its own generator seeded with ``seed``.
    """
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt must be a non-empty str")
    model.eval()
    ids = torch.tensor([list(prompt.encode("utf-8"))])  # (1, T)
    runs = {"greedy": dict(do_sample=False)}
    for temperature in (0.8, 1.2):
        generator = torch.Generator().manual_seed(seed)
        runs[f"t={temperature}, top-k 20"] = dict(
            do_sample=True, temperature=temperature, top_k=20, generator=generator
        )
    return {
        name: decode(generate(model, ids, new_tokens, **kwargs)[0, ids.size(1) :].tolist())
        for name, kwargs in runs.items()
    }


def train_tiny_gpt(
    settings: TinyGPTSettings = DEFAULT_SETTINGS, *, show_progress: bool | None = None
) -> tuple[GPT2LMHeadModel, dict]:
    """Train the tiny GPT from random weights; return (model in eval mode, report)."""
    if not isinstance(settings, TinyGPTSettings):
        raise TypeError(f"settings must be a TinyGPTSettings, not {type(settings).__name__}")
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        T = settings.n_positions
        train_data, heldout_data = corpus_bytes("train"), corpus_bytes("heldout")
        examples = byte_windows(train_data, T)  # (N, T): default_collate stacks rows
        heldout = HeldOutLoss(byte_windows(heldout_data, T)[: settings.eval_windows])
        torch.manual_seed(settings.seed)
        model = GPT2LMHeadModel(settings.config())
        before = heldout(model.eval())["heldout_loss"]
        config = TrainingConfig(
            max_steps=settings.max_steps,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            weight_decay=settings.weight_decay,
            warmup_steps=settings.warmup_steps,
            eval_every=settings.eval_every,
            seed=settings.seed,
            show_progress=show_progress,
        )
        history = train(model.train(), examples, config, loss_fn=lm_loss, eval_fn=heldout)
        model.eval()
        texts = continuations(model, PROMPT, settings.new_tokens, settings.seed)
    finally:
        torch.set_num_threads(threads)
    loss = history.evals[-1]["heldout_loss"]
    report = {
        "settings": dataclasses.asdict(settings),
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_bytes": len(train_data),
        "heldout_bytes": settings.eval_windows * T,
        "initial_loss": before,
        "heldout_loss": loss,
        "heldout_perplexity": math.exp(loss),
        "bits_per_byte": loss / math.log(2),
        "uniform_loss": math.log(256),
        "unigram_loss": unigram_loss(train_data, heldout_data),
        "wall_time_s": history.wall_time_s,
        "steps": len(history.steps),
        "prompt": PROMPT,
        "generations": texts,
        "torch": torch.__version__,
        "history": history.to_dict(),
    }
    return model, report


def to_hf_state_dict(model: GPT2LMHeadModel) -> dict[str, torch.Tensor]:
    """The weights as transformers' GPT-2 stores them: Conv1D weights (in, out), the tied
    ``lm_head.weight`` left out (``convert_hf_gpt2_state_dict`` undoes both)."""
    state = {}
    for key, tensor in model.state_dict().items():
        if key == "lm_head.weight":
            continue
        state[key] = tensor.t().contiguous() if key.endswith(CONV1D_SUFFIXES) else tensor
    return state


def run_to_folder(settings: TinyGPTSettings, folder: Path) -> dict:
    """Train the tiny GPT; save its weights (transformers' GPT-2 layout) and config into
    ``folder``; return the report."""
    from safetensors.torch import save_file

    model, report = train_tiny_gpt(settings)
    save_file(to_hf_state_dict(model), str(folder / "model.safetensors"))
    hf_config = {"architectures": ["GPT2LMHeadModel"], **settings.config().to_hf_dict()}
    (folder / "config.json").write_text(json.dumps(hf_config, indent=1) + "\n", encoding="utf-8")
    return report


def probe_settings(settings: TinyGPTSettings) -> TinyGPTSettings:
    """The same run with 8 held-out windows, 16 new bytes, one thread (fingerprints)."""
    return dataclasses.replace(settings, eval_windows=8, new_tokens=16, threads=1)


def tiny_gpt(settings: TinyGPTSettings = DEFAULT_SETTINGS) -> tuple[GPT2LMHeadModel, dict]:
    """(the trained tiny GPT in eval mode, its report). The default run's weights and
    report ship with the package; other settings train once per machine (seconds).

    Example::

        model, report = tiny_gpt()
        report["heldout_loss"], report["generations"]["greedy"]
    """
    from safetensors.torch import load_file

    from bertguide.experiments import store, weights

    default = settings == DEFAULT_SETTINGS
    if default and weights.has_shipped("tiny-gpt"):
        state = weights.read_checked("tiny-gpt")
    else:
        state = load_file(str(store.made("tiny-gpt", settings) / "model.safetensors"))
    config = settings.config()
    model = GPT2LMHeadModel(config)
    model.load_state_dict(convert_hf_gpt2_state_dict(state, config))
    return model.eval(), store.report("tiny-gpt", None if default else settings)
