"""Validation metrics of a fitted model: macro-F1, per-emotion scores, report, confusion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.models.base import EMOTION_OUTPUT


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Validation metrics at a decision threshold (multi-label: each emotion on its own)."""

    macro_f1: float
    per_emotion: pd.DataFrame
    report: dict[str, Any]
    report_text: str
    confusion: np.ndarray
    heads: dict[str, float] = field(default_factory=dict)

    def metrics(self, prefix: str = "val_") -> dict[str, float]:
        """Flat metrics for tracking: macro-F1, per-emotion F1/precision/recall, head accuracy."""
        metrics = {f"{prefix}macro_f1": self.macro_f1}
        for emotion, row in self.per_emotion.iterrows():
            for column in ("f1", "precision", "recall"):
                metrics[f"{prefix}{column}_{emotion}"] = float(row[column])
        metrics.update({f"{prefix}{name}_accuracy": value for name, value in self.heads.items()})
        return metrics


def macro_f1(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> float:
    """Macro-F1 over the six emotions, an emotion predicted when its probability >= threshold."""
    from sklearn.metrics import f1_score

    y_pred = (y_prob >= threshold).astype(int)
    labels = list(range(y_true.shape[1]))
    return float(
        f1_score(y_true.astype(int), y_pred, average="macro", labels=labels, zero_division=0)
    )


def evaluate(
    targets: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray], threshold: float = 0.5
) -> Evaluation:
    """Per-emotion precision/recall/F1, macro-F1, report and confusion matrix.

    The confusion matrix counts each labelled emotion of a clip (a tie counts once per
    tied emotion) against the emotion the model scores highest.
    """
    from sklearn.metrics import (
        classification_report,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    y_true = targets[EMOTION_OUTPUT].astype(int)
    y_prob = outputs[EMOTION_OUTPUT]
    y_pred = (y_prob >= threshold).astype(int)
    labels = list(range(len(vocab.EMOTIONS)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    per_emotion = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=pd.Index(vocab.EMOTION_NAMES, name="emotion"),
    )
    options = dict(labels=labels, target_names=list(vocab.EMOTION_NAMES), zero_division=0)
    report = classification_report(y_true, y_pred, output_dict=True, **options)
    report_text = classification_report(y_true, y_pred, digits=4, **options)
    rows, true_class = np.nonzero(y_true)
    confusion = confusion_matrix(true_class, y_prob.argmax(axis=1)[rows], labels=labels)
    heads = {
        name: float(np.mean((outputs[name].reshape(-1) >= threshold) == targets[name].reshape(-1)))
        for name in outputs
        if name != EMOTION_OUTPUT and name in targets
    }
    return Evaluation(
        macro_f1=float(np.mean(f1)),
        per_emotion=per_emotion,
        report=report,
        report_text=report_text,
        confusion=confusion,
        heads=heads,
    )


def confusion_figure(confusion: np.ndarray, title: str) -> Any:
    """A matplotlib Figure of the confusion matrix (Agg canvas, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 5.0), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    image = ax.imshow(confusion, cmap="Blues")
    ticks = range(len(vocab.EMOTION_NAMES))
    ax.set_xticks(ticks, vocab.EMOTION_NAMES, rotation=45, ha="right")
    ax.set_yticks(ticks, vocab.EMOTION_NAMES)
    ax.set_xlabel("highest-scoring emotion")
    ax.set_ylabel("label")
    ax.set_title(title)
    high = confusion.max() / 2 if confusion.size else 0
    for (i, j), count in np.ndenumerate(confusion):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > high else "black")  # fmt: skip
    figure.colorbar(image, ax=ax)
    figure.tight_layout()
    return figure
