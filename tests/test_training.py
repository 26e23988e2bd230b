"""Training: data checks, metrics, determinism, best-epoch restore, tracking, bootstrap."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serbias import tracking, vocab
from serbias.corpus.reader import file_sha256
from serbias.errors import CorpusWarning, SerbiasError
from serbias.features.store import load_features
from serbias.models import MODELS, keras_module, load_model, predict_outputs
from serbias.training import (
    OOB_CLIPS,
    OOB_PREDICTIONS,
    bootstrap_indices,
    evaluate,
    fit_model,
    load_training_data,
    macro_f1,
    train,
)
from tests.train_helpers import tiny_corpus_and_split, tiny_params, write_split_file, write_store

ANG, DIS, FEA, HAP, NEU, SAD = range(6)


def _fit(params, data):
    return fit_model(
        params, data.arrays(), train_rows=data.rows["train"], val_rows=data.rows["val"], seed=0
    )


def _client():
    from mlflow import MlflowClient  # tests may look inside the store

    return MlflowClient()


# ----------------------------------------------------------------------------- metrics


def test_metrics_match_a_hand_computed_multilabel_example():
    y = np.zeros((4, 6))
    y[0, ANG] = y[1, ANG] = y[2, SAD] = 1
    y[3, [NEU, SAD]] = 1  # a tied crowd vote
    p = np.full((4, 6), 0.05)
    p[0, ANG], p[1, ANG], p[1, DIS], p[2, SAD], p[3, NEU], p[3, SAD] = 0.9, 0.2, 0.7, 0.6, 0.5, 0.1
    female, female_prob = np.array([1, 0, 1, 0]), np.array([0.7, 0.2, 0.4, 0.1])
    ev = evaluate({"emotion": y, "female": female}, {"emotion": p, "female": female_prob})
    # ANG: TP 1, FN 1 -> P 1, R 1/2, F1 2/3; DIS: FP 1 -> 0; FEA, HAP: nothing -> 0;
    # NEU: TP 1 -> 1; SAD: TP 1, FN 1 -> 2/3. Macro = (2/3 + 1 + 2/3) / 6 = 7/18.
    assert ev.macro_f1 == pytest.approx(7 / 18)
    assert macro_f1(y, p) == pytest.approx(7 / 18)
    np.testing.assert_allclose(ev.per_emotion["f1"], [2 / 3, 0, 0, 0, 1, 2 / 3])
    np.testing.assert_allclose(ev.per_emotion["recall"], [0.5, 0, 0, 0, 1, 0.5])
    np.testing.assert_allclose(ev.per_emotion["precision"], [1, 0, 0, 0, 1, 1])
    assert ev.per_emotion["support"].tolist() == [2, 0, 0, 0, 1, 2]
    expected = np.zeros((6, 6), int)
    expected[ANG, ANG] = expected[ANG, DIS] = expected[SAD, SAD] = 1
    expected[NEU, NEU] = expected[SAD, NEU] = 1  # the tie counts once per tied emotion
    np.testing.assert_array_equal(ev.confusion, expected)
    assert ev.heads == {"female": 0.75}
    assert ev.metrics()["val_f1_Anger"] == pytest.approx(2 / 3)
    assert "Anger" in ev.report_text and ev.report["Neutral"]["f1-score"] == 1.0


def test_bootstrap_resamples_are_reproducible_and_oob_is_their_complement():
    sample, oob = bootstrap_indices(50, seed=3)
    again, oob_again = bootstrap_indices(50, seed=3)
    np.testing.assert_array_equal(sample, again)
    np.testing.assert_array_equal(oob, oob_again)
    assert len(sample) == 50 and not set(sample) & set(oob)
    assert set(sample) | set(oob) == set(range(50))
    assert not np.array_equal(sample, bootstrap_indices(50, seed=4)[0])


# ----------------------------------------------------------------------------- data


def test_training_data_aligns_features_targets_and_demographics(tiny_store):
    corpus, features, split, split_file = tiny_store
    data = load_training_data(
        features, corpus, model="multitask", labels="intended", split_file=split_file
    )
    assert data.split_filenames("train").tolist() == split["train"]
    assert data.counts() == {"train": 24, "val": 6}
    codes = [vocab.EMOTIONS.index(name.split("_")[2]) for name in split["train"]]
    assert data.split_targets("train")["emotion"].argmax(axis=1).tolist() == codes
    # factory actors: 1001 Male Caucasian, 1002 Female Caucasian, 1003 Female African American
    by_actor = dict(
        zip(
            data.split_filenames("train"),
            data.split_targets("train")["female"].ravel(),
            strict=True,
        )
    )
    assert by_actor["1001_DFA_ANG_XX"] == 0 and by_actor["1002_DFA_ANG_XX"] == 1
    race = dict(
        zip(
            data.split_filenames("train"),
            data.split_targets("train")["non_caucasian"].ravel(),
            strict=True,
        )
    )
    assert race["1002_DFA_ANG_XX"] == 0 and race["1003_DFA_ANG_XX"] == 1
    assert data.input_shape == (32, 40) and data.kind == "logmel"
    # the rows are the store's rows of the split's clips, in split order
    stored = load_features(features, "logmel", split["train"] + split["val"]).X
    np.testing.assert_array_equal(data.X, stored)
    assert data.feature_params == {"sample_rate": 8000, "duration": 1.25,
                                   "logmel": {"n_mels": 32, "hop_length": 256}}  # fmt: skip


def test_observed_labels_leave_unrated_clips_out_and_count_them(tmp_path):
    _, split = tiny_corpus_and_split(tmp_path / "probe")
    unrated = {split["train"][0], split["train"][5], split["val"][2]}
    everything = [name for names in split.values() for name in names]
    corpus, _ = tiny_corpus_and_split(
        tmp_path / "corpus", rated=[n for n in everything if n not in unrated]
    )
    features = write_store(tmp_path / "features", split)
    split_file = write_split_file(tmp_path / "split.json", split)
    with pytest.warns(CorpusWarning):
        data = load_training_data(
            features, corpus, model="svm", labels="observed", split_file=split_file
        )
    assert data.excluded == {"train": 2, "val": 1}
    assert data.counts() == {"train": 22, "val": 5}
    assert not unrated & (set(data.split_filenames("train")) | set(data.split_filenames("val")))


def test_non_finite_features_are_refused_naming_the_clips(tmp_path):
    corpus, split = tiny_corpus_and_split(tmp_path / "corpus")
    bad = split["val"][1]
    features = write_store(tmp_path / "features", split, nan_clips=[bad])
    split_file = write_split_file(tmp_path / "split.json", split)
    with pytest.raises(SerbiasError, match=rf"logmel.npz: NaN or infinite .* 1 clip\(s\): {bad}"):
        load_training_data(
            features, corpus, model="cnn_lstm", labels="intended", split_file=split_file
        )


def test_an_empty_validation_split_is_refused(tmp_path):
    corpus, split = tiny_corpus_and_split(tmp_path / "corpus")
    features = write_store(tmp_path / "features", split)
    split_file = write_split_file(tmp_path / "split.json", {**split, "val": []})
    with pytest.raises(SerbiasError, match=r"split\.json: the val split is empty"):
        load_training_data(features, corpus, model="svm", labels="intended", split_file=split_file)


def test_missing_feature_store_and_unknown_model_are_one_line_errors(tmp_path):
    corpus, split = tiny_corpus_and_split(tmp_path / "corpus")
    split_file = write_split_file(tmp_path / "split.json", split)
    nowhere = tmp_path / "nowhere"
    with pytest.raises(SerbiasError, match=r"run `serbias extract` first"):
        load_training_data(nowhere, corpus, model="svm", labels="intended", split_file=split_file)
    with pytest.raises(SerbiasError, match=r"unknown model 'lstm' .*svm, cnn_lstm, cnn_lstm_att"):
        load_training_data(nowhere, corpus, model="lstm", labels="intended", split_file=split_file)


def test_a_split_of_another_corpus_and_clips_the_store_lacks_are_refused(tmp_path):
    corpus, split = tiny_corpus_and_split(tmp_path / "corpus")
    features = write_store(tmp_path / "features", split)
    other = write_split_file(tmp_path / "other.json", {**split, "train": ["1099_DFA_ANG_XX"]})
    with pytest.raises(SerbiasError, match=r"1 train clip.* not in the corpus .*1099_DFA_ANG_XX"):
        load_training_data(features, corpus, model="svm", labels="intended", split_file=other)
    # a store extracted without some clips of the split (left out as bad, say) names them
    partial = write_store(tmp_path / "partial", {**split, "val": split["val"][1:]})
    split_file = write_split_file(tmp_path / "split.json", split)
    missing = split["val"][0]
    with pytest.raises(SerbiasError, match=rf"no svm features for 1 of the 30 .*\({missing}\)"):
        load_training_data(partial, corpus, model="svm", labels="intended", split_file=split_file)


def test_a_class_missing_from_training_warns_and_training_goes_on(tmp_path, tracking_store):
    corpus, split = tiny_corpus_and_split(tmp_path / "corpus")
    no_fear = {**split, "train": [n for n in split["train"] if "_FEA_" not in n]}
    features = write_store(tmp_path / "features", no_fear)
    split_file = write_split_file(tmp_path / "split.json", no_fear)
    with pytest.warns(CorpusWarning, match="no training clip has the intended label Fear"):
        result = train(
            tiny_params("svm"), features_dir=features, data_dir=corpus, split_file=split_file
        )
    assert result.per_emotion_f1["Fear"] == 0.0 and result.version == "1"


def test_unreachable_tracking_store_fails_before_anything_is_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    nowhere = tmp_path / "nowhere"
    with pytest.raises(SerbiasError, match="is unreachable"):
        train(tiny_params("svm"), features_dir=nowhere, data_dir=nowhere, split_file=nowhere)


# ----------------------------------------------------------------------------- fitting


def test_same_seed_gives_identical_weights_and_another_seed_other_weights(tiny_store):
    from serbias.models.cnn_lstm import build_cnn_lstm

    corpus, features, _, split_file = tiny_store
    data = load_training_data(
        features, corpus, model="cnn_lstm", labels="intended", split_file=split_file
    )
    params = tiny_params("cnn_lstm")
    first = _fit(params, data).model.get_weights()
    second = _fit(params, data).model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    keras = keras_module()
    initial = {}
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        initial[seed] = build_cnn_lstm((32, 40), channels=(8, 8, 16, 16), lstm_units=8)
    kernels = [model.get_layer("conv1").get_weights()[0] for model in initial.values()]
    assert not np.array_equal(*kernels)


def test_patience_stops_training_and_the_best_epoch_is_kept(tiny_store):
    corpus, features, _, split_file = tiny_store
    data = load_training_data(
        features, corpus, model="cnn_lstm", labels="intended", split_file=split_file
    )
    # a learning rate this small freezes the weights (only BatchNorm statistics still move),
    # so val macro-F1 soon stops improving and training stops 2 epochs after the best one
    fit = _fit(tiny_params("cnn_lstm", epochs=30, patience=2, learning_rate=1e-12), data)
    scores = [epoch["val_macro_f1"] for epoch in fit.history]
    assert len(fit.history) < 30
    assert len(fit.history) - 1 - fit.best_epoch == 2
    assert fit.best_epoch == scores.index(max(scores))
    assert macro_f1(
        data.split_targets("val")["emotion"], fit.val_outputs["emotion"]
    ) == pytest.approx(max(scores))


@pytest.mark.parametrize("model", list(MODELS))
def test_each_model_trains_registers_and_loads_back_with_identical_predictions(
    model, tiny_store, tracking_store, tmp_path
):
    corpus, features, split, split_file = tiny_store
    epochs = []
    result = train(
        tiny_params(model),
        features_dir=features,
        data_dir=corpus,
        split_file=split_file,
        progress=epochs.append,
    )
    assert [(e.stage, e.completed) for e in epochs] == (
        [("epoch", 1)] if model == "svm" else [("epoch", 1), ("epoch", 2)]
    )
    name = f"serbias-{model}-intended"
    assert (result.registered_name, result.version, result.champion) == (name, "1", True)
    assert result.aliases == ("latest", "champion")

    kind = "svm" if model == "svm" else "logmel"
    X = load_features(features, kind, split["test"]).X
    loaded = load_model(f"models:/{name}@latest")
    for head, values in predict_outputs(result.fitted_model, X).items():
        np.testing.assert_array_equal(predict_outputs(loaded.model, X)[head], values)

    run = _client().get_run(result.run_id)
    assert run.data.params["model"] == model and run.data.params["labels"] == "intended"
    assert run.data.params["seed"] == "0" and run.data.params["features.sample_rate"] == "8000"
    other_kind = "svm" if kind == "logmel" else "logmel"  # the model records its kind only
    assert any(key.startswith(f"features.{kind}.") for key in run.data.params)
    assert not any(key.startswith(f"features.{other_kind}.") for key in run.data.params)
    assert run.data.params["split_fingerprint"] == file_sha256(split_file)
    assert run.data.tags["serbias.split_mode"] == "speaker"  # read from the split file
    assert run.data.metrics["val_macro_f1"] == pytest.approx(result.macro_f1)
    history = _client().get_metric_history(result.run_id, "epoch_val_macro_f1")
    assert [m.step for m in history] == ([0] if model == "svm" else [0, 1])
    # the best epoch's weights were restored: the final score is the best epoch's
    assert result.macro_f1 == pytest.approx(max(m.value for m in history))
    if model != "svm":
        assert result.best_epoch == 1 + int(np.argmax([m.value for m in history]))
    artifacts = {a.path for a in _client().list_artifacts(result.run_id)}
    assert {"classification_report.txt", "classification_report.json",
            "confusion_matrix.png"} <= artifacts  # fmt: skip

    if model == "multitask":
        from serbias.predictions import predict

        table = predict(f"models:/{name}@champion", features, split_file=split_file).table
        assert list(table.columns) == ["Filename", *vocab.EMOTION_NAMES, "Female", "Non-Caucasian"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_bootstrap_gives_a_parent_run_with_one_child_and_oob_file_per_replica(
    jobs, tiny_store, tracking_store, tmp_path
):
    from serbias.predictions import predict, predict_bootstrap
    from serbias.predictions.table import predictions_csv

    corpus, features, split, split_file = tiny_store
    progress = []
    result = train(
        tiny_params("svm", bootstrap=3, jobs=jobs, seed=5),
        features_dir=features,
        data_dir=corpus,
        split_file=split_file,
        progress=progress.append,
    )
    assert [p.completed for p in progress if p.completed] == [1, 2, 3]
    assert {p.total for p in progress} == {3}
    replicas = tracking.replica_runs(result.run_id)
    assert [r.replica for r in replicas] == [0, 1, 2]
    assert len(_client().search_runs([_client().get_run(result.run_id).info.experiment_id])) == 4
    written = predict_bootstrap(f"runs:/{result.run_id}", tmp_path / "oob")
    assert [p.name for p in written] == ["replica_000.csv", "replica_001.csv", "replica_002.csv"]
    for replica, path in zip(replicas, written, strict=True):
        _, oob = bootstrap_indices(len(split["train"]), seed=5 + replica.replica)
        expected = [split["train"][i] for i in oob]
        assert tracking.download_run_json(replica.run_id, OOB_CLIPS) == expected
        logged = _download_text(replica.run_id, OOB_PREDICTIONS)
        assert pd.read_csv(io.StringIO(logged))["Filename"].tolist() == expected
        assert path.read_text() == logged
        registered = predict(replica.model_uri, features, split_file=split_file, split_name="train")
        oob_rows = registered.table.set_index("Filename").loc[expected].reset_index()
        assert predictions_csv(oob_rows) == logged  # the registered model predicts the same


def _download_text(run_id: str, artifact: str) -> str:
    import tempfile

    from mlflow.artifacts import download_artifacts

    with tempfile.TemporaryDirectory() as tmp:
        return Path(
            download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=tmp)
        ).read_text()


@pytest.mark.slow
def test_keras_bootstrap_replicas_in_parallel_processes(tiny_store, tracking_store):
    corpus, features, _, split_file = tiny_store
    result = train(
        tiny_params("cnn_lstm", bootstrap=2, jobs=2),
        features_dir=features,
        data_dir=corpus,
        split_file=split_file,
    )
    assert [r.replica for r in tracking.replica_runs(result.run_id)] == [0, 1]
