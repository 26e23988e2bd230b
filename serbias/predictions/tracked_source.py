"""Predictions of serbias' own models: a registry version, a run, a local MLflow model
directory or a ``serbias train`` summary JSON (which names the exact version)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serbias.atomic import atomic_dir, write_text
from serbias.errors import SerbiasError
from serbias.models.io import load_model
from serbias.predictions.sidecar import Predictions, model_info, sidecar_json, sidecar_path
from serbias.predictions.table import predictions_table


def predict(
    model_uri: str,
    features_dir: Path,
    *,
    split_file: Path,
    split_name: str = "test",
    batch_size: int = 64,
) -> Predictions:
    """Predict every clip of split ``split_name`` of ``split_file`` (in split-file order)
    from a feature store, with the model at ``model_uri`` (or the version a ``serbias
    train`` summary JSON names). A cross-validation parent run (``runs:/<parent>``, or the
    summary of a ``train --cv``) gives its pooled out-of-fold predictions instead: every clip,
    each predicted by the fold that held its actor out."""
    from serbias import tracking
    from serbias.features.store import load_features

    if model_uri.endswith(".json"):
        from serbias.training.summary import read_summary, summary_model_uri

        summary = read_summary(Path(model_uri))
        if summary.get("kind") == "cv":
            return predict_out_of_fold(f"runs:/{summary.get('run_id')}")
        model_uri = summary_model_uri(Path(model_uri))
    if _is_cv_parent(model_uri):
        return predict_out_of_fold(model_uri)
    loaded = load_model(model_uri)
    kind = _feature_kind(loaded)
    features = load_features(features_dir, kind, _split_clips(split_file, split_name))
    check_feature_params(loaded.metadata, features.params, features_dir)
    registered_name, version = tracking.registry_version(model_uri)
    return Predictions(
        _predict_rows(loaded, features, np.arange(len(features)), features_dir, batch_size),
        model_uri,
        loaded.run_id or tracking.run_id_of(model_uri),
        loaded.metadata,
        registered_name,
        version,
    )


def _is_cv_parent(uri: str) -> bool:
    """Whether ``uri`` is ``runs:/<id>`` of a cross-validation parent run."""
    from serbias import tracking

    if not uri.startswith("runs:/") or uri.rstrip("/").count("/") > 1:
        return False
    return tracking.run_tags(uri[len("runs:/") :].strip("/")).get("serbias.kind") == "fold"


def predict_out_of_fold(parent_uri: str) -> Predictions:
    """The pooled out-of-fold predictions a ``train --cv`` parent run logged."""
    from serbias import tracking
    from serbias.predictions.table import read_predictions_csv
    from serbias.training.summary import OOF_PREDICTIONS

    run_id = parent_uri[len("runs:/") :].strip("/")
    tags = tracking.run_tags(run_id)
    if tags.get("serbias.kind") != "fold":
        raise SerbiasError(f"{parent_uri}: not a cross-validation run (train it with --cv)")
    table = read_predictions_csv(tracking.download_run_text(run_id, OOF_PREDICTIONS))
    metadata = {"serbias_model": tags.get("serbias.model"), "labels": tags.get("serbias.labels"),
                "out_of_fold": True}  # fmt: skip
    return Predictions(table, f"runs:/{run_id}", run_id, metadata)


def predict_bootstrap(
    parent_uri: str,
    out_dir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Each bootstrap replica's predictions of its out-of-bag clips, as its training logged them.

    ``parent_uri`` is the parent run (``runs:/<id>`` or the id) or the summary JSON of
    ``serbias train --study`` (one naming no replicas writes an empty directory). Writes
    ``replica_000.csv``, ... with their sidecars into ``out_dir`` (replaced as a whole,
    atomically).
    """
    from serbias import tracking
    from serbias.training.summary import OOB_PREDICTIONS, read_summary

    if parent_uri.endswith(".json"):
        summary = read_summary(Path(parent_uri))
        parent_uri = f"runs:/{summary['run_id']}" if summary.get("replicas") != 0 else ""
    replicas = tracking.replica_runs(parent_uri) if parent_uri else []
    written = []
    with atomic_dir(Path(out_dir), force=True) as tmp:
        for done, replica in enumerate(replicas, start=1):
            tags = tracking.run_tags(replica.run_id)
            metadata = {"serbias_model": tags.get("serbias.model"),
                        "labels": tags.get("serbias.labels")}  # fmt: skip
            name = f"replica_{replica.replica:03d}.csv"
            write_text(tmp / name, tracking.download_run_text(replica.run_id, OOB_PREDICTIONS))
            info = model_info(replica.model_uri, replica.run_id, metadata)
            write_text(sidecar_path(tmp / name), sidecar_json(info))
            written.append(Path(out_dir) / name)
            if progress is not None:
                progress(done, len(replicas))
    return written


