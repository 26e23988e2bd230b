"""Predictions tables, `serbias predict`, and `serbias train` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from serbias import vocab
from serbias.cli import app
from serbias.errors import SerbiasError
from serbias.predictions import check_feature_params, predict, predictions_csv, predictions_table
from tests.train_helpers import tiny_params, write_split_file, write_store

runner = CliRunner()


def test_predictions_table_has_the_reference_columns_and_fixed_float_format():
    outputs = {"emotion": np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 1 / 3], [1.0, 0, 0, 0, 0, 0]])}
    table = predictions_table(["1001_DFA_ANG_XX", "1001_DFA_SAD_XX"], outputs)
    assert list(table.columns) == [
        "Filename",
        "Anger",
        "Disgust",
        "Fear",
        "Happy",
        "Neutral",
        "Sad",
    ]
    assert predictions_csv(table).splitlines() == [
        "Filename,Anger,Disgust,Fear,Happy,Neutral,Sad",
        "1001_DFA_ANG_XX,0.100000,0.200000,0.300000,0.400000,0.500000,0.333333",
        "1001_DFA_SAD_XX,1.000000,0.000000,0.000000,0.000000,0.000000,0.000000",
    ]
    multitask = {**outputs, "female": np.array([0.9, 0.2]), "non_caucasian": np.array([0.25, 0.5])}
    table = predictions_table(["a", "b"], multitask)
    assert list(table.columns)[-2:] == ["Female", "Non-Caucasian"]
    assert table["Non-Caucasian"].tolist() == [0.25, 0.5]


def test_features_extracted_with_other_parameters_are_refused():
    recorded = {"sample_rate": 22050, "duration": 3.0, "logmel": {"n_mels": 128, "n_fft": 2048}}
    model = {"feature_params": recorded}
    check_feature_params(model, json.loads(json.dumps(recorded)), Path("feats"))
    other = {**recorded, "logmel": {"n_mels": 64, "n_fft": 2048}}
    with pytest.raises(
        SerbiasError, match=r"feats: features were extracted with logmel\.n_mels=64 \(model: 128\)"
    ):
        check_feature_params(model, other, Path("feats"))


def test_predict_writes_every_clip_of_the_split_in_split_order(
    tiny_store, tracking_store, tmp_path
):
    from serbias.training import train

    corpus, features, split, split_file = tiny_store
    trained = train(
        tiny_params("svm"), features_dir=features, data_dir=corpus, split_file=split_file
    )
    model = "models:/serbias-svm-intended@champion"
    result = predict(model, features, split_file=split_file, split_name="test")
    assert result.table["Filename"].tolist() == split["test"]
    assert result.run_id == trained.run_id
    probabilities = result.table[list(vocab.EMOTION_NAMES)].to_numpy()
    assert np.all((probabilities >= 0) & (probabilities <= 1))

    out = tmp_path / "preds" / "test.csv"
    args = ["predict", "--model", "models:/serbias-svm-intended@latest",
            "--features", str(features), "--split", str(split_file), "--out", str(out)]  # fmt: skip
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "Wrote 6 test predictions" in done.output
    first = out.read_bytes()
    assert pd.read_csv(out)["Filename"].tolist() == split["test"]
    assert runner.invoke(app, args).exit_code == 0
    assert out.read_bytes() == first  # byte-identical on a re-run

    # the SVM's features are what must match; another log-mel size does not matter to it
    other = write_store(tmp_path / "features-64", split, n_mels=64)
    assert len(predict(model, other, split_file=split_file).table) == 6
    other = write_store(tmp_path / "features-16k", split, params={"sample_rate": 16000})
    with pytest.raises(SerbiasError, match="sample_rate=16000 \\(model: 8000\\)"):
        predict(model, other, split_file=split_file)
    with pytest.raises(SerbiasError, match=r"no split 'holdout' \(it has train, val, test\)"):
        predict(model, features, split_file=split_file, split_name="holdout")
    # a split asking for clips the store does not hold is told which
    write_split_file(tmp_path / "other.json", {**split, "test": ["1099_DFA_ANG_XX"]})
    with pytest.raises(SerbiasError, match="1 not in the corpus the store was extracted from"):
        predict(model, features, split_file=tmp_path / "other.json")


def test_train_and_predict_from_the_command_line(tiny_store, tracking_store, tmp_path, monkeypatch):
    corpus, features, _, split_file = tiny_store
    monkeypatch.chdir(tmp_path)  # no params.yaml here: built-in defaults
    args = ["train", "--model", "svm", "--features", str(features), "--data", str(corpus),
            "--split", str(split_file), "--hp", "pca=8"]  # fmt: skip
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    for text in ("svm on intended labels", "Anger", "macro", "clips: train 24, val 6",
                 "registered serbias-svm-intended version 1", "@latest, @champion"):  # fmt: skip
        assert text in done.output
    first_summary = tmp_path / "first.json"
    (tmp_path / "outputs/train/svm-intended.json").rename(first_summary)
    again = runner.invoke(app, [*args, "--hp", "C=0.001"])
    assert again.exit_code == 0 and "version 2" in again.output

    # a training summary names its exact version, whatever @latest says by now
    predicted = runner.invoke(app, ["predict", "--model", str(first_summary), "--features",
                                    str(features), "--split", str(split_file),
                                    "--out", "p.csv"])  # fmt: skip
    assert predicted.exit_code == 0, predicted.output
    assert "models:/serbias-svm-intended/1" in predicted.output
    sidecar = json.loads((tmp_path / "p.model.json").read_text())
    assert (sidecar["registered_name"], sidecar["version"]) == ("serbias-svm-intended", "1")


def test_a_file_that_is_not_a_training_summary_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("metrics.json").write_text('{"val_macro_f1": 0.5}')
    done = runner.invoke(app, ["predict", "--model", "metrics.json", "--features", "f"])
    assert done.exit_code == 1
    assert "metrics.json: not a `serbias train` summary" in done.output
    assert len(done.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--model", "lstm"],
            "--model 'lstm' is not one of svm, cnn_lstm, cnn_lstm_attention, multitask",
        ),
        (["--labels", "crowd"], "--labels 'crowd' is not one of intended, observed"),
        (
            ["--model", "svm", "--hp", "lstm_units=8"],
            "'lstm_units' is not a hyperparameter of --model svm",
        ),
        (["--model", "cnn_lstm", "--hp", "pools"], "--hp 'pools': expected KEY=VALUE, e.g. C=3"),
        (
            ["--model", "cnn_lstm", "--hp", "pools=2by2"],
            "params train.models.cnn_lstm.pools: expected an integer, got '2by2'",
        ),
    ],
)
def test_bad_train_options_are_one_line_errors(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = runner.invoke(app, ["train", *args])
    assert done.exit_code == 1
    assert message in done.output and len(done.output.strip().splitlines()) == 1


def test_unreachable_tracking_store_is_reported_before_training(tmp_path, monkeypatch, tiny_store):
    corpus, features, _, _ = tiny_store
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/absent/mlflow.db")
    done = runner.invoke(app, ["train", "--model", "svm", "--features", str(features),
                               "--data", str(corpus)])  # fmt: skip
    assert done.exit_code == 1 and "does not exist" in done.output
