"""Model families (one module each), their registry, and the one way to save, load and run them.

Importing this package is cheap (no Keras, no scikit-learn) and configures TensorFlow's CPU
runtime before Keras loads it (unless the user already set these): the BFC allocator (reusing
freed buffers instead of fresh pages per tensor trains the CNN about 2x faster on CPU).
TensorFlow's start-up lines are kept off the terminal by :mod:`serbias.quiet`.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

from serbias.models.base import DEMOGRAPHIC_OUTPUTS, EMOTION_OUTPUT, ModelFamily
from serbias.models.families import MODELS, family, register

_IO = ("LoadedModel", "keras_module", "load_model", "load_model_file", "model_from_bytes",
       "model_to_bytes", "predict_outputs", "save_model_file")  # fmt: skip

__all__ = ["DEMOGRAPHIC_OUTPUTS", "EMOTION_OUTPUT", "MODELS", "ModelFamily", "family",
           "register", *_IO]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _IO:
        from serbias.models import io

        return getattr(io, name)
    raise AttributeError(f"module 'serbias.models' has no attribute {name!r}")
