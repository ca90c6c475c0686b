"""Writing with GPT: greedy and sampled generation, with and without the key/value cache.

Serves the chapter "GPT: the autoregressive branch". Dimensions: B = batch, T = tokens,
V = vocabulary size.

``generate(model, input_ids, max_new_tokens)`` appends one token at a time to each row
of ``input_ids``: it scores the next token from the last position's logits and picks the
best one (greedy), or, with ``do_sample=True``, draws one from the softmax of the logits
divided by ``temperature`` and cut to the ``top_k`` best. With ``use_cache`` only the
newest token is fed at each step; the keys and values of the earlier ones come from the
cache (``bertguide.gpt``), and the ids are the same either way.

Left out: beam search, top-p (nucleus) sampling, repetition penalties and stop strings.
"""

from __future__ import annotations

import torch

from bertguide.checks import check_flags, check_float, check_generator, check_int
from bertguide.embeddings import check_ids, check_input_ids
from bertguide.gpt import GPT2LMHeadModel, KeyValueCache


def _check_generate_args(model, input_ids, max_new_tokens, temperature, top_k, generator, eos):
    if not isinstance(model, GPT2LMHeadModel):
        raise TypeError(f"model must be a GPT2LMHeadModel, not {type(model).__name__}")
    check_input_ids(input_ids)
    V = model.config.vocab_size
    check_ids("input_ids", input_ids, input_ids.shape, V, "vocab_size")
    check_int("max_new_tokens", max_new_tokens, 0)
    check_float("temperature", temperature, 0.0, open_low=True, open_high=True)
    check_int("top_k", top_k, 1, optional=True)
    check_generator("generator", generator)
    check_int("eos_token_id", eos, 0, optional=True)
    if eos is not None and eos >= V:
        raise ValueError(f"eos_token_id must be in [0, vocab_size={V}), got {eos}")


@torch.no_grad()
def generate(
    model: GPT2LMHeadModel,
    input_ids: torch.Tensor,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    do_sample: bool = False,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    eos_token_id: int | None = None,
) -> torch.Tensor:
    """Continue input_ids (B, T) by up to ``max_new_tokens``: returns (B, T + new) ids.

    Each step scores the next token from the last position's logits. Greedy (the
    highest score) unless ``do_sample``: then logits / ``temperature`` (below 1 sharper,
    above 1 flatter), keep the ``top_k`` best (all when None; more than V means all), and
    draw from the softmax with ``generator`` (seed it for repeatable samples).
    ``temperature`` and ``top_k`` are checked but do not matter when greedy.

    ``use_cache`` feeds only the newest token per step and reuses the earlier keys and
    values; the ids are the same either way. Once the sequence fills ``n_positions``,
    each step re-reads the last ``n_positions`` tokens without the cache (see the module
    docstring). With ``eos_token_id``, a row that has produced it keeps producing it
    (padding), and generation stops early when every row has. Call ``model.eval()``
    first: dropout stays on in training mode.

    >>> from bertguide.gpt import GPT2LMHeadModel, GPTConfig
    >>> model = GPT2LMHeadModel(GPTConfig.tiny()).eval()
    >>> generate(model, torch.tensor([[104, 105]]), 5).shape
    torch.Size([1, 7])
    """
    _check_generate_args(
        model, input_ids, max_new_tokens, temperature, top_k, generator, eos_token_id
    )
    check_flags(do_sample=do_sample, use_cache=use_cache)
    window = model.config.n_positions
    ids = input_ids
    past: KeyValueCache | None = None
    finished = torch.zeros(ids.size(0), dtype=torch.bool, device=ids.device)  # (B,)
    for _ in range(max_new_tokens):
        if past is not None and past[0][0].size(2) < window:
            out = model(ids[:, -1:], past_key_values=past, use_cache=True)  # one new token
        else:  # the first step, no cache, or a full window: read the last `window` tokens
            out = model(ids[:, -window:], use_cache=use_cache)
        past = out.past_key_values
        logits = out.logits[:, -1, :]  # (B, V): scores for the next token
        if do_sample:
            logits = logits / temperature
            if top_k is not None and top_k < logits.size(-1):
                kth_best = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1)
                logits = logits.masked_fill(logits < kth_best, float("-inf"))
            probs = logits.softmax(dim=-1)  # (B, V)
            next_ids = torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)
        else:
            next_ids = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
        if eos_token_id is not None:
            next_ids = next_ids.masked_fill(finished[:, None], eos_token_id)
            finished = finished | (next_ids[:, 0] == eos_token_id)
        ids = torch.cat([ids, next_ids], dim=1)  # (B, T + 1)
        if eos_token_id is not None and bool(finished.all()):
            break
    return ids
