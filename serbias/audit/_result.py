"""What an audit returns: its tables, the audited systems, and its numbers as flat metrics."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.audit._analysis import Analysis
from serbias.audit._axes import HEADLINE_AXES
from serbias.audit._baselines import HUMAN_SYSTEM
from serbias.audit._findings import Finding
from serbias.audit._metrics import (
    HEADLINE_METRICS,
    PRIMARY_METRIC,
    TRACKED_METRICS,
    split_metric,
)
from serbias.audit._scored import Exclusions
from serbias.audit.settings import AuditParams


@dataclass(frozen=True)
class SystemInfo:
    """One audited system: where its predictions came from and what was scored."""

    name: str
    sources: tuple[Path, ...]
    emotions: tuple[str, ...]
    n_predicted: int
    n_not_in_corpus: int
    n_outside_split: int
    n_scored: dict[str, int]
    exclusions: dict[str, Exclusions]
    n_replicas: int = 0

    @property
    def is_subset(self) -> bool:
        return len(self.emotions) < len(vocab.EMOTIONS)


@dataclass(frozen=True)
class HumanInfo:
    """The listener baseline's scope."""

    n_clips: int
    n_actors: int
    n_responses: int
    n_unrated: int


@dataclass(frozen=True)
class AuditResult:
    """Every table of the audit; :func:`serbias.audit.write_audit` turns it into files.

    ``settings`` are the settings the audit ran with (its seed resolved); ``split_name`` is
    the split whose clips were scored, None when no split file was given.
    """

    settings: AuditParams
    split_name: str | None
    systems: tuple[SystemInfo, ...]
    analyses: tuple[Analysis, ...]
    human: HumanInfo | None
    group_sizes: pd.DataFrame
    by_group: pd.DataFrame
    gaps: pd.DataFrame
    #: one row per actor and scored set (system, target, actor_id, n_clips, metrics, groups)
    by_actor: pd.DataFrame
    replica_summary: pd.DataFrame | None
    findings: tuple[Finding, ...]
    #: the reference study's tables (:func:`serbias.audit._study.study_tables`), None without
    #: replica sets
    study_tables: pd.DataFrame | None = None
    finding_summaries: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (system, target) whose macro-F1 CI does not exceed the chance model's
    near_chance: frozenset[tuple[str, str]] = frozenset()

    @property
    def verdicts(self) -> pd.DataFrame:
        """The verdict table (one row per scored set and primary axis, see
        :func:`serbias.audit._verdicts.verdict_table`)."""
        from serbias.audit._verdicts import verdict_table

        return verdict_table(
            self.by_group,
            self.gaps,
            near_chance=self.near_chance,
            meaningful_gap=self.settings.meaningful_gap,
        )

    @property
    def stated_settings(self) -> dict[str, Any]:
        """The settings as run, for audit.json and the MLflow run: every field of
        :class:`AuditParams`, with ``split_name`` None when no split restricted the clips."""
        return {**dataclasses.asdict(self.settings), "split_name": self.split_name}

    @property
    def metrics(self) -> dict[str, float]:
        """Flat ``key -> number`` for MLflow (``intended.sex.Female.macro_f1``).

        Keys are ``[system.]target.axis.group.metric`` for groups (plus ``n_clips``,
        ``n_actors``), ``target.axis.GROUP_vs_REF.metric.{gap,ci_low,ci_high,p_value}`` for gaps
        and ``target.axis.between_groups.metric.{difference,ratio,p_value}``; the system prefix
        appears when several systems are audited, the listener baseline is under ``human``.
        Only the tracked metrics (macro-F1, accuracy, per-emotion recall) are included; NaN is
        left out.
        """
        return self._flat(TRACKED_METRICS)

    @property
    def headline_metrics(self) -> dict[str, float]:
        """The part of :attr:`metrics` in metrics.json, sized for ``dvc metrics`` and
        ``dvc exp show``: overall macro-F1 and accuracy, and each headline axis group's
        macro-F1 gap to its reference, with interval and p-value (every other metric: the
        CSVs and MLflow)."""
        flat = self._flat(HEADLINE_METRICS, axes=HEADLINE_AXES, gap_families=(PRIMARY_METRIC,))
        return dict(sorted({**flat, **self._replica_headline()}.items()))

    def _replica_headline(self) -> dict[str, float]:
        """Per replica set, ``<system>.replicas.<target>.<axis>.<group>.macro_f1.{mean,std}`` and
        the headline gaps with their pooled interval."""
        flat: dict[str, float] = {}
        if self.replica_summary is None:
            return flat
        summary = self.replica_summary
        chosen = summary[(summary["metric"] == PRIMARY_METRIC)
                         & summary["axis"].isin(("overall", *HEADLINE_AXES))]  # fmt: skip
        for row in chosen.itertuples(index=False):
            if row.kind == "gap_vs_reference":
                where = f"{row.axis}.{_key(row.group)}_vs_{_key(row.reference)}"
            else:
                where = row.axis if row.axis == "overall" else f"{row.axis}.{_key(row.group)}"
            base = f"{system_key(row.system)}.replicas.{row.target}.{where}.{row.metric}"
            for name in ("mean", "std", "pooled_low", "pooled_high"):
                _put(flat, f"{base}.{name}", getattr(row, name))
            _put(flat, f"{system_key(row.system)}.replicas.n_replicas", row.n_replicas)
        return flat

    def _flat(
        self,
        families: tuple[str, ...],
        axes: tuple[str, ...] | None = None,
        gap_families: tuple[str, ...] | None = None,
    ) -> dict[str, float]:
        """Groups' ``families`` metrics (only overall when ``axes`` is given) and the gaps'
        ``gap_families`` metrics (default ``families``) on ``axes`` (default every axis)."""
        gap_families = families if gap_families is None else gap_families
        many = len(self.systems) > 1
        flat: dict[str, float] = {}
        for (system, target), rows in self.by_group.groupby(["system", "target"], sort=False):
            prefix = _prefix(system, target, many)
            for row in rows.itertuples(index=False):
                if split_metric(row.metric)[0] not in families:
                    continue
                if axes is not None and row.axis != "overall":
                    continue
                base = prefix + (
                    row.axis if row.axis == "overall" else f"{row.axis}.{_key(row.group)}"
                )
                _put(flat, f"{base}.{row.metric}", row.value)
                _put(flat, f"{base}.n_clips", row.n_clips)
                _put(flat, f"{base}.n_actors", row.n_actors)
        for (system, target), rows in self.gaps.groupby(["system", "target"], sort=False):
            prefix = _prefix(system, target, many)
            for row in rows.itertuples(index=False):
                if split_metric(row.metric)[0] not in gap_families or row.flagged:
                    continue
                if axes is not None and (row.axis not in axes or row.kind != "vs_reference"):
                    continue
                if row.kind == "vs_reference":
                    comparison = f"{_key(row.group)}_vs_{_key(row.reference)}"
                    base = f"{prefix}{row.axis}.{comparison}.{row.metric}"
                    for name in ("gap", "ci_low", "ci_high", "p_value"):
                        _put(flat, f"{base}.{name}", getattr(row, name))
                else:
                    base = f"{prefix}{row.axis}.between_groups.{row.metric}"
                    _put(flat, f"{base}.difference", row.gap)
                    _put(flat, f"{base}.ratio", row.ratio)
                    _put(flat, f"{base}.p_value", row.p_value)
        return dict(sorted(flat.items()))


def system_key(system: str) -> str:
    """A system's prefix in :attr:`AuditResult.metrics` when several systems are audited."""
    return _key(system)


def _prefix(system: str, target: str, many: bool) -> str:
    if system == HUMAN_SYSTEM:
        return "human."
    return (f"{system_key(system)}." if many else "") + f"{target}."


def _key(label: str) -> str:
    return str(label).replace(" ", "_").replace(".", "_")


def _put(flat: dict[str, float], key: str, value) -> None:
    value = float(value)
    if not np.isnan(value):
        flat[key] = int(value) if key.endswith((".n_clips", ".n_actors", ".n_replicas")) else value
