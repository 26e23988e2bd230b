"""The known answer of a synthetic corpus: what ``serbias synth`` planted, and whether the audit
found it.

``synth.json`` lists each planted bias (``sex=Female:0.8``: that group's emotion cues pulled
80% toward neutral). Weaker cues make a group harder to recognise, so a system that hears
emotion should score the planted group lower: a planted Female bias is recovered when the
Female-vs-Male macro-F1 gap is a "gap found" with a negative sign. Every other comparison of
the verdict table had nothing planted, and a "gap found" there is a false positive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

from serbias import vocab
from serbias.errors import SerbiasError

#: The manifest ``serbias synth`` writes next to the corpus (serbias.corpus.synth.generate).
SYNTH_MANIFEST: Final = "synth.json"

#: Columns of :func:`ground_truth_table` (ground_truth.csv).
GROUND_TRUTH_COLUMNS = [
    "system",
    "target",
    "axis",
    "group",
    "reference",
    "planted",
    "expected",
    "gap",
    "verdict",
    "outcome",
]


@dataclass(frozen=True)
class PlantedBias:
    """One planted bias: ``axis`` (sex, race, race_binary, ethnicity) ``group`` weakened by
    ``strength`` (0..1)."""

    axis: str
    group: str
    strength: float

    def __str__(self) -> str:
        return f"{self.axis}={self.group}:{self.strength:g}"

    def hits(self, axis: str, group: str) -> bool:
        """Whether the bias weakens ``group`` of ``axis`` (a planted race reaches its
        race_binary group)."""
        if self.axis == axis:
            return self.group == group
        return (
            self.axis == "race" and axis == "race_binary" and vocab.race_binary(self.group) == group
        )


def read_planted(corpus_dir: Path) -> tuple[PlantedBias, ...] | None:
    """The biases planted in ``corpus_dir`` by ``serbias synth``; None when the corpus has no
    ``synth.json`` (not synthetic), ``()`` for a clean synthetic corpus."""
    path = Path(corpus_dir) / SYNTH_MANIFEST
    if not path.is_file():
        return None
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("bias", [])
        return tuple(
            PlantedBias(str(e["group"]), str(e["value"]), float(e["strength"])) for e in entries
        )
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise SerbiasError(
            f"{path}: 'bias' must be a list of {{group, value, strength}} ({error})"
        ) from None


def expected_sign(planted: tuple[PlantedBias, ...], axis: str, group: str, reference: str) -> int:
    """-1 when the planted biases make ``group`` weaker than ``reference`` (its gap should be
    negative), +1 when the reference is the weaker, 0 when nothing (or the same) was planted."""
    weakened = sum(b.strength for b in planted if b.hits(axis, group))
    weakened_reference = sum(b.strength for b in planted if b.hits(axis, reference))
    return (weakened < weakened_reference) - (weakened > weakened_reference)


def outcome(sign: int, verdict: str, gap: float) -> str:
    """What a verdict means against the known answer: ``recovered``, ``wrong sign`` or
    ``missed`` (``not compared``, ``uninformative`` as they are) for a planted gap;
    ``false positive`` or ``not flagged`` for a comparison with nothing planted."""
    if sign == 0:
        return "false positive" if verdict == "gap found" else "not flagged"
    if verdict == "gap found":
        return "recovered" if (gap > 0) == (sign > 0) else "wrong sign"
    return verdict if verdict in ("not compared", "uninformative") else "missed"


def ground_truth_table(verdicts: pd.DataFrame, planted: tuple[PlantedBias, ...]) -> pd.DataFrame:
    """Each verdict-table row judged against the planted biases (``expected``: lower, higher,
    or no gap for the group against its reference)."""
    rows = []
    for r in verdicts.itertuples(index=False):
        if not isinstance(r.group, str):  # no comparison on this axis
            continue
        sign = expected_sign(planted, r.axis, r.group, r.reference)
        hit = [str(b) for b in planted if b.hits(r.axis, r.group) or b.hits(r.axis, r.reference)]
        rows.append(
            {
                "system": r.system,
                "target": r.target,
                "axis": r.axis,
                "group": r.group,
                "reference": r.reference,
                "planted": " ".join(hit),
                "expected": {-1: "lower", 1: "higher", 0: "no gap"}[sign],
                "gap": r.gap,
                "verdict": r.verdict,
                "outcome": outcome(sign, r.verdict, float(r.gap)),
            }
        )
    return pd.DataFrame(rows, columns=GROUND_TRUTH_COLUMNS)
