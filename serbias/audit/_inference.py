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

This module is the one import point; the work lives in :mod:`._estimates` (shared types),
:mod:`._jackknife`, :mod:`._bootstrap_t`, :mod:`._permutation` and :mod:`._replica_interval`.

Conventions: ``counts`` is (actors x count columns); ``metric(sums)`` maps (..., columns) to
(..., metrics) and is vectorised over leading axes (see :func:`count_metric`). Every
result holds one value per metric. Benjamini-Hochberg adjustment lives in
:func:`serbias.audit._findings.adjust_p_values`.
"""

from __future__ import annotations

from serbias.audit._bootstrap_t import bootstrap_axis, bootstrap_group, studentized_interval
from serbias.audit._estimates import (
    SE_FLOOR,
    AxisBootstrap,
    ChanceBand,
    GroupBootstrap,
    GroupJackknife,
    Interval,
    Metric,
    PermutationTest,
    RatioInterval,
    ReplicaInterval,
    count_metric,
    log_metric,
    paired_counts,
    paired_metric,
    satterthwaite_df,
)
from serbias.audit._jackknife import (
    excess_interval,
    gap_interval,
    group_interval,
    jackknife,
    minimum_detectable_gap,
    overall_differences,
    ratio_interval,
)
from serbias.audit._permutation import actor_chance_band, labelings, studentized_permutation_test
from serbias.audit._replica_interval import replica_interval

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
