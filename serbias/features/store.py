"""The feature store: one ``<kind>.npz`` per kind holding every clip of the corpus once.

Each ``.npz`` holds ``X`` (float32, ``(n_clips, *row_shape)``, rows in corpus order),
``filenames`` (unicode clip stems, one per row) and, for kinds with named columns,
``columns``. No object arrays, so everything loads with ``allow_pickle=False``.
``manifest.json`` records the corpus (directory and fingerprint), the feature parameters,
every file's shape, library versions and the bad clips left out. Splits and folds are not part of
the store: :func:`load_features` selects the rows of the clips they list.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from serbias.errors import SerbiasError
from serbias.features.base import feature_kind

MANIFEST = "manifest.json"
#: Manifest key of the corpus directory the store was extracted from (relative to the store).
CORPUS_DIR = "corpus_dir"
FORMAT = "serbias-features"
FORMAT_VERSION = 2
#: Fixed member timestamp (the zip epoch), so equal arrays give byte-identical files.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
#: A zip local file header up to the name: its last two fields are the name and extra lengths.
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
RERUN = "rerun `serbias extract`"


@dataclass(frozen=True, eq=False)
class FeatureSet:
    """Features of one kind for the clips asked for, rows in the order asked for.

    ``params`` are the parameters these features were computed with
    (``{"sample_rate", "duration", "<kind>": {...}}``, as a model records them).
    """

    X: np.ndarray
    filenames: np.ndarray
    columns: np.ndarray | None
    kind: str
    params: dict[str, Any]

    def __len__(self) -> int:
        return len(self.filenames)


def store_file(kind: str) -> str:
    """File name of one kind inside the store."""
    return f"{kind}.npz"


def read_manifest(features_dir: Path) -> dict[str, Any]:
    """The store's manifest; a SerbiasError says to run ``serbias extract`` when absent."""
    path = Path(features_dir) / MANIFEST
    if not path.is_file():
        raise SerbiasError(f"{features_dir}: no feature store found (run `serbias extract` first)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SerbiasError(f"{path}: unreadable manifest ({exc}); {RERUN}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SerbiasError(f"{path}: not a serbias feature manifest; {RERUN}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise SerbiasError(
            f"{path}: feature store format {manifest.get('format_version')!r}, this serbias "
            f"reads format {FORMAT_VERSION} (one file per kind for the whole corpus); {RERUN}"
        )
    return manifest


def relative_corpus_dir(corpus_dir: Path, features_dir: Path) -> str:
    """How a manifest records the corpus: its path relative to the store (POSIX), so a
    project checked out elsewhere, with the same layout, still finds it."""
    return Path(
        os.path.relpath(Path(corpus_dir).resolve(), Path(features_dir).resolve())
    ).as_posix()


def recorded_corpus(features_dir: Path) -> Path | None:
    """The corpus directory the store's manifest records (``serbias extract`` writes it),
    resolved against the store; None for stores written before it was recorded."""
    recorded = read_manifest(features_dir).get(CORPUS_DIR)
    return None if not recorded else Path(os.path.normpath(Path(features_dir) / recorded))


def kind_params(manifest: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The parameters ``kind``'s features were computed with: the shared decoding settings
    plus the kind's own section (other kinds' sections left out)."""
    stored = set(manifest.get("kinds", []))
    params = manifest.get("params", {})
    return {key: value for key, value in params.items() if key not in stored or key == kind}


def load_features(features_dir: Path, kind: str, clips: Sequence[str] | None = None) -> FeatureSet:
    """Rows of ``kind`` for ``clips`` (clip stems, in that order), or for every stored clip.

    Only the selected rows are read (no copy of the whole corpus in memory). A clip the
    store does not hold (left out as bad at extraction, or from another corpus) is a
    SerbiasError naming it; so is a store without ``kind`` (saying to run ``serbias extract``).
    """
    features_dir = Path(features_dir)
    kind = feature_kind(kind).name
    manifest = read_manifest(features_dir)
    if kind not in manifest.get("kinds", []):
        raise SerbiasError(
            f"{features_dir}: has no {kind} features (run `serbias extract --kind {kind}`)"
        )
    name = store_file(kind)
    path = features_dir / name
    expected_shape = manifest.get("files", {}).get(name, {}).get("shape")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {Path(member).stem for member in archive.namelist()}
            for key in ("X", "filenames"):
                if key not in members:
                    raise SerbiasError(f"{path}: missing array {key!r}; {RERUN}")
            filenames = _small_array(archive, "filenames")
            columns = _small_array(archive, "columns") if "columns" in members else None
            rows = _rows_of(filenames, clips, features_dir, kind, manifest)
            X, stored_shape = _read_rows(path, archive, "X", rows)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SerbiasError(f"{path}: unreadable feature file ({exc}); {RERUN}") from None
    if expected_shape != list(stored_shape) or stored_shape[0] != len(filenames):
        raise SerbiasError(
            f"{path}: shape {tuple(stored_shape)} disagrees with the manifest; {RERUN}"
        )
    return FeatureSet(
        X=X,
        filenames=filenames[rows],
        columns=columns,
        kind=kind,
        params=kind_params(manifest, kind),
    )


def _small_array(archive: zipfile.ZipFile, key: str) -> np.ndarray:
    with archive.open(f"{key}.npy") as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _rows_of(
    filenames: np.ndarray,
    clips: Sequence[str] | None,
    features_dir: Path,
    kind: str,
    manifest: Mapping[str, Any],
) -> np.ndarray:
    """Row of each clip asked for; a SerbiasError names the clips the store lacks."""
    if clips is None:
        return np.arange(len(filenames), dtype=np.int64)
    position = {str(stem): row for row, stem in enumerate(filenames)}
    missing = [str(clip) for clip in clips if str(clip) not in position]
    if missing:
        raise SerbiasError(_missing_message(features_dir, kind, missing, len(clips), manifest))
    return np.fromiter((position[str(clip)] for clip in clips), dtype=np.int64, count=len(clips))


def _missing_message(
    features_dir: Path, kind: str, missing: list[str], asked: int, manifest: Mapping[str, Any]
) -> str:
    bad = {clip["filename"]: clip["reason"] for clip in manifest.get("skipped", [])}
    left_out = [clip for clip in missing if clip in bad]
    unknown = [clip for clip in missing if clip not in bad]
    reasons = []
    if left_out:
        first = left_out[0]
        reasons.append(
            f"{len(left_out)} left out as bad at extraction ({_some(left_out)}; "
            f"{first}: {bad[first]})"
        )
    if unknown:
        reasons.append(
            f"{len(unknown)} not in the corpus the store was extracted from ({_some(unknown)})"
        )
    return (
        f"{features_dir}: no {kind} features for {len(missing)} of the {asked} clips asked for: "
        + "; ".join(reasons)
    )


def _some(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _read_rows(
    path: Path, archive: zipfile.ZipFile, key: str, rows: np.ndarray
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Rows ``rows`` of array ``key`` read straight from the file into one new array, and
    the stored array's shape.

    The store writes members uncompressed, so a member's ``.npy`` data sits at a fixed
    offset of the archive; runs of consecutive rows are read with one call each. Any other
    member (compressed, Fortran order) is loaded whole and indexed.
    """
    info = archive.getinfo(f"{key}.npy")
    layout = _stored_layout(path, info) if info.compress_type == zipfile.ZIP_STORED else None
    if layout is None:
        with archive.open(info) as member:
            whole = np.lib.format.read_array(member, allow_pickle=False)
        return whole[rows], whole.shape
    offset, shape, dtype = layout
    if not shape:
        raise ValueError(f"{key}: a scalar, expected one row per clip")
    out = np.empty((len(rows), *shape[1:]), dtype=dtype)
    if len(rows) and rows.max() >= shape[0]:
        raise ValueError(f"{key}: row {rows.max()} beyond its {shape[0]} rows")
    row_bytes = dtype.itemsize * math.prod(shape[1:])
    if not len(rows) or not row_bytes:
        return out, shape
    target = memoryview(out.reshape(-1).view(np.uint8))
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts, ends = np.r_[0, breaks], np.r_[breaks, len(rows)]
    with open(path, "rb", buffering=0) as source:
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            source.seek(offset + int(rows[start]) * row_bytes)
            _read_exactly(source, target[start * row_bytes : end * row_bytes])
    return out, shape


def _stored_layout(
    path: Path, info: zipfile.ZipInfo
) -> tuple[int, tuple[int, ...], np.dtype] | None:
    """(data offset in the file, shape, dtype) of an uncompressed C-order ``.npy`` member."""
    with open(path, "rb") as source:
        source.seek(info.header_offset)
        header = source.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise ValueError(f"{info.filename}: bad zip member header")
        *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        source.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        version = np.lib.format.read_magic(source)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(source)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(source)
        else:
            return None
        if fortran_order or dtype.hasobject:
            return None
        return source.tell(), tuple(shape), dtype


def _read_exactly(source: Any, target: memoryview) -> None:
    done = 0
    while done < len(target):
        count = source.readinto(target[done:])
        if not count:
            raise ValueError("feature file ends before its last row")
        done += count


class NpzWriter:
    """Writes an uncompressed ``.npz`` (``np.savez``'s layout) member by member.

    Unlike ``np.savez`` the member timestamps are fixed, so equal features give
    byte-identical files, and an array can be streamed in as raw rows, so the largest
    array never has to be in memory.
    """

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def _member(self, key: str) -> Any:
        info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
        info.external_attr = 0o644 << 16
        return self.archive.open(info, "w", force_zip64=True)

    def add(self, key: str, array: np.ndarray) -> None:
        """Store an in-memory array (no object dtypes: it must load without pickle)."""
        with self._member(key) as member:
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)

    def add_rows(self, key: str, shape: tuple[int, ...], rows: Iterable[bytes]) -> None:
        """Store a float32 C-order array of ``shape`` given as the raw bytes of its rows."""
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                  "fortran_order": False, "shape": tuple(shape)}  # fmt: skip
        expected = int(np.prod(shape, dtype=np.int64)) * 4
        written = 0
        with self._member(key) as member:
            np.lib.format.write_array_header_1_0(member, header)
            for row in rows:
                member.write(row)
                written += len(row)
        if written != expected:
            raise ValueError(f"{key}: got {written} bytes of rows, expected {expected}")


@contextmanager
def npz_writer(path: Path) -> Iterator[NpzWriter]:
    """Open ``path`` as a new ``.npz``; see :class:`NpzWriter`."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        yield NpzWriter(archive)
