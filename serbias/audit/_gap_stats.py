"""A gap's interval, test, no-bias band and detectable size under the chosen ``audit.interval``.

``jackknife`` and ``studentized`` (issue 13) take their intervals from
:mod:`serbias.audit._inference`, their p-value from the studentized permutation test (exact
over all labelings when they are at most ``n_perm``) and their chance band from the same
labelings of whole actors. ``percentile`` is the method before issue 13 and stays in
:mod:`serbias.audit._gaps`. The spread between groups and the model-minus-listeners excess
follow the same setting (:func:`spread_statistics`, :func:`paired_excess`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from serbias.audit import _inference as inference
from serbias.audit._resampling import bootstrap_multiplicities, percentile_interval, rng_for
from serbias.audit._spread import spread_interval

#: The level a gap's own test is read at (a headline also needs its BH-adjusted p below it).
ALPHA = 0.05

#: How each interval method is named in reports and audit.json.
METHODS = {
    "jackknife": {
        "interval": "delete-one-actor jackknife t interval (Welch-Satterthwaite df)",
        "test": "studentized permutation of actors (gap / jackknife SE; exact when few labelings)",
        "chance": "group membership shuffled among actors (each actor's clips kept together)",
    },
    "studentized": {
        "interval": "studentized actor bootstrap (bootstrap-t, jackknife SE inside each resample)",
        "test": "studentized permutation of actors (gap / jackknife SE; exact when few labelings)",
        "chance": "group membership shuffled among actors (each actor's clips kept together)",
    },
    "percentile": {
        "interval": "percentile actor bootstrap",
        "test": "permutation of actors (raw gap)",
        "chance": "chance model: clips' decisions shuffled within each target emotion",
    },
}


@dataclass(frozen=True)
class BootGap:
    """A gap's actors, their count vectors and its percentile-bootstrap resamples.

    Two gaps are paired (their difference, the model-minus-listeners excess, gets an interval)
    when both were resampled on the same actors, as a model's and the listeners' are.
    ``samples`` are the gap's bootstrap values (n_boot x metrics); ``counts`` and
    ``reference_counts`` the two groups' per-actor count vectors (rows in ``actors`` order);
    ``interval`` the ``audit.interval`` method, and with ``studentized`` ``draws`` are the two
    groups' bootstrap multiplicities (the same streams as ``samples``).
    """

    actors: tuple[int, ...]
    reference_actors: tuple[int, ...]
    samples: np.ndarray
    counts: np.ndarray
    reference_counts: np.ndarray
    interval: str = "percentile"
    draws: tuple[np.ndarray, np.ndarray] | None = None

    def pairs_with(self, other: BootGap) -> bool:
        """Same actors in both groups (so the two gaps can be differenced actor by actor)."""
        return self.actors == other.actors and self.reference_actors == other.reference_actors


@dataclass(frozen=True)
class GapStatistics:
    """One group-vs-reference comparison, one value per metric.

    ``resolvable`` is False when the smallest attainable p is above :data:`ALPHA`; the interval
    is then left out (NaN) and ``note`` says why.
    """

    ci_low: np.ndarray
    ci_high: np.ndarray
    ratio_ci_low: np.ndarray
    ratio_ci_high: np.ndarray
    p_value: np.ndarray
    chance_gap: np.ndarray
    chance_sd: np.ndarray
    se: np.ndarray
    df: np.ndarray
    min_detectable_gap: np.ndarray
    resolvable: bool
    note: str


def group_resamples(
    counts: np.ndarray,
    *,
    actor_group: np.ndarray,
    groups: list[str],
    n_emotions: int,
    n_boot: int,
    seed: int,
    axis: str,
) -> inference.AxisBootstrap:
    """Bootstrap-t resamples of every group of an axis, drawn from the percentile bootstrap's
    streams (``rng_for(seed, "boot", axis, group)``), so both methods see the same resamples."""
    multiplicities = {
        g: bootstrap_multiplicities(
            int((actor_group == g).sum()), n_boot, rng_for(seed, "boot", axis, g)
        )
        for g in groups
    }
    return inference.bootstrap_axis(
        counts,
        groups=actor_group,
        metric=inference.count_metric(n_emotions),
        multiplicities=multiplicities,
    )


def gap_statistics(
    group_counts: np.ndarray,
    reference_counts: np.ndarray,
    *,
    n_emotions: int,
    interval: str,
    n_perm: int,
    rng: np.random.Generator,
    confidence: float,
    resamples: tuple[inference.GroupBootstrap, inference.GroupBootstrap] | None = None,
) -> GapStatistics:
    """``m(group) - m(reference)`` under ``interval`` (``jackknife`` or ``studentized``; the
    latter needs ``resamples``, the two groups' :class:`~inference.GroupBootstrap`)."""
    metric = inference.count_metric(n_emotions)
    group = inference.jackknife(group_counts, metric=metric)
    reference = inference.jackknife(reference_counts, metric=metric)
    if interval == "studentized":
        if resamples is None:
            raise ValueError("studentized gap statistics need the groups' resamples")
        found = inference.studentized_interval(
            group,
            resamples[0],
            reference=reference,
            reference_resamples=resamples[1],
            confidence=confidence,
        )
    else:
        found = inference.gap_interval(group, reference, confidence=confidence)
    ratio = inference.ratio_interval(
        group_counts, reference_counts, metric=metric, confidence=confidence
    )
    test = inference.studentized_permutation_test(
        group_counts,
        reference_counts,
        metric=metric,
        n_perm=n_perm,
        rng=rng,
        alpha=ALPHA,
        confidence=confidence,
    )
    blank = np.full(np.shape(found.estimate), np.nan)
    keep = test.resolvable
    return GapStatistics(
        ci_low=found.low if keep else blank,
        ci_high=found.high if keep else blank,
        ratio_ci_low=ratio.low if keep else blank,
        ratio_ci_high=ratio.high if keep else blank,
        p_value=test.p_value,
        chance_gap=test.chance.mean,
        chance_sd=test.chance.sd,
        se=found.se,
        df=found.df,
        min_detectable_gap=inference.minimum_detectable_gap(found.se, found.df, alpha=ALPHA),
        resolvable=keep,
        note=test.note,
    )


def group_interval(
    group_counts: np.ndarray,
    *,
    n_emotions: int,
    confidence: float,
    resamples: inference.GroupBootstrap | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A group's metric interval: jackknife t, or bootstrap-t with ``resamples``."""
    sample = inference.jackknife(group_counts, metric=inference.count_metric(n_emotions))
    if resamples is None:
        found = inference.group_interval(sample, confidence=confidence)
    else:
        found = inference.studentized_interval(sample, resamples, confidence=confidence)
    return found.low, found.high


def spread_statistics(
    group_counts: Sequence[np.ndarray],
    *,
    n_emotions: int,
    interval: str,
    confidence: float,
    draws: Sequence[np.ndarray] | None = None,
) -> tuple[inference.Interval, tuple[np.ndarray, np.ndarray]]:
    """The largest-minus-smallest spread's interval (with its SE and df) and the interval of
    the smallest / largest ratio.

    ``jackknife``: stratified jackknife t; ``studentized``: bootstrap-t with ``draws`` (each
    group's multiplicities). The ratio's interval is the log-scale spread's, back-transformed:
    ``min / max = exp(-(max log m - min log m))``.
    """
    metric = inference.count_metric(n_emotions)
    if interval == "studentized" and draws is None:
        raise ValueError("studentized spread statistics need the groups' draws")
    chosen = draws if interval == "studentized" else None
    spread = spread_interval(group_counts, metric=metric, confidence=confidence, draws=chosen)
    logged = spread_interval(
        group_counts, metric=inference.log_metric(metric), confidence=confidence, draws=chosen
    )
    return spread, (np.exp(-logged.high), np.exp(-logged.low))


def paired_excess(
    model: BootGap, human: BootGap, *, n_emotions: int, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of the model's gap minus the listeners' gap on the same actors.

    ``percentile``: the paired resamples' differences; ``jackknife``: the paired statistic
    jackknifed (deleting an actor from both systems), Welch df over the two groups;
    ``studentized``: bootstrap-t of the same statistic on the model's draws.
    """
    if not model.pairs_with(human):
        raise ValueError("paired excess: the model and the listeners have different actors")
    if model.interval == "percentile":
        return percentile_interval(model.samples - human.samples, confidence)
    metric = inference.count_metric(n_emotions)
    if model.interval != "studentized":
        found = inference.excess_interval(
            model.counts,
            human.counts,
            metric=metric,
            model_reference=model.reference_counts,
            human_reference=human.reference_counts,
            confidence=confidence,
        )
        return found.low, found.high
    if model.draws is None:
        raise ValueError("studentized paired excess needs the model's draws")
    paired = inference.paired_metric(metric, n_columns=np.shape(model.counts)[1])
    group = inference.paired_counts(model.counts, human.counts)
    reference = inference.paired_counts(model.reference_counts, human.reference_counts)
    found = inference.studentized_interval(
        inference.jackknife(group, metric=paired),
        inference.bootstrap_group(group, metric=paired, multiplicities=model.draws[0]),
        reference=inference.jackknife(reference, metric=paired),
        reference_resamples=inference.bootstrap_group(
            reference, metric=paired, multiplicities=model.draws[1]
        ),
        confidence=confidence,
    )
    return found.low, found.high
