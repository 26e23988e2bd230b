"""Intervals and tests that keep their level when a group has only a few actors.

Clips are nested in actors, and every audit metric is a function of summed per-actor count
vectors (:func:`serbias.audit._metrics.row_counts`). Deleting an actor, resampling actors or
relabelling them is therefore a matrix operation on those rows, vectorised over resamples
and over metrics. On top of that this module gives:

* delete-one-actor jackknife standard errors and t intervals: a group's metric, the gap
  between two groups (Welch-Satterthwaite df), a group against the overall set it belongs
  to, ratios (on the log scale) and the model-minus-listeners excess on the same actors;
* the studentized actor bootstrap (bootstrap-t), with the jackknife inside every resample;
* a studentized permutation test (exact over all labelings when they are few), the
  actor-level no-bias band and the minimum gap detectable with 80% power;
* a pooled interval for replica sets (replicas and actors resampled together).

Conventions: ``counts`` is (actors x count columns); ``metric(sums)`` maps (..., columns) to
(..., metrics) and is vectorised over leading axes (see :func:`count_metric`). Every
result holds one value per metric. Benjamini-Hochberg adjustment lives in
:func:`serbias.audit._findings.adjust_p_values`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np

from serbias.audit._metrics import metrics_from_counts
from serbias.errors import SerbiasError

__all__ = [
    "SE_FLOOR",
    "AxisBootstrap",
    "ChanceBand",
    "GroupBootstrap",
    "GroupJackknife",
    "Interval",
    "Metric",
    "PermutationTest",
    "RatioInterval",
    "ReplicaInterval",
    "actor_chance_band",
    "bootstrap_axis",
    "bootstrap_group",
    "count_metric",
    "excess_interval",
    "gap_interval",
    "group_interval",
    "jackknife",
    "labelings",
    "log_metric",
    "minimum_detectable_gap",
    "overall_differences",
    "paired_counts",
    "paired_metric",
    "ratio_interval",
    "replica_interval",
    "satterthwaite_df",
    "studentized_interval",
    "studentized_permutation_test",
]

#: Maps summed counts (..., columns) to metric values (..., metrics).
Metric = Callable[[np.ndarray], np.ndarray]

#: A standard error at or below this is exactly 0: the resample holds copies of one actor and
#: the scale-free metrics differ only by rounding when a copy is deleted.
SE_FLOOR = 1e-12
#: Deleted-sum rows evaluated at once (bounds memory at a few tens of MB).
_CHUNK_ROWS = 100_000


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


# --- metrics -------------------------------------------------------------------------------


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


# --- jackknife and t intervals ---------------------------------------------------------------


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


def minimum_detectable_gap(
    se: np.ndarray, df: np.ndarray, *, alpha: float = 0.05, power: float = 0.80
) -> np.ndarray:
    """Smallest gap a two-sided level-``alpha`` test finds with ``power``:
    ``(t(df, 1 - alpha / 2) + t(df, power)) * SE_d``."""
    from scipy import stats

    return (stats.t.ppf(1.0 - alpha / 2.0, df) + stats.t.ppf(power, df)) * np.asarray(se, float)


# --- studentized bootstrap -----------------------------------------------------------------


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


# --- permutation test and chance band --------------------------------------------------------


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


# --- replica sets ------------------------------------------------------------------------------


def replica_interval(
    group_counts: np.ndarray,
    reference_counts: np.ndarray,
    *,
    metric: Metric,
    n_boot: int,
    rng: np.random.Generator,
    confidence: float = 0.95,
) -> ReplicaInterval:
    """Mean gap over R replicas of one model scored on the same actors, and its interval.

    ``group_counts`` is (R x actors x columns): replica ``r``'s counts for each actor of the
    group (likewise the reference). The estimate is ``mean_r (m_r(A) - m_r(B))``. The
    two-level bootstrap draws R replicas with replacement and, independently, actors within
    each group (the same actors for every drawn replica: they are crossed, Owen 2007), so its
    SD pools model variation and speaker sampling. Percentile intervals shrink at few actors,
    so the recommended interval is ``estimate +/- t(nu) * SD*`` with ``nu`` the
    Satterthwaite df of the jackknife-over-actors and over-replicas variance components.
    """
    group_counts = _as_replica_counts(group_counts)
    reference_counts = _as_replica_counts(reference_counts)
    n_replicas = len(group_counts)
    if len(reference_counts) != n_replicas:
        raise SerbiasError(
            f"replica counts: {n_replicas} replicas for the group, "
            f"{len(reference_counts)} for the reference"
        )
    for name, counts in (("group", group_counts), ("reference", reference_counts)):
        empty = np.flatnonzero(counts.sum(axis=(1, 2)) == 0)
        if len(empty):
            raise SerbiasError(f"replica {int(empty[0])}: no scored clip in the {name}")
    per_replica = metric(group_counts.sum(axis=1)) - metric(reference_counts.sum(axis=1))
    estimate = per_replica.mean(axis=0)

    # Variance components: actors (delete actor i from every replica) and replicas.
    actor_variances = []
    for counts, sign in ((group_counts, 1.0), (reference_counts, -1.0)):
        totals = counts.sum(axis=1)
        deleted = metric(totals[:, None, :] - counts)  # (R, n, K)
        theta = (sign * (deleted - metric(totals)[:, None, :])).mean(axis=0)  # (n, K)
        n = counts.shape[1]
        actor_variances.append((n - 1) / n * ((theta - theta.mean(axis=0)) ** 2).sum(axis=0))
    replica_variance = (
        per_replica.var(axis=0, ddof=1) / n_replicas
        if n_replicas > 1
        else np.zeros(np.shape(estimate))
    )
    components = np.stack([*actor_variances, replica_variance])
    df = satterthwaite_df(
        components, [group_counts.shape[1], reference_counts.shape[1], n_replicas]
    )

    replica_draws = rng.multinomial(n_replicas, np.full(n_replicas, 1.0 / n_replicas), n_boot)
    boot = np.zeros((n_boot, *np.shape(estimate)))
    for counts, sign in ((group_counts, 1.0), (reference_counts, -1.0)):
        n = counts.shape[1]
        actors = rng.multinomial(n, np.full(n, 1.0 / n), n_boot).astype(float)
        sums = np.einsum("bn,rnm->brm", actors, counts)
        boot += sign * np.einsum("br,brk->bk", replica_draws, metric(sums)) / n_replicas
    se = boot.std(axis=0, ddof=1)
    from scipy import stats

    half = stats.t.ppf((1.0 + confidence) / 2.0, df) * se
    half = np.where(se <= SE_FLOOR, 0.0, half)
    tail = 100.0 * (1.0 - confidence) / 2.0
    percentile_low, percentile_high = np.percentile(boot, [tail, 100.0 - tail], axis=0)
    return ReplicaInterval(
        estimate=estimate,
        se=se,
        df=df,
        low=estimate - half,
        high=estimate + half,
        percentile_low=percentile_low,
        percentile_high=percentile_high,
        se_actors=np.sqrt(actor_variances[0] + actor_variances[1]),
        se_replicas=np.sqrt(replica_variance),
        n_replicas=n_replicas,
        method="two-level bootstrap-t(df)",
    )


# --- internals -------------------------------------------------------------------------------


def _as_counts(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or len(counts) == 0:
        raise SerbiasError(f"counts: shape {counts.shape}, expected (actors >= 1, columns)")
    return counts


def _as_replica_counts(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 3 or counts.shape[1] < 2:
        raise SerbiasError(
            f"replica counts: shape {counts.shape}, expected (replicas, actors >= 2, columns)"
        )
    return counts


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


def _members(groups: np.ndarray, n_actors: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sorted group labels and the row positions of each group's actors."""
    groups = np.asarray(groups)
    if groups.shape != (n_actors,):
        raise SerbiasError(f"groups: {groups.shape} labels for {n_actors} actors")
    labels, codes = np.unique(groups, return_inverse=True)
    return labels, [np.flatnonzero(codes == g) for g in range(len(labels))]


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


def _plain_overall_variance(counts: np.ndarray, members: np.ndarray, metric: Metric) -> np.ndarray:
    """Unstratified jackknife variance of ``m(G) - m(All)`` over every actor of All."""
    total, group_total = counts.sum(axis=0), counts[members].sum(axis=0)
    theta = np.repeat(np.asarray(metric(group_total))[None], len(counts), axis=0)
    theta[members] = metric(group_total - counts[members])
    theta = theta - metric(total - counts)
    n = len(counts)
    return (n - 1) / n * ((theta - theta.mean(axis=0)) ** 2).sum(axis=0)


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


def _band(gaps: np.ndarray, confidence: float) -> ChanceBand:
    _check_confidence(confidence)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(gaps, [tail, 100.0 - tail], axis=0)
    sd = gaps.std(axis=0, ddof=1) if len(gaps) > 1 else np.full(gaps.shape[1:], np.nan)
    return ChanceBand(gaps.mean(axis=0), sd, low, high, confidence, len(gaps))


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise SerbiasError(f"confidence: {confidence} is not in (0, 1)")
