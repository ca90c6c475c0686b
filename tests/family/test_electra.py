"""ELECTRA: the discriminator's labels mark exactly the replaced tokens; parity; the loss."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from bertguide.config import BertConfig
from bertguide.corpus import sentence_documents
from bertguide.family.electra import (
    DISCRIMINATOR_WEIGHT,
    ElectraForMaskedLM,
    ElectraForPreTraining,
    ElectraGeneratorDiscriminator,
    make_generator_config,
    replace_tokens,
    sample_tokens,
)
from bertguide.masking import PreTrainingCollator, make_nsp_pairs

SMALL = BertConfig.tiny(vocab_size=30522, max_position_embeddings=64)


@pytest.fixture(scope="module")
def batches(tok):
    """Three masked batches of 8 real sentence pairs (padding included), seeds 0..2."""
    pairs = make_nsp_pairs(sentence_documents("lee", "train")[:6], tok, max_length=48)
    return [
        PreTrainingCollator(tok, generator=torch.Generator().manual_seed(seed))(pairs[:8])
        for seed in range(3)
    ]


def test_replace_tokens_hand_example():
    original = torch.tensor([[5, 6, 7, 8, 0]])
    masked = torch.tensor([[False, True, True, True, False]])
    sampled = torch.tensor([6, 9, 8])  # the first and last samples equal the originals
    attention = torch.tensor([[1, 1, 1, 1, 0]])
    corrupted, labels = replace_tokens(original, masked, sampled, attention)
    assert corrupted.tolist() == [[5, 6, 9, 8, 0]]
    assert labels.tolist() == [[0, 0, 1, 0, -100]]


@pytest.mark.parametrize("seed", range(3))
def test_labels_mark_exactly_the_replaced_tokens(batches, seed):
    batch = batches[seed]
    torch.manual_seed(seed)
    model = ElectraGeneratorDiscriminator(
        SMALL, sampling_generator=torch.Generator().manual_seed(seed)
    ).eval()
    out = model(**{k: v for k, v in batch.items() if k != "next_sentence_label"})
    labels, masked = batch["labels"], batch["labels"] != -100
    original = torch.where(masked, labels, batch["input_ids"])
    real = batch["attention_mask"].bool()
    corrupted = out.corrupted_ids
    assert torch.equal(corrupted[~masked], original[~masked])  # only masked positions change
    expected = torch.where(real, (corrupted != original).long(), -100)
    assert torch.equal(out.discriminator_labels, expected)


def test_a_sample_equal_to_the_original_counts_as_original(batches, tok):
    """A generator that always samples the token "the": masked "the"s are label 0."""
    batch = batches[0]
    the = tok.convert_tokens_to_ids("the")
    model = ElectraGeneratorDiscriminator(SMALL).eval()
    with torch.no_grad():
        model.generator.generator_head.bias[the] = 1e4  # softmax ~ one-hot on "the"
    masked = batch["labels"] != -100
    original = torch.where(masked, batch["labels"], batch["input_ids"])
    assert (original[masked] == the).any() and (original[masked] != the).any()
    out = model(batch["input_ids"], batch["labels"], batch["attention_mask"])
    assert (out.corrupted_ids[masked] == the).all()
    expected = torch.zeros_like(original)
    expected[masked & (original != the)] = 1  # replaced: masked and not already "the"
    expected[batch["attention_mask"] == 0] = -100
    assert torch.equal(out.discriminator_labels, expected)


def test_loss_is_mlm_plus_fifty_times_discriminator(batches):
    batch = batches[1]
    model = ElectraGeneratorDiscriminator(
        SMALL, sampling_generator=torch.Generator().manual_seed(0)
    ).eval()
    out = model(batch["input_ids"], batch["labels"], batch["attention_mask"])
    masked = batch["labels"] != -100
    mlm = F.cross_entropy(out.generator_logits, batch["labels"][masked])
    real = out.discriminator_labels != -100
    bce = -torch.where(
        out.discriminator_labels[real] == 1,
        F.logsigmoid(out.discriminator_logits[real]),
        F.logsigmoid(-out.discriminator_logits[real]),
    ).mean()
    torch.testing.assert_close(out.generator_loss, mlm)
    torch.testing.assert_close(out.discriminator_loss, bce)
    torch.testing.assert_close(out.loss, mlm + 50.0 * bce)
    assert DISCRIMINATOR_WEIGHT == 50.0


def test_no_gradient_flows_through_the_samples(batches):
    batch = batches[2]
    model = ElectraGeneratorDiscriminator(SMALL).train()
    out = model(batch["input_ids"], batch["labels"], batch["attention_mask"])
    out.discriminator_loss.backward()
    assert all(p.grad is None for p in model.generator.parameters())
    assert model.discriminator.discriminator_predictions.dense.weight.grad.abs().sum() > 0


def test_sampling_follows_the_softmax():
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]])).expand(20_000, 3)
    draws = sample_tokens(logits, torch.Generator().manual_seed(0))
    frequencies = torch.bincount(draws, minlength=3) / 20_000
    torch.testing.assert_close(frequencies, torch.tensor([0.7, 0.2, 0.1]), atol=0.015, rtol=0)


def test_generator_config_is_a_quarter_of_the_discriminator():
    config = make_generator_config(BertConfig.base())
    assert (config.hidden_size, config.num_attention_heads, config.intermediate_size) == (
        192,
        3,
        768,
    )
    assert config.num_hidden_layers == 12
    with pytest.raises(ValueError, match="divisor"):
        make_generator_config(BertConfig.base(), divisor=5)


# --- parity with transformers ------------------------------------------------------------


def hf_config(transformers, config, embedding_size):
    return transformers.ElectraConfig(
        vocab_size=config.vocab_size,
        embedding_size=embedding_size,
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        intermediate_size=config.intermediate_size,
        max_position_embeddings=config.max_position_embeddings,
    )


def parity_inputs():
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 60, (2, 10), generator=g)
    mask = torch.ones_like(ids)
    mask[0, 7:] = 0
    return ids, mask


@pytest.mark.parametrize("embedding_size", [16, 32])  # projected, and E = C (no projection)
def test_discriminator_equals_transformers(transformers, embedding_size):
    config = dataclasses.replace(SMALL, vocab_size=60)
    torch.manual_seed(0)
    theirs = transformers.ElectraForPreTraining(
        hf_config(transformers, config, embedding_size)
    ).eval()
    ours = ElectraForPreTraining(config, embedding_size).eval()
    state = {k: v for k, v in theirs.state_dict().items() if not k.endswith("_ids")}
    ours.load_state_dict(state, strict=True)  # the same key names
    ids, mask = parity_inputs()
    expected = theirs(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(ours(ids, mask), expected, atol=1e-5, rtol=1e-5)


def test_generator_equals_transformers(transformers):
    config = dataclasses.replace(SMALL, vocab_size=60)
    torch.manual_seed(0)
    theirs = transformers.ElectraForMaskedLM(hf_config(transformers, config, 16)).eval()
    names = {
        "generator_predictions.dense": "generator_head.dense",
        "generator_predictions.LayerNorm": "generator_head.LayerNorm",
        "generator_lm_head.bias": "generator_head.bias",
    }
    state = {}
    for key, tensor in theirs.state_dict().items():
        if key.endswith("_ids") or key == "generator_lm_head.weight":  # tied: the embeddings
            continue
        for old, new in names.items():
            key = key.replace(old, new)
        state[key] = tensor
    ours = ElectraForMaskedLM(config, embedding_size=16).eval()
    missing, unexpected = ours.load_state_dict(state, strict=False)
    assert missing == ["generator_head.decoder.weight"] and unexpected == []  # the tied copy
    assert ours.generator_head.decoder.weight is ours.electra.embeddings.word_embeddings.weight
    ids, mask = parity_inputs()
    expected = theirs(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(ours(ids, mask), expected, atol=1e-5, rtol=1e-5)


def test_bad_arguments(batches):
    with pytest.raises(ValueError, match="vocabulary"):
        ElectraGeneratorDiscriminator(SMALL, dataclasses.replace(SMALL, vocab_size=100))
    with pytest.raises(ValueError, match="sampled_ids"):
        replace_tokens(torch.tensor([[1, 2]]), torch.tensor([[True, True]]), torch.tensor([3]))
    with pytest.raises(TypeError, match="generator"):
        sample_tokens(torch.zeros(2, 3), generator=0)
