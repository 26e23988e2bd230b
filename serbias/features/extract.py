"""Extract every feature kind asked for from every clip of the corpus, in parallel.

Each clip is decoded and resampled once and feeds every kind. Worker processes (each
handed a precomputed plan of the kinds' extractors, so none imports librosa) write each
clip's rows straight into a preallocated float32 ``.npy`` file per kind, at the clip's
position in the corpus. Nobody holds raw audio beyond the clip at hand or maps the big
arrays: peak memory stays at a few clips per worker whatever the corpus size. The files
are then streamed into ``<kind>.npz`` and the manifest is written last, all inside a
temporary directory that replaces ``out_dir`` only on success. Splits play no part: the
store is current as long as the corpus and the feature parameters are.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from serbias.atomic import atomic_dir, write_json
from serbias.cpu import available_cpus
from serbias.errors import SerbiasError
from serbias.features.base import KINDS, feature_kind
from serbias.features.params import ExtractParams
from serbias.features.store import (
    CORPUS_DIR,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    kind_params,
    npz_writer,
    read_manifest,
    relative_corpus_dir,
    store_file,
)
from serbias.features.workers import Failure, Output, Plan, Task, allocate, read_rows, run_tasks

if TYPE_CHECKING:
    import pandas as pd

#: Versions recorded in the manifest (the libraries whose numbers end up in the features).
LIBRARIES = ("numpy", "scipy", "librosa", "soundfile", "soxr")


@dataclass(frozen=True)
class BadClip:
    """A clip left out of the store (``--skip-bad``) and why."""

    filename: str
    reason: str


@dataclass(frozen=True)
class ExtractSummary:
    """What :func:`extract_features` did (or found already done)."""

    out_dir: Path
    up_to_date: bool
    kinds: tuple[str, ...]
    clips: int  # rows stored per kind (bad clips left out)
    shapes: dict[str, tuple[int, ...]]  # file name -> array shape
    bad: tuple[BadClip, ...] = ()
    clips_extracted: int = 0
    jobs: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # summed over worker processes: the cost on an idle machine


def extract_features(
    clips: pd.DataFrame,
    out_dir: Path,
    *,
    params: ExtractParams,
    kinds: Sequence[str] | None = None,
    jobs: int | None = None,
    skip_bad: bool = False,
    corpus_fingerprint: str,
    corpus_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
) -> ExtractSummary:
    """Write the feature store of every clip in ``clips`` into ``out_dir``.

    ``clips`` is the clip table (``filename`` and ``path`` columns); rows are stored in
    its order. Nothing is computed when ``out_dir`` already holds these kinds for the same
    corpus and feature parameters (unless ``force``). An unreadable or missing clip raises
    a SerbiasError naming it, or with ``skip_bad`` is left out of every kind and listed in
    the manifest. ``progress`` is called with the number of clips finished after each chunk.
    ``corpus_dir``, when given, is recorded (relative to ``out_dir``) so that training can
    find the corpus from the store alone (:func:`serbias.features.store.recorded_corpus`).
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    kinds = _check_kinds(params.kinds if kinds is None else kinds)
    if not force:
        manifest = _current_manifest(
            out_dir, params, kinds, corpus_fingerprint=corpus_fingerprint, skip_bad=skip_bad
        )
        if manifest is not None:
            return _summary_from_manifest(out_dir, manifest, kinds)
    _check_out_dir(out_dir, force=force)

    tasks, missing = _resolve(clips, skip_bad=skip_bad)
    jobs = max(1, min(jobs or available_cpus(), len(tasks) or 1))
    with atomic_dir(out_dir, force=True) as tmp:
        work = tmp / ".work"
        work.mkdir()
        extractors = {kind: KINDS[kind].extractor(params.of(kind), params) for kind in kinds}
        row_shapes = {kind: KINDS[kind].row_shape(params.of(kind), params) for kind in kinds}
        outputs = allocate(len(tasks), row_shapes, work)
        plan = Plan(params.sample_rate, extractors, outputs)
        decoded, cpu_seconds = run_tasks(
            plan, tasks, jobs=jobs, skip_bad=skip_bad, progress=progress
        )
        order = {str(stem): i for i, stem in enumerate(clips["filename"])}
        failures = sorted(missing + decoded, key=lambda failure: order[failure[0].filename])
        bad = [BadClip(task.filename, reason) for task, reason in failures]
        left_out = {task.row for task, _ in decoded}
        kept = [task for task in tasks if task.row not in left_out]
        files = _save(params, outputs, kept, tmp)
        shutil.rmtree(work)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "corpus_fingerprint": corpus_fingerprint,
            **(
                {} if corpus_dir is None else {CORPUS_DIR: relative_corpus_dir(corpus_dir, out_dir)}
            ),
            "params": params.feature_params(kinds),
            "kinds": list(kinds),
            "skip_bad": skip_bad,
            "skipped": [asdict(clip) for clip in bad],
            "clips": len(kept),
            "files": files,
            "versions": _versions(),
        }
        write_json(tmp / MANIFEST, manifest)
    return ExtractSummary(
        out_dir=out_dir,
        up_to_date=False,
        kinds=kinds,
        clips=len(kept),
        shapes={name: tuple(entry["shape"]) for name, entry in files.items()},
        bad=tuple(bad),
        clips_extracted=len(kept),
        jobs=jobs,
        seconds=time.perf_counter() - started,
        cpu_seconds=cpu_seconds,
    )


