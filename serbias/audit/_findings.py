"""Headline findings: the few gaps a reader should see first, each said with its uncertainty."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from serbias.audit._axes import PRIMARY_AXES, group_phrase
from serbias.audit._metrics import (
    FINDING_METRICS,
    LISTENER_PRIMARY_METRIC,
    PRIMARY_METRIC,
    families_phrase,
    metric_phrase,
    split_metric,
)

ALPHA = 0.05
MAX_NOTABLE = 5


@dataclass(frozen=True)
class Finding:
    """One headline: a gap to a reference group, with everything needed to judge it."""

    system: str
    target: str
    axis: str
    group: str
    reference: str
    metric: str
    gap: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    chance_gap: float
    chance_sd: float
    sentence: str

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


def adjust_p_values(p_values: pd.Series) -> pd.Series:
    """Benjamini-Hochberg adjusted p-values (false discovery rate); NaN stays NaN."""
    from scipy.stats import false_discovery_control

    adjusted = pd.Series(np.nan, index=p_values.index)
    present = p_values.notna()
    if present.any():
        adjusted[present] = false_discovery_control(p_values[present].to_numpy(), method="bh")
    return adjusted


def p_text(p: float) -> str:
    """``0.003``, ``< 0.001`` or ``n/a``."""
    if math.isnan(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def format_p(p: float) -> str:
    """``p = 0.003``, ``p < 0.001`` or ``p n/a``."""
    text = p_text(p)
    return f"p {text}" if text.startswith("<") or text == "n/a" else f"p = {text}"


def gap_sentence(row: pd.Series, *, confidence: float, human: bool = False) -> str:
    """E.g. "Female recall for Sad is 0.120 lower than Male, 95% CI [0.050, 0.190], p = 0.003
    (chance model: +0.001 ± 0.010)". A negative gap's interval is stated as a shortfall."""
    group, reference = (
        group_phrase(row["axis"], row["group"]),
        group_phrase(row["axis"], row["reference"]),
    )
    phrase = metric_phrase(row["metric"], human=human)
    gap, low, high = float(row["gap"]), float(row["ci_low"]), float(row["ci_high"])
    level = f"{round(confidence * 100):d}% CI"
    if gap < 0:
        direction, low, high = "lower", -high, -low
    elif gap > 0:
        direction = "higher"
    else:
        direction = "different (0.000)"
    size = f"{abs(gap):.3f} " if gap != 0 else ""
    note = str(row.get("note", ""))
    if math.isnan(low) and note.startswith("cannot be resolved"):
        return f"{group} {phrase} is {size}{direction} than {reference}, but this {note}"
    text = (
        f"{group} {phrase} is {size}{direction} than {reference}, {level} [{low:.3f}, {high:.3f}], "
        f"{format_p(float(row['p_value']))}"
    )
    p_adjusted = float(row.get("p_adjusted", math.nan))
    if not math.isnan(p_adjusted):
        text += f" (BH {p_text(p_adjusted)})"
    if not math.isnan(float(row["chance_gap"])):
        text += f" (chance model: {float(row['chance_gap']):+.3f} ± {float(row['chance_sd']):.3f})"
    human_gap = float(row.get("human_gap", math.nan))
    if not math.isnan(human_gap):
        text += f"; human listeners' gap: {human_gap:+.3f}"
        excess, low, high = (
            float(row[c]) for c in ("excess_gap", "excess_ci_low", "excess_ci_high")
        )
        if not math.isnan(low):
            text += f", model minus listeners: {excess:+.3f} [{low:+.3f}, {high:+.3f}]"
    return text


