"""How many CPUs this process may use (the one helper every process pool sizes itself by)."""

from __future__ import annotations

import os


def available_cpus() -> int:
    """CPUs in this process's affinity mask (containers and ``taskset`` limit it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not every platform has affinity masks
        return max(1, os.cpu_count() or 1)
