"""The repository's DVC pipeline, run for real on a tiny corpus (CI's reduced end-to-end).

A temporary project gets the repository's ``dvc.yaml`` unchanged and its ``params.yaml`` with
CPU-minute sizes (a 16-actor corpus, 1 epoch, narrow networks, 50 resamples); ``serbias synth``
makes the corpus, ``dvc add data`` versions it and ``dvc repro`` runs every stage. Then: the
pipeline is up to date, a second repro does nothing, changing ``audit.n_boot`` re-runs only
the audit, and an ``mlflow server`` on the store the pipeline made shows the runs, their
per-group metrics and the registered models with aliases over its REST API, and two queued
experiments run at once in temporary copies and log to the project's one MLflow store.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from serbias.config import deep_merge
from tests.mlflow_server import mlflow_server, rest_get, rest_post

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODELS = ("svm", "cnn_lstm", "cnn_lstm_attention", "multitask")
STAGES = ("train", "train-bootstrap", "predict", "predict-bootstrap")
LABELS = ("intended", "observed")
QUEUE_LIMIT = 600.0  # seconds for two queued audit-only experiments
SMALL_NET = {"channels": [8, 8, 8, 8], "lstm_units": 8}
SMALL_ATTENTION = {**SMALL_NET, "attention_heads": 2, "attention_units": 8}
#: params.yaml changes that make the whole pipeline a few CPU-minutes.
TINY = {
    "synth": {"actors": 16, "sentences": 2},
    "split": {"train": 0.5, "val": 0.125, "test": 0.375, "folds": 2},
    "extract": {"duration": 1.5, "jobs": 1, "logmel": {"n_mels": 32}},
    "train": {
        "epochs": 1,
        "jobs": 1,  # trainings this small are faster in-process than in spawned workers
        "study_replicas": {"svm": 3},
        "models": {
            "svm": {"pca": 20},
            "cnn_lstm": SMALL_NET,
            "cnn_lstm_attention": SMALL_ATTENTION,
            "multitask": SMALL_ATTENTION,
        },
    },
    "audit": {
        "n_boot": 50,
        "n_perm": 50,
        "n_chance": 2,
        "reference": ["sex=Male"],
        "min_actors": 3,
    },
    # the paper profile's study, sized like the rest (its own overrides come with -S)
    "profiles": {
        "paper": {
            "extract": {"logmel": {"n_mels": 32}},
            "train": {
                "models": {
                    "cnn_lstm": SMALL_NET,
                    "cnn_lstm_attention": SMALL_ATTENTION,
                    "multitask": SMALL_ATTENTION,
                }
            },
        }
    },
}


def _run(root: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)  # the project's own store, as for a user
    done = subprocess.run(
        args, cwd=root, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _stages_run(output: str) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", output)


def _set_param(root: Path, section: str, key: str, value: Any) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params[section][key] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A tiny project after ``synth``, ``dvc add data`` and a full ``dvc repro``."""
    root = tmp_path_factory.mktemp("project")
    (root / "dvc.yaml").write_text((REPO / "dvc.yaml").read_text())
    # the stages list the code they run as deps, so the project carries a copy of it
    shutil.copytree(REPO / "serbias", root / "serbias",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    params = deep_merge(yaml.safe_load((REPO / "params.yaml").read_text()), TINY)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / ".gitignore").write_text("/mlflow.db\n/mlruns/\n/outputs/\n")
    _run(root, "git", "init", "-q")
    _run(root, "git", "config", "user.email", "ci@serbias.invalid")
    _run(root, "git", "config", "user.name", "ci")
    _run(root, str(BIN / "dvc"), "init", "-q")
    _run(root, str(BIN / "dvc"), "config", "core.analytics", "false")
    _run(root, str(BIN / "serbias"), "synth", "data")
    _run(root, str(BIN / "dvc"), "add", "-q", "data")
    _run(root, "git", "add", "-A")
    _run(root, "git", "commit", "-qm", "tiny project")
    return root, _run(root, str(BIN / "dvc"), "repro")


