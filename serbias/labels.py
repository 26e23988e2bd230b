"""Emotion and demographic targets from the clip table, as 0/1 matrices in vocabulary order.

``intended``: the acted emotion (one-hot). ``observed``: the crowd's voice-only majority
vote (multi-hot; a tie such as ``A:N`` gives several positives; an unrated clip gives an
all-zero row, which callers exclude).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.errors import SerbiasError

LabelKind = Literal["intended", "observed"]
LABEL_KINDS = vocab.LABEL_KINDS


def intended_labels(clips: pd.DataFrame) -> np.ndarray:
    """One-hot (clips x 6) acted emotions."""
    codes = pd.Categorical(clips["emotion"].astype(str), categories=vocab.EMOTIONS).codes
    if (codes < 0).any():
        bad = clips["emotion"].astype(str)[codes < 0].iloc[0]
        raise SerbiasError(f"emotion {bad!r} is not one of {', '.join(vocab.EMOTIONS)}")
    return np.eye(len(vocab.EMOTIONS), dtype=np.float32)[codes]


def observed_labels(clips: pd.DataFrame) -> np.ndarray:
    """Multi-hot (clips x 6) voice-only majority votes; all zeros for an unrated clip."""
    labels = np.zeros((len(clips), len(vocab.EMOTIONS)), dtype=np.float32)
    votes_per_clip = zip(clips["filename"], clips["voice_vote"], strict=True)
    for row, (filename, votes) in enumerate(votes_per_clip):
        for letter in votes:
            if letter not in vocab.EMOTION_BY_LETTER:
                raise SerbiasError(
                    f"clip {filename}: voice vote {letter!r} is not one of "
                    f"{', '.join(vocab.VOTE_LETTERS)}"
                )
            labels[row, vocab.EMOTIONS.index(vocab.EMOTION_BY_LETTER[letter])] = 1.0
    return labels


def emotion_labels(clips: pd.DataFrame, kind: str) -> np.ndarray:
    """``intended`` or ``observed`` labels (clips x 6)."""
    if kind == "intended":
        return intended_labels(clips)
    if kind == "observed":
        return observed_labels(clips)
    raise SerbiasError(f"label kind {kind!r} is not one of {', '.join(LABEL_KINDS)}")


def demographic_labels(clips: pd.DataFrame) -> dict[str, np.ndarray]:
    """The multitask heads' targets: ``female`` (Female vs Male) and ``non_caucasian``."""
    return {
        head: (clips[column].astype(str) == positive).to_numpy(np.float32)[:, None]
        for head, (column, positive, _) in vocab.DEMOGRAPHIC_HEADS.items()
    }
