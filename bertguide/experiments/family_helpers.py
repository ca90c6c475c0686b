"""The pieces the BERT family's measured runs share (``bertguide.experiments.family_runs``).

Serves the chapter "The BERT family": sentences and packed inputs from the offline
corpora, encoding and masking batches, small BERTs from
scratch with the vocabulary of their text, mean pooling, MLM accuracy, best-of timing,
one call of the training loop, and saving a run. Dimension legend: B = batch,
T = tokens, C = hidden size, V = vocabulary.

Left out: anything a single run needs (see ``bertguide.experiments.family_runs``).
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path

import torch
from torch import nn

from bertguide.corpus import sentence_documents
from bertguide.experiments.cache import load_average
from bertguide.masking import MaskingVocab, PreTrainingCollator, mask_examples
from bertguide.model import BertModel, mean_pool
from bertguide.pretraining import BertForPreTraining
from bertguide.tokenizer import WordPieceTokenizer
from bertguide.training import TrainingConfig, train


def encode_all(texts: list[str], tok: WordPieceTokenizer, max_length: int) -> list[dict]:
    """Texts -> examples ``{"input_ids": [CLS] ... [SEP]}`` cut at ``max_length``."""
    return [{"input_ids": [*tok.encode(t)[: max_length - 1], tok.sep_token_id]} for t in texts]


def compact_vocab(example_sets: list[list[dict]], tok: WordPieceTokenizer):
    """Renumber the tokens that occur in ``example_sets`` (and the special ones) 0 .. K-1.

    A model trained from scratch on a few hundred sequences meets only K of the 30,522
    WordPieces (a few thousand); its embedding table, decoder and optimiser state shrink
    by as much. Returns ``(vocab, remap)``: a ``MaskingVocab`` of the K tokens and a
    function that renumbers examples (a token outside them becomes [UNK]).
    """
    full = MaskingVocab.from_tokenizer(tok)
    specials = {int(i) for i in full.special_ids}
    seen = {i for examples in example_sets for e in examples for i in e["input_ids"]}
    used = sorted(seen | specials)  # [PAD] = 0 stays 0
    new = {old: k for k, old in enumerate(used)}
    vocab = MaskingVocab(
        mask_token_id=new[tok.mask_token_id],
        pad_token_id=new[tok.pad_token_id],
        vocab_size=len(used),
        special_ids=torch.tensor(sorted(new[i] for i in specials)),
        replacement_ids=torch.tensor([k for k, old in enumerate(used) if old not in specials]),
        continues_word=full.continues_word[torch.tensor(used)],
    )

    def remap(examples: list[dict]) -> list[dict]:
        unk = new[tok.unk_token_id]
        return [{"input_ids": [new.get(i, unk) for i in e["input_ids"]]} for e in examples]

    return vocab, remap


def masked_batches(examples: list[dict], tok, seed: int, batch_size: int = 32) -> list[dict]:
    """Examples masked once (15 %, 80/10/10, seeded), as padded batches with ``labels``."""
    masked = mask_examples(examples, tok, generator=torch.Generator().manual_seed(seed))
    masked.sort(key=lambda e: len(e["input_ids"]))
    collate = PreTrainingCollator(tok)
    return [collate(masked[i : i + batch_size]) for i in range(0, len(masked), batch_size)]


def small_bert(architecture: tuple[int, int, int], vocab_size: int, seed: int):
    """A ``BertForPreTraining`` of (layers, hidden, heads), seeded, without dropout."""
    from bertguide.experiments.restoring import architecture_config

    torch.manual_seed(seed)
    config = architecture_config(architecture, vocab_size)
    config = dataclasses.replace(config, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return BertForPreTraining(config)


@torch.no_grad()
def mlm_accuracy(model: BertForPreTraining, batches: list[dict]) -> float:
    """Top-1 accuracy over the masked positions of ``batches`` (labels != -100)."""
    model.eval()
    right = total = 0
    for batch in batches:
        out = model(
            batch["input_ids"],
            batch["attention_mask"],
            labels=batch["labels"],
            score_masked_only=True,
        )
        targets = batch["labels"][out.prediction_mask]  # (M,)
        right += int((out.masked_lm_logits.argmax(-1) == targets).sum())
        total += targets.numel()
    return right / total


def best_time(function, batches: list, repeats: int) -> float:
    """Seconds ``function`` takes over all ``batches``: each batch's fastest of
    ``repeats`` calls (other processes only ever slow a call down), summed."""
    total = 0.0
    with torch.no_grad():
        function(batches[0])  # warm-up
        for batch in batches:
            total += min(_seconds(function, batch) for _ in range(repeats))
    return total


def _seconds(function, batch) -> float:
    start = time.perf_counter()
    function(batch)
    return time.perf_counter() - start


def fit(model, data, steps, settings, collate_fn, loss_fn, eval_fn=None, **config):
    """``train`` with ``settings``' batch size, learning rate and seed, 10 % warmup, no bar."""
    config = TrainingConfig(
        max_steps=steps,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=steps // 10,
        seed=settings.seed,
        show_progress=False,
        **config,
    )
    return train(model, data, config, collate_fn=collate_fn, loss_fn=loss_fn, eval_fn=eval_fn)


