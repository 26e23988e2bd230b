"""Run a pretrained speech-emotion model (``onnx:FILE``, ``hf:DIR``) over corpus clips.

:func:`run_pretrained` gives the predictions table (``Filename`` + the CREMA-D emotions the
model covers, in vocabulary order), its provenance for the sidecar, and a :func:`cache_key`
that is equal exactly when the model files, the clip list and the settings are: a caller
that stored the key with the CSV can skip a re-run. :func:`load_pretrained` loads a model
once for repeated use (:meth:`PretrainedModel.classify` serves the demo).

Scores are the model's, mapped to CREMA-D's emotions (:mod:`serbias.predictions.labels`) and
**not renormalised** over the kept labels.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.errors import SerbiasError
from serbias.predictions.labels import LabelMapping, map_labels
from serbias.predictions.pretrained_settings import PretrainedSettings
from serbias.predictions.source import LoadedSource
from serbias.predictions.table import FILENAME
from serbias.predictions.waveforms import (
    WindowPlan,
    score_clips,
    score_waveform,
)

__all__ = [
    "PretrainedModel",
    "PretrainedResult",
    "PretrainedSettings",
    "cache_key",
    "is_pretrained",
    "load_pretrained",
    "parse_source",
    "run_pretrained",
]

#: Model-source URI prefixes this module runs.
PREFIXES = ("onnx:", "hf:")
#: Bumped when a change to this package changes the scores, so stored keys stop matching.
CACHE_FORMAT = 1
CONTAMINATION = (
    "{source}: {where} mention(s) CREMA-D: the model may have been trained on the audited "
    "corpus, which would inflate its accuracy there and can hide or distort its biases"
)
_CHUNKING = (
    "clips longer than chunk_seconds are split into ceil(length / chunk_seconds) equal "
    "windows, each scored on its own; a clip's probabilities are the mean of its windows'"
)
_FIXED_INPUT = (
    "the model takes exactly {n} samples: clips are cut into windows of that length, the last "
    "zero-padded; a clip's probabilities are the mean of its windows'"
)


@dataclass(frozen=True, eq=False)
class PretrainedResult:
    """One run's predictions table, sidecar provenance, dropped labels, warnings, cache key."""

    table: pd.DataFrame
    provenance: dict[str, Any]
    dropped: tuple[str, ...]
    warnings: tuple[str, ...]
    cache_key: str


@dataclass(frozen=True, eq=False)
class PretrainedModel:
    """A loaded pretrained model, its label mapping, and the settings it runs with."""

    source: str
    loaded: LoadedSource
    mapping: LabelMapping
    settings: PretrainedSettings
    warnings: tuple[str, ...]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def sample_rate(self) -> int:
        return self.loaded.facts.sample_rate

    @property
    def emotions(self) -> tuple[str, ...]:
        """Predictions-table columns this model fills, in vocabulary order."""
        return self.mapping.covered_names

    def chunk_samples(self) -> int | None:
        seconds = self.settings.chunk_seconds
        return None if seconds is None else max(1, round(seconds * self.sample_rate))

    def emotion_scores(self, probabilities: np.ndarray) -> np.ndarray:
        """Model-label probabilities (rows x labels) -> covered-emotion scores (summed when
        several labels map to one emotion, never renormalised)."""
        projection = np.zeros((len(self.mapping.labels), len(self.mapping.covered)))
        for row, code in enumerate(self.mapping.emotions):
            if code is not None:
                projection[row, self.mapping.covered.index(code)] = 1.0
        return np.asarray(probabilities, dtype=np.float64) @ projection

    def classify(
        self, samples: np.ndarray, rate: int, *, name: str = "recording"
    ) -> dict[str, float]:
        """One mono recording at ``rate`` Hz -> ``{emotion column: probability}``."""
        from serbias.features.audio import resample

        samples = resample(np.asarray(samples, dtype=np.float32), rate, self.sample_rate)
        with self._lock:  # one forward pass at a time (the demo serves requests on threads)
            probabilities = score_waveform(
                self.loaded.scorer,
                samples,
                name=name,
                kind=self.loaded.facts.scores,
                batch_size=self.settings.batch_size,
                chunk_samples=self.chunk_samples(),
            )
        scores = self.emotion_scores(probabilities[np.newaxis])[0]
        return {column: float(score) for column, score in zip(self.emotions, scores, strict=True)}


def is_pretrained(uri: str) -> bool:
    """Whether a ``--model`` value names a pretrained model (``onnx:`` or ``hf:``)."""
    return str(uri).startswith(PREFIXES)


