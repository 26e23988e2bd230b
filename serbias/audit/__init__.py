"""Bias audit of speech-emotion predictions: metrics by demographic group, with honest uncertainty.

Usage::

    clips = read_corpus(Path("data"), require_audio=False)
    result = run_audit([Path("preds.csv")], clips, split=load_split(Path("split.json"), clips))
    paths = write_audit(result, Path("outputs/audit"))
    result.metrics["intended.sex.Female.macro_f1"]

Point estimates come from fairlearn's MetricFrame; intervals from an actor-level bootstrap
and p-values from an actor-level permutation test (clips are nested in actors); each gap
is shown next to a chance model's and, optionally, the human listeners'.

This package imports pandas and numpy at module level: import it inside CLI commands.
"""

from __future__ import annotations

from serbias.audit._analysis import Analysis, Resampling, analyse, group_point_metrics
from serbias.audit._audit import AuditResult, AuditSettings, HumanInfo, SystemInfo, run_audit
from serbias.audit._baselines import HUMAN_SYSTEM, chance_counts, human_scored
from serbias.audit._findings import Finding
from serbias.audit._groups import (
    AXES,
    DEFAULT_AGE_EDGES,
    DEFAULT_MIN_ACTORS,
    group_labels,
    group_sizes,
)
from serbias.audit._metrics import group_metrics, metric_names, metrics_from_counts
from serbias.audit._predictions import Predictions, parse_column_map, read_predictions
from serbias.audit._report import write_audit
from serbias.audit._resampling import actor_counts, bootstrap_multiplicities, permutation_p_value
from serbias.audit._scored import Scored, score_predictions
from serbias.audit._targets import intended_targets, observed_targets
from serbias.audit._tracking import audited_models, track_audit

__all__ = [
    "AXES",
    "DEFAULT_AGE_EDGES",
    "DEFAULT_MIN_ACTORS",
    "HUMAN_SYSTEM",
    "Analysis",
    "AuditResult",
    "AuditSettings",
    "Finding",
    "HumanInfo",
    "Predictions",
    "Resampling",
    "Scored",
    "SystemInfo",
    "actor_counts",
    "analyse",
    "audited_models",
    "bootstrap_multiplicities",
    "chance_counts",
    "group_labels",
    "group_metrics",
    "group_point_metrics",
    "group_sizes",
    "human_scored",
    "intended_targets",
    "metric_names",
    "metrics_from_counts",
    "observed_targets",
    "parse_column_map",
    "permutation_p_value",
    "read_predictions",
    "run_audit",
    "score_predictions",
    "track_audit",
    "write_audit",
]
