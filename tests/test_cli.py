"""The ``bertguide`` command as a user meets it."""

import subprocess
import sys
from pathlib import Path

import pytest

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