def parse_source(uri: str) -> tuple[str, Path]:
    """``onnx:FILE`` / ``hf:DIR`` -> (``"onnx"`` or ``"hf"``, path)."""
    kind, sep, rest = str(uri).partition(":")
    if not sep or f"{kind}:" not in PREFIXES or not rest.strip():
        raise SerbiasError(f"model source {uri!r}: expected onnx:FILE or hf:DIR")
    return kind, Path(rest.strip()).expanduser()


def load_pretrained(source: str, settings: PretrainedSettings | None = None) -> PretrainedModel:
    """Load ``onnx:FILE`` or ``hf:DIR`` and map its labels; every problem is one line."""
    settings = settings or PretrainedSettings()
    kind, path = parse_source(source)
    if kind == "onnx":
        from serbias.predictions.onnx_source import load_onnx

        loaded = load_onnx(path, settings)
    else:
        from serbias.predictions.hf_source import load_hf

        loaded = load_hf(path, settings)
    facts = loaded.facts
    mapping = map_labels(facts.labels, settings.label_overrides, source=str(path))
    merged = mapping.merged()
    if merged and facts.multi_label:
        pairs = zip(mapping.labels, mapping.emotions, strict=True)
        labels = [label for label, code in pairs if code == merged[0]]
        raise SerbiasError(
            f"{path}: labels {', '.join(labels)} all map to {vocab.NAME_BY_EMOTION[merged[0]]}, "
            "but the model's scores are multi-label, so they cannot be summed; drop all but one "
            f"with --label-map {labels[-1]}=-"
        )
    return PretrainedModel(source, loaded, mapping, settings, _warnings(source, facts, mapping))


def run_pretrained(
    source: str | PretrainedModel,
    clips: pd.DataFrame,
    settings: PretrainedSettings | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    corpus_fingerprint: str | None = None,
) -> PretrainedResult:
    """Score every clip of ``clips`` (``filename``, ``path``) with the model at ``source``
    (``onnx:FILE``, ``hf:DIR``, or a model :func:`load_pretrained` gave, with its settings).

    ``progress`` is called with the number of clips finished after each batch;
    ``corpus_fingerprint`` (optional) enters the cache key, so changed audio under unchanged
    names is seen as new work. Nothing is written: the caller saves the table.
    """
    filenames, paths = _clip_files(clips)
    if isinstance(source, PretrainedModel):
        if settings is not None and settings != source.settings:
            raise SerbiasError(f"{source.source}: the model was loaded with other settings")
        model = source
    else:
        model = load_pretrained(source, settings)
    facts = model.loaded.facts
    probabilities, plan = score_clips(
        model.loaded.scorer,
        filenames,
        paths,
        kind=facts.scores,
        batch_size=model.settings.batch_size,
        chunk_samples=model.chunk_samples(),
        progress=progress,
    )
    table = pd.DataFrame({FILENAME: filenames})
    for column, scores in zip(model.emotions, model.emotion_scores(probabilities).T, strict=True):
        table[column] = scores
    key = _key(facts.kind, facts.fingerprint, filenames, model.settings, corpus_fingerprint)
    provenance = _provenance(model, plan, probabilities, key)
    return PretrainedResult(table, provenance, model.mapping.dropped, model.warnings, key)


def cache_key(
    source: str,
    clips: pd.DataFrame | Sequence[str],
    settings: PretrainedSettings | None = None,
    *,
    corpus_fingerprint: str | None = None,
) -> str:
    """The key :func:`run_pretrained` would give, computed from the files alone (the model is
    hashed, not loaded): compare it with the stored one to know a run is up to date."""
    settings = settings or PretrainedSettings()
    kind, path = parse_source(source)
    if isinstance(clips, pd.DataFrame):
        filenames = [str(name) for name in clips["filename"]]
    else:
        filenames = [str(name) for name in clips]
    if kind == "onnx":
        from serbias.predictions import onnx_source as module
    else:
        from serbias.predictions import hf_source as module  # type: ignore[no-redef]
    return _key(kind, module.fingerprint(path), filenames, settings, corpus_fingerprint)


