"""Predictions: one table type (CSV + sidecar) and the sources that make them.

Sources: serbias' own models (registry, run, local MLflow directory, train summary JSON).
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "FILENAME": "table", "HEAD_COLUMNS": "table", "predictions_csv": "table",
    "predictions_table": "table", "write_predictions": "table",
    "Predictions": "sidecar", "SIDECAR_SUFFIX": "sidecar", "model_info": "sidecar",
    "save_predictions": "sidecar", "sidecar_path": "sidecar",
    "check_feature_params": "tracked_source", "predict": "tracked_source",
    "predict_bootstrap": "tracked_source",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"serbias.predictions.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'serbias.predictions' has no attribute {name!r}")
