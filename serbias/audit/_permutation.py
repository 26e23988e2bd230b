"""Studentized permutation test of a gap (exact over all labelings when they are few) and
the actor-level no-bias band of the same labelings."""

from __future__ import annotations

import itertools
import math

import numpy as np

from serbias.audit._estimates import (
    _CHUNK_ROWS,
    ChanceBand,
    Metric,
    PermutationTest,
    _as_counts,
    _check_confidence,
    _studentize,
)
from serbias.errors import SerbiasError


def labelings(
    n_group: int, n_reference: int, *, n_perm: int, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Group masks (labelings x actors) over the pooled actors, and whether they are exact.

    All ``C(n_group + n_reference, n_group)`` labelings when that is at most ``n_perm``
    (the identity included), else ``n_perm`` random ones.
    """
    n = n_group + n_reference
    total = math.comb(n, n_group)
    if total <= n_perm:
        masks = np.zeros((total, n), bool)
        for row, chosen in enumerate(itertools.combinations(range(n), n_group)):
            masks[row, list(chosen)] = True
        return masks, True
    base = np.arange(n) < n_group
    return rng.permuted(np.tile(base, (n_perm, 1)), axis=1), False


def studentized_permutation_test(
    group_counts: np.ndarray,
    reference_counts: np.ndarray,
    *,
    metric: Metric,
    n_perm: int,
    rng: np.random.Generator,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> PermutationTest:
    """Permute group labels among actors, comparing ``T = d / SE_d`` (Janssen 1997).

    ``SE_d`` is the jackknife SE recomputed in every labeling, which keeps the test valid for
    equal means when group sizes and spreads differ (Chung and Romano 2013); a raw-gap
    permutation test only is for fully exchangeable actors. Two-sided p: exact
    ``#{|T_pi| >= |T|} / C(n, n_A)`` when all labelings are enumerated, else ``(b + 1) / (m + 1)``.
    """
    group_counts, reference_counts = _as_counts(group_counts), _as_counts(reference_counts)
    n_group, n_reference = len(group_counts), len(reference_counts)
    if n_group < 2 or n_reference < 2:
        raise SerbiasError(
            f"permutation test: {n_group} vs {n_reference} actors, expected at least 2 each"
        )
    pool = np.concatenate([group_counts, reference_counts])
    observed_gap, observed_var = _split_moments(
        pool, (np.arange(len(pool)) < n_group)[None], metric
    )
    masks, exact = labelings(n_group, n_reference, n_perm=n_perm, rng=rng)
    null_gap, null_var = _split_moments(pool, masks, metric)
    observed = _studentize(observed_gap[0], observed_var[0])
    null = _studentize(null_gap, null_var)
    tolerance = 1e-9 * np.maximum(1.0, np.abs(np.nan_to_num(observed, posinf=0.0, neginf=0.0)))
    extreme = (np.abs(null) >= np.abs(observed) - tolerance).sum(axis=0)
    n_labelings = len(masks)
    if exact:
        p_value = extreme / n_labelings
        min_p = (2.0 if n_group == n_reference else 1.0) / n_labelings
    else:
        p_value = (extreme + 1.0) / (n_labelings + 1.0)
        min_p = 1.0 / (n_labelings + 1.0)
    p_value = np.where(np.isnan(observed), np.nan, p_value)
    resolvable = min_p <= alpha
    note = ""
    if not resolvable:
        note = (
            f"cannot be resolved with {n_group} vs {n_reference} actors: "
            f"the smallest attainable p is {min_p:.3g} > {alpha:g}"
        )
    return PermutationTest(
        gap=observed_gap[0],
        statistic=observed,
        p_value=p_value,
        n_labelings=n_labelings,
        exact=exact,
        min_p=min_p,
        resolvable=resolvable,
        note=note,
        chance=_band(null_gap, confidence),
    )


def actor_chance_band(
    group_counts: np.ndarray,
    reference_counts: np.ndarray,
    *,
    metric: Metric,
    n_perm: int,
    rng: np.random.Generator,
    confidence: float = 0.95,
) -> ChanceBand:
    """The gap's spread when group membership is shuffled among actors.

    Whole actors keep their clips, so the band has the actor-to-actor noise of a real gap
    ("group does not matter"); shuffling clips instead gives a band 2-3x too narrow. Uses
    the same labelings as :func:`studentized_permutation_test` for the same ``rng`` state.
    """
    group_counts, reference_counts = _as_counts(group_counts), _as_counts(reference_counts)
    pool = np.concatenate([group_counts, reference_counts])
    masks, _ = labelings(len(group_counts), len(reference_counts), n_perm=n_perm, rng=rng)
    in_group = masks.astype(float) @ pool
    gaps = metric(in_group) - metric(pool.sum(axis=0) - in_group)
    return _band(gaps, confidence)


def _split_moments(
    pool: np.ndarray, masks: np.ndarray, metric: Metric
) -> tuple[np.ndarray, np.ndarray]:
    """Gap ``m(A) - m(B)`` and its jackknife variance for each labeling (labelings x K).

    Row ``l`` of ``masks`` marks the actors in A; each actor is deleted from its own group.
    """
    masks = np.asarray(masks, bool)
    n_a = int(masks[0].sum())
    n_b = masks.shape[1] - n_a
    total = pool.sum(axis=0)
    per_chunk = max(1, _CHUNK_ROWS // masks.shape[1])
    gaps, variances = [], []
    for start in range(0, len(masks), per_chunk):
        in_a = masks[start : start + per_chunk]
        sums_a = in_a.astype(float) @ pool
        sums_b = total - sums_a
        own = np.where(in_a[..., None], sums_a[:, None, :], sums_b[:, None, :])
        own -= pool[None]  # each actor's own group's sum, less the actor
        deleted = metric(own)
        deleted -= deleted[:, :1].copy()  # shift per row, so squares do not cancel
        weights = in_a.astype(float)[:, None, :]
        total_a, total_all = (weights @ deleted)[:, 0], deleted.sum(axis=1)
        np.square(deleted, out=deleted)
        squares_a, squares_all = (weights @ deleted)[:, 0], deleted.sum(axis=1)
        variance = 0.0
        for n, first, second in (
            (n_a, total_a, squares_a),
            (n_b, total_all - total_a, squares_all - squares_a),
        ):
            variance = variance + (n - 1) / n * np.maximum(second - first**2 / n, 0.0)
        gaps.append(metric(sums_a) - metric(sums_b))
        variances.append(variance)
    return np.concatenate(gaps), np.concatenate(variances)


def _band(gaps: np.ndarray, confidence: float) -> ChanceBand:
    _check_confidence(confidence)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(gaps, [tail, 100.0 - tail], axis=0)
    sd = gaps.std(axis=0, ddof=1) if len(gaps) > 1 else np.full(gaps.shape[1:], np.nan)
    return ChanceBand(gaps.mean(axis=0), sd, low, high, confidence, len(gaps))
