"""BertModel on its own: the attention formula, masks, shapes, counts and errors."""

import math

import pytest
import torch
import torch.nn.functional as F

import bertguide as bg

TINY = bg.BertConfig(
    vocab_size=40,
    hidden_size=24,
    num_hidden_layers=2,
    num_attention_heads=3,
    intermediate_size=48,
    max_position_embeddings=16,
    type_vocab_size=2,
)


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return bg.BertModel(TINY).eval()


def ids(*rows):
    return torch.tensor(rows, dtype=torch.long)


# --- scaled dot-product attention ------------------------------------------------


def test_attention_formula_on_a_hand_example():
    q = torch.tensor([[1.0, 0.0]])  # one query
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # two keys
    v = torch.tensor([[10.0], [20.0]])
    out, weights = bg.scaled_dot_product_attention(q, k, v)
    s = 1 / math.sqrt(2)  # scores are [1/sqrt(2), 0]
    w0 = math.exp(s) / (math.exp(s) + 1)
    assert weights[0].tolist() == pytest.approx([w0, 1 - w0])
    assert out.item() == pytest.approx(10 * w0 + 20 * (1 - w0))


def test_attention_equals_torch_fused_attention_with_a_mask():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=g) for _ in range(3))
    mask = torch.ones(2, 1, 1, 5, dtype=torch.bool)
    mask[1, ..., 3:] = False
    out, weights = bg.scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))
    assert (weights[1, ..., 3:] == 0).all()


def test_attention_dropout_only_when_asked():
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(1, 6, 4, generator=g) for _ in range(3))
    torch.manual_seed(0)
    _, dropped = bg.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    _, kept = bg.scaled_dot_product_attention(q, k, v)
    assert (dropped == 0).any() and not (kept == 0).any()


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        ((torch.ones(2, 3), torch.ones(2, 4), torch.ones(2, 3)), ValueError, "last dim"),
        ((torch.ones(2, 3), torch.ones(2, 3), torch.ones(5, 3)), ValueError, "rows"),
        (([1.0], torch.ones(2, 3), torch.ones(2, 3)), TypeError, "q must be a torch.Tensor"),
        ((torch.ones(3), torch.ones(2, 3), torch.ones(2, 3)), ValueError, "at least 2"),
    ],
)
def test_attention_errors(args, error, words):
    with pytest.raises(error, match=words):
        bg.scaled_dot_product_attention(*args)


def test_attention_mask_errors():
    q = torch.ones(2, 4, 3)
    with pytest.raises(TypeError, match="bool"):
        bg.scaled_dot_product_attention(q, q, q, torch.ones(2, 4, 4))
    with pytest.raises(ValueError, match="broadcast"):
        bg.scaled_dot_product_attention(q, q, q, torch.ones(3, 4, 4, dtype=torch.bool))


# --- the model -------------------------------------------------------------------


def test_output_shapes(tiny):
    out = tiny(
        ids([1, 2, 3, 4, 5], [6, 7, 8, 0, 0]), output_attentions=True, output_hidden_states=True
    )
    assert out.last_hidden_state.shape == (2, 5, 24)
    assert out.pooler_output.shape == (2, 24)
    assert len(out.hidden_states) == TINY.num_hidden_layers + 1
    assert len(out.attentions) == TINY.num_hidden_layers
    assert out.attentions[0].shape == (2, 3, 5, 5)
    assert torch.equal(out.hidden_states[-1], out.last_hidden_state)
    plain = tiny(ids([1, 2, 3, 4, 5], [6, 7, 8, 0, 0]))
    assert plain.hidden_states is None and plain.attentions is None


def test_padding_does_not_change_real_tokens(tiny):
    alone = tiny(ids([5, 6, 7]))
    batch = tiny(
        ids([5, 6, 7, 0, 0], [1, 2, 3, 4, 5]),
        attention_mask=ids([1, 1, 1, 0, 0], [1, 1, 1, 1, 1]),
        output_attentions=True,
    )
    torch.testing.assert_close(batch.last_hidden_state[0, :3], alone.last_hidden_state[0])
    torch.testing.assert_close(batch.pooler_output[0], alone.pooler_output[0])
    for weights in batch.attentions:
        assert (weights[0, :, :, 3:] == 0).all()  # nobody attends to padding
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))


