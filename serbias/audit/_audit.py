"""``run_audit``: from prediction CSVs and a clip table to every number of the audit."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.audit._analysis import BY_GROUP_COLUMNS, GAP_COLUMNS, Analysis, Resampling, analyse
from serbias.audit._baselines import HUMAN_SYSTEM, human_scored
from serbias.audit._findings import Finding, adjust_p_values, headline_findings
from serbias.audit._groups import (
    DEFAULT_AGE_EDGES,
    DEFAULT_MIN_ACTORS,
    check_age_edges,
    group_labels,
    parse_references,
)
from serbias.audit._metrics import split_metric
from serbias.audit._predictions import (
    Decision,
    Predictions,
    check_against_corpus,
    parse_column_map,
    read_predictions,
)
from serbias.audit._replicas import oob_ensemble, replica_family, summarise_replicas
from serbias.audit._resampling import percentile_interval
from serbias.audit._scored import Exclusions, score_predictions
from serbias.audit._targets import TARGETS, Target
from serbias.errors import SerbiasError

TargetChoice = Literal["intended", "observed", "both"]
#: Metric families logged to MLflow (the CSVs hold every metric).
FLAT_FAMILIES = ("macro_f1", "accuracy", "recall")
#: Axes whose macro-F1 gaps make up metrics.json, the study's question (sex and race).
HEADLINE_AXES = ("sex", "race_binary", "race")
_REQUIRED_CLIP_COLUMNS = (
    "filename",
    "actor_id",
    "emotion",
    "sex",
    "race",
    "race_binary",
    "ethnicity",
    "age",
)


@dataclass(frozen=True)
class AuditSettings:
    """How the audit was run (stated in the report)."""

    targets: tuple[str, ...]
    decision: str
    threshold: float
    n_boot: int
    n_perm: int
    n_chance: int
    seed: int
    confidence: float
    min_actors: int
    age_edges: tuple[int, ...]
    references: dict[str, str]
    split_name: str | None
    human_baseline: bool


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
    """Every table of the audit; :func:`serbias.audit.write_audit` turns it into files."""

    settings: AuditSettings
    systems: tuple[SystemInfo, ...]
    analyses: tuple[Analysis, ...]
    human: HumanInfo | None
    group_sizes: pd.DataFrame
    by_group: pd.DataFrame
    gaps: pd.DataFrame
    replica_summary: pd.DataFrame | None
    findings: tuple[Finding, ...]
    finding_summaries: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, float]:
        """Flat ``key -> number`` for MLflow (``intended.sex.Female.macro_f1``).

        Keys are ``[system.]target.axis.group.metric`` for groups (plus ``n_clips``,
        ``n_actors``), ``target.axis.GROUP_vs_REF.metric.{gap,ci_low,ci_high,p_value}`` for gaps
        and ``target.axis.between_groups.metric.{difference,ratio,p_value}``; the system prefix
        appears when several systems are audited, the listener baseline is under ``human``.
        Only macro-F1, accuracy and per-emotion recall are included; NaN is left out.
        """
        return self._flat(FLAT_FAMILIES)

    @property
    def headline_metrics(self) -> dict[str, float]:
        """The part of :attr:`metrics` in metrics.json, sized for ``dvc metrics`` and
        ``dvc exp show``: overall macro-F1 and each sex and race group's macro-F1 gap to its
        reference, with interval and p-value (every other metric: the CSVs and MLflow)."""
        return self._flat(("macro_f1", "accuracy"), axes=HEADLINE_AXES, gap_families=("macro_f1",))

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


def run_audit(
    prediction_csvs: Sequence[Path],
    clips: pd.DataFrame,
    *,
    split: Mapping[str, Sequence[str]] | None = None,
    split_name: str | None = "test",
    target: TargetChoice = "intended",
    decision: Decision = "threshold",
    threshold: float = 0.5,
    n_boot: int = 1000,
    n_perm: int = 1000,
    n_chance: int = 20,
    seed: int = 0,
    confidence: float = 0.95,
    column_map: Mapping[str, str] | Sequence[str] | None = None,
    reference: Mapping[str, str] | Sequence[str] | None = None,
    min_actors: int = DEFAULT_MIN_ACTORS,
    age_edges: Sequence[int] = DEFAULT_AGE_EDGES,
    human_baseline: bool = False,
    strict: bool = False,
    replicas: bool | None = None,
    progress: Callable[[str], None] | None = None,
) -> AuditResult:
    """Audit one or many prediction CSVs (files or directories of CSVs) against a clip table.

    With ``split``, only clips of ``split[split_name]`` are scored. Several CSVs are audited
    as separate systems (named by file stem) unless they look like bootstrap replicas of one
    model (``replicas=None`` decides from their names and clip sets): then they are pooled into
    an out-of-bag ensemble and the reference study's replica summary is added. With
    ``human_baseline``, the listeners' voice-only responses are audited too (on the split's
    clips, else the predicted clips, else the whole corpus); no CSV is then needed.
    """
    say = progress or (lambda _message: None)
    if decision not in ("threshold", "argmax"):
        raise SerbiasError(f"decision {decision!r} is not one of threshold, argmax")
    if not 0.0 < threshold <= 1.0:
        raise SerbiasError(f"threshold {threshold} is not in (0, 1]")
    targets = _targets(target)
    resampling = Resampling(
        n_boot=n_boot,
        n_perm=n_perm,
        n_chance=n_chance,
        seed=seed,
        confidence=confidence,
        min_actors=min_actors,
    )
    requested_references = parse_references(reference)
    mapping = parse_column_map(column_map)
    clips = _check_clips(clips, targets)
    labels = group_labels(clips, age_edges=age_edges)
    scope = _scope(clips, split, split_name)

    paths = _expand(prediction_csvs)
    if not paths and not human_baseline:
        raise SerbiasError("nothing to audit: give prediction CSVs, or --human-baseline")
    corpus_names = set(clips["filename"])
    loaded: list[tuple[Predictions, int, int, int]] = []
    for path in paths:
        say(f"reading {path}")
        raw = read_predictions(path, column_map=mapping)
        known = check_against_corpus(raw, corpus_names, strict=strict)
        in_scope = (
            known.filenames.isin(list(scope))
            if scope is not None
            else np.ones(len(known.filenames), bool)
        )
        if not in_scope.any():
            raise SerbiasError(
                f"{path}: none of its {len(known.filenames)} predicted corpus clip(s) is in split "
                f"{split_name!r} ({len(scope)} clips); check --split and --split-name"
            )
        loaded.append(
            (
                known.subset(known.filenames[in_scope]),
                len(raw.filenames),
                len(raw.filenames) - len(known.filenames),
                int((~in_scope).sum()),
            )
        )
    _name_systems(loaded)

    family = replica_family([p for p, *_ in loaded]) if replicas is not False else None
    if replicas and family is None and len(loaded) >= 2:
        family = Path(loaded[0][0].source).stem
    systems_to_audit = loaded
    replica_sets: list[Predictions] = []
    if family is not None:
        replica_sets = [p for p, *_ in loaded]
        ensemble = oob_ensemble(replica_sets, family)
        systems_to_audit = [
            (
                ensemble,
                sum(n for _, n, _, _ in loaded),
                sum(m for _, _, m, _ in loaded),
                sum(o for *_, o in loaded),
            )
        ]

    analyses: list[Analysis] = []
    systems: list[SystemInfo] = []
    for predictions, n_predicted, n_unknown, n_outside in systems_to_audit:
        n_scored: dict[str, int] = {}
        exclusions: dict[str, Exclusions] = {}
        for one_target in targets:
            say(f"auditing {predictions.name} ({one_target} target)")
            scored, excluded = score_predictions(
                predictions,
                clips,
                labels,
                target=one_target,
                decision=decision,
                threshold=threshold,
            )
            analyses.append(analyse(scored, resampling=resampling, references=requested_references))
            n_scored[one_target] = scored.n_clips
            exclusions[one_target] = excluded
        sources = tuple(p.source for p in replica_sets) if replica_sets else (predictions.source,)
        systems.append(
            SystemInfo(
                predictions.name,
                sources,
                predictions.emotions,
                n_predicted,
                n_unknown,
                n_outside,
                n_scored,
                exclusions,
                n_replicas=len(replica_sets),
            )
        )

    human_info = None
    human_analysis = None
    if human_baseline:
        say("auditing the human listeners")
        if scope is not None:
            in_human = clips["filename"].isin(list(scope)).to_numpy()
        elif loaded:
            predicted = set().union(*(set(p.filenames) for p, *_ in loaded))
            in_human = clips["filename"].isin(list(predicted)).to_numpy()
        else:
            in_human = np.ones(len(clips), bool)
        human_clips = clips[in_human].reset_index(drop=True)
        human_set, n_unrated = human_scored(human_clips, labels[in_human].reset_index(drop=True))
        # compare listeners with the model's reference groups, so their gaps sit side by side
        model_references = next((a.references for a in analyses if a.target == "intended"), {})
        human_analysis = analyse(
            human_set,
            resampling=resampling,
            references=requested_references,
            preferred_references=model_references,
        )
        analyses.append(human_analysis)
        human_info = HumanInfo(
            human_set.n_clips, human_set.n_actors, int(human_set.weight.sum()), n_unrated
        )

    replica_summary = None
    if replica_sets:
        say(f"summarising {len(replica_sets)} bootstrap replicas")
        replica_summary = _replica_summary(
            replica_sets,
            clips,
            labels,
            [a for a in analyses if a is not human_analysis],
            targets,
            decision,
            threshold,
            confidence,
        )

    gaps = _combine_gaps(analyses, human_analysis, confidence)
    findings: list[Finding] = []
    summaries: dict[tuple[str, str], str] = {}
    for analysis in analyses:
        rows = gaps[(gaps["system"] == analysis.system) & (gaps["target"] == analysis.target)]
        found, summary = headline_findings(
            rows,
            system=analysis.system,
            target=analysis.target,
            confidence=confidence,
            human=analysis is human_analysis,
        )
        findings.extend(found)
        summaries[(analysis.system, analysis.target)] = summary

    settings = AuditSettings(
        targets=targets,
        decision=decision,
        threshold=threshold,
        n_boot=n_boot,
        n_perm=n_perm,
        n_chance=n_chance,
        seed=seed,
        confidence=confidence,
        min_actors=min_actors,
        age_edges=check_age_edges(age_edges),
        references=requested_references,
        split_name=split_name if split is not None else None,
        human_baseline=human_baseline,
    )
    return AuditResult(
        settings=settings,
        systems=tuple(systems),
        analyses=tuple(analyses),
        human=human_info,
        group_sizes=_stack(analyses, "sizes"),
        by_group=_stack(analyses, "by_group")[["system", "target", *BY_GROUP_COLUMNS]],
        gaps=gaps,
        replica_summary=replica_summary,
        findings=tuple(findings),
        finding_summaries=summaries,
    )


def _targets(target: str) -> tuple[Target, ...]:
    if target == "both":
        return TARGETS
    if target not in TARGETS:
        raise SerbiasError(f"target {target!r} is not one of intended, observed, both")
    return (target,)  # type: ignore[return-value]


def _check_clips(clips: pd.DataFrame, targets: tuple[str, ...]) -> pd.DataFrame:
    required = list(_REQUIRED_CLIP_COLUMNS) + (["voice_vote"] if "observed" in targets else [])
    missing = [c for c in required if c not in clips.columns]
    if missing:
        raise SerbiasError(f"clip table: missing column(s) {', '.join(missing)}")
    if clips["filename"].duplicated().any():
        raise SerbiasError(
            f"clip table: clip {clips['filename'][clips['filename'].duplicated()].iloc[0]} twice"
        )
    return clips.reset_index(drop=True)


def _scope(
    clips: pd.DataFrame, split: Mapping[str, Sequence[str]] | None, split_name: str | None
) -> set[str] | None:
    """Clip names the audit is restricted to (None = all predicted clips)."""
    if split is None:
        return None
    if split_name not in split:
        raise SerbiasError(f"split {split_name!r} not in the split file (has: {', '.join(split)})")
    names = set(split[split_name])
    if not names:
        raise SerbiasError(f"split {split_name!r} is empty")
    unknown = names - set(clips["filename"])
    if unknown:
        raise SerbiasError(
            f"split {split_name!r}: {len(unknown)} clip(s) not in the corpus "
            f"(e.g. {', '.join(sorted(unknown)[:3])})"
        )
    return names


def _expand(paths: Sequence[Path]) -> list[Path]:
    """Files as given; a directory stands for the ``*.csv`` files in it (sorted)."""
    expanded: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(path.glob("*.csv"))
            if not found:
                raise SerbiasError(f"{path}: directory holds no .csv predictions")
            expanded.extend(found)
        else:
            expanded.append(path)
    return expanded


def _name_systems(loaded: list) -> None:
    """Systems are named by file stem, with the parent directory when stems collide."""
    stems = [p.source.stem for p, *_ in loaded]
    for i, (predictions, *rest) in enumerate(loaded):
        name = predictions.name
        if stems.count(predictions.source.stem) > 1:
            name = f"{predictions.source.parent.name}/{predictions.source.stem}"
        loaded[i] = (
            Predictions(name, predictions.source, predictions.scores, predictions.extra),
            *rest,
        )
    names = [p.name for p, *_ in loaded]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SerbiasError(f"prediction file {duplicated[0]!r} is given twice")


def _combine_gaps(
    analyses: list[Analysis], human: Analysis | None, confidence: float
) -> pd.DataFrame:
    """All gap tables, with BH-adjusted p-values per scored set and the listeners' gaps alongside.

    The model-minus-listeners difference of a gap gets an interval only when both were
    resampled on exactly the same actors (the resamples are then paired).
    """
    frames = []
    for analysis in analyses:
        gaps = analysis.gaps.copy()
        adjust = (gaps["kind"] == "vs_reference") & ~gaps["flagged"].astype(bool)
        gaps["p_adjusted"] = np.nan
        gaps.loc[adjust, "p_adjusted"] = adjust_p_values(gaps.loc[adjust, "p_value"])
        for column in ("human_gap", "excess_gap", "excess_ci_low", "excess_ci_high"):
            gaps[column] = np.nan
        comparable = (
            human is not None
            and analysis is not human
            and analysis.target == "intended"
            and analysis.emotions == human.emotions
        )
        if comparable:
            _add_human(gaps, analysis, human, confidence)
        gaps.insert(0, "target", analysis.target)
        gaps.insert(0, "system", analysis.system)
        frames.append(gaps)
    columns = [
        "system",
        "target",
        *GAP_COLUMNS,
        "p_adjusted",
        "human_gap",
        "excess_gap",
        "excess_ci_low",
        "excess_ci_high",
    ]
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )


def _add_human(gaps: pd.DataFrame, model: Analysis, human: Analysis, confidence: float) -> None:
    human_gaps = human.gaps[human.gaps["kind"] == "vs_reference"].set_index(
        ["axis", "group", "reference", "metric"]
    )
    names = list(dict.fromkeys(gaps["metric"]))
    for index, row in gaps[gaps["kind"] == "vs_reference"].iterrows():
        key = (row["axis"], row["group"], row["reference"], row["metric"])
        if key in human_gaps.index:
            gaps.loc[index, "human_gap"] = human_gaps.loc[key, "gap"]
    for (axis, group, reference), (actors, ref_actors, boot) in model.boot_gaps.items():
        paired = human.boot_gaps.get((axis, group, reference))
        if paired is None or paired[0] != actors or paired[1] != ref_actors:
            continue
        excess = boot - paired[2]
        low, high = percentile_interval(excess, confidence)
        rows = gaps.index[
            (gaps["kind"] == "vs_reference") & (gaps["axis"] == axis) & (gaps["group"] == group)
        ]
        for index in rows:
            position = names.index(gaps.loc[index, "metric"])
            gaps.loc[index, "excess_gap"] = gaps.loc[index, "gap"] - gaps.loc[index, "human_gap"]
            gaps.loc[index, "excess_ci_low"] = low[position]
            gaps.loc[index, "excess_ci_high"] = high[position]


def _replica_summary(
    replica_sets: list[Predictions],
    clips: pd.DataFrame,
    labels: pd.DataFrame,
    analyses: list[Analysis],
    targets: tuple[str, ...],
    decision: Decision,
    threshold: float,
    confidence: float,
) -> pd.DataFrame:
    """The reference study's per-group summary over replicas (gaps to the audit's references)."""
    from serbias.audit._analysis import group_point_metrics

    references = {a.target: a.references for a in analyses}
    frames = []
    for target in targets:
        per_replica = []
        for index, predictions in enumerate(replica_sets):
            scored, _ = score_predictions(
                predictions, clips, labels, target=target, decision=decision, threshold=threshold
            )
            values = group_point_metrics(scored)
            values = values.assign(kind="group", reference="")
            gap_rows = []
            for axis, reference in references[target].items():
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
            per_replica.append(
                pd.concat([values, *gap_rows], ignore_index=True).assign(replica=index)
            )
        summary = summarise_replicas(
            pd.concat(per_replica, ignore_index=True), confidence=confidence
        )
        frames.append(summary.assign(target=target))
    summary = pd.concat(frames, ignore_index=True)
    summary.insert(0, "system", analyses[0].system)
    return summary[
        ["system", "target", *[c for c in summary.columns if c not in ("system", "target")]]
    ]


def _stack(analyses: list[Analysis], attribute: str) -> pd.DataFrame:
    frames = []
    for analysis in analyses:
        frame = getattr(analysis, attribute).copy()
        frame.insert(0, "target", analysis.target)
        frame.insert(0, "system", analysis.system)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _prefix(system: str, target: str, many: bool) -> str:
    if system == HUMAN_SYSTEM:
        return "human."
    return (f"{system_key(system)}." if many else "") + f"{target}."


def system_key(system: str) -> str:
    """A system's prefix in :attr:`AuditResult.metrics` when several systems are audited."""
    return _key(system)


def _key(label: str) -> str:
    return str(label).replace(" ", "_").replace(".", "_")


def _put(flat: dict[str, float], key: str, value) -> None:
    value = float(value)
    if not np.isnan(value):
        flat[key] = int(value) if key.endswith((".n_clips", ".n_actors")) else value
