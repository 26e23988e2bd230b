"""Extract log-mel and SVM features for every split into the feature store, in parallel.

Each clip is decoded and resampled once and feeds both kinds. Worker processes (each
handed a precomputed plan, so none imports librosa) write each clip's rows straight into
a preallocated float32 ``.npy`` file per split and kind, at the clip's position in the
split file. Nobody holds raw audio beyond the clip at hand or maps the big arrays: peak
memory stays at a few clips per worker whatever the corpus size. The files are then
streamed into ``{split}_{kind}.npz`` and the manifest is written last, all inside a
temporary directory that replaces ``out_dir`` only on success.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from serbias.atomic import atomic_dir, write_json
from serbias.config import ExtractParams
from serbias.errors import SerbiasError
from serbias.features.audio import AudioError, load_clip
from serbias.features.handcrafted import HandcraftedExtractor
from serbias.features.logmel import LogMelExtractor
from serbias.features.store import (
    FORMAT,
    FORMAT_VERSION,
    KINDS,
    MANIFEST,
    npz_writer,
    read_manifest,
    store_file,
)

if TYPE_CHECKING:
    import pandas as pd

#: Settings that do not change the features, so they are not part of the store's identity.
RUN_SETTINGS = ("kinds", "jobs", "skip_bad")
MAX_CHUNK = 64
#: Versions recorded in the manifest (the libraries whose numbers end up in the features).
LIBRARIES = ("numpy", "scipy", "librosa", "soundfile", "soxr")


@dataclass(frozen=True)
class BadClip:
    """A clip left out of the store (``--skip-bad``) and why."""

    filename: str
    split: str
    reason: str


@dataclass(frozen=True)
class ExtractSummary:
    """What :func:`extract_features` did (or found already done)."""

    out_dir: Path
    up_to_date: bool
    kinds: tuple[str, ...]
    counts: dict[str, int]
    shapes: dict[str, tuple[int, ...]]
    bad: tuple[BadClip, ...] = ()
    clips_extracted: int = 0
    jobs: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # summed over worker processes: the cost on an idle machine


@dataclass(frozen=True)
class _Task:
    split: str
    row: int
    filename: str
    path: str


#: A clip that failed, as (task, reason); reasons name no path (the manifest is portable).
_Failure = tuple[_Task, str]
#: What a chunk returns: its failures and the CPU seconds it took.
_ChunkResult = tuple[list[_Failure], float]


@dataclass(frozen=True)
class _Output:
    """A preallocated float32 ``.npy`` file: ``n_rows`` rows of ``row_shape`` after ``offset``."""

    path: Path
    offset: int
    n_rows: int
    row_shape: tuple[int, ...]

    @property
    def row_bytes(self) -> int:
        return 4 * math.prod(self.row_shape)


@dataclass(frozen=True, eq=False)
class _Plan:
    """Everything a worker needs: the extractors and where each split's rows go."""

    sample_rate: int
    logmel: LogMelExtractor | None
    svm: HandcraftedExtractor | None
    outputs: dict[tuple[str, str], _Output]


