"""The report as blocks: the first screen, contents, then folded findings, what was audited,
results per scored set, replicas, method."""

from __future__ import annotations

from serbias import vocab
from serbias.audit._axes import PRIMARY_AXES
from serbias.audit._gap_stats import METHODS
from serbias.audit._result import AuditResult, SystemInfo
from serbias.audit.report._blocks import (
    Block,
    Bullets,
    Contents,
    Details,
    Figure,
    Heading,
    Paragraph,
    Section,
    Table,
)
from serbias.audit.report._speakers import speaker_blocks
from serbias.audit.report._study import study_section
from serbias.audit.report._tables import analysis_section, replica_section
from serbias.audit.report._text import section_title
from serbias.audit.settings import AuditParams


def report_blocks(
    result: AuditResult,
    figures: dict[tuple[str, str], list[Figure]],
    *,
    first: Section | None = None,
    strips: dict[tuple[str, str], Figure] | None = None,
) -> list[Block]:
    """The report: the ``first`` screen (verdicts, forest plot, ground truth), a table of
    contents, then every part folded: headline findings, what was audited, one fold per
    scored set (its figures, tables and speakers, with the ``strips`` plot), replicas, method."""
    strips = strips or {}
    findings: list[Block] = []
    for analysis in result.analyses:
        key = (analysis.system, analysis.target)
        found = [f.sentence for f in result.findings if (f.system, f.target) == key]
        not_compared = _not_compared_primary(result, *key)
        findings.append(Paragraph(section_title(*key) + ":"))
        findings.append(Bullets(found + not_compared + [result.finding_summaries.get(key, "")]))
    folds: list[Details] = [
        Details("Headline findings", [Heading("Headline findings"), *findings], "findings"),
        Details("What was audited", [*_audited(result), *_group_sizes(result)], anchor="audited"),
    ]
    verdicts = result.verdicts
    # replica ensembles' figures stay files in plots/: inlined, they would push the report of
    # the pipeline's eight models + replica sets past 2 MB, and the study's tables show them
    replica_sets = {system.name for system in result.systems if system.n_replicas}
    for number, analysis in enumerate(result.analyses):
        key = (analysis.system, analysis.target)
        words = verdicts[
            (verdicts["system"] == analysis.system) & (verdicts["target"] == analysis.target)
        ]["verdict"]
        inline = analysis.system not in replica_sets
        shown = figures.get(key, []) if inline else []
        inner = analysis_section(result, analysis.system, analysis.target, shown)
        inner += speaker_blocks(result, analysis.system, analysis.target)
        if key in strips and inline:
            inner.append(strips[key])
        if not inline and figures.get(key):
            where = figures[key][0].path
            inner.append(Paragraph(f"This replica set's figures are files ({where}, ...)."))
        folds.append(
            Details(f"{section_title(*key)}: {', '.join(words)}", inner, anchor=f"set-{number + 1}")
        )
    if result.study_tables is not None:
        folds.append(Details("The reference study's tables", study_section(result), anchor="study"))
    if result.replica_summary is not None:
        folds.append(Details("Bootstrap replicas", replica_section(result), anchor="replicas"))
    folds.append(Details("How to read this report", _method(result.settings), anchor="method"))
    contents = Contents([(fold.anchor, fold.summary) for fold in folds])
    return [*([first] if first is not None else []), contents, *folds]


