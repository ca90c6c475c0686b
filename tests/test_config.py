"""BertConfig: Hugging Face field names, validation, config.json in and out."""

import dataclasses
import json

import pytest
import transformers

import bertguide as bg
from bertguide.config import IGNORED_HF_KEYS, REQUIRED_HF_VALUES, BertConfig
from bertguide.pretrained import PretrainedModelError, read_config


def test_fields_are_transformers_fields():
    ours = {f.name for f in dataclasses.fields(BertConfig)}
    theirs = set(transformers.BertConfig().to_dict())
    assert ours <= theirs, ours - theirs


def test_defaults_are_bert_base_and_match_transformers_defaults():
    ours = BertConfig.base().to_dict()
    theirs = transformers.BertConfig().to_dict()
    assert ours == {key: theirs[key] for key in ours}
    assert BertConfig() == BertConfig.base()
    assert BertConfig.base().head_size == 64


def test_large():
    large = BertConfig.large()
    assert (large.hidden_size, large.num_hidden_layers, large.num_attention_heads) == (1024, 24, 16)
    assert large.intermediate_size == 4 * large.hidden_size
    assert large.head_size == 64
    assert BertConfig.large(vocab_size=100).vocab_size == 100


def test_from_pretrained_reads_the_embedded_config():
    config = BertConfig.from_pretrained()
    raw = read_config(bg.resolve(None))
    for name, value in config.to_dict().items():
        assert value == raw[name], name
    assert config.head_size == raw["hidden_size"] // raw["num_attention_heads"]


def test_from_dict_accepts_what_transformers_writes():
    hf = transformers.BertConfig(hidden_size=96, num_attention_heads=3, num_hidden_layers=2)
    config = BertConfig.from_dict(hf.to_dict())
    assert (config.hidden_size, config.num_attention_heads, config.num_hidden_layers) == (96, 3, 2)
    # every key transformers writes is either one of our fields or explicitly handled
    config_keys = set(hf.to_dict())
    fields = set(config.to_dict())
    assert not config_keys - fields - IGNORED_HF_KEYS - set(REQUIRED_HF_VALUES)


def test_unknown_field_is_named():
    with pytest.raises(ValueError, match="hiden_size"):
        BertConfig.from_dict({"hiden_size": 768})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("position_embedding_type", "relative_key"),
        ("is_decoder", True),
        ("add_cross_attention", True),
        ("model_type", "roberta"),
        ("pruned_heads", {"0": [1]}),
    ],
)
def test_unsupported_values_are_refused(key, value):
    with pytest.raises(ValueError, match=key):
        BertConfig.from_dict({key: value})


def test_supported_values_pass():
    config = BertConfig.from_dict(
        {"position_embedding_type": "absolute", "is_decoder": False, "model_type": "bert"}
    )
    assert config == BertConfig.base()


@pytest.mark.parametrize(
    ("overrides", "error", "words"),
    [
        (dict(hidden_size=100, num_attention_heads=12), ValueError, "divisible"),
        (dict(num_hidden_layers=0), ValueError, "num_hidden_layers"),
        (dict(vocab_size=-5), ValueError, "vocab_size"),
        (dict(max_position_embeddings=0), ValueError, "max_position_embeddings"),
        (dict(hidden_size=768.0), TypeError, "hidden_size"),
        (dict(num_hidden_layers=True), TypeError, "num_hidden_layers"),
        (dict(hidden_dropout_prob=1.0), ValueError, "hidden_dropout_prob"),
        (dict(attention_probs_dropout_prob=-0.1), ValueError, "attention_probs_dropout_prob"),
        (dict(attention_probs_dropout_prob="0.1"), TypeError, "attention_probs_dropout_prob"),
        (dict(layer_norm_eps=0.0), ValueError, "layer_norm_eps"),
        (dict(hidden_act="relu"), ValueError, "hidden_act"),
        (dict(hidden_act=None), TypeError, "hidden_act"),
        (dict(pad_token_id=30522), ValueError, "pad_token_id"),
    ],
)
def test_validation(overrides, error, words):
    with pytest.raises(error, match=words):
        BertConfig(**overrides)


def test_json_integers_for_floats_become_floats():
    config = BertConfig.from_dict({"hidden_dropout_prob": 0, "attention_probs_dropout_prob": 0})
    assert isinstance(config.hidden_dropout_prob, float)
    assert config.hidden_dropout_prob == 0.0


def test_from_dict_needs_a_dict():
    with pytest.raises(TypeError, match="dict"):
        BertConfig.from_dict([("hidden_size", 768)])


def test_dict_round_trip():
    config = BertConfig.tiny(vocab_size=99, type_vocab_size=3)
    assert BertConfig.from_dict(config.to_dict()) == config
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()


def test_save_pretrained_round_trip_and_transformers_reads_it(tmp_path):
    config = BertConfig.tiny(vocab_size=99, layer_norm_eps=1e-6)
    config.save_pretrained(tmp_path)
    assert BertConfig.from_pretrained(tmp_path) == config
    hf = transformers.BertConfig.from_pretrained(tmp_path)
    for name, value in config.to_dict().items():
        assert getattr(hf, name) == value, name


def test_from_pretrained_names_the_file_on_bad_values(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 100}))
    with pytest.raises(ValueError, match=r"config\.json.*divisible"):
        BertConfig.from_pretrained(tmp_path)


def test_from_pretrained_bad_json_and_missing_dir(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(PretrainedModelError, match="JSON"):
        BertConfig.from_pretrained(tmp_path)
    with pytest.raises(PretrainedModelError, match="no such directory"):
        BertConfig.from_pretrained(tmp_path / "absent")
