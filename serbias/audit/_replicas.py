"""Bootstrap replicas: the reference study's summary over many models.

The study trained 100 models on bootstrap resamples of the training set; each predicted its
out-of-bag clips (one CSV per replica). It reported, per group, the mean of the per-replica
metric, its standard deviation and a t-interval of the mean. Here the same summary is
computed so its tables can be reproduced; the replicas are also pooled into one
out-of-bag ensemble (mean score per clip) that gets the full actor-level audit. Each gap also
gets the recommended interval for replica sets, which pools model variation and speaker
sampling (replicas and actors resampled together, :func:`~serbias.audit._inference.
replica_interval`): the study's t-interval over replicas ignores that the speakers are a sample.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from serbias.audit._analysis import group_point_metrics
from serbias.audit._metrics import metric_names
from serbias.audit._predictions import Predictions
from serbias.audit._scored import score_predictions
from serbias.audit.settings import AuditParams

_NUMBERED = re.compile(r"^(?P<family>.*?)[-_.]?(?P<index>\d+)$")
SUMMARY_COLUMNS = [
    "axis",
    "kind",
    "group",
    "reference",
    "metric",
    "n_replicas",
    "mean",
    "std",
    "t_low",
    "t_high",
    "pooled_low",
    "pooled_high",
    "pooled_se",
]


def replica_family(predictions: Sequence[Predictions]) -> str | None:
    """The common name of a set of bootstrap-replica CSVs, or None if they do not look like one.

    Replicas are two or more files of the same model: the same stem up to a trailing number
    (``cnn_000.csv``, ``cnn_001.csv``) or identically named files in numbered directories
    (``replica_0/cnn.csv``), covering the same emotions but different clips.
    """
    if len(predictions) < 2:
        return None
    if len({p.emotions for p in predictions}) > 1:
        return None
    if len({frozenset(p.filenames) for p in predictions}) == 1:
        return None
    stems = [p.source.stem for p in predictions]
    families = {_family(stem) for stem in stems}
    if len(families) == 1 and None not in families:
        return families.pop()
    parents = {_family(p.source.parent.name) for p in predictions}
    if len(set(stems)) == 1 and len(parents) == 1 and None not in parents:
        return stems[0]
    return None


def oob_ensemble(predictions: Sequence[Predictions], name: str) -> Predictions:
    """One system from many replicas: each clip's mean score over the replicas that predicted it."""
    scores = pd.concat([p.scores for p in predictions]).groupby(level=0, sort=True).mean()
    extras = [p.extra for p in predictions if not p.extra.empty]
    extra = (
        pd.concat(extras).groupby(level=0, sort=True).mean().reindex(scores.index)
        if extras
        else pd.DataFrame(index=scores.index)
    )
    scores.index.name = extra.index.name = "filename"
    return Predictions(name, predictions[0].source.parent, scores, extra)


