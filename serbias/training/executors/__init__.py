"""Where many trainings run: ``local`` (this machine's processes) or ``ray`` (a cluster)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from serbias.training.executors.base import (
    Executor,
    TaskFailure,
    TrainingTask,
    Work,
    crash_if_asked,
    first_line,
)

__all__ = [
    "Executor", "TaskFailure", "TrainingTask", "Work", "crash_if_asked", "first_line",
    "make_executor", "warm_start",
]  # fmt: skip


def make_executor(params: Any, jobs: int) -> Executor:
    """The executor ``train.executor`` names: ``local`` (``jobs`` processes, ``train.retries``)
    or ``ray`` (``train.ray_address``, ``train.resources``, ``train.retries``)."""
    if params.executor == "ray":
        from serbias.training.executors.ray import RayExecutor

        resources = {"num_cpus": params.resources.num_cpus, "num_gpus": params.resources.num_gpus}
        executor = RayExecutor(params.ray_address, resources=resources, retries=params.retries)
        executor.connect()  # unreachable, unauthenticated or too small: fail before any run
        return executor
    from serbias.training.executors.local import LocalExecutor

    return LocalExecutor(jobs, retries=params.retries)


@contextmanager
def warm_start(params: Any) -> Iterator[None]:
    """With ``train.executor: ray`` and no ``train.ray_address``, start the local Ray in the
    background while the block loads data (its start-up costs seconds); the executor the
    block makes takes it over, and one left untaken (an error came first) stops at the end."""
    if params.executor != "ray" or params.ray_address or not (params.bootstrap or params.cv):
        yield
        return
    from serbias.training.executors.ray_connection import prestart, stop_prestarted

    prestart()
    try:
        yield
    finally:
        stop_prestarted()
