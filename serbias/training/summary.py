"""What ``serbias train`` leaves behind for later stages: the summary JSON and the names of
the artifacts its runs log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from serbias.errors import SerbiasError

#: Artifacts of a replica's child run: its out-of-bag clip names and its predictions for them.
OOB_CLIPS = "oob_clips.json"
OOB_PREDICTIONS = "oob_predictions.csv"
#: Artifact of a cross-validation parent run: every fold's held-out predictions, pooled.
OOF_PREDICTIONS = "oof_predictions.csv"


def summary_model_uri(summary_file: Path) -> str:
    """The exact registry version (``models:/<name>/<version>``) a ``train_summary`` file
    names, so a pipeline predicts with the model its own train stage made, even while
    other experiments register newer versions."""
    summary = read_summary(summary_file)
    name, version = summary.get("registered_model"), summary.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        raise SerbiasError(
            f"{summary_file}: not a `serbias train` summary "
            "(expected keys registered_model and version)"
        )
    return f"models:/{name}/{version}"


def read_summary(summary_file: Path) -> dict[str, Any]:
    """A ``serbias train`` summary JSON as a dict."""
    try:
        summary = json.loads(Path(summary_file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SerbiasError(f"{summary_file}: cannot read a training summary ({exc})") from None
    if not isinstance(summary, dict):
        raise SerbiasError(f"{summary_file}: not a `serbias train` summary (expected a mapping)")
    return summary
