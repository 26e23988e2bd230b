"""A scored set: one system's decisions next to one target, with each clip's actor and groups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from serbias.audit._predictions import Predictions
from serbias.audit._resampling import ActorCounts, actor_counts
from serbias.audit._targets import targets_for
from serbias.audit.settings import Decision, Target
from serbias.errors import SerbiasError


@dataclass(frozen=True)
class Scored:
    """Binary targets and decisions (rows x covered emotions) with each row's actor and groups.

    ``weight`` is how many listener responses a row stands for (human baseline); None = 1.
    """

    system: str
    target: str
    emotions: tuple[str, ...]
    y_true: np.ndarray
    y_pred: np.ndarray
    actor_id: np.ndarray
    filenames: np.ndarray
    labels: pd.DataFrame
    weight: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.y_true)
        shapes = {len(self.y_pred), len(self.actor_id), len(self.filenames), len(self.labels)}
        if shapes != {n} or self.y_true.shape != self.y_pred.shape:
            raise ValueError("scored set: targets, decisions, actors and groups differ in length")
        if n == 0:
            raise SerbiasError(f"{self.system} ({self.target} target): no clip left to score")
        if len(self.emotions) < 2:
            raise SerbiasError(
                f"{self.system}: scores only {', '.join(self.emotions)}; "
                "at least 2 emotions are needed"
            )

    @property
    def n_clips(self) -> int:
        return int(pd.unique(self.filenames).size)

    @property
    def n_actors(self) -> int:
        return int(np.unique(self.actor_id).size)

    def counts(self) -> ActorCounts:
        return actor_counts(self.y_true, self.y_pred, self.actor_id, self.weight)


@dataclass(frozen=True)
class Exclusions:
    """Predicted clips that could not be scored against a target, by reason."""

    unrated: int = 0
    not_covered: int = 0

    def describe(self) -> str:
        parts = []
        if self.unrated:
            parts.append(f"{self.unrated} unrated")
        if self.not_covered:
            parts.append(f"{self.not_covered} with a target emotion the system does not cover")
        return ", ".join(parts)


def score_predictions(
    predictions: Predictions,
    clips: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    target: Target,
    decision: Decision = "threshold",
    threshold: float = 0.5,
) -> tuple[Scored, Exclusions]:
    """Line up a system's decisions with the target of every clip it predicted.

    ``clips`` and ``labels`` (group axes) are aligned row by row; every predicted filename
    must be in ``clips``. Clips without a target (unrated, or no covered emotion) are left out
    and counted.
    """
    rows = pd.Index(clips["filename"]).get_indexer(predictions.filenames)
    if (rows < 0).any():
        raise ValueError("score_predictions: predicted clips must be in the clip table")
    chosen = clips.iloc[rows]
    y_true, scorable = targets_for(chosen, target, predictions.emotions)
    y_pred = predictions.decide(decision, threshold=threshold)
    has_target = (
        np.ones(len(chosen), bool)
        if target == "intended"
        else np.asarray([bool(v) for v in chosen["voice_vote"]])
    )
    exclusions = Exclusions(
        unrated=int((~has_target).sum()), not_covered=int((has_target & ~scorable).sum())
    )
    keep = np.flatnonzero(scorable)
    scored = Scored(
        system=predictions.name,
        target=target,
        emotions=predictions.emotions,
        y_true=y_true[keep],
        y_pred=y_pred[keep],
        actor_id=chosen["actor_id"].to_numpy()[keep],
        filenames=chosen["filename"].to_numpy()[keep],
        labels=labels.iloc[rows[keep]].reset_index(drop=True),
    )
    return scored, exclusions