def _audited(result: AuditResult) -> list[Block]:
    s = result.settings
    rows = []
    for system in result.systems:
        for target in s.targets:
            excluded = system.exclusions[target].describe() or "none"
            rows.append(
                [
                    system.name,
                    _sources(system),
                    _emotions(system),
                    target,
                    str(system.n_scored[target]),
                    f"{system.n_predicted}",
                    f"{system.n_not_in_corpus}",
                    f"{system.n_outside_split}",
                    excluded,
                ]
            )
    blocks: list[Block] = [Heading("What was audited")]
    if rows:
        blocks.append(
            Table(
                [
                    "System",
                    "Predictions",
                    "Emotions scored",
                    "Target",
                    "Clips scored",
                    "Rows in CSV",
                    "Not in corpus",
                    "Outside split",
                    "Not scored against target",
                ],
                rows,
                numeric=frozenset({4, 5, 6, 7}),
            )
        )
    for system in result.systems:
        if system.is_subset:
            covered = ", ".join(vocab.NAME_BY_EMOTION[e] for e in system.emotions)
            blocks.append(
                Paragraph(
                    f"{system.name} covers {len(system.emotions)} of 6 emotions ({covered}); "
                    "it is scored on those classes only, on clips whose target is one of them, "
                    "so its macro-F1 is over "
                    f"{len(system.emotions)} classes and is not comparable with a 6-class system's."
                )
            )
        if system.n_replicas:
            blocks.append(
                Paragraph(
                    f"{system.name} pools {system.n_replicas} bootstrap-replica prediction files: "
                    "each clip's score is its mean over the replicas that predicted it "
                    "(out-of-bag ensemble). The "
                    "reference study's per-replica summary is in the section Bootstrap replicas."
                )
            )
    blocks += [
        Paragraph(f"Warning ({name}): {warning}") for name, warning in _pretrained_warnings(result)
    ]
    rule = (
        f"an emotion is predicted when its score is >= {s.threshold:g}; several or none may be"
        if s.decision == "threshold"
        else "the highest-scoring emotion is predicted"
    )
    targets = {
        "intended": "intended (the emotion the actor portrayed)",
        "observed": "observed (the crowd's voice-only majority vote; ties give several labels)",
    }
    if result.split_name:
        scope = f"clips of the {result.split_name!r} split"
    elif result.systems:
        scope = "every predicted clip that is in the corpus"
    else:
        scope = "every clip in the corpus"
    chance = f", {s.n_chance} chance shuffles" if result.systems else ""
    settings = [
        f"Scope: {scope}.",
        "Target: " + "; ".join(targets[t] for t in s.targets) + ".",
        f"Decision rule: {s.decision}: {rule}." if result.systems else "",
        f"Interval ({s.interval}): {round(s.confidence * 100)}% "
        f"{METHODS[s.interval]['interval']}; test: {METHODS[s.interval]['test']}; "
        f"no-bias band: {METHODS[s.interval]['chance']}.",
        f"Resampling: {s.n_boot} actor-level bootstrap resamples, up to {s.n_perm} actor "
        f"labelings per gap{chance}, seed {s.seed}.",
        f"Groups with fewer than {s.min_actors} actors are listed but not compared.",
        f"Age bands from edges {list(s.age_edges)}.",
        "Reference groups: " + _references(result) + ".",
    ]
    blocks.append(Bullets([line for line in settings if line]))
    if result.human is not None:
        h = result.human
        blocks.append(
            Paragraph(
                f"Human listeners: {h.n_responses} voice-only responses to {h.n_clips} clips "
                f"of {h.n_actors} "
                f"actors (tabulatedVotes.csv); {h.n_unrated} clip(s) in scope had no votes."
            )
        )
    return blocks


def _group_sizes(result: AuditResult) -> list[Block]:
    first = result.analyses[0]
    sizes = first.sizes
    rows = [
        [r.axis, r.group, str(r.n_clips), str(r.n_actors), r.reason] for r in sizes.itertuples()
    ]
    differs = any(
        not a.sizes[["axis", "group", "n_clips", "n_actors"]].equals(
            sizes[["axis", "group", "n_clips", "n_actors"]]
        )
        for a in result.analyses[1:]
    )
    note = (
        f"Sizes of {section_title(first.system, first.target)}; other scored sets differ slightly "
        "(group_sizes.csv has them all)."
        if differs
        else "The same for every scored set."
    )
    return [
        Heading("Group sizes"),
        Paragraph(note),
        Table(["Axis", "Group", "Clips", "Actors", "Note"], rows, numeric=frozenset({2, 3})),
    ]


