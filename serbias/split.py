"""Train/val/test splits of a clip table, written as JSON lists of clip stems.

``speaker`` mode (default) keeps every actor in exactly one split and spreads each
sex x race stratum across splits in proportion to the split sizes. ``clip`` mode is the
reference study's split (clips stratified by sex x race), which puts the same actors in
train and test and so overstates accuracy; it is kept for comparability.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from serbias.atomic import write_json, write_text
from serbias.errors import SerbiasError

SPLIT_NAMES = ("train", "val", "test")
SplitMode = Literal["speaker", "clip"]


@dataclass(frozen=True)
class SplitResult:
    """A split, how it was made, and whether an existing file was reused."""

    splits: dict[str, list[str]]
    mode: str
    seed: int
    sizes: dict[str, float]
    path: Path
    reused: bool


def make_split(
    clips: pd.DataFrame,
    *,
    mode: SplitMode = "speaker",
    sizes: dict[str, float] | None = None,
    seed: int = 0,
) -> dict[str, list[str]]:
    """Assign clips to train/val/test; returns sorted clip stems per split."""
    sizes = _check_sizes(sizes or {"train": 0.8, "val": 0.1, "test": 0.1})
    if mode == "speaker":
        assignment = _speaker_split(clips, sizes, seed)
    elif mode == "clip":
        assignment = _clip_split(clips, sizes, seed)
    else:
        raise SerbiasError(f"split mode {mode!r} is not one of speaker, clip")
    return {name: sorted(clips.loc[assignment == name, "filename"]) for name in SPLIT_NAMES}


def _check_sizes(sizes: dict[str, float]) -> dict[str, float]:
    unknown = set(sizes) - set(SPLIT_NAMES)
    if unknown:
        raise SerbiasError(f"split sizes: unknown split {sorted(unknown)[0]!r}")
    sizes = {name: float(sizes.get(name, 0.0)) for name in SPLIT_NAMES}
    if any(v < 0 for v in sizes.values()) or sum(sizes.values()) > 1 + 1e-9:
        raise SerbiasError(f"split sizes {sizes}: expected non-negative fractions summing to <= 1")
    if sizes["train"] <= 0:
        raise SerbiasError("split sizes: train must be > 0")
    return sizes


def _strata(clips: pd.DataFrame) -> pd.Series:
    return clips["sex"].astype(str) + " / " + clips["race"].astype(str)


def _speaker_split(clips: pd.DataFrame, sizes: dict[str, float], seed: int) -> np.ndarray:
    """Deal actors to splits stratum by stratum, always to the split furthest below its quota."""
    actors = clips.groupby("actor_id", observed=True).first()
    n_actors = len(actors)
    quotas = _actor_quotas(n_actors, sizes)
    rng = np.random.default_rng(seed)
    names = [*SPLIT_NAMES, "unused"]
    counts = dict.fromkeys(names, 0)
    actor_split: dict[int, str] = {}
    stratum_of_actor = _strata(actors.reset_index())
    stratum_of_actor.index = actors.index
    dealt = 0
    for stratum in sorted(stratum_of_actor.unique()):
        members = np.sort(stratum_of_actor.index[stratum_of_actor == stratum].to_numpy())
        for actor_id in rng.permutation(members):
            open_splits = [s for s in names if counts[s] < quotas[s]]
            target = max(open_splits, key=lambda s: quotas[s] / n_actors * (dealt + 1) - counts[s])
            actor_split[int(actor_id)] = target
            counts[target] += 1
            dealt += 1
    return clips["actor_id"].map(actor_split).to_numpy()


def _actor_quotas(n_actors: int, sizes: dict[str, float]) -> dict[str, int]:
    """Largest-remainder actor counts, with at least one actor for every non-empty split."""
    fractions = {**sizes, "unused": max(0.0, 1.0 - sum(sizes.values()))}
    wanted = [name for name, f in fractions.items() if f > 1e-12 and name != "unused"]
    if n_actors < len(wanted):
        raise SerbiasError(
            f"speaker split needs at least {len(wanted)} actors for {', '.join(wanted)}; "
            f"the corpus has {n_actors}"
        )
    exact = {name: f * n_actors for name, f in fractions.items()}
    quotas = {name: int(np.floor(v + 1e-9)) for name, v in exact.items()}
    by_remainder = sorted(exact, key=lambda name: (quotas[name] - exact[name], name))
    for name in by_remainder[: n_actors - sum(quotas.values())]:
        quotas[name] += 1
    for name in wanted:
        if quotas[name] == 0:
            donor = max(quotas, key=lambda s: quotas[s])
            quotas[donor] -= 1
            quotas[name] = 1
    return quotas


def _clip_split(clips: pd.DataFrame, sizes: dict[str, float], seed: int) -> np.ndarray:
    """The reference study's split: stratified by sex x race over clips, seed ``random_state``."""
    from sklearn.model_selection import train_test_split

    strata = _strata(clips).to_numpy()
    assignment = np.full(len(clips), "unused", dtype=object)
    remaining = np.arange(len(clips))
    left = 1.0
    for name in SPLIT_NAMES:
        fraction = sizes[name] / left if left > 1e-12 else 0.0
        if fraction <= 1e-12 or len(remaining) == 0:
            continue
        if fraction >= 1 - 1e-9:
            chosen = remaining
        else:
            try:
                chosen, remaining = train_test_split(
                    remaining, train_size=fraction, stratify=strata[remaining], random_state=seed
                )
            except ValueError as exc:
                raise SerbiasError(f"clip split: cannot stratify by sex x race ({exc})") from None
        assignment[chosen] = name
        left -= sizes[name]
        if fraction >= 1 - 1e-9:
            remaining = np.array([], dtype=int)
    return assignment


