"""The GPT chapter's decoder: causality, the key/value cache, generation, transformers parity.

References: transformers' GPT2LMHeadModel on the same weights (logits, loss, attention
weights, cached keys and values, parameter counts), hand-computed losses and masks, and
a full forward pass as the reference for every cached step.
"""

import doctest
import math

import pytest
import torch
import torch.nn.functional as F

from bertguide import generation, gpt
from bertguide.generation import generate
from bertguide.gpt import (
    GPT2LMHeadModel,
    GPTConfig,
    causal_mask,
    convert_hf_gpt2_state_dict,
    next_token_loss,
)

ATOL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: one thread is fastest, and immune to busy neighbours."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_config(**overrides) -> GPTConfig:
    """A random-weight model small enough for exhaustive checks; no dropout."""
    sizes = dict(vocab_size=50, n_positions=16, n_embd=32, n_layer=2, n_head=4)
    return GPTConfig.tiny(**{**sizes, **overrides})


def small_model(seed: int = 0, **overrides) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    return GPT2LMHeadModel(small_config(**overrides)).eval()


def random_ids(shape, vocab_size, seed=1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab_size, shape, generator=g)


def n_parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())  # shared (tied) tensors once


# --- the mask and causality ---------------------------------------------------


def test_causal_mask_is_the_lower_triangle():
    expected = [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]
    mask = causal_mask(4)
    assert mask.dtype == torch.bool and mask.shape == (4, 4)
    assert mask.int().tolist() == expected
    # with 3 cached tokens, 2 new queries (positions 3 and 4) see keys 0..3 and 0..4
    assert causal_mask(2, past_length=3).int().tolist() == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]


@pytest.mark.parametrize(
    "bad, match", [(dict(T=0), "T must be >= 1"), (dict(T=2, past_length=-1), "past_length")]
)
def test_causal_mask_rejects_bad_sizes(bad, match):
    with pytest.raises(ValueError, match=match):
        causal_mask(**bad)


def test_attention_weights_vanish_above_the_diagonal():
    model = small_model()
    T = 7
    with torch.inference_mode():
        out = model(random_ids((2, T), 50), output_attentions=True)
    assert len(out.attentions) == model.config.n_layer
    above = ~causal_mask(T)
    for weights in out.attentions:
        assert weights.shape == (2, model.config.n_head, T, T)
        assert torch.all(weights[..., above] == 0.0)  # exactly zero, not just small
        assert torch.all(weights[..., ~above] > 0.0)
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, T), atol=1e-6, rtol=0)
    # the first token attends only to itself
    assert torch.all(out.attentions[0][..., 0, 0] == 1.0)


@pytest.mark.parametrize("output_attentions", [False, True], ids=["fused", "explicit"])
def test_a_future_token_never_changes_earlier_logits(output_attentions):
    model = small_model()
    T = 12
    ids = random_ids((1, T), 50)
    with torch.inference_mode():
        base = model(ids, output_attentions=output_attentions).logits  # (1, T, V)
        for t in range(T):
            changed = ids.clone()
            changed[0, t] = (ids[0, t] + 1 + t) % 50  # another token at position t
            logits = model(changed, output_attentions=output_attentions).logits
            # positions before t cannot see token t
            torch.testing.assert_close(logits[:, :t], base[:, :t], atol=1e-6, rtol=0)
            # position t itself reads it
            assert (logits[:, t] - base[:, t]).abs().max() > 1e-3, t


# --- the key/value cache --------------------------------------------------------


