"""Each clip's group on every axis of :data:`._axes.AXES`, group sizes, small-group flags and
the choice of reference group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from serbias.audit._axes import (
    AXES,
    DEFAULT_AGE_EDGES,
    INTERSECTION_SEPARATOR,
    Axis,
    age_band_levels,
    check_age_edges,
    clip_columns,
)
from serbias.audit.settings import DEFAULT_MIN_ACTORS
from serbias.errors import SerbiasError


def group_labels(
    clips: pd.DataFrame,
    *,
    age_edges: Sequence[int] = DEFAULT_AGE_EDGES,
    axes: Sequence[Axis] = AXES,
) -> pd.DataFrame:
    """One ordered categorical column per axis of ``axes``, aligned with ``clips``.

    Categories are the full vocabulary in its fixed order (unused ones included), so group
    order never depends on the data.
    """
    missing = [c for c in ("actor_id", *clip_columns(axes)) if c not in clips.columns]
    if missing:
        raise SerbiasError(f"clip table: missing column(s) {', '.join(missing)}")
    labels: dict[str, np.ndarray] = {}
    levels: dict[str, list[str]] = {}
    for axis in axes:
        if axis.kind == "category":
            (column,) = axis.columns
            labels[axis.name] = clips[column].astype(str).to_numpy()
            levels[axis.name] = list(axis.levels)
            bad = sorted(set(labels[axis.name]) - set(axis.levels))
            if bad:
                raise SerbiasError(
                    f"clip table: {axis.name} {bad[0]!r} is not one of {', '.join(axis.levels)}"
                )
        elif axis.kind == "age_band":
            (column,) = axis.columns
            edges = check_age_edges(age_edges)
            bands = age_band_levels(edges)
            ages = clips[column].to_numpy(dtype=float)
            labels[axis.name] = np.asarray(bands, dtype=object)[
                np.searchsorted(edges, ages, side="right")
            ]
            levels[axis.name] = bands
        else:  # an intersection of axes listed before it
            first, *others = axis.columns
            joined, crossed = labels[first].astype(str), levels[first]
            for other in others:
                joined = np.char.add(
                    np.char.add(joined, INTERSECTION_SEPARATOR), labels[other].astype(str)
                )
                crossed = [
                    f"{a}{INTERSECTION_SEPARATOR}{b}" for a in crossed for b in levels[other]
                ]
            labels[axis.name] = joined.astype(object)
            levels[axis.name] = crossed

    table = pd.DataFrame(
        {
            axis.name: pd.Categorical(labels[axis.name], categories=levels[axis.name], ordered=True)
            for axis in axes
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


def choose_reference(
    sizes: pd.DataFrame,
    axis: str,
    requested: str | None,
    *,
    preferred: str | None = None,
    default: str | None = None,
) -> str | None:
    """The group others on ``axis`` are compared with: the requested one, else the largest.

    Largest means most actors (then most clips) among groups not flagged; None when no group
    can serve. A requested group that is absent or flagged is an error; a ``preferred`` one
    (e.g. the model's reference, reused for the listeners), then the axis's ``default``, is
    used only when it can serve.
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
    for candidate in (preferred, default):
        if candidate is not None and candidate in set(eligible["group"]):
            return candidate
    # stable sort keeps vocabulary order among equal sizes
    ranked = eligible.sort_values(["n_actors", "n_clips"], ascending=False, kind="stable")
    return str(ranked["group"].iloc[0])
