"""This machine's processes: a spawn pool whose workers memory-map the shared arrays."""

from __future__ import annotations

import multiprocessing
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np

from serbias.cpu import available_cpus, limit_threads
from serbias.training.executors.base import TaskFailure, TrainingTask, Work, first_line

_ARRAYS: dict[str, np.ndarray] = {}


def _attach(paths: Mapping[str, str], threads: int) -> None:
    """Worker start: BLAS/OpenMP threads capped at this worker's share of the CPUs (as Ray
    workers are), and the arrays the driver wrote once memory-mapped."""
    limit_threads(threads)
    _ARRAYS.clear()
    _ARRAYS.update({k: np.load(p, mmap_mode="r", allow_pickle=False) for k, p in paths.items()})


def _call(work: Work, context: Any, task: TrainingTask, attempt: int) -> Any:
    return work(_ARRAYS, context, task, attempt)


class LocalExecutor:
    """``jobs`` spawned worker processes (in-process when ``jobs`` is 1); a task that raises
    or whose worker dies is retried up to ``retries`` times, then reported as failed."""

    name = "local"

    def __init__(self, jobs: int, retries: int = 2) -> None:
        self.jobs = max(1, int(jobs))
        self.retries = max(0, int(retries))

    def run(
        self,
        work: Work,
        arrays: Mapping[str, np.ndarray],
        context: Any,
        tasks: Sequence[TrainingTask],
    ) -> Iterator[Any | TaskFailure]:
        if self.jobs == 1 or len(tasks) <= 1:
            yield from self._in_process(work, arrays, context, tasks)
            return
        with tempfile.TemporaryDirectory(prefix="serbias-arrays-") as tmp:
            paths = {}
            for i, (key, array) in enumerate(arrays.items()):
                paths[key] = str(Path(tmp) / f"{i}.npy")
                np.save(paths[key], np.ascontiguousarray(array), allow_pickle=False)
            yield from self._in_pool(work, paths, context, tasks)

    def _in_process(
        self, work: Work, arrays: Mapping[str, np.ndarray], context: Any, tasks: Sequence[Any]
    ) -> Iterator[Any | TaskFailure]:
        for task in tasks:
            for attempt in range(1, self.retries + 2):
                try:
                    yield work(arrays, context, task, attempt)
                    break
                except Exception as exc:  # a failed training is retried, then reported
                    if attempt > self.retries:
                        yield TaskFailure(task.key, attempt, first_line(exc))

    def _in_pool(
        self, work: Work, paths: Mapping[str, str], context: Any, tasks: Sequence[TrainingTask]
    ) -> Iterator[Any | TaskFailure]:
        attempts = {task.key: 0 for task in tasks}
        waiting = list(tasks)
        while waiting:
            pool = ProcessPoolExecutor(
                max_workers=min(self.jobs, len(waiting)),
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_attach,
                initargs=(dict(paths), max(1, available_cpus() // self.jobs)),
            )
            running: dict[Future, TrainingTask] = {}
            broken = False
            try:
                for task in waiting:
                    attempts[task.key] += 1
                    running[pool.submit(_call, work, context, task, attempts[task.key])] = task
                waiting = []
                while running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        task = running.pop(future)
                        try:
                            yield future.result()
                        except BrokenProcessPool:
                            broken = True
                            waiting.append(task)
                        except Exception as exc:
                            if attempts[task.key] > self.retries:
                                yield TaskFailure(task.key, attempts[task.key], first_line(exc))
                            else:
                                attempts[task.key] += 1
                                running[
                                    pool.submit(_call, work, context, task, attempts[task.key])
                                ] = task
                    if broken:
                        # a dead worker breaks the whole pool: every unfinished task is resubmitted
                        waiting.extend(running.values())
                        running.clear()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            exhausted = [t for t in waiting if attempts[t.key] > self.retries]
            for task in exhausted:
                yield TaskFailure(task.key, attempts[task.key], "worker process died")
            waiting = [t for t in waiting if attempts[t.key] <= self.retries]