@pytest.mark.parametrize("output_attentions", [False, True], ids=["fused", "explicit"])
def test_cached_steps_equal_a_full_forward(output_attentions):
    model = small_model()
    ids = random_ids((2, 14), 50)
    kwargs = dict(use_cache=True, output_attentions=output_attentions)
    with torch.inference_mode():
        full = model(ids, **kwargs)
        out = model(ids[:, :4], **kwargs)  # the prompt
        torch.testing.assert_close(out.logits, full.logits[:, :4], atol=ATOL, rtol=0)
        past = out.past_key_values
        # one token at a time, then a chunk of three with a cache (the shifted triangle)
        steps = [(t, t + 1) for t in range(4, 11)] + [(11, 14)]
        for start, end in steps:
            out = model(ids[:, start:end], past_key_values=past, **kwargs)
            torch.testing.assert_close(out.logits, full.logits[:, start:end], atol=ATOL, rtol=0)
            past = out.past_key_values
            assert past[0][0].shape == (2, 4, end, 8)  # (B, N, P, H) grows by the new tokens
            if output_attentions:
                weights = out.attentions[-1]  # (B, N, T, P + T)
                expected = full.attentions[-1][:, :, start:end, :end]
                torch.testing.assert_close(weights, expected, atol=ATOL, rtol=0)
    for (k, v), (k_full, v_full) in zip(past, full.past_key_values, strict=True):
        torch.testing.assert_close(k, k_full, atol=ATOL, rtol=0)
        torch.testing.assert_close(v, v_full, atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    "sampling",
    [dict(), dict(do_sample=True), dict(do_sample=True, temperature=0.7, top_k=5)],
    ids=["greedy", "sampled", "sampled-top-k"],
)
def test_generate_gives_the_same_ids_with_and_without_the_cache(sampling):
    model = small_model()
    prompt = random_ids((3, 5), 50)
    runs = []
    for use_cache in (True, False):
        g = torch.Generator().manual_seed(7) if sampling else None
        # 30 new tokens: past the 16-token window, where generate crops
        runs.append(generate(model, prompt, 30, generator=g, use_cache=use_cache, **sampling))
    assert runs[0].shape == (3, 35)
    assert torch.equal(runs[0][:, :5], prompt)
    assert torch.equal(runs[0], runs[1])


# --- transformers ------------------------------------------------------------------


def hf_config(config: GPTConfig):
    import transformers

    return transformers.GPT2Config(**config.to_hf_dict())


def test_parameter_counts_equal_transformers():
    import transformers

    for config, expected in ((GPTConfig.small(), 124_439_808), (GPTConfig.tiny(), None)):
        with torch.device("meta"):
            ours = GPT2LMHeadModel(config)
            theirs = transformers.GPT2LMHeadModel(hf_config(config))
            theirs.tie_weights()  # transformers 5.0 to 5.3 leave meta-device models untied
        assert n_parameters(ours) == n_parameters(theirs)
        if expected is not None:
            assert n_parameters(ours) == expected
        theirs_shapes = {k: v.shape for k, v in theirs.state_dict().items()}
        ours_shapes = {k: v.shape for k, v in ours.state_dict().items()}
        assert ours_shapes.keys() == theirs_shapes.keys()  # the same names, key for key
        for key, shape in ours_shapes.items():
            # Conv1D stores (in, out), nn.Linear (out, in)
            conv1d = key.endswith(gpt.CONV1D_SUFFIXES)
            assert shape == (theirs_shapes[key][::-1] if conv1d else theirs_shapes[key]), key


def test_tied_lm_head_is_one_tensor():
    model = small_model()
    assert model.lm_head.weight is model.transformer.wte.weight
    config = model.config
    untied = (config.vocab_size + config.n_positions) * config.n_embd
    names = [name for name, _ in model.named_parameters()]
    assert "lm_head.weight" not in names  # reported once, under its first name
    assert n_parameters(model.transformer) == n_parameters(model) > untied


