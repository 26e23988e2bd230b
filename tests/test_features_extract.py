"""The feature store: shapes and order of the split, skip when current, bad clips, determinism."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest

from serbias.config import ExtractParams, load_params
from serbias.corpus.reader import read_corpus
from serbias.errors import SerbiasError
from serbias.features import load_features, read_manifest
from serbias.features.extract import ExtractSummary, extract_features
from serbias.features.logmel import LogMelExtractor, logmel_shape
from tests.feature_factory import (
    fake_wav,
    small_corpus,
    tone,
    truncate_header,
    write_wav,
)

PARAMS = ExtractParams()
REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


@pytest.fixture()
def corpus(tmp_path: Path) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    root, split = small_corpus(tmp_path / "corpus")
    return read_corpus(root), split


def run(
    clips: pd.DataFrame,
    split: dict[str, list[str]],
    out: Path,
    *,
    params: ExtractParams = PARAMS,
    corpus_fingerprint: str = "corpus-1",
    **options,
) -> ExtractSummary:
    options.setdefault("jobs", 1)
    return extract_features(
        clips, split, out, params=params, corpus_fingerprint=corpus_fingerprint,
        split_fingerprint="split-1", **options,
    )  # fmt: skip


def clip_path(clips: pd.DataFrame, stem: str) -> Path:
    return Path(clips.loc[clips["filename"] == stem, "path"].iloc[0])


def test_store_has_one_file_per_split_and_kind_in_split_order(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    done: list[int] = []
    summary = run(clips, split, tmp_path / "features", progress=done.append)
    assert not summary.up_to_date and summary.clips_extracted == sum(done) == 12
    assert summary.counts == {"train": 8, "val": 2, "test": 2}
    names = sorted(p.name for p in (tmp_path / "features").iterdir())
    assert names == sorted(
        ["manifest.json"] + [f"{s}_{k}.npz" for s in split for k in ("logmel", "svm")]
    )
    for name, stems in split.items():
        logmel = load_features(tmp_path / "features", name, "logmel")
        svm = load_features(tmp_path / "features", name, "svm")
        assert logmel.X.dtype == svm.X.dtype == np.float32
        assert logmel.X.shape == (len(stems), 128, 130)
        assert svm.X.shape == (len(stems), 200)
        assert list(logmel.filenames) == list(svm.filenames) == stems  # split order, not sorted
        assert logmel.columns is None and svm.columns[7] == "zcr_min"
        assert np.isfinite(logmel.X).all() and np.isfinite(svm.X).all()


def test_store_rows_match_an_independent_librosa_computation(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    run(clips, split, tmp_path / "features", kinds=["logmel"])
    train = load_features(tmp_path / "features", "train", "logmel")
    for row in (0, 5):
        y, _ = librosa.load(clip_path(clips, split["train"][row]), sr=22_050)
        mel = librosa.feature.melspectrogram(
            y=librosa.util.fix_length(y, size=66_150), sr=22_050, n_fft=2048, hop_length=512,
            n_mels=128,
        )  # fmt: skip
        np.testing.assert_allclose(train.X[row], librosa.power_to_db(mel, ref=np.max), atol=1e-4)


def test_manifest_records_params_fingerprints_versions_and_shapes(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    run(clips, split, tmp_path / "features")
    manifest = read_manifest(tmp_path / "features")
    assert manifest["params"]["n_mels"] == 128 and manifest["params"]["sample_rate"] == 22_050
    assert "jobs" not in manifest["params"]  # a run setting, not a feature parameter
    assert manifest["kinds"] == ["logmel", "svm"]
    assert manifest["corpus_fingerprint"] == "corpus-1"
    assert manifest["split_fingerprint"] == "split-1"
    libraries = {"numpy", "scipy", "librosa", "soundfile", "soxr", "serbias"}
    assert libraries <= set(manifest["versions"])
    assert manifest["files"]["val_logmel.npz"]["shape"] == [2, 128, 130]
    assert manifest["files"]["train_svm.npz"]["shape"] == [8, 200]
    assert manifest["skipped"] == []


def test_rerun_is_a_no_op_and_says_so(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    out = tmp_path / "features"
    run(clips, split, out)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()}
    done: list[int] = []
    again = run(clips, split, out, progress=done.append)
    assert again.up_to_date and again.clips_extracted == 0 and done == []
    assert again.counts == {"train": 8, "val": 2, "test": 2}
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()} == before
    # a subset of the stored kinds is current too
    assert run(clips, split, out, kinds=["svm"]).up_to_date
    # --force recomputes, byte for byte the same
    forced = run(clips, split, out, force=True)
    assert not forced.up_to_date
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {k: v[1] for k, v in before.items()}


def test_changed_parameter_or_input_recomputes(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    out = tmp_path / "features"
    run(clips, split, out)
    fewer_mels = dataclasses.replace(PARAMS, n_mels=64)
    summary = run(clips, split, out, params=fewer_mels)
    assert not summary.up_to_date
    assert load_features(out, "train", "logmel").X.shape == (8, 64, 130)
    assert read_manifest(out)["params"]["n_mels"] == 64
    assert run(clips, split, out, params=fewer_mels).up_to_date
    assert not run(clips, split, out, params=fewer_mels, corpus_fingerprint="corpus-2").up_to_date


def test_asking_for_a_kind_not_stored_recomputes(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    out = tmp_path / "features"
    run(clips, split, out, kinds=["svm"])
    with pytest.raises(SerbiasError, match=r"has no logmel features \(run `serbias extract"):
        load_features(out, "train", "logmel")
    summary = run(clips, split, out, kinds=["logmel", "svm"])
    assert not summary.up_to_date and summary.kinds == ("logmel", "svm")
    assert load_features(out, "train", "logmel").X.shape == (8, 128, 130)


def test_parallel_run_gives_byte_identical_files(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    serial = tmp_path / "serial"
    parallel = tmp_path / "parallel"
    run(clips, split, serial, jobs=1)
    summary = run(clips, split, parallel, jobs=2)
    assert summary.jobs == 2
    for path in serial.iterdir():
        assert (parallel / path.name).read_bytes() == path.read_bytes(), path.name


def test_odd_clips_give_finite_features_of_the_fixed_shape(tmp_path: Path) -> None:
    root, _ = small_corpus(tmp_path / "corpus")
    audio = root / "AudioWAV"
    odd = {
        "1001_DFA_ANG_XX": (tone(0.2, 16_000), 16_000),  # 0.2 s
        "1001_DFA_DIS_XX": (tone(10.0, 16_000), 16_000),  # 10 s
        "1001_DFA_FEA_XX": (np.zeros(16_000), 16_000),  # silence
        "1001_DFA_HAP_XX": (np.zeros(0), 16_000),  # empty
        "1001_DFA_NEU_XX": (np.column_stack([tone(1.0, 44_100)] * 2), 44_100),  # stereo 44.1 kHz
        "1001_DFA_SAD_XX": (tone(1.0, 8_000), 8_000),  # 8 kHz
    }
    for stem, (samples, rate) in odd.items():
        write_wav(audio / f"{stem}.wav", samples, rate)
    clips = read_corpus(root)
    split = {"train": list(odd), "val": [], "test": []}
    run(clips, split, tmp_path / "features")
    logmel = load_features(tmp_path / "features", "train", "logmel")
    svm = load_features(tmp_path / "features", "train", "svm")
    assert logmel.X.shape == (6, 128, 130) and svm.X.shape == (6, 200)
    assert np.isfinite(logmel.X).all() and np.isfinite(svm.X).all()
    np.testing.assert_array_equal(logmel.X[2], -80.0)  # silence sits at the floor
    empty = load_features(tmp_path / "features", "val", "logmel")
    assert empty.X.shape == (0, 128, 130) and empty.filenames.shape == (0,)


def test_missing_clip_file_is_named(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    clip_path(clips, split["val"][1]).unlink()
    with pytest.raises(SerbiasError, match=rf"clip {split['val'][1]} \(split val\): audio missing"):
        run(clips, split, tmp_path / "features")
    assert not (tmp_path / "features").exists()


def test_clip_not_in_corpus_is_named_or_skipped(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    split["test"].append("1077_DFA_ANG_XX")
    with pytest.raises(SerbiasError, match=r"clip 1077_DFA_ANG_XX \(split test\): audio missing"):
        run(clips, split, tmp_path / "features")
    summary = run(clips, split, tmp_path / "features", skip_bad=True)
    assert [clip.filename for clip in summary.bad] == ["1077_DFA_ANG_XX"]
    assert summary.counts["test"] == 2


def test_split_of_another_corpus_is_refused_even_with_skip_bad(corpus, tmp_path: Path) -> None:
    clips, _ = corpus
    other = {"train": ["1077_DFA_ANG_XX", "1078_DFA_ANG_XX"], "val": [], "test": []}
    with pytest.raises(SerbiasError, match="none of the 2 clips in the split has audio"):
        run(clips, other, tmp_path / "features", skip_bad=True)


@pytest.mark.parametrize(
    ("spoil", "jobs"),
    [(truncate_header, 1), (fake_wav, 1), (truncate_header, 2)],
    ids=["truncated", "text", "truncated-in-a-worker"],
)
def test_bad_file_stops_the_run_naming_it(corpus, tmp_path: Path, spoil, jobs: int) -> None:
    clips, split = corpus
    bad = spoil(clip_path(clips, split["train"][3]))
    with pytest.raises(SerbiasError, match=rf"{bad.name}: not a readable WAV file"):
        run(clips, split, tmp_path / "features", jobs=jobs)
    assert not (tmp_path / "features").exists()


def test_skip_bad_lists_and_leaves_out_bad_clips_everywhere(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    truncated, text, missing = split["train"][2], split["train"][6], split["test"][0]
    truncate_header(clip_path(clips, truncated))
    fake_wav(clip_path(clips, text))
    clip_path(clips, missing).unlink()
    out = tmp_path / "features"

    summary = run(clips, split, out, skip_bad=True, jobs=2)
    assert [(c.filename, c.split) for c in summary.bad] == [
        (truncated, "train"), (text, "train"), (missing, "test"),
    ]  # fmt: skip
    assert summary.counts == {"train": 6, "val": 2, "test": 1}
    manifest = read_manifest(out)
    assert [c["filename"] for c in manifest["skipped"]] == [truncated, text, missing]
    assert manifest["skipped"][0]["reason"].startswith("not a readable WAV file")
    assert manifest["skipped"][2]["reason"] == "audio file not found"
    assert str(tmp_path) not in json.dumps(manifest)  # reasons name clips, not machine paths
    for name, stems in split.items():
        kept = [s for s in stems if s not in (truncated, text, missing)]
        for kind in ("logmel", "svm"):
            features = load_features(out, name, kind)
            assert list(features.filenames) == kept
            stored = manifest["files"][f"{name}_{kind}.npz"]["shape"][0]
            assert len(features.X) == len(kept) == stored
    # rows stay aligned with their clips after the bad ones are cut out
    good_train = [s for s in split["train"] if s not in (truncated, text)]
    run(clips, {"train": good_train, "val": [], "test": []}, tmp_path / "reference")
    for kind in ("logmel", "svm"):
        expected = load_features(tmp_path / "reference", "train", kind).X
        np.testing.assert_array_equal(load_features(out, "train", kind).X, expected)

    assert run(clips, split, out, skip_bad=True).up_to_date
    with pytest.raises(SerbiasError, match=rf"clip {missing} \(split test\): audio missing"):
        run(clips, split, out)  # without --skip-bad the left-out clips are retried


def test_refuses_to_replace_a_directory_that_is_not_a_store(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("months of work")
    with pytest.raises(SerbiasError, match="not empty and not a feature store"):
        run(clips, split, out)
    assert (out / "thesis.tex").read_text() == "months of work"


def test_unknown_kind_is_refused(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    with pytest.raises(SerbiasError, match="feature kind 'mfcc' is not one of logmel, svm"):
        run(clips, split, tmp_path / "features", kinds=["mfcc"])


def test_loading_without_a_store_says_to_run_extract(tmp_path: Path) -> None:
    with pytest.raises(SerbiasError, match=r"no feature store found \(run `serbias extract`"):
        load_features(tmp_path / "nowhere", "train", "logmel")
    with pytest.raises(SerbiasError, match="feature kind 'cnn' is not one of"):
        load_features(tmp_path / "nowhere", "train", "cnn")


def test_feature_files_need_no_pickle(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    run(clips, split, tmp_path / "features")
    with np.load(tmp_path / "features" / "train_svm.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["X", "columns", "filenames"]
        assert npz["filenames"].dtype.kind == npz["columns"].dtype.kind == "U"


def test_extract_params_are_validated_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(SerbiasError, match=r"extract\.n_mels: 0, expected 1\.\.1025"):
        ExtractParams(n_mels=0)
    with pytest.raises(SerbiasError, match=r"extract\.fmax: 20000\.0, expected at most"):
        ExtractParams(fmax=20_000.0)
    with pytest.raises(SerbiasError, match=r"extract\.n_mfcc: 50"):
        ExtractParams(n_mfcc=50)
    path = tmp_path / "params.yaml"
    path.write_text("extract:\n  kinds: [logmel, mfcc]\n")
    with pytest.raises(SerbiasError, match=r"params extract\.kinds: 'mfcc' is not one of"):
        load_params(path)
    path.write_text("extract:\n  n_melz: 64\n")
    with pytest.raises(SerbiasError, match=r"params extract\.n_melz: unknown key"):
        load_params(path)


def test_repo_params_are_cpu_sized_and_the_paper_profile_is_the_reference() -> None:
    quick = load_params(REPO_PARAMS).extract
    assert (quick.sample_rate, quick.n_mels, quick.n_fft) == (16_000, 64, 2048)
    assert logmel_shape(quick) == (64, 94)
    assert LogMelExtractor.from_params(quick)(np.zeros(10, np.float32)).shape == (64, 94)
    paper = load_params(REPO_PARAMS, profile="paper").extract
    assert paper == ExtractParams()  # built-in defaults reproduce the study: 128 x 130
    assert logmel_shape(paper) == (128, 130)