def test_repro_runs_every_stage_and_ends_with_the_report(pipeline):
    root, output = pipeline
    matrix = [f"{m}-{labels}" for m in MODELS for labels in LABELS]
    expected = ["split", "extract", *(f"{stage}@{k}" for k in matrix for stage in STAGES)]
    assert sorted(_stages_run(output)) == sorted([*expected, "audit"])
    assert _stages_run(output)[-1] == "audit"
    # the last thing a user reads: the headline gaps and where the report is
    tail = output[output.rindex("Running stage 'audit'") :]
    assert "Report" in tail and "outputs/audit/report.html" in tail
    assert (root / "outputs/audit/report.html").is_file()


def test_every_model_is_cross_validated_over_every_actor(pipeline):
    from serbias.corpus.reader import read_corpus

    root, _ = pipeline
    corpus = read_corpus(root / "data", require_audio=False).set_index("filename")
    for key in (f"{m}-{labels}" for m in MODELS for labels in LABELS):
        summary = json.loads((root / f"outputs/train/{key}.json").read_text())
        assert summary["kind"] == "cv" and 0.0 <= summary["oof_macro_f1"] <= 1.0
        predicted = pd.read_csv(root / f"outputs/predictions/{key}.csv")["Filename"]
        rated = corpus.index if key.endswith("intended") else corpus.index[
            corpus["voice_vote"].map(len) > 0]  # fmt: skip
        assert predicted.is_unique and set(predicted) == set(rated)  # every clip, once
        sidecar = json.loads((root / f"outputs/predictions/{key}.model.json").read_text())
        assert sidecar["model_uri"] == f"runs:/{summary['run_id']}" and sidecar["out_of_fold"]
    sizes = pd.read_csv(root / "outputs/audit/group_sizes.csv")
    scored = sizes[(sizes["system"] == "svm-intended") & (sizes["target"] == "intended")
                   & (sizes["axis"] == "sex")]  # fmt: skip
    assert scored["n_actors"].sum() == corpus["actor_id"].nunique()  # the audit saw every actor


def test_the_svm_bootstrap_gives_the_studys_tables(pipeline):
    root, _ = pipeline
    for labels in LABELS:
        replicas = sorted((root / f"outputs/predictions/svm-{labels}-bootstrap").glob("*.csv"))
        assert [p.name for p in replicas] == ["replica_000.csv", "replica_001.csv",
                                              "replica_002.csv"]  # fmt: skip
        for family in MODELS[1:]:  # no replicas asked of the networks: an empty directory
            assert not any((root / f"outputs/predictions/{family}-{labels}-bootstrap").iterdir())
    study = pd.read_csv(root / "outputs/audit/study_tables.csv", keep_default_na=False)
    macro = study[(study["metric"] == "macro_f1") & (study["kind"] == "group")]
    for trained_on in LABELS:
        for scored_on in LABELS:
            rows = macro[(macro["trained_on"] == trained_on) & (macro["scored_on"] == scored_on)]
            assert list(rows["group"]) == ["Male", "Female", "Caucasian", "Non-Caucasian"]
            assert (rows["model"] == "svm").all() and (rows["n_replicas"] == 3).all()
            assert (rows["cv_system"] == f"svm-{trained_on}").all()
            assert rows["cv_value"].astype(float).between(0, 1).all()


@pytest.mark.browser
def test_the_pipelines_report_opens_with_verdicts_forest_plot_and_ground_truth(pipeline):
    from tests.test_report_browser import assert_on_first_screen, first_screen

    root, _ = pipeline
    facts = first_screen(root / "outputs/audit/report.html", root / "pipeline-first-screen.png")
    assert_on_first_screen(facts["boxes"])
    # 8 cross-validated models + 2 SVM replica sets on 2 targets, and the listeners
    assert facts["rows"] == 10 * 2 + 1
    assert "Planted (synth.json): sex=Female" in facts["ground_truth"]


