"""A pooled interval for replica sets: replicas and actors resampled together."""

from __future__ import annotations

import numpy as np

from serbias.audit._estimates import SE_FLOOR, Metric, ReplicaInterval, satterthwaite_df
from serbias.errors import SerbiasError


def replica_interval(
    group_counts: np.ndarray,
    reference_counts: np.ndarray | None,
    *,
    metric: Metric,
    n_boot: int,
    rng: np.random.Generator,
    confidence: float = 0.95,
) -> ReplicaInterval:
    """Mean gap over R replicas of one model scored on the same actors, and its interval
    (``reference_counts`` None: the group's own mean metric).

    ``group_counts`` is (R x actors x columns): replica ``r``'s counts for each actor of the
    group (likewise the reference). The estimate is ``mean_r (m_r(A) - m_r(B))``. The
    two-level bootstrap draws R replicas with replacement and, independently, actors within
    each group (the same actors for every drawn replica: they are crossed, Owen 2007), so its
    SD pools model variation and speaker sampling. Percentile intervals shrink at few actors,
    so the recommended interval is ``estimate +/- t(nu) * SD*`` with ``nu`` the
    Satterthwaite df of the jackknife-over-actors and over-replicas variance components.
    """
    parts = [(_as_replica_counts(group_counts), 1.0, "group")]
    if reference_counts is not None:
        parts.append((_as_replica_counts(reference_counts), -1.0, "reference"))
    n_replicas = len(parts[0][0])
    if any(len(counts) != n_replicas for counts, _, _ in parts):
        raise SerbiasError(
            f"replica counts: {n_replicas} replicas for the group, "
            f"{len(parts[1][0])} for the reference"
        )
    for counts, _, name in parts:
        empty = np.flatnonzero(counts.sum(axis=(1, 2)) == 0)
        if len(empty):
            raise SerbiasError(f"replica {int(empty[0])}: no scored clip in the {name}")
    per_replica = sum(sign * metric(counts.sum(axis=1)) for counts, sign, _ in parts)
    estimate = per_replica.mean(axis=0)

    # Variance components: actors (delete actor i from every replica) and replicas.
    actor_variances = []
    for counts, sign, _ in parts:
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
    df = satterthwaite_df(components, [*(counts.shape[1] for counts, _, _ in parts), n_replicas])

    replica_draws = rng.multinomial(n_replicas, np.full(n_replicas, 1.0 / n_replicas), n_boot)
    boot = np.zeros((n_boot, *np.shape(estimate)))
    for counts, sign, _ in parts:
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
        se_actors=np.sqrt(sum(actor_variances)),
        se_replicas=np.sqrt(replica_variance),
        n_replicas=n_replicas,
        method="two-level bootstrap-t(df)",
    )


def _as_replica_counts(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 3 or counts.shape[1] < 2:
        raise SerbiasError(
            f"replica counts: shape {counts.shape}, expected (replicas, actors >= 2, columns)"
        )
    return counts
