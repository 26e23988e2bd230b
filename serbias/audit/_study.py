"""The reference study's tables: per model x trained-on x scored-on, each sex and race group's
metric over bootstrap replicas, next to the pooled interval and cross-validation figures.

The study reported, for Male, Female, Caucasian and Non-Caucasian speakers, the mean over its
100 replicas of macro-F1 and per-emotion F1 and recall, with SD and t-interval. Here each row
also carries the interval that resamples replicas and actors together (the recommended one)
and, when the same model was also cross-validated over speakers, its pooled out-of-fold value
and actor-level interval. They differ because the replicas predict out-of-bag clips of
speakers they were trained on, while cross-validation scores speakers no fold saw.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from serbias.audit._metrics import split_metric
from serbias.audit._sidecars import system_sidecars

#: (axis, group) rows of the study's tables, in its order.
STUDY_GROUPS = (("sex", "Male"), ("sex", "Female"), ("race_binary", "Caucasian"),
                ("race_binary", "Non-Caucasian"))  # fmt: skip
#: (axis, group, reference) gap rows.
STUDY_GAPS = (("sex", "Female", "Male"), ("race_binary", "Non-Caucasian", "Caucasian"))
#: Metric families the study tabulated.
STUDY_FAMILIES = ("macro_f1", "f1", "recall")
STUDY_COLUMNS = [
    "model", "trained_on", "scored_on", "kind", "axis", "group", "reference", "metric",
    "n_replicas", "replica_mean", "replica_sd", "replica_t_low", "replica_t_high",
    "pooled_low", "pooled_high", "system", "cv_system", "cv_value", "cv_ci_low", "cv_ci_high",
]  # fmt: skip


def study_tables(
    systems: Sequence[object],
    replica_summary: pd.DataFrame | None,
    by_group: pd.DataFrame,
    gaps: pd.DataFrame,
) -> pd.DataFrame | None:
    """One row per replica set x scored target x study group (or gap) x metric; None without
    replica sets. ``systems`` are the audit's :class:`SystemInfo`; a replica set's model and
    trained-on labels come from its predictions' sidecars (else its name), and its
    cross-validation partner is the pooled out-of-fold system whose sidecar names the same
    model and labels."""
    if replica_summary is None or replica_summary.empty:
        return None
    described = {system.name: _model_of(system) for system in systems}
    singles = {described[s.name]: s.name for s in systems if not s.n_replicas and _pooled_oof(s)}
    frames = []
    for system, rows in replica_summary.groupby("system", sort=False):
        model, trained_on = described.get(system, (None, None))
        cv_system = singles.get((model, trained_on)) if model else None
        frames.append(_rows(rows, cv_system, by_group, gaps).assign(
            model=model or system, trained_on=trained_on or "", system=system,
            cv_system=cv_system or ""))  # fmt: skip
    table = pd.concat(frames, ignore_index=True)
    return table[STUDY_COLUMNS]


def _rows(
    summary: pd.DataFrame, cv_system: str | None, by_group: pd.DataFrame, gaps: pd.DataFrame
) -> pd.DataFrame:
    families = summary["metric"].map(lambda m: split_metric(m)[0]).isin(STUDY_FAMILIES)
    wanted = summary[families & (_is_group(summary) | _is_gap(summary))].copy()
    wanted["order"] = [_order(r.axis, r.group, r.kind) for r in wanted.itertuples()]
    wanted = wanted.sort_values(["target", "order"], kind="stable")
    out = pd.DataFrame({
        "scored_on": wanted["target"], "kind": wanted["kind"].map(_KIND),
        "axis": wanted["axis"], "group": wanted["group"],
        "reference": wanted["reference"].fillna(""), "metric": wanted["metric"],
        "n_replicas": wanted["n_replicas"], "replica_mean": wanted["mean"],
        "replica_sd": wanted["std"], "replica_t_low": wanted["t_low"],
        "replica_t_high": wanted["t_high"], "pooled_low": wanted["pooled_low"],
        "pooled_high": wanted["pooled_high"],
    }).reset_index(drop=True)  # fmt: skip
    cv = _cv_figures(out, cv_system, by_group, gaps)
    return pd.concat([out, cv], axis=1)


_KIND = {"group": "group", "gap_vs_reference": "gap"}


def _is_group(summary: pd.DataFrame) -> pd.Series:
    pairs = list(zip(summary["axis"], summary["group"], strict=True))
    return (summary["kind"] == "group") & pd.Series(
        [p in STUDY_GROUPS for p in pairs], index=summary.index
    )


def _is_gap(summary: pd.DataFrame) -> pd.Series:
    triples = list(zip(summary["axis"], summary["group"], summary["reference"], strict=True))
    return (summary["kind"] == "gap_vs_reference") & pd.Series(
        [t in STUDY_GAPS for t in triples], index=summary.index
    )


def _order(axis: str, group: str, kind: str) -> int:
    if kind == "group":
        return STUDY_GROUPS.index((axis, group))
    return len(STUDY_GROUPS) + [g[:2] for g in STUDY_GAPS].index((axis, group))


def _cv_figures(
    rows: pd.DataFrame, cv_system: str | None, by_group: pd.DataFrame, gaps: pd.DataFrame
) -> pd.DataFrame:
    """The cross-validated system's value and actor-level interval for each row."""
    columns = ["cv_value", "cv_ci_low", "cv_ci_high"]
    if cv_system is None:
        return pd.DataFrame(float("nan"), index=rows.index, columns=columns)
    groups = by_group[by_group["system"] == cv_system].set_index(
        ["target", "axis", "group", "metric"]
    )[["value", "ci_low", "ci_high"]]
    vs = gaps[(gaps["system"] == cv_system) & (gaps["kind"] == "vs_reference")].set_index(
        ["target", "axis", "group", "metric"]
    )[["gap", "ci_low", "ci_high"]]
    values = []
    for row in rows.itertuples():
        table = groups if row.kind == "group" else vs
        key = (row.scored_on, row.axis, row.group, row.metric)
        values.append(table.loc[key].to_list() if key in table.index else [float("nan")] * 3)
    return pd.DataFrame(values, index=rows.index, columns=columns)


def _model_of(system: object) -> tuple[str | None, str | None]:
    """(model family, trained-on labels) from the first sidecar of a system's sources."""
    for info in system_sidecars(system):
        if info.get("model"):
            return str(info["model"]), str(info.get("labels") or "")
    return None, None


def _pooled_oof(system: object) -> bool:
    """Whether a system is a cross-validation run's pooled out-of-fold predictions."""
    return any(info.get("out_of_fold") for info in system_sidecars(system))
