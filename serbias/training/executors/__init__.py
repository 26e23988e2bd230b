"""Where many trainings run: ``local`` (this machine's processes) or ``ray`` (a cluster)."""

from __future__ import annotations

from serbias.training.executors.base import (
    Executor,
    TaskFailure,
    TrainingTask,
    Work,
    crash_if_asked,
    first_line,
)

__all__ = ["Executor", "TaskFailure", "TrainingTask", "Work", "crash_if_asked", "first_line"]
