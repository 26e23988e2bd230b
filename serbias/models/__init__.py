"""Model families (one module each), their registry, and one way to get probabilities out.

Importing this package configures TensorFlow's CPU runtime before Keras loads it (unless
the user already set these): the BFC allocator (reusing freed buffers instead of fresh
pages per tensor trains the CNN about 2x faster on CPU) and quieter C++ logs.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Output names: every model has ``emotion`` (6 sigmoids); multitask adds two demographic heads.
EMOTION_OUTPUT = "emotion"
DEMOGRAPHIC_OUTPUTS = ("female", "non_caucasian")


@dataclass(frozen=True)
class ModelFamily:
    """A selectable model: which features it reads and where its builder lives."""

    name: str
    feature_kind: str
    module: str
    builder_name: str
    outputs: tuple[str, ...] = (EMOTION_OUTPUT,)

    @property
    def is_keras(self) -> bool:
        return self.feature_kind == "logmel"

    def builder(self) -> Callable[..., Any]:
        """The build function (imported on first use: Keras loads only when needed)."""
        return getattr(importlib.import_module(self.module), self.builder_name)


#: name -> family; the registry ``serbias train --model`` chooses from.
MODELS: dict[str, ModelFamily] = {
    family.name: family
    for family in (
        ModelFamily("svm", "svm", "serbias.models.svm", "build_svm"),
        ModelFamily("cnn_lstm", "logmel", "serbias.models.cnn_lstm", "build_cnn_lstm"),
        ModelFamily(
            "cnn_lstm_attention",
            "logmel",
            "serbias.models.attention",
            "build_cnn_lstm_attention",
        ),
        ModelFamily(
            "multitask",
            "logmel",
            "serbias.models.multitask",
            "build_multitask",
            outputs=(EMOTION_OUTPUT, *DEMOGRAPHIC_OUTPUTS),
        ),
    )
}


def keras_module() -> Any:
    """Keras, imported after this package configured TensorFlow, with serbias layers registered
    (so saved models load in safe mode)."""
    import keras

    import serbias.models.attention
    import serbias.models.cnn_lstm  # noqa: F401

    return keras


def predict_outputs(model: Any, X: np.ndarray, *, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Probabilities per output: ``emotion`` (clips x 6) and, for multitask, (clips,) heads."""
    if hasattr(model, "predict_proba"):
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