def _check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """``kinds`` in registry order; a SerbiasError for an unknown or empty list."""
    for kind in kinds:
        feature_kind(kind)
    if not kinds:
        raise SerbiasError(f"no feature kind given (expected {' and/or '.join(KINDS)})")
    return tuple(kind for kind in KINDS if kind in kinds)


def _current_manifest(
    out_dir: Path,
    params: ExtractParams,
    kinds: tuple[str, ...],
    *,
    corpus_fingerprint: str,
    skip_bad: bool,
) -> dict[str, Any] | None:
    """The existing manifest when it already covers this request, else None.

    Current means: same corpus, and every kind asked for is stored with the same
    parameters (other kinds in the store do not matter).
    """
    if not (out_dir / MANIFEST).is_file():
        return None
    try:
        manifest = read_manifest(out_dir)
    except SerbiasError:
        return None
    if manifest.get("corpus_fingerprint") != corpus_fingerprint:
        return None
    if not set(kinds) <= set(manifest.get("kinds", [])):
        return None
    if any(kind_params(manifest, kind) != params.feature_params([kind]) for kind in kinds):
        return None
    if manifest.get("skipped") and not skip_bad:
        return None  # the store left clips out; without --skip-bad they must be retried
    files = manifest.get("files", {})
    if not all(store_file(kind) in files and (out_dir / store_file(kind)).is_file()
               for kind in kinds):  # fmt: skip
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
        clips=int(manifest["clips"]),
        shapes={store_file(kind): tuple(files[store_file(kind)]["shape"]) for kind in kinds},
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


def _resolve(clips: pd.DataFrame, *, skip_bad: bool) -> tuple[list[Task], list[Failure]]:
    """One task per clip with audio on disk; missing audio is an error unless ``skip_bad``.

    The corpus reader lists the WAVs present, so audio goes missing only when a file is
    deleted between reading the corpus and extracting (or a table without audio is given).
    """
    if len(clips) == 0:
        raise SerbiasError("the corpus has no clips to extract")
    tasks, missing = [], []
    for stem, path in zip(clips["filename"], clips["path"], strict=True):
        task = Task(len(tasks), str(stem), str(path))
        has_path = isinstance(path, str | os.PathLike)
        if not has_path or not Path(path).is_file():
            where = f"{path} not found" if has_path else "the corpus table has no path for it"
            if not skip_bad:
                raise SerbiasError(f"clip {stem}: audio missing, {where}")
            missing.append((task, "audio file not found"))
            continue
        tasks.append(task)
    if not tasks:
        raise SerbiasError(
            f"none of the {len(missing)} clips of the corpus has audio on disk "
            f"(e.g. {missing[0][0].filename})"
        )
    return tasks, missing


def _save(
    params: ExtractParams, outputs: dict[str, Output], kept: list[Task], out: Path
) -> dict[str, dict[str, Any]]:
    """Stream every output file into its ``<kind>.npz``, keeping the rows of ``kept`` only."""
    filenames = np.array([task.filename for task in kept], dtype=np.str_)
    rows = [task.row for task in kept]
    files: dict[str, dict[str, Any]] = {}
    for kind, output in outputs.items():
        shape = (len(kept), *output.row_shape)
        columns = KINDS[kind].columns(params.of(kind), params)
        with npz_writer(out / store_file(kind)) as npz:
            npz.add_rows("X", shape, read_rows(output, rows))
            npz.add("filenames", filenames)
            if columns is not None:
                npz.add("columns", np.array(columns, dtype=np.str_))
        files[store_file(kind)] = {"kind": kind, "shape": list(shape), "dtype": "float32"}
    return files


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    from serbias import __version__

    return {"serbias": __version__, **{name: version(name) for name in LIBRARIES}}
