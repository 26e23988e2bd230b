"""Verdicts: one word per system, target and primary axis saying what its macro-F1 gap means.

The rule (:func:`verdict`), applied in this order:

- ``not compared``: a group has fewer than ``audit.min_actors`` actors (or no gap row);
- ``uninformative``: the system's macro-F1 CI does not exceed its chance model's (near chance),
  so its gaps are noise;
- ``gap found``: the CI excludes 0 and the Benjamini-Hochberg adjusted p is below 0.05 (the
  headline rule);
- ``cannot tell``: not found, and either the CI still excludes 0 (the gap did not survive the
  multiple-testing adjustment) or the smallest gap this design detects with 80% power exceeds
  ``audit.meaningful_gap`` (also when the comparison cannot be resolved at all);
- ``no gap found``: otherwise: the CI includes 0 and the design could have found a meaningful gap.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import pandas as pd

from serbias.audit._axes import PRIMARY_AXES
from serbias.audit._findings import ALPHA
from serbias.audit._metrics import PRIMARY_METRIC

Verdict = Literal["gap found", "no gap found", "cannot tell", "uninformative", "not compared"]
VERDICTS: Final[tuple[Verdict, ...]] = (
    "gap found",
    "no gap found",
    "cannot tell",
    "uninformative",
    "not compared",
)
#: What each verdict word means, for the report's legend.
VERDICT_RULES: Final[dict[Verdict, str]] = {
    "gap found": f"CI excludes 0 and BH-adjusted p < {ALPHA}",
    "no gap found": "CI includes 0 and a gap of the meaningful size would be detected (80% power)",
    "cannot tell": "neither: a meaningful gap would not be detected, or the CI excludes 0 "
    "without surviving the BH adjustment",
    "uninformative": "near chance (macro-F1 CI not above the chance model's)",
    "not compared": "a group has fewer actors than the minimum",
}

#: Columns of :func:`verdict_table` (verdicts.csv).
VERDICT_COLUMNS = [
    "system",
    "target",
    "macro_f1",
    "macro_f1_ci_low",
    "macro_f1_ci_high",
    "axis",
    "group",
    "reference",
    "gap",
    "ci_low",
    "ci_high",
    "p_adjusted",
    "min_detectable_gap",
    "chance_gap",
    "chance_sd",
    "n_actors",
    "n_actors_reference",
    "verdict",
]


def verdict(
    *,
    ci_low: float,
    ci_high: float,
    p_adjusted: float,
    min_detectable_gap: float,
    compared: bool,
    near_chance: bool,
    meaningful_gap: float,
    alpha: float = ALPHA,
) -> Verdict:
    """The verdict word of one gap (rules in the module docstring); NaN bounds or p mean the
    comparison could not be resolved, a NaN detectable gap means its power is unknown.

    >>> verdict(ci_low=-0.2, ci_high=-0.05, p_adjusted=0.01, min_detectable_gap=0.12,
    ...         compared=True, near_chance=False, meaningful_gap=0.1)
    'gap found'
    >>> verdict(ci_low=-0.03, ci_high=0.04, p_adjusted=0.8, min_detectable_gap=0.05,
    ...         compared=True, near_chance=False, meaningful_gap=0.1)
    'no gap found'
    """
    if not compared:
        return "not compared"
    if near_chance:
        return "uninformative"
    excludes_zero = ci_low > 0 or ci_high < 0  # False for NaN bounds
    if excludes_zero and p_adjusted < alpha:
        return "gap found"
    if excludes_zero or not min_detectable_gap <= meaningful_gap:  # NaN: power unknown
        return "cannot tell"
    return "no gap found"


def verdict_table(
    by_group: pd.DataFrame,
    gaps: pd.DataFrame,
    *,
    near_chance: frozenset[tuple[str, str]],
    meaningful_gap: float,
    axes: tuple[str, ...] = PRIMARY_AXES,
) -> pd.DataFrame:
    """One row per scored set (system x target, in audit order) and primary axis: the overall
    macro-F1 with its CI, the axis' macro-F1 gap to its reference with CI, BH-adjusted p, the
    minimum detectable gap, the no-bias band (chance gap ± SD) and the :func:`verdict`.

    An axis with several compared groups (none of the primary ones) gets one row per group.
    """
    overall = by_group[(by_group["axis"] == "overall") & (by_group["metric"] == PRIMARY_METRIC)]
    primary = gaps[
        (gaps["kind"] == "vs_reference")
        & (gaps["metric"] == PRIMARY_METRIC)
        & gaps["axis"].isin(axes)
    ]
    rows = []
    for scored in overall.itertuples(index=False):
        key = (scored.system, scored.target)
        head = {
            "system": scored.system,
            "target": scored.target,
            "macro_f1": scored.value,
            "macro_f1_ci_low": scored.ci_low,
            "macro_f1_ci_high": scored.ci_high,
        }
        mine = primary[(primary["system"] == scored.system) & (primary["target"] == scored.target)]
        for axis in axes:
            found = mine[mine["axis"] == axis]
            if found.empty:
                rows.append({**head, "axis": axis, "verdict": "not compared"})
                continue
            for gap in found.itertuples(index=False):
                word = verdict(
                    ci_low=float(gap.ci_low),
                    ci_high=float(gap.ci_high),
                    p_adjusted=float(gap.p_adjusted),
                    min_detectable_gap=float(gap.min_detectable_gap),
                    compared=not bool(gap.flagged),
                    near_chance=key in near_chance,
                    meaningful_gap=meaningful_gap,
                )
                rows.append(
                    {
                        **head,
                        "axis": axis,
                        "group": gap.group,
                        "reference": gap.reference,
                        "gap": gap.gap,
                        "ci_low": gap.ci_low,
                        "ci_high": gap.ci_high,
                        "p_adjusted": gap.p_adjusted,
                        "min_detectable_gap": gap.min_detectable_gap,
                        "chance_gap": gap.chance_gap,
                        "chance_sd": gap.chance_sd,
                        "n_actors": gap.n_actors,
                        "n_actors_reference": gap.n_actors_reference,
                        "verdict": word,
                    }
                )
    table = pd.DataFrame(rows, columns=VERDICT_COLUMNS)
    for column in VERDICT_COLUMNS[8:15]:
        table[column] = table[column].astype(float)
    return table


def no_bias_band(row: pd.Series, z: float = 1.96) -> tuple[float, float]:
    """The gap range expected without bias (chance gap ± z chance SDs); NaNs when unknown."""
    centre, sd = float(row["chance_gap"]), float(row["chance_sd"])
    if math.isnan(centre) or math.isnan(sd):
        return math.nan, math.nan
    return centre - z * sd, centre + z * sd


def verdict_display(
    verdicts: pd.DataFrame, *, listeners: str | None = None
) -> tuple[list[str], list[list[str]]]:
    """The verdict table as text, the same in the report and the terminal: columns (system,
    target, macro-F1 [CI], then per axis its gap [CI], BH-adjusted p and verdict) and one row
    per scored set. A group too small to compare shows its actor counts instead of a gap."""
    from serbias.audit._findings import p_text

    axes = list(dict.fromkeys(verdicts["axis"]))
    columns = ["System", "Target", "Macro-F1 [CI]"]
    for axis in axes:
        compared = verdicts[(verdicts["axis"] == axis) & verdicts["group"].notna()]
        pair = (
            f"{compared['group'].iloc[0]} - {compared['reference'].iloc[0]}"
            if not compared.empty
            else axis
        )
        columns += [f"{pair} gap [CI]", "p (BH)", "Verdict"]
    rows = []
    for (system, target), rows_of_set in verdicts.groupby(["system", "target"], sort=False):
        first = rows_of_set.iloc[0]
        cells = [
            system,
            "intended (responses)" if system == listeners else target,
            _with_ci(first["macro_f1"], first["macro_f1_ci_low"], first["macro_f1_ci_high"]),
        ]
        for axis in axes:
            row = rows_of_set[rows_of_set["axis"] == axis]
            if row.empty:
                cells += ["", "", "not compared"]
                continue
            row = row.iloc[0]
            if row["verdict"] == "not compared" or math.isnan(row["gap"]):
                sizes = (
                    ""
                    if math.isnan(row["n_actors"])
                    else f"{int(row['n_actors'])} vs {int(row['n_actors_reference'])} actors"
                )
                cells += [sizes, "", str(row["verdict"])]
                continue
            cells += [
                _with_ci(row["gap"], row["ci_low"], row["ci_high"], sign=True),
                p_text(float(row["p_adjusted"])),
                str(row["verdict"]),
            ]
        rows.append(cells)
    return columns, rows


def _with_ci(value: float, low: float, high: float, *, sign: bool = False) -> str:
    shown = f"{value:+.3f}" if sign else f"{value:.3f}"
    if math.isnan(low) or math.isnan(high):
        return f"{shown} (no CI)"
    return f"{shown} [{low:+.3f}, {high:+.3f}]" if sign else f"{shown} [{low:.3f}, {high:.3f}]"
