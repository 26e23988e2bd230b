"""Two yardsticks for a gap: a chance model and the human listeners.

Chance: the system's decisions shuffled across clips. Speaker and decision are then
unrelated, so any gap it shows is the size of gap that appears with no bias at all.

Human listeners: CREMA-D's crowd ratings (tabulatedVotes.csv, voice only). Each listener
response is a decision on the clip's intended emotion, so the same metrics by the same
groups answer "is the model more biased than people are?". Per-response accuracy on the
real corpus is 27,429 of 68,568 responses = 40.00%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.audit._resampling import actor_counts, rng_for
from serbias.audit._scored import Scored
from serbias.audit._targets import intended_targets
from serbias.errors import SerbiasError

HUMAN_SYSTEM = "human listeners"
#: Voice-only vote counts per clip, as the corpus reader names them.
VOICE_VOTE_COLUMNS = tuple(f"voice_{letter}" for letter in vocab.VOTE_LETTERS)


def has_voice_votes(clips: pd.DataFrame) -> bool:
    """Whether the clip table carries the voice-only vote counts the listener baseline needs."""
    return all(column in clips.columns for column in VOICE_VOTE_COLUMNS)


def wants_listeners(choice: bool | str, clips: pd.DataFrame) -> bool:
    """``audit.human_baseline`` resolved for ``clips``: true and false force it; ``auto``
    audits the listeners whenever the corpus has voice votes and skips them silently else."""
    return has_voice_votes(clips) if choice == "auto" else bool(choice)


def chance_counts(scored: Scored, *, n_chance: int, seed: int) -> np.ndarray | None:
    """Per-actor counts under the chance model, one table per shuffle (n_chance x actors x M).

    Shuffling keeps how often each emotion is predicted and breaks every link between a clip's
    speaker and the decision it got. None when not applicable (no shuffles, or weighted rows
    such as listener responses).
    """
    if n_chance == 0 or scored.weight is not None:
        return None
    rng = rng_for(seed, "chance", scored.target)
    shuffles = []
    for _ in range(n_chance):
        order = rng.permutation(len(scored.y_pred))
        shuffles.append(actor_counts(scored.y_true, scored.y_pred[order], scored.actor_id).counts)
    return np.stack(shuffles)


def human_scored(clips: pd.DataFrame, labels: pd.DataFrame) -> tuple[Scored, int]:
    """The listeners' voice-only responses as a scored set against the intended emotion.

    One row per (clip, chosen emotion) weighted by its number of votes, so every metric is
    per response: accuracy is the share of responses naming the intended emotion, recall
    for Sad the share of responses to Sad clips that said Sad. Returns the scored set and
    how many clips had no votes (left out).
    """
    missing = [c for c in VOICE_VOTE_COLUMNS if c not in clips.columns]
    if missing:
        raise SerbiasError(
            "human baseline: the corpus has no voice vote counts "
            "(processedResults/tabulatedVotes.csv is missing)"
        )
    votes = clips[list(VOICE_VOTE_COLUMNS)].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    unrated = np.isnan(votes).any(axis=1) | (np.nan_to_num(votes).sum(axis=1) == 0)
    if (np.nan_to_num(votes) < 0).any():
        clip = clips["filename"].iloc[int(np.argwhere(np.nan_to_num(votes) < 0)[0, 0])]
        raise SerbiasError(f"human baseline: clip {clip} has a negative vote count")
    votes = np.where(unrated[:, None], 0.0, np.nan_to_num(votes))
    clip_rows, choice = np.nonzero(votes > 0)
    if len(clip_rows) == 0:
        raise SerbiasError("human baseline: no clip in scope has voice votes")
    scored = Scored(
        system=HUMAN_SYSTEM,
        target="intended",
        emotions=vocab.EMOTIONS,
        y_true=intended_targets(clips["emotion"].iloc[clip_rows]),
        y_pred=np.eye(len(vocab.EMOTIONS), dtype=bool)[choice],
        actor_id=clips["actor_id"].to_numpy()[clip_rows],
        filenames=clips["filename"].to_numpy()[clip_rows],
        labels=labels.iloc[clip_rows].reset_index(drop=True),
        weight=votes[clip_rows, choice],
    )
    return scored, int(unrated.sum())
