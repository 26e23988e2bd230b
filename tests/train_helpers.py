"""Tiny, learnable inputs for the training tests: a corpus, a feature store, an MLflow store.

The feature store follows ``serbias extract``'s format exactly (one npz per kind holding
every clip, manifest.json) but holds synthetic features in which each emotion lights up
its own band of mel rows (log-mel) or its own column (SVM), so a model learns in a few
epochs. Trainings and predictions pick their clips from a split file, as in the pipeline.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from serbias import vocab
from serbias.atomic import write_json
from serbias.config import deep_merge
from serbias.features.store import FORMAT, FORMAT_VERSION, MANIFEST, npz_writer, store_file
from serbias.models.families import AttentionParams, CnnLstmParams, MultitaskParams, SvmParams
from serbias.training.params import FamilyHyperparameters, TrainParams
from tests.factory import DEMOGRAPHICS, clip_names, write_corpus

#: Speaker-independent split of the factory's six actors.
SPLIT_ACTORS = {"train": (1001, 1002, 1003, 1004), "val": (1005,), "test": (1006,)}
N_MELS, FRAMES, SVM_DIM = 32, 40, 12
FEATURE_PARAMS = {
    "sample_rate": 8000,
    "duration": 1.25,
    "logmel": {"n_mels": N_MELS, "hop_length": 256},
    "svm": {"n_mfcc": 12},
}


def tiny_corpus_and_split(
    root: Path, *, rated: Iterable[str] | None = None, sentences: tuple[str, ...] = ("DFA",)
) -> tuple[Path, dict[str, list[str]]]:
    """The factory corpus (6 actors, short tones) and an actor-disjoint split of it."""
    names = clip_names((d[0] for d in DEMOGRAPHICS), sentences=sentences)
    write_corpus(root, names, rated=rated, seconds=0.05)
    split = {
        part: sorted(n for n in names if int(n[:4]) in actors)
        for part, actors in SPLIT_ACTORS.items()
    }
    return root, split


def learnable_features(
    names: list[str], kind: str, *, seed: int, n_mels: int = N_MELS, frames: int = FRAMES
) -> np.ndarray:
    """Noise plus an emotion-specific pattern, float32."""
    rng = np.random.default_rng(seed)
    emotion = np.array([vocab.EMOTIONS.index(name.split("_")[2]) for name in names], dtype=int)
    if kind == "svm":
        X = rng.standard_normal((len(names), SVM_DIM))
        X[np.arange(len(names)), emotion] += 3.0
        return X.astype(np.float32)
    X = rng.standard_normal((len(names), n_mels, frames))
    band = max(1, n_mels // len(vocab.EMOTIONS))
    for row, k in enumerate(emotion):
        X[row, k * band : (k + 1) * band, :] += 2.0
    return X.astype(np.float32)


def write_store(
    features_dir: Path,
    split: dict[str, list[str]],
    *,
    seed: int = 0,
    n_mels: int = N_MELS,
    frames: int = FRAMES,
    params: dict | None = None,
    nan_clips: Iterable[str] = (),
) -> Path:
    """Write a feature store in ``serbias extract``'s format (both kinds) holding every clip
    of ``split`` once; a clip's values come from the first split that lists it (each split
    draws its noise with its own seed)."""
    features_dir.mkdir(parents=True, exist_ok=True)
    nan_clips = set(nan_clips)
    names: list[str] = []
    rows: dict[str, list[np.ndarray]] = {"logmel": [], "svm": []}
    for offset, part in enumerate(split.values()):
        new = [name for name in dict.fromkeys(part) if name not in names]
        for kind in rows:
            X = learnable_features(new, kind, seed=seed + offset, n_mels=n_mels, frames=frames)
            rows[kind].extend(X)
        names.extend(new)
    files = {}
    for kind, kind_rows in rows.items():
        shape = (n_mels, frames) if kind == "logmel" else (SVM_DIM,)
        X = np.stack(kind_rows) if kind_rows else np.zeros((0, *shape), np.float32)
        for row, name in enumerate(names):
            if name in nan_clips:
                X[row].flat[0] = np.nan
        with npz_writer(features_dir / store_file(kind)) as npz:
            npz.add("X", X)
            npz.add("filenames", np.array(names, dtype=np.str_))
            if kind == "svm":
                npz.add("columns", np.array([f"f{i}" for i in range(SVM_DIM)], dtype=np.str_))
        files[store_file(kind)] = {"kind": kind, "shape": list(X.shape), "dtype": "float32"}
    feature_params = deep_merge(FEATURE_PARAMS, {"logmel": {"n_mels": n_mels}})
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "corpus_fingerprint": "c" * 64,
        "params": deep_merge(feature_params, params or {}),
        "kinds": ["logmel", "svm"],
        "skip_bad": False,
        "skipped": [],
        "clips": len(names),
        "files": files,
        "versions": {},
    }
    write_json(features_dir / MANIFEST, manifest)
    return features_dir


def write_split_file(path: Path, split: dict[str, list[str]]) -> Path:
    """A split JSON as `serbias split` writes it."""
    path.write_text(json.dumps({**split, "mode": "speaker", "seed": 0}), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def template_tracking_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow sqlite database, created once (its migrations take seconds)."""
    from serbias import tracking

    db = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    tracking.check_tracking(f"sqlite:///{db}")
    return db


@pytest.fixture()
def tracking_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_tracking_db: Path
) -> Path:
    """A fresh MLflow store for one test (MLFLOW_TRACKING_URI points at it)."""
    db = tmp_path / "mlflow.db"
    shutil.copy(template_tracking_db, db)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    return db


class TinyStore(NamedTuple):
    """A 36-clip corpus, its feature store, its split and the split file."""

    corpus: Path
    features: Path
    split: dict[str, list[str]]
    split_file: Path


@pytest.fixture()
def tiny_store(tmp_path: Path) -> TinyStore:
    """:class:`TinyStore` for a 36-clip corpus."""
    corpus, split = tiny_corpus_and_split(tmp_path / "corpus")
    features = write_store(tmp_path / "features", split)
    return TinyStore(corpus, features, split, write_split_file(tmp_path / "split.json", split))


def tiny_params(model: str, **changes: object) -> TrainParams:
    """TrainParams for fast tests: 2 epochs, small batches, narrow networks."""
    small = dict(channels=(8, 8, 16, 16), lstm_units=8, dropout=0.1, spatial_dropout=0.1)
    attention = dict(small, attention_heads=2, attention_units=8)
    models = FamilyHyperparameters(
        {
            "svm": SvmParams(pca=8),
            "cnn_lstm": CnnLstmParams(**small),
            "cnn_lstm_attention": AttentionParams(**attention),
            "multitask": MultitaskParams(**attention),
        }
    )
    values = dict(model=model, epochs=2, patience=0, batch_size=8, seed=0, models=models)
    return TrainParams(**{**values, **changes})
