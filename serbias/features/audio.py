"""Decode a clip once: any WAV (rate, channels, sample format) -> mono float32 at one rate.

Both feature kinds are computed from the array this returns, so each file is read and
resampled exactly once. Resampling uses soxr at the quality ``librosa.load`` uses by
default (HQ), so the result equals ``librosa.load(path, sr=...)`` sample for sample.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from serbias.errors import SerbiasError

#: Container formats accepted as "a WAV file" (libsndfile names).
WAV_FORMATS = frozenset({"WAV", "WAVEX", "RF64", "W64"})


class AudioError(SerbiasError):
    """A clip that cannot be decoded; ``reason`` is the message without the path."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Decode a WAV file to mono float32 samples (channels averaged) and its sample rate."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "audio file not found")
    try:
        with sf.SoundFile(path) as handle:
            if handle.format not in WAV_FORMATS:
                raise AudioError(path, f"not a WAV file (it is {handle.format})")
            sample_rate = handle.samplerate
            samples = handle.read(dtype="float32", always_2d=True)
    except sf.SoundFileError as exc:
        detail = str(exc).split(": ", 1)[-1] if str(exc).startswith("Error opening") else str(exc)
        raise AudioError(path, f"not a readable WAV file ({detail})") from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise AudioError(path, f"not a readable WAV file ({exc})") from None
    if sample_rate <= 0:
        raise AudioError(path, f"invalid sample rate {sample_rate}")
    mono = samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1, dtype=np.float32)
    if not np.isfinite(mono).all():
        raise AudioError(path, "contains NaN or infinite samples")
    return np.ascontiguousarray(mono), sample_rate


def resample(samples: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample with soxr (HQ, as ``librosa.load``); a no-op when the rates agree."""
    if orig_rate == target_rate or samples.size == 0:
        return samples
    resampled = soxr.resample(samples, orig_rate, target_rate, quality="HQ")
    # same target length as librosa.resample (ratio first, then ceil)
    return fix_length(resampled, math.ceil(samples.size * (target_rate / orig_rate)))


def load_clip(path: Path, sample_rate: int) -> np.ndarray:
    """Decode and resample one clip: mono float32 at ``sample_rate``, full length."""
    samples, orig_rate = read_audio(path)
    return resample(samples, orig_rate, sample_rate)


def fix_length(samples: np.ndarray, size: int) -> np.ndarray:
    """Cut to ``size`` samples or pad the end with zeros (``librosa.util.fix_length``)."""
    if samples.size >= size:
        return samples[:size]
    out = np.zeros(size, dtype=np.float32)
    out[: samples.size] = samples
    return out
