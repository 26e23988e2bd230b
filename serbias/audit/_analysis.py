"""Per-group metrics, gaps, their actor-level uncertainty and the chance baseline of a scored set.

A scored set is one system's decisions against one target (or the human listeners'
responses against the intended emotion). Point estimates come from MetricFrame; intervals,
p-values and chance gaps from the ``audit.interval`` method on per-actor counts
(:mod:`._gap_stats`, :mod:`._inference`; ``percentile``: :mod:`._resampling`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from serbias.audit import _inference as inference
from serbias.audit._axes import AXES, Axis
from serbias.audit._baselines import chance_counts
from serbias.audit._gap_stats import group_interval, group_resamples
from serbias.audit._gaps import GAP_COLUMNS, AxisSamples, BootGap, between_groups, reference_gaps
from serbias.audit._groups import choose_reference, group_sizes
from serbias.audit._metrics import group_metrics, metric_names, metrics_from_counts
from serbias.audit._resampling import (
    ActorCounts,
    bootstrap_multiplicities,
    bootstrap_sums,
    percentile_interval,
    rng_for,
)
from serbias.audit._scored import Scored
from serbias.audit._speakers import actor_table
from serbias.audit.settings import AuditParams

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


@dataclass(frozen=True)
class Resampling:
    """How uncertainty and the chance baseline are computed: the part of the settings
    :func:`analyse` needs (build it with :meth:`of`; :class:`AuditParams` validates)."""

    n_boot: int
    n_perm: int
    n_chance: int
    seed: int
    confidence: float
    min_actors: int
    interval: str = "jackknife"

    @classmethod
    def of(cls, settings: AuditParams) -> Resampling:
        """The resampling of ``settings`` (see :meth:`AuditParams.seeded` for the seed)."""
        settings = settings.seeded()
        return cls(
            n_boot=settings.n_boot,
            n_perm=settings.n_perm,
            n_chance=settings.n_chance,
            seed=settings.seed,
            confidence=settings.confidence,
            min_actors=settings.min_actors,
            interval=settings.interval,
        )


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
    #: (axis, group, reference) -> the gap's bootstrap resamples
    boot_gaps: dict[tuple[str, str, str], BootGap] = field(default_factory=dict, repr=False)
    #: one row per actor (:func:`~serbias.audit._speakers.actor_table`)
    by_actor: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: the chance model's macro-F1 (upper end of its shuffles' central ``confidence`` range);
    #: NaN without a chance model
    chance_macro_f1: float = float("nan")

    @property
    def near_chance(self) -> bool:
        """The overall macro-F1 CI does not exceed the chance model's macro-F1: the system's
        gaps are uninformative (differences in noise)."""
        overall = self.by_group[
            (self.by_group["axis"] == "overall") & (self.by_group["metric"] == "macro_f1")
        ]
        if overall.empty or np.isnan(self.chance_macro_f1):
            return False
        return bool(overall["ci_low"].iloc[0] <= self.chance_macro_f1)


def analyse(
    scored: Scored,
    *,
    resampling: Resampling,
    references: Mapping[str, str] | None = None,
    preferred_references: Mapping[str, str | None] | None = None,
    axes: Sequence[Axis] = AXES,
) -> Analysis:
    """Metrics by group on every axis, gaps to each axis's reference group and between groups.

    ``references`` are required reference groups (an error when one cannot serve);
    ``preferred_references`` are used where they can serve, else the axis's default
    reference, else the largest group. Groups with fewer than ``min_actors`` actors are
    reported with their sizes but not compared.
    """
    references = dict(references or {})
    preferred = dict(preferred_references or {})
    names = metric_names(scored.emotions)
    counts = scored.counts()
    sizes = group_sizes(
        scored.labels[[axis.name for axis in axes]],
        scored.actor_id,
        scored.filenames,
        min_actors=resampling.min_actors,
    )
    chance = chance_counts(scored, n_chance=resampling.n_chance, seed=resampling.seed)
    by_group: list[pd.DataFrame] = []
    gaps: list[pd.DataFrame] = []
    boot_gaps: dict[tuple[str, str, str], BootGap] = {}
    chosen: dict[str, str | None] = {}
    for i, axis in enumerate(axes):
        samples = _samples(scored, axis.name, counts, chance, sizes, resampling, names)
        if i == 0:
            by_group.append(_overall_rows(scored, samples.overall, counts, resampling, names))
        by_group.append(_group_rows(samples))
        reference = choose_reference(
            sizes,
            axis.name,
            references.get(axis.name),
            preferred=preferred.get(axis.name),
            default=axis.reference,
        )
        if reference is not None:
            found, paired = reference_gaps(samples, reference)
            gaps.extend(found)
            boot_gaps.update(paired)
        eligible = [g for g in samples.sizes.index if not samples.sizes.loc[g, "flagged"]]
        if len(eligible) >= 2:
            gaps.append(between_groups(samples, eligible))
        chosen[axis.name] = reference
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
        by_actor=actor_table(scored, axes=axes),
        chance_macro_f1=_chance_macro_f1(chance, scored.emotions, resampling.confidence),
    )


def _chance_macro_f1(
    chance: np.ndarray | None, emotions: tuple[str, ...], confidence: float
) -> float:
    """Upper end of the chance model's overall macro-F1 over its shuffles."""
    if chance is None:
        return float("nan")
    index = metric_names(emotions).index("macro_f1")
    values = metrics_from_counts(chance.sum(axis=1), len(emotions))[:, index]
    return float(np.percentile(values, 100.0 * (1.0 + confidence) / 2.0))