def headline_findings(
    gaps: pd.DataFrame, *, system: str, target: str, confidence: float, human: bool = False
) -> tuple[list[Finding], str]:
    """The primary gaps (macro-F1, or per-response accuracy for listeners, by sex and by race),
    then up to five other gaps whose interval excludes 0 with a Benjamini-Hochberg adjusted
    p < 0.05 (comparisons that cannot be resolved never qualify); and one sentence putting
    those in the light of how many gaps were tested."""
    vs = gaps[(gaps["kind"] == "vs_reference") & ~gaps["flagged"].astype(bool)]
    family = vs["metric"].map(lambda m: split_metric(m)[0])
    primary_metric = LISTENER_PRIMARY_METRIC if human else PRIMARY_METRIC
    primary = vs[(vs["metric"] == primary_metric) & vs["axis"].isin(PRIMARY_AXES)]
    primary = primary.sort_values("axis", key=lambda a: a.map(PRIMARY_AXES.index), kind="stable")
    candidates = vs[family.isin(FINDING_METRICS) & ~vs.index.isin(primary.index)]
    significant = candidates[_headline(candidates)]
    # the same comparison can sit on two axes (Female/Caucasian on sex_x_race and sex_x_race_binary)
    notable = (
        significant.assign(size=significant["gap"].abs())
        .sort_values(["p_adjusted", "size"], ascending=[True, False], kind="stable")
        .drop_duplicates(["group", "reference", "metric"])
        .head(MAX_NOTABLE)
    )
    findings = [
        _finding(row, system=system, target=target, confidence=confidence, human=human)
        for _, row in pd.concat([primary, notable.drop(columns="size")]).iterrows()
    ]

    tested = vs[family.isin(FINDING_METRICS)]
    excluding = tested[
        ((tested["ci_low"] > 0) | (tested["ci_high"] < 0)) & (tested["p_value"] < ALPHA)
    ]
    surviving = tested[_headline(tested)]
    families = families_phrase(FINDING_METRICS)
    summary = (
        f"{len(tested)} gaps to a reference group were tested ({families}); "
        f"{len(excluding)} have a {round(confidence * 100):d}% CI excluding 0 "
        f"and p < {ALPHA}, where about {ALPHA * len(tested):.0f} would be expected by chance "
        f"alone; {len(surviving)} also have a Benjamini-Hochberg adjusted p < {ALPHA} "
        "(the rule for a headline)."
    )
    return findings, summary


def _headline(rows: pd.DataFrame) -> pd.Series:
    """A CI excluding 0 and a BH-adjusted p below :data:`ALPHA`."""
    return ((rows["ci_low"] > 0) | (rows["ci_high"] < 0)) & (rows["p_adjusted"] < ALPHA)


def power_sentences(
    gaps: pd.DataFrame, *, corpus_actors: int | None = None, human: bool = False
) -> list[str]:
    """Plain sentences for primary gaps this design cannot tell from 0: "with 4 and 5 actors
    this audit can only detect Female-Male macro-F1 gaps larger than 0.21", and, when the
    corpus has more actors than were scored, how to score them all."""
    primary_metric = LISTENER_PRIMARY_METRIC if human else PRIMARY_METRIC
    rows = gaps[
        (gaps["kind"] == "vs_reference")
        & ~gaps["flagged"].astype(bool)
        & (gaps["metric"] == primary_metric)
        & gaps["axis"].isin(PRIMARY_AXES)
    ]
    sentences = []
    scored_actors = 0
    for _, row in rows[~_headline(rows)].iterrows():
        detectable = float(row.get("min_detectable_gap", math.nan))
        if math.isnan(detectable):
            continue
        scored_actors = max(scored_actors, int(row["n_actors"] + row["n_actors_reference"]))
        sentences.append(
            f"With {int(row['n_actors'])} and {int(row['n_actors_reference'])} actors this audit "
            f"can only detect {row['group']}-{row['reference']} "
            f"{metric_phrase(primary_metric, human=human)} gaps larger than {detectable:.2f} "
            "(80% power at the 5% level)."
        )
    if sentences and corpus_actors is not None and corpus_actors > scored_actors:
        sentences.append(
            f"The corpus has {corpus_actors} actors: score them all with cross-validation "
            "(serbias split --folds K, then serbias train --cv) to detect smaller gaps."
        )
    return sentences


def _finding(
    row: pd.Series, *, system: str, target: str, confidence: float, human: bool
) -> Finding:
    return Finding(
        system=system,
        target=target,
        axis=str(row["axis"]),
        group=str(row["group"]),
        reference=str(row["reference"]),
        metric=str(row["metric"]),
        gap=float(row["gap"]),
        ci_low=float(row["ci_low"]),
        ci_high=float(row["ci_high"]),
        p_value=float(row["p_value"]),
        p_adjusted=float(row["p_adjusted"]),
        chance_gap=float(row["chance_gap"]),
        chance_sd=float(row["chance_sd"]),
        sentence=gap_sentence(row, confidence=confidence, human=human),
    )
