"""``serbias extract`` end to end: writes the store, skips when current, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serbias.cli import app
from serbias.errors import SerbiasError
from serbias.features import KINDS, load_features, read_manifest
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
    return runner.invoke(app, ["extract", "--data", "data", "--out", "features", *options])


def test_help_lists_every_option_and_every_kind() -> None:
    result = runner.invoke(app, ["extract", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--data", "--out", "--kind", "--jobs", "--skip-bad", "--force"):
        assert option in result.output
    assert "--split" not in result.output  # extraction does not depend on a split
    for kind in KINDS:
        assert kind in result.output


def test_extract_writes_the_store_then_skips_when_current(workdir: Path) -> None:
    first = extract("--jobs", "1")
    assert first.exit_code == 0, first.output
    assert "Extracted logmel + svm for 12 clips in" in first.output
    assert "logmel.npz" in first.output and "12 x 128 x 130" in first.output
    assert load_features(workdir / "features", "svm").X.shape == (12, 200)

    again = extract("--jobs", "1")
    assert again.exit_code == 0, again.output
    assert "Up to date" in again.output and "nothing to do" in again.output

    forced = extract("--jobs", "1", "--force")
    assert forced.exit_code == 0 and "Extracted" in forced.output


def test_kind_option_and_paths_default_from_params(workdir: Path) -> None:
    (workdir / "params.yaml").write_text(
        "paths:\n  data: data\n  features: out/feats\n"
        "extract:\n  jobs: 1\n  logmel:\n    n_mels: 64\n"
    )
    result = runner.invoke(app, ["extract", "--kind", "logmel"])
    assert result.exit_code == 0, result.output
    manifest = read_manifest(workdir / "out" / "feats")
    assert manifest["kinds"] == ["logmel"] and manifest["params"]["logmel"]["n_mels"] == 64
    assert "svm" not in manifest["params"]  # only the stored kinds' parameters
    assert load_features(workdir / "out" / "feats", "logmel").X.shape == (12, 64, 130)


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
    assert "skipped: 1002_DFA_ANG_XX: not a readable WAV file" in skipped.output
    assert "Left out 1 bad clip(s)" in skipped.output
    stems = load_features(workdir / "features", "svm").filenames
    assert "1002_DFA_ANG_XX" not in stems and len(stems) == 11


def test_a_new_split_file_does_not_re_extract(workdir: Path) -> None:
    first = extract("--jobs", "1")
    assert first.exit_code == 0, first.output
    before = {p.name: p.stat().st_mtime_ns for p in (workdir / "features").iterdir()}
    stems = sorted(load_features(workdir / "features", "svm").filenames)
    write_split(workdir / "split.json", {"train": stems[4:], "val": stems[:2], "test": stems[2:4]})
    again = extract("--jobs", "1")
    assert again.exit_code == 0 and "Up to date" in again.output, again.output
    assert {p.name: p.stat().st_mtime_ns for p in (workdir / "features").iterdir()} == before


def test_deleted_clip_is_not_extracted_and_a_split_asking_for_it_is_told(workdir: Path) -> None:
    (workdir / "data" / "AudioWAV" / "1001_DFA_SAD_XX.wav").unlink()
    result = extract("--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "for 11 clips" in result.output
    split = json.loads((workdir / "split.json").read_text())
    with pytest.raises(SerbiasError, match="1 not in the corpus the store was extracted from"):
        load_features(workdir / "features", "svm", split["train"])
