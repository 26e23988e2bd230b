"""The audit's metrics, one row each of :data:`METRICS`: name, formulas, phrase, where it goes.

Each row gives its metric twice: from scikit-learn's scores of a group (the point estimates,
through fairlearn's MetricFrame) and from summed confusion counts (:func:`metrics_from_counts`,
which resampling calls thousands of times); ``tests/audit`` checks the two agree. Metric
columns (``macro_f1, accuracy, f1_Anger, ..., selection_rate_Sad``), the count formulas and the
report's phrases all follow the table's order, so adding a metric is adding a row.

Targets and decisions are multi-label indicator matrices (clips x covered emotions), so
``accuracy`` is subset accuracy (every emotion right) and ``macro_f1`` is the unweighted
mean of the per-emotion F1 scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import pandas as pd

from serbias import vocab

#: The count vector summed over clips and actors: per-emotion fields (``k`` columns each),
#: then per-row totals (one column each), in this order.
COUNT_FIELDS: Final = (("tp", True), ("fp", True), ("fn", True), ("items", False), ("exact", False))


@dataclass(frozen=True)
class Counts:
    """Named parts of summed count vectors (..., :data:`COUNT_FIELDS` columns).

    ``tp``, ``fp``, ``fn`` are (..., k), one column per emotion; ``items`` (rows, or listener
    responses) and ``exact`` (rows entirely right) are (..., 1).
    """

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    items: np.ndarray
    exact: np.ndarray

    @classmethod
    def of(cls, counts: np.ndarray, n_emotions: int) -> Counts:
        parts, start = {}, 0
        for name, per_emotion in COUNT_FIELDS:
            width = n_emotions if per_emotion else 1
            parts[name] = counts[..., start : start + width]
            start += width
        return cls(**parts)

    @cached_property
    def f1(self) -> np.ndarray:
        """Per-emotion F1, computed once for macro-F1 and the per-emotion rows."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


@dataclass(frozen=True)
class SklearnScores:
    """One group's scores from scikit-learn (per emotion, except ``accuracy``)."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    accuracy: float
    selection_rate: np.ndarray


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One metric family: a single number, or one per emotion (``recall_Sad``)."""

    name: str
    per_emotion: bool
    #: from summed counts: (..., k) per emotion, else (..., 1); zero denominators give 0
    from_counts: Callable[[Counts], np.ndarray]
    #: from scikit-learn's scores of one group: (k,) per emotion, else a number
    from_sklearn: Callable[[SklearnScores], np.ndarray | float]
    phrase: str
    #: the phrase when the unit is a listener's response rather than a clip
    listener_phrase: str | None = None
    #: logged to MLflow (every metric is in the CSVs)
    tracked: bool = False
    #: its gaps can be headline findings
    finding: bool = False
    #: its overall value is in metrics.json
    headline: bool = False


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    out = np.zeros(numerator.shape, dtype=float)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _f1(c: Counts) -> np.ndarray:
    return c.f1


METRICS: Final = (
    Metric(
        name="macro_f1",
        per_emotion=False,
        from_counts=lambda c: _f1(c).mean(axis=-1, keepdims=True),
        from_sklearn=lambda s: s.f1.mean(),
        phrase="macro-F1",
        tracked=True,
        finding=True,
        headline=True,
    ),
    Metric(
        name="accuracy",
        per_emotion=False,
        from_counts=lambda c: _ratio(c.exact, c.items),
        from_sklearn=lambda s: s.accuracy,
        phrase="accuracy",
        listener_phrase="per-response accuracy",
        tracked=True,
        finding=True,
        headline=True,
    ),
    Metric(
        name="f1",
        per_emotion=True,
        from_counts=_f1,
        from_sklearn=lambda s: s.f1,
        phrase="F1",
        finding=True,
    ),
    Metric(
        name="recall",
        per_emotion=True,
        from_counts=lambda c: _ratio(c.tp, c.tp + c.fn),
        from_sklearn=lambda s: s.recall,
        phrase="recall",
        tracked=True,
        finding=True,
    ),
    Metric(
        name="precision",
        per_emotion=True,
        from_counts=lambda c: _ratio(c.tp, c.tp + c.fp),
        from_sklearn=lambda s: s.precision,
        phrase="precision",
    ),
    Metric(
        name="selection_rate",
        per_emotion=True,
        from_counts=lambda c: _ratio(c.tp + c.fp, c.items),
        from_sklearn=lambda s: s.selection_rate,
        phrase="selection rate",
    ),
)
METRIC_BY_NAME: Final = {metric.name: metric for metric in METRICS}
#: The metric the study asks its question in: its gaps lead the findings, the terminal's
#: model comparison and metrics.json.
PRIMARY_METRIC: Final = "macro_f1"
#: The listeners' counterpart: a response names one emotion, so it is right or wrong.
LISTENER_PRIMARY_METRIC: Final = "accuracy"
TRACKED_METRICS: Final = tuple(m.name for m in METRICS if m.tracked)
FINDING_METRICS: Final = tuple(m.name for m in METRICS if m.finding)
HEADLINE_METRICS: Final = tuple(m.name for m in METRICS if m.headline)
_PER_EMOTION = tuple(m.name for m in METRICS if m.per_emotion)


