"""``run_audit``: from prediction CSVs and a clip table to every number of the audit."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from serbias.audit._analysis import BY_GROUP_COLUMNS, Analysis, Resampling, analyse
from serbias.audit._axes import clip_columns
from serbias.audit._baselines import human_scored, wants_listeners
from serbias.audit._findings import Finding, headline_findings, power_sentences
from serbias.audit._groups import group_labels
from serbias.audit._replicas import replica_summary
from serbias.audit._result import AuditResult, HumanInfo, SystemInfo
from serbias.audit._scored import Exclusions, score_predictions
from serbias.audit._study import study_tables
from serbias.audit._systems import LoadedSystem, load_systems, pool_replicas, replica_dirs
from serbias.audit._tables import combine_gaps, stack
from serbias.audit.settings import AuditParams
from serbias.errors import SerbiasError

#: Clip-table columns every audit reads (the observed target also needs ``voice_vote``).
_REQUIRED_CLIP_COLUMNS = ("filename", "actor_id", "emotion", *clip_columns())


def run_audit(
    prediction_csvs: Sequence[Path],
    clips: pd.DataFrame,
    settings: AuditParams,
    *,
    split: Mapping[str, Sequence[str]] | None = None,
    strict: bool = False,
    replicas: bool | None = None,
    progress: Callable[[str], None] | None = None,
) -> AuditResult:
    """Audit one or many prediction CSVs (files or directories of CSVs) against a clip table.

    With ``split``, only clips of ``split[settings.split_name]`` are scored; with ``strict``,
    predicted clips missing from the corpus are an error (else a warning). Several CSVs are
    audited as separate systems (named by file stem) unless they look like bootstrap replicas
    of one model (``replicas=None`` decides from their names and clip sets): then they are
    pooled into an out-of-bag ensemble and the reference study's replica summary is added.
    With ``settings.human_baseline`` (``auto``: when the clips have voice votes), the listeners'
    voice-only responses are audited too (on the split's clips, else the predicted clips, else
    the whole corpus); no CSV is then needed.
    """
    say = progress or (lambda _message: None)
    settings = settings.seeded()
    resampling = Resampling.of(settings)
    references = settings.references
    clips = _check_clips(clips, settings.targets)
    labels = group_labels(clips, age_edges=settings.age_edges)
    scope = _scope(clips, split, settings.split_name)

    loaded = load_systems(
        prediction_csvs,
        set(clips["filename"]),
        scope,
        split_name=settings.split_name,
        column_map=settings.column_map,
        strict=strict,
        say=say,
    )
    listeners = wants_listeners(settings.human_baseline, clips)
    pooled = pool_replicas(loaded, replicas)
    replica_sets = [(pooled, loaded)] if pooled is not None else []
    for directory in replica_dirs(prediction_csvs):
        members = load_systems([directory], set(clips["filename"]), scope,
                               split_name=settings.split_name, column_map=settings.column_map,
                               strict=strict, say=say)  # fmt: skip
        replica_sets.append((pool_replicas(members, True, name=directory.name), members))
    to_audit = [pooled] if pooled is not None else list(loaded)
    to_audit += [pooled_set for pooled_set, _ in replica_sets if pooled_set is not pooled]
    _check_unique(to_audit)
    if not to_audit and not listeners:
        raise SerbiasError("nothing to audit: give prediction CSVs, or --human-baseline")

    analyses: list[Analysis] = []
    systems: list[SystemInfo] = []
    for system in to_audit:
        n_scored: dict[str, int] = {}
        exclusions: dict[str, Exclusions] = {}
        for target in settings.targets:
            say(f"auditing {system.name} ({target} target)")
            scored, excluded = score_predictions(
                system.predictions,
                clips,
                labels,
                target=target,
                decision=settings.decision,
                threshold=settings.threshold,
            )
            analyses.append(analyse(scored, resampling=resampling, references=references))
            n_scored[target] = scored.n_clips
            exclusions[target] = excluded
        systems.append(_system_info(system, n_scored, exclusions))

    human_info = None
    human_analysis = None
    if listeners:
        say("auditing the human listeners")
        human_analysis, human_info = _listeners(
            clips, labels, scope, to_audit, analyses, resampling, references
        )
        analyses.append(human_analysis)

    summaries = []
    for pooled_set, members in replica_sets:
        say(f"summarising {pooled_set.n_replicas} bootstrap replicas of {pooled_set.name}")
        summaries.append(
            replica_summary(
                [system.predictions for system in members],
                clips,
                labels,
                {a.target: a.references for a in analyses if a.system == pooled_set.name},
                settings,
                system=pooled_set.name,
            )
        )
    summary = pd.concat(summaries, ignore_index=True) if summaries else None

    gaps = combine_gaps(analyses, human_analysis, settings.confidence)
    by_group = stack(analyses, "by_group")[["system", "target", *BY_GROUP_COLUMNS]]
    findings: list[Finding] = []
    summaries: dict[tuple[str, str], str] = {}
    for analysis in analyses:
        rows = gaps[(gaps["system"] == analysis.system) & (gaps["target"] == analysis.target)]
        found, sentence = headline_findings(
            rows,
            system=analysis.system,
            target=analysis.target,
            confidence=settings.confidence,
            human=analysis is human_analysis,
        )
        findings.extend(found)
        power = power_sentences(
            rows, corpus_actors=clips["actor_id"].nunique(), human=analysis is human_analysis
        )
        chance = []
        if analysis.near_chance:
            chance = [
                f"{analysis.system} is near chance: its macro-F1 CI does not exceed the chance "
                f"model's {analysis.chance_macro_f1:.3f}, so its gaps are uninformative."
            ]
        summaries[(analysis.system, analysis.target)] = " ".join([*chance, sentence, *power])

    return AuditResult(
        settings=settings,
        split_name=settings.split_name if split is not None else None,
        systems=tuple(systems),
        analyses=tuple(analyses),
        human=human_info,
        group_sizes=stack(analyses, "sizes"),
        by_group=by_group,
        gaps=gaps,
        by_actor=stack(analyses, "by_actor"),
        near_chance=frozenset((a.system, a.target) for a in analyses if a.near_chance),
        replica_summary=summary,
        study_tables=study_tables(systems, summary, by_group, gaps),
        findings=tuple(findings),
        finding_summaries=summaries,
    )


def _system_info(
    system: LoadedSystem, n_scored: dict[str, int], exclusions: dict[str, Exclusions]
) -> SystemInfo:
    return SystemInfo(
        name=system.name,
        sources=system.sources,
        emotions=system.predictions.emotions,
        n_predicted=system.n_predicted,
        n_not_in_corpus=system.n_not_in_corpus,
        n_outside_split=system.n_outside_split,
        n_scored=n_scored,
        exclusions=exclusions,
        n_replicas=system.n_replicas,
    )


def _listeners(
    clips: pd.DataFrame,
    labels: pd.DataFrame,
    scope: set[str] | None,
    loaded: Sequence[LoadedSystem],
    analyses: Sequence[Analysis],
    resampling: Resampling,
    references: Mapping[str, str],
) -> tuple[Analysis, HumanInfo]:
    """The listeners' audit on the split's clips, else the predicted clips, else all clips."""
    if scope is not None:
        in_human = clips["filename"].isin(list(scope)).to_numpy()
    elif loaded:
        predicted = set().union(*(set(s.predictions.filenames) for s in loaded))
        in_human = clips["filename"].isin(list(predicted)).to_numpy()
    else:
        in_human = np.ones(len(clips), bool)
    human_clips = clips[in_human].reset_index(drop=True)
    human_set, n_unrated = human_scored(human_clips, labels[in_human].reset_index(drop=True))
    # compare listeners with the model's reference groups, so their gaps sit side by side
    model_references = next((a.references for a in analyses if a.target == "intended"), {})
    analysis = analyse(
        human_set,
        resampling=resampling,
        references=references,
        preferred_references=model_references,
    )
    info = HumanInfo(human_set.n_clips, human_set.n_actors, int(human_set.weight.sum()), n_unrated)
    return analysis, info


def _check_unique(systems: Sequence[LoadedSystem]) -> None:
    names = [system.name for system in systems]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise SerbiasError(f"two audited systems are named {twice[0]!r}; rename one of them")


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
    clips: pd.DataFrame, split: Mapping[str, Sequence[str]] | None, split_name: str
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
