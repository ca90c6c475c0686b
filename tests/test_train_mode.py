"""Our BertModel against transformers' in training mode: gradients and dropout.

``test_parity.py`` compares the two models in eval mode, where dropout is off and our
model may take shortcuts (an all-ones mask is dropped). Training runs another path:
dropout is on, the mask is always applied, and what matters is the gradient. Here
the same weights go into both models, both in ``train()`` mode, and

* with every dropout probability at 0, the outputs and the gradient of every
  parameter agree (on our fused path and on our explicit path, which returns weights);
* dropout sits where transformers puts it: the same modules by name, with the same
  probabilities; and dropping *everything* at one site (p = 1, which needs no random
  numbers) changes the outputs exactly as it changes transformers';
* with dropout on, a seeded training forward is repeatable and differs from eval mode;
* ``output_attentions=True`` in training returns the weights *after* dropout (zeros,
  and survivors scaled by 1 / (1 - p)), which are the weights the values were mixed
  with, as transformers' eager attention returns them.

Random dropout masks are never compared across the libraries.
Dimensions: B = batch, T = tokens, C = hidden size, N = heads.
"""

from __future__ import annotations

import pytest
import torch
import transformers
from torch import nn

from bertguide.config import BertConfig
from bertguide.model import BertModel

SHAPE = dict(
    vocab_size=97,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=48,
    max_position_embeddings=24,
    type_vocab_size=2,
)
HIDDEN_P, ATTENTION_P = 0.1, 0.25  # different, so a swapped probability shows


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_models(hidden_p: float = 0.0, attention_p: float = 0.0, implementation="eager"):
    """Our model with randomised weights and transformers' with the same ones, in train()."""
    config = BertConfig(
        **SHAPE, hidden_dropout_prob=hidden_p, attention_probs_dropout_prob=attention_p
    )
    torch.manual_seed(0)
    ours = BertModel(config)
    with torch.no_grad():
        for parameter in ours.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)  # more than the tiny init
    theirs = transformers.BertModel(
        transformers.BertConfig(**config.to_dict(), attn_implementation=implementation)
    )
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return ours.train(), theirs.train()


def padded_batch(lengths=(9, 5, 2), seed=1):
    """Random ids and segments, right-padded to the longest row."""
    g = torch.Generator().manual_seed(seed)
    B, T = len(lengths), max(lengths)
    input_ids = torch.randint(1, SHAPE["vocab_size"], (B, T), generator=g)
    token_type_ids = torch.randint(0, SHAPE["type_vocab_size"], (B, T), generator=g)
    attention_mask = torch.zeros(B, T, dtype=torch.long)
    for row, length in enumerate(lengths):
        attention_mask[row, :length] = 1
        input_ids[row, length:] = 0
        token_type_ids[row, length:] = 0
    return dict(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask)


def projection_loss(out, seed=2):
    """A fixed random scalar of last_hidden_state (padding rows too) and pooler_output."""
    g = torch.Generator().manual_seed(seed)
    hidden, pooled = out.last_hidden_state, out.pooler_output
    p_hidden = torch.randn(hidden.shape, generator=g)
    p_pooled = torch.randn(pooled.shape, generator=g)
    return (hidden * p_hidden).sum() + (pooled * p_pooled).sum()


def dropout_modules(model) -> dict[str, float]:
    return {name: m.p for name, m in model.named_modules() if isinstance(m, nn.Dropout)}


# --- gradients with dropout at 0 ---------------------------------------------------


