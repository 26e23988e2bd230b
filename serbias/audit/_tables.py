"""The audit's stacked tables: every scored set's rows under its system and target.

Gaps get Benjamini-Hochberg adjusted p-values per scored set and, for a model scored on the
intended emotion, the human listeners' gap alongside.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from serbias.audit._analysis import Analysis
from serbias.audit._findings import adjust_p_values
from serbias.audit._gap_stats import paired_excess
from serbias.audit._gaps import GAP_COLUMNS

#: Columns gaps.csv adds to :data:`GAP_COLUMNS`.
COMBINED_COLUMNS = [
    "p_adjusted",
    "human_gap",
    "excess_gap",
    "excess_ci_low",
    "excess_ci_high",
    "uninformative",
]


def stack(analyses: Sequence[Analysis], attribute: str) -> pd.DataFrame:
    """One table of every analysis (``sizes`` or ``by_group``), led by system and target."""
    frames = []
    for analysis in analyses:
        frame = getattr(analysis, attribute).copy()
        frame.insert(0, "target", analysis.target)
        frame.insert(0, "system", analysis.system)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def combine_gaps(
    analyses: Sequence[Analysis], human: Analysis | None, confidence: float
) -> pd.DataFrame:
    """All gap tables, with BH-adjusted p-values per scored set and the listeners' gaps alongside.

    The model-minus-listeners difference of a gap gets an interval, by the audit's
    ``audit.interval`` method, only when both were measured on exactly the same actors (the
    statistic is then paired actor by actor: :func:`~serbias.audit._gap_stats.paired_excess`).
    """
    frames = []
    for analysis in analyses:
        gaps = analysis.gaps.copy()
        adjust = (gaps["kind"] == "vs_reference") & ~gaps["flagged"].astype(bool)
        gaps["p_adjusted"] = np.nan
        gaps.loc[adjust, "p_adjusted"] = adjust_p_values(gaps.loc[adjust, "p_value"])
        for column in COMBINED_COLUMNS[1:]:
            gaps[column] = np.nan
        comparable = (
            human is not None
            and analysis is not human
            and analysis.target == "intended"
            and analysis.emotions == human.emotions
        )
        if comparable:
            _add_human(gaps, analysis, human, confidence)
        # a system no better than chance has gaps made of noise
        gaps["uninformative"] = analysis.near_chance
        gaps.insert(0, "target", analysis.target)
        gaps.insert(0, "system", analysis.system)
        frames.append(gaps)
    columns = ["system", "target", *GAP_COLUMNS, *COMBINED_COLUMNS]
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
    for (axis, group, reference), boot_gap in model.boot_gaps.items():
        paired = human.boot_gaps.get((axis, group, reference))
        if paired is None or not boot_gap.pairs_with(paired):
            continue
        low, high = paired_excess(
            boot_gap, paired, n_emotions=len(model.emotions), confidence=confidence
        )
        rows = gaps.index[
            (gaps["kind"] == "vs_reference") & (gaps["axis"] == axis) & (gaps["group"] == group)
        ]
        for index in rows:
            position = names.index(gaps.loc[index, "metric"])
            gaps.loc[index, "excess_gap"] = gaps.loc[index, "gap"] - gaps.loc[index, "human_gap"]
            gaps.loc[index, "excess_ci_low"] = low[position]
            gaps.loc[index, "excess_ci_high"] = high[position]
