"""Delete-one-actor jackknife SEs and t intervals: a group, a gap (Welch df), a group
against the overall set, ratios on the log scale, the model-minus-listeners excess, and the
minimum detectable gap.
"""

from __future__ import annotations

import numpy as np

from serbias.audit._bootstrap_t import _axis_moments, _bootstrap_t
from serbias.audit._estimates import (
    AxisBootstrap,
    GroupJackknife,
    Interval,
    Metric,
    RatioInterval,
    _as_counts,
    _members,
    _t_interval,
    log_metric,
    paired_counts,
    paired_metric,
    satterthwaite_df,
)
from serbias.errors import SerbiasError


def jackknife(counts: np.ndarray, *, metric: Metric) -> GroupJackknife:
    """``m(S)`` and ``m(S - c_i)`` for every actor ``i`` of a group (``S = sum_i c_i``)."""
    counts = _as_counts(counts)
    total = counts.sum(axis=0)
    return GroupJackknife(value=np.asarray(metric(total), float), deleted=metric(total - counts))


def group_interval(group: GroupJackknife, *, confidence: float = 0.95) -> Interval:
    """One group's metric: ``m +/- t(n - 1) * SE_J``."""
    df = np.full(np.shape(group.value), group.n_actors - 1.0)
    return _t_interval(group.value, group.variance, df, confidence, "jackknife-t")


def gap_interval(
    group: GroupJackknife, reference: GroupJackknife, *, confidence: float = 0.95
) -> Interval:
    """Gap ``d = m(A) - m(B)`` of disjoint groups: ``d +/- t(nu) * SE_d`` (Welch).

    ``SE_d^2 = SE_A^2 + SE_B^2`` and
    ``nu = SE_d^4 / (SE_A^4 / (n_A - 1) + SE_B^4 / (n_B - 1))``; p is Welch's t test.
    """
    variances = np.stack([group.variance, reference.variance])
    df = satterthwaite_df(variances, [group.n_actors, reference.n_actors])
    return _t_interval(
        group.value - reference.value, variances.sum(axis=0), df, confidence, "jackknife-welch"
    )


def overall_differences(
    counts: np.ndarray,
    *,
    groups: np.ndarray,
    metric: Metric,
    confidence: float = 0.95,
    resamples: AxisBootstrap | None = None,
    stratified: bool = True,
) -> dict[object, Interval]:
    """``m(G) - m(All)`` for every group G of an axis; ``groups[i]`` is actor ``i``'s group.

    All is every row, so the two terms share G's actors and the joint statistic is
    jackknifed: delete each actor ``i`` of All once, ``theta_(-i) = m(G - i) - m(All - i)``
    (``G - i = G`` for an actor outside G). The groups are fixed by design, so the variance is
    stratified by them, ``V = sum_h (n_h - 1) / n_h * sum_{i in h} (theta_(-i) - mean_h) ** 2``,
    with Satterthwaite df over the groups: a small G keeps its few df instead of ``n_All - 1``.
    ``stratified=False`` is the plain jackknife over All with ``n_All - 1`` df, which is too
    optimistic for small groups (kept to show it). With ``resamples`` (:func:`bootstrap_axis`
    of the same counts and groups) the intervals are bootstrap-t.
    """
    counts = _as_counts(counts)
    labels, members = _members(groups, len(counts))
    sizes = np.array([len(m) for m in members])
    order = np.concatenate(members)
    moments = _axis_moments(counts[order], sizes, np.ones((1, len(counts))), metric)
    intervals = {}
    for g, label in enumerate(labels):
        _, _, value, variances = (x[g] for x in moments)
        if stratified:
            df = satterthwaite_df(variances[:, 0], sizes)
            variance = variances[:, 0].sum(axis=0)
        else:
            variance = _plain_overall_variance(counts, members[g], metric)
            df = np.full(np.shape(variance), len(counts) - 1.0)
        if resamples is None:
            intervals[label] = _t_interval(value[0], variance, df, confidence, "jackknife-t")
            continue
        if not stratified:
            raise SerbiasError("overall differences: bootstrap-t needs stratified=True")
        boot = resamples.overall[label]
        intervals[label] = _bootstrap_t(
            value[0], np.sqrt(variance), df, boot.values, boot.se, confidence
        )
    return intervals


