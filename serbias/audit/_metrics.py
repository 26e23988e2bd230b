"""The audit's metrics, defined once for fairlearn's MetricFrame and once from summed counts.

MetricFrame (with scikit-learn metrics, ``zero_division=0``) gives the point estimates.
Resampling needs the same numbers thousands of times, so :func:`metrics_from_counts`
computes them from summed confusion counts; ``tests/audit`` checks the two agree.

Targets and decisions are multi-label indicator matrices (clips x covered emotions), so
``accuracy`` is subset accuracy (every emotion right) and ``macro_f1`` is the unweighted
mean of the per-emotion F1 scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from serbias import vocab

#: Per-emotion metric families, in column order after ``macro_f1`` and ``accuracy``.
PER_EMOTION = ("f1", "recall", "precision", "selection_rate")
#: Metrics compared with a human listener's (same meaning for a response as for a clip).
HEADLINE_METRICS = ("macro_f1", "accuracy")


def metric_names(emotions: Sequence[str]) -> list[str]:
    """``macro_f1, accuracy, f1_Anger, ..., recall_Anger, ..., selection_rate_Sad``."""
    names = list(HEADLINE_METRICS)
    for family in PER_EMOTION:
        names += [f"{family}_{vocab.NAME_BY_EMOTION[code]}" for code in emotions]
    return names


def split_metric(name: str) -> tuple[str, str | None]:
    """``"recall_Sad"`` -> ``("recall", "Sad")``; ``"macro_f1"`` -> ``("macro_f1", None)``."""
    for family in sorted(PER_EMOTION, key=len, reverse=True):
        if name.startswith(family + "_") and name[len(family) + 1 :] in vocab.EMOTION_NAMES:
            return family, name[len(family) + 1 :]
    return name, None


def score_all(emotions: Sequence[str]) -> Callable:
    """One metric function returning every metric of :func:`metric_names`, for MetricFrame.

    scikit-learn's ``precision_recall_fscore_support(average=None)`` gives the per-emotion
    precision, recall and F1 in one call (macro-F1 is their mean, as ``f1_score(average=
    "macro")`` computes it); ``accuracy_score`` on indicator matrices is subset accuracy;
    selection rate is the (weighted) share of rows predicting each emotion, as fairlearn's
    ``selection_rate``. One call per group instead of one per metric keeps a full audit fast.
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    labels = list(range(len(emotions)))

    def audit_metrics(y_true, y_pred, sample_weight=None) -> np.ndarray:
        precision, recall, f1, _ = precision_recall_fscore_support(
            y_true,
            y_pred,
            labels=labels,
            average=None,
            sample_weight=sample_weight,
            zero_division=0,
        )
        accuracy = accuracy_score(y_true, y_pred, sample_weight=sample_weight)
        selection_rate = np.average(y_pred, axis=0, weights=sample_weight)
        return np.concatenate([[f1.mean(), accuracy], f1, recall, precision, selection_rate])

    return audit_metrics


def group_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sensitive_features: np.ndarray,
    emotions: Sequence[str],
    *,
    weight: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Every audit metric by group (groups x metrics) and overall, via fairlearn's MetricFrame.

    ``weight`` counts how many listener responses a row stands for (human baseline).
    """
    from fairlearn.metrics import MetricFrame

    names = metric_names(emotions)
    sample_params = (
        None if weight is None else {"all": {"sample_weight": np.asarray(weight, float)}}
    )
    frame = MetricFrame(
        metrics={"all": score_all(emotions)},
        y_true=y_true.astype(int),
        y_pred=y_pred.astype(int),
        sensitive_features=pd.Series(sensitive_features, name="group"),
        sample_params=sample_params,
    )
    by_group = pd.DataFrame(
        np.stack(frame.by_group["all"].to_numpy()),
        index=frame.by_group.index.astype(str),
        columns=names,
    )
    overall = pd.Series(np.asarray(frame.overall["all"], dtype=float), index=names)
    return by_group, overall


def n_count_columns(n_emotions: int) -> int:
    """Width of a count vector: TP, FP, FN per emotion, then items and exact matches."""
    return 3 * n_emotions + 2


def row_counts(
    y_true: np.ndarray, y_pred: np.ndarray, weight: np.ndarray | None = None
) -> np.ndarray:
    """Count vector of each row (n_rows x :func:`n_count_columns`), to be summed over rows.

    Layout: ``[TP_1..TP_k, FP_1..FP_k, FN_1..FN_k, items, exact]``; ``exact`` is 1 when the
    whole row is right (subset accuracy). Rows are weighted by ``weight`` (default 1).
    """
    y_true = y_true.astype(bool)
    y_pred = y_pred.astype(bool)
    weight = np.ones(len(y_true)) if weight is None else np.asarray(weight, dtype=float)
    exact = (y_true == y_pred).all(axis=1)
    per_row = np.concatenate(
        [
            y_true & y_pred,
            ~y_true & y_pred,
            y_true & ~y_pred,
            np.ones((len(y_true), 1), bool),
            exact[:, None],
        ],
        axis=1,
    )
    return per_row * weight[:, None]


def metrics_from_counts(counts: np.ndarray, n_emotions: int) -> np.ndarray:
    """Every metric of :func:`metric_names` from summed counts (..., n_count_columns).

    Returns (..., n_metrics); vectorised over any leading axes (resamples, groups). Ratios with
    a zero denominator are 0, matching scikit-learn's ``zero_division=0``.
    """
    k = n_emotions
    tp, fp, fn = counts[..., :k], counts[..., k : 2 * k], counts[..., 2 * k : 3 * k]
    items, exact = counts[..., 3 * k], counts[..., 3 * k + 1]
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    recall = _ratio(tp, tp + fn)
    precision = _ratio(tp, tp + fp)
    selection_rate = _ratio(tp + fp, items[..., None])
    macro_f1 = f1.mean(axis=-1)
    accuracy = _ratio(exact, items)
    return np.concatenate(
        [macro_f1[..., None], accuracy[..., None], f1, recall, precision, selection_rate], axis=-1
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    out = np.zeros(numerator.shape, dtype=float)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out
