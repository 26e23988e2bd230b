"""Audits logged to MLflow: one run in ``serbias-audit``, linked to the audited model's run
through the sidecar `serbias predict` writes; ``--no-track`` needs no store at all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serbias import tracking
from serbias.audit import EXPERIMENT
from serbias.cli import app
from serbias.errors import SerbiasError
from tests.train_helpers import tiny_corpus_and_split, tiny_params, write_split_file, write_store

runner = CliRunner()
FAST = ["--n-boot", "40", "--n-perm", "40", "--n-chance", "2", "--min-actors", "2",
        "--reference", "sex=Male"]  # fmt: skip


def _client():
    from mlflow import MlflowClient  # tests may look inside the store

    return MlflowClient(tracking_uri=tracking.tracking_uri())


def _audit_runs() -> list:
    found = _client().get_experiment_by_name(EXPERIMENT)
    return [] if found is None else _client().search_runs([found.experiment_id])


def trained_svm_predictions(root: Path) -> tuple[str, Path, Path]:
    """(training run id, corpus, predictions CSV of all 36 clips) from a tiny trained SVM."""
    from serbias.training import train

    corpus, split = tiny_corpus_and_split(root / "corpus")
    everything = sorted(name for names in split.values() for name in names)
    features = write_store(root / "features", split)
    split_file = write_split_file(root / "split.json", split)
    # predict every clip, so that the audit sees all six actors (three per sex)
    every_clip = write_split_file(
        root / "every_clip.json", {"train": [], "val": [], "test": everything}
    )
    trained = train(
        tiny_params("svm"), features_dir=features, data_dir=corpus, split_file=split_file
    )
    predictions = root / "preds" / "test.csv"
    args = ["predict", "--model", "models:/serbias-svm-intended@champion",
            "--features", str(features), "--split", str(every_clip),
            "--out", str(predictions)]  # fmt: skip
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    return trained.run_id, corpus, predictions


def test_metric_names_are_made_mlflow_safe_deterministically():
    assert tracking.metric_key("intended.sex_x_race.Female/Asian.macro_f1") == (
        "intended.sex_x_race.Female/Asian.macro_f1"
    )
    assert tracking.metric_key("vendor:v2+beta.intended.overall.accuracy") == (
        "vendor_v2_beta.intended.overall.accuracy"
    )
    assert tracking.metric_key("a//b") == "a__b"  # would read as the path a/b
    assert tracking.metric_keys({"x:1": 1, "y": 2}) == {"x_1": 1.0, "y": 2.0}
    with pytest.raises(SerbiasError, match="'x:1' and 'x\\+1' both become MLflow metric 'x_1'"):
        tracking.metric_keys({"x:1": 1.0, "x+1": 2.0})


def test_sidecars_become_tags_linking_the_audit_to_its_models():
    from serbias.audit._tracking import audit_tags

    svm = {"run_id": "r1", "model_uri": "models:/serbias-svm-intended@champion",
           "registered_name": "serbias-svm-intended", "version": "3", "model": "svm",
           "labels": "intended"}  # fmt: skip
    cnn = {"run_id": "r2", "model_uri": "runs:/r2/model", "model": "cnn_lstm"}
    assert audit_tags([]) == {"serbias.stage": "audit"}
    assert audit_tags([svm, cnn, svm]) == {
        "serbias.stage": "audit",
        "serbias.audited_run_id": "r1,r2",
        "serbias.audited_model": "models:/serbias-svm-intended@champion,runs:/r2/model",
        "serbias.model": "svm,cnn_lstm",
        "serbias.labels": "intended",
        "serbias.audited_version": "serbias-svm-intended/3",
    }


def test_audit_logs_one_run_linked_to_the_audited_model(tmp_path, tracking_store):
    run_id, corpus, predictions = trained_svm_predictions(tmp_path)
    sidecar = json.loads((predictions.parent / "test.model.json").read_text())
    assert sidecar == {
        "model_uri": "models:/serbias-svm-intended@champion",
        "run_id": run_id,
        "registered_name": "serbias-svm-intended",
        "version": "1",
        "model": "svm",
        "labels": "intended",
    }

    out = tmp_path / "audit"
    done = runner.invoke(
        app,
        ["audit", str(predictions), "--data", str(corpus), "--out", str(out), *FAST],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    (run,) = _audit_runs()
    assert f"MLflow run {run.info.run_id} (experiment serbias-audit)" in done.output
    assert run.info.status == "FINISHED"
    metrics = json.loads((out / "metrics.json").read_text())
    gap = "intended.sex.Female_vs_Male.macro_f1.gap"
    assert run.data.metrics[gap] == pytest.approx(metrics[gap])
    # audit keys are MLflow-safe as they are; MLflow has every metric, metrics.json the headline
    assert set(metrics) < set(run.data.metrics)
    assert "intended.sex.Female.recall_Anger" in run.data.metrics
    tags = run.data.tags
    assert tags["serbias.audited_run_id"] == run_id
    assert tags["serbias.audited_model"] == "models:/serbias-svm-intended@champion"
    assert tags["serbias.audited_version"] == "serbias-svm-intended/1"
    assert tags["serbias.model"] == "svm" and tags["serbias.labels"] == "intended"
    assert tags["serbias.version"]
    # the params are the audit section as run (params.yaml's audit keys)
    assert run.data.params["n_boot"] == "40" and run.data.params["reference"] == "sex=Male"
    assert run.data.params["split_name"] == "none"  # no split file: every predicted clip
    artifacts = {f.path for f in _client().list_artifacts(run.info.run_id)}
    assert {"report.html", "report.md", "gaps.csv", "by_group.csv", "metrics.json",
            "audited_models.json"} <= artifacts  # fmt: skip

    # a third-party CSV (no sidecar) is audited and logged, just not linked
    third_party = tmp_path / "vendor.csv"
    shutil.copy(predictions, third_party)
    done = runner.invoke(
        app, ["audit", str(third_party), "--data", str(corpus), "--out", str(tmp_path / "v"), *FAST]
    )
    assert done.exit_code == 0, done.output
    vendor = next(r for r in _audit_runs() if r.info.run_id != run.info.run_id)
    assert "serbias.audited_run_id" not in vendor.data.tags
    assert vendor.data.metrics[gap] == pytest.approx(metrics[gap])


def test_no_track_needs_no_store_and_an_unreachable_store_fails_first(
    tiny_corpus, tmp_path, tracking_store, monkeypatch
):
    from serbias.corpus.reader import read_corpus
    from tests.audit.clips import noisy_scores, write_predictions

    predictions = write_predictions(
        tmp_path / "m.csv", noisy_scores(read_corpus(tiny_corpus), seed=0)
    )
    args = ["audit", str(predictions), "--data", str(tiny_corpus), *FAST]
    done = runner.invoke(app, [*args, "--out", str(tmp_path / "a"), "--no-track"])
    assert done.exit_code == 0, done.output
    assert _audit_runs() == [] and "MLflow run" not in done.output

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/absent/mlflow.db")
    done = runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert done.exit_code == 1
    assert "error: MLflow tracking URI" in done.output and "does not exist" in done.output
    assert not (tmp_path / "b").exists()  # refused before any work
    done = runner.invoke(app, [*args, "--out", str(tmp_path / "c"), "--no-track"])
    assert done.exit_code == 0, done.output


def test_an_audit_of_several_models_nests_one_comparable_run_per_model(tmp_path, tracking_store):
    run_id, corpus, predictions = trained_svm_predictions(tmp_path)
    shutil.copy(predictions, predictions.parent / "vendor.csv")  # a second, unlinked system
    done = runner.invoke(
        app, ["audit", str(predictions.parent), "--data", str(corpus), "--out",
              str(tmp_path / "audit"), *FAST],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    # the terminal shows the verdict table: per model and target its macro-F1 and sex gap
    # with interval, BH-adjusted p and verdict word
    assert "Verdicts: macro-F1 gap" in done.output
    gaps = json.loads((tmp_path / "audit" / "metrics.json").read_text())
    for system in ("test", "vendor"):
        gap = gaps[f"{system}.intended.sex.Female_vs_Male.macro_f1.gap"]
        row = next(line for line in done.output.splitlines() if line.strip().startswith(system))
        assert f"{gap:+.3f}" in row
    runs = _audit_runs()
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {r.info.run_name: r for r in runs if r is not parent}
    assert set(children) == {"audit-test", "audit-vendor"}
    gap = "intended.sex.Female_vs_Male.macro_f1.gap"
    for name, child in children.items():
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        system = name.removeprefix("audit-")
        # the same column in every child: models compare side by side in the MLflow UI
        assert child.data.metrics[gap] == pytest.approx(parent.data.metrics[f"{system}.{gap}"])
    assert children["audit-test"].data.tags["serbias.audited_run_id"] == run_id
    assert children["audit-test"].data.tags["serbias.model"] == "svm"
    assert "serbias.audited_run_id" not in children["audit-vendor"].data.tags