def test_the_pipeline_is_up_to_date_after_repro(pipeline):
    root, _ = pipeline
    assert "up to date" in _run(root, str(BIN / "dvc"), "status")
    assert _stages_run(_run(root, str(BIN / "dvc"), "repro")) == []


def test_dvc_metrics_show_reads_train_and_audit_metrics(pipeline):
    root, _ = pipeline
    shown = json.loads(_run(root, str(BIN / "dvc"), "metrics", "show", "--json"))
    files = next(iter(shown.values()))["data"]
    assert "val_macro_f1" in files["outputs/train/multitask-observed.json"]["data"]
    audit = files["outputs/audit/metrics.json"]["data"]
    assert "multitask-intended.intended.sex.Female_vs_Male.macro_f1.gap" in audit
    assert "svm-observed.observed.overall.macro_f1" in audit
    assert "svm-intended-bootstrap.replicas.intended.sex.Female_vs_Male.macro_f1.mean" in audit


def test_mlflow_server_on_the_pipeline_store_shows_runs_group_metrics_and_aliases(pipeline):
    root, _ = pipeline
    with mlflow_server(root / "mlflow.db", root / "mlruns", log=root / "server.log") as base:
        experiments = rest_post(base, "experiments/search", {"max_results": 100})["experiments"]
        ids = {e["name"]: e["experiment_id"] for e in experiments}
        train_runs = rest_post(base, "runs/search", {"experiment_ids": [ids["serbias-train"]]})
        tags = {
            run["info"]["run_id"]: {t["key"]: t["value"] for t in run["data"]["tags"]}
            for run in train_runs["runs"]
        }
        commit = _run(root, "git", "rev-parse", "HEAD").strip()
        for model in MODELS:
            for labels in LABELS:
                summary = json.loads((root / f"outputs/train/{model}-{labels}.json").read_text())
                run_tags = tags[summary["run_id"]]
                assert (run_tags["serbias.model"], run_tags["serbias.labels"]) == (model, labels)
                assert run_tags["serbias.split_mode"] == "speaker"
                assert run_tags["serbias.git_commit"] == commit
                assert run_tags["serbias.corpus_fingerprint"]
                # the registered model is the final one, a child of the cross-validation run
                name = f"serbias-{model}-{labels}"
                for alias in ("champion", "latest"):
                    version = rest_get(base, "registered-models/alias", name=name, alias=alias)
                    found = version["model_version"]
                    assert found["version"] == "1"
                    assert tags[found["run_id"]]["mlflow.parentRunId"] == summary["run_id"]
                    assert tags[found["run_id"]]["serbias.final"] == "true"

        audit_runs = rest_post(base, "runs/search", {"experiment_ids": [ids["serbias-audit"]]})
        by_name = {run["info"]["run_name"]: run for run in audit_runs["runs"]}
        saved = json.loads((root / "outputs/audit/metrics.json").read_text())
        key = "intended.sex.Female_vs_Male.macro_f1.gap"
        parent = next(run for name, run in by_name.items() if "+" in name)
        metrics = {m["key"]: m["value"] for m in parent["data"]["metrics"]}
        assert metrics[f"multitask-intended.{key}"] == pytest.approx(
            saved[f"multitask-intended.{key}"]
        )
        assert "svm-observed.intended.sex.Female.macro_f1" in metrics
        # one nested run per model: the same metric name in every row of the MLflow UI
        child = by_name["audit-multitask-intended"]
        child_metrics = {m["key"]: m["value"] for m in child["data"]["metrics"]}
        assert child_metrics[key] == pytest.approx(saved[f"multitask-intended.{key}"])
        child_tags = {t["key"]: t["value"] for t in child["data"]["tags"]}
        summary = json.loads((root / "outputs/train/multitask-intended.json").read_text())
        assert child_tags["serbias.audited_run_id"] == summary["run_id"]
        assert child_tags["mlflow.parentRunId"] == parent["info"]["run_id"]


