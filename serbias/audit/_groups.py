"""Demographic group axes of the clips, their sizes, and which groups are too small to compare.

Every axis is a property of the actor (not of the clip), which is why uncertainty is
computed by resampling actors.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.errors import SerbiasError

#: Group axes in report order; ``x`` marks an intersection.
AXES: Final = (
    "sex",
    "race",
    "race_binary",
    "ethnicity",
    "age_band",
    "sex_x_race",
    "sex_x_race_binary",
)
DEFAULT_AGE_EDGES: Final = (20, 30, 40, 50, 75)
DEFAULT_MIN_ACTORS: Final = 3
#: Joins the levels of an intersection, e.g. ``Female/Caucasian``.
INTERSECTION_SEPARATOR: Final = "/"

_DEMOGRAPHIC_COLUMNS = ("actor_id", "sex", "race", "race_binary", "ethnicity", "age")


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


def group_labels(
    clips: pd.DataFrame, *, age_edges: Sequence[int] = DEFAULT_AGE_EDGES
) -> pd.DataFrame:
    """One ordered categorical column per axis in :data:`AXES`, aligned with ``clips``.

    Categories are the full vocabulary in its fixed order (unused ones included), so group
    order never depends on the data.
    """
    missing = [c for c in _DEMOGRAPHIC_COLUMNS if c not in clips.columns]
    if missing:
        raise SerbiasError(f"clip table: missing column(s) {', '.join(missing)}")
    levels = {
        "sex": list(vocab.SEXES),
        "race": list(vocab.RACES),
        "race_binary": list(vocab.RACE_BINARY),
        "ethnicity": list(vocab.ETHNICITIES),
    }
    labels = {axis: clips[axis].astype(str).to_numpy() for axis in levels}
    for axis, allowed in levels.items():
        bad = sorted(set(labels[axis]) - set(allowed))
        if bad:
            raise SerbiasError(f"clip table: {axis} {bad[0]!r} is not one of {', '.join(allowed)}")

    edges = check_age_edges(age_edges)
    bands = age_band_levels(edges)
    ages = clips["age"].to_numpy(dtype=float)
    labels["age_band"] = np.asarray(bands, dtype=object)[np.searchsorted(edges, ages, side="right")]
    levels["age_band"] = bands

    for axis, (first, second) in {
        "sex_x_race": ("sex", "race"),
        "sex_x_race_binary": ("sex", "race_binary"),
    }.items():
        labels[axis] = np.char.add(
            np.char.add(labels[first].astype(str), INTERSECTION_SEPARATOR),
            labels[second].astype(str),
        ).astype(object)
        levels[axis] = [
            f"{a}{INTERSECTION_SEPARATOR}{b}" for a in levels[first] for b in levels[second]
        ]

    table = pd.DataFrame(
        {
            axis: pd.Categorical(labels[axis], categories=levels[axis], ordered=True)
            for axis in AXES
        },
        index=clips.index,
    )
    _check_actor_level(table, clips["actor_id"].to_numpy())
    return table


def _check_actor_level(table: pd.DataFrame, actor_id: np.ndarray) -> None:
    """Each actor must sit in exactly one group per axis (demographics belong to actors)."""
    for axis in table.columns:
        per_actor = pd.Series(table[axis].astype(str).to_numpy()).groupby(actor_id).nunique()
        split = per_actor[per_actor > 1]
        if len(split):
            raise SerbiasError(f"clip table: actor {split.index[0]} has clips in two {axis} groups")


def group_sizes(
    labels: pd.DataFrame,
    actor_id: np.ndarray,
    filenames: np.ndarray,
    *,
    min_actors: int = DEFAULT_MIN_ACTORS,
) -> pd.DataFrame:
    """Clips and actors per group of every axis, with groups too small to compare flagged.

    Columns: axis, group, n_clips, n_actors, flagged, reason. Only groups that occur are listed.
    """
    rows = []
    for axis in labels.columns:
        frame = pd.DataFrame({"group": labels[axis], "actor_id": actor_id, "filename": filenames})
        sizes = frame.groupby("group", observed=True).agg(
            n_clips=("filename", "nunique"), n_actors=("actor_id", "nunique")
        )
        for group, size in sizes.iterrows():
            reason = small_group_reason(int(size["n_actors"]), min_actors)
            rows.append(
                (
                    axis,
                    str(group),
                    int(size["n_clips"]),
                    int(size["n_actors"]),
                    bool(reason),
                    reason,
                )
            )
    return pd.DataFrame(rows, columns=["axis", "group", "n_clips", "n_actors", "flagged", "reason"])


def small_group_reason(n_actors: int, min_actors: int) -> str:
    """Why a group is excluded from gap claims, or "" when it is not."""
    if n_actors == 1:
        return "single actor: no actor-level uncertainty, not compared"
    if n_actors < min_actors:
        return f"{n_actors} actors (< {min_actors}): not compared"
    return ""


def parse_references(specs: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``["sex=Male", "race=Caucasian"]`` -> ``{"sex": "Male", "race": "Caucasian"}``."""
    if not specs:
        return {}
    items = specs.items() if isinstance(specs, Mapping) else [_split_reference(s) for s in specs]
    references = {}
    for axis, group in items:
        if axis not in AXES:
            raise SerbiasError(
                f"reference {axis}={group}: unknown axis {axis!r} "
                f"(expected one of: {', '.join(AXES)})"
            )
        references[axis] = group
    return references


def _split_reference(spec: str) -> tuple[str, str]:
    axis, sep, group = spec.partition("=")
    if not sep or not axis.strip() or not group.strip():
        raise SerbiasError(f"reference {spec!r}: expected AXIS=GROUP, e.g. sex=Male")
    return axis.strip(), group.strip()


def choose_reference(
    sizes: pd.DataFrame, axis: str, requested: str | None, *, preferred: str | None = None
) -> str | None:
    """The group others on ``axis`` are compared with: the requested one, else the largest.

    Largest means most actors (then most clips) among groups not flagged; None when no group
    can serve. A requested group that is absent or flagged is an error; a ``preferred`` one
    (e.g. the model's reference, reused for the listeners) is used only when it can serve.
    """
    on_axis = sizes[sizes["axis"] == axis]
    if requested is not None:
        match = on_axis[on_axis["group"] == requested]
        if match.empty:
            raise SerbiasError(
                f"reference {axis}={requested}: no such group among the scored clips "
                f"(groups: {', '.join(on_axis['group'])})"
            )
        if bool(match["flagged"].iloc[0]):
            raise SerbiasError(f"reference {axis}={requested}: {match['reason'].iloc[0]}")
        return requested
    eligible = on_axis[~on_axis["flagged"]]
    if eligible.empty:
        return None
    if preferred is not None and preferred in set(eligible["group"]):
        return preferred
    # stable sort keeps vocabulary order among equal sizes
    ranked = eligible.sort_values(["n_actors", "n_clips"], ascending=False, kind="stable")
    return str(ranked["group"].iloc[0])
