"""The predictions table in the reference study's format, and its CSV.

Columns: ``Filename, Anger, Disgust, Fear, Happy, Neutral, Sad`` (probabilities) plus
``Female, Non-Caucasian`` for models with demographic heads; one row per clip. CSVs are
written atomically with fixed 6-decimal floats, so equal predictions give equal bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.atomic import write_text
from serbias.models.base import EMOTION_OUTPUT

FILENAME = "Filename"
#: Predictions-table column of each demographic head.
HEAD_COLUMNS = {head: positive for head, (_, positive, _) in vocab.DEMOGRAPHIC_HEADS.items()}


def predictions_table(filenames: Sequence[str], outputs: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The reference study's predictions table from model outputs."""
    emotion = np.asarray(outputs[EMOTION_OUTPUT], dtype=np.float64)
    table = pd.DataFrame({FILENAME: [str(name) for name in filenames]})
    for k, name in enumerate(vocab.EMOTION_NAMES):
        table[name] = emotion[:, k]
    for head, column in HEAD_COLUMNS.items():
        if head in outputs:
            table[column] = np.asarray(outputs[head], dtype=np.float64).reshape(-1)
    return table


def predictions_csv(table: pd.DataFrame) -> str:
    """CSV text with fixed float formatting, so equal predictions give equal bytes."""
    return table.to_csv(index=False, float_format="%.6f", lineterminator="\n")


def write_predictions(table: pd.DataFrame, path: Path) -> None:
    """Write a predictions table atomically."""
    write_text(Path(path), predictions_csv(table))


def read_predictions_csv(text: str) -> pd.DataFrame:
    """A predictions table from CSV text (:func:`predictions_csv`'s inverse)."""
    import io

    return pd.read_csv(io.StringIO(text), dtype={FILENAME: str})