def test_changing_audit_n_boot_reruns_only_the_audit(pipeline):
    root, _ = pipeline
    before = json.loads((root / "outputs/audit/metrics.json").read_text())
    _set_param(root, "audit", "n_boot", 60)
    assert _stages_run(_run(root, str(BIN / "dvc"), "repro")) == ["audit"]
    after = json.loads((root / "outputs/audit/metrics.json").read_text())
    gap = "multitask-intended.intended.sex.Female_vs_Male.macro_f1.gap"
    assert after[gap] == before[gap]  # point estimates do not depend on the resamples
    assert _stages_run(_run(root, str(BIN / "dvc"), "repro")) == []


def _dvc_experiment_tags(db: Path) -> dict[str, set[str]]:
    """DVC experiment name -> names of the MLflow runs tagged with it."""
    import sqlite3

    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT tags.value, runs.name FROM runs JOIN tags ON tags.run_uuid = runs.run_uuid "
            "WHERE tags.key = 'serbias.dvc_experiment'"
        ).fetchall()
    found: dict[str, set[str]] = {}
    for experiment, run in rows:
        found.setdefault(experiment, set()).add(run)
    return found


def test_queued_experiments_run_two_at_once_and_log_to_the_project_store(pipeline):
    root, _ = pipeline
    dvc = str(BIN / "dvc")
    _run(root, "git", "add", "-A")
    _run(root, "git", "commit", "-qm", "pipeline outputs")
    for n_boot in (70, 80):
        _run(
            root,
            dvc,
            "exp",
            "run",
            "--queue",
            "-n",
            f"boot{n_boot}",
            "-S",
            f"audit.n_boot={n_boot}",
        )
    _run(root, dvc, "queue", "start", "-j", "2")
    deadline = time.monotonic() + QUEUE_LIMIT
    while re.search(r"\b(Queued|Running)\b", _run(root, dvc, "queue", "status")):
        assert time.monotonic() < deadline, "queued experiments still running"
        time.sleep(2)
    logs = _run(root, dvc, "queue", "logs", "boot70")
    # each copy checks its unchanged stages out of the cache: only the audit runs
    assert _stages_run(logs) == ["audit"]
    assert {"boot70", "boot80"} <= set(_run(root, dvc, "exp", "list", "--name-only").split())
    # the temporary copies logged to the project's own store, tagged with their experiment
    tagged = _dvc_experiment_tags(root / "mlflow.db")
    for name in ("boot70", "boot80"):
        assert "audit-multitask-intended" in tagged[name]


@pytest.mark.slow  # about 10 minutes on 2 cores: every stage again, in a temporary copy
def test_the_paper_profile_runs_the_study_in_a_queued_experiment(pipeline):
    root, _ = pipeline
    dvc = str(BIN / "dvc")
    replicas = {"svm": 2, "cnn_lstm": 0, "cnn_lstm_attention": 0, "multitask": 2}
    overrides = ["base.profile=paper", "profiles.paper.train.epochs=1"] + [
        f"profiles.paper.train.study_replicas.{family}={n}" for family, n in replicas.items()
    ]
    _run(root, dvc, "exp", "run", "--queue", "-n", "paper",
         *(a for o in overrides for a in ("-S", o)))  # fmt: skip
    _run(root, dvc, "queue", "start")
    deadline = time.monotonic() + 2 * QUEUE_LIMIT
    while re.search(r"\b(Queued|Running)\b", _run(root, dvc, "queue", "status")):
        assert time.monotonic() < deadline, "the paper experiment is still running"
        time.sleep(2)
    assert re.search(r"paper\s.*Success", _run(root, dvc, "queue", "status"))
    ran = _stages_run(_run(root, dvc, "queue", "logs", "paper"))
    assert {"split", "extract", "train@svm-intended", "train-bootstrap@multitask-observed",
            "predict-bootstrap@svm-intended", "audit"} <= set(ran)  # fmt: skip
    shown = _run(root, dvc, "exp", "show", "--json")
    for family, n in replicas.items():
        if n:
            assert f'"{family}-intended-bootstrap.replicas.n_replicas": {n}' in shown
