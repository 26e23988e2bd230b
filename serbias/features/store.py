"""The feature store: one ``{split}_{kind}.npz`` per split and kind, plus ``manifest.json``.

Each ``.npz`` holds ``X`` (float32; logmel ``(n, n_mels, frames)``, svm ``(n, 200)``),
``filenames`` (unicode clip stems, in split-file order) and, for svm, ``columns``
(unicode feature names). No object arrays, so everything loads with
``allow_pickle=False``. The manifest records the parameters, kinds, corpus and split
fingerprints, library versions, skipped bad clips and every file's shape.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from serbias.errors import SerbiasError

MANIFEST = "manifest.json"
KINDS = ("logmel", "svm")
FORMAT = "serbias-features"
FORMAT_VERSION = 1
#: Fixed member timestamp (the zip epoch), so equal arrays give byte-identical files.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
RERUN = "rerun `serbias extract`"


@dataclass(frozen=True, eq=False)
class FeatureSet:
    """Features of one split and kind, rows in the order of the split file."""

    X: np.ndarray
    filenames: np.ndarray
    columns: np.ndarray | None
    kind: str
    split: str

    def __len__(self) -> int:
        return len(self.filenames)


def store_file(split: str, kind: str) -> str:
    """File name of one split and kind inside the store."""
    return f"{split}_{kind}.npz"


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
    return manifest


def load_features(features_dir: Path, split: str, kind: str) -> FeatureSet:
    """Load one split and kind; SerbiasError (saying to run ``serbias extract``) when missing."""
    features_dir = Path(features_dir)
    if kind not in KINDS:
        raise SerbiasError(f"feature kind {kind!r} is not one of {', '.join(KINDS)}")
    manifest = read_manifest(features_dir)
    if kind not in manifest.get("kinds", []):
        raise SerbiasError(
            f"{features_dir}: has no {kind} features (run `serbias extract --kind {kind}`)"
        )
    name = store_file(split, kind)
    if name not in manifest.get("files", {}):
        known = ", ".join(manifest.get("splits", {})) or "none"
        raise SerbiasError(f"{features_dir}: no split {split!r} (splits: {known})")
    path = features_dir / name
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SerbiasError(f"{path}: unreadable feature file ({exc}); {RERUN}") from None
    for key in ("X", "filenames", *(("columns",) if kind == "svm" else ())):
        if key not in arrays:
            raise SerbiasError(f"{path}: missing array {key!r}; {RERUN}")
    X, filenames = arrays["X"], arrays["filenames"]
    if len(X) != len(filenames) or list(X.shape) != manifest["files"][name]["shape"]:
        raise SerbiasError(f"{path}: shape {X.shape} disagrees with the manifest; {RERUN}")
    columns = arrays.get("columns")
    return FeatureSet(X=X, filenames=filenames, columns=columns, kind=kind, split=split)


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
