"""Bias audit of speech-emotion predictions: metrics by demographic group, with honest uncertainty.

Usage::

    clips = read_corpus(Path("data"), require_audio=False)
    settings = AuditParams(target="both", reference=("sex=Male",))
    result = run_audit([Path("preds.csv")], clips, settings, split=load_split(path, clips))
    paths = write_audit(result, Path("outputs/audit"))
    result.metrics["intended.sex.Female.macro_f1"]

Point estimates come from fairlearn's MetricFrame; intervals from an actor-level bootstrap
and p-values from an actor-level permutation test (clips are nested in actors); each gap
is shown next to a chance model's and, optionally, the human listeners'.

Where a change goes: a setting in :mod:`.settings` (:class:`AuditParams`), a group axis in
``_axes.AXES``, a metric in ``_metrics.METRICS`` (one row and its formulas each).

Importing this package is cheap (the settings and the axes table need only the standard
library); the pandas-based parts load on first use of a name below (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from serbias.audit._axes import AXES, DEFAULT_AGE_EDGES, HEADLINE_AXES, PRIMARY_AXES, Axis
from serbias.audit.settings import DEFAULT_MIN_ACTORS, AuditParams

if TYPE_CHECKING:
    from serbias.audit._analysis import Analysis, Resampling, analyse, group_point_metrics
    from serbias.audit._audit import run_audit
    from serbias.audit._baselines import HUMAN_SYSTEM, chance_counts, human_scored
    from serbias.audit._columns import parse_column_map
    from serbias.audit._findings import Finding, p_text
    from serbias.audit._groups import group_labels, group_sizes
    from serbias.audit._metrics import (
        METRICS,
        PRIMARY_METRIC,
        Metric,
        group_metrics,
        metric_names,
        metric_phrase,
        metrics_from_counts,
    )
    from serbias.audit._predictions import Predictions, read_predictions
    from serbias.audit._resampling import (
        actor_counts,
        bootstrap_multiplicities,
        permutation_p_value,
    )
    from serbias.audit._result import AuditResult, HumanInfo, SystemInfo
    from serbias.audit._scored import Scored, score_predictions
    from serbias.audit._stage import AuditOutput, audit_stage
    from serbias.audit._targets import intended_targets
    from serbias.audit._tracking import EXPERIMENT, audited_models, track_audit
    from serbias.audit.report import write_audit

#: Exported name -> the module that defines it (imported on first use).
_LAZY = {
    "Analysis": "_analysis",
    "Resampling": "_analysis",
    "analyse": "_analysis",
    "group_point_metrics": "_analysis",
    "run_audit": "_audit",
    "HUMAN_SYSTEM": "_baselines",
    "chance_counts": "_baselines",
    "human_scored": "_baselines",
    "parse_column_map": "_columns",
    "Finding": "_findings",
    "p_text": "_findings",
    "group_labels": "_groups",
    "group_sizes": "_groups",
    "METRICS": "_metrics",
    "Metric": "_metrics",
    "PRIMARY_METRIC": "_metrics",
    "group_metrics": "_metrics",
    "metric_names": "_metrics",
    "metric_phrase": "_metrics",
    "metrics_from_counts": "_metrics",
    "Predictions": "_predictions",
    "read_predictions": "_predictions",
    "actor_counts": "_resampling",
    "bootstrap_multiplicities": "_resampling",
    "permutation_p_value": "_resampling",
    "AuditResult": "_result",
    "HumanInfo": "_result",
    "SystemInfo": "_result",
    "Scored": "_scored",
    "score_predictions": "_scored",
    "AuditOutput": "_stage",
    "audit_stage": "_stage",
    "intended_targets": "_targets",
    "EXPERIMENT": "_tracking",
    "audited_models": "_tracking",
    "track_audit": "_tracking",
    "write_audit": "report",
}

__all__ = [
    "AXES",
    "DEFAULT_AGE_EDGES",
    "DEFAULT_MIN_ACTORS",
    "EXPERIMENT",
    "HEADLINE_AXES",
    "HUMAN_SYSTEM",
    "METRICS",
    "PRIMARY_AXES",
    "PRIMARY_METRIC",
    "Analysis",
    "AuditOutput",
    "AuditParams",
    "AuditResult",
    "Axis",
    "Finding",
    "HumanInfo",
    "Metric",
    "Predictions",
    "Resampling",
    "Scored",
    "SystemInfo",
    "actor_counts",
    "analyse",
    "audit_stage",
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
    "metric_phrase",
    "metrics_from_counts",
    "p_text",
    "parse_column_map",
    "permutation_p_value",
    "read_predictions",
    "run_audit",
    "score_predictions",
    "track_audit",
    "write_audit",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