def check_feature_params(
    metadata: Mapping[str, Any], feature_params: Mapping[str, Any], features_dir: Path
) -> None:
    """Refuse features extracted with other parameters than the model was trained on.

    ``feature_params`` are the stored features' (:attr:`FeatureSet.params`); nested
    sections compare key by key (``logmel.n_mels``).
    """
    from serbias.features.params import flat_params

    expected = flat_params(metadata.get("feature_params") or {})
    actual = flat_params(feature_params)
    differ = [
        key for key in sorted(set(expected) | set(actual)) if expected.get(key) != actual.get(key)
    ]
    if differ:
        details = ", ".join(
            f"{key}={actual.get(key)!r} (model: {expected.get(key)!r})" for key in differ[:4]
        )
        raise SerbiasError(
            f"{features_dir}: features were extracted with {details}; "
            "re-extract them with the model's parameters"
        )


def _split_clips(split_file: Path, split_name: str) -> list[str]:
    from serbias.corpus.split import load_split

    split = load_split(split_file)
    if split_name not in split:
        raise SerbiasError(
            f"{split_file}: no split {split_name!r} (it has {', '.join(split)}); check --split-name"
        )
    return split[split_name]


def _feature_kind(loaded: Any) -> str:
    from serbias.features import KINDS

    kind = loaded.metadata.get("feature_kind")
    if kind not in KINDS:
        raise SerbiasError(
            f"{loaded.uri}: model has no serbias metadata (was it logged by serbias train?)"
        )
    return kind


def check_compatible(
    metadata: Mapping[str, Any], *, kind: str, shape: Sequence[int], columns: Any, where: str
) -> None:
    """Refuse features whose per-clip shape or column names differ from those the model was
    trained on (as its metadata records them); used by ``predict`` and ``demo`` alike."""
    expected = tuple(metadata.get("input_shape") or ())
    if expected and expected != tuple(shape):
        actual, wanted = " x ".join(map(str, shape)), " x ".join(map(str, expected))
        raise SerbiasError(
            f"{where}: {kind} features are {actual} per clip, the model expects {wanted} "
            "(re-extract with its parameters)"
        )
    recorded = metadata.get("columns")
    if recorded is not None and columns is not None and list(recorded) != list(columns):
        raise SerbiasError(f"{where}: the {kind} feature columns differ from the model's")


def _predict_rows(
    loaded: Any, features: Any, rows: np.ndarray, features_dir: Path, batch_size: int
) -> pd.DataFrame:
    from serbias.models.io import predict_outputs
    from serbias.training.data import check_finite

    check_compatible(
        loaded.metadata, kind=features.kind, shape=features.X.shape[1:], columns=features.columns,
        where=str(features_dir),
    )  # fmt: skip
    X = features.X[rows]
    filenames = np.asarray(features.filenames)[rows]
    check_finite(X, filenames, features_dir)
    return predictions_table(filenames, predict_outputs(loaded.model, X, batch_size=batch_size))
