"""A feature kind defined in this file, registered, extracted, stored and loaded per split,
without editing any serbias module; splits select rows, so a new split never re-extracts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from serbias.cli import app
from serbias.config import ExtractParams, load_params
from serbias.corpus.reader import read_corpus
from serbias.corpus.split import load_split, split_corpus
from serbias.errors import SerbiasError
from serbias.features import KINDS, FeatureKind, load_features, read_manifest, register
from serbias.features.base import Audio
from serbias.features.extract import extract_features
from tests.factory import DEMOGRAPHICS, clip_names, write_corpus
from tests.feature_factory import truncate_header

runner = CliRunner()


@dataclass(frozen=True)
class MfccMeansParams:
    """``extract.mfcc_means``: librosa.feature.mfcc's defaults."""

    n_mfcc: int = 13
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128


@dataclass(frozen=True, eq=False)
class MfccMeansExtractor:
    """numpy/scipy MFCCs (centred frames, Hann, mel power in dB, DCT-II), averaged over frames."""

    n_mfcc: int
    n_fft: int
    hop_length: int
    mel_basis: np.ndarray

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        import scipy.fft
        import scipy.signal

        padded = np.pad(samples.astype(np.float64), self.n_fft // 2)
        frames = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft)[:: self.hop_length]
        window = scipy.signal.get_window("hann", self.n_fft, fftbins=True)
        power = np.abs(scipy.fft.rfft(frames * window, axis=1)) ** 2
        db = 10.0 * np.log10(np.maximum(self.mel_basis @ power.T, 1e-10))
        db = np.maximum(db, db.max() - 80.0)
        mfcc = scipy.fft.dct(db, type=2, norm="ortho", axis=0)[: self.n_mfcc]
        return mfcc.mean(axis=1).astype(np.float32)


class MfccMeans(FeatureKind[MfccMeansParams]):
    name = "mfcc_means"
    Params = MfccMeansParams
    summary = "MFCC means"

    def check(self, params: MfccMeansParams, audio: Audio) -> None:
        if not 1 <= params.n_mfcc <= params.n_mels:
            raise self.invalid("n_mfcc", params.n_mfcc, f"1..n_mels ({params.n_mels})")

    def row_shape(self, params: MfccMeansParams, audio: Audio) -> tuple[int]:
        return (params.n_mfcc,)

    def columns(self, params: MfccMeansParams, audio: Audio) -> tuple[str, ...]:
        return tuple(f"mfcc_{i}_mean" for i in range(1, params.n_mfcc + 1))

    def extractor(self, params: MfccMeansParams, audio: Audio) -> MfccMeansExtractor:
        import librosa

        mel = librosa.filters.mel(sr=audio.sample_rate, n_fft=params.n_fft, n_mels=params.n_mels)
        return MfccMeansExtractor(params.n_mfcc, params.n_fft, params.hop_length, mel)


@pytest.fixture()
def mfcc_means() -> Iterator[FeatureKind]:
    """The toy kind, registered for one test only."""
    kind = register(MfccMeans())
    yield kind
    KINDS.pop(kind.name)


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 36-clip corpus of the six factory actors, as the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SERBIAS_PARAMS", raising=False)
    monkeypatch.delenv("SERBIAS_PROFILE", raising=False)
    write_corpus(tmp_path / "data", clip_names((d[0] for d in DEMOGRAPHICS), sentences=("DFA",)))
    return tmp_path


def mfcc_means_by_hand(path: Path, n_mfcc: int) -> np.ndarray:
    """librosa's own MFCCs of the clip as ``librosa.load`` reads it, averaged over frames."""
    import librosa

    y, sr = librosa.load(path, sr=22_050)
    return librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc).mean(axis=1)