def _save(folder: Path, model: nn.Module, settings) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    config = {"run_settings": dataclasses.asdict(settings)}
    (folder / "config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")


def timed(run, settings, folder: Path) -> dict:
    """Run ``run(settings)`` -> (model, report) with ``settings.threads`` threads; save
    the model into ``folder``; add wall time, load averages and versions to the report."""
    threads, load_before, start = torch.get_num_threads(), load_average(), time.perf_counter()
    cpu_start = time.process_time()
    torch.set_num_threads(settings.threads)
    try:
        model, report = run(settings)
    finally:
        torch.set_num_threads(threads)
    _save(folder, model, settings)
    return {
        **report,
        "settings": dataclasses.asdict(settings),
        "wall_time_s": time.perf_counter() - start,
        "cpu_time_s": time.process_time() - cpu_start,  # all threads: ~threads x wall, idle
        "load_average": [load_before, load_average()],
        "threads": settings.threads,
        "torch": torch.__version__,
    }


CORPORA = ("wikipedia", "lee")  # the offline corpora the runs read (train / held-out split)


def sentences(split: str, n: int, seed: int, min_words: int = 5) -> list[str]:
    """``n`` sentences of at least ``min_words`` words from Wikipedia and Lee's ``split``
    documents, drawn with ``seed`` (all of them when there are fewer)."""
    pool = [
        s
        for corpus in CORPORA
        for document in sentence_documents(corpus, split)
        for s in document
        if len(s.split()) >= min_words
    ]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def packed(split: str, n: int, tok, max_length: int, seed: int) -> list[dict]:
    """``n`` RoBERTa FULL-SENTENCES inputs (``pack_full_sentences``) from ``split``."""
    from bertguide.family.roberta import pack_full_sentences

    docs = [d for c in CORPORA for d in sentence_documents(c, split)]
    random.Random(seed).shuffle(docs)
    out = []
    for start in range(0, len(docs), 20):  # a few documents at a time: stop early
        out += pack_full_sentences(docs[start : start + 20], tok, max_length=max_length)
        if len(out) >= n + 20:
            break
    return [{"input_ids": e["input_ids"]} for e in out if len(e["input_ids"]) > 8][:n]


@torch.no_grad()
def pooled_from_ids(encoder: BertModel, examples: list[dict], batch_size: int = 64):
    """(N, C) mean-pooled last-layer vectors of examples given as token ids."""
    collate = PreTrainingCollator(WordPieceTokenizer.from_pretrained(), mlm=False)
    rows = []
    for i in range(0, len(examples), batch_size):
        batch = collate(examples[i : i + batch_size])
        hidden = encoder(batch["input_ids"], batch["attention_mask"]).last_hidden_state
        rows.append(mean_pool(hidden, batch["attention_mask"]))  # (B, C)
    return torch.cat(rows)
