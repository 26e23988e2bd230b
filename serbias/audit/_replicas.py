"""Bootstrap replicas: the reference study's summary over many models.

The study trained 100 models on bootstrap resamples of the training set; each predicted its
out-of-bag clips (one CSV per replica). It reported, per group, the mean of the per-replica
metric, its standard deviation and a t-interval of the mean. Here the same summary is
computed so its tables can be reproduced; the replicas are also pooled into one
out-of-bag ensemble (mean score per clip) that gets the full actor-level audit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from serbias.audit._predictions import Predictions

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
    return summary[SUMMARY_COLUMNS]


def _family(stem: str) -> str | None:
    match = _NUMBERED.match(stem)
    if match is None:
        return None
    return match["family"] or "replicas"
