"""Log-mel spectrograms equal librosa's reference computation; silence stays finite."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest

from serbias.config import ExtractParams
from serbias.features import KINDS
from serbias.features.audio import load_clip
from serbias.features.logmel import LOGMEL, LogMelExtractor, power_to_db
from tests.feature_factory import tone, write_wav

PARAMS = ExtractParams()
CPU = ExtractParams(sample_rate=16_000).with_params("logmel", n_mels=64)


def build(params: ExtractParams) -> LogMelExtractor:
    return LOGMEL.extractor(params.of("logmel"), params)


@pytest.fixture(scope="module")
def extractor() -> LogMelExtractor:
    return build(PARAMS)


def librosa_logmel(path: Path, *, sr: int = 22_050, n_mels: int = 128) -> np.ndarray:
    """The reference study's computation, written independently with librosa."""
    y, _ = librosa.load(path, sr=sr)
    y = librosa.util.fix_length(y, size=round(3.0 * sr))
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512, n_mels=n_mels)
    return librosa.power_to_db(mel, ref=np.max)


@pytest.mark.parametrize(
    ("rate", "seconds"),
    [(22_050, 2.5), (16_000, 2.5), (8_000, 1.0), (44_100, 3.0), (16_000, 0.2), (16_000, 10.0)],
)
def test_logmel_matches_librosa(
    tmp_path: Path, extractor: LogMelExtractor, rate: int, seconds: float
) -> None:
    path = write_wav(tmp_path / "tone.wav", tone(seconds, rate), rate)
    logmel = extractor(load_clip(path, 22_050))
    expected = librosa_logmel(path)
    assert logmel.shape == expected.shape == (128, 130)
    assert logmel.dtype == np.float32
    np.testing.assert_allclose(logmel, expected, atol=1e-4, rtol=0)


def test_shape_follows_params() -> None:
    assert KINDS["logmel"] is LOGMEL and LOGMEL.columns(PARAMS.of("logmel"), PARAMS) is None
    assert LOGMEL.row_shape(PARAMS.of("logmel"), PARAMS) == (128, 130)
    assert LOGMEL.row_shape(CPU.of("logmel"), CPU) == (64, 94)
    assert build(CPU)(np.zeros(10, np.float32)).shape == (64, 94)


def test_cpu_profile_matches_librosa(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "tone.wav", tone(2.0, 16_000), 16_000)
    logmel = build(CPU)(load_clip(path, 16_000))
    np.testing.assert_allclose(logmel, librosa_logmel(path, sr=16_000, n_mels=64), atol=1e-4)


@pytest.mark.parametrize("length", [0, 1, 4410, 66_150])
def test_silence_is_finite_and_at_the_floor(extractor: LogMelExtractor, length: int) -> None:
    logmel = extractor(np.zeros(length, dtype=np.float32))
    assert np.isfinite(logmel).all()
    np.testing.assert_array_equal(logmel, np.full((128, 130), -80.0, dtype=np.float32))


def test_loud_clip_spans_zero_to_minus_top_db(extractor: LogMelExtractor) -> None:
    noise = np.random.default_rng(0).uniform(-1, 1, 66_150).astype(np.float32)
    noise[30_000:] = 0.0  # half silence: the floor must be exactly -80 dB
    logmel = extractor(noise)
    assert logmel.max() == 0.0
    assert logmel.min() == pytest.approx(-80.0)


def test_power_to_db_equals_librosa_and_handles_zeros() -> None:
    power = np.random.default_rng(1).exponential(size=(4, 6)) ** 4
    np.testing.assert_allclose(
        power_to_db(power, top_db=80.0), librosa.power_to_db(power, ref=np.max), atol=1e-10
    )
    # by hand: ref = 100 -> 10*log10(1/100) = -20; 1e-12 is floored at amin=1e-10 then top_db
    np.testing.assert_allclose(
        power_to_db(np.array([100.0, 1.0, 1e-12]), top_db=80.0), [0.0, -20.0, -80.0]
    )
    silence = power_to_db(np.zeros((2, 3)), top_db=60.0)
    np.testing.assert_array_equal(silence, np.full((2, 3), -60.0))
