"""The spread between groups (largest minus smallest group metric) by the jackknife or
bootstrap-t, stratified by group.

The groups are fixed by design, so deleting actor ``i`` of group ``h`` changes only
``m(h)``: ``theta_(-i) = max(m(h - i), max_{g != h} m(g)) - min(m(h - i), min_{g != h} m(g))``,
``V = sum_h (n_h - 1) / n_h * sum_{i in h} (theta_(-i) - mean_h) ** 2`` with
Satterthwaite df over the groups (as for a group against the overall set). With two groups
this is the Welch interval of ``|m(A) - m(B)|``. The spread is a maximum, so near ties it is
biased upwards and no interval of it is exact; the intervals say how far sampling actors moves
it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from serbias.audit._bootstrap_t import _bootstrap_t, _deleted_at, _drawn_variance
from serbias.audit._estimates import (
    Interval,
    Metric,
    _as_counts,
    _t_interval,
    satterthwaite_df,
)
from serbias.errors import SerbiasError


def spread_interval(
    group_counts: Sequence[np.ndarray],
    *,
    metric: Metric,
    confidence: float = 0.95,
    draws: Sequence[np.ndarray] | None = None,
) -> Interval:
    """``max_g m(g) - min_g m(g)`` over the groups (each an actors x columns count matrix).

    Jackknife t interval (stratified variance, Satterthwaite df); with ``draws`` (one
    resamples x actors multiplicity matrix per group, the groups' actor bootstraps) the
    interval is bootstrap-t, the stratified jackknife SE recomputed inside every resample.
    """
    groups = [_as_counts(c) for c in group_counts]
    if len(groups) < 2:
        raise SerbiasError(f"spread: {len(groups)} group(s), expected at least 2")
    sizes = np.array([len(c) for c in groups])
    values = np.stack([metric(c.sum(axis=0)) for c in groups])  # G x K
    variances = np.stack([_stratum_variance(c, values, h, metric) for h, c in enumerate(groups)])
    estimate = values.max(axis=0) - values.min(axis=0)
    df = satterthwaite_df(variances, sizes)
    if draws is None:
        return _t_interval(estimate, variances.sum(axis=0), df, confidence, "jackknife-t")
    if len(draws) != len(groups):
        raise SerbiasError(f"spread: {len(draws)} draw matrices for {len(groups)} groups")
    weights = [np.asarray(w, float) for w in draws]
    for w, c in zip(weights, groups, strict=True):
        if w.ndim != 2 or w.shape[1] != len(c) or w.shape[0] != weights[0].shape[0]:
            raise SerbiasError(
                f"spread: draws of shape {w.shape}, expected ({weights[0].shape[0]}, {len(c)})"
            )
    sums = [w @ c for w, c in zip(weights, groups, strict=True)]
    boot_values = np.stack([metric(s) for s in sums])  # G x B x K
    boot_variance = np.zeros(boot_values.shape[1:])
    for h, (w, c, s) in enumerate(zip(weights, groups, sums, strict=True)):
        rows, actors = np.nonzero(w)  # sorted by resample
        deleted = _deleted_at(s, c, rows, actors, metric)  # pairs x K
        theta = _deleted_spread(deleted, boot_values[:, rows], h)
        boot_variance += _drawn_variance(theta, rows, w[rows, actors], len(w))
    boot = boot_values.max(axis=0) - boot_values.min(axis=0)
    return _bootstrap_t(
        estimate, np.sqrt(variances.sum(axis=0)), df, boot, np.sqrt(boot_variance), confidence
    )


def _deleted_spread(deleted: np.ndarray, values: np.ndarray, h: int) -> np.ndarray:
    """The spread with group ``h``'s value replaced by each row of ``deleted``.

    ``values`` (G x rows x K) are the groups' values matching each row of ``deleted``.
    """
    others = np.delete(values, h, axis=0)
    return np.maximum(deleted, others.max(axis=0)) - np.minimum(deleted, others.min(axis=0))


def _stratum_variance(counts: np.ndarray, values: np.ndarray, h: int, metric: Metric) -> np.ndarray:
    """Group ``h``'s share of the stratified jackknife variance (K): its actors ``counts``
    deleted one at a time, the other groups at their ``values`` (G x K)."""
    n = len(counts)
    if n < 2:
        return np.zeros(values.shape[1])
    deleted = metric(counts.sum(axis=0) - counts)  # n x K
    theta = _deleted_spread(
        deleted, np.broadcast_to(values[:, None], (len(values), *deleted.shape)), h
    )
    return (n - 1) / n * ((theta - theta.mean(axis=0)) ** 2).sum(axis=0)
