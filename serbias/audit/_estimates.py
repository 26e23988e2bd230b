"""Shared types of the actor-level inference: results, count metrics, t intervals.

Conventions: ``counts`` is (actors x count columns); ``metric(sums)`` maps (..., columns) to
(..., metrics) and is vectorised over leading axes (see :func:`count_metric`). Every
result holds one value per metric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from serbias.audit._metrics import metrics_from_counts
from serbias.errors import SerbiasError

#: Maps summed counts (..., columns) to metric values (..., metrics).
Metric = Callable[[np.ndarray], np.ndarray]


#: A standard error at or below this is exactly 0: the resample holds copies of one actor and
#: the scale-free metrics differ only by rounding when a copy is deleted.
SE_FLOOR = 1e-12


#: Deleted-sum rows evaluated at once: blocks of a few MB stay in the CPU cache, which made the
#: studentized permutation 2-3x faster than 100,000-row blocks (same numbers).
_CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class GroupJackknife:
    """A group's metric values (K) and its delete-one-actor values (actors x K).

    ``variance = (n - 1) / n * sum_i (deleted_i - mean_i deleted_i) ** 2`` (NaN below 2 actors).
    """

    value: np.ndarray
    deleted: np.ndarray

    @property
    def n_actors(self) -> int:
        return len(self.deleted)

    @property
    def variance(self) -> np.ndarray:
        n = self.n_actors
        if n < 2:
            return np.full(np.shape(self.value), np.nan)
        centred = self.deleted - self.deleted.mean(axis=0)
        return (n - 1) / n * (centred**2).sum(axis=0)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(self.variance)


@dataclass(frozen=True)
class GroupBootstrap:
    """A group's metric in each actor resample (B x K) and the jackknife SE inside it (B x K)."""

    values: np.ndarray
    se: np.ndarray


@dataclass(frozen=True)
class AxisBootstrap:
    """Every group of an axis resampled at once: per group label, its metric in each resample
    (``groups``) and ``m(G) - m(All)`` in each resample (``overall``), each with its SE*."""

    groups: dict[object, GroupBootstrap]
    overall: dict[object, GroupBootstrap]


@dataclass(frozen=True)
class Interval:
    """An estimate with its standard error, degrees of freedom, interval and p-value (per metric).

    ``p_value`` tests ``estimate = 0`` with the interval's own method; ``n_degenerate`` counts
    bootstrap resamples whose SE was 0 (their t is 0 or infinite, which widens the interval).
    """

    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray
    method: str
    n_degenerate: np.ndarray | None = None


@dataclass(frozen=True)
class RatioInterval:
    """``group / reference`` with a back-transformed log-scale t interval.

    ``reason`` is empty where the interval is defined, else says why it is NaN.
    """

    ratio: np.ndarray
    low: np.ndarray
    high: np.ndarray
    log_se: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    reason: np.ndarray


@dataclass(frozen=True)
class ChanceBand:
    """Spread of the gap when group membership is shuffled among actors (no bias at all)."""

    mean: np.ndarray
    sd: np.ndarray
    low: np.ndarray
    high: np.ndarray
    confidence: float
    n_labelings: int


@dataclass(frozen=True)
class PermutationTest:
    """Studentized permutation test of a gap, and the no-bias band of the same labelings.

    ``min_p`` is the smallest p this design can give; when it is above ``alpha`` the test is
    not ``resolvable`` and ``note`` says so ("cannot be resolved with 3 vs 3 actors ...").
    """

    gap: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    n_labelings: int
    exact: bool
    min_p: float
    resolvable: bool
    note: str
    chance: ChanceBand


@dataclass(frozen=True)
class ReplicaInterval:
    """Mean gap over replicas with an interval for model and speaker variation together.

    ``low``/``high`` (recommended) are ``estimate -/+ t(df) * se`` with ``se`` the standard
    deviation of the two-level bootstrap; ``se_actors`` and ``se_replicas`` split it into
    speaker sampling (jackknife over actors) and model variation (SD over replicas / sqrt R).
    """

    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    low: np.ndarray
    high: np.ndarray
    percentile_low: np.ndarray
    percentile_high: np.ndarray
    se_actors: np.ndarray
    se_replicas: np.ndarray
    n_replicas: int
    method: str


