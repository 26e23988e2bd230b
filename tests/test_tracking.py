"""MLflow tracking: store location, reachability, runs, registry aliases, safe model loading."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from serbias import tracking
from serbias.errors import SerbiasError
from serbias.models import MODELS, load_model

PACKAGE = Path(__file__).resolve().parents[1] / "serbias"


def _svm(seed: int = 0):
    from serbias.models.svm import build_svm

    rng = np.random.default_rng(seed)
    y = np.eye(6)[np.arange(36) % 6]
    X = rng.normal(size=(36, 5)) + np.hstack([y[:, :5] * 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklearn 1.9: SVC(probability=True)
        return build_svm(pca=3, seed=seed).fit(X, y), X


def _log_version(model, score: float) -> tuple[str, tracking.LoggedModel]:
    with tracking.tracked_run(experiment="t", run_name="r", params={"seed": 0}) as run_id:
        tracking.log_metrics({tracking.SELECTION_METRIC: score})
        logged = tracking.log_model(
            model,
            flavor="sklearn",
            metadata={"feature_kind": "svm"},
            signature=((5,), {"emotion": (6,)}),
            registered_name="serbias-svm-intended",
            trusted_types=MODELS["svm"].trusted_types,
        )
    return run_id, logged


def test_only_the_tracking_package_imports_mlflow():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.parent.name != "tracking"
        and re.search(r"^\s*(import mlflow|from mlflow)", path.read_text(), re.MULTILINE)
    ]
    assert offenders == []


def test_default_store_is_sqlite_in_the_working_directory_and_env_overrides(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    assert tracking.tracking_uri() == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert (
        tracking.artifact_root(tracking.tracking_uri()) == (tmp_path / "mlruns").resolve().as_uri()
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert tracking.tracking_uri() == "http://tracking.example:5000"
    assert tracking.artifact_root(tracking.tracking_uri()) is None


def test_under_dvc_the_store_is_the_project_root_s(monkeypatch, tmp_path):
    """Queued DVC experiments run in temporary copies; DVC_ROOT names the real project."""
    project, copy = tmp_path / "project", tmp_path / "project/.dvc/tmp/exps/tmp123"
    copy.mkdir(parents=True)
    monkeypatch.chdir(copy)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DVC_ROOT", str(project))
    assert tracking.tracking_uri() == f"sqlite:///{project.resolve()}/mlflow.db"
    artifacts = tracking.artifact_root(tracking.tracking_uri())
    assert artifacts == (project / "mlruns").resolve().as_uri()


def test_telemetry_is_off_unless_the_user_chose(monkeypatch, tracking_store):
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
    monkeypatch.setenv("DO_NOT_TRACK", "false")
    tracking.experiment_id("t")
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert os.environ["DO_NOT_TRACK"] == "false"


def test_unreachable_stores_fail_fast_with_one_line(tmp_path):
    with pytest.raises(SerbiasError, match=r"directory .*missing does not exist"):
        tracking.check_tracking(f"sqlite:///{tmp_path}/missing/mlflow.db")
    with pytest.raises(SerbiasError, match=r"http://127.0.0.1:9 is unreachable") as error:
        tracking.check_tracking("http://127.0.0.1:9")
    assert "\n" not in str(error.value)


def test_a_run_records_params_tags_and_nests_children(tracking_store, monkeypatch):
    monkeypatch.setenv("DVC_EXP_NAME", "exp-42")
    params = {"channels": (64, 128), "lr": 0.0005}
    with (
        tracking.tracked_run(experiment="t", run_name="parent", params=params) as parent,
        tracking.tracked_run(experiment="t", run_name="child", parent_run_id=parent) as child,
    ):
        tracking.log_metrics({"epoch_val_macro_f1": 0.25}, step=3)
    from mlflow import MlflowClient  # tests may look inside the store

    client = MlflowClient()
    run = client.get_run(parent)
    assert run.data.params == {"channels": "64,128", "lr": "0.0005"}
    assert run.data.tags["serbias.dvc_experiment"] == "exp-42"
    assert client.get_run(child).data.tags["mlflow.parentRunId"] == parent
    history = client.get_metric_history(child, "epoch_val_macro_f1")
    assert [(m.step, m.value) for m in history] == [(3, 0.25)]
    artifacts = client.get_experiment(run.info.experiment_id).artifact_location
    assert artifacts == (tracking_store.parent / "mlruns" / "t").as_uri()


def test_champion_moves_only_when_validation_macro_f1_improves(tracking_store):
    model, _ = _svm()
    moves = []
    for score in (0.5, 0.4, 0.5, 0.7):
        _, logged = _log_version(model, score)
        moves.append(tracking.promote_champion(logged.registered_name, logged.version, score))
    assert moves == [True, False, False, True]
    assert tracking.aliases_of("serbias-svm-intended", "4") == ["latest", "champion"]
    assert tracking.aliases_of("serbias-svm-intended", "1") == []
    champion = load_model("models:/serbias-svm-intended@champion")
    assert tracking.run_id_of("models:/serbias-svm-intended@champion") == champion.run_id
    assert tracking.registry_version("models:/serbias-svm-intended@champion") == (
        "serbias-svm-intended", "4",
    )  # fmt: skip
    assert tracking.registry_version("models:/serbias-svm-intended/2") == (
        "serbias-svm-intended",
        "2",
    )
    assert tracking.registry_version("runs:/abc/model") == (None, None)


def test_registered_svm_loads_back_through_aliases_runs_and_local_paths(tracking_store):
    model, X = _svm()
    run_id, logged = _log_version(model, 0.5)
    expected = model.predict_proba(X)
    for uri in ("models:/serbias-svm-intended@latest", "models:/serbias-svm-intended/1",
                f"runs:/{run_id}/model", logged.model_uri):  # fmt: skip
        loaded = load_model(uri)
        assert loaded.flavor == "sklearn" and loaded.metadata == {"feature_kind": "svm"}
        np.testing.assert_array_equal(loaded.model.predict_proba(X), expected)
    local = next((tracking_store.parent / "mlruns").rglob("MLmodel")).parent
    np.testing.assert_array_equal(load_model(str(local)).model.predict_proba(X), expected)


def test_pickled_models_and_unknown_uris_are_refused(tracking_store, tmp_path):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "MLmodel").write_text(
        "flavors:\n  sklearn:\n"
        "    pickled_model: model.pkl\n    serialization_format: cloudpickle\n"
    )
    with pytest.raises(SerbiasError, match="only skops models are loaded"):
        load_model(str(pickled))
    with pytest.raises(SerbiasError, match="serbias-nope-intended"):
        load_model("models:/serbias-nope-intended@champion")
    with pytest.raises(SerbiasError, match="no such directory, and not a model URI"):
        load_model("nowhere/model")


def test_registry_uris_without_a_store_are_refused_instead_of_creating_one(tmp_path, monkeypatch):
    db = tmp_path / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    with pytest.raises(SerbiasError, match=r"no MLflow store at .*mlflow\.db"):
        load_model("models:/serbias-svm-intended@champion")
    assert not db.exists()


def test_a_run_without_replicas_is_not_a_bootstrap_parent(tracking_store):
    with tracking.tracked_run(experiment="t", run_name="single") as run_id:
        pass
    with pytest.raises(SerbiasError, match="has no bootstrap replicas"):
        tracking.replica_runs(f"runs:/{run_id}")
    with pytest.raises(SerbiasError, match="no such run"):
        tracking.replica_runs("0123456789abcdef")
