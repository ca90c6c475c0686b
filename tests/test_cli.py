"""The ``bertguide`` command as a user meets it."""

import subprocess
import sys
from pathlib import Path

import pytest

import bertguide
from bertguide import cli, pretrained


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bertguide.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_info_prints_model_hashes_and_versions():
    result = run_cli("info")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert str(pretrained.resolve(None)) in out
    for digest in pretrained.EXPECTED_SHA256.values():
        assert f"{digest} (ok)" in out
    assert "torch 2." in out
    assert "6 layers, 12 heads, hidden size 384" in out
    assert out.splitlines()[0] == f"bertguide {bertguide.__version__}"
    from bertguide.experiments import store

    restored = store.shipped_record("restored-heads")["weights"]["sha256"]
    assert f"{restored} (ok)" in out and "shipped with the package" in out


def test_version_names_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"bertguide {bertguide.__version__}\n"


@pytest.fixture
def damaged_default(model_copy: Path, monkeypatch) -> Path:
    """The embedded model's files, without their weights, standing in for the default."""
    (model_copy / "model.safetensors").unlink()
    monkeypatch.setattr(pretrained, "default_model_dir", lambda: model_copy)
    return model_copy


def test_tampered_weights_give_one_line_and_exit_2(damaged_default: Path, capsys):
    (damaged_default / "model.safetensors").write_bytes(b"not the weights")
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("bertguide: error: ")
    assert "model.safetensors has SHA-256" in err


def test_missing_weights_give_one_line_and_exit_2(damaged_default: Path, capsys):
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "model.safetensors is missing" in err


def test_unknown_command_is_a_usage_error():
    result = run_cli("nonsense")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_output_folder_is_one_line(tmp_path: Path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert cli.main(["figures", "--out", str(blocker / "figures")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("bertguide: error: cannot write to ")


def test_a_bug_keeps_its_traceback(monkeypatch, tmp_path: Path):
    """Only the user's own errors become one line; a failing figure is a bug to report."""

    def broken(*args, **kwargs):
        raise ValueError("a bug inside a figure function")

    monkeypatch.setattr(cli.figures, "render_all", broken)
    with pytest.raises(ValueError, match="a bug inside"):
        cli.main(["figures", "--out", str(tmp_path)])


# --- the subcommands, driven through the entry point --------------------------------

import json  # noqa: E402

import torch  # noqa: E402


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_tokenize_prints_a_table_and_json(capsys):
    code, out, _ = run_main(capsys, "tokenize", "My dog Fido is cute.", "--pair", "He barks.")
    assert code == 0
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [r[1] for r in rows][:6] == ["[CLS]", "my", "dog", "fi", "##do", "is"]
    assert rows[3][2] == "10882" and rows[-1][1:] == ["[SEP]", "102", "B"]
    code, out, _ = run_main(capsys, "tokenize", "My dog Fido", "--json", "--max-length", "4")
    data = json.loads(out)
    assert code == 0 and data["tokens"] == ["[CLS]", "my", "dog", "[SEP]"]
    assert data["input_ids"] == [101, 2026, 3899, 102] and data["token_type_ids"] == [0] * 4


def test_attention_writes_html_svg_and_png(capsys, tmp_path: Path):
    for name in ("view.html", "heat.svg", "heat.png"):
        out = tmp_path / name
        code, printed, err = run_main(
            capsys, "attention", "The cat sat.", "--out", str(out), "--layer", "2", "--head", "1"
        )
        assert code == 0, err
        assert printed.strip() == str(out) and out.stat().st_size > 1000
    assert (tmp_path / "view.html").read_text().startswith("<!doctype html>")
    assert (tmp_path / "heat.png").read_bytes()[:4] == b"\x89PNG"


def test_embed_equals_sentence_transformers(capsys):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    texts = ["The cat sat on the mat.", "A cat was sitting on a rug.", "Stocks fell."]
    code, out, _ = run_main(capsys, "embed", *texts, "--json")
    data = json.loads(out)
    ours = torch.tensor(data["vectors"])
    model = sentence_transformers.SentenceTransformer(str(pretrained.default_model_dir()))
    theirs = torch.tensor(model.encode(texts, normalize_embeddings=True))
    assert code == 0 and ours.shape == (3, 384)
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert torch.allclose(torch.tensor(data["cosine"]), ours @ ours.T, atol=1e-5)


@pytest.fixture(scope="module")
def pretraining_dir(tmp_path_factory) -> Path:
    """A BertForPreTraining checkpoint with heads (seeded, untrained) next to a vocab."""
    import shutil

    from bertguide.pretraining import BertForPreTraining

    directory = tmp_path_factory.mktemp("with-heads")
    model = BertForPreTraining.from_pretrained(None)
    model.save_pretrained(directory)
    shutil.copy(pretrained.default_model_dir() / "vocab.txt", directory / "vocab.txt")
    return directory


def test_fill_mask_and_next_sentence_with_a_local_model(capsys, pretraining_dir: Path):
    from bertguide.inference import fill_mask, next_sentence
    from bertguide.pretraining import BertForPreTraining

    model = BertForPreTraining.from_pretrained(pretraining_dir)
    code, out, _ = run_main(
        capsys, "fill-mask", "Paris is a [MASK].", "--model", str(pretraining_dir), "--json"
    )
    expected = fill_mask("Paris is a [MASK].", model=model)
    assert code == 0
    assert [[(d["token"], d["probability"]) for d in r] for r in json.loads(out)] == [
        [(t, pytest.approx(p)) for t, p in r] for r in expected
    ]
    code, out, _ = run_main(
        capsys,
        "next-sentence",
        "She cooked pasta.",
        "It was good.",
        "--model",
        str(pretraining_dir),
    )
    assert code == 0
    probability = next_sentence("She cooked pasta.", "It was good.", model=model)
    assert out.split()[0] == f"{probability:.4f}"


@pytest.mark.parametrize(
    "args, message",
    [
        (["tokenize", "   "], "TEXT is empty"),
        (["tokenize", "a", "--pair", ""], "--pair is empty"),
        (["tokenize", "a", "--model", "/nonexistent/model"], "no such directory"),
        (["embed", "fine", ""], "TEXT is empty"),
        (["attention", "a b", "--out", "x.txt"], "--out must end in one of"),
        (["attention", "a b", "--out", "/nonexistent/dir/x.html"], "does not exist"),
        (["attention", "a b", "--out", "{tmp}/v.svg", "--layer", "9"], "--layer must be in"),
        (["attention", "a b", "--out", "{tmp}/v.svg", "--head", "12"], "--head must be in"),
        (["fill-mask", "no mask here", "--model", "{heads}"], "has no [MASK]"),
        (["fill-mask", "a [MASK]", "--top-k", "0", "--model", "{heads}"], "--top-k"),
        (["fill-mask", "a [MASK]", "--model", "{bare}"], "no trained pre-training heads"),
        (["next-sentence", "", "b", "--model", "{heads}"], "A is empty"),
        (["attention", "word " * 600, "--out", "{tmp}/long.svg"], "602 tokens"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys, tmp_path, pretraining_dir, model_copy, args, message
):
    args = [a.format(tmp=tmp_path, heads=pretraining_dir, bare=model_copy) for a in args]
    code, out, err = run_main(capsys, *args)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("bertguide: error: ")
    assert message in err and "Traceback" not in err and out == ""


def test_every_subcommand_has_help():
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) == {
        "tokenize",
        "attention",
        "fill-mask",
        "next-sentence",
        "embed",
        "figures",
        "experiments",
        "info",
    }
    for name, sub in commands.items():
        assert sub.description and len(sub.format_help()) > 100, name
