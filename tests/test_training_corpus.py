"""``serbias train`` finds its corpus: --data, else paths.data, else the feature store's corpus."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serbias.cli import app
from serbias.errors import SerbiasError
from serbias.features import read_manifest
from serbias.training.data import training_corpus
from tests.train_helpers import tiny_corpus_and_split, write_split_file

runner = CliRunner()


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose SVM features `serbias extract` built; the shell is elsewhere."""
    monkeypatch.delenv("SERBIAS_PARAMS", raising=False)
    monkeypatch.delenv("SERBIAS_PROFILE", raising=False)
    root = tmp_path / "project"
    _, split = tiny_corpus_and_split(root / "corpus")
    write_split_file(root / "split.json", split)
    done = runner.invoke(app, ["extract", "--data", str(root / "corpus"), "--out",
                               str(root / "outputs" / "features"), "--kind", "svm",
                               "--jobs", "1"])  # fmt: skip
    assert done.exit_code == 0, done.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no params.yaml and no ./data here
    return root


def train_without_data(root: Path) -> object:
    return runner.invoke(app, ["train", "--model", "svm", "--hp", "pca=8",
                               "--features", str(root / "outputs" / "features"),
                               "--split", str(root / "split.json")])  # fmt: skip


def test_extract_records_the_corpus_relative_to_the_store(project: Path) -> None:
    assert read_manifest(project / "outputs" / "features")["corpus_dir"] == "../../corpus"


def test_train_outside_the_project_reads_the_corpus_the_features_came_from(
    project: Path, tracking_store: Path
) -> None:
    done = train_without_data(project)

    assert done.exit_code == 0, done.output
    assert "clips: train 24, val 6" in done.output
    assert "registered serbias-svm-intended version 1" in done.output


def test_a_changed_recorded_corpus_is_refused(project: Path) -> None:
    (project / "corpus" / "AudioWAV" / "1001_DFA_ANG_XX.wav").unlink()

    done = train_without_data(project)

    assert done.exit_code == 1
    assert "the corpus changed since" in done.output and "re-run `serbias extract`" in done.output
    assert len(done.output.strip().splitlines()) == 1


def test_no_corpus_anywhere_is_one_line_naming_all_three_places(project: Path) -> None:
    shutil.move(project / "corpus", project / "moved")

    done = train_without_data(project)

    assert done.exit_code == 1
    text = " ".join(done.output.split())
    assert "--data not given, paths.data data not found" in text
    assert f"records {project / 'corpus'} (not found)" in text
    assert text.endswith("pass --data")


def test_the_option_wins_then_params_then_the_store(project: Path, tmp_path: Path) -> None:
    features = project / "outputs" / "features"
    configured = tmp_path / "configured"
    configured.mkdir()

    assert training_corpus(tmp_path / "given", configured, features) == tmp_path / "given"
    assert training_corpus(None, configured, features) == configured
    assert training_corpus(None, tmp_path / "absent", features) == project / "corpus"
    with pytest.raises(SerbiasError, match="no-store/manifest.json does not exist; pass --data"):
        training_corpus(None, tmp_path / "absent", tmp_path / "no-store")
