"""Many trainings of one model: the plan (one task per bootstrap replica) and the work
function an executor runs for each task."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from serbias.models.families import family as model_family
from serbias.models.io import model_to_bytes, predict_outputs
from serbias.training.executors.base import TrainingTask, crash_if_asked
from serbias.training.fit import configure_tensorflow, fit_model
from serbias.training.params import TrainParams


@dataclass(frozen=True)
class TaskContext:
    """What every task of a run shares besides the arrays (small, picklable)."""

    params: TrainParams
    threads: int | None = None


@dataclass(frozen=True, eq=False)
class TaskResult:
    """One finished training: what it predicted for its held-out rows and its model's bytes."""

    key: str
    kind: str
    index: int
    seed: int
    n_train: int
    val_rows: np.ndarray
    predict_rows: np.ndarray
    predict_outputs: dict[str, np.ndarray]
    history: list[dict[str, float]]
    best_epoch: int
    val_outputs: dict[str, np.ndarray]
    model_bytes: bytes
    model_suffix: str
    attempt: int


def bootstrap_indices(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A bootstrap resample of ``n`` positions (with replacement) and its sorted out-of-bag ones."""
    from sklearn.utils import resample

    positions = np.arange(n)
    sample = resample(positions, replace=True, n_samples=n, random_state=seed)
    return np.asarray(sample), np.setdiff1d(positions, sample)


def bootstrap_tasks(
    train_rows: np.ndarray, val_rows: np.ndarray, *, replicas: int, seed: int
) -> list[TrainingTask]:
    """Replica i trains on a bootstrap resample of ``train_rows`` (seed ``seed + i``) and
    predicts its out-of-bag rows."""
    tasks = []
    for replica in range(replicas):
        sample, oob = bootstrap_indices(len(train_rows), seed + replica)
        tasks.append(
            TrainingTask(
                "replica", replica, seed + replica, train_rows[sample], val_rows, train_rows[oob]
            )
        )
    return tasks


def train_task(
    arrays: Mapping[str, np.ndarray], context: TaskContext, task: TrainingTask, attempt: int
) -> TaskResult:
    """Fit one task's model and predict its held-out rows (run by an executor's worker)."""
    crash_if_asked(task)
    params = context.params
    if context.threads and model_family(params.model).backend == "keras":
        configure_tensorflow(deterministic=params.deterministic, threads=context.threads)
    fit = fit_model(
        params, arrays, train_rows=task.train_rows, val_rows=task.val_rows, seed=task.seed
    )
    held_out = (
        predict_outputs(fit.model, arrays["X"][task.predict_rows], batch_size=params.batch_size)
        if len(task.predict_rows)
        else {}
    )
    content, suffix = model_to_bytes(fit.model)
    return TaskResult(
        key=task.key,
        kind=task.kind,
        index=task.index,
        seed=task.seed,
        n_train=len(task.train_rows),
        val_rows=task.val_rows,
        predict_rows=task.predict_rows,
        predict_outputs=held_out,
        history=fit.history,
        best_epoch=fit.best_epoch,
        val_outputs=fit.val_outputs,
        model_bytes=content,
        model_suffix=suffix,
        attempt=attempt,
    )
