"""The report's section in the reference study's layout (from ``study_tables.csv``)."""

from __future__ import annotations

import math

import pandas as pd

from serbias.audit._metrics import metric_phrase
from serbias.audit._result import AuditResult
from serbias.audit.report._blocks import Block, Heading, Paragraph, Table

#: Replicas the reference study trained per model and label kind.
STUDY_REPLICAS = 100


def study_section(result: AuditResult) -> list[Block]:
    """Per model x trained-on x scored-on: macro-F1 of Male, Female, Caucasian, Non-Caucasian
    and the two gaps over replicas, pooled and cross-validated; then per-emotion F1 and recall."""
    table = result.study_tables
    n_replicas = int(table["n_replicas"].max())
    blocks: list[Block] = [
        Heading("The reference study's tables (bootstrap replicas)"),
        Paragraph(
            "As the reference study reported them: each replica model's metric on its own "
            "out-of-bag clips, as mean ± SD over replicas with the t-interval of the mean. "
            "'Pooled' resamples replicas and actors together, the interval we recommend for "
            "replicas; 'cross-validated' is the same model family trained per speaker fold and "
            "scored on speakers no fold heard, with its actor-level interval. They differ "
            "because the replicas' out-of-bag clips come from speakers they were trained on, "
            "which flatters every group and hides speaker sampling from the t-interval."
        ),
    ]
    if n_replicas < STUDY_REPLICAS:
        blocks.append(
            Paragraph(
                f"{n_replicas} replicas, not the study's {STUDY_REPLICAS}: the mean and SD over "
                "replicas are rougher; the paper profile (base.profile: paper) trains "
                f"{STUDY_REPLICAS}."
            )
        )
    keys = ["model", "trained_on", "scored_on"]
    for (model, trained_on, scored_on), rows in table.groupby(keys, sort=False):
        caption = f"{model}, trained on {trained_on} labels, scored on {scored_on} labels"
        blocks.append(_macro_table(rows[rows["metric"] == "macro_f1"], caption))
        blocks.append(_emotion_table(rows[rows["kind"] == "group"], caption))
    return blocks


def _macro_table(rows: pd.DataFrame, caption: str) -> Table:
    body = []
    for row in rows.itertuples(index=False):
        name = row.group if row.kind == "group" else f"{row.group} - {row.reference}"
        body.append([
            name,
            f"{row.replica_mean:.3f} ± {row.replica_sd:.3f}",
            _interval(row.replica_t_low, row.replica_t_high),
            _interval(row.pooled_low, row.pooled_high),
            "" if math.isnan(row.cv_value) else
            f"{row.cv_value:.3f} {_interval(row.cv_ci_low, row.cv_ci_high)}",
        ])  # fmt: skip
    return Table(
        ["Macro-F1", "replicas mean ± SD", "t-interval", "pooled", "cross-validated"],
        body,
        caption=f"{caption}: macro-F1 (n = {int(rows['n_replicas'].max())} replicas)",
        numeric=frozenset({1, 2, 3, 4}),
    )


def _emotion_table(rows: pd.DataFrame, caption: str) -> Table:
    per_emotion = rows[rows["metric"] != "macro_f1"]
    groups = list(dict.fromkeys(per_emotion["group"]))
    cells = per_emotion.set_index(["metric", "group"])
    body = []
    for metric in dict.fromkeys(per_emotion["metric"]):
        line = [metric_phrase(metric)]
        for group in groups:
            found = cells.loc[(metric, group)] if (metric, group) in cells.index else None
            line.append("" if found is None else
                        f"{found['replica_mean']:.3f} ± {found['replica_sd']:.3f}")  # fmt: skip
        body.append(line)
    return Table(
        ["Metric", *groups],
        body,
        caption=f"{caption}: per-emotion F1 and recall, replicas mean ± SD",
        numeric=frozenset(range(1, len(groups) + 1)),
    )


def _interval(low: float, high: float) -> str:
    if math.isnan(low) or math.isnan(high):
        return ""
    return f"[{low:.3f}, {high:.3f}]"
