"""A predictions CSV with its sidecar: which model (URI, run, registry version) made it.

``test.csv`` -> ``test.model.json``; ``serbias audit`` reads the sidecar to link its run to
the model's run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from serbias.atomic import write_text
from serbias.predictions.table import write_predictions

SIDECAR_SUFFIX = ".model.json"


@dataclass(frozen=True, eq=False)
class Predictions:
    """A predictions table and where it came from."""

    table: pd.DataFrame
    model_uri: str
    run_id: str | None
    metadata: dict[str, Any]
    registered_name: str | None = None
    version: str | None = None

    def model_info(self) -> dict[str, Any]:
        """The sidecar's content: which model (URI, run, registry version) predicted."""
        return model_info(
            self.model_uri, self.run_id, self.metadata, self.registered_name, self.version
        )


def model_info(
    model_uri: str,
    run_id: str | None,
    metadata: Mapping[str, Any],
    registered_name: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """What a predictions sidecar records about the model that made them."""
    return {
        "model_uri": model_uri,
        "run_id": run_id,
        "registered_name": registered_name,
        "version": version,
        "model": metadata.get("serbias_model"),
        "labels": metadata.get("labels"),
        **({"out_of_fold": True} if metadata.get("out_of_fold") else {}),
    }


def sidecar_path(csv_path: Path) -> Path:
    """``<dir>/<stem>.model.json`` next to a predictions CSV."""
    csv_path = Path(csv_path)
    return csv_path.with_name(csv_path.stem + SIDECAR_SUFFIX)


def save_predictions(result: Predictions, path: Path) -> Path:
    """Write the predictions CSV and its model sidecar (both atomically); returns the CSV."""
    path = Path(path)
    write_predictions(result.table, path)
    write_text(sidecar_path(path), sidecar_json(result.model_info()))
    return path


def sidecar_json(info: Mapping[str, Any]) -> str:
    return json.dumps(dict(info), indent=2, sort_keys=True) + "\n"