def count_metric(n_emotions: int) -> Metric:
    """Every audit metric (:func:`~serbias.audit._metrics.metric_names` order) from sums."""
    return partial(metrics_from_counts, n_emotions=n_emotions)


def log_metric(metric: Metric) -> Metric:
    """``log(metric)``, NaN where the metric is 0 (for ratios on the log scale)."""

    def logged(sums: np.ndarray) -> np.ndarray:
        values = metric(sums)
        out = np.full(np.shape(values), np.nan)
        np.log(values, out=out, where=values > 0)
        return out

    return logged


def paired_metric(metric: Metric, *, n_columns: int) -> Metric:
    """``metric(first system) - metric(second system)`` on :func:`paired_counts` sums."""

    def difference(sums: np.ndarray) -> np.ndarray:
        return metric(sums[..., :n_columns]) - metric(sums[..., n_columns:])

    return difference


def paired_counts(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two systems' count vectors side by side, row ``i`` being the same actor in both."""
    first, second = np.asarray(first, float), np.asarray(second, float)
    if first.shape != second.shape:
        raise SerbiasError(
            f"paired counts: shapes {first.shape} and {second.shape} differ "
            "(expected the same actors in the same order)"
        )
    return np.concatenate([first, second], axis=-1)


def satterthwaite_df(variances: np.ndarray, sizes: np.ndarray | list[int]) -> np.ndarray:
    """``(sum_h V_h) ** 2 / sum_h (V_h ** 2 / (n_h - 1))`` over strata (axis 0); NaN if all 0.

    Strata of one actor contribute no variance and no df.
    """
    variances = np.asarray(variances, float)
    sizes = np.asarray(sizes, float).reshape((-1,) + (1,) * (variances.ndim - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(sizes > 1, variances**2 / np.maximum(sizes - 1, 1), 0.0)
        denominator = shares.sum(axis=0)
        total = variances.sum(axis=0)
        return np.where(
            denominator > 0, total**2 / np.where(denominator > 0, denominator, 1), np.nan
        )


def _as_counts(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or len(counts) == 0:
        raise SerbiasError(f"counts: shape {counts.shape}, expected (actors >= 1, columns)")
    return counts


def _members(groups: np.ndarray, n_actors: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sorted group labels and the row positions of each group's actors."""
    groups = np.asarray(groups)
    if groups.shape != (n_actors,):
        raise SerbiasError(f"groups: {groups.shape} labels for {n_actors} actors")
    labels, codes = np.unique(groups, return_inverse=True)
    return labels, [np.flatnonzero(codes == g) for g in range(len(labels))]


def _studentize(gap: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """``gap / sqrt(variance)``; a zero SE gives 0 for a zero gap, else a signed infinity."""
    se = np.sqrt(variance)
    degenerate = se <= SE_FLOOR
    with np.errstate(divide="ignore", invalid="ignore"):
        t = gap / np.where(degenerate, 1.0, se)
    limit = np.where(np.abs(gap) <= SE_FLOOR, 0.0, np.where(gap > 0, np.inf, -np.inf))
    return np.where(degenerate, limit, t)


def _t_interval(
    estimate: np.ndarray, variance: np.ndarray, df: np.ndarray, confidence: float, method: str
) -> Interval:
    from scipy import stats

    _check_confidence(confidence)
    estimate = np.asarray(estimate, float)
    se = np.sqrt(variance)
    zero = se <= SE_FLOOR
    with np.errstate(invalid="ignore"):
        half = np.where(zero, 0.0, stats.t.ppf((1.0 + confidence) / 2.0, df) * se)
        statistic = _studentize(estimate, variance)
        p_value = np.where(
            zero,
            np.where(np.abs(estimate) <= SE_FLOOR, 1.0, 0.0),
            2.0 * stats.t.sf(np.abs(statistic), df),
        )
    p_value = np.where(np.isnan(se), np.nan, p_value)
    return Interval(estimate, se, df, estimate - half, estimate + half, p_value, method)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise SerbiasError(f"confidence: {confidence} is not in (0, 1)")