@pytest.fixture(scope="module")
def hf_pair():
    """transformers' GPT-2 with random weights (eager attention) and ours loaded from it."""
    import transformers

    # n_inner and layer_norm_epsilon away from their defaults, so that both are read
    config = GPTConfig.tiny(
        vocab_size=97, n_positions=32, n_embd=48, n_layer=3, n_head=4, n_inner=100,
        layer_norm_epsilon=1e-3,
    )  # fmt: skip
    torch.manual_seed(0)
    theirs = transformers.GPT2LMHeadModel._from_config(
        hf_config(config), attn_implementation="eager"
    ).eval()
    # GPT-2's init (std 0.02, LayerNorms at 1 and 0) keeps activations near 0, where
    # erf and tanh GELU agree to 1e-6: draw weights that make every detail count.
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            if name.endswith(("wte.weight", "wpe.weight")):
                p.normal_(0.0, 0.5)
            elif p.dim() == 2:  # Conv1D (in, out): unit-variance outputs
                p.normal_(0.0, p.size(0) ** -0.5)
            elif ".ln_" in name or "ln_f" in name:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.1)
            else:
                p.normal_(0.0, 0.1)  # biases
    ours = GPT2LMHeadModel(config).eval()
    ours.load_state_dict(convert_hf_gpt2_state_dict(theirs.state_dict(), config))
    return ours, theirs


def test_logits_loss_and_weights_equal_transformers(hf_pair):
    ours, theirs = hf_pair
    ids = random_ids((2, 20), 97, seed=3)
    labels = ids.clone()
    labels[0, 5:9] = -100
    with torch.inference_mode():
        expected = theirs(ids, labels=labels, output_attentions=True, use_cache=True)
        explicit = ours(ids, labels=labels, output_attentions=True, use_cache=True)
        fused = ours(ids, labels=labels)
    for got in (explicit, fused):
        torch.testing.assert_close(got.logits, expected.logits, atol=ATOL, rtol=0)
        torch.testing.assert_close(got.loss, expected.loss, atol=ATOL, rtol=0)
    assert len(explicit.attentions) == len(expected.attentions) == 3
    for mine, their in zip(explicit.attentions, expected.attentions, strict=True):
        torch.testing.assert_close(mine, their, atol=ATOL, rtol=0)
    for (k, v), layer in zip(
        explicit.past_key_values, expected.past_key_values.layers, strict=True
    ):
        torch.testing.assert_close(k, layer.keys, atol=ATOL, rtol=0)
        torch.testing.assert_close(v, layer.values, atol=ATOL, rtol=0)


def test_cached_step_equals_transformers(hf_pair):
    ours, theirs = hf_pair
    ids = random_ids((2, 9), 97, seed=4)
    with torch.inference_mode():
        expected = theirs(ids[:, :8], use_cache=True)
        expected = theirs(ids[:, 8:], past_key_values=expected.past_key_values, use_cache=True)
        got = ours(ids[:, :8], use_cache=True)
        got = ours(ids[:, 8:], past_key_values=got.past_key_values, use_cache=True)
    torch.testing.assert_close(got.logits, expected.logits, atol=ATOL, rtol=0)


def test_greedy_generation_equals_transformers(hf_pair):
    ours, theirs = hf_pair
    prompt = random_ids((2, 4), 97, seed=5)
    with torch.inference_mode():
        expected = theirs.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=12,
            min_new_tokens=12,
            do_sample=False,
            pad_token_id=0,
        )
    assert torch.equal(generate(ours, prompt, 12), expected)


def test_converter_reads_a_bare_gpt2model_and_names_problems(hf_pair):
    ours, theirs = hf_pair
    config = ours.config
    # a GPT2Model checkpoint: no "transformer." prefix, no lm_head (tied), old mask buffers
    bare = {k.removeprefix("transformer."): v for k, v in theirs.state_dict().items()}
    del bare["lm_head.weight"]
    bare["h.0.attn.bias"] = torch.ones(1, 1, 32, 32).tril()
    converted = convert_hf_gpt2_state_dict(bare, config)
    assert converted.keys() == ours.state_dict().keys()
    for key, value in ours.state_dict().items():
        assert torch.equal(converted[key], value), key

    broken = dict(theirs.state_dict())
    broken["transformer.h.1.mlp.c_fc.weight"] = torch.zeros(100, 48)  # not transposed
    del broken["transformer.ln_f.bias"]
    broken["transformer.h.0.crossattention.c_attn.weight"] = torch.zeros(1)
    with pytest.raises(ValueError) as error:
        convert_hf_gpt2_state_dict(broken, config)
    message = str(error.value)
    assert "transformer.h.1.mlp.c_fc.weight has shape [48, 100], expected [100, 48]" in message
    assert "missing transformer.ln_f.bias" in message
    assert "unexpected key transformer.h.0.crossattention.c_attn.weight" in message


