"""Gaps on one axis of a scored set: each group against the reference, and the spread.

A gap is a group's metric minus its reference group's; its interval, p-value and no-bias band
come from the ``audit.interval`` method (:mod:`._gap_stats`; ``percentile``: the groups'
percentile actor bootstraps, a raw-gap permutation of actors and the clip-shuffling chance
model), with the smallest gap detectable at this design beside it. The spread is
fairlearn's ``between_groups`` difference and ratio
over the groups with enough actors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from serbias.audit import _inference as inference
from serbias.audit._gap_stats import BootGap, gap_statistics, spread_statistics
from serbias.audit._metrics import metrics_from_counts
from serbias.audit._resampling import (
    ActorCounts,
    bootstrap_multiplicities,
    percentile_interval,
    permutation_p_value,
    permutation_sums,
    rng_for,
)

GAP_COLUMNS = [
    "axis",
    "kind",
    "group",
    "reference",
    "metric",
    "value",
    "reference_value",
    "gap",
    "ci_low",
    "ci_high",
    "ratio",
    "ratio_ci_low",
    "ratio_ci_high",
    "p_value",
    "chance_gap",
    "chance_sd",
    "n_actors",
    "n_actors_reference",
    "n_clips",
    "n_clips_reference",
    "flagged",
    "note",
    "se",
    "df",
    "min_detectable_gap",
    "resolvable",
    "interval_method",
]


@dataclass(frozen=True)
class AxisSamples:
    """One axis of a scored set: each group's actors, point values, bootstrap and chance-model
    metrics."""

    axis: str
    names: list[str]
    n_emotions: int
    counts: ActorCounts
    #: groups x metrics (MetricFrame), and every scored clip's
    point: pd.DataFrame
    overall: pd.Series
    #: by group: n_clips, n_actors, flagged, reason
    sizes: pd.DataFrame
    #: group -> rows of ``counts`` (its actors)
    members: dict[str, np.ndarray]
    #: group -> n_boot x metrics, and all the groups' actors together
    boot: dict[str, np.ndarray]
    boot_overall: np.ndarray
    #: group -> n_chance x metrics; empty without a chance model
    chance: dict[str, np.ndarray]
    n_perm: int
    seed: int
    confidence: float
    #: ``audit.interval``; with ``studentized``, every group's bootstrap-t resamples
    interval: str = "percentile"
    resamples: inference.AxisBootstrap | None = None

    def draws(self, group: str) -> np.ndarray:
        """The group's bootstrap multiplicities (resamples x its actors), from the same stream
        as :attr:`boot`."""
        return bootstrap_multiplicities(
            len(self.members[group]),
            len(self.boot[group]),
            rng_for(self.seed, "boot", self.axis, group),
        )

    def group_metric(self, group: str) -> np.ndarray:
        """A group's metrics from its summed counts (equal to :attr:`point`, tested)."""
        return metrics_from_counts(
            self.counts.counts[self.members[group]].sum(axis=0), self.n_emotions
        )


def reference_gaps(
    samples: AxisSamples, reference: str
) -> tuple[list[pd.DataFrame], dict[tuple[str, str, str], BootGap]]:
    """Rows of every group against ``reference``, and each compared group's bootstrap gaps."""
    s = samples
    gaps: list[pd.DataFrame] = []
    boot_gaps: dict[tuple[str, str, str], BootGap] = {}
    for g in s.sizes.index:
        if g == reference:
            continue
        common = dict(
            axis=s.axis,
            group=g,
            reference=reference,
            names=s.names,
            interval=s.interval,
            value=s.point.loc[g].to_numpy(),
            reference_value=s.point.loc[reference].to_numpy(),
            sizes=(s.sizes.loc[g], s.sizes.loc[reference]),
        )
        if s.sizes.loc[g, "flagged"]:
            gaps.append(_gap_rows(**common, note=str(s.sizes.loc[g, "reason"])))
            continue
        boot_gap = s.boot[g] - s.boot[reference]
        if s.interval == "percentile":
            gaps.append(_gap_rows(**common, **_percentile_gap(s, g, reference, boot_gap)))
        else:
            found = gap_statistics(
                s.counts.counts[s.members[g]],
                s.counts.counts[s.members[reference]],
                n_emotions=s.n_emotions,
                interval=s.interval,
                n_perm=s.n_perm,
                rng=rng_for(s.seed, "perm", s.axis, g, reference),
                confidence=s.confidence,
                resamples=None
                if s.resamples is None
                else (s.resamples.groups[g], s.resamples.groups[reference]),
            )
            gaps.append(
                _gap_rows(
                    **common,
                    gap_ci=(found.ci_low, found.ci_high),
                    ratio_ci=(found.ratio_ci_low, found.ratio_ci_high),
                    p_value=found.p_value,
                    chance_band=(found.chance_gap, found.chance_sd),
                    power=(found.se, found.df, found.min_detectable_gap),
                    resolvable=found.resolvable,
                    note=found.note,
                )
            )
        boot_gaps[(s.axis, g, reference)] = BootGap(
            tuple(s.counts.actor_ids[s.members[g]]),
            tuple(s.counts.actor_ids[s.members[reference]]),
            boot_gap,
            counts=s.counts.counts[s.members[g]],
            reference_counts=s.counts.counts[s.members[reference]],
            interval=s.interval,
            draws=(s.draws(g), s.draws(reference)) if s.interval == "studentized" else None,
        )
    return gaps, boot_gaps


