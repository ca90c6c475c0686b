"""The tiny GPT's helpers: byte windows, the unigram baseline, the saved checkpoint.

References: hand-computed windows and entropies, and transformers' GPT2LMHeadModel
loading the checkpoint as the figure build writes it (same logits).
"""

from __future__ import annotations

import doctest
import math

import torch

from bertguide.experiments import tiny_gpt as tiny_gpt_run
from bertguide.experiments.tiny_gpt import byte_windows, to_hf_state_dict, unigram_loss
from bertguide.figures import history
from bertguide.gpt import GPT2LMHeadModel, GPTConfig, convert_hf_gpt2_state_dict


def test_byte_windows_cut_the_bytes_into_rows():
    assert byte_windows(b"abcdefg", 3).tolist() == [[97, 98, 99], [100, 101, 102]]
    assert byte_windows("é".encode(), 2).tolist() == [[0xC3, 0xA9]]


def test_unigram_loss_of_two_equally_common_bytes_is_about_ln_2():
    train = b"ab" * 100_000
    # add-one smoothing moves a little mass to the 254 unseen bytes
    expected = -math.log((100_000 + 1) / (200_000 + 256))
    assert math.isclose(unigram_loss(train, b"abba"), expected)
    assert abs(expected - math.log(2)) < 0.002


def test_the_checkpoint_is_transformers_gpt2():
    import transformers

    torch.manual_seed(0)
    config = GPTConfig.tiny()
    ours = GPT2LMHeadModel(config).eval()
    state = to_hf_state_dict(ours)
    assert "lm_head.weight" not in state
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(**config.to_hf_dict())).eval()
    missing, unexpected = hf.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}
    hf.tie_weights()
    ids = torch.tensor([list(b"The history of language models")])
    with torch.no_grad():
        assert torch.allclose(hf(ids).logits, ours(ids).logits, atol=1e-5)
    back = GPT2LMHeadModel(config)
    back.load_state_dict(convert_hf_gpt2_state_dict(state, config))
    for key, tensor in ours.state_dict().items():
        assert torch.equal(back.state_dict()[key], tensor), key


def test_the_docstring_examples_hold():
    for module in (history, tiny_gpt_run):
        results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert results.failed == 0 and results.attempted > 0, module.__name__
