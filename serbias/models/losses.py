"""Per-emotion positive weights and the weighted binary cross-entropy that uses them (Keras).

Observed labels are neutral-heavy (the crowd's vote): unweighted, a sigmoid for a rare
emotion rarely reaches the 0.5 decision threshold and its F1 is 0. Weighting each emotion's
positive term by ``(negatives / positives) ** class_balance`` moves the point where the loss
is balanced towards that emotion, so the 0.5 rule (the audit's, too) predicts it again.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops


def positive_weights(targets: np.ndarray, class_balance: float) -> np.ndarray:
    """``(negatives / positives) ** class_balance`` per column of 0/1 ``targets`` (clips x
    emotions); 1 for every column when ``class_balance`` is 0 or a column has no positive
    or no negative clip."""
    y = np.asarray(targets, dtype=np.float64) > 0.5
    positives = y.sum(axis=0)
    negatives = len(y) - positives
    ratio = np.divide(negatives, positives, out=np.ones(y.shape[1]), where=positives > 0)
    ratio[(positives == 0) | (negatives == 0)] = 1.0
    return (ratio**class_balance).astype(np.float32)


@keras.saving.register_keras_serializable(package="serbias")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy on sigmoid probabilities with one weight per output column on
    the positive term, after Keras's label smoothing ``y (1 - a) + a / 2``."""

    def __init__(
        self,
        positive_weights: list[float] | tuple[float, ...],
        label_smoothing: float = 0.0,
        name: str = "weighted_binary_crossentropy",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.positive_weights = [float(w) for w in positive_weights]
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_true = ops.cast(y_true, y_pred.dtype)
        y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        p = ops.clip(y_pred, keras.config.epsilon(), 1.0 - keras.config.epsilon())
        weights = ops.convert_to_tensor(self.positive_weights, dtype=y_pred.dtype)
        loss = -(weights * y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
        return ops.mean(loss, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "positive_weights": self.positive_weights,
            "label_smoothing": self.label_smoothing,
        }
