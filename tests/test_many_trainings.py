"""Many trainings on the local executor: cross-validation folds, bootstrap replicas, retries
of a killed worker, resuming an interrupted run, and determinism across worker counts."""

from __future__ import annotations

import pandas as pd
import pytest

from serbias.corpus.reader import read_corpus
from serbias.corpus.split import split_corpus
from serbias.errors import SerbiasError
from serbias.predictions.tracked_source import predict_out_of_fold
from serbias.training import train
from serbias.training.executors.base import CRASH_ONCE_ENV
from tests.train_helpers import tiny_params


def _client():
    from mlflow import MlflowClient

    return MlflowClient()


def _children(parent_id: str) -> list:
    parent = _client().get_run(parent_id)
    return _client().search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )


@pytest.fixture()
def folds_file(tiny_store, tmp_path):
    clips = read_corpus(tiny_store.corpus, require_audio=False)
    sizes = {"train": 0.75, "val": 0.25, "test": 0.0}
    split_corpus(clips, tmp_path / "cv.json", sizes=sizes, seed=0, folds=3)
    return tmp_path / "cv.json"


def test_cv_trains_one_child_per_fold_and_pools_every_clip_once(
    tiny_store, folds_file, tracking_store
):
    result = train(tiny_params("svm", cv=True, jobs=1), features_dir=tiny_store.features,
                   data_dir=tiny_store.corpus, split_file=folds_file)  # fmt: skip
    children = _children(result.run_id)
    assert sorted(int(c.data.params["fold"]) for c in children) == [0, 1, 2]
    assert all(c.info.status == "FINISHED" for c in children)
    assert result.kind == "cv" and result.version is None  # registers nothing by default
    pooled = predict_out_of_fold(f"runs:/{result.run_id}").table
    assert sorted(pooled["Filename"]) == sorted(read_corpus(tiny_store.corpus)["filename"])
    assert 0.0 <= result.oof_macro_f1 <= 1.0
    metrics = _client().get_run(result.run_id).data.metrics
    assert metrics["oof_macro_f1"] == pytest.approx(result.oof_macro_f1)
    assert "val_macro_f1_mean" in metrics and "val_macro_f1_std" in metrics


def test_cv_with_register_final_registers_a_model_trained_on_all_actors(
    tiny_store, folds_file, tracking_store
):
    result = train(tiny_params("svm", cv=True, register_final=True, jobs=1),
                   features_dir=tiny_store.features, data_dir=tiny_store.corpus,
                   split_file=folds_file)  # fmt: skip
    assert (result.registered_name, result.version) == ("serbias-svm-intended", "1")
    assert "champion" in result.aliases


def test_cv_needs_folds_and_excludes_bootstrap(tiny_store, tracking_store):
    with pytest.raises(SerbiasError, match="--cv needs a split file with folds"):
        train(tiny_params("svm", cv=True), features_dir=tiny_store.features,
              data_dir=tiny_store.corpus, split_file=tiny_store.split_file)  # fmt: skip
    with pytest.raises(SerbiasError, match="cross-validation folds or bootstrap replicas"):
        tiny_params("svm", cv=True, bootstrap=2)


def _oob(run_id: str) -> pd.DataFrame:
    frames = []
    for child in _children(run_id):
        path = _client().download_artifacts(child.info.run_id, "oob_predictions.csv")
        frames.append(pd.read_csv(path).assign(replica=int(child.data.params["replica"])))
    return pd.concat(frames).sort_values(["replica", "Filename"]).reset_index(drop=True)


def test_a_killed_worker_is_retried_and_replicas_equal_the_in_process_ones(
    tiny_store, tracking_store, tmp_path, monkeypatch
):
    args = dict(features_dir=tiny_store.features, data_dir=tiny_store.corpus,
                split_file=tiny_store.split_file)  # fmt: skip
    serial = train(tiny_params("svm", bootstrap=3, jobs=1), **args)
    monkeypatch.setenv(CRASH_ONCE_ENV, f"{tmp_path / 'markers'}:replica-001")
    pooled = train(tiny_params("svm", bootstrap=3, jobs=2), fresh=True, **args)
    assert (tmp_path / "markers" / "replica-001").is_file()  # it did crash once
    attempts = {int(c.data.params["replica"]): int(c.data.params["attempts"])
                for c in _children(pooled.run_id)}  # fmt: skip
    assert sorted(attempts) == [0, 1, 2] and attempts[1] >= 2
    pd.testing.assert_frame_equal(_oob(serial.run_id), _oob(pooled.run_id))


def test_an_interrupted_bootstrap_resumes_with_no_duplicates(tiny_store, tracking_store):
    args = dict(features_dir=tiny_store.features, data_dir=tiny_store.corpus,
                split_file=tiny_store.split_file)  # fmt: skip
    params = tiny_params("svm", bootstrap=4, jobs=1)

    def stop_after_two(event) -> None:
        if event.completed == 2 and event.metrics:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(params, progress=stop_after_two, **args)
    killed = _client().search_runs(
        [_client().get_experiment_by_name(params.experiment).experiment_id],
        filter_string="attributes.status = 'KILLED'",
    )
    assert len(killed) == 1  # the parent: ended KILLED, not left RUNNING
    with pytest.raises(SerbiasError, match="other data or parameters; train with --fresh"):
        train(tiny_params("svm", bootstrap=4, jobs=1, learning_rate=0.1, threshold=0.4), **args)
    resumed = train(params, **args)
    assert resumed.run_id == killed[0].info.run_id and resumed.resumed == 2
    children = _children(resumed.run_id)
    assert sorted(int(c.data.params["replica"]) for c in children) == [0, 1, 2, 3]
    assert _client().get_run(resumed.run_id).info.status == "FINISHED"
    fresh = train(params, fresh=True, **args)
    assert fresh.run_id != resumed.run_id and fresh.resumed == 0
