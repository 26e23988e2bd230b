"""Speakers one by one: each actor's macro-F1 and accuracy, and how they spread within a group.

Groups can look fair while single speakers are not: a group's metric pools its actors, so one
actor the system fails on is hidden by the others. ``by_actor.csv`` lists every actor with
their clip count and group labels; the report gives each group's spread across its actors,
the gap in spread to the reference group and the worst actors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from serbias.audit._axes import AXES, Axis
from serbias.audit._metrics import metric_names, metrics_from_counts
from serbias.audit._scored import Scored

#: Per-actor metrics in by_actor.csv (single numbers; per-emotion ones rest on a few clips).
ACTOR_METRICS = ("macro_f1", "accuracy")
SPREAD_COLUMNS = ["axis", "group", "reference", "n_actors", "mean", "sd", "min", "max", "sd_gap"]
MAX_WORST = 5


def actor_table(scored: Scored, *, axes: Sequence[Axis] = AXES) -> pd.DataFrame:
    """One row per actor: ``actor_id``, ``n_clips``, :data:`ACTOR_METRICS` and the actor's
    group on every axis that is a property of one column (intersections follow from those)."""
    counts = scored.counts()
    values = metrics_from_counts(counts.counts, len(scored.emotions))
    names = metric_names(scored.emotions)
    table = pd.DataFrame({"actor_id": counts.actor_ids})
    clips = pd.Series(scored.filenames).groupby(scored.actor_id).nunique()
    table["n_clips"] = clips.reindex(counts.actor_ids).to_numpy(dtype=int)
    for metric in ACTOR_METRICS:
        table[metric] = values[:, names.index(metric)]
    for axis in axes:
        if axis.kind == "intersection":
            continue
        labels = pd.Series(scored.labels[axis.name].astype(str).to_numpy())
        table[axis.name] = labels.groupby(scored.actor_id).first().reindex(counts.actor_ids).values
    return table


def actor_spread(
    by_actor: pd.DataFrame,
    references: Mapping[str, str | None],
    *,
    metric: str = "macro_f1",
) -> pd.DataFrame:
    """Per axis and group, ``metric`` across its actors: mean, SD (ddof 1), min, max, and
    ``sd_gap`` = the group's SD minus its reference group's (NaN for the reference itself)."""
    rows = []
    for axis, reference in references.items():
        if axis not in by_actor.columns or reference is None:
            continue
        grouped = by_actor.groupby(axis, sort=False)[metric]
        summary = grouped.agg(["count", "mean", "std", "min", "max"])
        reference_sd = summary.loc[reference, "std"] if reference in summary.index else np.nan
        for group, row in summary.iterrows():
            rows.append(
                {
                    "axis": axis,
                    "group": group,
                    "reference": reference,
                    "n_actors": int(row["count"]),
                    "mean": row["mean"],
                    "sd": row["std"],
                    "min": row["min"],
                    "max": row["max"],
                    "sd_gap": np.nan if group == reference else row["std"] - reference_sd,
                }
            )
    return pd.DataFrame(rows, columns=SPREAD_COLUMNS)


def worst_actors(by_actor: pd.DataFrame, *, metric: str = "macro_f1") -> pd.DataFrame:
    """The :data:`MAX_WORST` actors with the lowest ``metric`` (ties: lower actor id first)."""
    return by_actor.sort_values([metric, "actor_id"], kind="stable").head(MAX_WORST)
