"""What a prediction is scored against: the intended emotion or what listeners heard.

``intended``: the emotion the actor was asked to portray (one-hot).
``observed``: the crowd's voice-only majority vote (summaryTable VoiceVote); ties such as
``A:N`` give several positives, as in the reference study. Unrated clips have no observed
target and are left out of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.errors import SerbiasError

Target = Literal["intended", "observed"]
TARGETS: tuple[Target, ...] = ("intended", "observed")


def intended_targets(emotion: pd.Series, emotions: Sequence[str] = vocab.EMOTIONS) -> np.ndarray:
    """One-hot (n_clips x len(emotions)) of each clip's intended emotion code."""
    codes = emotion.astype(str).to_numpy()
    return codes[:, None] == np.asarray(emotions)[None, :]


def observed_targets(
    voice_vote: pd.Series, emotions: Sequence[str] = vocab.EMOTIONS
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-hot of the voice-only majority vote, and which clips were rated at all.

    Returns ``(targets, rated)``: targets is n_clips x len(emotions); rated is False for clips
    whose vote list is empty (their target row is all False and must not be scored).
    """
    column = {code: j for j, code in enumerate(emotions)}
    targets = np.zeros((len(voice_vote), len(emotions)), dtype=bool)
    rated = np.zeros(len(voice_vote), dtype=bool)
    for i, letters in enumerate(voice_vote):
        for letter in letters if isinstance(letters, list | tuple) else []:
            code = vocab.EMOTION_BY_LETTER.get(letter)
            if code is None:
                raise SerbiasError(
                    f"voice vote {letter!r} is not one of {', '.join(vocab.VOTE_LETTERS)}"
                )
            rated[i] = True
            if code in column:
                targets[i, column[code]] = True
    return targets, rated


def targets_for(
    clips: pd.DataFrame, target: Target, emotions: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Targets of ``clips`` restricted to ``emotions``, and the mask of clips that can be scored.

    A clip is scorable when it has a target (observed: it was rated) and at least one of its
    target emotions is covered: a 4-emotion system is scored on clips of those 4 emotions.
    """
    if target == "intended":
        targets = intended_targets(clips["emotion"], emotions)
        has_target = np.ones(len(clips), dtype=bool)
    elif target == "observed":
        targets, has_target = observed_targets(clips["voice_vote"], emotions)
    else:
        raise SerbiasError(f"target {target!r} is not one of {', '.join(TARGETS)}")
    return targets, has_target & targets.any(axis=1)
