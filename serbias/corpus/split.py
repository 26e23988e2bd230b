"""Train/val/test splits of a clip table, written as JSON lists of clip stems.

``speaker`` mode (default) keeps every actor in exactly one split and spreads each
sex x race stratum across splits in proportion to the split sizes. ``clip`` mode is the
reference study's split (clips stratified by sex x race), which puts the same actors in
train and test and so overstates accuracy; it is kept for comparability.

With ``folds=K`` (speaker mode only) the file also holds K speaker-grouped cross-validation
folds: every actor is in exactly one fold's test set, dealt stratum by stratum (sex x race) to
the fold with the fewest actors, and each fold's train/val actors are a speaker split of the
other actors (val fraction ``val / (train + val)``). The top-level ``test`` list is then every
clip (each is tested once, in its fold) and ``train``/``val`` are empty.
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
    folds: tuple[dict[str, list[str]], ...] = ()


def make_folds(
    clips: pd.DataFrame, k: int, *, sizes: dict[str, float], seed: int = 0
) -> list[dict[str, list[str]]]:
    """K actor-disjoint test folds covering every actor once, each with train/val actors drawn
    (stratified) from the other actors; see the module docstring."""
    actors = clips.groupby("actor_id", observed=True).first()
    _check_folds(actors, k)
    strata = _strata(actors.reset_index())
    strata.index = actors.index
    rng = np.random.default_rng(seed)
    fold_of: dict[int, int] = {}
    size = [0] * k
    start = 0
    for stratum in sorted(strata.unique()):
        members = np.sort(strata.index[strata == stratum].to_numpy())
        for actor_id in rng.permutation(members):
            # fewest actors first; ties go round-robin, so small strata spread over folds
            fold = min(range(k), key=lambda f: (size[f], (f - start) % k))
            fold_of[int(actor_id)] = fold
            size[fold] += 1
            start = (fold + 1) % k
    fold_column = clips["actor_id"].map(fold_of).to_numpy()
    inner = sizes["train"] + sizes["val"]
    inner_sizes = {"train": sizes["train"] / inner, "val": sizes["val"] / inner, "test": 0.0}
    folds = []
    for fold in range(k):
        rest = clips.loc[fold_column != fold]
        assignment = _speaker_split(rest, inner_sizes, seed + 1 + fold)
        folds.append({
            "train": sorted(rest.loc[assignment == "train", "filename"]),
            "val": sorted(rest.loc[assignment == "val", "filename"]),
            "test": sorted(clips.loc[fold_column == fold, "filename"]),
        })  # fmt: skip
    return folds


def _check_folds(actors: pd.DataFrame, k: int) -> None:
    """K in 2..(actors of the smaller sex), so every test fold can hold a woman and a man."""
    if k < 2:
        raise SerbiasError(f"--folds {k}: expected at least 2 folds")
    by_sex = actors["sex"].astype(str).value_counts()
    sex, smallest = by_sex.idxmin(), int(by_sex.min())
    if k > smallest:
        raise SerbiasError(
            f"--folds {k}: the corpus has only {smallest} {sex} actor(s), so at most {smallest} "
            "folds can each test both sexes"
        )


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
    splits = _split_lists(raw, path)
    if clips is not None:
        _check_known(splits, clips, path)
    return splits


def load_folds(path: Path, clips: pd.DataFrame | None = None) -> list[dict[str, list[str]]]:
    """The cross-validation folds of a split file ([] when it has none)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8")) if Path(path).is_file() else {}
    load_split(path, clips)
    folds = raw.get("folds") or []
    if not isinstance(folds, list):
        raise SerbiasError(f"{path}: folds must be a list of train/val/test clip lists")
    loaded = [_split_lists(fold, path, where=f"fold {i}") for i, fold in enumerate(folds)]
    tested: dict[str, int] = {}
    for i, fold in enumerate(loaded):
        for stem in fold["test"]:
            if stem in tested:
                raise SerbiasError(f"{path}: clip {stem} is tested in folds {tested[stem]} and {i}")
            tested[stem] = i
        if clips is not None:
            _check_known(fold, clips, path)
    return loaded


