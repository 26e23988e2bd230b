"""What a prediction is scored against: the intended emotion or what listeners heard.

``intended``: the emotion the actor was asked to portray (one-hot).
``observed``: the crowd's voice-only majority vote (summaryTable VoiceVote); ties such as
``A:N`` give several positives, as in the reference study. Unrated clips have no observed
target and are left out of it. The label matrices are the ones training uses
(:mod:`serbias.labels`), so a model is scored on exactly what it was trained to predict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.audit.settings import TARGETS, Target
from serbias.errors import SerbiasError
from serbias.labels import emotion_labels


def _columns(emotions: Sequence[str]) -> list[int]:
    return [vocab.EMOTIONS.index(code) for code in emotions]


def intended_targets(emotion: pd.Series, emotions: Sequence[str] = vocab.EMOTIONS) -> np.ndarray:
    """One-hot (n_clips x len(emotions)) of each clip's intended emotion code."""
    labels = emotion_labels(pd.DataFrame({"emotion": emotion}), "intended").astype(bool)
    return labels[:, _columns(emotions)]


def targets_for(
    clips: pd.DataFrame, target: Target, emotions: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Targets of ``clips`` restricted to ``emotions``, and the mask of clips that can be scored.

    A clip is scorable when it has a target (observed: it was rated) and at least one of its
    target emotions is covered: a 4-emotion system is scored on clips of those 4 emotions.
    """
    if target not in TARGETS:
        raise SerbiasError(f"target {target!r} is not one of {', '.join(TARGETS)}")
    labels = emotion_labels(clips, target).astype(bool)
    targets = labels[:, _columns(emotions)]
    return targets, labels.any(axis=1) & targets.any(axis=1)
