"""dvc.yaml is correct under change: the registries are its matrices, each stage lists the code
it runs, and a code, family or profile change makes exactly the right stages out of date."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from serbias.models import MODELS
from serbias.training.params import LABEL_KINDS

ROOT = Path(__file__).resolve().parents[1]
DVC = str(Path(sys.executable).parent / "dvc")


def _spec() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))


def test_train_and_predict_matrices_are_the_registries():
    stages = _spec()["stages"]
    for name in ("train", "train-bootstrap", "predict", "predict-bootstrap"):
        assert stages[name]["matrix"] == {"model": list(MODELS), "labels": list(LABEL_KINDS)}


def test_every_stage_runs_its_own_subcommand_and_lists_existing_code():
    for name, stage in _spec()["stages"].items():
        # a variant of a stage (train-bootstrap) runs the same subcommand with options
        assert stage["cmd"].split()[:2] == ["serbias", name.split("-")[0]]
        code = [dep for dep in stage["deps"] if dep.startswith("serbias/")]
        assert code, f"{name} lists no code"
        assert all((ROOT / dep).exists() for dep in code), code


def _run(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture()
def locked_project(tmp_path: Path) -> Path:
    """A git + DVC project with this repo's dvc.yaml, params.yaml and code, stand-in data and
    outputs, and a dvc.lock recording them (``dvc commit``: nothing is run)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "serbias", project / "serbias",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (project / "data").mkdir()
    (project / "data" / "VideoDemographics.csv").write_text("stand-in\n")
    outputs = project / "outputs"
    for directory in ("features", "audit", "train", "predictions"):
        (outputs / directory).mkdir(parents=True)
    (outputs / "features" / "manifest.json").write_text("{}\n")
    (outputs / "audit" / "metrics.json").write_text("{}\n")
    for name in ("split.json", "split_summary.csv"):
        (outputs / name).write_text("{}\n")
    for model in MODELS:
        for labels in LABEL_KINDS:
            (outputs / "train" / f"{model}-{labels}.json").write_text("{}\n")
            (outputs / "predictions" / f"{model}-{labels}.csv").write_text("Filename\n")
            (outputs / "train" / f"{model}-{labels}-bootstrap.json").write_text("{}\n")
            (outputs / "predictions" / f"{model}-{labels}-bootstrap").mkdir()
    _run("git", "init", "-q", cwd=project)
    _run(DVC, "init", "-q", cwd=project)
    _run(DVC, "commit", "-f", "-q", cwd=project)
    assert json.loads(_run(DVC, "status", "--json", cwd=project)) == {}
    return project


def _out_of_date(project: Path) -> set[str]:
    """Changed stages and everything downstream of them in ``dvc dag``."""
    edges = re.findall(r'^"([^"]+)" -> "([^"]+)";$', _run(DVC, "dag", "--dot", cwd=project), re.M)
    stale = _changed(project)
    while True:
        more = {after for before, after in edges if before in stale} - stale
        if not more:
            return stale
        stale |= more


def _changed(project: Path) -> set[str]:
    return set(json.loads(_run(DVC, "status", "--json", cwd=project)))


def _set_param(project: Path, path: str, value: object) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    *parents, key = path.split(".")
    section = params
    for part in parents:
        section = section[part]
    section[key] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_editing_feature_code_makes_extract_and_everything_after_it_stale(locked_project):
    with (locked_project / "serbias" / "features" / "logmel.py").open("a") as code:
        code.write("\n# changed\n")
    assert _changed(locked_project) == {"extract"}
    stale = _out_of_date(locked_project)
    assert {"extract", "audit"} <= stale and "split" not in stale
    assert {f"train@{m}-{lab}" for m in MODELS for lab in LABEL_KINDS} <= stale


def test_an_svm_hyperparameter_retrains_only_the_svms(locked_project):
    _set_param(locked_project, "train.models.svm.C", 3.0)
    assert _changed(locked_project) == {
        f"{stage}@svm-{labels}" for stage in ("train", "train-bootstrap") for labels in LABEL_KINDS
    }
    stale = _out_of_date(locked_project)
    others = ("train@cnn", "train@multitask", "predict@cnn", "train-bootstrap@cnn")
    assert not any(s.startswith(others) for s in stale)
    assert "audit" in stale


def test_choosing_the_paper_profile_changes_the_stages_it_touches(locked_project):
    _set_param(locked_project, "base.profile", "paper")
    changed = _changed(locked_project)
    assert {"split", "extract"} <= changed
    assert {f"{stage}@{m}-{lab}" for stage in ("train", "train-bootstrap") for m in MODELS
            for lab in LABEL_KINDS} <= changed  # fmt: skip
    assert not any(stage.startswith("predict") for stage in changed) and "audit" not in changed
