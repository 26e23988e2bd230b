"""Fetch a logged model's files: from the registry, a run, or a local MLflow model directory.

Only MLflow's layout is known here (``MLmodel``, the flavour's data file); turning the file
into a model is :mod:`serbias.models.io`'s job.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serbias.errors import SerbiasError, first_line
from serbias.tracking.registry import MODEL_ARTIFACT
from serbias.tracking.store import check_store_exists, mlflow_module, tracking_uri


@dataclass(frozen=True)
class ModelFiles:
    """A downloaded model: its saved file, MLflow flavour, serbias metadata and run."""

    path: Path
    flavor: str
    metadata: dict[str, Any]
    uri: str
    run_id: str | None


@contextmanager
def downloaded_model(uri: str) -> Iterator[ModelFiles]:
    """The files of the model at ``uri`` (``models:/name@alias``, ``models:/name/3``,
    ``runs:/<id>/model`` or a local MLflow model directory), valid inside the block.

    Only Keras (``.keras``) and skops-serialised scikit-learn models are accepted: pickled
    models are refused, since loading them can run arbitrary code.
    """
    with tempfile.TemporaryDirectory(prefix="serbias-model-") as tmp:
        local = _local_model_dir(uri, Path(tmp))
        yield _model_files(local, uri)


def _local_model_dir(uri: str, tmp: Path) -> Path:
    local = Path(uri)
    if local.exists():
        if not (local / "MLmodel").is_file():
            raise SerbiasError(f"{uri}: not an MLflow model directory (no MLmodel file)")
        return local
    if not re.match(r"^[a-z][a-z0-9+.-]*:", uri):
        raise SerbiasError(
            f"{uri}: no such directory, and not a model URI "
            "(expected models:/<name>@<alias>, models:/<name>/<version> or runs:/<run>/model)"
        )
    check_store_exists(uri)
    mlflow = mlflow_module()
    from mlflow.exceptions import MlflowException

    try:
        path = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp))
    except (MlflowException, OSError) as exc:
        raise SerbiasError(
            f"{uri}: cannot load model from {tracking_uri()} ({first_line(exc)})"
        ) from None
    local = Path(path)
    if not (local / "MLmodel").is_file() and (local / MODEL_ARTIFACT / "MLmodel").is_file():
        local = local / MODEL_ARTIFACT
    if not (local / "MLmodel").is_file():
        raise SerbiasError(f"{uri}: not an MLflow model (no MLmodel file)")
    return local


def _model_files(local: Path, uri: str) -> ModelFiles:
    from mlflow.models import Model

    try:
        spec = Model.load(str(local / "MLmodel"))
    except Exception as exc:  # a broken MLmodel file raises several types
        raise SerbiasError(f"{uri}: unreadable MLmodel file ({first_line(exc)})") from None
    flavors, metadata = spec.flavors or {}, dict(spec.metadata or {})
    if "keras" in flavors:
        data = flavors["keras"].get("data", "data")
        return ModelFiles(local / data / "model.keras", "keras", metadata, uri, spec.run_id)
    if "sklearn" in flavors:
        conf = flavors["sklearn"]
        if conf.get("serialization_format") != "skops":
            raise SerbiasError(
                f"{uri}: scikit-learn model saved as {conf.get('serialization_format')!r}; "
                "only skops models are loaded (pickle can run arbitrary code)"
            )
        return ModelFiles(local / conf["pickled_model"], "sklearn", metadata, uri, spec.run_id)
    raise SerbiasError(f"{uri}: not a serbias model (flavours: {', '.join(flavors) or 'none'})")
