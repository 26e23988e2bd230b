"""Clips -> windows -> batches -> a pretrained model's scores, averaged back per clip.

Each clip is decoded once (:func:`serbias.features.audio.load_clip`: mono, soxr-resampled to
the model's rate), on a background thread a few clips ahead of the model, and released as
soon as its windows are scored, so memory holds a few batches whatever the corpus size.
Clips are visited in order of their length as the WAV header gives it, so a batch holds
windows of similar length and little padding; the padding that remains (zeros at the end
of the shorter windows) is counted and recorded.

Chunking policy: a clip longer than ``chunk_samples`` is split into the fewest equal windows
no longer than that (``ceil(n / chunk)`` windows whose bounds are rounded multiples of
``n / windows``, so no short tail window), each window is scored on its own, turned into
probabilities, and the clip's probabilities are the unweighted mean over its windows. A model
with a fixed input length gets windows of exactly that length instead, the last one padded.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

from serbias.errors import SerbiasError, first_line
from serbias.features.audio import AudioError, load_clip, read_audio
from serbias.predictions.source import ScoreKind, WaveformScorer

__all__ = [
    "NORMALISATIONS",
    "SCORE_KINDS",
    "Normalisation",
    "ScoreKind",
    "WindowPlan",
    "clip_windows",
    "header_samples",
    "normalise",
    "pad_windows",
    "score_clips",
    "score_waveform",
    "to_probabilities",
    "window_bounds",
    "zero_mean_unit_var",
]

#: How raw model outputs become probabilities: softmax, as given, or an element-wise sigmoid.
SCORE_KINDS: tuple[str, ...] = ("logits", "probabilities", "sigmoid")
#: Slack allowed on outputs declared to be probabilities (float32 softmax can give 1.0000001).
PROBABILITY_SLACK = 1e-5
#: Per-clip normalisations the ONNX path offers (``--normalize``).
Normalisation = Literal["none", "zero-mean-unit-var"]
NORMALISATIONS: tuple[str, ...] = ("none", "zero-mean-unit-var")


@dataclass(frozen=True)
class WindowPlan:
    """How clips were windowed and batched, for the sidecar."""

    clips: int
    windows: int
    clips_chunked: int
    samples: int
    padded_samples: int
    batches: int
    max_batch: int

    @property
    def padding_fraction(self) -> float:
        """Padded samples per real sample fed to the model."""
        return self.padded_samples / self.samples if self.samples else 0.0


def to_probabilities(raw: np.ndarray, kind: ScoreKind) -> np.ndarray:
    """Rows of raw scores -> probabilities (float64): softmax, passthrough, or sigmoid."""
    raw = np.asarray(raw, dtype=np.float64)
    if kind == "logits":
        shifted = raw - raw.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)
    if kind == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * raw))  # the stable form of 1 / (1 + e^-x)
    if kind == "probabilities":
        return np.clip(raw, 0.0, 1.0)
    raise SerbiasError(f"scores {kind!r} is not one of {', '.join(SCORE_KINDS)}")


def zero_mean_unit_var(samples: np.ndarray) -> np.ndarray:
    """``(x - mean) / sqrt(var + 1e-7)``: the normalisation of wav2vec2's feature extractor."""
    samples = np.asarray(samples, dtype=np.float32)
    return ((samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)).astype(np.float32)


def normalise(samples: np.ndarray, how: Normalisation) -> np.ndarray:
    """Apply one of :data:`NORMALISATIONS` to one clip."""
    if how == "none":
        return samples
    if how == "zero-mean-unit-var":
        return zero_mean_unit_var(samples)
    raise SerbiasError(f"normalisation {how!r} is not one of {', '.join(NORMALISATIONS)}")


def window_bounds(
    n_samples: int, chunk_samples: int | None, fixed_samples: int | None = None
) -> list[tuple[int, int]]:
    """``(start, stop)`` of each window of a clip of ``n_samples`` (see the module docstring).

    With ``fixed_samples``, windows are that long and ``stop`` may pass the clip's end (the
    rest is padding).
    """
    if fixed_samples is not None:
        count = max(1, math.ceil(n_samples / fixed_samples))
        return [(k * fixed_samples, (k + 1) * fixed_samples) for k in range(count)]
    if chunk_samples is None or n_samples <= chunk_samples:
        return [(0, n_samples)]
    count = math.ceil(n_samples / chunk_samples)
    edges = [round(k * n_samples / count) for k in range(count + 1)]
    return list(itertools.pairwise(edges))


