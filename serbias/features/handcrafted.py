"""Hand-crafted clip features for the SVM baseline (kind ``svm``): frame statistics.

Frames of 25 ms every 10 ms (the reference study's pyAudioAnalysis-style features). The
signal is first centred and peak-normalised, as pyAudioAnalysis does, so loudness of the
recording does not leak in. Per frame (Hamming-windowed spectrum for the spectral ones):

- ``zcr``: sign changes per sample; ``energy``: mean square;
- ``energy_entropy``: entropy (bits) of the energy shares of 10 equal sub-frames;
- ``spectral_centroid`` / ``spectral_spread``: magnitude-weighted mean / std of frequency,
  as fractions of the Nyquist frequency;
- ``spectral_entropy``: entropy (bits) of the power shares of 10 equal sub-bands;
- ``spectral_flux``: squared change of the L1-normalised magnitude spectrum (0 on frame 1);
- ``spectral_rolloff``: fraction of the band below which 90 % of the power lies;
- ``mfcc_1`` .. ``mfcc_12``: ``librosa.feature.mfcc`` (c0..c11) over 40 mel filters.

Each of these 20 series is summarised by 10 statistics -> 200 named columns such as
``mfcc_3_median``. Every value is finite: silent frames, constant series (skewness and
kurtosis are 0 there) and clips shorter than one frame (zero-padded) are all defined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from serbias.features.base import Audio, FeatureKind

if TYPE_CHECKING:
    import scipy.sparse

SPECTRAL_FEATURES = (
    "zcr", "energy", "energy_entropy", "spectral_centroid", "spectral_spread",
    "spectral_entropy", "spectral_flux", "spectral_rolloff",
)  # fmt: skip
STATISTICS = ("mean", "std", "median", "kurtosis", "skewness", "p1", "p99", "min", "max", "range")
#: Sub-frames (energy entropy) and sub-bands (spectral entropy).
ENTROPY_BLOCKS = 10
ROLLOFF_FRACTION = 0.90
EPS = 1e-12
#: ``librosa.feature.mfcc``'s dB conversion: floor on power, range kept below the peak.
AMIN = 1e-10
MFCC_TOP_DB = 80.0


def frame_feature_names(n_mfcc: int = 12) -> list[str]:
    """Names of the per-frame series, in column order."""
    return [*SPECTRAL_FEATURES, *(f"mfcc_{i}" for i in range(1, n_mfcc + 1))]


def feature_names(n_mfcc: int = 12) -> list[str]:
    """The clip-level column names, ``{frame feature}_{statistic}``, feature-major."""
    return [f"{name}_{stat}" for name in frame_feature_names(n_mfcc) for stat in STATISTICS]


@dataclass(frozen=True)
class HandcraftedParams:
    """``extract.svm``: 25 ms frames every 10 ms, 12 MFCCs over 40 mel filters."""

    window: float = 0.025  # seconds per frame
    step: float = 0.010  # seconds between frame starts
    n_mfcc: int = 12
    n_mfcc_filters: int = 40


class Handcrafted(FeatureKind[HandcraftedParams]):
    """20 per-frame series x 10 statistics (200 named columns at the defaults)."""

    name = "svm"
    Params = HandcraftedParams
    summary = "hand-crafted statistics, the SVM's input"

    def check(self, params: HandcraftedParams, audio: Audio) -> None:
        window = round(params.window * audio.sample_rate)
        if window < 20:
            raise self.invalid("window", params.window, "at least 20 samples at sample_rate")
        if not 1 <= round(params.step * audio.sample_rate) <= window:
            raise self.invalid("step", params.step, "at least one sample and at most window")
        if not 1 <= params.n_mfcc_filters <= window // 2 + 1:
            raise self.invalid("n_mfcc_filters", params.n_mfcc_filters, f"1..{window // 2 + 1}")
        if not 1 <= params.n_mfcc <= params.n_mfcc_filters:
            raise self.invalid(
                "n_mfcc", params.n_mfcc, f"1..n_mfcc_filters ({params.n_mfcc_filters})"
            )

    def row_shape(self, params: HandcraftedParams, audio: Audio) -> tuple[int]:
        return (len(feature_names(params.n_mfcc)),)

    def columns(self, params: HandcraftedParams, audio: Audio) -> tuple[str, ...]:
        return tuple(feature_names(params.n_mfcc))

    def extractor(self, params: HandcraftedParams, audio: Audio) -> HandcraftedExtractor:
        return HandcraftedExtractor.build(params, audio)


HANDCRAFTED = Handcrafted()


@dataclass(frozen=True, eq=False)
class HandcraftedExtractor:
    """A precomputed plan: clip samples -> (n_features,) float32 summary vector."""

    sample_rate: int
    window_length: int
    step: int
    n_mfcc: int
    window: np.ndarray  # Hamming, float64
    mel_basis: scipy.sparse.csr_array  # (n_mfcc_filters, 1 + window_length // 2)

    @classmethod
    def build(cls, params: HandcraftedParams, audio: Audio) -> HandcraftedExtractor:
        """Build the window and the MFCC filter bank once (imports librosa: parent only)."""
        import librosa
        import scipy.signal
        import scipy.sparse

        window_length = round(params.window * audio.sample_rate)
        mel = librosa.filters.mel(
            sr=audio.sample_rate, n_fft=window_length, n_mels=params.n_mfcc_filters
        )
        return cls(
            sample_rate=audio.sample_rate,
            window_length=window_length,
            step=round(params.step * audio.sample_rate),
            n_mfcc=params.n_mfcc,
            window=scipy.signal.get_window("hamming", window_length, fftbins=True),
            mel_basis=scipy.sparse.csr_array(mel.astype(np.float64)),
        )

    @property
    def columns(self) -> list[str]:
        """Output column names."""
        return feature_names(self.n_mfcc)

    def signal(self, samples: np.ndarray) -> np.ndarray:
        """The centred, peak-normalised clip as float64, zero-padded to at least one frame."""
        signal = samples.astype(np.float64)
        if signal.size:
            signal -= signal.mean()
            signal /= np.abs(signal).max() + 1e-10
        if signal.size < self.window_length:
            signal = np.pad(signal, (0, self.window_length - signal.size))
        return signal

    def frame_features(self, samples: np.ndarray) -> np.ndarray:
        """(n_frames, 8 + n_mfcc) per-frame series, columns as :func:`frame_feature_names`."""
        import scipy.fft

        signal = self.signal(samples)
        length = self.window_length
        frames = sliding_window_view(signal, length)[:: self.step]  # a view, no copy
        n_frames = frames.shape[0]
        starts = np.arange(n_frames) * self.step

        # sign changes counted once on the whole signal, then summed per frame
        negative = np.signbit(signal)
        crossings = np.zeros(signal.size, dtype=np.int64)
        np.cumsum(negative[1:] != negative[:-1], out=crossings[1:])
        zcr = (crossings[starts + length - 1] - crossings[starts]) / (length - 1)
        energy = np.einsum("ij,ij->i", frames, frames) / length
        sub = length // ENTROPY_BLOCKS
        blocks = frames[:, : sub * ENTROPY_BLOCKS].reshape(n_frames, ENTROPY_BLOCKS, sub)
        energy_entropy = _entropy(np.einsum("ijk,ijk->ij", blocks, blocks))

        spectrum = scipy.fft.rfft(frames * self.window, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        magnitude = np.sqrt(power)
        n_bins = magnitude.shape[1]
        fraction = np.arange(n_bins) * (2.0 / length)  # bin frequency / Nyquist
        weight = magnitude.sum(axis=1) + EPS
        centroid = np.einsum("ij,j->i", magnitude, fraction) / weight
        second_moment = np.einsum("ij,j->i", magnitude, fraction**2) / weight
        spread = np.sqrt(np.maximum(second_moment - centroid**2, 0.0))
        bands = n_bins // ENTROPY_BLOCKS
        band_power = power[:, : bands * ENTROPY_BLOCKS].reshape(n_frames, ENTROPY_BLOCKS, bands)
        spectral_entropy = _entropy(band_power.sum(axis=2))
        shares = magnitude / weight[:, None]
        change = shares[1:] - shares[:-1]
        flux = np.concatenate([[0.0], np.einsum("ij,ij->i", change, change)])
        cumulative = np.cumsum(power, axis=1)
        total = cumulative[:, -1]
        rolloff_bin = (cumulative >= ROLLOFF_FRACTION * total[:, None]).argmax(axis=1)
        rolloff = np.where(total > 0, rolloff_bin / (n_bins - 1), 0.0)

        series = [zcr, energy, energy_entropy, centroid, spread, spectral_entropy, flux, rolloff]
        return np.column_stack([*series, self.mfcc(power)])

    def mfcc(self, power: np.ndarray) -> np.ndarray:
        """(n_frames, n_mfcc) MFCCs of a power spectrogram, as ``librosa.feature.mfcc``."""
        import scipy.fft

        mel_power = (self.mel_basis @ power.T).T
        log_mel = 10.0 * np.log10(np.maximum(mel_power, AMIN))
        log_mel = np.maximum(log_mel, log_mel.max() - MFCC_TOP_DB)
        return scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, : self.n_mfcc]

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """The clip's 200 (at the defaults) summary features, float32, all finite."""
        return summarise(self.frame_features(samples)).astype(np.float32)


