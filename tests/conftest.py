"""Shared fixtures: the real CREMA-D metadata (skipped when absent) and tiny corpora."""

from __future__ import annotations

import os
from pathlib import Path

# Rich wraps at the terminal width; a wide virtual terminal keeps long tmp paths on one line.
os.environ["COLUMNS"] = "200"

import pytest

from tests.factory import write_corpus

# Tests pick their own MLflow store; a DVC stage's project root must not leak into them.
for _name in ("DVC_ROOT", "DVC_EXP_NAME", "DVC_EXP_BASELINE_REV", "DVC_STAGE"):
    os.environ.pop(_name, None)

REAL_CREMA_D = Path(__file__).resolve().parents[2] / "shared" / "crema-d"


@pytest.fixture(scope="session")
def crema_d_metadata() -> Path:
    """The real CREMA-D metadata files (no audio); the test is skipped when they are absent."""
    if not (REAL_CREMA_D / "VideoDemographics.csv").is_file():
        pytest.skip(f"real CREMA-D metadata not found at {REAL_CREMA_D}")
    return REAL_CREMA_D


@pytest.fixture()
def tiny_corpus(tmp_path: Path) -> Path:
    """Six actors x 2 sentences (22 clips each) of short tones, rated as intended."""
    return write_corpus(tmp_path / "corpus")


# Shared fixtures for tests that train models (a throw-away MLflow store, tiny feature stores)
# for the demo (a registry with a tiny trained model) and a loopback Ray head (executor tests).
pytest_plugins = ("tests.train_helpers", "tests.demo_helpers", "tests.ray_cluster")