@pytest.mark.parametrize(
    ("output_attentions", "implementation"),
    [(False, "eager"), (True, "eager"), (False, "sdpa")],
    ids=["fused-vs-eager", "explicit-vs-eager", "fused-vs-sdpa"],
)
def test_training_gradients_equal_transformers(output_attentions, implementation):
    ours, theirs = make_models(implementation=implementation)
    batch = padded_batch()
    mine = ours(**batch, output_attentions=output_attentions, output_hidden_states=True)
    reference = theirs(**batch, output_attentions=output_attentions, output_hidden_states=True)
    for a, b in zip(mine.hidden_states, reference.hidden_states, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    torch.testing.assert_close(mine.pooler_output, reference.pooler_output, atol=1e-5, rtol=0)
    if output_attentions:
        for a, b in zip(mine.attentions, reference.attentions, strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    projection_loss(mine).backward()
    projection_loss(reference).backward()
    theirs_grads = {name: p.grad for name, p in theirs.named_parameters()}
    ours_grads = {name: p.grad for name, p in ours.named_parameters()}
    assert ours_grads.keys() == theirs_grads.keys()
    for name, grad in ours_grads.items():
        assert grad is not None and theirs_grads[name] is not None, name
        assert grad.abs().sum() > 0, name  # the loss reaches every parameter
        torch.testing.assert_close(grad, theirs_grads[name], atol=1e-5, rtol=1e-4, msg=name)


def test_training_mode_with_dropout_off_computes_what_eval_mode_does():
    ours, _ = make_models()
    batch = padded_batch()
    trained = ours(**batch).last_hidden_state
    with torch.no_grad():
        evaluated = ours.eval()(**batch).last_hidden_state
    torch.testing.assert_close(trained.detach(), evaluated, atol=1e-6, rtol=0)


# --- where dropout sits --------------------------------------------------------------


def test_dropout_modules_have_transformers_names_and_probabilities():
    ours, theirs = make_models(HIDDEN_P, ATTENTION_P)
    mine = dropout_modules(ours)
    assert mine == dropout_modules(theirs)
    L = SHAPE["num_hidden_layers"]
    assert len(mine) == 1 + 3 * L  # embeddings; per layer: attention probs, two sub-layers
    assert mine["embeddings.dropout"] == HIDDEN_P
    for layer in range(L):
        prefix = f"encoder.layer.{layer}."
        assert mine[prefix + "attention.self.dropout"] == ATTENTION_P
        assert mine[prefix + "attention.output.dropout"] == HIDDEN_P
        assert mine[prefix + "output.dropout"] == HIDDEN_P


@pytest.mark.parametrize("output_attentions", [False, True], ids=["fused", "explicit"])
def test_dropping_everything_at_one_site_changes_both_models_alike(output_attentions):
    """p = 1 zeroes the site's tensor with no random numbers: a deterministic probe.

    Dropout before the residual (``LayerNorm(x + 0)``) and dropout after it
    (``LayerNorm(0)``) give different outputs, so a dropout in another place fails.
    """
    ours, theirs = make_models()
    batch = padded_batch()
    with torch.no_grad():
        baseline = ours(**batch).last_hidden_state
    ours_sites, theirs_sites = dict(ours.named_modules()), dict(theirs.named_modules())
    names = list(dropout_modules(theirs))
    assert names == list(dropout_modules(ours))
    for name in names:
        ours_sites[name].p = theirs_sites[name].p = 1.0
        with torch.no_grad():
            mine = ours(**batch, output_attentions=output_attentions)
            reference = theirs(**batch, output_attentions=output_attentions)
        ours_sites[name].p = theirs_sites[name].p = 0.0
        assert not torch.allclose(mine.last_hidden_state, baseline, atol=1e-3), name
        torch.testing.assert_close(
            mine.last_hidden_state, reference.last_hidden_state, atol=1e-5, rtol=0, msg=name
        )
        torch.testing.assert_close(
            mine.pooler_output, reference.pooler_output, atol=1e-5, rtol=0, msg=name
        )
        if output_attentions and name.endswith("attention.self.dropout"):
            layer = int(name.split(".")[2])
            assert not mine.attentions[layer].any(), name  # every weight dropped
            assert not reference.attentions[layer].any(), name


def test_training_forward_with_dropout_is_seeded_and_differs_from_eval():
    ours, _ = make_models(HIDDEN_P, ATTENTION_P)
    batch = padded_batch()
    with torch.no_grad():
        torch.manual_seed(5)
        first = ours(**batch).last_hidden_state
        torch.manual_seed(5)
        again = ours(**batch).last_hidden_state
        torch.manual_seed(6)
        other = ours(**batch).last_hidden_state
        evaluated = ours.eval()(**batch).last_hidden_state
        evaluated_again = ours(**batch).last_hidden_state
    assert torch.equal(first, again)
    assert not torch.allclose(first, other, atol=1e-3)
    assert not torch.allclose(first, evaluated, atol=1e-3)
    assert torch.equal(evaluated, evaluated_again)


@pytest.mark.parametrize("which", ["ours", "transformers"])
def test_training_attention_weights_are_returned_after_dropout(which):
    """Layer 0 sees the same input in train and eval mode when hidden dropout is 0; its
    training weights are then the eval weights, each dropped (0) or scaled by 1/(1-p)."""
    p = 0.5
    ours, theirs = make_models(hidden_p=0.0, attention_p=p)
    model = ours if which == "ours" else theirs
    batch = padded_batch()
    with torch.no_grad():
        torch.manual_seed(7)
        trained = model(**batch, output_attentions=True).attentions[0]  # (B, N, T, T)
        plain = model.eval()(**batch, output_attentions=True).attentions[0]
    dropped = trained == 0
    kept = ~dropped & (plain > 0)
    assert dropped[plain > 1e-6].float().mean().item() == pytest.approx(p, abs=0.15)
    torch.testing.assert_close(trained[kept], plain[kept] / (1 - p), atol=1e-6, rtol=1e-5)
    assert not torch.allclose(trained.sum(-1), torch.ones(()), atol=1e-3)  # rows no longer 1


def test_our_returned_training_weights_are_the_ones_the_values_were_mixed_with():
    ours, _ = make_models(hidden_p=0.0, attention_p=0.5)
    batch = padded_batch()
    seen = {}
    layer = ours.encoder.layer[0].attention.self
    hooks = [
        ours.embeddings.register_forward_hook(lambda m, args, out: seen.update(x=out)),
        layer.register_forward_hook(lambda m, args, out: seen.update(y=out[0], w=out[1])),
    ]
    try:
        with torch.no_grad():
            torch.manual_seed(8)
            ours(**batch, output_attentions=True)
    finally:
        for hook in hooks:
            hook.remove()
    B, T, C = seen["x"].shape
    N = SHAPE["num_attention_heads"]
    with torch.no_grad():
        v = layer.value(seen["x"]).view(B, T, N, C // N).transpose(1, 2)  # (B, N, T, H)
        mixed = (seen["w"] @ v).transpose(1, 2).reshape(B, T, C)  # (B, T, C)
    assert (seen["w"] == 0).any()
    torch.testing.assert_close(seen["y"], mixed, atol=1e-6, rtol=0)
