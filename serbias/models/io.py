"""The one way to save, load and run a fitted model: ``.keras`` (safe mode) or ``.skops``.

Never pickle: Keras models load with ``safe_mode=True`` (serbias layers registered first),
scikit-learn models with skops and the families' allow-list of classes.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from serbias.errors import SerbiasError, first_line
from serbias.models.base import EMOTION_OUTPUT

SUFFIXES = {"keras": ".keras", "sklearn": ".skops"}


def keras_module() -> Any:
    """Keras, imported after ``serbias.models`` configured TensorFlow, with serbias layers
    registered (so saved models load in safe mode)."""
    import keras

    import serbias.models.attention
    import serbias.models.cnn_lstm
    import serbias.models.losses  # noqa: F401  (a model saved compiled names its loss)

    return keras


def backend_of(model: Any) -> str:
    """``sklearn`` for estimators with ``predict_proba``, else ``keras``."""
    return "sklearn" if hasattr(model, "predict_proba") else "keras"


def save_model_file(model: Any, stem: Path) -> Path:
    """Save a fitted model as ``stem.keras`` or ``stem.skops``; returns the path."""
    backend = backend_of(model)
    path = Path(stem).with_suffix(SUFFIXES[backend])
    if backend == "sklearn":
        import skops.io

        skops.io.dump(model, path)
    else:
        model.save(path)
    return path


def load_model_file(path: Path) -> Any:
    """Load a model saved by :func:`save_model_file`."""
    path = Path(path)
    if path.suffix == SUFFIXES["sklearn"]:
        import skops.io

        from serbias.models.families import trusted_types

        return skops.io.load(path, trusted=list(trusted_types()))
    return keras_module().saving.load_model(path, safe_mode=True)


def model_to_bytes(model: Any) -> tuple[bytes, str]:
    """A fitted model as the bytes of its saved file and that file's suffix (for sending a
    model between processes or machines without a shared disk)."""
    with tempfile.TemporaryDirectory(prefix="serbias-model-") as tmp:
        path = save_model_file(model, Path(tmp) / "model")
        return path.read_bytes(), path.suffix


def model_from_bytes(content: bytes, suffix: str) -> Any:
    """The model :func:`model_to_bytes` serialised."""
    with tempfile.TemporaryDirectory(prefix="serbias-model-") as tmp:
        path = Path(tmp) / f"model{suffix}"
        path.write_bytes(content)
        return load_model_file(path)


def predict_outputs(model: Any, X: np.ndarray, *, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Probabilities per output: ``emotion`` (clips x 6) and, for multitask, (clips,) heads."""
    if backend_of(model) == "sklearn":
        with warnings.catch_warnings():
            # sklearn 1.9 deprecates SVC(probability=True), the reference's Platt scaling
            warnings.filterwarnings("ignore", message=".*probability.*", category=FutureWarning)
            return {EMOTION_OUTPUT: np.asarray(model.predict_proba(X), dtype=np.float64)}
    # predict_on_batch runs the compiled predict step without building a tf.data pipeline
    batches = [
        model.predict_on_batch(np.asarray(X[start : start + batch_size], dtype=np.float32))
        for start in range(0, len(X), batch_size)
    ]
    if not batches:
        return {}
    if not isinstance(batches[0], dict):
        batches = [{EMOTION_OUTPUT: batch} for batch in batches]
    outputs = {}
    for name in batches[0]:
        values = np.concatenate([np.asarray(b[name], dtype=np.float64) for b in batches])
        outputs[name] = values if name == EMOTION_OUTPUT else values.reshape(len(X))
    return outputs


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded from a URI, with the metadata serbias logged next to it."""

    model: Any
    flavor: str
    metadata: dict[str, Any]
    uri: str
    run_id: str | None


def load_model(uri: str) -> LoadedModel:
    """Load a model serbias logged, from a registry URI (``models:/name@alias``,
    ``models:/name/3``), a run URI (``runs:/<id>/model``) or a local MLflow model directory.

    Keras models load in safe mode, scikit-learn models with skops and the families'
    allow-list (not the one stored next to the model).
    """
    from serbias.tracking.load import downloaded_model

    with downloaded_model(uri) as files:
        try:
            model = load_model_file(files.path)
        except Exception as exc:  # Keras and skops raise several types for broken files
            what = "Keras model" if files.flavor == "keras" else "scikit-learn model"
            raise SerbiasError(f"{uri}: cannot load {what} ({first_line(exc)})") from None
        return LoadedModel(model, files.flavor, files.metadata, uri, files.run_id)
