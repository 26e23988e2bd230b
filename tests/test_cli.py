"""The command line as a user meets it: help, version, one-line errors, `serbias split`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serbias import __version__
from serbias.cli import app

runner = CliRunner()


def test_help_lists_every_subcommand() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("synth", "split", "extract", "audit"):
        assert command in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"serbias {__version__}"


def test_split_writes_json_and_summary(tiny_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "split.json"
    args = ["split", "--data", str(tiny_corpus), "--out", str(out), "--seed", "0", "--folds", "0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    splits = json.loads(out.read_text())
    assert splits["mode"] == "speaker"
    assert (out.parent / "split_summary.csv").is_file()
    assert "Wrote" in result.output and "Female" in result.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "Reused" in again.output


def test_split_clip_mode_from_cli(tiny_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "split.json"
    result = runner.invoke(
        app, ["split", "--data", str(tiny_corpus), "--out", str(out), "--mode", "clip"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["mode"] == "clip"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{tmp}/missing"], "missing: corpus directory not found"),
        (["--mode", "actors"], "params split.mode: 'actors' is not one of speaker, clip"),
        (["--train", "0.9", "--val", "0.2"], "expected a sum <= 1"),
    ],
)
def test_split_bad_input_is_one_line_and_writes_nothing(
    tiny_corpus: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "split.json"
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--data" not in args:
        args += ["--data", str(tiny_corpus)]
    result = runner.invoke(app, ["split", "--out", str(out), *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
