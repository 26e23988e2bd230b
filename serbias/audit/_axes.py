"""The audit's group axes, one row each: what an axis groups clips by and how it is reported.

Every axis is a property of the actor, not of the clip (which is why uncertainty comes from
resampling actors). Adding an axis is adding a row to :data:`AXES`: a clip-table column with
its vocabulary (``category``), or an intersection of axes listed before it. Only the standard
library is imported here, so the settings can check axis names without pandas.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from serbias import vocab
from serbias.errors import SerbiasError
from serbias.text import split_pair

#: How an axis labels a clip: a column's value, the age band of the ``age`` column, or the
#: levels of other axes joined by :data:`INTERSECTION_SEPARATOR`.
AxisKind = Literal["category", "age_band", "intersection"]
#: Joins the levels of an intersection, e.g. ``Female/Caucasian``.
INTERSECTION_SEPARATOR: Final = "/"
DEFAULT_AGE_EDGES: Final = (20, 30, 40, 50, 75)


@dataclass(frozen=True, kw_only=True)
class Axis:
    """One demographic axis of the audit."""

    name: str
    kind: AxisKind
    #: clip-table columns it is read from (an intersection: the axes it crosses)
    columns: tuple[str, ...]
    #: a category's vocabulary, in report order (the others derive theirs)
    levels: tuple[str, ...] = ()
    #: the group others are compared with unless one is requested, fixed by vocabulary so a
    #: gap's sign does not flip between splits; None (age bands, intersections): the group with
    #: most actors (then clips); a default that cannot serve (absent, too small) falls back to that
    reference: str | None = None
    #: how a group of this axis is named in sentences
    phrase: str = "{group}"
    #: the study's question: its gaps lead the findings, the terminal's model comparison and
    #: the bootstrap-replica summary
    primary: bool = False
    #: its primary-metric gaps are in metrics.json (``dvc metrics``)
    headline: bool = False

    def group_phrase(self, group: str) -> str:
        """``Female``; ``Age 20-29`` on the age axis."""
        return self.phrase.format(group=group)


#: The axes, in report order.
AXES: Final = (
    Axis(
        name="sex",
        kind="category",
        columns=("sex",),
        levels=vocab.SEXES,
        reference="Male",
        primary=True,
        headline=True,
    ),
    Axis(
        name="race",
        kind="category",
        columns=("race",),
        levels=vocab.RACES,
        reference="Caucasian",
        headline=True,
    ),
    Axis(
        name="race_binary",
        kind="category",
        columns=("race_binary",),
        levels=vocab.RACE_BINARY,
        reference="Caucasian",
        primary=True,
        headline=True,
    ),
    Axis(
        name="ethnicity",
        kind="category",
        columns=("ethnicity",),
        levels=vocab.ETHNICITIES,
        reference="Not Hispanic",
    ),
    Axis(name="age_band", kind="age_band", columns=("age",), phrase="Age {group}"),
    Axis(name="sex_x_race", kind="intersection", columns=("sex", "race")),
    Axis(name="sex_x_race_binary", kind="intersection", columns=("sex", "race_binary")),
)
AXIS_BY_NAME: Final = {axis.name: axis for axis in AXES}
AXIS_NAMES: Final = tuple(AXIS_BY_NAME)
PRIMARY_AXES: Final = tuple(axis.name for axis in AXES if axis.primary)
HEADLINE_AXES: Final = tuple(axis.name for axis in AXES if axis.headline)


def clip_columns(axes: Sequence[Axis] = AXES) -> tuple[str, ...]:
    """Clip-table columns the axes are read from (intersections add none of their own)."""
    read = (axis.columns for axis in axes if axis.kind != "intersection")
    return tuple(dict.fromkeys(itertools.chain.from_iterable(read)))


def group_phrase(axis: str, group: str) -> str:
    """How ``group`` of the axis named ``axis`` is named in sentences."""
    return AXIS_BY_NAME[axis].group_phrase(group)


def age_band_levels(edges: Sequence[int]) -> list[str]:
    """Labels of the bands ``[e0, e1), [e1, e2), ...`` with open bands either side."""
    edges = check_age_edges(edges)
    inner = [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(edges)]
    return [f"<{edges[0]}", *inner, f"{edges[-1]}+"]


def check_age_edges(edges: Sequence[int]) -> tuple[int, ...]:
    """Edges must be at least two strictly increasing whole numbers."""
    edges = tuple(int(e) for e in edges)
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise SerbiasError(f"age edges {list(edges)}: expected at least 2 increasing ages")
    return edges


def parse_references(specs: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``["sex=Male", "race=Caucasian"]`` -> ``{"sex": "Male", "race": "Caucasian"}``."""
    if not specs:
        return {}
    items = (
        specs.items()
        if isinstance(specs, Mapping)
        else [split_pair(s, what="reference", form="AXIS=GROUP", example="sex=Male") for s in specs]
    )
    references = {}
    for axis, group in items:
        if axis not in AXIS_BY_NAME:
            raise SerbiasError(
                f"reference {axis}={group}: unknown axis {axis!r} "
                f"(expected one of: {', '.join(AXIS_NAMES)})"
            )
        references[axis] = group
    return references
