"""Decoding: any rate and channel count in, mono float32 at the target rate out; bad files named."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from serbias.features.audio import AudioError, fix_length, load_clip, read_audio
from tests.feature_factory import fake_wav, tone, truncate_header, write_wav


@pytest.mark.parametrize("rate", [8_000, 16_000, 22_050, 44_100])
def test_any_rate_is_resampled_exactly_like_librosa_load(tmp_path: Path, rate: int) -> None:
    path = write_wav(tmp_path / "clip.wav", tone(0.7, rate), rate)
    samples = load_clip(path, 22_050)
    expected, _ = librosa.load(path, sr=22_050)
    assert samples.dtype == np.float32
    assert samples.shape == expected.shape == (round(0.7 * 22_050),)
    np.testing.assert_allclose(samples, expected, atol=1e-6)


def test_stereo_is_averaged_to_mono_like_librosa(tmp_path: Path) -> None:
    left, right = tone(0.5, 16_000, freq=300), tone(0.5, 16_000, freq=500, amp=0.1)
    path = write_wav(tmp_path / "stereo.wav", np.column_stack([left, right]), 16_000)
    samples, rate = read_audio(path)
    assert rate == 16_000 and samples.ndim == 1
    np.testing.assert_allclose(samples, (left + right) / 2, atol=1e-4)  # 16-bit rounding
    expected, _ = librosa.load(path, sr=22_050, mono=True)
    np.testing.assert_allclose(load_clip(path, 22_050), expected, atol=1e-6)


def test_float_wav_and_empty_wav_decode(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "float.wav", tone(0.1, 16_000), 16_000, subtype="FLOAT")
    assert read_audio(path)[0].dtype == np.float32
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0), 16_000)
    assert load_clip(empty, 22_050).shape == (0,)


def test_truncated_header_is_named(tmp_path: Path) -> None:
    path = truncate_header(write_wav(tmp_path / "1001_DFA_ANG_XX.wav", tone(0.5, 16_000), 16_000))
    with pytest.raises(AudioError, match=r"1001_DFA_ANG_XX\.wav: not a readable WAV file"):
        read_audio(path)


def test_text_file_named_wav_is_named(tmp_path: Path) -> None:
    path = fake_wav(tmp_path / "notes.wav")
    with pytest.raises(AudioError, match=r"notes\.wav: not a readable WAV file") as caught:
        read_audio(path)
    assert caught.value.reason.startswith("not a readable WAV file")


def test_other_audio_formats_named_wav_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "flac.wav"
    sf.write(path, tone(0.2, 16_000), 16_000, format="FLAC")
    with pytest.raises(AudioError, match="not a WAV file"):
        read_audio(path)


def test_nan_samples_are_refused(tmp_path: Path) -> None:
    samples = tone(0.2, 16_000)
    samples[100] = np.nan
    path = write_wav(tmp_path / "nan.wav", samples, 16_000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN or infinite"):
        read_audio(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"gone\.wav: audio file not found"):
        read_audio(tmp_path / "gone.wav")


def test_fix_length_pads_and_cuts() -> None:
    samples = np.arange(1, 6, dtype=np.float32)
    np.testing.assert_array_equal(fix_length(samples, 3), [1, 2, 3])
    np.testing.assert_array_equal(fix_length(samples, 7), [1, 2, 3, 4, 5, 0, 0])
    np.testing.assert_array_equal(fix_length(samples, 7), librosa.util.fix_length(samples, size=7))