def test_explicit_and_fused_paths_agree(tiny):
    input_ids = ids([5, 6, 7, 0], [1, 2, 3, 4])
    mask = ids([1, 1, 1, 0], [1, 1, 1, 1])
    with_weights = tiny(input_ids, attention_mask=mask, output_attentions=True)
    without = tiny(input_ids, attention_mask=mask)
    torch.testing.assert_close(with_weights.last_hidden_state, without.last_hidden_state)


def test_segments_and_positions_matter(tiny):
    base = tiny(ids([5, 6, 7])).last_hidden_state
    segment_b = tiny(ids([5, 6, 7]), token_type_ids=ids([0, 1, 1])).last_hidden_state
    shifted = tiny(ids([5, 6, 7]), position_ids=ids([3, 4, 5])).last_hidden_state
    explicit = tiny(ids([5, 6, 7]), position_ids=ids([0, 1, 2])).last_hidden_state
    assert not torch.allclose(base, segment_b)
    assert not torch.allclose(base, shifted)
    torch.testing.assert_close(base, explicit)


def test_dropout_in_training_mode_only(tiny):
    x = ids([5, 6, 7, 8])
    assert torch.equal(tiny(x).last_hidden_state, tiny(x).last_hidden_state)
    tiny.train()
    torch.manual_seed(0)
    a = tiny(x, output_attentions=True).last_hidden_state
    b = tiny(x).last_hidden_state
    assert not torch.allclose(a, b)


def test_gradients_reach_every_parameter(tiny):
    tiny.train()
    out = tiny(ids([5, 6, 7, 8], [1, 2, 0, 0]), attention_mask=ids([1, 1, 1, 1], [1, 1, 0, 0]))
    (out.last_hidden_state.sum() + out.pooler_output.sum()).backward()
    for name, parameter in tiny.named_parameters():
        if name == "embeddings.token_type_embeddings.weight":
            continue  # only segment 0 was used; row 1 gets no gradient, row 0 does
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_tokenizer_style_batch(tiny):
    batch = dict(
        input_ids=ids([2, 5, 6, 3], [2, 7, 3, 0]),
        token_type_ids=ids([0, 0, 0, 0], [0, 0, 0, 0]),
        attention_mask=ids([1, 1, 1, 1], [1, 1, 1, 0]),
    )
    assert tiny(**batch).last_hidden_state.shape == (2, 4, 24)


def test_init_follows_bert():
    torch.manual_seed(0)
    model = bg.BertModel(bg.BertConfig(vocab_size=2000, hidden_size=64, num_attention_heads=4))
    table = model.embeddings.word_embeddings.weight
    assert abs(table.std().item() - 0.02) < 0.002
    assert (table[0] == 0).all()  # the [PAD] row
    assert (model.pooler.dense.bias == 0).all()
    assert (model.embeddings.LayerNorm.weight == 1).all()


def test_save_and_load_round_trip(tiny, tmp_path):
    tiny.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "model.safetensors"}
    loaded = bg.BertModel.from_pretrained(tmp_path)
    assert loaded.config == tiny.config and not loaded.training
    for key, tensor in tiny.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], tensor), key


def test_from_pretrained_default_is_eval_mode():
    model = bg.BertModel.from_pretrained()
    assert not model.training
    assert model.config == bg.BertConfig.from_pretrained()


# --- parameter counts ------------------------------------------------------------


@pytest.mark.parametrize("config", [TINY, bg.BertConfig.base(), bg.BertConfig.large()])
def test_parameter_breakdown_follows_the_formulas(config):
    V, P, S = config.vocab_size, config.max_position_embeddings, config.type_vocab_size
    C, I, L = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    parts = bg.parameter_breakdown(config)
    assert parts == {
        "layer_norms": (2 * L + 1) * 2 * C,  # weight and bias, after embeddings + twice a layer
        "word_embeddings": V * C,
        "position_embeddings": P * C,
        "token_type_embeddings": S * C,
        "attention": L * 4 * (C * C + C),  # query, key, value, output projection
        "feed_forward": L * (C * I + I + I * C + C),
        "pooler": C * C + C,
    }
    with torch.device("meta"):
        model = bg.BertModel(config)
    assert sum(parts.values()) == bg.count_parameters(model)
    assert bg.parameter_breakdown(model) == parts


