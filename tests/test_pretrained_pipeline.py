"""A pretrained ONNX model through the product: ``serbias predict --model onnx:``, its cache,
``serbias audit`` on the result (subset note, contamination warning) and the demo web app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from typer.testing import CliRunner

from serbias.cli import app
from tests.demo_helpers import running_server
from tests.factory import clip_names, write_corpus
from tests.test_demo import _post
from tests.test_pretrained_onnx import build_onnx

runner = CliRunner()


def _corpus(root: Path) -> Path:
    """Six actors x the DFA sentence (36 clips) of noise at actor-specific levels."""
    names = clip_names([1001, 1002, 1003, 1004, 1005, 1006], ["DFA"])
    corpus = write_corpus(root, names)
    rng = np.random.default_rng(1)
    for path in sorted((corpus / "AudioWAV").glob("*.wav")):
        level = 0.05 + 0.02 * (int(path.name[:4]) - 1000)
        sf.write(path, (level * rng.standard_normal(8000)).astype(np.float32), 16_000)
    return corpus


def _predict(tmp_path: Path, model: Path, *extra: str):
    args = ["predict", "--model", f"onnx:{model}", "--data", str(tmp_path / "corpus"),
            "--split", str(tmp_path / "no-split.json"), "--out", str(tmp_path / "p" / "onnx.csv"),
            *extra]  # fmt: skip
    return runner.invoke(app, args)


def test_predict_writes_covered_columns_caches_and_the_audit_notes_subset_and_warning(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    _corpus(tmp_path / "corpus")
    model = build_onnx(tmp_path / "tiny.onnx", metadata={"description": "fine-tuned on CREMA-D"})
    done = _predict(tmp_path, model)
    assert done.exit_code == 0, done.output
    assert "Dropped labels (no CREMA-D emotion): fru" in done.output
    assert "may have been trained on the audited corpus" in done.output
    table = pd.read_csv(tmp_path / "p" / "onnx.csv")
    assert list(table.columns) == ["Filename", "Anger", "Happy", "Neutral", "Sad"]
    assert len(table) == 36  # no split file: every clip of the corpus
    sidecar = json.loads((tmp_path / "p" / "onnx.model.json").read_text())
    pretrained = sidecar["pretrained"]
    assert sidecar["model_uri"] == f"onnx:{model}"
    assert pretrained["dropped_labels"] == ["fru"] and pretrained["renormalised"] is False
    assert pretrained["cache_key"] and pretrained["contamination_warning"]

    again = _predict(tmp_path, model)
    assert again.exit_code == 0 and "Up to date: 36" in again.output
    other = _predict(tmp_path, model, "--batch-size", "4")  # other settings: work again
    assert other.exit_code == 0 and "Wrote 36" in other.output

    audited = runner.invoke(app, ["audit", str(tmp_path / "p"), "--data", str(tmp_path / "corpus"),
                                  "--out", str(tmp_path / "audit"), "--no-track",
                                  "--n-boot", "50", "--n-perm", "50"])  # fmt: skip
    assert audited.exit_code == 0, audited.output
    report = (tmp_path / "audit" / "report.md").read_text()
    assert "covers 4 of 6 emotions (Anger, Happy, Neutral, Sad)" in report
    assert "may have been trained on the audited corpus" in report


def test_bad_pretrained_models_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _corpus(tmp_path / "corpus")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    for model, message in [(tmp_path / "missing.onnx", "missing.onnx"),
                           (tmp_path / "junk.onnx", "junk.onnx")]:  # fmt: skip
        done = _predict(tmp_path, model)
        assert done.exit_code == 1 and message in done.output
        assert len(done.output.strip().splitlines()) == 1
    assert not (tmp_path / "p" / "onnx.csv").exists()


def test_the_demo_page_answers_with_an_onnx_model(tmp_path):
    from serbias.demo.app import create_app

    model = build_onnx(tmp_path / "tiny.onnx")
    clip = tmp_path / "clip.wav"
    sf.write(clip, 0.1 * np.random.default_rng(0).standard_normal(16_000), 16_000)
    with running_server(create_app(f"onnx:{model}")) as url:
        status, answer = _post(url, clip.read_bytes(), filename="clip.wav")
    assert status == 200
    assert set(answer["emotions"]) == {"Anger", "Happy", "Neutral", "Sad"}
    assert answer["speaker"] == {} and answer["model"]["uri"] == f"onnx:{model}"
    assert abs(sum(answer["emotions"].values()) - 1.0) < 1.0  # probabilities, fru dropped
