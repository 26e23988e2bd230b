"""Build tiny clip tables (the corpus reader's format) and prediction CSVs for audit tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from serbias import vocab

#: (actor_id, sex, race, ethnicity, age)
Actor = tuple[int, str, str, str, int]


def make_clips(
    actors: Sequence[Actor],
    emotions: Sequence[str] = vocab.EMOTIONS,
    sentences: Sequence[str] = ("DFA",),
    votes: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """One clip per actor x sentence x emotion, typed like ``read_corpus`` output.

    ``voice_vote`` is the intended emotion's letter unless ``votes`` overrides a clip.
    """
    rows = []
    for actor_id, sex, race, ethnicity, age in actors:
        for sentence in sentences:
            for emotion in emotions:
                name = f"{actor_id}_{sentence}_{emotion}_XX"
                vote = (votes or {}).get(name, [vocab.LETTER_BY_EMOTION[emotion]])
                rows.append(
                    (name, actor_id, sentence, emotion, "XX", sex, race, ethnicity, age, vote)
                )
    clips = pd.DataFrame(
        rows,
        columns=[
            "filename",
            "actor_id",
            "sentence",
            "emotion",
            "level",
            "sex",
            "race",
            "ethnicity",
            "age",
            "voice_vote",
        ],
    )
    clips["emotion"] = pd.Categorical(clips["emotion"], categories=vocab.EMOTIONS, ordered=True)
    clips["level"] = pd.Categorical(clips["level"], categories=vocab.LEVELS, ordered=True)
    clips["sex"] = pd.Categorical(clips["sex"], categories=vocab.SEXES, ordered=True)
    clips["race"] = pd.Categorical(clips["race"], categories=vocab.RACES, ordered=True)
    clips.insert(
        7,
        "race_binary",
        pd.Categorical(
            [vocab.race_binary(r) for r in clips["race"]],
            categories=vocab.RACE_BINARY,
            ordered=True,
        ),
    )
    clips["ethnicity"] = pd.Categorical(
        clips["ethnicity"], categories=vocab.ETHNICITIES, ordered=True
    )
    return clips.sort_values("filename", ignore_index=True)


def balanced_actors(n_female: int, n_male: int, *, first_id: int = 1001) -> list[Actor]:
    """Caucasian, not Hispanic actors aged 30, females first."""
    sexes = ["Female"] * n_female + ["Male"] * n_male
    return [(first_id + i, sex, "Caucasian", "Not Hispanic", 30) for i, sex in enumerate(sexes)]


def noisy_scores(
    clips: pd.DataFrame, *, seed: int, hit_rate: float | dict[str, float] = 0.7
) -> pd.DataFrame:
    """Probabilities: the intended emotion scores above 0.5 with ``hit_rate`` (per sex if a dict),
    every other emotion above 0.5 with probability 0.1."""
    rng = np.random.default_rng(seed)
    intended = np.eye(len(vocab.EMOTIONS), dtype=bool)[clips["emotion"].cat.codes.to_numpy()]
    if isinstance(hit_rate, dict):
        rate = clips["sex"].astype(str).map(hit_rate).to_numpy(dtype=float)[:, None]
    else:
        rate = np.full((len(clips), 1), hit_rate)
    hit = rng.random(intended.shape) < np.where(intended, rate, 0.1)
    scores = np.where(
        hit, 0.5 + 0.5 * rng.random(intended.shape), 0.49 * rng.random(intended.shape)
    )
    return pd.DataFrame(scores.round(4), columns=list(vocab.EMOTION_NAMES), index=clips["filename"])


def write_predictions(path: Path, scores: pd.DataFrame, *, suffix: str = "") -> Path:
    """Write ``scores`` (index = clip stems) as a reference-format predictions CSV."""
    table = scores.copy()
    table.insert(0, "Filename", [f"{name}{suffix}" for name in scores.index])
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def rows_of(clips: pd.DataFrame, names: Iterable[str]) -> np.ndarray:
    return pd.Index(clips["filename"]).get_indexer(list(names))
