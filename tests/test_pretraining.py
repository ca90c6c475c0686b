"""BertForPreTraining against transformers' BertForPreTraining, and the reader calls.

The pattern of test_parity.py: the same weights in both implementations (written by
ours and read by theirs, and the other way round), the same batch, every output
compared. Every parameter is set to seeded random values before saving, so a head
tensor that is dropped or mapped to the wrong key cannot go unnoticed.
"""

import json
import logging

import pytest
import torch
from safetensors.torch import load_file, save_file

from bertguide.config import BertConfig
from bertguide.inference import fill_mask, next_sentence
from bertguide.initialization import init_bert_weights
from bertguide.model import BertModel, count_parameters
from bertguide.pretraining import BertForPreTraining
from bertguide.tokenizer import SPECIAL_TOKENS, WordPieceTokenizer

ATOL = 1e-5
WORDS = [
    *("the", "a", "cat", "dog", "sat", "on", "mat", "is", "was", "big", "small", "red"),
    *("paris", "capital", "of", "france", "city", "it", "and", "he", "she", "went"),
    *("home", "milk", "bought", "then", "i", ".", ",", "!", "?"),
]
SMALL_VOCAB = [*SPECIAL_TOKENS, "[unused0]", *WORDS, "##s", "##ed", "##ing"]


@pytest.fixture(scope="module")
def small_tokenizer():
    return WordPieceTokenizer({token: i for i, token in enumerate(SMALL_VOCAB)})