def _clip_files(clips: pd.DataFrame) -> tuple[list[str], list[str]]:
    missing = [column for column in ("filename", "path") if column not in clips.columns]
    if missing:
        raise SerbiasError(f"clip table has no {' or '.join(missing)} column")
    if clips.empty:
        raise SerbiasError("no clips to predict")
    filenames = [str(name) for name in clips["filename"]]
    duplicated = pd.Index(filenames)[pd.Index(filenames).duplicated()]
    if len(duplicated):
        raise SerbiasError(f"clip {duplicated[0]} is listed twice")
    no_audio = clips["path"].isna().to_numpy()
    if no_audio.any():
        first = filenames[int(np.flatnonzero(no_audio)[0])]
        raise SerbiasError(
            f"clip {first} has no audio file (is the corpus a metadata-only copy without "
            "AudioWAV/?)"
        )
    return filenames, [str(path) for path in clips["path"]]


def _key(
    kind: str,
    fingerprint: str,
    filenames: Sequence[str],
    settings: PretrainedSettings,
    corpus_fingerprint: str | None,
) -> str:
    from serbias.predictions.hf_source import LIBRARIES as HF_LIBRARIES
    from serbias.predictions.onnx_source import LIBRARIES as ONNX_LIBRARIES
    from serbias.predictions.source import library_versions

    libraries = ONNX_LIBRARIES if kind == "onnx" else HF_LIBRARIES
    payload = {
        "format": CACHE_FORMAT,
        "kind": kind,
        "model": fingerprint,
        "clips": list(filenames),
        "corpus_fingerprint": corpus_fingerprint,
        "settings": settings.as_dict(),
        "libraries": library_versions(libraries),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _warnings(source: str, facts: Any, mapping: LabelMapping) -> tuple[str, ...]:
    warnings = []
    if mapping.dropped:
        warnings.append(
            f"{source}: dropped label(s) {', '.join(mapping.dropped)} (no CREMA-D emotion; map "
            "one with --label-map SRC=DST); the kept scores are not renormalised"
        )
    if len(mapping.covered) < len(vocab.EMOTIONS):
        warnings.append(
            f"{source}: covers {len(mapping.covered)} of {len(vocab.EMOTIONS)} CREMA-D emotions "
            f"({', '.join(mapping.covered_names)}); the predictions have only these columns"
        )
    contamination = _contamination(source, facts)
    if contamination is not None:
        warnings.append(contamination)
    return tuple(warnings)


def _contamination(source: str, facts: Any) -> str | None:
    """The warning for a model whose card or config mentions CREMA-D, or None."""
    if not facts.mentions_crema:
        return None
    where = "the model's " + ", ".join(facts.mentions_crema)
    return CONTAMINATION.format(source=source, where=where)


def _provenance(
    model: PretrainedModel, plan: WindowPlan, probabilities: np.ndarray, key: str
) -> dict[str, Any]:
    facts = model.loaded.facts
    dropped_rows = [i for i, code in enumerate(model.mapping.emotions) if code is None]
    dropped_mass = (
        float(probabilities[:, dropped_rows].sum(axis=1).mean())
        if dropped_rows and not facts.multi_label
        else None
    )
    scorer = model.loaded.scorer
    if scorer.window_samples is not None:
        chunking = {"chunk_seconds": None, "policy": _FIXED_INPUT.format(n=scorer.window_samples)}
    else:
        chunking = {"chunk_seconds": model.settings.chunk_seconds, "policy": _CHUNKING}
    return {
        "model_source": model.source,
        "model_kind": facts.kind,
        "model_path": str(facts.path),
        "model_sha256": facts.sha256,
        "model_details": facts.details,
        "labels": list(facts.labels),
        "label_source": facts.label_source,
        "label_map": model.mapping.as_dict(),
        "dropped_labels": list(model.mapping.dropped),
        "emotions": list(model.emotions),
        "renormalised": False,
        "dropped_probability_mean": dropped_mass,
        "scores": facts.scores,
        "scores_source": facts.scores_source,
        "sample_rate": facts.sample_rate,
        "sample_rate_source": facts.sample_rate_source,
        "normalisation": facts.normalisation,
        "chunking": {**chunking, "clips_chunked": plan.clips_chunked, "windows": plan.windows},
        "batching": {
            "batch_size": model.settings.batch_size,
            "effective_batch_size": plan.max_batch,
            "order": "clips sorted by length, so each batch holds windows of similar length",
            "batches": plan.batches,
            "padding": "zeros at the end of the shorter windows of a batch",
            "padded_samples": plan.padded_samples,
            "padding_fraction": round(plan.padding_fraction, 6),
        },
        "clips": plan.clips,
        "settings": model.settings.as_dict(),
        "libraries": facts.libraries,
        "contamination_warning": _contamination(model.source, facts),
        "cache_key": key,
    }
