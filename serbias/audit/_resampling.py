"""Actor-level bootstrap and permutation, vectorised over per-actor confusion counts.

Clips are nested in actors (each actor records every emotion), so clips of one actor are
not independent: resampling clips understates the uncertainty of a group's metric. Both
procedures therefore move whole actors. Each actor's counts (TP, FP, FN per emotion,
items, exact matches) are summed once; a resample is then a weighted sum of those rows
(resample multiplicities @ per-actor counts) and every metric follows from the sums,
which is exactly what MetricFrame would compute on the resampled clips.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from serbias.audit._metrics import row_counts


@dataclass(frozen=True)
class ActorCounts:
    """Summed count vectors per actor: ``counts[i]`` belongs to ``actor_ids[i]`` (sorted)."""

    actor_ids: np.ndarray
    counts: np.ndarray


def actor_counts(
    y_true: np.ndarray, y_pred: np.ndarray, actor_id: np.ndarray, weight: np.ndarray | None = None
) -> ActorCounts:
    """Sum each actor's per-clip count vectors (see :func:`serbias.audit._metrics.row_counts`)."""
    actors, position = np.unique(np.asarray(actor_id), return_inverse=True)
    per_row = row_counts(y_true, y_pred, weight)
    counts = np.stack(
        [np.bincount(position, weights=column, minlength=len(actors)) for column in per_row.T],
        axis=1,
    )
    return ActorCounts(actors, counts)


def rng_for(seed: int, *purpose: str) -> np.random.Generator:
    """A generator derived from ``seed`` and a purpose such as ``("boot", "sex", "Female")``.

    Streams depend only on the seed and the purpose, not on which other axes or systems are
    audited, so the same group of actors gets the same resamples everywhere (which pairs
    a model's bootstrap with the human listeners' on the same actors).
    """
    key = zlib.crc32("\x1f".join(purpose).encode("utf-8"))
    return np.random.default_rng([int(seed), key])


def bootstrap_multiplicities(n_actors: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of ``n_actors`` actors is drawn in each resample (n_boot x n_actors).

    Drawing ``n_actors`` actors with replacement is a multinomial with equal probabilities.
    """
    return rng.multinomial(n_actors, np.full(n_actors, 1.0 / n_actors), size=n_boot)


def bootstrap_sums(group_counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Summed counts of ``n_boot`` actor resamples of one group (n_boot x count columns)."""
    multiplicities = bootstrap_multiplicities(len(group_counts), n_boot, rng)
    return multiplicities @ group_counts


def permutation_sums(
    pool_counts: np.ndarray,
    labels: np.ndarray,
    n_groups: int,
    n_perm: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Summed counts per group after shuffling group labels among actors (groups x n_perm x M).

    ``labels[i]`` (0..n_groups-1) is the group of the actor whose counts are ``pool_counts[i]``;
    each permutation keeps the group sizes in actors and moves whole actors.
    """
    shuffled = rng.permuted(np.tile(np.asarray(labels), (n_perm, 1)), axis=1)
    return np.stack([(shuffled == g).astype(float) @ pool_counts for g in range(n_groups)])


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval along axis 0."""
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(samples, [tail, 100.0 - tail], axis=0)
    return low, high


def permutation_p_value(
    null: np.ndarray, observed: np.ndarray, *, two_sided: bool = True
) -> np.ndarray:
    """``(b + 1) / (m + 1)``: b of m permuted statistics at least as extreme as the observed.

    The +1 counts the observed labelling itself, so p is never 0. A tolerance keeps
    floating-point ties (e.g. the identity permutation) counted as ties.
    """
    tolerance = 1e-12
    if two_sided:
        extreme = np.abs(null) >= np.abs(observed) - tolerance
    else:
        extreme = null >= observed - tolerance
    return (extreme.sum(axis=0) + 1.0) / (null.shape[0] + 1.0)
