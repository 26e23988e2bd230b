"""Log-mel spectrograms as in the reference study (128 x 130 at the defaults): kind ``logmel``.

Equal (to ~1e-5 dB) to ``librosa.power_to_db(librosa.feature.melspectrogram(y=...),
ref=np.max)`` on ``librosa.load(path, sr=22050)`` fixed to 3.0 s, but computed with a
precomputed mel matrix (``librosa.filters.mel``, built once in the parent process),
numpy framing, a scipy FFT and a sparse product. Worker processes therefore never import
librosa, whose numba-compiled helpers take seconds to load in every fresh process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from serbias.features.audio import fix_length
from serbias.features.base import Audio, FeatureKind

if TYPE_CHECKING:
    import scipy.sparse

#: ``librosa.power_to_db``'s default floor on power before taking the log.
AMIN = 1e-10


@dataclass(frozen=True)
class LogMelParams:
    """``extract.logmel``: the STFT and mel filter bank (n_fft 2048, hop 512, 128 mels)."""

    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None  # None: sample_rate / 2
    top_db: float = 80.0  # power_to_db(ref=max) floor; silent clips are all -top_db


class LogMel(FeatureKind[LogMelParams]):
    """``(n_mels, frames)`` log-mel in dB of the clip fixed to ``extract.duration``."""

    name = "logmel"
    Params = LogMelParams
    summary = "log-mel spectrograms, the networks' input"

    def check(self, params: LogMelParams, audio: Audio) -> None:
        if params.n_fft < 16:
            raise self.invalid("n_fft", params.n_fft, "at least 16")
        if not 1 <= params.hop_length <= params.n_fft:
            raise self.invalid("hop_length", params.hop_length, f"1..n_fft ({params.n_fft})")
        bins = params.n_fft // 2 + 1
        if not 1 <= params.n_mels <= bins:
            raise self.invalid("n_mels", params.n_mels, f"1..{bins} (n_fft // 2 + 1)")
        nyquist = audio.sample_rate / 2
        fmax = nyquist if params.fmax is None else params.fmax
        if not 0.0 <= params.fmin < fmax:
            raise self.invalid("fmin", params.fmin, f"0 <= fmin < fmax ({fmax:g})")
        if fmax > nyquist:
            raise self.invalid("fmax", params.fmax, f"at most sample_rate / 2 ({nyquist:g})")
        if params.top_db <= 0.0:
            raise self.invalid("top_db", params.top_db, "a positive number of decibels")

    def row_shape(self, params: LogMelParams, audio: Audio) -> tuple[int, int]:
        """(n_mels, frames): 128 x 130 at the defaults."""
        return params.n_mels, 1 + clip_samples(audio) // params.hop_length

    def extractor(self, params: LogMelParams, audio: Audio) -> LogMelExtractor:
        return LogMelExtractor.build(params, audio)


LOGMEL = LogMel()


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
    def build(cls, params: LogMelParams, audio: Audio) -> LogMelExtractor:
        """Build the mel matrix and window once (imports librosa; call it in the parent)."""
        import librosa
        import scipy.signal
        import scipy.sparse

        mel = librosa.filters.mel(
            sr=audio.sample_rate,
            n_fft=params.n_fft,
            n_mels=params.n_mels,
            fmin=params.fmin,
            fmax=params.fmax,
        )
        return cls(
            n_samples=clip_samples(audio),
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
        import scipy.fft

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


def clip_samples(audio: Audio) -> int:
    """Samples per fixed-length clip (66,150 at the defaults)."""
    return round(audio.duration * audio.sample_rate)
