"""The seam between "many trainings" and where they run: tasks in, results out.

An executor runs a module-level work function ``work(arrays, context, task, attempt)`` once
per task and yields each result as it finishes. ``arrays`` (the features and targets) are
shared read-only with the workers, sent once; ``context`` is small and picklable; results
carry the fitted model as bytes, never a local path, so no shared disk is assumed. Workers
never write to MLflow: the driver does (one writer).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from serbias.errors import first_line  # noqa: F401  (re-exported for executors)

#: ``<dir>:<task key>``: the first attempt of that task kills its worker (tests of retries).
CRASH_ONCE_ENV = "SERBIAS_TEST_CRASH_ONCE"


@dataclass(frozen=True, eq=False)
class TrainingTask:
    """One training of a many-trainings run: a bootstrap replica or a CV fold."""

    kind: str
    index: int
    seed: int
    train_rows: np.ndarray
    val_rows: np.ndarray
    predict_rows: np.ndarray

    @property
    def key(self) -> str:
        """``replica-003``, ``fold-002``: the task's name in runs, errors and progress."""
        return f"{self.kind}-{self.index:03d}"


@dataclass(frozen=True)
class TaskFailure:
    """A task that failed on every attempt."""

    key: str
    attempts: int
    error: str


Work = Callable[[Mapping[str, np.ndarray], Any, TrainingTask, int], Any]


class Executor(Protocol):
    """Runs tasks somewhere (this machine's processes, a Ray cluster, ...)."""

    name: str

    def run(
        self,
        work: Work,
        arrays: Mapping[str, np.ndarray],
        context: Any,
        tasks: Sequence[TrainingTask],
    ) -> Iterator[Any | TaskFailure]:
        """Yield each task's result (or a :class:`TaskFailure` after its retries) as it ends."""
        ...


def crash_if_asked(task: TrainingTask) -> None:
    """Test hook: kill this worker on the first attempt of the task named in
    ``$SERBIAS_TEST_CRASH_ONCE`` (a marker file remembers the attempt)."""
    spec = os.environ.get(CRASH_ONCE_ENV)
    if not spec or ":" not in spec:
        return
    directory, key = spec.rsplit(":", 1)
    marker = Path(directory) / key
    if key == task.key and not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("crashed once\n", encoding="utf-8")
        os._exit(3)
