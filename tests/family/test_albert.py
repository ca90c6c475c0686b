"""ALBERT: parameter counts against transformers, real sharing, parity, SOP pairs."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from bertguide.config import BertConfig
from bertguide.corpus import sentence_documents
from bertguide.family.albert import (
    IN_ORDER,
    SWAPPED,
    AlbertConfig,
    AlbertForPreTraining,
    AlbertModel,
    SentenceOrderCollator,
    albert_parameter_breakdown,
    convert_hf_albert_state_dict,
    make_sop_pairs,
)
from bertguide.model import count_parameters, parameter_breakdown

TINY = AlbertConfig(
    vocab_size=60,
    embedding_size=8,
    hidden_size=24,
    num_hidden_layers=3,
    num_attention_heads=3,
    intermediate_size=40,
    max_position_embeddings=32,
)


def hf_config(transformers, config, groups):
    return transformers.AlbertConfig(
        vocab_size=config.vocab_size,
        embedding_size=config.embedding_size,
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        intermediate_size=config.intermediate_size,
        max_position_embeddings=config.max_position_embeddings,
        num_hidden_groups=groups,
        hidden_act="gelu",  # the exact GELU of bertguide's layers
    )


def meta_count(module_factory):
    with torch.device("meta"):
        return count_parameters(module_factory())


# --- parameter counts ----------------------------------------------------------------


def test_albert_base_parameter_count_equals_transformers(transformers):
    ours = meta_count(lambda: AlbertModel(AlbertConfig.base()))
    theirs = meta_count(
        lambda: transformers.AlbertModel(hf_config(transformers, AlbertConfig.base(), 1))
    )
    assert ours == theirs == 11_683_584


@pytest.mark.parametrize(
    "overrides",
    [
        dict(embedding_size=64, share_layers="all"),
        dict(embedding_size=128, share_layers="none"),
        dict(embedding_size=768, share_layers="all"),  # E = C still has the projection
        dict(embedding_size=256, share_layers="none", num_hidden_layers=4),
        dict(
            embedding_size=128,
            hidden_size=1024,
            num_attention_heads=16,
            intermediate_size=4096,
            num_hidden_layers=24,
        ),  # ALBERT-large
    ],
)
def test_parameter_counts_equal_transformers_for_other_shapes(transformers, overrides):
    config = AlbertConfig.base(**overrides)
    groups = 1 if config.share_layers == "all" else config.num_hidden_layers
    ours = meta_count(lambda: AlbertModel(config))
    theirs = meta_count(lambda: transformers.AlbertModel(hf_config(transformers, config, groups)))
    assert ours == theirs


def test_partial_sharing_counts_by_hand():
    C, I, L = TINY.hidden_size, TINY.intermediate_size, TINY.num_hidden_layers
    attention = 4 * (C * C + C) + 2 * C  # q, k, v, output; its LayerNorm
    feed_forward = (C * I + I) + (I * C + C) + 2 * C  # two dense; its LayerNorm
    counts = {
        share: count_parameters(AlbertModel(dataclasses.replace(TINY, share_layers=share)))
        for share in ("all", "attention", "ffn", "none")
    }
    assert counts["none"] - counts["all"] == (L - 1) * (attention + feed_forward)
    assert counts["none"] - counts["attention"] == (L - 1) * attention
    assert counts["none"] - counts["ffn"] == (L - 1) * feed_forward


def test_breakdown_explains_the_saving_against_bert_base():
    albert, bert = AlbertConfig.base(), BertConfig.base()
    ours, theirs = albert_parameter_breakdown(albert), parameter_breakdown(bert)
    assert sum(ours.values()) == meta_count(lambda: AlbertModel(albert))
    V, E, C, I = albert.vocab_size, albert.embedding_size, albert.hidden_size, 3072
    # factorised embeddings: V x E and a projection E -> C, instead of V x C
    assert ours["word_embeddings"] == V * E == 3_840_000
    assert ours["embedding_projection"] == E * C + C
    assert theirs["word_embeddings"] == bert.vocab_size * C == 23_440_896
    # shared layers: one layer's attention and feed-forward, where BERT has twelve
    assert ours["attention"] * 12 == theirs["attention"] == 12 * 4 * (C * C + C)
    assert ours["feed_forward"] * 12 == theirs["feed_forward"] == 12 * (2 * C * I + I + C)
    assert ours["pooler"] == theirs["pooler"]
    saving = sum(theirs.values()) - sum(ours.values())
    assert saving == 109_482_240 - 11_683_584


# --- sharing is one tensor ------------------------------------------------------------------


def test_shared_layers_are_one_tensor():
    model = AlbertModel(TINY)
    layers = model.encoder.layer
    for name, parameter in layers[0].named_parameters():
        for layer in layers[1:]:
            other = layer.get_parameter(name)
            assert other is parameter
            assert other.data_ptr() == parameter.data_ptr()
    unshared = AlbertModel(dataclasses.replace(TINY, share_layers="none")).encoder.layer
    query = [layer.attention.self.query.weight.data_ptr() for layer in unshared]
    assert len(set(query)) == TINY.num_hidden_layers


def test_shared_gradient_is_the_sum_over_layers():
    torch.manual_seed(0)
    shared = AlbertModel(TINY).eval()
    unrolled = AlbertModel(dataclasses.replace(TINY, share_layers="none")).eval()
    state = shared.state_dict()  # layer.0 ... layer.2 all hold the one tensor
    unrolled.load_state_dict(state)  # three independent copies of it
    ids = torch.randint(0, TINY.vocab_size, (2, 7), generator=torch.Generator().manual_seed(1))
    out_shared, out_unrolled = shared(ids), unrolled(ids)
    torch.testing.assert_close(out_shared.last_hidden_state, out_unrolled.last_hidden_state)
    out_shared.last_hidden_state.pow(2).sum().backward()
    out_unrolled.last_hidden_state.pow(2).sum().backward()
    for name, parameter in shared.encoder.layer[0].named_parameters():
        per_layer = [layer.get_parameter(name).grad for layer in unrolled.encoder.layer]
        assert all(g.abs().sum() > 0 for g in per_layer)  # every layer contributes
        torch.testing.assert_close(parameter.grad, sum(per_layer), rtol=1e-5, atol=1e-6)


# --- parity with transformers --------------------------------------------------------------


@pytest.mark.parametrize("share", ["all", "none"])
def test_hidden_states_equal_transformers(transformers, share):
    config = dataclasses.replace(TINY, share_layers=share)
    groups = 1 if share == "all" else config.num_hidden_layers
    torch.manual_seed(0)
    theirs = transformers.AlbertModel(hf_config(transformers, config, groups)).eval()
    ours = AlbertModel(config).eval()
    ours.load_state_dict(convert_hf_albert_state_dict(theirs.state_dict(), config), strict=True)
    ids = torch.randint(0, config.vocab_size, (2, 9), generator=torch.Generator().manual_seed(2))
    types = torch.tensor([[0] * 5 + [1] * 4, [0] * 9])
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    a = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True)
    b = ours(ids, mask, types, output_hidden_states=True)
    torch.testing.assert_close(b.last_hidden_state, a.last_hidden_state, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(b.pooler_output, a.pooler_output, atol=1e-5, rtol=1e-5)
    for x, y in zip(b.hidden_states, a.hidden_states, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)


def test_converter_refuses_a_layout_it_cannot_hold(transformers):
    theirs = transformers.AlbertModel(hf_config(transformers, TINY, 1))
    with pytest.raises(ValueError, match="layer group"):
        convert_hf_albert_state_dict(
            theirs.state_dict(), dataclasses.replace(TINY, share_layers="none")
        )


# --- sentence order ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def documents():
    return sentence_documents("lee", "train")[:40]


def test_sop_pairs_are_consecutive_sentences_in_or_out_of_order(documents, tok):
    pairs = make_sop_pairs(documents, tok, max_length=256, seed=0)
    labels = [p["sentence_order_label"] for p in pairs]
    assert 0.4 < sum(labels) / len(labels) < 0.6  # both orders, about half each
    cls, sep = tok.cls_token_id, tok.sep_token_id
    for pair in pairs:
        (d_a, s_a), (d_b, s_b) = pair["sentence_a"], pair["sentence_b"]
        assert d_a == d_b  # always one document: topic cannot tell the orders apart
        expected = IN_ORDER if s_b > s_a else SWAPPED
        assert pair["sentence_order_label"] == expected
        a = tok.encode(documents[d_a][s_a], add_special_tokens=False)
        b = tok.encode(documents[d_b][s_b], add_special_tokens=False)
        if len(a) + len(b) <= 253:  # not truncated
            assert pair["input_ids"] == [cls, *a, sep, *b, sep]
            assert pair["token_type_ids"] == [0] * (len(a) + 2) + [1] * (len(b) + 1)
    # every pair of neighbours appears exactly once, one way or the other
    seen = {tuple(sorted((p["sentence_a"], p["sentence_b"]))) for p in pairs}
    assert len(seen) == len(pairs)
    assert all(b[1] - a[1] >= 1 for a, b in seen)


def test_sop_with_swap_probability_one_swaps_everything(documents, tok):
    pairs = make_sop_pairs(documents[:5], tok, swap_probability=1.0)
    assert {p["sentence_order_label"] for p in pairs} == {SWAPPED}
    assert all(p["sentence_a"][1] > p["sentence_b"][1] for p in pairs)


def test_albert_pretraining_loss_is_mlm_plus_sop(documents, tok):
    pairs = make_sop_pairs(documents[:3], tok, max_length=48)
    batch = SentenceOrderCollator(tok, generator=torch.Generator().manual_seed(0))(pairs[:6])
    assert batch["sentence_order_label"].tolist() == [p["sentence_order_label"] for p in pairs[:6]]
    torch.manual_seed(0)
    config = dataclasses.replace(TINY, vocab_size=len(tok), max_position_embeddings=48)
    model = AlbertForPreTraining(config).eval()
    word_embeddings = model.albert.embeddings.word_embeddings.weight
    assert model.predictions.decoder.weight is word_embeddings  # tied, E wide
    out = model(**batch)
    full = model.predictions(
        model.albert(
            batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
        ).last_hidden_state
    )
    labelled = batch["labels"] != -100
    mlm = F.cross_entropy(full[labelled], batch["labels"][labelled])
    sop = F.cross_entropy(out.sop_logits, batch["sentence_order_label"])
    torch.testing.assert_close(out.mlm_loss, mlm)
    torch.testing.assert_close(out.loss, mlm + sop)


@pytest.mark.parametrize(
    "overrides, error, match",
    [
        (dict(share_layers="some"), ValueError, "share_layers"),
        (dict(embedding_size=0), ValueError, "embedding_size"),
        (dict(embedding_size=2.5), TypeError, "embedding_size"),
    ],
)
def test_bad_albert_config(overrides, error, match):
    with pytest.raises(error, match=match):
        dataclasses.replace(TINY, **overrides)


def test_boolean_sharing_switch():
    assert dataclasses.replace(TINY, share_layers=True).share_layers == "all"
    assert dataclasses.replace(TINY, share_layers=False).share_layers == "none"