def test_a_kind_registered_here_is_extracted_stored_and_loaded_per_split(
    workdir: Path, mfcc_means: FeatureKind
) -> None:
    (workdir / "params.yaml").write_text(
        "paths:\n  data: data\n  features: features\n"
        "extract:\n  jobs: 2\n  mfcc_means:\n    n_mfcc: 13\n"
    )
    assert load_params().extract.of("mfcc_means") == MfccMeansParams(n_mfcc=13)
    done = runner.invoke(app, ["extract", "--kind", "mfcc_means"])
    assert done.exit_code == 0, done.output
    assert "mfcc_means.npz" in done.output and "36 x 13" in done.output

    split = split_corpus(read_corpus(workdir / "data"), workdir / "split.json", seed=0).splits
    test = load_features(workdir / "features", "mfcc_means", split["test"])
    assert list(test.filenames) == split["test"] and test.X.shape == (len(split["test"]), 13)
    assert list(test.columns) == [f"mfcc_{i}_mean" for i in range(1, 14)]
    assert test.params == {"sample_rate": 22_050, "duration": 3.0,
                           "mfcc_means": {"n_mfcc": 13, "n_fft": 2048, "hop_length": 512,
                                          "n_mels": 128}}  # fmt: skip
    for row, stem in enumerate(split["test"]):
        expected = mfcc_means_by_hand(workdir / "data" / "AudioWAV" / f"{stem}.wav", 13)
        np.testing.assert_allclose(test.X[row], expected, rtol=1e-4, atol=1e-3)

    # the workers (jobs 2) got the pickled extractor: a serial run gives the same bytes
    extract_features(
        read_corpus(workdir / "data"), workdir / "serial", params=load_params().extract,
        kinds=["mfcc_means"], jobs=1, corpus_fingerprint="unused",
    )  # fmt: skip
    serial = (workdir / "serial" / "mfcc_means.npz").read_bytes()
    assert serial == (workdir / "features" / "mfcc_means.npz").read_bytes()


def test_the_kind_s_parameters_are_validated_and_only_registered_kinds_exist(
    mfcc_means: FeatureKind,
) -> None:
    with pytest.raises(
        SerbiasError, match=r"extract\.mfcc_means\.n_mfcc: 200, expected 1\.\.n_mels"
    ):
        ExtractParams(kind_params={"mfcc_means": {"n_mfcc": 200}})
    with pytest.raises(SerbiasError, match="already registered"):
        register(MfccMeans())
    KINDS.pop(mfcc_means.name)
    with pytest.raises(SerbiasError, match=r"extract\.kinds: 'mfcc_means', expected one of"):
        ExtractParams(kinds=("mfcc_means",))
    register(mfcc_means)  # for the fixture to remove again


def test_a_new_split_or_another_seed_does_not_re_extract(workdir: Path) -> None:
    clips = read_corpus(workdir / "data")
    params = ExtractParams(kinds=("svm",))
    first = extract_features(clips, workdir / "features", params=params, jobs=1,
                             corpus_fingerprint="corpus")  # fmt: skip
    before = {p.name: p.stat().st_mtime_ns for p in (workdir / "features").iterdir()}
    splits = []
    for seed in (0, 3):  # `serbias split --force --seed 3`: another validation actor
        split_corpus(clips, workdir / "split.json", seed=seed, force=True)
        splits.append(load_split(workdir / "split.json"))
        again = extract_features(clips, workdir / "features", params=params, jobs=1,
                                 corpus_fingerprint="corpus")  # fmt: skip
        assert again.up_to_date and again.clips_extracted == 0
    assert splits[0] != splits[1]
    assert {p.name: p.stat().st_mtime_ns for p in (workdir / "features").iterdir()} == before
    everything = load_features(workdir / "features", "svm")
    for split in splits:
        for stems in split.values():
            rows = [list(everything.filenames).index(stem) for stem in stems]
            selected = load_features(workdir / "features", "svm", stems).X
            np.testing.assert_array_equal(selected, everything.X[rows])
    assert first.clips == 36


def test_a_split_asking_for_a_bad_clip_gets_one_line_naming_it(workdir: Path) -> None:
    truncate_header(workdir / "data" / "AudioWAV" / "1003_DFA_HAP_XX.wav")
    clips = read_corpus(workdir / "data")
    extract_features(clips, workdir / "features", params=ExtractParams(kinds=("svm",)),
                     jobs=1, skip_bad=True, corpus_fingerprint="corpus")  # fmt: skip
    assert [c["filename"] for c in read_manifest(workdir / "features")["skipped"]] == [
        "1003_DFA_HAP_XX"
    ]
    asked = ["1001_DFA_ANG_XX", "1003_DFA_HAP_XX", "1004_DFA_SAD_XX"]
    with pytest.raises(SerbiasError) as error:
        load_features(workdir / "features", "svm", asked)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(
        f"{workdir / 'features'}: no svm features for 1 of the 3 clips asked for: 1 left out as "
        "bad at extraction (1003_DFA_HAP_XX; 1003_DFA_HAP_XX: not a readable WAV file ("
    )
    assert len(load_features(workdir / "features", "svm", [asked[0], asked[2]])) == 2