# --- loss --------------------------------------------------------------------------


def test_loss_is_the_shifted_cross_entropy():
    model = small_model()
    ids = random_ids((2, 6), 50, seed=2)
    labels = ids.clone()
    labels[1, 2] = -100  # position 1 of row 1 is not scored
    labels[0, 0] = -100  # the first label is never a target anyway
    with torch.inference_mode():
        out = model(ids, labels=labels)
    log_probs = out.logits.log_softmax(-1)
    terms = [
        -log_probs[b, t, labels[b, t + 1]]
        for b in range(2)
        for t in range(5)
        if labels[b, t + 1] != -100
    ]
    assert len(terms) == 9
    torch.testing.assert_close(out.loss, torch.stack(terms).mean(), atol=1e-6, rtol=0)
    # -100 is skipped, not scored as some token
    with torch.inference_mode():
        unmasked = model(ids, labels=ids).loss
    assert not torch.isclose(unmasked, out.loss, atol=1e-6)


def test_next_token_loss_of_uniform_logits_is_log_vocab():
    logits = torch.zeros(2, 5, 7)
    labels = torch.tensor([[0, 1, 2, 3, 4], [6, 5, 4, 3, -100]])
    assert math.isclose(float(next_token_loss(logits, labels)), math.log(7), rel_tol=1e-6)


# --- generation --------------------------------------------------------------------


def test_greedy_takes_the_argmax_of_a_full_forward_each_step():
    model = small_model()
    prompt = random_ids((2, 3), 50)
    ids = prompt
    with torch.inference_mode():
        for _ in range(8):
            next_ids = model(ids).logits[:, -1].argmax(-1, keepdim=True)
            ids = torch.cat([ids, next_ids], dim=1)
    assert torch.equal(generate(model, prompt, 8), ids)
    assert torch.equal(generate(model, prompt, 8), ids)  # and again: deterministic


def test_sampling_is_repeatable_under_a_seed():
    model = small_model()
    prompt = random_ids((2, 3), 50)

    def sample(seed):
        g = torch.Generator().manual_seed(seed)
        return generate(model, prompt, 12, do_sample=True, generator=g)

    assert torch.equal(sample(0), sample(0))
    assert not torch.equal(sample(0), sample(1))
    assert not torch.equal(sample(0), generate(model, prompt, 12))  # not greedy


def test_top_k_1_and_a_cold_temperature_are_greedy():
    model = small_model()
    prompt = random_ids((4, 3), 50)
    greedy = generate(model, prompt, 10)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(generate(model, prompt, 10, do_sample=True, top_k=1, generator=g), greedy)
    cold = generate(model, prompt, 10, do_sample=True, temperature=1e-4, generator=g)
    assert torch.equal(cold, greedy)


@pytest.mark.parametrize("temperature, top_k", [(1.0, None), (2.0, None), (0.8, 4)])
def test_sampled_tokens_follow_the_tempered_top_k_softmax(temperature, top_k):
    """Draw the first new token 20,000 times; frequencies match the distribution."""
    model = small_model(vocab_size=8, initializer_range=0.5)  # far from uniform
    prompt = random_ids((1, 3), 8).expand(20_000, 3)
    with torch.inference_mode():
        logits = model(prompt[:1]).logits[0, -1] / temperature  # (V,)
    if top_k is not None:
        logits = logits.masked_fill(logits < logits.topk(top_k).values[-1], float("-inf"))
    expected = logits.softmax(-1)
    untempered = (logits * temperature).softmax(-1)
    if temperature != 1.0:  # the check can tell the temperature was applied
        assert (expected - untempered).abs().max() > 0.05
    g = torch.Generator().manual_seed(0)
    drawn = generate(model, prompt, 1, do_sample=True, temperature=temperature, top_k=top_k,
                     generator=g)[:, -1]  # fmt: skip
    frequencies = torch.bincount(drawn, minlength=8).float() / len(drawn)
    torch.testing.assert_close(frequencies, expected, atol=0.015, rtol=0)
    if top_k is not None:
        assert torch.all(frequencies[expected == 0] == 0)