def pad_windows(windows: Sequence[np.ndarray], length: int | None = None) -> np.ndarray:
    """Stack windows into one float32 array, zero-padding each at its end to ``length``
    (default: the longest)."""
    length = max(w.size for w in windows) if length is None else length
    batch = np.zeros((len(windows), length), dtype=np.float32)
    for row, window in enumerate(windows):
        batch[row, : min(window.size, length)] = window[:length]
    return batch


def header_samples(path: Path, sample_rate: int) -> int:
    """A clip's length in samples at ``sample_rate`` from its WAV header (nothing decoded).

    An unreadable clip raises the :class:`~serbias.features.audio.AudioError` that decoding
    it would, so a bad clip fails before any model runs.
    """
    try:
        info = sf.info(str(path))
    except Exception:  # read_audio names the precise reason
        samples, rate = read_audio(path)
        return math.ceil(samples.size * (sample_rate / rate))
    if info.samplerate <= 0:
        raise AudioError(path, f"invalid sample rate {info.samplerate}")
    return math.ceil(info.frames * (sample_rate / info.samplerate))


def score_clips(
    scorer: WaveformScorer,
    filenames: Sequence[str],
    paths: Sequence[str | Path],
    *,
    kind: ScoreKind,
    batch_size: int,
    chunk_samples: int | None,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, WindowPlan]:
    """Probabilities (clips x model labels, in ``filenames`` order) and how they were got.

    ``progress`` is called with the number of clips finished after each batch.
    """
    paths = [Path(p) for p in paths]
    lengths = [header_samples(path, scorer.sample_rate) for path in paths]
    first_windows = [window_bounds(n, chunk_samples, scorer.window_samples)[0] for n in lengths]
    planned = [stop - start for start, stop in first_windows]  # the length each clip batches by
    order = sorted(range(len(paths)), key=lambda i: (planned[i], i))
    batch_size = min(batch_size, scorer.max_batch or batch_size)

    sums = np.zeros((len(paths), len(scorer.labels)), dtype=np.float64)
    n_windows = np.zeros(len(paths), dtype=np.int64)
    left = np.zeros(len(paths), dtype=np.int64)
    totals = {"samples": 0, "padded": 0, "batches": 0}
    pending: list[tuple[int, np.ndarray, int]] = []  # (clip, window, real samples in it)

    def run(batch: list[tuple[int, np.ndarray, int]]) -> None:
        clips = [clip for clip, _, _ in batch]
        windows = [window for _, window, _ in batch]
        longest = scorer.window_samples or max(w.size for w in windows)
        raw = _forward(scorer, windows, [filenames[c] for c in clips], kind)
        np.add.at(sums, clips, to_probabilities(raw, kind))
        np.subtract.at(left, clips, 1)
        real = sum(n for _, _, n in batch)
        totals["samples"] += real
        totals["padded"] += longest * len(batch) - real
        totals["batches"] += 1
        if progress is not None:
            done = sum(1 for c in set(clips) if left[c] == 0)
            if done:
                progress(done)

    decoded = _decoded(paths, order, scorer.sample_rate, lookahead=max(4, 2 * batch_size))
    with closing(decoded):  # a failure stops the decoding thread at once
        for clip, samples in zip(order, decoded, strict=True):
            windows = clip_windows(scorer, samples, chunk_samples)
            n_windows[clip] = left[clip] = len(windows)
            pending.extend((clip, window, real) for window, real in windows)
            while len(pending) >= batch_size:
                run(pending[:batch_size])
                del pending[:batch_size]
    if pending:
        run(pending)
    plan = WindowPlan(
        clips=len(paths),
        windows=int(n_windows.sum()),
        clips_chunked=int((n_windows > 1).sum()),
        samples=totals["samples"],
        padded_samples=totals["padded"],
        batches=totals["batches"],
        max_batch=batch_size,
    )
    return sums / np.maximum(n_windows, 1)[:, None], plan


def clip_windows(
    scorer: WaveformScorer, samples: np.ndarray, chunk_samples: int | None
) -> list[tuple[np.ndarray, int]]:
    """One decoded clip, preprocessed by the scorer, cut into the windows the model sees,
    each with its number of real samples (a window shorter than the model's receptive
    field is zero-padded to it)."""
    samples = scorer.prepare(samples)
    windows = []
    for start, stop in window_bounds(samples.size, chunk_samples, scorer.window_samples):
        window = samples[start:stop]
        real = window.size
        if real < scorer.min_samples:
            window = pad_windows([window], scorer.min_samples)[0]
        windows.append((window, real))
    return windows


