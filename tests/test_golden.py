"""Golden test: the pipeline's numbers on a tiny seeded corpus never change by accident.

synth -> split -> extract (both kinds) -> train (SVM) -> predict -> audit, run through the
CLI with built-in defaults; every clip's feature rows (SHA-256 of their float32 bytes),
the SVM's predictions CSV and the audit's gaps.csv must equal the values recorded from
main before the redesign (``SERBIAS_RECORD_GOLDEN=1`` re-records them, on purpose only).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).parent / "golden"
RECORD = os.environ.get("SERBIAS_RECORD_GOLDEN") == "1"


def _serbias(*args: str, cwd: Path, env: dict[str, str]) -> None:
    command = [str(Path(sys.executable).parent / "serbias"), *args]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"serbias {' '.join(args)} failed:\n{done.stderr}"


def _feature_hashes(features: Path) -> dict[str, dict[str, str]]:
    """kind -> clip stem -> SHA-256 of that clip's feature row(s), read straight from the
    store's ``.npz`` files (so the check does not depend on the store's own loader)."""
    hashes: dict[str, dict[str, str]] = {}
    for kind in ("logmel", "svm"):
        hashes[kind] = {}
        for path in sorted(features.glob(f"*{kind}.npz")):
            with np.load(path, allow_pickle=False) as npz:
                for stem, row in zip(npz["filenames"], npz["X"], strict=True):
                    digest = hashlib.sha256(np.ascontiguousarray(row, np.float32).tobytes())
                    hashes[kind][str(stem)] = digest.hexdigest()
    return hashes


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("golden")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERBIAS_", "DVC_"))}
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]), env.get("PYTHONPATH", "")])
    run = lambda *args: _serbias(*args, cwd=root, env=env)  # noqa: E731
    run("synth", "data", "--actors", "16", "--sentences", "2", "--seed", "7", "--jobs", "1")
    run("split", "--data", "data", "--out", "split.json", "--train", "0.5", "--val", "0.125",
        "--test", "0.375", "--seed", "7")  # fmt: skip
    run("extract", "--data", "data", "--out", "features", "--jobs", "2")
    run("train", "--model", "svm", "--labels", "intended", "--features", "features",
        "--data", "data", "--split", "split.json", "--out", "train", "--seed", "7")  # fmt: skip
    run("predict", "--model", "train/svm-intended.json", "--features", "features",
        "--split", "split.json", "--out", "predictions/svm-intended.csv")  # fmt: skip
    run("audit", "predictions", "--data", "data", "--split", "split.json", "--out", "audit",
        "--target", "both", "--n-boot", "200", "--n-perm", "200", "--seed", "7",
        # the method and rules the golden gaps were recorded with (before issue 13)
        "--interval", "percentile", "--min-actors", "3", "--reference", "sex=Female",
        "--reference", "race=Caucasian", "--reference", "race_binary=Caucasian",
        "--reference", "ethnicity=Not Hispanic", "--reference", "age_band=20-29",
        "--no-human-baseline",  # recorded without the listeners (now audited by default)
        "--no-track")  # fmt: skip
    return root


def test_features_are_unchanged(pipeline: Path) -> None:
    hashes = _feature_hashes(pipeline / "features")
    golden = GOLDEN / "feature_hashes.json"
    if RECORD:
        golden.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert hashes.keys() == expected.keys()
    for kind in expected:
        changed = [
            stem for stem in expected[kind] if hashes[kind].get(stem) != expected[kind][stem]
        ]
        assert not changed, f"{kind}: {len(changed)} clips changed, e.g. {changed[:3]}"
        assert set(hashes[kind]) == set(expected[kind])


def _cells(text: str, columns: list[str]) -> list[list[str]]:
    """The CSV's cells (as written, character for character) of ``columns``, row by row."""
    rows = list(csv.reader(io.StringIO(text)))
    missing = [c for c in columns if c not in rows[0]]
    assert not missing, f"columns gone: {missing}"
    positions = [rows[0].index(c) for c in columns]
    return [[row[p] for p in positions] for row in rows]


@pytest.mark.parametrize(
    ("produced", "golden"),
    [("predictions/svm-intended.csv", "svm-intended.csv"), ("audit/gaps.csv", "gaps.csv")],
)
def test_outputs_are_unchanged(pipeline: Path, produced: str, golden: str) -> None:
    """Every recorded column is unchanged character for character; columns added since (e.g.
    ``min_detectable_gap``) are not part of the record."""
    text = (pipeline / produced).read_text(encoding="utf-8")
    if RECORD:
        (GOLDEN / golden).write_text(text, encoding="utf-8")
    expected = (GOLDEN / golden).read_text(encoding="utf-8")
    columns = next(csv.reader(io.StringIO(expected)))
    assert _cells(text, columns) == _cells(expected, columns)
