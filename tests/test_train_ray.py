"""``serbias train --executor ray`` against a real Ray head on loopback: bootstrap replicas and
cross-validation folds give exactly what the local executor gives."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from serbias.cli import app
from serbias.corpus.reader import read_corpus

runner = CliRunner()


def _client():
    from mlflow import MlflowClient

    return MlflowClient()


def _ok(*args: str) -> str:
    done = runner.invoke(app, list(args))
    assert done.exit_code == 0, done.output
    return done.output


@pytest.fixture(scope="module")
def corpus_and_store(tmp_path_factory) -> Path:
    """12 synthetic actors x 1 sentence, SVM features, a 4-fold split and a plain split."""
    root = tmp_path_factory.mktemp("ray-train")
    _ok("synth", str(root / "data"), "--actors", "12", "--sentences", "1", "--jobs", "1")
    _ok("split", "--data", str(root / "data"), "--out", str(root / "cv.json"), "--folds", "4",
        "--train", "0.75", "--val", "0.25", "--test", "0")  # fmt: skip
    _ok("split", "--data", str(root / "data"), "--out", str(root / "split.json"),
        "--train", "0.6", "--val", "0.2", "--test", "0.2")  # fmt: skip
    _ok("extract", "--data", str(root / "data"), "--out", str(root / "features"), "--kind", "svm",
        "--jobs", "1")  # fmt: skip
    return root


def _train(root: Path, split: str, *extra: str) -> dict:
    out = root / "train"
    _ok("train", "--model", "svm", "--features", str(root / "features"), "--data",
        str(root / "data"), "--split", str(root / split), "--out", str(out), "--fresh",
        "--hp", "pca=8", *extra)  # fmt: skip
    return json.loads((out / "svm-intended.json").read_text())


def _held_out(parent_id: str) -> pd.DataFrame:
    parent = _client().get_run(parent_id)
    children = _client().search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    frames = []
    for child in children:
        index = child.data.params.get("replica", child.data.params.get("fold"))
        path = _client().download_artifacts(child.info.run_id, "oob_predictions.csv")
        frames.append(pd.read_csv(path).assign(task=int(index)))
    return pd.concat(frames).sort_values(["task", "Filename"]).reset_index(drop=True)


def test_ray_bootstrap_and_cv_equal_the_local_executor(
    corpus_and_store, ray_cluster, tracking_store, tmp_path, monkeypatch
):
    root = corpus_and_store
    monkeypatch.chdir(tmp_path)
    ray = ("--executor", "ray", "--ray-address", ray_cluster.address)
    for split, many in (("split.json", ("--bootstrap", "4")), ("cv.json", ("--cv",))):
        local = _train(root, split, *many, "--jobs", "1")
        remote = _train(root, split, *many, *ray)
        assert local["run_id"] != remote["run_id"]
        on_ray, here = _held_out(remote["run_id"]), _held_out(local["run_id"])
        assert sorted(on_ray["task"].unique()) == [0, 1, 2, 3]
        pd.testing.assert_frame_equal(on_ray, here)  # the SVM: exactly
    # the CV parent's pooled out-of-fold CSV covers every clip (every actor) once
    _ok("predict", "--model", str(root / "train" / "svm-intended.json"), "--out", "oof.csv")
    pooled = pd.read_csv("oof.csv")
    clips = read_corpus(root / "data")
    assert sorted(pooled["Filename"]) == sorted(clips["filename"])
    sidecar = json.loads(Path("oof.model.json").read_text())
    assert sidecar["run_id"] == remote["run_id"]


def test_an_unreachable_ray_address_fails_before_any_training(corpus_and_store, tracking_store):
    pytest.importorskip("ray")
    root = corpus_and_store
    done = runner.invoke(app, ["train", "--model", "svm", "--features", str(root / "features"),
                               "--data", str(root / "data"), "--split", str(root / "split.json"),
                               "--bootstrap", "2", "--executor", "ray",
                               "--ray-address", "127.0.0.1:9"])  # fmt: skip
    assert done.exit_code == 1 and len(done.output.strip().splitlines()) == 1
    assert "127.0.0.1:9" in done.output
    experiment = _client().get_experiment_by_name("serbias-train")
    assert experiment is None or _client().search_runs([experiment.experiment_id]) == []


def test_resources_no_node_has_fail_before_any_training(
    corpus_and_store, ray_cluster, tracking_store, tmp_path, monkeypatch
):
    """One GPU per task on the CPU-only loopback head: a one-line error, not a hang, and no
    run is started."""
    root = corpus_and_store
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  resources: {num_cpus: 1, num_gpus: 1}\n", encoding="utf-8")
    monkeypatch.setenv("SERBIAS_PARAMS", str(params))
    command = ["train", "--model", "svm", "--features", str(root / "features"),
               "--data", str(root / "data"), "--split", str(root / "split.json"),
               "--out", str(tmp_path / "train"), "--bootstrap", "2",
               "--executor", "ray", "--ray-address", ray_cluster.address]  # fmt: skip
    done = runner.invoke(app, command)
    assert done.exit_code == 1, done.output
    assert len(done.output.strip().splitlines()) == 1, done.output
    assert "train.resources" in done.output and "num_gpus=1" in done.output
    assert "0 GPUs" in done.output  # what the largest node has
    assert not (tmp_path / "train").exists()
    experiment = _client().get_experiment_by_name("serbias-train")
    assert experiment is None or _client().search_runs([experiment.experiment_id]) == []
