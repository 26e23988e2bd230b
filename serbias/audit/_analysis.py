"""Per-group metrics, gaps, their actor-level uncertainty and the chance baseline of a scored set.

A scored set is one system's decisions against one target (or the human listeners'
responses against the intended emotion). Point estimates come from MetricFrame; intervals,
p-values and chance gaps from the count-based resampling in :mod:`._resampling`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from serbias.audit._baselines import chance_counts
from serbias.audit._groups import AXES, choose_reference, group_sizes
from serbias.audit._metrics import group_metrics, metric_names, metrics_from_counts
from serbias.audit._resampling import (
    ActorCounts,
    bootstrap_sums,
    percentile_interval,
    permutation_p_value,
    permutation_sums,
    rng_for,
)
from serbias.audit._scored import Scored
from serbias.errors import SerbiasError

BY_GROUP_COLUMNS = [
    "axis",
    "group",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "diff_to_overall",
    "diff_ci_low",
    "diff_ci_high",
    "n_clips",
    "n_actors",
    "flagged",
]
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
]


@dataclass(frozen=True)
class Resampling:
    """How uncertainty and the chance baseline are computed."""

    n_boot: int = 1000
    n_perm: int = 1000
    n_chance: int = 20
    seed: int = 0
    confidence: float = 0.95
    min_actors: int = 3

    def __post_init__(self) -> None:
        for name in ("n_boot", "n_perm"):
            if getattr(self, name) < 1:
                raise SerbiasError(f"{name}: {getattr(self, name)} must be at least 1")
        if self.n_chance < 0:
            raise SerbiasError(f"n_chance: {self.n_chance} must be >= 0")
        if not 0.0 < self.confidence < 1.0:
            raise SerbiasError(f"confidence: {self.confidence} is not in (0, 1)")
        if self.min_actors < 2:
            raise SerbiasError(f"min_actors: {self.min_actors} must be at least 2")


@dataclass(frozen=True)
class Analysis:
    """Everything computed for one scored set."""

    system: str
    target: str
    emotions: tuple[str, ...]
    sizes: pd.DataFrame
    references: dict[str, str | None]
    by_group: pd.DataFrame
    gaps: pd.DataFrame
    #: (axis, group, reference) -> (group actors, reference actors, bootstrap gaps B x metrics)
    boot_gaps: dict[tuple[str, str, str], tuple[tuple[int, ...], tuple[int, ...], np.ndarray]] = (
        field(default_factory=dict, repr=False)
    )


def analyse(
    scored: Scored,
    *,
    resampling: Resampling,
    references: Mapping[str, str] | None = None,
    preferred_references: Mapping[str, str | None] | None = None,
    axes: tuple[str, ...] = AXES,
) -> Analysis:
    """Metrics by group on every axis, gaps to each axis's reference group and between groups.

    ``references`` are required reference groups (an error when one cannot serve);
    ``preferred_references`` are used where they can serve, else the largest group is.
    Groups with fewer than ``min_actors`` actors are reported with their sizes but not compared.
    """
    references = dict(references or {})
    preferred = dict(preferred_references or {})
    names = metric_names(scored.emotions)
    k = len(scored.emotions)
    counts = scored.counts()
    sizes = group_sizes(
        scored.labels[list(axes)],
        scored.actor_id,
        scored.filenames,
        min_actors=resampling.min_actors,
    )
    chance = chance_counts(scored, n_chance=resampling.n_chance, seed=resampling.seed)
    by_group: list[pd.DataFrame] = []
    gaps: list[pd.DataFrame] = []
    boot_gaps: dict = {}
    chosen: dict[str, str | None] = {}
    for i, axis in enumerate(axes):
        result = _analyse_axis(
            scored,
            axis,
            counts,
            chance,
            sizes,
            (references.get(axis), preferred.get(axis)),
            resampling,
            names,
            k,
        )
        if i == 0:
            by_group.append(_overall_rows(scored, result.overall, counts, resampling, names, k))
        by_group.append(result.by_group)
        gaps.extend(result.gaps)
        boot_gaps.update(result.boot_gaps)
        chosen[axis] = result.reference
    return Analysis(
        system=scored.system,
        target=scored.target,
        emotions=scored.emotions,
        sizes=sizes,
        references=chosen,
        by_group=pd.concat(by_group, ignore_index=True)[BY_GROUP_COLUMNS],
        gaps=(pd.concat(gaps, ignore_index=True) if gaps else pd.DataFrame(columns=GAP_COLUMNS))[
            GAP_COLUMNS
        ],
        boot_gaps=boot_gaps,
    )


def group_point_metrics(scored: Scored, *, axes: tuple[str, ...] = AXES) -> pd.DataFrame:
    """Count-based metrics of every group (axis, group, metric, value): the fast path.

    Used where MetricFrame would be called hundreds of times (bootstrap replicas); it gives
    the same numbers (tested).
    """
    names = metric_names(scored.emotions)
    counts = scored.counts()
    frames = []
    for axis in axes:
        actor_group = _actor_groups(scored, axis, counts)
        for group in pd.unique(actor_group):
            summed = counts.counts[actor_group == group].sum(axis=0)
            values = metrics_from_counts(summed, len(scored.emotions))
            frames.append(
                pd.DataFrame({"axis": axis, "group": group, "metric": names, "value": values})
            )
    return pd.concat(frames, ignore_index=True)


@dataclass
class _AxisResult:
    by_group: pd.DataFrame
    gaps: list[pd.DataFrame]
    boot_gaps: dict
    reference: str | None
    overall: pd.Series


def _analyse_axis(
    scored: Scored,
    axis: str,
    counts: ActorCounts,
    chance: np.ndarray | None,
    sizes: pd.DataFrame,
    reference_choice: tuple[str | None, str | None],
    resampling: Resampling,
    names: list[str],
    k: int,
) -> _AxisResult:
    seed, confidence = resampling.seed, resampling.confidence
    axis_sizes = sizes[sizes["axis"] == axis].set_index("group")
    groups = list(axis_sizes.index)
    sensitive = scored.labels[axis].astype(str).to_numpy()
    by_group_all, overall = group_metrics(
        scored.y_true, scored.y_pred, sensitive, scored.emotions, weight=scored.weight
    )
    point = by_group_all.loc[groups]

    actor_group = _actor_groups(scored, axis, counts)
    members = {g: np.flatnonzero(actor_group == g) for g in groups}
    boot: dict[str, np.ndarray] = {}
    boot_total = 0.0
    for g in groups:
        sums = bootstrap_sums(
            counts.counts[members[g]], resampling.n_boot, rng_for(seed, "boot", axis, g)
        )
        boot_total = boot_total + sums
        boot[g] = metrics_from_counts(sums, k)
    boot_overall = metrics_from_counts(boot_total, k)
    chance_by_group = {}
    if chance is not None:
        chance_by_group = {
            g: metrics_from_counts(chance[:, members[g]].sum(axis=1), k) for g in groups
        }

    by_group = []
    for g in groups:
        n_actors = int(axis_sizes.loc[g, "n_actors"])
        low = high = diff_low = diff_high = np.full(len(names), np.nan)
        if n_actors >= 2:
            low, high = percentile_interval(boot[g], confidence)
            diff_low, diff_high = percentile_interval(boot[g] - boot_overall, confidence)
        by_group.append(
            pd.DataFrame(
                {
                    "axis": axis,
                    "group": g,
                    "metric": names,
                    "value": point.loc[g].to_numpy(),
                    "ci_low": low,
                    "ci_high": high,
                    "diff_to_overall": point.loc[g].to_numpy() - overall.to_numpy(),
                    "diff_ci_low": diff_low,
                    "diff_ci_high": diff_high,
                    "n_clips": int(axis_sizes.loc[g, "n_clips"]),
                    "n_actors": n_actors,
                    "flagged": bool(axis_sizes.loc[g, "flagged"]),
                }
            )
        )

    requested, preferred = reference_choice
    reference = choose_reference(sizes, axis, requested, preferred=preferred)
    gaps: list[pd.DataFrame] = []
    boot_gaps: dict = {}
    if reference is not None:
        for g in groups:
            if g == reference:
                continue
            common = dict(
                axis=axis,
                group=g,
                reference=reference,
                names=names,
                value=point.loc[g].to_numpy(),
                reference_value=point.loc[reference].to_numpy(),
                sizes=(axis_sizes.loc[g], axis_sizes.loc[reference]),
            )
            if axis_sizes.loc[g, "flagged"]:
                gaps.append(_gap_rows(**common, note=str(axis_sizes.loc[g, "reason"])))
                continue
            boot_gap = boot[g] - boot[reference]
            pool = np.concatenate([members[g], members[reference]])
            labels = np.repeat([0, 1], [len(members[g]), len(members[reference])])
            null = metrics_from_counts(
                permutation_sums(
                    counts.counts[pool],
                    labels,
                    2,
                    resampling.n_perm,
                    rng_for(seed, "perm", axis, g, reference),
                ),
                k,
            )
            observed = _group_metric(counts, members[g], k) - _group_metric(
                counts, members[reference], k
            )
            ratio_boot = _divide(boot[g], boot[reference])
            chance_gap = None
            if chance is not None:
                chance_gap = chance_by_group[g] - chance_by_group[reference]
            gaps.append(
                _gap_rows(
                    **common,
                    gap_ci=percentile_interval(boot_gap, confidence),
                    ratio_ci=percentile_interval(ratio_boot, confidence),
                    p_value=permutation_p_value(null[0] - null[1], observed),
                    chance=chance_gap,
                )
            )
            key = (axis, g, reference)
            boot_gaps[key] = (
                tuple(counts.actor_ids[members[g]]),
                tuple(counts.actor_ids[members[reference]]),
                boot_gap,
            )

    eligible = [g for g in groups if not axis_sizes.loc[g, "flagged"]]
    if len(eligible) >= 2:
        gaps.append(
            _between_groups(
                axis,
                point,
                eligible,
                members,
                counts,
                boot,
                chance_by_group,
                axis_sizes,
                resampling,
                names,
                k,
            )
        )
    return _AxisResult(pd.concat(by_group, ignore_index=True), gaps, boot_gaps, reference, overall)


def _between_groups(
    axis: str,
    point: pd.DataFrame,
    eligible: list[str],
    members: dict[str, np.ndarray],
    counts: ActorCounts,
    boot: dict[str, np.ndarray],
    chance_by_group: dict[str, np.ndarray],
    axis_sizes: pd.DataFrame,
    resampling: Resampling,
    names: list[str],
    k: int,
) -> pd.DataFrame:
    """Largest minus smallest group value among comparable groups, and smallest / largest.

    These are fairlearn's ``between_groups`` difference and ratio, restricted to groups with
    enough actors. The p-value is an omnibus permutation test: could shuffling actors among
    these groups produce a spread this large?
    """
    point = point.loc[eligible].to_numpy(dtype=float)
    difference = point.max(axis=0) - point.min(axis=0)
    ratio = _divide(point.min(axis=0), point.max(axis=0))
    highest = np.asarray(eligible)[point.argmax(axis=0)]
    lowest = np.asarray(eligible)[point.argmin(axis=0)]

    stacked = np.stack([boot[g] for g in eligible])
    spread = stacked.max(axis=0) - stacked.min(axis=0)
    ratio_boot = _divide(stacked.min(axis=0), stacked.max(axis=0))
    pool = np.concatenate([members[g] for g in eligible])
    labels = np.repeat(np.arange(len(eligible)), [len(members[g]) for g in eligible])
    null = metrics_from_counts(
        permutation_sums(
            counts.counts[pool],
            labels,
            len(eligible),
            resampling.n_perm,
            rng_for(resampling.seed, "perm", axis, "between_groups"),
        ),
        k,
    )
    observed_groups = np.stack([_group_metric(counts, members[g], k) for g in eligible])
    observed = observed_groups.max(axis=0) - observed_groups.min(axis=0)
    p_value = permutation_p_value(null.max(axis=0) - null.min(axis=0), observed, two_sided=False)
    chance_mean = chance_sd = np.full(len(names), np.nan)
    if chance_by_group:
        chance_stack = np.stack([chance_by_group[g] for g in eligible])
        chance_spread = chance_stack.max(axis=0) - chance_stack.min(axis=0)
        chance_mean, chance_sd = _mean_sd(chance_spread)
    gap_low, gap_high = percentile_interval(spread, resampling.confidence)
    ratio_low, ratio_high = percentile_interval(ratio_boot, resampling.confidence)
    n_actors = axis_sizes["n_actors"]
    n_clips = axis_sizes["n_clips"]
    return pd.DataFrame(
        {
            "axis": axis,
            "kind": "between_groups",
            "group": highest,
            "reference": lowest,
            "metric": names,
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
        }
    )


def _gap_rows(
    *,
    axis: str,
    group: str,
    reference: str,
    names: list[str],
    value: np.ndarray,
    reference_value: np.ndarray,
    sizes: tuple[pd.Series, pd.Series],
    gap_ci: tuple[np.ndarray, np.ndarray] | None = None,
    ratio_ci: tuple[np.ndarray, np.ndarray] | None = None,
    p_value: np.ndarray | None = None,
    chance: np.ndarray | None = None,
    note: str = "",
) -> pd.DataFrame:
    """Rows of one group-vs-reference comparison; a flagged group gets sizes and a note only."""
    blank = np.full(len(names), np.nan)
    flagged = gap_ci is None
    chance_mean, chance_sd = _mean_sd(chance) if chance is not None else (blank, blank)
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
            "ratio": blank if flagged else _divide(value, reference_value),
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
        }
    )


def _overall_rows(
    scored: Scored,
    overall: pd.Series,
    counts: ActorCounts,
    resampling: Resampling,
    names: list[str],
    k: int,
) -> pd.DataFrame:
    """All scored clips together, with an actor bootstrap over every actor."""
    n_actors = len(counts.actor_ids)
    low = high = np.full(len(names), np.nan)
    if n_actors >= 2:
        sums = bootstrap_sums(
            counts.counts, resampling.n_boot, rng_for(resampling.seed, "boot", "overall")
        )
        low, high = percentile_interval(metrics_from_counts(sums, k), resampling.confidence)
    nan = np.full(len(names), np.nan)
    return pd.DataFrame(
        {
            "axis": "overall",
            "group": "all",
            "metric": names,
            "value": overall.to_numpy(),
            "ci_low": low,
            "ci_high": high,
            "diff_to_overall": nan,
            "diff_ci_low": nan,
            "diff_ci_high": nan,
            "n_clips": scored.n_clips,
            "n_actors": n_actors,
            "flagged": False,
        }
    )


def _actor_groups(scored: Scored, axis: str, counts: ActorCounts) -> np.ndarray:
    """The group of every actor in ``counts`` on ``axis`` (actors sit in one group per axis)."""
    per_actor = (
        pd.Series(scored.labels[axis].astype(str).to_numpy()).groupby(scored.actor_id).first()
    )
    return per_actor.reindex(counts.actor_ids).to_numpy(dtype=object)


def _group_metric(counts: ActorCounts, rows: np.ndarray, k: int) -> np.ndarray:
    return metrics_from_counts(counts.counts[rows].sum(axis=0), k)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator != 0, numerator / np.where(denominator != 0, denominator, 1), np.nan
        )


def _mean_sd(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = samples.std(axis=0, ddof=1) if len(samples) > 1 else np.full(samples.shape[1:], np.nan)
    return samples.mean(axis=0), sd