def split_summary(clips: pd.DataFrame, splits: dict[str, list[str]]) -> pd.DataFrame:
    """Clips and actors per split x sex x race (the table printed and saved next to the JSON)."""
    split_of = {stem: name for name, stems in splits.items() for stem in stems}
    table = clips.assign(split=clips["filename"].map(split_of)).dropna(subset=["split"])
    table["split"] = pd.Categorical(table["split"], categories=list(splits), ordered=True)
    summary = table.groupby(["split", "sex", "race"], observed=True).agg(
        clips=("filename", "size"), actors=("actor_id", "nunique")
    )
    return summary.reset_index()


def load_split(path: Path, clips: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Read a split file; with ``clips``, refuse stems that are not in the corpus."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SerbiasError(f"{path}: split file not found (run `serbias split`)") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SerbiasError(f"{path}: not a readable split JSON ({exc})") from None
    if not isinstance(raw, dict) or not all(isinstance(raw.get(n), list) for n in SPLIT_NAMES):
        raise SerbiasError(f"{path}: expected lists of clip names under {', '.join(SPLIT_NAMES)}")
    splits = {name: [str(stem) for stem in raw[name]] for name in SPLIT_NAMES}
    seen: dict[str, str] = {}
    for name, stems in splits.items():
        for stem in stems:
            if stem in seen:
                raise SerbiasError(f"{path}: clip {stem} is in both {seen[stem]} and {name}")
            seen[stem] = name
    if clips is not None:
        unknown = sorted(set(seen) - set(clips["filename"]))
        if unknown:
            raise SerbiasError(
                f"{path}: {len(unknown)} clip(s) not in the corpus (e.g. {', '.join(unknown[:3])})"
            )
    return splits


def split_corpus(
    clips: pd.DataFrame,
    out: Path,
    *,
    mode: SplitMode = "speaker",
    sizes: dict[str, float] | None = None,
    seed: int = 0,
    force: bool = False,
) -> SplitResult:
    """Make (or reuse) the split file ``out`` and its summary table next to it."""
    out = Path(out)
    sizes = _check_sizes(sizes or {"train": 0.8, "val": 0.1, "test": 0.1})
    if out.exists() and not force:
        splits = load_split(out, clips)
        meta = json.loads(out.read_text(encoding="utf-8"))
        made_with = (meta.get("mode"), meta.get("seed"), meta.get("sizes"))
        if made_with != (mode, seed, sizes):
            raise SerbiasError(
                f"{out}: exists with mode={made_with[0]}, seed={made_with[1]}, "
                f"sizes={made_with[2]}; use --force to replace it"
            )
        return SplitResult(splits, mode, seed, sizes, out, reused=True)
    splits = make_split(clips, mode=mode, sizes=sizes, seed=seed)
    summary = split_summary(clips, splits)
    write_text(summary_path(out), summary.to_csv(index=False))
    write_json(out, {**splits, "mode": mode, "seed": seed, "sizes": sizes})
    return SplitResult(splits, mode, seed, sizes, out, reused=False)


def summary_path(split_path: Path) -> Path:
    """Where the per-stratum counts of a split file are written."""
    return split_path.with_name(f"{split_path.stem}_summary.csv")
