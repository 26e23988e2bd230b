"""The report's "speakers one by one" part: spread of actors within groups, the worst actors."""

from __future__ import annotations

import math

from serbias.audit._axes import PRIMARY_AXES, group_phrase
from serbias.audit._baselines import HUMAN_SYSTEM
from serbias.audit._result import AuditResult
from serbias.audit._speakers import MAX_WORST, actor_spread, worst_actors
from serbias.audit.report._blocks import Block, Paragraph, Table


def _number(value: float, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:+.3f}" if sign else f"{value:.3f}"


def speaker_blocks(result: AuditResult, system: str, target: str) -> list[Block]:
    """Each primary axis group's macro-F1 across its actors (mean, SD, range, SD gap to the
    reference) and the worst actors of one scored set."""
    by_actor = result.by_actor[
        (result.by_actor["system"] == system) & (result.by_actor["target"] == target)
    ]
    analysis = next(a for a in result.analyses if (a.system, a.target) == (system, target))
    if by_actor.empty:
        return []
    references = {axis: analysis.references.get(axis) for axis in PRIMARY_AXES}
    spread = actor_spread(by_actor, references)
    rows = [
        [
            r.axis,
            group_phrase(r.axis, r.group),
            str(r.n_actors),
            _number(r.mean),
            _number(r.sd),
            f"{_number(r.min)} - {_number(r.max)}",
            _number(r.sd_gap, sign=True),
        ]
        for r in spread.itertuples()
    ]
    listeners = " (listeners' responses)" if system == HUMAN_SYSTEM else ""
    blocks: list[Block] = [
        Paragraph(
            f"Speakers one by one{listeners}: macro-F1 of each actor (by_actor.csv). A group can "
            "look fair while single speakers are not; a larger SD means the system works for "
            "some of the group's actors and not for others."
        ),
        Table(
            ["Axis", "Group", "Actors", "Mean", "SD", "Range", "SD - reference SD"],
            rows,
            numeric=frozenset({2, 3, 4, 6}),
        ),
    ]
    worst = worst_actors(by_actor)
    label_columns = [c for c in ("sex", "race", "ethnicity", "age_band") if c in worst.columns]
    blocks.append(
        Table(
            ["Actor", "Clips", "Macro-F1", "Accuracy", "Groups"],
            [
                [
                    str(r["actor_id"]),
                    str(r["n_clips"]),
                    _number(r["macro_f1"]),
                    _number(r["accuracy"]),
                    ", ".join(str(r[c]) for c in label_columns),
                ]
                for _, r in worst.iterrows()
            ],
            caption=f"The {min(MAX_WORST, len(worst))} actors with the lowest macro-F1",
            numeric=frozenset({1, 2, 3}),
        )
    )
    return blocks


__all__ = ["speaker_blocks"]