def small_config(**overrides):
    sizes = dict(
        vocab_size=len(SMALL_VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    return BertConfig(**{**sizes, **overrides})


def randomize_(model, seed):
    """Every parameter to seeded N(0, 0.5) values (the tied decoder once, as one tensor)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=g) * 0.5)
    return model


def small_model(seed=0, **overrides):
    torch.manual_seed(seed)
    return randomize_(BertForPreTraining(small_config(**overrides)), seed).eval()


def random_batch(vocab_size, lengths, seed=0, n_labels=3):
    """Padded random ids with segments, MLM labels at a few real positions, NSP labels."""
    g = torch.Generator().manual_seed(seed)
    B, T = len(lengths), max(lengths)
    input_ids = torch.randint(5, vocab_size, (B, T), generator=g)
    attention_mask = torch.zeros(B, T, dtype=torch.long)
    token_type_ids = torch.zeros(B, T, dtype=torch.long)
    labels = torch.full((B, T), -100)
    for row, n in enumerate(lengths):
        attention_mask[row, :n] = 1
        input_ids[row, n:] = 0
        token_type_ids[row, n // 2 : n] = 1
        positions = torch.randperm(n - 2, generator=g)[:n_labels] + 1
        labels[row, positions] = torch.randint(5, vocab_size, (len(positions),), generator=g)
    batch = dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
    nsp = torch.randint(0, 2, (B,), generator=g)
    return batch, labels, nsp


def reference(transformers, directory):
    """transformers' BertForPreTraining with the textbook ("eager") attention."""
    model, info = transformers.BertForPreTraining.from_pretrained(
        directory, attn_implementation="eager", output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    assert not info["mismatched_keys"] and not info["error_msgs"], info
    return model.eval()


def assert_same_outputs(ours, theirs, batch, labels, nsp):
    """Full logits, NSP logits and the loss with labels agree within ATOL."""
    with torch.no_grad():
        mine = ours(**batch, labels=labels, next_sentence_label=nsp)
        expected = theirs(**batch, labels=labels, next_sentence_label=nsp)
        sparse = ours(**batch, labels=labels, next_sentence_label=nsp, score_masked_only=True)
    B, T = batch["input_ids"].shape
    assert mine.prediction_logits.shape == expected.prediction_logits.shape
    assert mine.prediction_logits.shape == (B, T, ours.config.vocab_size)
    assert mine.prediction_mask is None and mine.masked_lm_logits is None
    torch.testing.assert_close(
        mine.prediction_logits, expected.prediction_logits, atol=ATOL, rtol=0
    )
    torch.testing.assert_close(
        mine.seq_relationship_logits, expected.seq_relationship_logits, atol=ATOL, rtol=0
    )
    torch.testing.assert_close(mine.loss, expected.loss, atol=ATOL, rtol=0)
    # the sparse (labelled positions only) path gives the same loss and the same rows
    M = int((labels != -100).sum())
    assert sparse.prediction_logits is None
    assert sparse.masked_lm_logits.shape == (M, ours.config.vocab_size)
    assert torch.equal(sparse.prediction_mask, labels != -100)
    torch.testing.assert_close(
        sparse.masked_lm_logits, expected.prediction_logits[labels != -100], atol=ATOL, rtol=0
    )
    torch.testing.assert_close(sparse.loss, expected.loss, atol=ATOL, rtol=0)


def assert_tied(model):
    decoder = model.cls.predictions.decoder.weight
    embeddings = model.bert.embeddings.word_embeddings.weight
    assert decoder is embeddings
    assert decoder.data_ptr() == embeddings.data_ptr()


# --- the heads, the tie and the loss ----------------------------------------------


def test_heads_are_tied_and_counted_once():
    model = small_model()
    assert_tied(model)
    C, V = model.config.hidden_size, model.config.vocab_size
    heads = (C * C + C) + 2 * C + V + (2 * C + 2)  # transform dense, LayerNorm, bias, NSP
    assert count_parameters(model) == count_parameters(model.bert) + heads
    assert "cls.predictions.decoder.weight" in model.state_dict()
    # one SGD step moves the shared matrix once, and both names still see one tensor
    batch, labels, nsp = random_batch(V, [9, 7])
    model.train()
    model(**batch, labels=labels, next_sentence_label=nsp).loss.backward()
    before = model.bert.embeddings.word_embeddings.weight.detach().clone()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert not torch.equal(model.bert.embeddings.word_embeddings.weight, before)
    assert_tied(model)


def test_fresh_heads_follow_bert_initialisation():
    config = small_config(initializer_range=0.05)
    model = BertForPreTraining(config)
    words = model.bert.embeddings.word_embeddings.weight.detach().clone()
    heads = model.cls
    with torch.no_grad():
        heads.predictions.bias.fill_(3.0)
    tied = [heads.predictions.decoder.weight]
    init_bert_weights(heads, 0.05, torch.Generator().manual_seed(0), tied=tied)
    weight = heads.predictions.transform.dense.weight
    assert abs(weight.std().item() - 0.05) < 0.01
    assert torch.equal(heads.predictions.bias, torch.zeros(config.vocab_size))
    assert torch.equal(heads.predictions.transform.LayerNorm.weight, torch.ones(32))
    assert torch.equal(heads.seq_relationship.bias, torch.zeros(2))
    assert torch.equal(heads.predictions.decoder.weight, words)  # tied: left alone
    again = BertForPreTraining(config).cls
    tied = [again.predictions.decoder.weight]
    init_bert_weights(again, 0.05, torch.Generator().manual_seed(0), tied=tied)
    assert torch.equal(again.predictions.transform.dense.weight, weight)


def test_losses_match_a_hand_computation():
    model = small_model()
    V = model.config.vocab_size
    batch, labels, nsp = random_batch(V, [10, 6, 8], seed=3)
    with torch.no_grad():
        full = model(**batch).prediction_logits  # (B, T, V)
        out = model(**batch, labels=labels, next_sentence_label=nsp)
        only_mlm = model(**batch, labels=labels)
        only_nsp = model(**batch, next_sentence_label=nsp)
        no_labels = model(**batch)
    picked = labels != -100
    log_p = full[picked].log_softmax(dim=-1)  # (M, V)
    expected_mlm = -log_p[torch.arange(int(picked.sum())), labels[picked]].mean()
    nsp_log_p = out.seq_relationship_logits.log_softmax(dim=-1)
    expected_nsp = -nsp_log_p[torch.arange(3), nsp].mean()
    torch.testing.assert_close(out.mlm_loss, expected_mlm, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.nsp_loss, expected_nsp, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.loss, expected_mlm + expected_nsp, atol=1e-6, rtol=0)
    assert only_mlm.nsp_loss is None and torch.equal(only_mlm.loss, only_mlm.mlm_loss)
    assert only_nsp.mlm_loss is None and torch.equal(only_nsp.loss, only_nsp.nsp_loss)
    assert no_labels.loss is None and no_labels.prediction_logits.shape == (3, 10, V)
    assert out.last_hidden_state.shape == (3, 10, 32) and out.pooler_output.shape == (3, 32)


def test_sparse_and_dense_losses_have_the_same_gradients():
    model = small_model()
    batch, labels, nsp = random_batch(model.config.vocab_size, [12, 9, 5], seed=1)
    grads = []
    for score_masked_only in (True, False):
        model.zero_grad()
        model(
            **batch, labels=labels, next_sentence_label=nsp, score_masked_only=score_masked_only
        ).loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    sparse, dense = grads
    assert sparse.keys() == dense.keys()
    for name in sparse:
        torch.testing.assert_close(sparse[name], dense[name], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(
    ("labels", "nsp", "error", "match"),
    [
        (torch.full((2, 5), -100), None, ValueError, "labels has shape"),
        (torch.full((2, 6), 999), None, ValueError, "labels must hold"),
        (torch.full((2, 6), -100.0), None, TypeError, "labels must be"),
        (None, torch.tensor([0, 2]), ValueError, "next_sentence_label must hold"),
        (None, torch.tensor([[0, 1]]), ValueError, "next_sentence_label has shape"),
    ],
)
def test_bad_labels(labels, nsp, error, match):
    model = small_model()
    ids = torch.full((2, 6), 7)
    with pytest.raises(error, match=match):
        model(ids, labels=labels, next_sentence_label=nsp)


def test_scoring_masked_positions_only_needs_labels():
    model = small_model()
    with pytest.raises(ValueError, match="score_masked_only needs labels"):
        model(torch.full((2, 6), 7), score_masked_only=True)
    with pytest.raises(TypeError, match="score_masked_only must be a bool"):
        model(torch.full((2, 6), 7), score_masked_only=1)


# --- parity with transformers --------------------------------------------------------


def test_parity_small_model_ours_to_transformers(transformers, tmp_path):
    ours = small_model(seed=1)
    ours.save_pretrained(tmp_path)
    stored = load_file(tmp_path / "model.safetensors")
    assert "cls.predictions.decoder.weight" not in stored  # tied: written once, as transformers
    assert {"cls.predictions.bias", "cls.seq_relationship.weight"} <= stored.keys()
    assert all(key.startswith(("bert.", "cls.")) for key in stored)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["BertForPreTraining"]
    theirs = reference(transformers, tmp_path)
    batch, labels, nsp = random_batch(ours.config.vocab_size, [11, 7, 4], seed=2)
    assert_same_outputs(ours, theirs, batch, labels, nsp)


def test_parity_small_model_transformers_to_ours(transformers, tmp_path):
    hf_config = transformers.BertConfig(**small_config().to_dict())
    torch.manual_seed(0)
    theirs = randomize_(transformers.BertForPreTraining(hf_config), seed=5).eval()
    theirs.save_pretrained(tmp_path)
    ours = BertForPreTraining.from_pretrained(tmp_path)
    assert ours.heads_loaded and ours.fresh_heads == ()
    assert_tied(ours)
    batch, labels, nsp = random_batch(ours.config.vocab_size, [8, 13], seed=4)
    assert_same_outputs(ours, theirs, batch, labels, nsp)


def test_gradients_match_transformers_in_training_mode(transformers, tmp_path):
    ours = small_model(seed=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    ours.save_pretrained(tmp_path)
    theirs = reference(transformers, tmp_path)
    ours.train()
    theirs.train()
    batch, labels, nsp = random_batch(ours.config.vocab_size, [10, 6, 9], seed=6)
    loss = ours(**batch, labels=labels, next_sentence_label=nsp).loss
    expected = theirs(**batch, labels=labels, next_sentence_label=nsp).loss
    torch.testing.assert_close(loss, expected, atol=ATOL, rtol=0)
    loss.backward()
    expected.backward()
    mine, reference_params = dict(ours.named_parameters()), dict(theirs.named_parameters())
    for name in (
        "bert.embeddings.word_embeddings.weight",  # gets gradient from input and decoder
        "bert.encoder.layer.0.attention.self.query.weight",
        "bert.pooler.dense.weight",
        "cls.predictions.transform.dense.weight",
        "cls.predictions.transform.LayerNorm.weight",
        "cls.predictions.bias",
        "cls.seq_relationship.weight",
    ):
        assert mine[name].grad.abs().sum() > 0, name
        torch.testing.assert_close(
            mine[name].grad, reference_params[name].grad, atol=1e-6, rtol=1e-4, msg=name
        )


@pytest.fixture(scope="module")
def embedded_with_heads(tmp_path_factory):
    """The embedded encoder with fresh, seeded heads (bias made non-zero), saved."""
    model = BertForPreTraining.from_pretrained(seed=3)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        model.cls.predictions.bias.copy_(torch.randn(model.config.vocab_size, generator=g))
    directory = tmp_path_factory.mktemp("embedded_heads")
    model.save_pretrained(directory)
    return model, directory


def real_batch(tokenizer):
    pairs = [
        ("The cat sat on the mat.", "Then it went to sleep."),
        ("Paris is the capital of France.", "Stocks fell sharply on Monday."),
    ]
    batch = tokenizer([a for a, _ in pairs], [b for _, b in pairs], padding=True)
    labels = torch.full_like(batch["input_ids"], -100)
    labels[0, 2], labels[1, 4] = batch["input_ids"][0, 2], batch["input_ids"][1, 4]
    return dict(batch), labels, torch.tensor([0, 1])


@pytest.mark.slow
def test_parity_embedded_encoder_both_ways(transformers, embedded_with_heads, tmp_path):
    ours, directory = embedded_with_heads
    assert not ours.heads_loaded
    batch, labels, nsp = real_batch(WordPieceTokenizer.from_pretrained())
    theirs = reference(transformers, directory)
    assert_same_outputs(ours, theirs, batch, labels, nsp)
    # and back: what transformers writes, ours reads
    with torch.no_grad():
        theirs.cls.seq_relationship.weight.mul_(-2.0)
    theirs.save_pretrained(tmp_path)
    back = BertForPreTraining.from_pretrained(tmp_path)
    assert back.heads_loaded
    assert_tied(back)
    assert_same_outputs(back, theirs, batch, labels, nsp)


def test_masked_lm_checkpoint_loads_one_head(transformers, tmp_path, caplog):
    hf_config = transformers.BertConfig(**small_config().to_dict())
    torch.manual_seed(0)
    theirs = randomize_(transformers.BertForMaskedLM(hf_config), seed=8).eval()
    theirs.save_pretrained(tmp_path)
    with caplog.at_level(logging.WARNING, logger="bertguide.pretraining"):
        ours = BertForPreTraining.from_pretrained(tmp_path)
    assert ours.fresh_heads == ("seq_relationship", "pooler") and not ours.heads_loaded
    assert "has no seq_relationship, pooler" in caplog.text
    batch, _, _ = random_batch(ours.config.vocab_size, [9, 5], seed=9)
    with torch.no_grad():
        expected = theirs(**batch).logits
        got = ours(**batch).prediction_logits
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)


# --- reading checkpoints ---------------------------------------------------------------


def test_embedded_default_gets_seeded_fresh_heads(caplog):
    with caplog.at_level(logging.WARNING, logger="bertguide.pretraining"):
        first = BertForPreTraining.from_pretrained(seed=0)
    assert "has no predictions, seq_relationship: initialised (seed 0)" in caplog.text
    assert first.heads_loaded is False
    assert first.fresh_heads == ("predictions", "seq_relationship")
    assert_tied(first)
    second = BertForPreTraining.from_pretrained(seed=0)
    other = BertForPreTraining.from_pretrained(seed=1)
    for name, tensor in first.cls.state_dict().items():
        assert torch.equal(tensor, second.cls.state_dict()[name]), name
    dense = "predictions.transform.dense.weight"
    assert not torch.equal(first.cls.state_dict()[dense], other.cls.state_dict()[dense])
    # the encoder is exactly BertModel's
    encoder = BertModel.from_pretrained()
    for name, tensor in encoder.state_dict().items():
        assert torch.equal(tensor, first.bert.state_dict()[name]), name


def write_variant(source, target, change):
    """Copy a saved model, passing its tensors through ``change(dict)``."""
    target.mkdir()
    (target / "config.json").write_text((source / "config.json").read_text())
    tensors = change(load_file(source / "model.safetensors"))
    save_file(tensors, target / "model.safetensors")
    return target


def test_older_checkpoint_layouts_load(tmp_path):
    ours = small_model(seed=4)
    ours.save_pretrained(tmp_path / "saved")

    def old_layout(tensors):
        tensors["cls.predictions.decoder.weight"] = tensors[
            "bert.embeddings.word_embeddings.weight"
        ]
        tensors["cls.predictions.decoder.bias"] = tensors["cls.predictions.bias"].clone()
        for part in ("weight", "bias"):
            old = {"weight": "gamma", "bias": "beta"}[part]
            key = f"cls.predictions.transform.LayerNorm.{part}"
            tensors[key.replace(part, old)] = tensors.pop(key)
        return {k: v.clone() for k, v in tensors.items()}

    directory = write_variant(tmp_path / "saved", tmp_path / "old", old_layout)
    loaded = BertForPreTraining.from_pretrained(directory)
    assert loaded.heads_loaded
    assert_tied(loaded)
    batch, labels, nsp = random_batch(ours.config.vocab_size, [7, 7], seed=10)
    with torch.no_grad():
        expected = ours(**batch, labels=labels, next_sentence_label=nsp)
        got = loaded(**batch, labels=labels, next_sentence_label=nsp)
    assert torch.equal(got.prediction_logits, expected.prediction_logits)
    assert torch.equal(got.loss, expected.loss)


def _untied(tensors):
    tensors["cls.predictions.decoder.weight"] = (
        tensors["bert.embeddings.word_embeddings.weight"] + 1
    )
    return tensors


def _partial(tensors):
    del tensors["cls.predictions.transform.dense.bias"]
    return tensors


def _unknown(tensors):
    tensors["cls.extra.weight"] = torch.zeros(2)
    return tensors


def _misshaped(tensors):
    tensors["cls.seq_relationship.weight"] = torch.zeros(3, 32)
    return tensors


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (_untied, "ties them"),
        (_partial, "predictions is incomplete, missing: cls.predictions.transform.dense.bias"),
        (_unknown, "unexpected keys: cls.extra.weight"),
        (_misshaped, r"cls.seq_relationship.weight \[3, 32\] \(expected \[2, 32\]\)"),
    ],
)
def test_bad_head_checkpoints_fail_clearly(tmp_path, change, match):
    small_model().save_pretrained(tmp_path / "saved")
    directory = write_variant(tmp_path / "saved", tmp_path / "bad", change)
    with pytest.raises(ValueError, match=match):
        BertForPreTraining.from_pretrained(directory)


def test_from_pretrained_arguments():
    with pytest.raises(TypeError, match="seed must be an int"):
        BertForPreTraining.from_pretrained(seed="0")
    with pytest.raises(TypeError, match="config must be a BertConfig"):
        BertForPreTraining({"vocab_size": 10})


# --- fill_mask and next_sentence -------------------------------------------------------


def test_fill_mask_gives_sorted_probabilities_for_each_mask(small_tokenizer):
    model = small_model(seed=5).train()
    text = "the [MASK] sat on the [MASK] ."
    result = fill_mask(text, top_k=4, model=model, tokenizer=small_tokenizer)
    assert model.training  # the mode is restored
    assert len(result) == 2 and all(len(row) == 4 for row in result)
    batch = small_tokenizer(text)
    model.eval()
    with torch.no_grad():
        logits = model(**batch).prediction_logits[0]  # (T, V)
    positions = (batch["input_ids"][0] == small_tokenizer.mask_token_id).nonzero().flatten()
    for row, position in zip(result, positions.tolist(), strict=True):
        tokens, probabilities = zip(*row, strict=True)
        assert list(probabilities) == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1 + 1e-6
        expected = logits[position].softmax(dim=-1).topk(4)
        assert list(tokens) == small_tokenizer.convert_ids_to_tokens(expected.indices.tolist())
        torch.testing.assert_close(torch.tensor(probabilities), expected.values)


def test_fill_mask_top_k_covers_the_vocabulary(small_tokenizer):
    model = small_model(seed=5)
    V = model.config.vocab_size
    (row,) = fill_mask("[MASK] is big", top_k=V, model=model, tokenizer=small_tokenizer)
    assert len(row) == V and abs(sum(p for _, p in row) - 1.0) < 1e-5


@pytest.mark.parametrize(
    ("text", "kwargs", "error", "match"),
    [
        ("the cat sat", {}, ValueError, "no \\[MASK\\]"),
        ("   ", {}, ValueError, "text is empty"),
        (None, {}, TypeError, "text must be a str"),
        ("the [MASK]", {"top_k": 0}, ValueError, "top_k must be in"),
        ("the [MASK]", {"top_k": 2.0}, TypeError, "top_k must be an int"),
    ],
)
def test_fill_mask_errors(small_tokenizer, text, kwargs, error, match):
    model = small_model()
    with pytest.raises(error, match=match):
        fill_mask(text, model=model, tokenizer=small_tokenizer, **kwargs)


def test_reader_calls_with_a_wrong_model_say_what_to_do(small_tokenizer):
    with pytest.raises(TypeError, match="model must be a BertForPreTraining"):
        fill_mask("the [MASK]", model=BertModel(small_config()), tokenizer=small_tokenizer)
    with pytest.raises(ValueError, match="vocab_size"):
        fill_mask("the [MASK]", model=small_model())  # the 30,522-token default tokenizer


def test_next_sentence_is_the_softmax_of_the_nsp_head(small_tokenizer):
    model = small_model(seed=6)
    a, b = "he bought milk .", "then he went home ."
    p = next_sentence(a, b, model=model, tokenizer=small_tokenizer)
    batch = small_tokenizer(a, b)
    assert batch["token_type_ids"].tolist() == [[0] * 6 + [1] * 6]
    with torch.no_grad():
        logits = model(**batch).seq_relationship_logits[0]
    assert isinstance(p, float) and 0.0 < p < 1.0
    assert p == pytest.approx(logits.softmax(dim=-1)[0].item(), abs=1e-6)
    q = next_sentence(b, a, model=model, tokenizer=small_tokenizer)
    assert q != pytest.approx(p)  # the order of the two sentences matters
    with pytest.raises(ValueError, match="b is empty"):
        next_sentence(a, "", model=model, tokenizer=small_tokenizer)
    with pytest.raises(TypeError, match="a must be a str"):
        next_sentence(1, b, model=model, tokenizer=small_tokenizer)
