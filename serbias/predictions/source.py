"""What a pretrained-model source (``onnx:``, ``hf:``) hands the runner: a scorer and facts.

Also the pieces both sources share: the model's fingerprint (file or directory SHA-256),
label lists in their usual spellings, the CREMA-D contamination check, library versions.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np

from serbias.corpus.reader import file_sha256
from serbias.errors import SerbiasError

__all__ = [
    "LoadedSource",
    "ModelFacts",
    "WaveformScorer",
    "directory_sha256",
    "label_list",
    "library_versions",
    "mentions_crema",
    "read_texts",
]

#: Mentions of the audited corpus in a model's card or config (CREMA-D, crema_d, CremaD).
CREMA_MENTION = re.compile(r"crema", re.IGNORECASE)
#: Directory entries a model directory's fingerprint leaves out (VCS and download caches).
UNHASHED = frozenset({".git", ".cache", ".DS_Store", "__pycache__"})


class WaveformScorer(ABC):
    """A loaded model as the window runner sees it: waveforms at ``sample_rate`` in, raw
    scores (one row per window, one column per model label) out."""

    #: Name used in error messages, e.g. ``onnx:/models/ser.onnx``.
    source: str
    sample_rate: int
    labels: tuple[str, ...]
    #: Most windows one forward call accepts (1 for a model without a batch dimension).
    max_batch: int | None = None
    #: The model's fixed input length in samples, or None when any length goes.
    window_samples: int | None = None
    #: Shorter windows are zero-padded to this (a model's receptive field).
    min_samples: int = 1

    def prepare(self, samples: np.ndarray) -> np.ndarray:
        """Per-clip preprocessing before windowing (the default: none)."""
        return samples

    @abstractmethod
    def forward(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Raw scores (len(windows) x len(labels)); the scorer pads the windows itself."""


#: How a model's raw outputs become probabilities.
ScoreKind = Literal["logits", "probabilities", "sigmoid"]


@dataclass(frozen=True)
class ModelFacts:
    """What the sidecar records about a loaded model and how its input and output are read."""

    kind: str
    path: Path
    sha256: str
    labels: tuple[str, ...]
    label_source: str
    sample_rate: int
    sample_rate_source: str
    scores: ScoreKind
    scores_source: str
    normalisation: str
    libraries: dict[str, str]
    #: Hash of everything the scores depend on in the model's files (the cache key's part).
    fingerprint: str
    #: Scores are independent per label (sigmoid), so labels mapped together cannot be summed.
    multi_label: bool = False
    #: Files or fields of the model that mention CREMA-D (it may have been trained on it).
    mentions_crema: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class LoadedSource:
    """A model ready to score waveforms, and its facts."""

    scorer: WaveformScorer
    facts: ModelFacts


def directory_sha256(root: Path) -> str:
    """SHA-256 over every file's relative path and SHA-256 under ``root`` (sorted; symlinks,
    as in a hub snapshot, are followed; VCS and cache entries are left out)."""
    root = Path(root)
    digest = hashlib.sha256()
    files = sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and not UNHASHED.intersection(path.relative_to(root).parts)
    )
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def label_list(value: Any, where: str) -> tuple[str, ...]:
    """Label names in output order from a list, an ``{index: name}`` mapping, their JSON text,
    or a comma-separated string; ``where`` names the origin in errors."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SerbiasError(f"{where}: labels are not valid JSON ({exc.msg})") from None
        else:
            value = [part.strip() for part in text.split(",")]
    if isinstance(value, Mapping):
        try:
            indexed = {int(key): str(name) for key, name in value.items()}
        except (TypeError, ValueError):
            raise SerbiasError(
                f"{where}: label mapping keys must be output indices 0, 1, ..."
            ) from None
        if sorted(indexed) != list(range(len(indexed))):
            raise SerbiasError(
                f"{where}: label indices {sorted(indexed)} are not 0..{len(indexed) - 1}"
            )
        value = [indexed[k] for k in range(len(indexed))]
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise SerbiasError(f"{where}: labels must be a list of names, got {type(value).__name__}")
    labels = tuple(str(name).strip() for name in value)
    if not labels or any(not name for name in labels):
        raise SerbiasError(f"{where}: label names must be non-empty")
    return labels


def mentions_crema(texts: Mapping[str, str]) -> tuple[str, ...]:
    """Names of the texts (file names, metadata fields) that mention CREMA-D."""
    return tuple(name for name, text in texts.items() if CREMA_MENTION.search(text))


def read_texts(paths: Iterable[Path], limit: int = 1 << 20) -> dict[str, str]:
    """The first ``limit`` bytes of each existing file, by file name, decoded leniently."""
    texts = {}
    for path in paths:
        if path.is_file():
            with open(path, "rb") as handle:
                texts[path.name] = handle.read(limit).decode("utf-8", errors="replace")
    return texts


def library_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed versions of the libraries whose numbers end up in the scores."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