def _percentile_gap(s: AxisSamples, g: str, reference: str, boot_gap: np.ndarray) -> dict:
    """Today's gap statistics: percentile interval, raw-gap permutation p, clip chance model."""
    pool = np.concatenate([s.members[g], s.members[reference]])
    labels = np.repeat([0, 1], [len(s.members[g]), len(s.members[reference])])
    null = metrics_from_counts(
        permutation_sums(
            s.counts.counts[pool],
            labels,
            2,
            s.n_perm,
            rng_for(s.seed, "perm", s.axis, g, reference),
        ),
        s.n_emotions,
    )
    observed = s.group_metric(g) - s.group_metric(reference)
    # the jackknife SE and df give the detectable gap whichever interval is reported
    metric = inference.count_metric(s.n_emotions)
    jack = inference.gap_interval(
        inference.jackknife(s.counts.counts[s.members[g]], metric=metric),
        inference.jackknife(s.counts.counts[s.members[reference]], metric=metric),
        confidence=s.confidence,
    )
    return dict(
        gap_ci=percentile_interval(boot_gap, s.confidence),
        ratio_ci=percentile_interval(divide(s.boot[g], s.boot[reference]), s.confidence),
        p_value=permutation_p_value(null[0] - null[1], observed),
        chance=s.chance[g] - s.chance[reference] if s.chance else None,
        power=(jack.se, jack.df, inference.minimum_detectable_gap(jack.se, jack.df)),
    )


def between_groups(samples: AxisSamples, eligible: list[str]) -> pd.DataFrame:
    """Largest minus smallest group value among comparable groups, and smallest / largest.

    These are fairlearn's ``between_groups`` difference and ratio, restricted to groups with
    enough actors. Their intervals follow ``audit.interval`` (percentile actor bootstrap, or
    :func:`~serbias.audit._gap_stats.spread_statistics`). The p-value is an omnibus
    permutation test: could shuffling actors among these groups produce a spread this large?
    Outside ``percentile`` the no-bias band is that of the same shuffles of whole actors.
    """
    s = samples
    point = s.point.loc[eligible].to_numpy(dtype=float)
    difference = point.max(axis=0) - point.min(axis=0)
    ratio = divide(point.min(axis=0), point.max(axis=0))
    highest = np.asarray(eligible)[point.argmax(axis=0)]
    lowest = np.asarray(eligible)[point.argmin(axis=0)]

    pool = np.concatenate([s.members[g] for g in eligible])
    labels = np.repeat(np.arange(len(eligible)), [len(s.members[g]) for g in eligible])
    null = metrics_from_counts(
        permutation_sums(
            s.counts.counts[pool],
            labels,
            len(eligible),
            s.n_perm,
            rng_for(s.seed, "perm", s.axis, "between_groups"),
        ),
        s.n_emotions,
    )
    observed_groups = np.stack([s.group_metric(g) for g in eligible])
    observed = observed_groups.max(axis=0) - observed_groups.min(axis=0)
    null_spread = null.max(axis=0) - null.min(axis=0)
    p_value = permutation_p_value(null_spread, observed, two_sided=False)
    chance_mean = chance_sd = se = df = np.full(len(s.names), np.nan)
    if s.interval != "percentile":
        chance_mean, chance_sd = _mean_sd(null_spread)
        found, (ratio_low, ratio_high) = spread_statistics(
            [s.counts.counts[s.members[g]] for g in eligible],
            n_emotions=s.n_emotions,
            interval=s.interval,
            confidence=s.confidence,
            draws=[s.draws(g) for g in eligible] if s.interval == "studentized" else None,
        )
        gap_low, gap_high, se, df = found.low, found.high, found.se, found.df
    else:
        if s.chance:
            chance_stack = np.stack([s.chance[g] for g in eligible])
            chance_spread = chance_stack.max(axis=0) - chance_stack.min(axis=0)
            chance_mean, chance_sd = _mean_sd(chance_spread)
        stacked = np.stack([s.boot[g] for g in eligible])
        gap_low, gap_high = percentile_interval(
            stacked.max(axis=0) - stacked.min(axis=0), s.confidence
        )
        ratio_low, ratio_high = percentile_interval(
            divide(stacked.min(axis=0), stacked.max(axis=0)), s.confidence
        )
    n_actors = s.sizes["n_actors"]
    n_clips = s.sizes["n_clips"]
    return pd.DataFrame(
        {
            "axis": s.axis,
            "kind": "between_groups",
            "group": highest,
            "reference": lowest,
            "metric": s.names,
            "value": point.max(axis=0),
            "reference_value": point.min(axis=0),
            "gap": difference,
            "ci_low": gap_low,
            "ci_high": gap_high,
            "ratio": ratio,
            "ratio_ci_low": ratio_low,
            "ratio_ci_high": ratio_high,
            "p_value": p_value,
            "chance_gap": chance_mean,
            "chance_sd": chance_sd,
            "n_actors": n_actors.loc[highest].to_numpy(),
            "n_actors_reference": n_actors.loc[lowest].to_numpy(),
            "n_clips": n_clips.loc[highest].to_numpy(),
            "n_clips_reference": n_clips.loc[lowest].to_numpy(),
            "flagged": False,
            "note": f"spread over {len(eligible)} groups: {', '.join(eligible)}",
            "se": se,
            "df": df,
            "min_detectable_gap": np.nan,
            "resolvable": True,
            "interval_method": s.interval,
        }
    )


def divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ratio; NaN where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator != 0, numerator / np.where(denominator != 0, denominator, 1), np.nan
        )


def _gap_rows(
    *,
    axis: str,
    group: str,
    reference: str,
    names: list[str],
    interval: str,
    value: np.ndarray,
    reference_value: np.ndarray,
    sizes: tuple[pd.Series, pd.Series],
    gap_ci: tuple[np.ndarray, np.ndarray] | None = None,
    ratio_ci: tuple[np.ndarray, np.ndarray] | None = None,
    p_value: np.ndarray | None = None,
    chance: np.ndarray | None = None,
    chance_band: tuple[np.ndarray, np.ndarray] | None = None,
    power: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    resolvable: bool = True,
    note: str = "",
) -> pd.DataFrame:
    """Rows of one group-vs-reference comparison; a flagged group gets sizes and a note only.

    ``chance`` are chance-model gaps (summarised by mean and SD), ``chance_band`` an
    actor-level band's mean and SD; ``power`` is the gap's SE, df and minimum detectable gap;
    ``interval`` the ``audit.interval`` method the row's intervals come from.
    """
    blank = np.full(len(names), np.nan)
    flagged = gap_ci is None
    chance_mean, chance_sd = _mean_sd(chance) if chance is not None else (blank, blank)
    if chance_band is not None:
        chance_mean, chance_sd = chance_band
    se, df, detectable = power if power is not None else (blank, blank, blank)
    group_sizes_, reference_sizes = sizes
    return pd.DataFrame(
        {
            "axis": axis,
            "kind": "vs_reference",
            "group": group,
            "reference": reference,
            "metric": names,
            "value": value,
            "reference_value": reference_value,
            "gap": blank if flagged else value - reference_value,
            "ci_low": blank if flagged else gap_ci[0],
            "ci_high": blank if flagged else gap_ci[1],
            "ratio": blank if flagged else divide(value, reference_value),
            "ratio_ci_low": blank if flagged else ratio_ci[0],
            "ratio_ci_high": blank if flagged else ratio_ci[1],
            "p_value": blank if flagged else p_value,
            "chance_gap": chance_mean,
            "chance_sd": chance_sd,
            "n_actors": int(group_sizes_["n_actors"]),
            "n_actors_reference": int(reference_sizes["n_actors"]),
            "n_clips": int(group_sizes_["n_clips"]),
            "n_clips_reference": int(reference_sizes["n_clips"]),
            "flagged": flagged,
            "note": note,
            "se": se,
            "df": df,
            "min_detectable_gap": detectable,
            "resolvable": resolvable and not flagged,
            "interval_method": interval,
        }
    )


def _mean_sd(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = samples.std(axis=0, ddof=1) if len(samples) > 1 else np.full(samples.shape[1:], np.nan)
    return samples.mean(axis=0), sd
