"""The studentized actor bootstrap (bootstrap-t), with the jackknife inside every resample."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np

from serbias.audit._estimates import (
    _CHUNK_ROWS,
    SE_FLOOR,
    AxisBootstrap,
    GroupBootstrap,
    GroupJackknife,
    Interval,
    Metric,
    _as_counts,
    _check_confidence,
    _members,
    _studentize,
    satterthwaite_df,
)
from serbias.errors import SerbiasError


def bootstrap_group(
    counts: np.ndarray, *, metric: Metric, multiplicities: np.ndarray
) -> GroupBootstrap:
    """The group's metric in each resample and its jackknife SE inside the resample.

    A resample with multiplicities ``w`` (B x actors, e.g.
    :func:`~serbias.audit._resampling.bootstrap_multiplicities`) sums ``S* = w @ c``; deleting
    one copy of drawn actor ``j`` gives ``m(S* - c_j)``, and with ``n = sum_j w_j``,
    ``SE*^2 = (n - 1) / n * sum_j w_j (m(S* - c_j) - mbar) ** 2``,
    ``mbar = sum_j w_j m(S* - c_j) / n``.
    """
    counts = _as_counts(counts)
    weights = np.asarray(multiplicities, float)
    if weights.ndim != 2 or weights.shape[1] != len(counts):
        raise SerbiasError(
            f"multiplicities: shape {weights.shape}, expected (resamples, {len(counts)})"
        )
    sums = weights @ counts
    rows, actors = np.nonzero(weights)  # sorted by resample
    deleted = _deleted_at(sums, counts, rows, actors, metric)
    variance = _drawn_variance(deleted, rows, weights[rows, actors], len(weights))
    return GroupBootstrap(values=metric(sums), se=np.sqrt(variance))


def bootstrap_axis(
    counts: np.ndarray,
    *,
    groups: np.ndarray,
    metric: Metric,
    multiplicities: Mapping[object, np.ndarray],
) -> AxisBootstrap:
    """Bootstrap every group of an axis (each within itself) with the jackknife inside.

    ``multiplicities[label]`` (B x the group's actors, in row order of ``counts``) are the
    group's draws, e.g. ``bootstrap_multiplicities(n, B, rng_for(seed, "boot", axis, label))``,
    so ``groups[label].values`` are today's percentile-bootstrap values. Inside a resample,
    ``m(G* - c_j)`` and ``m(All* - c_j)`` are computed once for every drawn actor and give both
    the groups' SE* (:func:`bootstrap_group`) and the stratified SE* of ``m(G*) - m(All*)``
    (:func:`overall_differences`).
    """
    counts = _as_counts(counts)
    labels, members = _members(groups, len(counts))
    sizes = np.array([len(m) for m in members])
    blocks = []
    for label, rows in zip(labels, members, strict=True):
        draws = np.asarray(multiplicities[label], float)
        if draws.ndim != 2 or draws.shape[1] != len(rows):
            raise SerbiasError(
                f"multiplicities of {label!r}: shape {draws.shape}, "
                f"expected (resamples, {len(rows)})"
            )
        blocks.append(draws)
    if len({b.shape[0] for b in blocks}) > 1:
        raise SerbiasError("multiplicities: every group needs the same number of resamples")
    values, variances, overall, overall_variances = _axis_moments(
        counts[np.concatenate(members)], sizes, np.concatenate(blocks, axis=1), metric
    )
    return AxisBootstrap(
        groups={
            label: GroupBootstrap(values[g], np.sqrt(variances[g]))
            for g, label in enumerate(labels)
        },
        overall={
            label: GroupBootstrap(overall[g], np.sqrt(overall_variances[g].sum(axis=0)))
            for g, label in enumerate(labels)
        },
    )


def studentized_interval(
    sample: GroupJackknife,
    resamples: GroupBootstrap,
    *,
    reference: GroupJackknife | None = None,
    reference_resamples: GroupBootstrap | None = None,
    confidence: float = 0.95,
) -> Interval:
    """Bootstrap-t interval of a group's metric or, with a reference, of the gap to it.

    ``t* = (d* - d) / SE*`` over resamples; the interval is
    ``[d - q_hi(t*) * SE_d, d - q_lo(t*) * SE_d]`` with jackknife ``SE_d`` (Welch df reported).
    A resample with ``SE* = 0`` (copies of one actor) has ``t* = 0`` if ``d* = d``, else
    infinite, so degenerate resamples widen the interval rather than being dropped.
    """
    if (reference is None) != (reference_resamples is None):
        raise SerbiasError("studentized interval: give both reference and reference_resamples")
    if reference is None:
        estimate, variance = sample.value, sample.variance
        df = np.full(np.shape(estimate), sample.n_actors - 1.0)
        boot, boot_se = resamples.values, resamples.se
    else:
        estimate = sample.value - reference.value
        variances = np.stack([sample.variance, reference.variance])
        variance = variances.sum(axis=0)
        df = satterthwaite_df(variances, [sample.n_actors, reference.n_actors])
        boot = resamples.values - reference_resamples.values
        boot_se = np.sqrt(resamples.se**2 + reference_resamples.se**2)
    return _bootstrap_t(estimate, np.sqrt(variance), df, boot, boot_se, confidence)


def _bootstrap_t(
    estimate: np.ndarray,
    se: np.ndarray,
    df: np.ndarray,
    boot: np.ndarray,
    boot_se: np.ndarray,
    confidence: float,
) -> Interval:
    _check_confidence(confidence)
    estimate = np.asarray(estimate, float)
    t = _studentize(boot - estimate, boot_se**2)
    tail = (1.0 - confidence) / 2.0
    with np.errstate(invalid="ignore"):
        quantile = np.nanquantile if np.isnan(t).any() else np.quantile
        q_low, q_high = quantile(t, [tail, 1.0 - tail], axis=0, method="inverted_cdf")
        zero = se <= SE_FLOOR
        low = np.where(zero, estimate, estimate - q_high * se)
        high = np.where(zero, estimate, estimate - q_low * se)
        observed = _studentize(estimate, se**2)
        valid = (~np.isnan(t)).sum(axis=0)
        above = ((t >= observed) & ~np.isnan(t)).sum(axis=0)
        below = ((t <= observed) & ~np.isnan(t)).sum(axis=0)
        p_value = np.minimum(1.0, 2.0 * (np.minimum(above, below) + 1.0) / (valid + 1.0))
    p_value = np.where(np.isnan(se), np.nan, p_value)
    low, high = np.where(np.isnan(se), np.nan, low), np.where(np.isnan(se), np.nan, high)
    return Interval(
        estimate,
        se,
        df,
        low,
        high,
        p_value,
        "studentized-bootstrap",
        n_degenerate=(boot_se <= SE_FLOOR).sum(axis=0),
    )


def _deleted_at(
    sums: np.ndarray, counts: np.ndarray, rows: np.ndarray, actors: np.ndarray, metric: Metric
) -> np.ndarray:
    """``metric(sums[rows[p]] - counts[actors[p]])`` for every drawn pair ``p`` (pairs x K)."""
    chunks = [
        metric(
            sums[rows[start : start + _CHUNK_ROWS]] - counts[actors[start : start + _CHUNK_ROWS]]
        )
        for start in range(0, len(rows), _CHUNK_ROWS)
    ]
    return np.concatenate(chunks)


def _drawn_variance(
    theta: np.ndarray, rows: np.ndarray, weights: np.ndarray, n_rows: int
) -> np.ndarray:
    """``(n - 1) / n * sum_j w_j (theta_j - mean) ** 2`` per resample (``n_rows`` x K).

    ``theta`` holds one value per drawn (resample, actor) pair, sorted by resample (``rows``),
    with multiplicity ``weights``; ``n = sum_j w_j``. The moment sums are taken after shifting
    by each resample's first value, so the sums of squares do not cancel.
    """
    from scipy import sparse

    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    if len(starts) != n_rows:
        raise SerbiasError(f"resamples: {n_rows - len(starts)} of {n_rows} draw no actor")
    ends = np.r_[starts[1:], len(rows)]
    shifted = theta - np.repeat(theta[starts], ends - starts, axis=0)
    # sums over each resample's pairs as one sparse (resamples x pairs) product
    by_resample = sparse.csr_matrix(
        (weights, np.arange(len(rows)), np.r_[starts, len(rows)]), shape=(n_rows, len(rows))
    )
    total = by_resample @ shifted
    np.square(shifted, out=shifted)
    squares = by_resample @ shifted
    n = np.add.reduceat(weights, starts)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.maximum(squares - total**2 / n, 0.0)
        return np.where(n > 1, (n - 1) / n * spread, 0.0)


def _axis_moments(
    counts: np.ndarray, sizes: np.ndarray, weights: np.ndarray, metric: Metric
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per group (rows of ``counts`` ordered group by group, ``sizes`` actors each) and resample:
    ``m(G)`` and its jackknife variance, ``m(G) - m(All)`` and its stratum variances
    (G x B x K, G x B x K, G x B x K, G x strata x B x K).

    ``theta_j = m(G - j) - m(All - j)`` for j in G; in another stratum h it is
    ``m(G) - m(All - j)``, whose variance over h is that of ``m(All - j)``, shared by every G.
    """
    n_rows = len(weights)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    rows, actors = np.nonzero(weights)  # sorted by resample
    drawn = weights[rows, actors]
    all_sums = weights @ counts
    all_value = metric(all_sums)
    all_deleted = _deleted_at(all_sums, counts, rows, actors, metric)
    spans = [(actors >= lo) & (actors < hi) for lo, hi in itertools.pairwise(bounds)]
    shared = np.stack(
        [_drawn_variance(all_deleted[span], rows[span], drawn[span], n_rows) for span in spans]
    )
    values, variances, overall, overall_variances = [], [], [], []
    for g, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        span = spans[g]
        sums = weights[:, lo:hi] @ counts[lo:hi]
        value = metric(sums)
        deleted = _deleted_at(sums, counts, rows[span], actors[span], metric)
        values.append(value)
        variances.append(_drawn_variance(deleted, rows[span], drawn[span], n_rows))
        strata = shared.copy()
        strata[g] = _drawn_variance(deleted - all_deleted[span], rows[span], drawn[span], n_rows)
        overall.append(value - all_value)
        overall_variances.append(strata)
    return np.stack(values), np.stack(variances), np.stack(overall), np.stack(overall_variances)
