"""Keras callback that keeps the epoch with the best validation macro-F1 (imports Keras)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from serbias.models.base import EMOTION_OUTPUT
from serbias.models.io import predict_outputs
from serbias.training.evaluation import macro_f1

EpochCallback = Callable[[int, dict[str, float]], None]


class BestEpoch(keras.callbacks.Callback):
    """Scores validation macro-F1 after each epoch, reports it, stops after ``patience``
    epochs without improvement (0: never) and restores the best weights at the end."""

    def __init__(
        self,
        X_val: np.ndarray,
        y_val: np.ndarray,
        *,
        threshold: float,
        patience: int,
        batch_size: int,
        on_epoch: EpochCallback | None = None,
    ) -> None:
        super().__init__()
        self.X_val, self.y_val = X_val, y_val
        self.threshold, self.patience, self.batch_size = threshold, patience, batch_size
        self.on_epoch = on_epoch
        self.history: list[dict[str, float]] = []
        self.best_epoch = -1
        self.best_score = -math.inf
        self.best_weights: list[np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        outputs = predict_outputs(self.model, self.X_val, batch_size=self.batch_size)
        score = macro_f1(self.y_val, outputs[EMOTION_OUTPUT], self.threshold)
        record = {"train_loss": float((logs or {}).get("loss", math.nan)), "val_macro_f1": score}
        self.history.append(record)
        if score > self.best_score:
            self.best_score, self.best_epoch = score, epoch
            self.best_weights = [w.copy() for w in self.model.get_weights()]
        elif self.patience and epoch - self.best_epoch >= self.patience:
            self.model.stop_training = True
        if self.on_epoch is not None:
            self.on_epoch(epoch, record)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
