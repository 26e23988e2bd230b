"""Trainings as Ray tasks, on a local Ray kept on loopback or on a cluster by address.

The shared arrays and the context go into Ray's object store once; each training is a task
of one remote function that declares its resources and its retries (``max_retries``,
``retry_exceptions``), so Ray itself re-runs a task whose worker raised or died. A task that
holds a GPU gets a fresh worker (``max_calls=1``) with TensorFlow's memory growth on, so the
GPU's memory is freed between trainings; CPU workers are reused, so TensorFlow is imported
once per worker, and each worker's BLAS/OpenMP threads are capped at its task's CPUs. Each
attempt learns its number from Ray's own task context (1 for the first, as the local
executor does) and returns it with its result, so the driver records the retries. The
driver collects results as tasks finish; it does every MLflow write itself. Starting and
joining Ray (token authentication, loopback, a background start) is
:mod:`serbias.training.executors.ray_connection`'s. Every node needs the same serbias
environment (``pip install -e ".[ray]"``) as the driver.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from serbias.cpu import limit_threads
from serbias.errors import SerbiasError
from serbias.training.executors.base import (
    CRASH_ONCE_ENV,
    TaskFailure,
    TrainingTask,
    Work,
    first_line,
)
from serbias.training.executors.ray_connection import (
    background_stopped,
    check_address,
    import_ray,
    is_loopback,
    join,
    start_local,
    started_in_background,
)
from serbias.training.params import TaskResources


class RayExecutor:
    """Run training tasks on Ray: ``address`` ``auto``, ``host:port`` (or ``ray://host:port``),
    or None to start a local Ray on loopback; each task holds ``resources`` and is retried
    ``retries`` times by Ray after an exception or a lost worker.

    A run owns its connection: :meth:`connect` (also called by :meth:`run`) joins or starts
    Ray and checks that some node can hold one task; the connection closes when the run ends.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        resources: Mapping[str, float] | None = None,
        retries: int = 2,
    ) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise SerbiasError(f"train.retries: {retries!r} (expected a whole number >= 0)")
        self.address = check_address(address)
        self.resources = TaskResources.from_mapping(resources)
        self.retries = retries
        #: attempts per task key of the last run (1: no retry)
        self.attempts: dict[str, int] = {}
        self._owns_connection = False

    @property
    def threads(self) -> int:
        """Compute threads each task may use: what ``TaskContext.threads`` should say."""
        return self.resources.threads

    def __enter__(self) -> RayExecutor:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ connection

    def connect(self) -> None:
        """Join or start Ray (once) and check that some node can hold one task.

        Raises a one-line SerbiasError, before any training, when Ray is not installed, the
        address is unreachable or refuses this driver's token, or no node has the resources.
        """
        ray = import_ray(loopback=self.address is None or is_loopback(self.address))
        if self.address is None and started_in_background():
            self._owns_connection = True
        elif not ray.is_initialized():
            if self.address is None:
                start_local(ray)
            else:
                join(ray, self.address)
            self._owns_connection = True
        try:
            self.check_resources()
        except SerbiasError:
            self.close()
            raise

    def close(self) -> None:
        """Disconnect (a local Ray this executor started stops with it)."""
        if self._owns_connection:
            import ray

            ray.shutdown()
            background_stopped()
            self._owns_connection = False

    def check_resources(self) -> None:
        """Refuse resources no alive node has in total (Ray would wait for them forever)."""
        import ray

        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        need = {"CPU": self.resources.num_cpus, "GPU": self.resources.num_gpus}
        if any(all(node.get(k, 0.0) >= v for k, v in need.items()) for node in nodes):
            return
        largest = max(nodes, key=lambda n: (n.get("GPU", 0.0), n.get("CPU", 0.0)), default={})
        raise SerbiasError(
            f"train.resources: no Ray node of {self.address or 'the local Ray'} has "
            f"num_cpus={self.resources.num_cpus:g}, num_gpus={self.resources.num_gpus:g} "
            f"(largest: {largest.get('CPU', 0.0):g} CPUs, {largest.get('GPU', 0.0):g} GPUs "
            f"on {len(nodes)} node(s)); lower train.resources"
        )

    # ------------------------------------------------------------------ running

    def run(
        self,
        work: Work,
        arrays: Mapping[str, np.ndarray],
        context: Any,
        tasks: Sequence[TrainingTask],
    ) -> Iterator[Any | TaskFailure]:
        """Yield each task's result, or a TaskFailure once Ray's retries are spent, as it
        finishes. Abandoning the iterator cancels the tasks still running."""
        self.attempts = {}
        if not tasks:
            return
        self.connect()
        import ray

        pending: dict[Any, TrainingTask] = {}
        try:
            train = ray.remote(
                num_cpus=self.resources.num_cpus,
                num_gpus=self.resources.num_gpus,
                max_retries=self.retries,
                retry_exceptions=True,
                max_calls=1 if self.resources.num_gpus else 0,
            )(run_task)
            shared = ray.put({name: np.asarray(values) for name, values in arrays.items()})
            shared_context = ray.put(context)
            options = TaskOptions(
                gpu=self.resources.num_gpus > 0,
                threads=self.threads,
                crash_once=os.environ.get(CRASH_ONCE_ENV) or None,
            )
            for task in tasks:
                ref = train.options(name=task.key).remote(
                    work, shared, shared_context, task, options
                )
                pending[ref] = task
            while pending:
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(ref)
                try:
                    attempt, outcome = ray.get(ref)
                except ray.exceptions.RayError as error:
                    attempt = self.retries + 1  # Ray gave up after its declared retries
                    outcome = TaskFailure(task.key, attempt, task_error(error))
                self.attempts[task.key] = attempt
                yield outcome
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            self.close()


@dataclass(frozen=True)
class TaskOptions:
    """How a worker prepares for one training (picklable; read in the worker)."""

    gpu: bool
    #: BLAS/OpenMP threads of the worker: its task's whole CPUs
    threads: int = 1
    #: the driver's ``$SERBIAS_TEST_CRASH_ONCE``: a cluster's workers do not inherit its env
    crash_once: str | None = None


def run_task(
    work: Work,
    arrays: Mapping[str, np.ndarray],
    context: Any,
    task: TrainingTask,
    options: TaskOptions,
) -> tuple[int, Any]:
    """One attempt of ``task`` in a Ray worker: prepare the process, run the work; returns
    (attempt number, the work's result)."""
    attempt = _attempt_number()
    if options.crash_once:  # the work calls crash_if_asked, which reads it here
        os.environ[CRASH_ONCE_ENV] = options.crash_once
    else:
        os.environ.pop(CRASH_ONCE_ENV, None)
    if options.gpu:  # a fresh worker per GPU task (max_calls=1), before TensorFlow starts
        os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    limit_threads(options.threads)
    return attempt, work(arrays, context, task, attempt)


def _attempt_number() -> int:
    """This task's attempt, 1 for the first: Ray counts the retries it declared (0-based).

    Ray 2.60 (the pinned extra) exposes it only on the core worker; a per-run actor that
    counted attempts instead cost a worker process and seconds of start-up on small nodes.
    """
    import ray

    return int(ray._private.worker.global_worker.core_worker.get_current_task_attempt_number()) + 1


def task_error(error: BaseException) -> str:
    """A failed task's error in one line: the work's own exception when it raised one."""
    cause = getattr(error, "cause", None)
    return first_line(cause if isinstance(cause, BaseException) else error)