def summarise_replicas(per_replica: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, standard deviation and t-interval of the mean over replicas.

    ``per_replica`` has columns replica, axis, kind, group, reference, metric, value (one row
    per replica and statistic); a statistic missing from some replicas is summarised over
    those that have it. The interval is ``mean +/- t(confidence, n-1) * std / sqrt(n)``.
    """
    from scipy import stats

    keys = ["axis", "kind", "group", "reference", "metric"]
    grouped = per_replica.groupby(keys, sort=False, dropna=False)["value"]
    summary = grouped.agg(n_replicas="count", mean="mean", std="std").reset_index()
    n = summary["n_replicas"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = stats.t.ppf((1.0 + confidence) / 2.0, n - 1) * summary["std"].to_numpy() / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    summary["t_low"] = summary["mean"] - half
    summary["t_high"] = summary["mean"] + half
    for column in ("pooled_low", "pooled_high", "pooled_se"):
        summary[column] = np.nan
    return summary[SUMMARY_COLUMNS]


def replica_summary(
    replica_sets: Sequence[Predictions],
    clips: pd.DataFrame,
    labels: pd.DataFrame,
    references: Mapping[str, Mapping[str, str | None]],
    settings: AuditParams,
    *,
    system: str,
) -> pd.DataFrame:
    """The reference study's per-group summary over replicas, per target of ``settings``,
    with gaps to the audit's reference groups (``references``: target -> axis -> group)."""
    frames = []
    for target in settings.targets:
        per_replica = []
        scored_sets = []
        for index, predictions in enumerate(replica_sets):
            scored, _ = score_predictions(
                predictions,
                clips,
                labels,
                target=target,
                decision=settings.decision,
                threshold=settings.threshold,
            )
            scored_sets.append(scored)
            values = group_point_metrics(scored).assign(kind="group", reference="")
            gap_rows = _replica_gaps(values, references[target])
            per_replica.append(
                pd.concat([values, *gap_rows], ignore_index=True).assign(replica=index)
            )
        summary = summarise_replicas(
            pd.concat(per_replica, ignore_index=True), confidence=settings.confidence
        )
        _add_pooled(summary, scored_sets, references[target], settings, target)
        frames.append(summary.assign(target=target))
    summary = pd.concat(frames, ignore_index=True)
    summary.insert(0, "system", system)
    return summary[
        ["system", "target", *[c for c in summary.columns if c not in ("system", "target")]]
    ]


def _add_pooled(
    summary: pd.DataFrame,
    scored_sets: Sequence,
    references: Mapping[str, str | None],
    settings: AuditParams,
    target: str,
) -> None:
    """Fill ``pooled_*`` of the gap and group rows of the axes with a reference: replicas x
    actors counts (an actor absent from a replica's out-of-bag clips counts zero there)
    through the two-level bootstrap-t."""
    from serbias.audit import _inference as inference
    from serbias.audit._resampling import rng_for
    from serbias.errors import SerbiasError

    seed = settings.seeded().seed
    per_replica = [s.counts() for s in scored_sets]
    actors = np.unique(np.concatenate([c.actor_ids for c in per_replica]))
    stacked = np.zeros((len(per_replica), len(actors), per_replica[0].counts.shape[1]))
    for r, counts in enumerate(per_replica):
        stacked[r, np.searchsorted(actors, counts.actor_ids)] = counts.counts
    metric = inference.count_metric(len(scored_sets[0].emotions))
    names = metric_names(scored_sets[0].emotions)
    for axis, reference in references.items():
        if reference is None:
            continue
        group_of = pd.concat(
            pd.Series(s.labels[axis].astype(str).to_numpy(), index=s.actor_id) for s in scored_sets
        )
        group_of = group_of[~group_of.index.duplicated()].reindex(actors).to_numpy()
        on_axis = summary["axis"] == axis
        for kind in ("gap_vs_reference", "group"):
            for group in summary.loc[on_axis & (summary["kind"] == kind), "group"].unique():
                try:
                    found = inference.replica_interval(
                        stacked[:, group_of == group],
                        stacked[:, group_of == reference] if kind != "group" else None,
                        metric=metric,
                        n_boot=settings.n_boot,
                        rng=rng_for(
                            seed,
                            "replicas",
                            target,
                            axis,
                            group,
                            reference if kind != "group" else "group",
                        ),
                        confidence=settings.confidence,
                    )
                except SerbiasError:
                    continue  # fewer than 2 actors, or a replica with no clip of the group
                rows = on_axis & (summary["kind"] == kind) & (summary["group"] == group)
                positions = summary.loc[rows, "metric"].map(names.index).to_numpy()
                summary.loc[rows, "pooled_low"] = found.low[positions]
                summary.loc[rows, "pooled_high"] = found.high[positions]
                summary.loc[rows, "pooled_se"] = found.se[positions]


def _replica_gaps(values: pd.DataFrame, references: Mapping[str, str | None]) -> list[pd.DataFrame]:
    """One replica's gap of every group to its axis's reference group."""
    gap_rows = []
    for axis, reference in references.items():
        on_axis = values[values["axis"] == axis].pivot(
            index="group", columns="metric", values="value"
        )
        if reference is None or reference not in on_axis.index:
            continue
        for group in on_axis.index.drop(reference):
            differences = on_axis.loc[group] - on_axis.loc[reference]
            gap_rows.append(
                pd.DataFrame(
                    {
                        "axis": axis,
                        "group": group,
                        "metric": differences.index,
                        "value": differences.to_numpy(),
                        "kind": "gap_vs_reference",
                        "reference": reference,
                    }
                )
            )
    return gap_rows


def _family(stem: str) -> str | None:
    match = _NUMBERED.match(stem)
    if match is None:
        return None
    return match["family"] or "replicas"