def _split_lists(raw: object, path: Path, where: str = "") -> dict[str, list[str]]:
    place = f"{path}{' ' + where if where else ''}"
    if not isinstance(raw, dict) or not all(isinstance(raw.get(n), list) for n in SPLIT_NAMES):
        raise SerbiasError(f"{place}: expected lists of clip names under {', '.join(SPLIT_NAMES)}")
    splits = {name: [str(stem) for stem in raw[name]] for name in SPLIT_NAMES}
    seen: dict[str, str] = {}
    for name, stems in splits.items():
        for stem in stems:
            if stem in seen:
                raise SerbiasError(f"{place}: clip {stem} is in both {seen[stem]} and {name}")
            seen[stem] = name
    return splits


def _check_known(splits: dict[str, list[str]], clips: pd.DataFrame, path: Path) -> None:
    unknown = sorted({s for stems in splits.values() for s in stems} - set(clips["filename"]))
    if unknown:
        raise SerbiasError(
            f"{path}: {len(unknown)} clip(s) not in the corpus (e.g. {', '.join(unknown[:3])})"
        )


def split_corpus(
    clips: pd.DataFrame,
    out: Path,
    *,
    mode: SplitMode = "speaker",
    sizes: dict[str, float] | None = None,
    seed: int = 0,
    folds: int = 0,
    force: bool = False,
) -> SplitResult:
    """Make (or reuse) the split file ``out`` and its summary table next to it; with
    ``folds`` K >= 2, K cross-validation folds instead of one train/val/test split."""
    out = Path(out)
    sizes = _check_sizes(sizes or {"train": 0.8, "val": 0.1, "test": 0.1})
    if folds and mode != "speaker":
        raise SerbiasError(
            f"--folds with --mode {mode}: cross-validation folds are speaker-grouped; the clip "
            "split puts an actor's clips in several folds, so no fold would test unseen speakers"
        )
    if out.exists() and not force:
        splits = load_split(out, clips)
        meta = json.loads(out.read_text(encoding="utf-8"))
        made_with = (
            meta.get("mode"),
            meta.get("seed"),
            meta.get("sizes"),
            len(meta.get("folds") or []),
        )
        if made_with != (mode, seed, sizes, folds):
            raise SerbiasError(
                f"{out}: exists with mode={made_with[0]}, seed={made_with[1]}, "
                f"sizes={made_with[2]}, folds={made_with[3]}; use --force to replace it"
            )
        return SplitResult(splits, mode, seed, sizes, out, True, tuple(load_folds(out, clips)))
    if folds:
        fold_lists = make_folds(clips, folds, sizes=sizes, seed=seed)
        splits = {"train": [], "val": [], "test": sorted(clips["filename"])}
        summary = fold_summary(clips, fold_lists)
    else:
        fold_lists = []
        splits = make_split(clips, mode=mode, sizes=sizes, seed=seed)
        summary = split_summary(clips, splits)
    write_text(summary_path(out), summary.to_csv(index=False))
    document = {**splits, "mode": mode, "seed": seed, "sizes": sizes}
    if fold_lists:
        document["folds"] = fold_lists
    write_json(out, document)
    return SplitResult(splits, mode, seed, sizes, out, False, tuple(fold_lists))


def fold_summary(clips: pd.DataFrame, folds: list[dict[str, list[str]]]) -> pd.DataFrame:
    """Clips and actors per fold x split x sex x race."""
    tables = [split_summary(clips, fold).assign(fold=i) for i, fold in enumerate(folds)]
    table = pd.concat(tables, ignore_index=True)
    return table[["fold", *[c for c in table.columns if c != "fold"]]]


def summary_path(split_path: Path) -> Path:
    """Where the per-stratum counts of a split file are written."""
    return split_path.with_name(f"{split_path.stem}_summary.csv")
