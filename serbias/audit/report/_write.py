"""Write an audit to a directory: metrics.json, tidy CSVs, plot data, SVGs and the report.

Everything is written to a temporary directory that replaces ``out_dir`` only when complete.
A previous audit output is replaced; any other non-empty directory is refused.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from serbias.atomic import atomic_dir
from serbias.audit._axes import PRIMARY_AXES
from serbias.audit._baselines import HUMAN_SYSTEM
from serbias.audit._gap_stats import METHODS
from serbias.audit._ground_truth import PlantedBias, ground_truth_table
from serbias.audit._metrics import (
    LISTENER_PRIMARY_METRIC,
    PRIMARY_METRIC,
    metric_phrase,
    split_metric,
)
from serbias.audit._result import AuditResult
from serbias.audit.report._blocks import Figure
from serbias.audit.report._html import to_html
from serbias.audit.report._markdown import to_markdown
from serbias.audit.report._overview import first_screen, forest_caption
from serbias.audit.report._plots import (
    actor_strip_figure,
    gap_forest_figure,
    gap_heatmap,
    group_metric_figure,
)
from serbias.audit.report._sections import report_blocks
from serbias.audit.report._text import section_title
from serbias.errors import SerbiasError
from serbias.text import slug

TITLE = "Bias audit of speech emotion recognition"
MARKER = "audit.json"
_FLOAT = "%.6f"


def write_audit(
    result: AuditResult, out_dir: Path, *, planted: tuple[PlantedBias, ...] | None = None
) -> dict[str, Path]:
    """Write every output of ``result`` into ``out_dir``; returns output name -> final path.

    ``planted`` are the biases a synthetic corpus was generated with (``read_planted``; None:
    not synthetic): the report then opens with a ground-truth box, and ground_truth.csv
    judges every verdict against them."""
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
        save_csv("by_actor", "by_actor.csv", result.by_actor)
        save_csv("group_sizes", "group_sizes.csv", result.group_sizes)
        if result.replica_summary is not None:
            save_csv("replicas", "replicas.csv", result.replica_summary)
        if result.study_tables is not None:
            save_csv("study_tables", "study_tables.csv", result.study_tables)
        save_csv(
            f"plot_{PRIMARY_METRIC}",
            f"plots/{PRIMARY_METRIC}_by_group.csv",
            _plot_by_group(result, PRIMARY_METRIC),
        )
        save_csv("plot_recall_gap", "plots/recall_gap.csv", _plot_recall_gap(result))

        verdicts = result.verdicts
        save_csv("verdicts", "verdicts.csv", verdicts)
        truth = None
        if planted is not None:
            truth = ground_truth_table(verdicts, planted)
            save_csv("ground_truth", "ground_truth.csv", truth)

        figures = _figures(result)
        strips = _strips(result)
        forest = Figure(
            "plots/verdict_gaps_forest.svg",
            gap_forest_figure(
                verdicts, confidence=result.settings.confidence, listeners=HUMAN_SYSTEM
            ),
            forest_caption(verdicts, [HUMAN_SYSTEM]),
            anchor="forest",
        )
        for figure in [forest, *strips.values(), *(f for made in figures.values() for f in made)]:
            (tmp / figure.path).write_bytes(figure.data)
            files[Path(figure.path).stem] = out_dir / figure.path

        first = first_screen(
            verdicts,
            forest,
            meaningful_gap=result.settings.meaningful_gap,
            ground_truth=truth,
            planted=planted,
        )
        blocks = report_blocks(result, figures, first=first, strips=strips)
        save_text("report_md", "report.md", to_markdown(TITLE, blocks))
        save_text("report_html", "report.html", to_html(TITLE, blocks))
    return files


def _figures(result: AuditResult) -> dict[tuple[str, str], list[Figure]]:
    """Per scored set: its primary metric by group, and its recall-gap heatmap if any."""
    figures: dict[tuple[str, str], list[Figure]] = {}
    for analysis in result.analyses:
        prefix = _file_prefix(result, analysis.system, analysis.target)
        rows = result.by_group[
            (result.by_group["system"] == analysis.system)
            & (result.by_group["target"] == analysis.target)
        ]
        gap_rows = result.gaps[
            (result.gaps["system"] == analysis.system) & (result.gaps["target"] == analysis.target)
        ]
        human = analysis.system == HUMAN_SYSTEM
        metric = LISTENER_PRIMARY_METRIC if human else PRIMARY_METRIC
        label = section_title(analysis.system, analysis.target)
        svg = group_metric_figure(
            rows,
            metric=metric,
            title=label,
            confidence=result.settings.confidence,
            gaps=gap_rows,
            interval=result.settings.interval,
        )
        made = [
            Figure(
                f"plots/{prefix}{metric}_by_group.svg",
                svg,
                f"{label}: {metric_phrase(metric, human=human)} by group",
            )
        ]
        heat = gap_heatmap(gap_rows, family="recall", title=label)
        if heat is not None:
            made.append(
                Figure(
                    f"plots/{prefix}recall_gap_heatmap.svg",
                    heat,
                    f"{label}: recall gap to the reference group, per emotion",
                )
            )
        figures[(analysis.system, analysis.target)] = made
    return figures


def _strips(result: AuditResult) -> dict[tuple[str, str], Figure]:
    """Per scored set: its actors' macro-F1 by primary axis group (speakers one by one)."""
    strips: dict[tuple[str, str], Figure] = {}
    for analysis in result.analyses:
        by_actor = result.by_actor[
            (result.by_actor["system"] == analysis.system)
            & (result.by_actor["target"] == analysis.target)
        ]
        groups = [
            (axis, group)
            for axis in PRIMARY_AXES
            if axis in by_actor.columns
            for group in sorted(set(by_actor[axis].dropna().astype(str)))
        ]
        if by_actor.empty or not groups:
            continue
        label = section_title(analysis.system, analysis.target)
        prefix = _file_prefix(result, analysis.system, analysis.target)
        strips[(analysis.system, analysis.target)] = Figure(
            f"plots/{prefix}{PRIMARY_METRIC}_by_actor.svg",
            actor_strip_figure(by_actor, groups=groups, metric=PRIMARY_METRIC, title=label),
            f"{label}: macro-F1 of every actor by group (dot: one actor; bar: the group's mean)",
        )
    return strips


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
    return {
        "tool": "serbias audit",
        "settings": result.stated_settings,
        "methods": {"name": result.settings.interval, **METHODS[result.settings.interval]},
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
                "excluded": {t: dataclasses.asdict(e) for t, e in system.exclusions.items()},
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
    return (f"{slug(system)}_" if many else "") + f"{target}_"
