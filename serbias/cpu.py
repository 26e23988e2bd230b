"""How many CPUs this process may use (the one helper every process pool sizes itself by)."""

from __future__ import annotations

import os


def available_cpus() -> int:
    """CPUs in this process's affinity mask (containers and ``taskset`` limit it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not every platform has affinity masks
        return max(1, os.cpu_count() or 1)


def limit_threads(threads: int) -> None:
    """Cap this worker's BLAS/OpenMP threads at ``threads`` (its share of the CPUs), so that
    parallel trainings do not oversubscribe the cores: the variables reach libraries loaded
    from now on, threadpoolctl the ones already loaded (numpy's)."""
    from threadpoolctl import threadpool_limits

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))
    threadpool_limits(threads)
