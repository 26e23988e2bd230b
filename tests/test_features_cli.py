"""``serbias extract`` end to end: writes the store, skips when current, one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from serbias.cli import app
from serbias.features import load_features, read_manifest
from tests.feature_factory import small_corpus, truncate_header, write_split

runner = CliRunner()


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a corpus and a split file, and no params.yaml (defaults)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SERBIAS_PARAMS", raising=False)
    monkeypatch.delenv("SERBIAS_PROFILE", raising=False)
    _, split = small_corpus(tmp_path / "data")
    write_split(tmp_path / "split.json", split)
    return tmp_path


def extract(*options: str):
    return runner.invoke(
        app, ["extract", "--data", "data", "--split", "split.json", "--out", "features", *options]
    )


def test_help_lists_every_option() -> None:
    result = runner.invoke(app, ["extract", "--help"])
    assert result.exit_code == 0
    for option in ("--data", "--split", "--out", "--kind", "--jobs", "--skip-bad", "--force"):
        assert option in result.output


def test_extract_writes_the_store_then_skips_when_current(workdir: Path) -> None:
    first = extract("--jobs", "1")
    assert first.exit_code == 0, first.output
    assert "Extracted logmel + svm for 12 clips (train 8, val 2, test 2)" in first.output
    assert "train_logmel.npz" in first.output and "8 x 128 x 130" in first.output
    assert load_features(workdir / "features", "test", "svm").X.shape == (2, 200)

    again = extract("--jobs", "1")
    assert again.exit_code == 0, again.output
    assert "Up to date" in again.output and "nothing to do" in again.output

    forced = extract("--jobs", "1", "--force")
    assert forced.exit_code == 0 and "Extracted" in forced.output


def test_kind_option_and_paths_default_from_params(workdir: Path) -> None:
    (workdir / "params.yaml").write_text(
        "paths:\n  data: data\n  split: split.json\n  features: out/feats\n"
        "extract:\n  n_mels: 64\n  jobs: 1\n"
    )
    result = runner.invoke(app, ["extract", "--kind", "logmel"])
    assert result.exit_code == 0, result.output
    manifest = read_manifest(workdir / "out" / "feats")
    assert manifest["kinds"] == ["logmel"] and manifest["params"]["n_mels"] == 64
    assert load_features(workdir / "out" / "feats", "train", "logmel").X.shape == (8, 64, 130)


def test_bad_kind_is_a_one_line_error(workdir: Path) -> None:
    result = extract("--kind", "mfcc")
    assert result.exit_code == 1
    assert "error: --kind 'mfcc' is not one of logmel, svm, all" in result.output
    assert "Traceback" not in result.output


def test_corrupt_clip_stops_with_its_name_or_is_skipped(workdir: Path) -> None:
    bad = truncate_header(workdir / "data" / "AudioWAV" / "1002_DFA_ANG_XX.wav")
    result = extract("--jobs", "1")
    assert result.exit_code == 1
    assert f"{bad.name}: not a readable WAV file" in result.output
    assert not (workdir / "features").exists()

    skipped = extract("--jobs", "1", "--skip-bad")
    assert skipped.exit_code == 0, skipped.output
    assert "skipped: 1002_DFA_ANG_XX" in skipped.output
    assert "Left out 1 bad clip(s)" in skipped.output
    stems = np.concatenate(
        [load_features(workdir / "features", s, "svm").filenames for s in ("train", "val", "test")]
    )
    assert "1002_DFA_ANG_XX" not in stems and len(stems) == 11


def test_deleted_clip_is_named_or_skipped(workdir: Path) -> None:
    (workdir / "data" / "AudioWAV" / "1001_DFA_SAD_XX.wav").unlink()
    result = extract("--jobs", "1")
    assert result.exit_code == 1
    assert "error: clip 1001_DFA_SAD_XX (split train): audio missing" in result.output
    skipped = extract("--jobs", "1", "--skip-bad")
    assert skipped.exit_code == 0, skipped.output
    assert "skipped: 1001_DFA_SAD_XX (train): audio file not found" in skipped.output


def test_missing_split_file_says_what_to_run(workdir: Path) -> None:
    (workdir / "split.json").unlink()
    result = extract()
    assert result.exit_code == 1
    assert "split file not found (run `serbias split`)" in result.output