def group_point_metrics(scored: Scored, *, axes: Sequence[Axis] = AXES) -> pd.DataFrame:
    """Count-based metrics of every group (axis, group, metric, value): the fast path.

    Used where MetricFrame would be called hundreds of times (bootstrap replicas); it gives
    the same numbers (tested).
    """
    names = metric_names(scored.emotions)
    counts = scored.counts()
    frames = []
    for axis in axes:
        actor_group = _actor_groups(scored, axis.name, counts)
        for group in pd.unique(actor_group):
            summed = counts.counts[actor_group == group].sum(axis=0)
            values = metrics_from_counts(summed, len(scored.emotions))
            frames.append(
                pd.DataFrame({"axis": axis.name, "group": group, "metric": names, "value": values})
            )
    return pd.concat(frames, ignore_index=True)


def _samples(
    scored: Scored,
    axis: str,
    counts: ActorCounts,
    chance: np.ndarray | None,
    sizes: pd.DataFrame,
    resampling: Resampling,
    names: list[str],
) -> AxisSamples:
    """One axis's point values (MetricFrame), bootstrap and chance-model metrics."""
    k = len(scored.emotions)
    axis_sizes = sizes[sizes["axis"] == axis].set_index("group")
    groups = list(axis_sizes.index)
    sensitive = scored.labels[axis].astype(str).to_numpy()
    by_group_all, overall = group_metrics(
        scored.y_true, scored.y_pred, sensitive, scored.emotions, weight=scored.weight
    )
    actor_group = _actor_groups(scored, axis, counts)
    members = {g: np.flatnonzero(actor_group == g) for g in groups}
    boot = {
        g: bootstrap_sums(
            counts.counts[members[g]],
            resampling.n_boot,
            rng_for(resampling.seed, "boot", axis, g),
        )
        for g in groups
    }
    chance_by_group = {}
    if chance is not None:
        chance_by_group = {
            g: metrics_from_counts(chance[:, members[g]].sum(axis=1), k) for g in groups
        }
    # every actor sits in one group per axis, so the groups' resamples add up to all actors'
    boot_total = 0.0
    for sums in boot.values():
        boot_total = boot_total + sums
    resamples = None
    if resampling.interval == "studentized":
        resamples = group_resamples(
            counts.counts,
            actor_group=actor_group,
            groups=groups,
            n_emotions=k,
            n_boot=resampling.n_boot,
            seed=resampling.seed,
            axis=axis,
        )
    return AxisSamples(
        axis=axis,
        names=names,
        n_emotions=k,
        counts=counts,
        point=by_group_all.loc[groups],
        overall=overall,
        sizes=axis_sizes,
        members=members,
        boot={g: metrics_from_counts(sums, k) for g, sums in boot.items()},
        boot_overall=metrics_from_counts(boot_total, k),
        chance=chance_by_group,
        n_perm=resampling.n_perm,
        seed=resampling.seed,
        confidence=resampling.confidence,
        interval=resampling.interval,
        resamples=resamples,
    )