def summarise(series: np.ndarray) -> np.ndarray:
    """Statistics of each column of ``series`` (frames x features), feature-major, flat.

    Skewness and (excess) kurtosis are the biased moment estimates (scipy's defaults) and
    0 for a constant series, where they are otherwise undefined.
    """
    mean = series.mean(axis=0)
    centred = series - mean
    var = (centred**2).mean(axis=0)
    std = np.sqrt(var)
    flat = var <= 1e-12 * np.maximum(1.0, mean**2)
    safe_var = np.where(flat, 1.0, var)
    skewness = np.where(flat, 0.0, (centred**3).mean(axis=0) / safe_var**1.5)
    kurtosis = np.where(flat, 0.0, (centred**4).mean(axis=0) / safe_var**2 - 3.0)
    ordered = np.sort(series, axis=0)
    p1, median, p99 = (_quantile(ordered, q) for q in (0.01, 0.5, 0.99))
    low, high = ordered[0], ordered[-1]
    stats = [mean, std, median, kurtosis, skewness, p1, p99, low, high, high - low]
    return np.stack(stats, axis=1).reshape(-1)


def _quantile(ordered: np.ndarray, q: float) -> np.ndarray:
    """Quantile ``q`` of each column of sorted rows, linear as ``np.percentile``'s default."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _entropy(energies: np.ndarray) -> np.ndarray:
    """Entropy in bits of each row's shares of its total (0 for an all-zero row)."""
    shares = energies / (energies.sum(axis=1, keepdims=True) + EPS)
    return -(shares * np.log2(shares + EPS)).sum(axis=1)