def test_generation_stops_at_eos_and_pads_with_it():
    model = small_model()
    prompt = random_ids((2, 3), 50, seed=11)
    greedy = generate(model, prompt, 10)  # (2, 13); rows are independent of each other
    new0, new1 = greedy[0, 3:].tolist(), greedy[1, 3:].tolist()
    # an eos that row 0 produces and row 1 never does
    eos = next(t for t in new0 if t not in new1)
    first = new0.index(eos)
    alone = generate(model, prompt[:1], 10, eos_token_id=eos)
    assert alone[0].tolist() == greedy[0, : 3 + first + 1].tolist()  # stops right after it
    both = generate(model, prompt, 10, eos_token_id=eos)
    assert both.shape == (2, 13)  # row 1 never finishes: all 10 steps run
    assert both[1].tolist() == greedy[1].tolist()
    padded = new0[: first + 1] + [eos] * (10 - first - 1)  # a finished row repeats eos
    assert both[0, 3:].tolist() == padded
    assert padded != new0  # row 0 would have gone on otherwise


def test_generate_crops_at_the_context_window():
    model = small_model()
    prompt = random_ids((1, 20), 50)  # longer than n_positions = 16
    out = generate(model, prompt, 3, use_cache=False)
    with torch.inference_mode():
        expected = model(prompt[:, -16:]).logits[0, -1].argmax()
    assert out.shape == (1, 23)
    assert int(out[0, 20]) == int(expected)


# --- errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(max_new_tokens=-1), ValueError, "max_new_tokens must be >= 0"),
        (dict(max_new_tokens=2.0), TypeError, "max_new_tokens must be an int"),
        (dict(temperature=0.0), ValueError, "temperature must be"),
        (dict(temperature=-1.0), ValueError, "temperature must be"),
        (dict(temperature=float("inf")), ValueError, "temperature must be"),
        (dict(top_k=0), ValueError, "top_k must be >= 1"),
        (dict(top_k=2.5), TypeError, "top_k must be an int"),
        (dict(generator=0), TypeError, r"generator must be a torch\.Generator"),
        (dict(eos_token_id=50), ValueError, r"eos_token_id must be in \[0, vocab_size=50\)"),
        (dict(do_sample=1), TypeError, "do_sample must be a bool"),
        (dict(use_cache="yes"), TypeError, "use_cache must be a bool"),
        (dict(input_ids=torch.tensor([1, 2])), ValueError, "unsqueeze"),
        (dict(input_ids=torch.tensor([[1.0, 2.0]])), TypeError, r"dtype torch\.long"),
        (dict(input_ids=torch.tensor([[1, 50]])), ValueError, r"50, outside \[0, 50\)"),
    ],
)
def test_generate_rejects_bad_arguments(kwargs, error, match):
    model = small_model()
    arguments = {"input_ids": torch.tensor([[1, 2]]), "max_new_tokens": 3, **kwargs}
    with pytest.raises(error, match=match):
        generate(model, **arguments)


def test_generate_rejects_a_model_of_another_kind():
    with pytest.raises(TypeError, match="model must be a GPT2LMHeadModel"):
        generate(torch.nn.Linear(2, 2), torch.tensor([[1]]), 1)


