"""The report's first screen: the verdict table, the forest plot of the primary gaps and, for a
synthetic corpus, the ground-truth box (what was planted and whether the audit found it)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from serbias.audit._baselines import HUMAN_SYSTEM
from serbias.audit._findings import ALPHA
from serbias.audit._ground_truth import PlantedBias
from serbias.audit._verdicts import VERDICT_RULES, verdict_display
from serbias.audit.report._blocks import Block, Bullets, Figure, Paragraph, Section, Table

#: Scored sets are named in the ground-truth box when there are at most this many.
_NAMED = 6
#: CSS class of each verdict word's cell (report.html).
VERDICT_STYLES = {
    "gap found": "v-found",
    "no gap found": "v-none",
    "cannot tell": "v-tell",
    "uninformative": "v-uninformative",
    "not compared": "v-not",
}


def first_screen(
    verdicts: pd.DataFrame,
    forest: Figure,
    *,
    meaningful_gap: float,
    ground_truth: pd.DataFrame | None = None,
    planted: tuple[PlantedBias, ...] | None = None,
) -> Section:
    """Verdict table and legend, then the forest plot beside the ground-truth box (when the
    corpus is synthetic)."""
    columns, rows = verdict_display(verdicts, listeners=HUMAN_SYSTEM)
    table = Table(
        columns,
        rows,
        caption="Verdicts: macro-F1 gap of each group to its reference (group minus reference)",
        numeric=frozenset(i for i, c in enumerate(columns) if "[CI]" in c or c == "p (BH)"),
        styles=VERDICT_STYLES,
        anchor="verdicts",
    )
    legend = Paragraph(
        "; ".join(
            f"{word}: {rule.replace('the meaningful size', f'{meaningful_gap:g} macro-F1')}"
            for word, rule in VERDICT_RULES.items()
        )
        + "."
    )
    legend_section = Section([legend], css_class="legend")
    second_row: list[Block] = [forest]
    if planted is not None and ground_truth is not None:
        second_row.append(ground_truth_box(planted, ground_truth))
    return Section(
        [table, legend_section, Section(second_row, css_class="first-row")],
        css_class="first-screen",
    )


def ground_truth_box(planted: tuple[PlantedBias, ...], table: pd.DataFrame) -> Section:
    """What was planted, which scored sets recovered it, and the false positives elsewhere."""
    lines: list[str] = []
    found = table[table["outcome"] == "false positive"]
    tested = table[table["expected"] == "no gap"]
    fp_line = (
        f"Nothing planted elsewhere: {len(found)} of {len(tested)} unplanted comparisons "
        f"flagged{': ' + _sets(found, axis=True) if len(found) else ''} (false positives)."
    )
    if not planted:
        intro = "Nothing was planted (synth.json: bias [])."
        if found.empty:
            lines.append("Nothing planted, nothing claimed: no comparison was flagged.")
        else:
            lines.append(
                f"Flagged anyway (false positives): {len(found)} of {len(tested)}: "
                f"{_sets(found, axis=True)}."
            )
    else:
        described = ", ".join(
            f"{b} ({b.group} voices' emotion cues {b.strength:.0%} weaker)" for b in planted
        )
        intro = f"Planted (synth.json): {described}."
        planted_rows = table[table["expected"] != "no gap"]
        if planted_rows.empty:
            lines.append(
                "No planted bias is on a verdict-table axis: see each system's gaps in the "
                "details below."
            )
        for (_axis, group, reference, expected), rows in planted_rows.groupby(
            ["axis", "group", "reference", "expected"], sort=False
        ):
            recovered = rows[rows["outcome"] == "recovered"]
            missed = rows[rows["outcome"] != "recovered"]
            line = (
                f"Expected {group} {expected} than {reference}: recovered (gap found, right sign) "
                f"by {len(recovered)} of {len(rows)}"
            )
            if 0 < len(recovered) <= _NAMED:
                line += f" ({_sets(recovered)})"
            if len(missed):
                why = missed["outcome"].where(
                    missed["outcome"] != "missed", "missed (" + missed["verdict"] + ")"
                )
                counts = why.value_counts()
                line += "; not recovered: " + ", ".join(f"{n} {word}" for word, n in counts.items())
                if len(missed) <= _NAMED:
                    line += f" ({_sets(missed)})"
            lines.append(line + ".")
        lines.append(fp_line)
    lines.append(
        f"Multiple testing: each verdict uses a Benjamini-Hochberg adjusted p within its system's "
        f"gaps; across {len(tested)} unplanted comparisons about {ALPHA * len(tested):.1f} "
        f"false flags are expected at {ALPHA:g}. ground_truth.csv has every row."
    )
    return Section(
        [Paragraph(intro), Bullets(lines)],
        css_class="ground-truth",
        anchor="ground-truth",
        title="Ground truth (synthetic corpus)",
    )


def _sets(rows: pd.DataFrame, *, axis: bool = False) -> str:
    """``svm (intended), cnn (observed) Female-Male`` style list of scored sets."""
    names = []
    for r in rows.itertuples(index=False):
        name = r.system if r.system == HUMAN_SYSTEM else f"{r.system} ({r.target})"
        if axis:
            name += f" {r.group}-{r.reference}"
        names.append(name)
    return ", ".join(names)


def forest_caption(verdicts: pd.DataFrame, listeners: Sequence[str]) -> str:
    """The forest plot's caption (what the marks mean)."""
    caption = (
        "Macro-F1 gap per scored set with its interval, coloured by verdict (red: gap found, "
        "blue: no gap found, orange: cannot tell, grey: uninformative); shaded: the no-bias "
        "band (chance model, actor labels shuffled: gap ± 1.96 SD)"
    )
    if any(s in set(verdicts["system"]) for s in listeners):
        caption += "; dotted purple line: the human listeners' gap"
    return caption + "."
