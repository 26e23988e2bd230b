"""Log-mel spectrograms as in the reference study (128 x 130 at the defaults).

Equal (to ~1e-5 dB) to ``librosa.power_to_db(librosa.feature.melspectrogram(y=...),
ref=np.max)`` on ``librosa.load(path, sr=22050)`` fixed to 3.0 s, but computed with a
precomputed mel matrix (``librosa.filters.mel``, built once in the parent process),
numpy framing, a scipy FFT and a sparse product. Worker processes therefore never import
librosa, whose numba-compiled helpers take seconds to load in every fresh process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.sparse
from numpy.lib.stride_tricks import sliding_window_view

from serbias.config import ExtractParams
from serbias.features.audio import fix_length

#: ``librosa.power_to_db``'s default floor on power before taking the log.
AMIN = 1e-10


@dataclass(frozen=True, eq=False)
class LogMelExtractor:
    """A precomputed plan: fixed-length clip -> (n_mels, frames) float32 log-mel in dB."""

    n_samples: int
    n_fft: int
    hop_length: int
    top_db: float
    window: np.ndarray  # periodic Hann, float64 (as librosa.stft)
    mel_basis: scipy.sparse.csr_array  # (n_mels, 1 + n_fft // 2), librosa's float32 values

    @classmethod
    def from_params(cls, params: ExtractParams) -> LogMelExtractor:
        """Build the mel matrix and window once (imports librosa; call it in the parent)."""
        import librosa
        import scipy.signal

        mel = librosa.filters.mel(
            sr=params.sample_rate,
            n_fft=params.n_fft,
            n_mels=params.n_mels,
            fmin=params.fmin,
            fmax=params.fmax,
        )
        return cls(
            n_samples=clip_samples(params),
            n_fft=params.n_fft,
            hop_length=params.hop_length,
            top_db=params.top_db,
            window=scipy.signal.get_window("hann", params.n_fft, fftbins=True),
            mel_basis=scipy.sparse.csr_array(mel.astype(np.float64)),
        )

    @property
    def shape(self) -> tuple[int, int]:
        """(n_mels, frames) of every output."""
        return self.mel_basis.shape[0], 1 + self.n_samples // self.hop_length

    def mel_power(self, samples: np.ndarray) -> np.ndarray:
        """Mel power spectrogram of a clip fixed to ``n_samples`` (centred, zero-padded frames)."""
        padded = np.pad(fix_length(samples, self.n_samples).astype(np.float64), self.n_fft // 2)
        frames = sliding_window_view(padded, self.n_fft)[:: self.hop_length]
        spectrum = scipy.fft.rfft(frames * self.window, axis=-1)
        power = spectrum.real**2 + spectrum.imag**2
        return self.mel_basis @ power.T

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """Log-mel in dB relative to the clip's loudest bin, floored at ``-top_db``."""
        return power_to_db(self.mel_power(samples), top_db=self.top_db).astype(np.float32)


def power_to_db(power: np.ndarray, *, top_db: float) -> np.ndarray:
    """``librosa.power_to_db(power, ref=np.max, top_db=top_db)``, finite for silence too.

    librosa maps an all-zero input to 0 dB everywhere (the loudest possible picture); here
    a clip with no power above ``AMIN`` is the quietest one, ``-top_db`` everywhere.
    """
    peak = float(power.max(initial=0.0))
    if not peak > AMIN:
        return np.full(power.shape, -top_db)
    log_power = 10.0 * np.log10(np.maximum(power, AMIN)) - 10.0 * np.log10(peak)
    return np.maximum(log_power, log_power.max() - top_db)


def clip_samples(params: ExtractParams) -> int:
    """Samples per fixed-length clip (66,150 at the defaults)."""
    return round(params.duration * params.sample_rate)


def logmel_shape(params: ExtractParams) -> tuple[int, int]:
    """(n_mels, frames) of a log-mel under ``params`` (128 x 130 at the defaults)."""
    return params.n_mels, 1 + clip_samples(params) // params.hop_length