def ratio_interval(
    group_counts: np.ndarray,
    reference_counts: np.ndarray,
    *,
    metric: Metric,
    confidence: float = 0.95,
) -> RatioInterval:
    """``m(A) / m(B)`` with the Welch interval of ``log m(A) - log m(B)``, back-transformed.

    Undefined (NaN, with a reason) where either metric is 0; where the metric is 0 once an
    actor is left out, the ratio is given but its interval is not.
    """
    logged = log_metric(metric)
    group = jackknife(group_counts, metric=logged)
    reference = jackknife(reference_counts, metric=logged)
    log_gap = gap_interval(group, reference, confidence=confidence)
    reason = np.full(np.shape(log_gap.estimate), "", dtype=object)
    left_out = np.isnan(group.deleted).any(axis=0) | np.isnan(reference.deleted).any(axis=0)
    reason[left_out] = "the metric is 0 when one actor is left out"
    reason[np.isnan(reference.value)] = "the metric is 0 in the reference group"
    reason[np.isnan(group.value)] = "the metric is 0 in the group"
    return RatioInterval(
        ratio=np.exp(log_gap.estimate),
        low=np.exp(log_gap.low),
        high=np.exp(log_gap.high),
        log_se=log_gap.se,
        df=log_gap.df,
        p_value=log_gap.p_value,
        reason=reason,
    )


def excess_interval(
    model_group: np.ndarray,
    human_group: np.ndarray,
    *,
    metric: Metric,
    model_reference: np.ndarray | None = None,
    human_reference: np.ndarray | None = None,
    confidence: float = 0.95,
) -> Interval:
    """Model minus human listeners on the same actors, jackknifed as one paired statistic.

    Row ``i`` of a model matrix and of the matching human matrix is the same actor; deleting
    actor ``i`` removes it from both. Without references: ``m_model(G) - m_human(G)``
    (t with n - 1 df). With references: the excess gap
    ``(m_model(A) - m_model(B)) - (m_human(A) - m_human(B))`` (Welch over A and B).
    """
    paired = paired_metric(metric, n_columns=np.shape(model_group)[1])
    group = jackknife(paired_counts(model_group, human_group), metric=paired)
    if model_reference is None or human_reference is None:
        return group_interval(group, confidence=confidence)
    reference = jackknife(paired_counts(model_reference, human_reference), metric=paired)
    return gap_interval(group, reference, confidence=confidence)


def minimum_detectable_gap(
    se: np.ndarray, df: np.ndarray, *, alpha: float = 0.05, power: float = 0.80
) -> np.ndarray:
    """Smallest gap a two-sided level-``alpha`` test finds with ``power``:
    ``(t(df, 1 - alpha / 2) + t(df, power)) * SE_d``."""
    from scipy import stats

    return (stats.t.ppf(1.0 - alpha / 2.0, df) + stats.t.ppf(power, df)) * np.asarray(se, float)


def _plain_overall_variance(counts: np.ndarray, members: np.ndarray, metric: Metric) -> np.ndarray:
    """Unstratified jackknife variance of ``m(G) - m(All)`` over every actor of All."""
    total, group_total = counts.sum(axis=0), counts[members].sum(axis=0)
    theta = np.repeat(np.asarray(metric(group_total))[None], len(counts), axis=0)
    theta[members] = metric(group_total - counts[members])
    theta = theta - metric(total - counts)
    n = len(counts)
    return (n - 1) / n * ((theta - theta.mean(axis=0)) ** 2).sum(axis=0)
