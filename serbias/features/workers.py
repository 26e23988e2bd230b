"""The extraction workers: a plan of extractors, preallocated row files, a process pool.

Each worker is handed the :class:`Plan` once (the kinds' extractors, built in the parent so
no worker imports librosa) and then chunks of :class:`Task`; it decodes each clip once,
computes every kind's rows and ``pwrite``s them at the clip's row of that kind's file.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serbias.errors import SerbiasError
from serbias.features.audio import AudioError, load_clip
from serbias.features.base import Extractor

MAX_CHUNK = 64


@dataclass(frozen=True)
class Task:
    """One clip to extract: its stem, its audio and its row in every kind's output file."""

    row: int  # in the output files (clips with audio, in corpus order)
    filename: str
    path: str


#: A clip that failed, as (task, reason); reasons name no path (the manifest is portable).
Failure = tuple[Task, str]
#: What a chunk returns: its failures and the CPU seconds it took.
ChunkResult = tuple[list[Failure], float]


@dataclass(frozen=True)
class Output:
    """A preallocated float32 ``.npy`` file: ``n_rows`` rows of ``row_shape`` after ``offset``."""

    path: Path
    offset: int
    n_rows: int
    row_shape: tuple[int, ...]

    @property
    def row_bytes(self) -> int:
        return 4 * math.prod(self.row_shape)


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything a worker needs: each kind's extractor and where its rows go."""

    sample_rate: int
    extractors: dict[str, Extractor]
    outputs: dict[str, Output]


def allocate(n_rows: int, row_shapes: dict[str, tuple[int, ...]], work: Path) -> dict[str, Output]:
    """A zero-filled float32 ``.npy`` file per kind, one row per clip with audio."""
    outputs = {}
    for kind, row_shape in row_shapes.items():
        path = work / f"{kind}.npy"
        descr = np.lib.format.dtype_to_descr(np.dtype(np.float32))
        header = {"descr": descr, "fortran_order": False, "shape": (n_rows, *row_shape)}
        with open(path, "wb") as handle:
            np.lib.format.write_array_header_1_0(handle, header)
            offset = handle.tell()
            handle.truncate(offset + 4 * math.prod(row_shape) * n_rows)
        outputs[kind] = Output(path, offset, n_rows, tuple(row_shape))
    return outputs


def run_tasks(
    plan: Plan,
    tasks: list[Task],
    *,
    jobs: int,
    skip_bad: bool,
    progress: Callable[[int], None] | None,
) -> tuple[list[Failure], float]:
    """Extract every task, serially (``jobs == 1``) or over a pool of ``jobs`` processes.

    Returns the clips that failed and the CPU seconds spent on extraction.
    """
    chunk_size = max(1, min(MAX_CHUNK, math.ceil(len(tasks) / (4 * jobs))))
    chunks = [tasks[i : i + chunk_size] for i in range(0, len(tasks), chunk_size)]
    bad: list[Failure] = []
    cpu_seconds = 0.0

    def collect(chunk: list[Task], result: ChunkResult) -> None:
        nonlocal cpu_seconds
        found, cpu_seconds = result[0], cpu_seconds + result[1]
        if found and not skip_bad:
            task, reason = found[0]
            raise SerbiasError(f"{task.path}: {reason} (clip {task.filename})")
        bad.extend(found)
        if progress is not None:
            progress(len(chunk))

    if jobs == 1:
        writer = _Writer(plan)
        try:
            for chunk in chunks:
                collect(chunk, writer.run(chunk))
        finally:
            writer.close()
        return bad, cpu_seconds

    context = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(plan,))
    with pool:
        pending: dict[Future[ChunkResult], list[Task]] = {}
        queue: Iterator[list[Task]] = iter(chunks)
        try:
            for chunk in queue:
                pending[pool.submit(_run_chunk, chunk)] = chunk
                if len(pending) >= 2 * jobs:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    collect(pending.pop(future), future.result())
                    chunk = next(queue, None)
                    if chunk is not None:
                        pending[pool.submit(_run_chunk, chunk)] = chunk
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return bad, cpu_seconds


class _Writer:
    """Decodes each clip once and writes every kind's rows into that kind's output file."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.files: dict[str, int] = {}
        _keep_freed_memory()

    def _write(self, task: Task, kind: str, values: np.ndarray) -> None:
        output = self.plan.outputs[kind]
        row = np.ascontiguousarray(values, dtype=np.float32)
        if row.shape != output.row_shape:
            raise ValueError(
                f"feature kind {kind}: extractor gave shape {row.shape} for clip "
                f"{task.filename}, its row_shape is {output.row_shape}"
            )
        if kind not in self.files:
            self.files[kind] = os.open(output.path, os.O_WRONLY)
        position = output.offset + task.row * output.row_bytes
        if os.pwrite(self.files[kind], row, position) != output.row_bytes:
            raise OSError(f"{output.path}: short write (disk full?)")

    def run(self, chunk: list[Task]) -> ChunkResult:
        """Extract one chunk; returns the clips that could not be decoded and the CPU time."""
        started = time.process_time()
        bad = []
        for task in chunk:
            try:
                samples = load_clip(Path(task.path), self.plan.sample_rate)
            except AudioError as exc:
                bad.append((task, exc.reason))
                continue
            for kind, extractor in self.plan.extractors.items():
                self._write(task, kind, extractor(samples))
        return bad, time.process_time() - started

    def close(self) -> None:
        for descriptor in self.files.values():
            os.close(descriptor)
        self.files.clear()


_worker: _Writer | None = None


def _init_worker(plan: Plan) -> None:
    global _worker
    _worker = _Writer(plan)


def _run_chunk(chunk: list[Task]) -> ChunkResult:
    assert _worker is not None, "worker not initialised"
    return _worker.run(chunk)


def read_rows(output: Output, keep: list[int], block: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of rows ``keep`` of an output file, read a block at a time."""
    with open(output.path, "rb") as source:
        if len(keep) == output.n_rows:
            source.seek(output.offset)
            while data := source.read(block):
                yield data
            return
        for row in keep:
            source.seek(output.offset + row * output.row_bytes)
            yield source.read(output.row_bytes)


def _keep_freed_memory() -> None:
    """Let glibc reuse freed blocks instead of unmapping them after every clip.

    Each clip allocates a few MB of temporaries (frames, spectra); with glibc's defaults
    they are mmap'ed and returned to the OS per call, and the page faults cost more than
    the FFTs themselves (measured: 2-3x slower per clip). No-op where there is no glibc.
    """
    import ctypes
    import ctypes.util

    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 16 << 20)
    mallopt(m_trim_threshold, 128 << 20)
