"""Training: data, fitting per backend, evaluation, many trainings on an executor, tracking.

Rooms: ``params`` (the ``train`` section), ``data`` (features + targets + split rows),
``fit`` (one model, Keras or scikit-learn), ``callbacks`` (best epoch), ``evaluation``
(validation metrics), ``replicas`` (task plans and the work function), ``executors``
(where tasks run), ``run`` (MLflow orchestration), ``summary`` (what later stages read).
Importing this package is cheap; its parts load on first use.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "LABEL_KINDS": "params", "TrainParams": "params",
    "TrainingData": "data", "check_finite": "data", "load_training_data": "data",
    "Evaluation": "evaluation", "evaluate": "evaluation", "macro_f1": "evaluation",
    "FitResult": "fit", "fit_model": "fit",
    "bootstrap_indices": "replicas", "bootstrap_tasks": "replicas", "train_task": "replicas",
    "Progress": "run", "TrainResult": "run", "default_jobs": "run", "train": "run",
    "train_summary": "run",
    "OOB_CLIPS": "summary", "OOB_PREDICTIONS": "summary", "summary_model_uri": "summary",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"serbias.training.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'serbias.training' has no attribute {name!r}")