def test_counting_errors():
    with pytest.raises(TypeError, match="module"):
        bg.count_parameters("bert")
    with pytest.raises(TypeError, match="model_or_config"):
        bg.parameter_breakdown({"hidden_size": 768})


# --- errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (dict(input_ids=[[1, 2, 3]]), TypeError, "input_ids must be a torch.Tensor"),
        (dict(input_ids=torch.tensor([[1.0, 2.0]])), TypeError, "input_ids must have dtype"),
        (dict(input_ids=torch.tensor([1, 2, 3])), ValueError, r"unsqueeze\(0\)"),
        (dict(input_ids=torch.ones(1, 2, 3, dtype=torch.long)), ValueError, "2-D"),
        (dict(input_ids=torch.ones(1, 0, dtype=torch.long)), ValueError, "no tokens"),
        (dict(input_ids=torch.ones(1, 17, dtype=torch.long)), ValueError, "max_position_emb"),
        (dict(input_ids=ids([1, 40])), ValueError, r"input_ids contains 40, outside \[0, 40\)"),
        (dict(input_ids=ids([1, -1])), ValueError, "input_ids contains -1"),
        (dict(input_ids=ids([1, 2]), token_type_ids=ids([0, 2])), ValueError, "token_type_ids"),
        (dict(input_ids=ids([1, 2]), token_type_ids=ids([0])), ValueError, "token_type_ids has"),
        (
            dict(input_ids=ids([1, 2]), token_type_ids=torch.zeros(1, 2)),
            TypeError,
            "token_type_ids must have dtype",
        ),
        (dict(input_ids=ids([1, 2]), attention_mask=ids([1, 1, 1])), ValueError, "shape"),
        (dict(input_ids=ids([1, 2]), attention_mask=[[1, 1]]), TypeError, "attention_mask"),
        (dict(input_ids=ids([1, 2]), attention_mask=ids([1, 2])), ValueError, "only 1"),
        (dict(input_ids=ids([1, 2], [3, 4]), attention_mask=ids([1, 1], [0, 0])), ValueError,
         r"row\(s\) \[1\] are all 0"),
        (dict(input_ids=ids([1, 2]), position_ids=ids([15, 16])), ValueError, "position_ids"),
        (dict(input_ids=ids([1, 2]), output_attentions=1), TypeError, "output_attentions"),
        (dict(input_ids=ids([1, 2]), output_hidden_states="yes"), TypeError, "output_hidden"),
    ],
)  # fmt: skip
def test_bad_inputs_are_named(tiny, kwargs, error, words):
    with pytest.raises(error, match=words):
        tiny(**kwargs)


def test_bool_and_float_masks_are_accepted(tiny):
    x = ids([5, 6, 7, 0])
    expected = tiny(x, attention_mask=ids([1, 1, 1, 0])).last_hidden_state
    for mask in (torch.tensor([[True, True, True, False]]), torch.tensor([[1.0, 1.0, 1.0, 0.0]])):
        torch.testing.assert_close(tiny(x, attention_mask=mask).last_hidden_state, expected)


def test_model_needs_a_config():
    with pytest.raises(TypeError, match="config must be a BertConfig"):
        bg.BertModel({"hidden_size": 768})


def test_from_pretrained_bad_argument():
    with pytest.raises(TypeError, match="name_or_path"):
        bg.BertModel.from_pretrained(12)


def test_training_forward_has_no_host_syncs(monkeypatch):
    """In train mode nothing in the forward pass reads a tensor's values on the host:
    no int()/bool()/item()/tolist() of a tensor and no torch.equal (each waits for the
    device). Eval mode checks the values, once, at the model's boundary."""
    config = bg.BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    model = bg.BertModel(config).train()
    ids = torch.randint(0, 50, (3, 7))
    mask = torch.ones(3, 7, dtype=torch.long)
    mask[0, 5:] = 0

    def sync(*args, **kwargs):
        raise AssertionError("host sync in the training forward pass")

    with monkeypatch.context() as patch:
        for name in ("__int__", "__bool__", "__index__", "item", "tolist"):
            patch.setattr(torch.Tensor, name, sync)
        patch.setattr(torch, "equal", sync)
        out = model(ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))
        out.last_hidden_state.sum().backward()
    model.eval()
    with pytest.raises(ValueError, match="outside"):
        model(torch.full((1, 4), 50))
    with pytest.raises(ValueError, match="only 1"):
        model(ids, attention_mask=mask * 2)
