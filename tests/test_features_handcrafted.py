"""SVM features: 200 named columns, known answers on tones, MFCCs as librosa, always finite."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.stats

from serbias.config import ExtractParams
from serbias.features.handcrafted import (
    HANDCRAFTED,
    HandcraftedExtractor,
    feature_names,
    frame_feature_names,
    summarise,
)

SR = 22_050


@pytest.fixture(scope="module")
def extractor() -> HandcraftedExtractor:
    params = ExtractParams()
    return HANDCRAFTED.extractor(params.of("svm"), params)


def column(series: np.ndarray, name: str) -> np.ndarray:
    return series[:, frame_feature_names().index(name)]


def test_columns_are_200_named_feature_statistic_pairs() -> None:
    names = feature_names()
    assert len(names) == len(set(names)) == 200
    assert names[:3] == ["zcr_mean", "zcr_std", "zcr_median"]
    assert "mfcc_3_median" in names and "spectral_rolloff_p99" in names
    assert names[-1] == "mfcc_12_range"
    assert len(feature_names(n_mfcc=13)) == 210
    params = ExtractParams().with_params("svm", n_mfcc=13)
    assert HANDCRAFTED.columns(params.of("svm"), params) == tuple(feature_names(n_mfcc=13))
    assert HANDCRAFTED.row_shape(params.of("svm"), params) == (210,)


def test_frames_are_25_ms_every_10_ms(extractor: HandcraftedExtractor) -> None:
    assert (extractor.window_length, extractor.step) == (551, 220)  # at 22,050 Hz
    one_second = extractor.frame_features(np.ones(SR, dtype=np.float32))
    assert one_second.shape == (1 + (SR - 551) // 220, 20)
    # shorter than one window: zero-padded to one frame
    assert extractor.frame_features(np.ones(100, dtype=np.float32)).shape == (1, 20)


def test_known_answers_on_a_pure_tone(extractor: HandcraftedExtractor) -> None:
    freq = 1_000.0
    t = np.arange(SR) / SR
    series = extractor.frame_features((0.25 * np.sin(2 * np.pi * freq * t)).astype(np.float32))
    nyquist = SR / 2
    # peak-normalised sine: mean square 1/2; two zero crossings per period
    np.testing.assert_allclose(column(series, "energy"), 0.5, atol=0.01)
    np.testing.assert_allclose(column(series, "zcr"), 2 * freq / SR, atol=0.002)
    # energy spread evenly over the 10 sub-frames: entropy log2(10) bits
    np.testing.assert_allclose(column(series, "energy_entropy"), np.log2(10), atol=0.01)
    # all power at 1 kHz: centroid there, roll-off within the Hamming main lobe (2 bins of
    # 40 Hz), no flux
    np.testing.assert_allclose(column(series, "spectral_centroid"), freq / nyquist, atol=0.01)
    rolloff = column(series, "spectral_rolloff")
    np.testing.assert_allclose(rolloff, freq / nyquist, atol=2 * 40 / nyquist)
    assert column(series, "spectral_flux")[0] == 0.0
    np.testing.assert_allclose(column(series, "spectral_flux"), 0.0, atol=1e-4)
    # nearly all power in one of the 10 sub-bands: entropy near 0 bits
    assert column(series, "spectral_entropy").max() < 0.05


def test_alternating_signal_crosses_zero_at_every_sample(extractor: HandcraftedExtractor) -> None:
    alternating = np.tile(np.array([1.0, -1.0], dtype=np.float32), SR // 4)
    np.testing.assert_array_equal(column(extractor.frame_features(alternating), "zcr"), 1.0)


def test_white_noise_is_spread_and_entropic(extractor: HandcraftedExtractor) -> None:
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    series = extractor.frame_features(noise)
    # flat spectrum: centroid mid-band, power shared by all 10 sub-bands (entropy near log2 10)
    assert 0.45 < column(series, "spectral_centroid").mean() < 0.55
    assert column(series, "spectral_entropy").mean() > 3.2


def test_mfccs_match_librosa(extractor: HandcraftedExtractor) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(SR) / SR
    clip = np.sin(2 * np.pi * 220 * t) * (1 + t) + 0.05 * rng.standard_normal(SR)
    clip = clip.astype(np.float32)
    signal = extractor.signal(clip)
    expected = librosa.feature.mfcc(
        y=signal, sr=SR, n_mfcc=12, n_fft=551, hop_length=220, window="hamming",
        center=False, n_mels=40,
    )  # fmt: skip
    mfcc = extractor.frame_features(clip)[:, 8:]
    assert mfcc.shape == expected.T.shape
    np.testing.assert_allclose(mfcc, expected.T, atol=1e-4)


def test_statistics_by_hand() -> None:
    series = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
    stats = dict(zip(
        ["mean", "std", "median", "kurtosis", "skewness", "p1", "p99", "min", "max", "range"],
        summarise(series), strict=True,
    ))  # fmt: skip
    assert stats["mean"] == 3.0 and stats["median"] == 3.0
    assert stats["std"] == pytest.approx(np.sqrt(2.0))
    assert stats["skewness"] == pytest.approx(0.0)
    # biased excess kurtosis: m4 / m2^2 - 3 = 6.8 / 4 - 3
    assert stats["kurtosis"] == pytest.approx(-1.3)
    assert stats["p1"] == pytest.approx(1.04) and stats["p99"] == pytest.approx(4.96)
    assert (stats["min"], stats["max"], stats["range"]) == (1.0, 5.0, 4.0)


def test_statistics_agree_with_scipy() -> None:
    series = np.random.default_rng(2).gamma(2.0, size=(300, 3))
    stats = summarise(series).reshape(3, 10)
    np.testing.assert_allclose(stats[:, 3], scipy.stats.kurtosis(series, axis=0))
    np.testing.assert_allclose(stats[:, 4], scipy.stats.skew(series, axis=0))


def test_constant_series_has_zero_skewness_and_kurtosis() -> None:
    stats = summarise(np.full((50, 2), 7.0)).reshape(2, 10)
    np.testing.assert_array_equal(stats[:, 1], 0.0)  # std
    np.testing.assert_array_equal(stats[:, 3:5], 0.0)  # kurtosis, skewness


@pytest.mark.parametrize(
    "clip",
    [
        np.zeros(0),  # empty
        np.zeros(SR),  # silence
        np.zeros(10),  # shorter than one frame
        np.full(SR, 0.5),  # DC only: nothing left after centring
        np.r_[np.zeros(SR // 2), np.ones(1), np.zeros(SR // 2)],  # one click
        np.random.default_rng(3).standard_normal(10 * SR),  # 10 s
    ],
    ids=["empty", "silence", "short", "dc", "click", "ten_seconds"],
)
def test_features_are_always_finite(extractor: HandcraftedExtractor, clip: np.ndarray) -> None:
    features = extractor(clip.astype(np.float32))
    assert features.shape == (200,) and features.dtype == np.float32
    assert np.isfinite(features).all()