def _group_rows(samples: AxisSamples) -> pd.DataFrame:
    """By-group rows of one axis: value with interval, difference to overall with interval."""
    s = samples
    rows = []
    overall = {}
    if s.interval != "percentile":
        actor_group = np.empty(len(s.counts.actor_ids), dtype=object)
        for g, rows_of_g in s.members.items():
            actor_group[rows_of_g] = g
        overall = inference.overall_differences(
            s.counts.counts,
            groups=actor_group,
            metric=inference.count_metric(s.n_emotions),
            confidence=s.confidence,
            resamples=s.resamples,
        )
    for g in s.sizes.index:
        n_actors = int(s.sizes.loc[g, "n_actors"])
        low = high = diff_low = diff_high = np.full(len(s.names), np.nan)
        if n_actors >= 2 and s.interval == "percentile":
            low, high = percentile_interval(s.boot[g], s.confidence)
            diff_low, diff_high = percentile_interval(s.boot[g] - s.boot_overall, s.confidence)
        elif n_actors >= 2:
            low, high = group_interval(
                s.counts.counts[s.members[g]],
                n_emotions=s.n_emotions,
                confidence=s.confidence,
                resamples=None if s.resamples is None else s.resamples.groups[g],
            )
            diff_low, diff_high = overall[g].low, overall[g].high
        rows.append(
            pd.DataFrame(
                {
                    "axis": s.axis,
                    "group": g,
                    "metric": s.names,
                    "value": s.point.loc[g].to_numpy(),
                    "ci_low": low,
                    "ci_high": high,
                    "diff_to_overall": s.point.loc[g].to_numpy() - s.overall.to_numpy(),
                    "diff_ci_low": diff_low,
                    "diff_ci_high": diff_high,
                    "n_clips": int(s.sizes.loc[g, "n_clips"]),
                    "n_actors": n_actors,
                    "flagged": bool(s.sizes.loc[g, "flagged"]),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _overall_rows(
    scored: Scored,
    overall: pd.Series,
    counts: ActorCounts,
    resampling: Resampling,
    names: list[str],
) -> pd.DataFrame:
    """All scored clips together, with an actor bootstrap over every actor."""
    n_actors = len(counts.actor_ids)
    low = high = np.full(len(names), np.nan)
    k = len(scored.emotions)
    if n_actors >= 2 and resampling.interval == "percentile":
        sums = bootstrap_sums(
            counts.counts, resampling.n_boot, rng_for(resampling.seed, "boot", "overall")
        )
        low, high = percentile_interval(metrics_from_counts(sums, k), resampling.confidence)
    elif n_actors >= 2:
        resamples = None
        if resampling.interval == "studentized":
            resamples = inference.bootstrap_group(
                counts.counts,
                metric=inference.count_metric(k),
                multiplicities=bootstrap_multiplicities(
                    n_actors, resampling.n_boot, rng_for(resampling.seed, "boot", "overall")
                ),
            )
        low, high = group_interval(
            counts.counts, n_emotions=k, confidence=resampling.confidence, resamples=resamples
        )
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
