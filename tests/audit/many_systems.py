"""A Quickstart-sized audit without training: clips with listener votes and eight systems."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.audit import AuditParams, AuditResult, run_audit
from tests.audit.clips import Actor, make_clips, noisy_scores, write_predictions

#: The eight model names of the default pipeline audit (four families x two label kinds).
SYSTEM_NAMES = tuple(
    f"{family}-{labels}"
    for family in ("svm", "cnn", "multitask", "crnn")
    for labels in ("intended", "observed")
)


#: Races in roughly CREMA-D's mix (Caucasian 61, African American 21, Asian 7, Unknown 2 of 91).
_RACES = ("African American", "Caucasian", "Asian", "Caucasian", "Caucasian", "Unknown")


def mixed_actors(n: int, *, first_id: int = 1001) -> list[Actor]:
    """``n`` actors alternating Female/Male over CREMA-D's races, every fifth one Hispanic,
    aged over four bands: every axis of a real audit has groups."""
    return [
        (
            first_id + i,
            "Female" if i % 2 == 0 else "Male",
            _RACES[(i // 2) % len(_RACES)] if i % 7 else "African American",
            "Hispanic" if i % 5 == 0 else "Not Hispanic",
            22 + (i % 4) * 11,
        )
        for i in range(n)
    ]


def with_voice_votes(clips: pd.DataFrame, *, seed: int, raters: int = 6) -> pd.DataFrame:
    """Voice-only vote counts per clip: each rater names the intended emotion with p 0.6."""
    rng = np.random.default_rng(seed)
    intended = clips["emotion"].cat.codes.to_numpy()
    votes = np.zeros((len(clips), len(vocab.VOTE_LETTERS)), dtype=int)
    for _ in range(raters):
        right = rng.random(len(clips)) < 0.6
        choice = np.where(right, intended, rng.integers(0, len(vocab.VOTE_LETTERS), len(clips)))
        votes[np.arange(len(clips)), choice] += 1
    clips = clips.copy()
    for j, letter in enumerate(vocab.VOTE_LETTERS):
        clips[f"voice_{letter}"] = pd.array(votes[:, j], dtype="Int64")
    return clips


def many_systems(
    out: Path,
    *,
    n_actors: int = 24,
    names: tuple[str, ...] = SYSTEM_NAMES,
    female_hit: float = 0.7,
    sentences: tuple[str, ...] = ("DFA", "IEO"),
) -> tuple[pd.DataFrame, list[Path]]:
    """A clip table with votes and one predictions CSV per system (the first system worse for
    women when ``female_hit`` is below the men's 0.7)."""
    clips = with_voice_votes(make_clips(mixed_actors(n_actors), sentences=sentences), seed=1)
    paths = []
    for i, name in enumerate(names):
        rate = {"Female": female_hit if i == 0 else 0.7, "Male": 0.7}
        paths.append(
            write_predictions(out / f"{name}.csv", noisy_scores(clips, seed=i, hit_rate=rate))
        )
    return clips, paths


def audit_many(out: Path, **settings) -> AuditResult:
    """Audit :func:`many_systems` on both targets with small resample counts."""
    clips, paths = many_systems(out)
    params = dict(target="both", n_boot=40, n_perm=40, n_chance=4, min_actors=4, track=False)
    return run_audit(paths, clips, AuditParams(**(params | settings)))