def _method(settings: AuditParams) -> list[Block]:
    level = round(settings.confidence * 100)
    methods = METHODS[settings.interval]
    nested = (
        "Clips are nested in actors (every actor records every emotion), so every interval and "
        "test moves whole actors; resampling clips would understate uncertainty."
    )
    if settings.interval == "percentile":
        interval = (
            f"{level}% CI ({methods['interval']}): actors drawn with replacement within each "
            f"group, the percentile interval of {settings.n_boot} resamples. With few actors in a "
            "group it is too narrow (covers 84-88% at 4 vs 5 actors); use --interval jackknife."
        )
        test = (
            f"p ({methods['test']}): group labels shuffled among the two groups' actors "
            f"({settings.n_perm} times), p = (b + 1) / (m + 1)."
        )
        chance = (
            "Chance model: the system's decisions shuffled across clips (keeping how often each "
            f"emotion is predicted), {settings.n_chance} times; its gaps (mean ± SD) understate "
            "the no-bias spread, which is between actors."
        )
    else:
        how = (
            "SE from leaving out one actor at a time, interval gap ± t(df) x SE with "
            "Welch-Satterthwaite df"
            if settings.interval == "jackknife"
            else f"bootstrap-t over {settings.n_boot} actor resamples, the jackknife SE inside each"
        )
        interval = (
            f"{level}% CI ({methods['interval']}): {how}; ratios on the log scale. It keeps its "
            "level down to 4 actors per group (bench/bench_calibration.py)."
        )
        test = (
            f"p ({methods['test']}): the gap divided by its SE, compared with the same statistic "
            f"over labelings of the actors (all of them when there are at most {settings.n_perm}, "
            "else that many at random); valid when group sizes and spreads differ. When the "
            "smallest attainable p is above 0.05 the comparison cannot be resolved and no "
            "interval is given."
        )
        chance = (
            "No-bias band (chance gap ± SD): the gap over the same labelings of whole actors, "
            "what a system whose errors do not depend on the group would show."
        )
    bullets = [
        "Gap: a group's metric minus its reference group's (Male, Caucasian, Not Hispanic and "
        "the largest age band unless --reference says otherwise). Negative means the system "
        "does worse for that group.",
        f"{nested}",
        interval,
        test,
        "p (BH): Benjamini-Hochberg adjusted over every gap of the same system and target. "
        "A headline needs a CI excluding 0 and p (BH) < 0.05.",
        chance,
        "Detectable gap: (t(df, 0.975) + t(df, 0.80)) x SE, the smallest gap this design finds "
        "with 80% power at the 5% level.",
        "Human listeners: CREMA-D's voice-only crowd responses scored like a system, one "
        "response at a time, against the intended emotion. Their gap beside the model's shows "
        "whether the model is more biased than people; model - human has an interval when "
        "both were resampled on the same actors.",
        "Groups with fewer actors than the minimum, or a single actor, are listed with their "
        "sizes and never compared.",
    ]
    return [Heading("How to read this report"), Bullets(bullets)]


def _not_compared_primary(result: AuditResult, system: str, target: str) -> list[str]:
    rows = result.gaps[
        (result.gaps["system"] == system)
        & (result.gaps["target"] == target)
        & (result.gaps["kind"] == "vs_reference")
        & result.gaps["flagged"].astype(bool)
        & result.gaps["axis"].isin(PRIMARY_AXES)
    ]
    return [
        f"{r.group} vs {r.reference} ({r.axis}) is not compared: {r.note}."
        for r in rows.drop_duplicates(["axis", "group"]).itertuples()
    ]


def _sources(system: SystemInfo) -> str:
    if len(system.sources) == 1:
        return system.sources[0].name
    return f"{len(system.sources)} files ({system.sources[0].name} ...)"


def _emotions(system: SystemInfo) -> str:
    names = ", ".join(vocab.NAME_BY_EMOTION[e] for e in system.emotions)
    return names if system.is_subset else f"all 6 ({names})"


def _references(result: AuditResult) -> str:
    first = result.analyses[0].references
    return ", ".join(f"{axis}={group}" for axis, group in first.items() if group is not None)


def _pretrained_warnings(result: AuditResult) -> list[tuple[str, str]]:
    """(system, warning) for pretrained models whose files mention CREMA-D (from the
    predictions' sidecars, which ``serbias predict --model onnx:/hf:`` writes)."""
    import warnings

    from serbias.audit._tracking import audited_models

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreadable sidecars are reported by the tracking step
        audited = audited_models(result)
    found = []
    for info in audited:
        warning = (info.get("pretrained") or {}).get("contamination_warning")
        if warning and (info["system"], warning) not in found:
            found.append((info["system"], warning))
    return found