def test_forward_rejects_bad_input():
    model = small_model()
    ids = torch.tensor([[1, 2, 3]])
    with pytest.raises(TypeError, match=r"dtype torch\.long"):
        model(ids.int())
    with pytest.raises(ValueError, match="unsqueeze"):
        model(ids[0])
    with pytest.raises(ValueError, match=r"-1, outside \[0, 50\)"):
        model(torch.tensor([[1, -1]]))
    with pytest.raises(ValueError, match="17 tokens but this model reads at most n_positions=16"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(TypeError, match="use_cache must be a bool"):
        model(ids, use_cache=1)
    with pytest.raises(ValueError, match="labels has shape"):
        model(ids, labels=ids[:, :2])
    with pytest.raises(ValueError, match=r"labels contains 50, outside \[0, 50\) and not -100"):
        model(ids, labels=torch.tensor([[1, 50, 2]]))
    with pytest.raises(ValueError, match="at least 2 tokens"):
        model(ids[:, :1], labels=ids[:, :1])
    past = model(torch.zeros(1, 10, dtype=torch.long), use_cache=True).past_key_values
    with pytest.raises(ValueError, match="7 tokens after 10 cached tokens"):
        model(torch.zeros(1, 7, dtype=torch.long), past_key_values=past)
    with pytest.raises(ValueError, match=r"expected \[2, 4, 10, 8\]"):
        model(torch.zeros(2, 1, dtype=torch.long), past_key_values=past)
    with pytest.raises(TypeError, match="n_layer=2"):
        model(ids, past_key_values=past[:1])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_embd=30, n_head=4), ValueError, "divisible by n_head"),
        (dict(n_layer=0), ValueError, "n_layer must be >= 1"),
        (dict(n_inner=2.0), TypeError, "n_inner must be an int"),
        (dict(attn_pdrop=1.0), ValueError, r"attn_pdrop must be in \[0, 1\)"),
        (dict(layer_norm_epsilon=0), ValueError, "layer_norm_epsilon must be"),
    ],
)
def test_config_rejects_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        GPTConfig(**kwargs)


# --- initialisation, training, docstrings ----------------------------------------------


def test_gpt2_initialisation():
    torch.manual_seed(0)
    config = GPTConfig.tiny(n_embd=256, n_layer=8, n_head=8, vocab_size=512)
    model = GPT2LMHeadModel(config)
    residual_std = 0.02 / math.sqrt(2 * 8)  # 0.005
    for name, p in model.named_parameters():
        if name.endswith("c_proj.weight"):  # writes into the residual stream
            assert abs(p.std().item() - residual_std) < 0.05 * residual_std, name
        elif name.endswith(("c_attn.weight", "c_fc.weight", "wte.weight", "wpe.weight")):
            assert abs(p.std().item() - 0.02) < 0.05 * 0.02, name
        elif name.endswith("bias") and ".ln_" not in name and "ln_f" not in name:
            assert torch.all(p == 0), name
        elif ".ln_" in name or "ln_f" in name:
            assert torch.all(p == (1.0 if name.endswith("weight") else 0.0)), name


def test_a_tiny_gpt_learns_a_repeating_sequence():
    """Next-token training on "abcabc..." (ids 0 1 2) drives the loss to ~0."""
    torch.manual_seed(0)
    config = GPTConfig.tiny(vocab_size=3, n_positions=16, n_embd=32, n_layer=1, n_head=2)
    model = GPT2LMHeadModel(config)
    stream = torch.arange(300) % 3
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        starts = torch.randint(0, len(stream) - 16, (8,), generator=g)
        batch = torch.stack([stream[s : s + 16] for s in starts])  # (8, 16), any phase
        loss = model(batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.01
    model.eval()
    out = generate(model, torch.tensor([[1, 2]]), 40)  # past the 16-token window
    assert out[0].tolist() == [(1 + i) % 3 for i in range(42)]
    initial = F.cross_entropy(torch.zeros(1, 3), torch.tensor([0])).item()  # ln 3
    assert initial > 1.0 > 100 * loss.item()


def test_module_docstring_examples_run():
    for module, examples in ((gpt, 14), (generation, 2)):
        results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert results.attempted >= examples, module.__name__
        assert results.failed == 0, module.__name__
