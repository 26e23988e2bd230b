"""Integration: `mlflow server` on a store built by serbias (two trainings, one audit) shows,
over its REST API, the training runs, the audit's per-group metrics and the registered model
with its ``latest`` and ``champion`` aliases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serbias import tracking
from serbias.cli import app
from tests.mlflow_server import mlflow_server, rest_get, rest_post
from tests.train_helpers import tiny_corpus_and_split, tiny_params, write_split_file, write_store

runner = CliRunner()


def build_store(root: Path) -> dict[str, str]:
    """Train the tiny SVM twice (versions 1 and 2), predict with the champion and audit it."""
    from serbias.training import train

    corpus, split = tiny_corpus_and_split(root / "corpus")
    everything = sorted(name for names in split.values() for name in names)
    features = write_store(root / "features", split)
    split_file = write_split_file(root / "split.json", split)
    # predict every clip, so that the audit sees all six actors (three per sex)
    every_clip = write_split_file(
        root / "every_clip.json", {"train": [], "val": [], "test": everything}
    )
    first = train(tiny_params("svm"), features_dir=features, data_dir=corpus, split_file=split_file)
    second = train(
        tiny_params("svm"), features_dir=features, data_dir=corpus, split_file=split_file
    )
    predictions = root / "test.csv"
    done = runner.invoke(
        app,
        ["predict", "--model", "models:/serbias-svm-intended@champion",
         "--features", str(features), "--split", str(every_clip), "--out", str(predictions)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    done = runner.invoke(
        app,
        ["audit", str(predictions), "--data", str(corpus), "--out", str(root / "audit"),
         "--n-boot", "40", "--n-perm", "40", "--n-chance", "2", "--min-actors", "2",
         "--reference", "sex=Male"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return {"first": first.run_id, "second": second.run_id}


# ~50 s on 2 busy cores (two trainings, an audit and a server start): issue 6 wants it in CI
def test_mlflow_server_shows_runs_group_metrics_and_aliases(tmp_path, tracking_store):
    runs = build_store(tmp_path)
    with mlflow_server(tracking_store, tmp_path / "mlruns", log=tmp_path / "server.log") as base:
        experiments = rest_post(base, "experiments/search", {"max_results": 100})["experiments"]
        ids = {e["name"]: e["experiment_id"] for e in experiments}
        assert {"serbias-train", "serbias-audit"} <= set(ids)

        train_runs = rest_post(base, "runs/search", {"experiment_ids": [ids["serbias-train"]]})
        found = {run["info"]["run_id"]: run for run in train_runs["runs"]}
        assert set(runs.values()) <= set(found)
        tags = {t["key"]: t["value"] for t in found[runs["first"]]["data"]["tags"]}
        assert tags["serbias.model"] == "svm" and tags["serbias.labels"] == "intended"
        assert tags["serbias.split_mode"] and tags["serbias.corpus_fingerprint"]
        metrics = {m["key"] for m in found[runs["first"]]["data"]["metrics"]}
        assert tracking.SELECTION_METRIC in metrics

        (audit,) = rest_post(
            base,
            "runs/search",
            {
                "experiment_ids": [ids["serbias-audit"]],
                "filter": f"tags.`serbias.audited_run_id` = '{runs['first']}'",
            },
        )["runs"]
        audit_metrics = {m["key"]: m["value"] for m in audit["data"]["metrics"]}
        gap = audit_metrics["intended.sex.Female_vs_Male.macro_f1.gap"]
        saved = json.loads((tmp_path / "audit" / "metrics.json").read_text())
        assert gap == pytest.approx(saved["intended.sex.Female_vs_Male.macro_f1.gap"])
        assert "intended.sex.Female.macro_f1" in audit_metrics

        model = rest_get(base, "registered-models/get", name="serbias-svm-intended")
        aliases = {a["alias"]: a["version"] for a in model["registered_model"]["aliases"]}
        # equal scores: the champion stays on version 1, latest is the newest (2)
        assert aliases == {"champion": "1"}
        for alias, version, run_id in (("champion", "1", runs["first"]),
                                       ("latest", "2", runs["second"])):  # fmt: skip
            found_version = rest_get(
                base, "registered-models/alias", name="serbias-svm-intended", alias=alias
            )["model_version"]
            assert (found_version["version"], found_version["run_id"]) == (version, run_id)
