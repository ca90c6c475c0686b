"""Distillation: soft targets, DistilBERT against transformers, TinyBERT, a BiLSTM student."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from bertguide.config import BertConfig
from bertguide.family.distillation import (
    BiLstmClassifier,
    DistilBertModel,
    TinyBertLoss,
    convert_hf_distilbert_state_dict,
    cosine_embedding_loss,
    distilbert_config,
    distilbert_student,
    distillation_loss,
    logit_mse_loss,
    soft_target_loss,
    uniform_layer_map,
)
from bertguide.model import BertModel, count_parameters, parameter_breakdown

SMALL = BertConfig(
    vocab_size=60,
    hidden_size=24,
    num_hidden_layers=4,
    num_attention_heads=3,
    intermediate_size=48,
    max_position_embeddings=32,
)


def inputs(seed=0, B=3, T=9):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, SMALL.vocab_size, (B, T), generator=g)
    mask = torch.ones_like(ids)
    mask[0, 6:] = 0
    return ids, mask


# --- Hinton et al. ----------------------------------------------------------------------


def test_soft_target_loss_is_zero_when_student_and_teacher_agree():
    logits = torch.randn(5, 7, generator=torch.Generator().manual_seed(0))
    for T in (1.0, 2.0, 8.0):
        assert abs(float(soft_target_loss(logits, logits.clone(), T))) < 1e-6
        assert float(soft_target_loss(logits, logits + 3.0, T)) < 1e-6  # same softmax
        assert float(soft_target_loss(logits, logits.flip(-1), T)) > 1e-3


def test_soft_target_loss_hand_example():
    student, teacher, T = torch.tensor([[0.0, 2.0]]), torch.tensor([[2.0, 0.0]]), 2.0
    p = torch.softmax(teacher / T, dim=-1)  # teacher's softened distribution
    q = torch.softmax(student / T, dim=-1)
    kl = float((p * (p / q).log()).sum())
    assert float(soft_target_loss(student, teacher, T)) == pytest.approx(T**2 * kl, rel=1e-6)


def test_soft_target_gradient_is_t_times_the_probability_gap():
    g = torch.Generator().manual_seed(1)
    student = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    teacher = torch.randn(4, 6, generator=g, dtype=torch.float64)
    T = 3.0
    soft_target_loss(student, teacher, T).backward()
    gap = torch.softmax(student.detach() / T, -1) - torch.softmax(teacher / T, -1)
    torch.testing.assert_close(student.grad, T * gap / 4)
    assert torch.autograd.gradcheck(lambda s: soft_target_loss(s, teacher, T), (student,))


def test_distillation_loss_mixes_soft_and_hard():
    g = torch.Generator().manual_seed(2)
    student, teacher = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    labels = torch.tensor([0, 2, 1, 1])
    expected = 0.7 * soft_target_loss(student, teacher, 4.0) + 0.3 * F.cross_entropy(
        student, labels
    )
    got = distillation_loss(student, teacher, labels, temperature=4.0, alpha=0.7)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(
        distillation_loss(student, teacher), soft_target_loss(student, teacher)
    )


# --- DistilBERT -----------------------------------------------------------------------


def test_distilbert_parameter_count_equals_transformers(transformers):
    with torch.device("meta"):
        ours = count_parameters(DistilBertModel(distilbert_config(BertConfig.base())))
        theirs = count_parameters(transformers.DistilBertModel(transformers.DistilBertConfig()))
        bert = count_parameters(BertModel(BertConfig.base()))
        bert_theirs = count_parameters(transformers.BertModel(transformers.BertConfig()))
    assert ours == theirs == 66_362_880
    assert bert == bert_theirs == 109_482_240
    parts = parameter_breakdown(BertConfig.base())
    layer = (parts["attention"] + parts["feed_forward"] + parts["layer_norms"] - 2 * 768) // 12
    assert bert - ours == 6 * layer + parts["token_type_embeddings"] + parts["pooler"]


def test_student_copies_every_other_teacher_layer():
    torch.manual_seed(0)
    teacher = BertModel(SMALL).eval()
    student = distilbert_student(teacher)
    assert student.config.num_hidden_layers == 2
    assert student.embeddings.token_type_embeddings is None  # no segment table
    assert student.pooler is None
    for s, t in enumerate([0, 2]):
        ours, theirs = student.encoder.layer[s].state_dict(), teacher.encoder.layer[t].state_dict()
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert torch.equal(ours[key], theirs[key])
            assert ours[key].data_ptr() != theirs[key].data_ptr()  # copies, not aliases
    for name in ("word_embeddings", "position_embeddings", "LayerNorm"):
        for key, value in getattr(student.embeddings, name).state_dict().items():
            assert torch.equal(value, getattr(teacher.embeddings, name).state_dict()[key])


def test_student_with_chosen_layers_and_folded_segments():
    torch.manual_seed(0)
    teacher = BertModel(dataclasses.replace(SMALL, num_hidden_layers=12)).eval()
    student = distilbert_student(teacher, [0, 2, 4, 7, 9, 11], fold_token_type=True)
    for s, t in enumerate([0, 2, 4, 7, 9, 11]):
        q_s = student.encoder.layer[s].attention.self.query.weight
        assert torch.equal(q_s, teacher.encoder.layer[t].attention.self.query.weight)
    ids, _ = inputs()
    # with segment 0's row folded into the positions, the student embeds as the teacher
    torch.testing.assert_close(student.embeddings(ids), teacher.embeddings(ids))
    with pytest.raises(ValueError, match="layers"):
        distilbert_student(teacher, [0, 12])


def test_distilbert_equals_transformers(transformers):
    config = transformers.DistilBertConfig(
        vocab_size=60, dim=24, n_layers=2, n_heads=3, hidden_dim=48, max_position_embeddings=32
    )
    torch.manual_seed(0)
    theirs = transformers.DistilBertModel(config).eval()
    ours = DistilBertModel(dataclasses.replace(SMALL, num_hidden_layers=2)).eval()
    ours.load_state_dict(convert_hf_distilbert_state_dict(theirs.state_dict()), strict=True)
    ids, mask = inputs()
    expected = theirs(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    got = ours(ids, mask, output_hidden_states=True)
    torch.testing.assert_close(
        got.last_hidden_state, expected.last_hidden_state, atol=1e-5, rtol=1e-5
    )
    for x, y in zip(got.hidden_states, expected.hidden_states, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)


def test_cosine_embedding_loss_known_answers():
    a = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])  # (1, 3, 2)
    assert float(cosine_embedding_loss(a, 2.0 * a)) == pytest.approx(0.0, abs=1e-7)
    b = torch.tensor([[[0.0, 1.0], [0.0, -1.0], [5.0, 5.0]]])  # orthogonal, opposite, same
    assert float(cosine_embedding_loss(a, b)) == pytest.approx((1.0 + 2.0 + 0.0) / 3)
    mask = torch.tensor([[1, 0, 1]])  # the opposite pair is padding: ignored
    assert float(cosine_embedding_loss(a, b, mask)) == pytest.approx(0.5)


# --- TinyBERT ------------------------------------------------------------------------------


def outputs(model, ids, mask):
    return model(ids, mask, output_hidden_states=True, output_attentions=True)


def test_uniform_layer_map():
    assert uniform_layer_map(4, 12) == [0, 3, 6, 9, 12]
    assert uniform_layer_map(6, 12) == [0, 2, 4, 6, 8, 10, 12]
    with pytest.raises(ValueError, match="multiple"):
        uniform_layer_map(5, 12)


def test_tinybert_loss_is_zero_for_a_student_that_is_the_teacher():
    torch.manual_seed(0)
    teacher = BertModel(SMALL).eval()
    loss_fn = TinyBertLoss(SMALL, SMALL)
    with torch.no_grad():
        loss_fn.embedding_projection.weight.copy_(torch.eye(24))
        loss_fn.hidden_projection.weight.copy_(torch.eye(24))
    ids, mask = inputs()
    out = outputs(teacher, ids, mask)
    assert loss_fn(out, out, mask).loss.item() == pytest.approx(0.0, abs=1e-10)


def test_tinybert_losses_by_hand():
    torch.manual_seed(0)
    teacher = BertModel(SMALL).eval()
    student_config = dataclasses.replace(
        SMALL, hidden_size=12, intermediate_size=24, num_hidden_layers=2
    )
    student = BertModel(student_config).eval()
    loss_fn = TinyBertLoss(student_config, SMALL)  # g = [0, 2, 4]
    ids, mask = inputs()
    s, t = outputs(student, ids, mask), outputs(teacher, ids, mask)
    losses = loss_fn(s, t, mask)
    real = mask.bool()
    W_e, W_h = loss_fn.embedding_projection.weight, loss_fn.hidden_projection.weight  # (24, 12)
    embedding = ((s.hidden_states[0] @ W_e.T - t.hidden_states[0])[real] ** 2).mean()
    hidden = sum(
        ((s.hidden_states[m] @ W_h.T - t.hidden_states[2 * m])[real] ** 2).mean() for m in (1, 2)
    )
    pair = real[:, None, :, None] & real[:, None, None, :]  # (B, 1, T, T)
    attention = sum(
        ((s.attentions[m - 1] - t.attentions[2 * m - 1]) ** 2)[pair.expand(-1, 3, -1, -1)].mean()
        for m in (1, 2)
    )
    torch.testing.assert_close(losses.embedding, embedding)
    torch.testing.assert_close(losses.hidden, hidden)
    torch.testing.assert_close(losses.attention, attention)
    torch.testing.assert_close(losses.loss, embedding + hidden + attention)
    assert float(losses.attention.detach()) > 0
    losses.loss.backward()
    assert W_h.grad.abs().sum() > 0 and W_e.grad.abs().sum() > 0  # the projections learn
    assert all(p.grad is None for p in teacher.parameters())  # the teacher does not


def test_tinybert_attention_loss_ignores_padding():
    torch.manual_seed(0)
    teacher, student = BertModel(SMALL).eval(), BertModel(SMALL).eval()
    loss_fn = TinyBertLoss(SMALL, SMALL)
    ids, mask = inputs()
    padded = ids.clone()
    padded[0, 6:] = 5  # other tokens where the mask is 0
    a = loss_fn(outputs(student, ids, mask), outputs(teacher, ids, mask), mask)
    b = loss_fn(outputs(student, padded, mask), outputs(teacher, padded, mask), mask)
    torch.testing.assert_close(a.attention, b.attention)
    torch.testing.assert_close(a.hidden, b.hidden)


def test_tinybert_needs_as_many_heads():
    with pytest.raises(ValueError, match="heads"):
        TinyBertLoss(dataclasses.replace(SMALL, num_attention_heads=2, hidden_size=24), SMALL)


# --- Tang et al.: a BiLSTM student ----------------------------------------------------------


@pytest.mark.parametrize("pooling", ["max", "last"])
def test_bilstm_shapes_and_padding(pooling):
    torch.manual_seed(0)
    model = BiLstmClassifier(60, 3, embedding_size=8, hidden_size=6, mlp_size=10, pooling=pooling)
    ids, mask = inputs()
    logits = model(ids, mask)
    assert logits.shape == (3, 3)
    longer_ids = torch.cat([ids, torch.zeros(3, 4, dtype=torch.long)], dim=1)
    longer_mask = torch.cat([mask, torch.zeros(3, 4, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(longer_ids, longer_mask), logits)  # padding is ignored
    alone = model(ids[:1, :6])  # row 0 without its padding, on its own
    torch.testing.assert_close(alone, logits[:1])


def test_bilstm_max_pooling_by_hand():
    torch.manual_seed(0)
    model = BiLstmClassifier(60, 2, embedding_size=8, hidden_size=6, mlp_size=10)
    ids = torch.tensor([[3, 4, 5, 6]])
    states, _ = model.lstm(model.embeddings(ids))  # (1, 4, 12)
    torch.testing.assert_close(model(ids), model.mlp(states.amax(dim=1)))


def test_logit_mse_loss_is_the_mean_squared_logit_gap():
    student = torch.tensor([[1.0, 3.0], [0.0, 0.0]])
    teacher = torch.tensor([[2.0, 1.0], [1.0, -1.0]])
    assert float(logit_mse_loss(student, teacher)) == pytest.approx((1 + 4 + 1 + 1) / 4)
    labels = torch.tensor([1, 0])
    mixed = logit_mse_loss(student, teacher, labels, alpha=0.25)
    expected = 0.75 * (7 / 4) + 0.25 * float(F.cross_entropy(student, labels))
    assert float(mixed) == pytest.approx(expected)
    with pytest.raises(ValueError, match="same shape"):
        logit_mse_loss(student, teacher[:, :1])