def score_waveform(
    scorer: WaveformScorer,
    samples: np.ndarray,
    *,
    name: str,
    kind: ScoreKind,
    batch_size: int,
    chunk_samples: int | None,
) -> np.ndarray:
    """Probabilities (one per model label) of one clip already at the model's rate."""
    if samples.size == 0:
        raise AudioError(Path(name), "holds no audio (0 samples)")
    windows = [window for window, _ in clip_windows(scorer, samples, chunk_samples)]
    step = min(batch_size, scorer.max_batch or batch_size)
    total = np.zeros(len(scorer.labels), dtype=np.float64)
    for first in range(0, len(windows), step):
        batch = windows[first : first + step]
        raw = _forward(scorer, batch, [name] * len(batch), kind)
        total += to_probabilities(raw, kind).sum(axis=0)
    return total / len(windows)


def _decoded(
    paths: Sequence[Path], order: Sequence[int], sample_rate: int, lookahead: int
) -> Iterator[np.ndarray]:
    """Each clip of ``order`` decoded at ``sample_rate``, once, in order.

    One background thread decodes up to ``lookahead`` clips ahead, so reading and
    resampling (libsndfile and soxr release the GIL) overlap the model's forward pass.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="serbias-decode") as pool:
        ahead: deque[Future[np.ndarray]] = deque()
        upcoming = iter(order)
        try:
            for clip in itertools.islice(upcoming, lookahead):
                ahead.append(pool.submit(_decode_one, paths[clip], sample_rate))
            while ahead:
                samples = ahead.popleft().result()
                clip = next(upcoming, None)
                if clip is not None:
                    ahead.append(pool.submit(_decode_one, paths[clip], sample_rate))
                yield samples
        finally:
            for future in ahead:
                future.cancel()


def _decode_one(path: Path, sample_rate: int) -> np.ndarray:
    samples = load_clip(path, sample_rate)
    if samples.size == 0:
        raise AudioError(path, "holds no audio (0 samples)")
    return samples


def _forward(
    scorer: WaveformScorer, windows: Sequence[np.ndarray], filenames: Sequence[str], kind: ScoreKind
) -> np.ndarray:
    """The scorer's raw scores of one batch, checked; a model that fails names the clip."""
    try:
        raw = np.asarray(scorer.forward(windows), dtype=np.float64)
    except Exception as exc:  # the model's own failure (onnxruntime, torch): name the clip
        reason = first_line(exc, 200)
        names = sorted(set(filenames))
        which = f"clip {names[0]}" if len(names) == 1 else f"a batch of {len(names)} clips"
        listed = "" if len(names) == 1 else f" ({', '.join(names[:3])}, ...)"
        raise SerbiasError(
            f"{scorer.source}: the model failed on {which}{listed}: {reason}"
        ) from exc
    _check_scores(raw, filenames, scorer, kind)
    return raw


def _check_scores(
    raw: np.ndarray, filenames: Sequence[str], scorer: WaveformScorer, kind: ScoreKind
) -> None:
    """One row per window and label, finite, and within [0, 1] when declared probabilities."""
    expected = (len(filenames), len(scorer.labels))
    if raw.shape != expected:
        size = raw.shape[-1] if raw.ndim else 1
        raise SerbiasError(
            f"{scorer.source}: model output has {size} score(s) per window, but "
            f"{len(scorer.labels)} label name(s) were given ({', '.join(scorer.labels)})"
            if raw.ndim == 2 and raw.shape[0] == expected[0]
            else f"{scorer.source}: model output has shape {raw.shape}, expected {expected} "
            "(windows x labels)"
        )
    if not np.isfinite(raw).all():
        clip = filenames[int(np.flatnonzero(~np.isfinite(raw).all(axis=1))[0])]
        raise SerbiasError(f"{scorer.source}: model gave NaN or infinite scores for clip {clip}")
    if kind == "probabilities" and (
        raw.min() < -PROBABILITY_SLACK or raw.max() > 1 + PROBABILITY_SLACK
    ):
        outside = ((raw < -PROBABILITY_SLACK) | (raw > 1 + PROBABILITY_SLACK)).any(axis=1)
        row = int(np.flatnonzero(outside)[0])
        raise SerbiasError(
            f"{scorer.source}: scores of clip {filenames[row]} are not probabilities "
            f"(e.g. {raw[row][(raw[row] < 0) | (raw[row] > 1)][0]:.4g}); use --scores logits "
            "or --scores sigmoid"
        )