def extract_features(
    clips: pd.DataFrame,
    split: dict[str, list[str]],
    out_dir: Path,
    *,
    params: ExtractParams,
    kinds: Sequence[str] | None = None,
    jobs: int | None = None,
    skip_bad: bool = False,
    corpus_fingerprint: str,
    split_fingerprint: str,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
) -> ExtractSummary:
    """Write the feature store for ``split`` (clip stems per split) into ``out_dir``.

    ``clips`` is the clip table (``filename`` and ``path`` columns). Nothing is computed
    when ``out_dir`` already holds these kinds for the same parameters, corpus and split
    (unless ``force``). An unreadable or missing clip raises a SerbiasError naming it, or
    with ``skip_bad`` is left out of every kind and listed in the manifest. ``progress``
    is called with the number of clips finished after each chunk.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    kinds = _check_kinds(params.kinds if kinds is None else kinds)
    identity = {
        "params": _json(_feature_params(params)),
        "corpus_fingerprint": corpus_fingerprint,
        "split_fingerprint": split_fingerprint,
    }
    if not force:
        manifest = _current_manifest(out_dir, identity, kinds, skip_bad=skip_bad)
        if manifest is not None:
            return _summary_from_manifest(out_dir, manifest, kinds)
    _check_out_dir(out_dir, force=force)

    tasks, missing = _resolve(clips, split, skip_bad=skip_bad)
    jobs = max(1, min(jobs or _cpu_count(), len(tasks) or 1))
    with atomic_dir(out_dir, force=True) as tmp:
        work = tmp / ".work"
        work.mkdir()
        logmel = LogMelExtractor.from_params(params) if "logmel" in kinds else None
        svm = HandcraftedExtractor.from_params(params) if "svm" in kinds else None
        row_shapes = {}
        if logmel is not None:
            row_shapes["logmel"] = logmel.shape
        if svm is not None:
            row_shapes["svm"] = (len(svm.columns),)
        outputs = _allocate(split, row_shapes, work)
        plan = _Plan(params.sample_rate, logmel, svm, outputs)
        decoded, cpu_seconds = _run(plan, tasks, jobs=jobs, skip_bad=skip_bad, progress=progress)
        failures = missing + decoded
        order = {name: i for i, name in enumerate(split)}
        failures.sort(key=lambda failure: (order[failure[0].split], failure[0].row))
        bad = [BadClip(task.filename, task.split, reason) for task, reason in failures]
        files, counts = _save(svm, outputs, split, row_shapes, bad, tmp)
        shutil.rmtree(work)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **identity,
            "kinds": list(kinds),
            "skip_bad": skip_bad,
            "skipped": [asdict(clip) for clip in bad],
            "splits": counts,
            "files": files,
            "versions": _versions(),
        }
        write_json(tmp / MANIFEST, manifest)
    return ExtractSummary(
        out_dir=out_dir,
        up_to_date=False,
        kinds=kinds,
        counts=counts,
        shapes={name: tuple(entry["shape"]) for name, entry in files.items()},
        bad=tuple(bad),
        clips_extracted=sum(counts.values()),
        jobs=jobs,
        seconds=time.perf_counter() - started,
        cpu_seconds=cpu_seconds,
    )


def _check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    for kind in kinds:
        if kind not in KINDS:
            raise SerbiasError(f"feature kind {kind!r} is not one of {', '.join(KINDS)}")
    if not kinds:
        raise SerbiasError(f"no feature kind given (expected {' and/or '.join(KINDS)})")
    return tuple(kind for kind in KINDS if kind in kinds)


def _feature_params(params: ExtractParams) -> dict[str, Any]:
    """The parameters that determine the features (the store's identity)."""
    return {key: value for key, value in asdict(params).items() if key not in RUN_SETTINGS}


def _json(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(value))


def _current_manifest(
    out_dir: Path, identity: dict[str, Any], kinds: tuple[str, ...], *, skip_bad: bool
) -> dict[str, Any] | None:
    """The existing manifest when it already covers this request, else None."""
    if not (out_dir / MANIFEST).is_file():
        return None
    try:
        manifest = read_manifest(out_dir)
    except SerbiasError:
        return None
    if any(manifest.get(key) != value for key, value in identity.items()):
        return None
    if not set(kinds) <= set(manifest.get("kinds", [])):
        return None
    if manifest.get("skipped") and not skip_bad:
        return None  # the store left clips out; without --skip-bad they must be retried
    wanted = [name for name, entry in manifest.get("files", {}).items() if entry["kind"] in kinds]
    if not wanted or not all((out_dir / name).is_file() for name in wanted):
        return None
    return manifest


def _summary_from_manifest(
    out_dir: Path, manifest: dict[str, Any], kinds: tuple[str, ...]
) -> ExtractSummary:
    files = manifest["files"]
    return ExtractSummary(
        out_dir=out_dir,
        up_to_date=True,
        kinds=kinds,
        counts=dict(manifest["splits"]),
        shapes={name: tuple(e["shape"]) for name, e in files.items() if e["kind"] in kinds},
        bad=tuple(BadClip(**clip) for clip in manifest.get("skipped", [])),
    )


def _check_out_dir(out_dir: Path, *, force: bool) -> None:
    """Refuse to replace a non-empty directory that is not a feature store."""
    if out_dir.exists() and not out_dir.is_dir():
        raise SerbiasError(f"{out_dir}: exists and is not a directory")
    foreign = out_dir.is_dir() and not (out_dir / MANIFEST).is_file() and any(out_dir.iterdir())
    if foreign and not force:
        raise SerbiasError(
            f"{out_dir}: not empty and not a feature store (choose another --out, or --force)"
        )


def _resolve(
    clips: pd.DataFrame, split: dict[str, list[str]], *, skip_bad: bool
) -> tuple[list[_Task], list[_Failure]]:
    """One task per clip with audio on disk; missing audio is an error unless ``skip_bad``.

    A clip absent from ``clips`` counts as missing audio: the corpus reader lists the WAVs
    present, so a deleted file shows up here as an unknown clip.
    """
    paths = dict(zip(clips["filename"], clips["path"], strict=True))
    tasks, missing = [], []
    for name, stems in split.items():
        for row, stem in enumerate(stems):
            path = paths.get(stem)
            task = _Task(name, row, stem, str(path))
            if path is None or not Path(path).is_file():
                where = "the corpus has no file for it" if path is None else f"{path} not found"
                if not skip_bad:
                    raise SerbiasError(f"clip {stem} (split {name}): audio missing, {where}")
                missing.append((task, "audio file not found"))
                continue
            tasks.append(task)
    if missing and not tasks:
        raise SerbiasError(
            f"none of the {len(missing)} clips in the split has audio in the corpus "
            f"(e.g. {missing[0][0].filename}); is it the split of another corpus?"
        )
    return tasks, missing


def _allocate(
    split: dict[str, list[str]], row_shapes: dict[str, tuple[int, ...]], work: Path
) -> dict[tuple[str, str], _Output]:
    """A zero-filled float32 ``.npy`` file per split and kind, one row per clip of the split."""
    outputs = {}
    for name, stems in split.items():
        for kind, row_shape in row_shapes.items():
            path = work / f"{name}_{kind}.npy"
            descr = np.lib.format.dtype_to_descr(np.dtype(np.float32))
            header = {"descr": descr, "fortran_order": False, "shape": (len(stems), *row_shape)}
            with open(path, "wb") as handle:
                np.lib.format.write_array_header_1_0(handle, header)
                offset = handle.tell()
                handle.truncate(offset + 4 * math.prod(row_shape) * len(stems))
            outputs[name, kind] = _Output(path, offset, len(stems), row_shape)
    return outputs


def _run(
    plan: _Plan,
    tasks: list[_Task],
    *,
    jobs: int,
    skip_bad: bool,
    progress: Callable[[int], None] | None,
) -> tuple[list[_Failure], float]:
    """Extract every task, serially (``jobs == 1``) or over a pool of ``jobs`` processes.

    Returns the clips that failed and the CPU seconds spent on extraction.
    """
    chunk_size = max(1, min(MAX_CHUNK, math.ceil(len(tasks) / (4 * jobs))))
    chunks = [tasks[i : i + chunk_size] for i in range(0, len(tasks), chunk_size)]
    bad: list[_Failure] = []
    cpu_seconds = 0.0

    def collect(chunk: list[_Task], result: _ChunkResult) -> None:
        nonlocal cpu_seconds
        found, cpu_seconds = result[0], cpu_seconds + result[1]
        if found and not skip_bad:
            task, reason = found[0]
            raise SerbiasError(f"{task.path}: {reason} (clip {task.filename}, split {task.split})")
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
        pending: dict[Future[_ChunkResult], list[_Task]] = {}
        queue: Iterator[list[_Task]] = iter(chunks)
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
    """Decodes each clip once and writes its rows into the split's output files."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.files: dict[tuple[str, str], int] = {}
        _keep_freed_memory()

    def _write(self, task: _Task, kind: str, values: np.ndarray) -> None:
        output = self.plan.outputs[task.split, kind]
        if (task.split, kind) not in self.files:
            self.files[task.split, kind] = os.open(output.path, os.O_WRONLY)
        row = np.ascontiguousarray(values, dtype=np.float32)
        position = output.offset + task.row * output.row_bytes
        if os.pwrite(self.files[task.split, kind], row, position) != output.row_bytes:
            raise OSError(f"{output.path}: short write (disk full?)")

    def run(self, chunk: list[_Task]) -> _ChunkResult:
        """Extract one chunk; returns the clips that could not be decoded and the CPU time."""
        started = time.process_time()
        bad = []
        for task in chunk:
            try:
                samples = load_clip(Path(task.path), self.plan.sample_rate)
            except AudioError as exc:
                bad.append((task, exc.reason))
                continue
            if self.plan.logmel is not None:
                self._write(task, "logmel", self.plan.logmel(samples))
            if self.plan.svm is not None:
                self._write(task, "svm", self.plan.svm(samples))
        return bad, time.process_time() - started

    def close(self) -> None:
        for descriptor in self.files.values():
            os.close(descriptor)
        self.files.clear()


_worker: _Writer | None = None


def _init_worker(plan: _Plan) -> None:
    global _worker
    _worker = _Writer(plan)


def _run_chunk(chunk: list[_Task]) -> _ChunkResult:
    assert _worker is not None, "worker not initialised"
    return _worker.run(chunk)


def _save(
    svm: HandcraftedExtractor | None,
    outputs: dict[tuple[str, str], _Output],
    split: dict[str, list[str]],
    row_shapes: dict[str, tuple[int, ...]],
    bad: list[BadClip],
    out: Path,
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Stream every output file into its ``.npz``, leaving bad clips' rows out."""
    left_out = {(clip.split, clip.filename) for clip in bad}
    files: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for name, stems in split.items():
        keep = [row for row, stem in enumerate(stems) if (name, stem) not in left_out]
        counts[name] = len(keep)
        filenames = np.array([stems[row] for row in keep], dtype=np.str_)
        for kind, row_shape in row_shapes.items():
            shape = (len(keep), *row_shape)
            with npz_writer(out / store_file(name, kind)) as npz:
                npz.add_rows("X", shape, _read_rows(outputs[name, kind], keep))
                npz.add("filenames", filenames)
                if svm is not None and kind == "svm":
                    npz.add("columns", np.array(svm.columns, dtype=np.str_))
            files[store_file(name, kind)] = {
                "split": name,
                "kind": kind,
                "shape": list(shape),
                "dtype": "float32",
            }
    return files, counts


def _read_rows(output: _Output, keep: list[int], block: int = 1 << 20) -> Iterator[bytes]:
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


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    from serbias import __version__

    return {"serbias": __version__, **{name: version(name) for name in LIBRARIES}}
