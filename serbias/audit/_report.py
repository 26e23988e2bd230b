"""Write an audit to a directory: metrics.json, tidy CSVs, plot data, PNGs and the report.

Everything is written to a temporary directory that replaces ``out_dir`` only when complete.
A previous audit output is replaced; any other non-empty directory is refused.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pandas as pd

from serbias import vocab
from serbias.atomic import atomic_dir
from serbias.audit._audit import AuditResult, AuditSettings, SystemInfo
from serbias.audit._baselines import HUMAN_SYSTEM
from serbias.audit._document import (
    Block,
    Bullets,
    Figure,
    Heading,
    Paragraph,
    Table,
    to_html,
    to_markdown,
)
from serbias.audit._findings import group_phrase, metric_phrase, p_text
from serbias.audit._metrics import split_metric
from serbias.audit._plots import gap_heatmap, group_metric_figure
from serbias.errors import SerbiasError

TITLE = "Bias audit of speech emotion recognition"
MARKER = "audit.json"
_FLOAT = "%.6f"


def write_audit(result: AuditResult, out_dir: Path) -> dict[str, Path]:
    """Write every output of ``result`` into ``out_dir``; returns output name -> final path."""
    out_dir = Path(out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
        raise SerbiasError(
            f"{out_dir}: directory is not empty and holds no previous audit; choose another --out"
        )
    files: dict[str, Path] = {}
    with atomic_dir(out_dir, force=True) as tmp:
        (tmp / "plots").mkdir()

        def save_text(name: str, relative: str, text: str) -> None:
            (tmp / relative).write_text(text, encoding="utf-8")
            files[name] = out_dir / relative

        def save_csv(name: str, relative: str, frame: pd.DataFrame) -> None:
            save_text(
                name, relative, frame.to_csv(index=False, float_format=_FLOAT, lineterminator="\n")
            )

        save_text(
            "metrics",
            "metrics.json",
            json.dumps(result.headline_metrics, indent=2, sort_keys=True) + "\n",
        )
        save_text(
            "settings", MARKER, json.dumps(_provenance(result), indent=2, sort_keys=True) + "\n"
        )
        save_csv("by_group", "by_group.csv", result.by_group)
        save_csv("gaps", "gaps.csv", result.gaps)
        save_csv("group_sizes", "group_sizes.csv", result.group_sizes)
        if result.replica_summary is not None:
            save_csv("replicas", "replicas.csv", result.replica_summary)
        save_csv("plot_macro_f1", "plots/macro_f1_by_group.csv", _plot_by_group(result, "macro_f1"))
        save_csv("plot_recall_gap", "plots/recall_gap.csv", _plot_recall_gap(result))

        figures: dict[tuple[str, str], list[Figure]] = {}
        for analysis in result.analyses:
            prefix = _file_prefix(result, analysis.system, analysis.target)
            rows = result.by_group[
                (result.by_group["system"] == analysis.system)
                & (result.by_group["target"] == analysis.target)
            ]
            gap_rows = result.gaps[
                (result.gaps["system"] == analysis.system)
                & (result.gaps["target"] == analysis.target)
            ]
            human = analysis.system == HUMAN_SYSTEM
            metric = "accuracy" if human else "macro_f1"
            label = _section_title(analysis.system, analysis.target)
            made = []
            png = group_metric_figure(
                rows, metric=metric, title=label, confidence=result.settings.confidence
            )
            made.append(
                Figure(
                    f"plots/{prefix}{metric}_by_group.png",
                    png,
                    f"{label}: {metric_phrase(metric, human=human)} by group",
                )
            )
            heat = gap_heatmap(gap_rows, family="recall", title=label)
            if heat is not None:
                made.append(
                    Figure(
                        f"plots/{prefix}recall_gap_heatmap.png",
                        heat,
                        f"{label}: recall gap to the reference group, per emotion",
                    )
                )
            for figure in made:
                (tmp / figure.path).write_bytes(figure.png)
                files[Path(figure.path).stem] = out_dir / figure.path
            figures[(analysis.system, analysis.target)] = made

        blocks = report_blocks(result, figures)
        save_text("report_md", "report.md", to_markdown(TITLE, blocks))
        save_text("report_html", "report.html", to_html(TITLE, blocks))
    return files


def report_blocks(result: AuditResult, figures: dict[tuple[str, str], list[Figure]]) -> list[Block]:
    """The report, headline findings first."""
    settings = result.settings
    blocks: list[Block] = [Heading("Headline findings")]
    for analysis in result.analyses:
        key = (analysis.system, analysis.target)
        found = [f.sentence for f in result.findings if (f.system, f.target) == key]
        not_compared = _not_compared_primary(result, *key)
        blocks.append(Paragraph(_section_title(*key) + ":"))
        blocks.append(Bullets(found + not_compared + [result.finding_summaries.get(key, "")]))
    blocks += _audited(result)
    blocks += _group_sizes(result)
    for analysis in result.analyses:
        key = (analysis.system, analysis.target)
        blocks += _analysis_section(result, analysis.system, analysis.target, figures.get(key, []))
    if result.replica_summary is not None:
        blocks += _replica_section(result)
    blocks += _method(settings)
    return blocks


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
    rule = (
        f"an emotion is predicted when its score is >= {s.threshold:g}; several or none may be"
        if s.decision == "threshold"
        else "the highest-scoring emotion is predicted"
    )
    targets = {
        "intended": "intended (the emotion the actor portrayed)",
        "observed": "observed (the crowd's voice-only majority vote; ties give several labels)",
    }
    if s.split_name:
        scope = f"clips of the {s.split_name!r} split"
    elif result.systems:
        scope = "every predicted clip that is in the corpus"
    else:
        scope = "every clip in the corpus"
    chance = f", {s.n_chance} chance shuffles" if result.systems else ""
    settings = [
        f"Scope: {scope}.",
        "Target: " + "; ".join(targets[t] for t in s.targets) + ".",
        f"Decision rule: {s.decision}: {rule}." if result.systems else "",
        f"Uncertainty: {s.n_boot} actor-level bootstrap resamples "
        f"({round(s.confidence * 100)}% percentile "
        f"intervals), {s.n_perm} actor-level permutations{chance}, seed {s.seed}.",
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
        f"Sizes of {_section_title(first.system, first.target)}; other scored sets differ slightly "
        "(group_sizes.csv has them all)."
        if differs
        else "The same for every scored set."
    )
    return [
        Heading("Group sizes"),
        Paragraph(note),
        Table(["Axis", "Group", "Clips", "Actors", "Note"], rows, numeric=frozenset({2, 3})),
    ]


def _analysis_section(
    result: AuditResult, system: str, target: str, figures: list[Figure]
) -> list[Block]:
    confidence = result.settings.confidence
    human = system == HUMAN_SYSTEM
    by_group = result.by_group[
        (result.by_group["system"] == system) & (result.by_group["target"] == target)
    ]
    gaps = result.gaps[(result.gaps["system"] == system) & (result.gaps["target"] == target)]
    emotions = [
        split_metric(m)[1] for m in by_group["metric"].unique() if split_metric(m)[0] == "recall"
    ]
    title = (
        "Human listeners (voice only, per response)"
        if human
        else f"Results: {_section_title(system, target)}"
    )
    blocks: list[Block] = [Heading(title)]
    if figures:
        blocks.append(figures[0])

    level = f"{round(confidence * 100)}% CI"
    rows = []
    for (axis, group), metrics in by_group.groupby(["axis", "group"], sort=False):
        metrics = metrics.set_index("metric")
        first = metrics.iloc[0]
        rows.append(
            [
                axis,
                group,
                str(first["n_actors"]),
                str(first["n_clips"]),
                _with_ci(*metrics.loc["macro_f1", ["value", "ci_low", "ci_high"]]),
                _with_ci(*metrics.loc["accuracy", ["value", "ci_low", "ci_high"]]),
                *[f"{metrics.loc[f'recall_{e}', 'value']:.3f}" for e in emotions],
                "not compared" if first["flagged"] else "",
            ]
        )
    accuracy = "Per-response accuracy" if human else "Accuracy (all emotions right)"
    blocks.append(
        Table(
            [
                "Axis",
                "Group",
                "Actors",
                "Clips",
                f"Macro-F1 [{level}]",
                f"{accuracy} [{level}]",
                *[f"Recall {e}" for e in emotions],
                "Note",
            ],
            rows,
            caption="Metrics by group (recall intervals are in by_group.csv)",
            numeric=frozenset(range(2, 6 + len(emotions))),
        )
    )

    shown = gaps[
        (gaps["kind"] == "vs_reference")
        & gaps["metric"].map(lambda m: split_metric(m)[0] in ("macro_f1", "accuracy", "recall"))
    ]
    gap_rows = []
    for r in shown.itertuples():
        comparison = f"{group_phrase(r.axis, r.group)} vs {group_phrase(r.axis, r.reference)}"
        if r.flagged:
            gap_rows.append(
                [
                    r.axis,
                    comparison,
                    metric_phrase(r.metric, human=human),
                    "not compared",
                    "",
                    "",
                    "",
                    "",
                    "",
                    f"{r.n_actors} / {r.n_actors_reference}",
                    r.note,
                ]
            )
            continue
        chance = "" if math.isnan(r.chance_gap) else f"{r.chance_gap:+.3f} ± {r.chance_sd:.3f}"
        human_gap = "" if math.isnan(r.human_gap) else f"{r.human_gap:+.3f}"
        excess = (
            ""
            if math.isnan(r.excess_gap)
            else _with_ci(r.excess_gap, r.excess_ci_low, r.excess_ci_high, sign=True)
        )
        gap_rows.append(
            [
                r.axis,
                comparison,
                metric_phrase(r.metric, human=human),
                _with_ci(r.gap, r.ci_low, r.ci_high, sign=True),
                p_text(r.p_value),
                f"{r.p_adjusted:.3f}",
                chance,
                human_gap,
                excess,
                f"{r.n_actors} / {r.n_actors_reference}",
                r.note,
            ]
        )
    blocks.append(
        Table(
            [
                "Axis",
                "Group vs reference",
                "Metric",
                f"Gap [{level}]",
                "p",
                "p (BH)",
                "Chance model (mean ± SD)",
                "Human listeners' gap",
                f"Model - human [{level}]",
                "Actors",
                "Note",
            ],
            gap_rows,
            caption="Gaps to the reference group (group minus reference; "
            "every metric is in gaps.csv)",
            numeric=frozenset({3, 4, 5, 6, 7, 8}),
        )
    )

    between = gaps[
        (gaps["kind"] == "between_groups") & gaps["metric"].isin(["macro_f1", "accuracy"])
    ]
    if not between.empty:
        blocks.append(
            Table(
                [
                    "Axis",
                    "Metric",
                    f"Highest minus lowest [{level}]",
                    f"Lowest / highest [{level}]",
                    "p (omnibus)",
                    "Chance model",
                    "Highest",
                    "Lowest",
                ],
                [
                    [
                        r.axis,
                        metric_phrase(r.metric, human=human),
                        _with_ci(r.gap, r.ci_low, r.ci_high),
                        _with_ci(r.ratio, r.ratio_ci_low, r.ratio_ci_high),
                        p_text(r.p_value),
                        ""
                        if math.isnan(r.chance_gap)
                        else f"{r.chance_gap:.3f} ± {r.chance_sd:.3f}",
                        r.group,
                        r.reference,
                    ]
                    for r in between.itertuples()
                ],
                caption="Spread between comparable groups "
                "(fairlearn's between-groups difference and ratio)",
                numeric=frozenset({2, 3, 4, 5}),
            )
        )
    blocks += figures[1:]
    return blocks


def _replica_section(result: AuditResult) -> list[Block]:
    summary = result.replica_summary
    blocks: list[Block] = [
        Heading("Bootstrap replicas (the reference study's summary)"),
        Paragraph(
            "Per group, the metric of each replica model on its own out-of-bag clips, summarised "
            "over replicas as mean ± standard deviation [t-interval of the mean], as the "
            "reference study reported it; 'A - B' columns are per-replica gaps. This interval "
            "describes model-training variability on these clips, not uncertainty about the "
            "speakers; the actor-level intervals above answer that."
        ),
    ]
    for target, rows in summary.groupby("target", sort=False):
        chosen = rows[rows["axis"].isin(["sex", "race_binary"])].copy()
        gap = chosen["kind"] == "gap_vs_reference"
        chosen["column"] = chosen["group"].where(
            ~gap, chosen["group"] + " - " + chosen["reference"]
        )
        columns = list(dict.fromkeys(chosen["column"]))
        families = ("macro_f1", "f1", "recall")
        metrics = [m for m in dict.fromkeys(chosen["metric"]) if split_metric(m)[0] in families]
        table = chosen.set_index(["metric", "column"])
        body = []
        for metric in metrics:
            cells = []
            for column in columns:
                r = table.loc[(metric, column)]
                cells.append(
                    f"{r['mean']:.3f} ± {r['std']:.3f} [{r['t_low']:.3f}, {r['t_high']:.3f}]"
                )
            body.append([metric_phrase(metric), *cells])
        n = int(rows["n_replicas"].max())
        blocks.append(Table(["Metric", *columns], body, caption=f"{target} target, {n} replicas"))
    return blocks


def _method(settings: AuditSettings) -> list[Block]:
    level = round(settings.confidence * 100)
    bullets = [
        "Gap: a group's metric minus its reference group's (by default the group with most "
        "actors). Negative means the system does worse for that group.",
        f"{level}% CI: actor-level bootstrap. Clips are nested in actors (every actor records "
        "every emotion), so resampling clips would understate uncertainty. Each resample draws "
        "actors with replacement within each group and keeps all their clips; the interval is "
        f"the percentile interval of {settings.n_boot} resamples. With few actors in a group "
        "the interval is too narrow; trust the p-value more there.",
        "p: actor-level permutation test. Group labels are shuffled among the actors of the "
        f"two groups ({settings.n_perm} times) and p = (b + 1) / (m + 1), where b of m "
        "shuffles give a gap at least as large in absolute value. The between-groups p is the "
        "same test for the spread over all comparable groups.",
        "p (BH): Benjamini-Hochberg adjusted over every gap of the same system and target. "
        "Many gaps are tested; some will have p < 0.05 by chance.",
        "Chance model: the system's decisions shuffled across clips (keeping how often each "
        f"emotion is predicted), {settings.n_chance} times; its gaps (mean ± SD) are what a "
        "system with no bias would show on these groups.",
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
        & result.gaps["axis"].isin(["sex", "race_binary"])
    ]
    return [
        f"{r.group} vs {r.reference} ({r.axis}) is not compared: {r.note}."
        for r in rows.drop_duplicates(["axis", "group"]).itertuples()
    ]


def _plot_by_group(result: AuditResult, metric: str) -> pd.DataFrame:
    rows = result.by_group[
        (result.by_group["metric"] == metric) & (result.by_group["axis"] != "overall")
    ]
    frame = rows[
        ["system", "target", "axis", "group", "value", "ci_low", "ci_high", "n_actors", "flagged"]
    ]
    frame = frame.rename(columns={"value": metric})
    frame.insert(4, "label", frame["axis"] + ": " + frame["group"])
    return frame.reset_index(drop=True)


def _plot_recall_gap(result: AuditResult) -> pd.DataFrame:
    gaps = result.gaps
    rows = gaps[
        (gaps["kind"] == "vs_reference")
        & ~gaps["flagged"].astype(bool)
        & gaps["metric"].map(lambda m: split_metric(m)[0] == "recall")
    ].copy()
    rows["emotion"] = rows["metric"].map(lambda m: split_metric(m)[1])
    rows["comparison"] = rows["axis"] + ": " + rows["group"] + " vs " + rows["reference"]
    columns = [
        "system",
        "target",
        "axis",
        "group",
        "reference",
        "comparison",
        "emotion",
        "gap",
        "ci_low",
        "ci_high",
        "p_value",
    ]
    return rows[columns].reset_index(drop=True)


def _provenance(result: AuditResult) -> dict:
    s = result.settings
    return {
        "tool": "serbias audit",
        "settings": {
            "targets": list(s.targets),
            "decision": s.decision,
            "threshold": s.threshold,
            "n_boot": s.n_boot,
            "n_perm": s.n_perm,
            "n_chance": s.n_chance,
            "seed": s.seed,
            "confidence": s.confidence,
            "min_actors": s.min_actors,
            "age_edges": list(s.age_edges),
            "references": s.references,
            "split_name": s.split_name,
            "human_baseline": s.human_baseline,
        },
        "references_used": {f"{a.system}|{a.target}": a.references for a in result.analyses},
        "systems": [
            {
                "name": system.name,
                "sources": [str(p) for p in system.sources],
                "emotions": list(system.emotions),
                "n_predicted": system.n_predicted,
                "n_not_in_corpus": system.n_not_in_corpus,
                "n_outside_split": system.n_outside_split,
                "n_scored": system.n_scored,
                "n_replicas": system.n_replicas,
                "excluded": {
                    t: {"unrated": e.unrated, "not_covered": e.not_covered}
                    for t, e in system.exclusions.items()
                },
            }
            for system in result.systems
        ],
        "human": None if result.human is None else dataclasses.asdict(result.human),
        "findings": [f.sentence for f in result.findings],
    }


def _file_prefix(result: AuditResult, system: str, target: str) -> str:
    if system == HUMAN_SYSTEM:
        return "human_"
    many = len(result.systems) > 1
    return (f"{_slug(system)}_" if many else "") + f"{target}_"


def _section_title(system: str, target: str) -> str:
    if system == HUMAN_SYSTEM:
        return "Human listeners (voice only)"
    return f"{system}, {target} target"


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


def _with_ci(value: float, low: float, high: float, *, sign: bool = False) -> str:
    shown = f"{value:+.3f}" if sign else f"{value:.3f}"
    if math.isnan(low) or math.isnan(high):
        return f"{shown} (no interval)"
    return f"{shown} [{low:+.3f}, {high:+.3f}]" if sign else f"{shown} [{low:.3f}, {high:.3f}]"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