def metric_names(emotions: Sequence[str], *, metrics: Sequence[Metric] = METRICS) -> list[str]:
    """``macro_f1, accuracy, f1_Anger, ..., recall_Anger, ..., selection_rate_Sad``."""
    names: list[str] = []
    for metric in metrics:
        if metric.per_emotion:
            names += [f"{metric.name}_{vocab.NAME_BY_EMOTION[code]}" for code in emotions]
        else:
            names.append(metric.name)
    return names


def split_metric(name: str) -> tuple[str, str | None]:
    """``"recall_Sad"`` -> ``("recall", "Sad")``; ``"macro_f1"`` -> ``("macro_f1", None)``."""
    for family in sorted(_PER_EMOTION, key=len, reverse=True):
        if name.startswith(family + "_") and name[len(family) + 1 :] in vocab.EMOTION_NAMES:
            return family, name[len(family) + 1 :]
    return name, None


def metric_phrase(metric: str, *, human: bool = False) -> str:
    """``recall_Sad`` -> ``recall for Sad``; ``macro_f1`` -> ``macro-F1``; with ``human``
    (a listener's responses), ``accuracy`` -> ``per-response accuracy``."""
    family, emotion = split_metric(metric)
    row = METRIC_BY_NAME[family]
    words = row.listener_phrase if human and row.listener_phrase else row.phrase
    return f"{words} for {emotion}" if emotion else words


def families_phrase(families: Sequence[str]) -> str:
    """``macro-F1, accuracy, per-emotion F1 and recall``: the families, single numbers first."""
    single = [METRIC_BY_NAME[f].phrase for f in families if not METRIC_BY_NAME[f].per_emotion]
    per_emotion = [METRIC_BY_NAME[f].phrase for f in families if METRIC_BY_NAME[f].per_emotion]
    if len(per_emotion) > 1:
        per_emotion = [", ".join(per_emotion[:-1]) + " and " + per_emotion[-1]]
    return ", ".join(single + [f"per-emotion {words}" for words in per_emotion])


def score_all(emotions: Sequence[str], *, metrics: Sequence[Metric] = METRICS) -> Callable:
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
        scores = SklearnScores(
            precision=precision,
            recall=recall,
            f1=f1,
            accuracy=accuracy_score(y_true, y_pred, sample_weight=sample_weight),
            selection_rate=np.average(y_pred, axis=0, weights=sample_weight),
        )
        return np.concatenate([np.atleast_1d(m.from_sklearn(scores)) for m in metrics])

    return audit_metrics


def group_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sensitive_features: np.ndarray,
    emotions: Sequence[str],
    *,
    weight: np.ndarray | None = None,
    metrics: Sequence[Metric] = METRICS,
) -> tuple[pd.DataFrame, pd.Series]:
    """Every audit metric by group (groups x metrics) and overall, via fairlearn's MetricFrame.

    ``weight`` counts how many listener responses a row stands for (human baseline).
    """
    from fairlearn.metrics import MetricFrame

    names = metric_names(emotions, metrics=metrics)
    sample_params = (
        None if weight is None else {"all": {"sample_weight": np.asarray(weight, float)}}
    )
    frame = MetricFrame(
        metrics={"all": score_all(emotions, metrics=metrics)},
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


def row_counts(
    y_true: np.ndarray, y_pred: np.ndarray, weight: np.ndarray | None = None
) -> np.ndarray:
    """Count vector of each row (n_rows x count columns), to be summed over rows.

    Fields as :data:`COUNT_FIELDS`; ``exact`` is 1 when the whole row is right (subset
    accuracy). Rows are weighted by ``weight`` (default 1).
    """
    y_true = y_true.astype(bool)
    y_pred = y_pred.astype(bool)
    weight = np.ones(len(y_true)) if weight is None else np.asarray(weight, dtype=float)
    fields = {
        "tp": y_true & y_pred,
        "fp": ~y_true & y_pred,
        "fn": y_true & ~y_pred,
        "items": np.ones((len(y_true), 1), bool),
        "exact": (y_true == y_pred).all(axis=1)[:, None],
    }
    per_row = np.concatenate([fields[name] for name, _ in COUNT_FIELDS], axis=1)
    return per_row * weight[:, None]


def metrics_from_counts(
    counts: np.ndarray, n_emotions: int, *, metrics: Sequence[Metric] = METRICS
) -> np.ndarray:
    """Every metric of :func:`metric_names` from summed counts (..., count columns).

    Returns (..., n_metrics); vectorised over any leading axes (resamples, groups). Ratios with
    a zero denominator are 0, matching scikit-learn's ``zero_division=0``.
    """
    parts = Counts.of(np.asarray(counts), n_emotions)
    return np.concatenate([m.from_counts(parts) for m in metrics], axis=-1)
