"""The report's result tables: metrics by group, gaps, the spread between groups, replicas."""

from __future__ import annotations

import math

import pandas as pd

from serbias.audit._axes import PRIMARY_AXES, group_phrase
from serbias.audit._baselines import HUMAN_SYSTEM
from serbias.audit._findings import p_text
from serbias.audit._metrics import metric_phrase, split_metric
from serbias.audit._result import AuditResult
from serbias.audit.report._blocks import Block, Figure, Heading, Paragraph, Table
from serbias.audit.report._text import section_title, with_ci

#: Metric families shown per group with their interval (by_group.csv has every metric) and in
#: the between-groups table; recall is shown per emotion beside them.
GROUP_TABLE_METRICS = ("macro_f1", "accuracy")
#: Metric families of the report's gap table (gaps.csv has every metric) ...
GAP_TABLE_FAMILIES = ("macro_f1", "accuracy", "recall")
#: ... of which these only where the CI excludes 0 with p < 0.05 (all of them: the heatmap)
GAP_TABLE_NOTABLE_ONLY = ("recall",)
#: Metric families of the bootstrap-replica summary.
REPLICA_TABLE_FAMILIES = ("macro_f1", "f1", "recall")


def analysis_section(
    result: AuditResult, system: str, target: str, figures: list[Figure]
) -> list[Block]:
    """One scored set's results: its figure, metrics by group, gaps, the spread, heatmap."""
    human = system == HUMAN_SYSTEM
    by_group = result.by_group[
        (result.by_group["system"] == system) & (result.by_group["target"] == target)
    ]
    gaps = result.gaps[(result.gaps["system"] == system) & (result.gaps["target"] == target)]
    title = (
        "Human listeners (voice only, per response)"
        if human
        else f"Results: {section_title(system, target)}"
    )
    if (system, target) in result.near_chance:
        title += " (near chance: its gaps are uninformative)"
    level = f"{round(result.settings.confidence * 100)}% CI"
    blocks: list[Block] = [Heading(title), *figures[:1]]
    blocks.append(_group_table(by_group, level, human=human))
    blocks.append(_gap_table(gaps, level, human=human))
    between = gaps[(gaps["kind"] == "between_groups") & gaps["metric"].isin(GROUP_TABLE_METRICS)]
    if not between.empty:
        blocks.append(_between_table(between, level, human=human))
    return blocks + figures[1:]


def _group_table(by_group: pd.DataFrame, level: str, *, human: bool) -> Table:
    emotions = [
        split_metric(m)[1] for m in by_group["metric"].unique() if split_metric(m)[0] == "recall"
    ]
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
                *[
                    with_ci(*metrics.loc[metric, ["value", "ci_low", "ci_high"]])
                    for metric in GROUP_TABLE_METRICS
                ],
                *[f"{metrics.loc[f'recall_{e}', 'value']:.3f}" for e in emotions],
                "not compared" if first["flagged"] else "",
            ]
        )
    accuracy = "Per-response accuracy" if human else "Accuracy (all emotions right)"
    return Table(
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


def _gap_table(gaps: pd.DataFrame, level: str, *, human: bool) -> Table:
    family = gaps["metric"].map(lambda m: split_metric(m)[0])
    notable = ((gaps["ci_low"] > 0) | (gaps["ci_high"] < 0)) & (gaps["p_value"] < 0.05)
    shown = gaps[
        (gaps["kind"] == "vs_reference")
        & family.isin(GAP_TABLE_FAMILIES)
        & (~family.isin(GAP_TABLE_NOTABLE_ONLY) | notable)
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
            else with_ci(r.excess_gap, r.excess_ci_low, r.excess_ci_high, sign=True)
        )
        gap_rows.append(
            [
                r.axis,
                comparison,
                metric_phrase(r.metric, human=human),
                with_ci(r.gap, r.ci_low, r.ci_high, sign=True),
                p_text(r.p_value),
                f"{r.p_adjusted:.3f}",
                chance,
                human_gap,
                excess,
                f"{r.n_actors} / {r.n_actors_reference}",
                r.note,
            ]
        )
    return Table(
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
        caption="Gaps to the reference group (group minus reference); per-emotion recall only "
        "where the CI excludes 0 and p < 0.05 (every recall gap: the heatmap; every metric: "
        "gaps.csv)",
        numeric=frozenset({3, 4, 5, 6, 7, 8}),
    )


def _between_table(between: pd.DataFrame, level: str, *, human: bool) -> Table:
    rows = []
    for r in between.itertuples():
        chance = "" if math.isnan(r.chance_gap) else f"{r.chance_gap:.3f} ± {r.chance_sd:.3f}"
        rows.append(
            [
                r.axis,
                metric_phrase(r.metric, human=human),
                with_ci(r.gap, r.ci_low, r.ci_high),
                with_ci(r.ratio, r.ratio_ci_low, r.ratio_ci_high),
                p_text(r.p_value),
                chance,
                r.group,
                r.reference,
            ]
        )
    return Table(
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
        rows,
        caption="Spread between comparable groups "
        "(fairlearn's between-groups difference and ratio)",
        numeric=frozenset({2, 3, 4, 5}),
    )


def replica_section(result: AuditResult) -> list[Block]:
    """The reference study's summary over bootstrap replicas, on the primary axes."""
    summary = result.replica_summary
    blocks: list[Block] = [
        Heading("Bootstrap replicas (the reference study's summary)"),
        Paragraph(
            "Per group, the metric of each replica model on its own out-of-bag clips, summarised "
            "over replicas as mean ± standard deviation [t-interval of the mean], as the "
            "reference study reported it; 'A - B' columns are per-replica gaps. This interval "
            "describes model-training variability on these clips, not uncertainty about the "
            "speakers. The recommended interval for a gap, shown after 'pooled', resamples "
            "replicas and actors together (two-level bootstrap-t), so it holds both."
        ),
    ]
    for (system, target), rows in summary.groupby(["system", "target"], sort=False):
        chosen = rows[rows["axis"].isin(PRIMARY_AXES)].copy()
        gap = chosen["kind"] == "gap_vs_reference"
        chosen["column"] = chosen["group"].where(
            ~gap, chosen["group"] + " - " + chosen["reference"]
        )
        columns = list(dict.fromkeys(chosen["column"]))
        metrics = [
            m
            for m in dict.fromkeys(chosen["metric"])
            if split_metric(m)[0] in REPLICA_TABLE_FAMILIES
        ]
        table = chosen.set_index(["metric", "column"])
        body = []
        for metric in metrics:
            cells = []
            for column in columns:
                r = table.loc[(metric, column)]
                cell = f"{r['mean']:.3f} ± {r['std']:.3f} [{r['t_low']:.3f}, {r['t_high']:.3f}]"
                if not math.isnan(r["pooled_low"]):
                    cell += f"; pooled [{r['pooled_low']:.3f}, {r['pooled_high']:.3f}]"
                cells.append(cell)
            body.append([metric_phrase(metric), *cells])
        n = int(rows["n_replicas"].max())
        blocks.append(
            Table(["Metric", *columns], body, caption=f"{system}, {target} target, {n} replicas")
        )
    return blocks
