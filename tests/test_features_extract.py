"""The feature store: every clip once per kind, rows selected per split, skip when current,
bad clips, determinism."""

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
from serbias.features.logmel import LOGMEL
from serbias.features.store import MANIFEST
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
    out: Path,
    *,
    params: ExtractParams = PARAMS,
    corpus_fingerprint: str = "corpus-1",
    **options,
) -> ExtractSummary:
    options.setdefault("jobs", 1)
    return extract_features(
        clips, out, params=params, corpus_fingerprint=corpus_fingerprint, **options
    )


def clip_path(clips: pd.DataFrame, stem: str) -> Path:
    return Path(clips.loc[clips["filename"] == stem, "path"].iloc[0])


def test_store_holds_every_clip_once_per_kind_and_splits_select_rows(corpus, tmp_path) -> None:
    clips, split = corpus
    done: list[int] = []
    summary = run(clips, tmp_path / "features", progress=done.append)
    assert not summary.up_to_date and summary.clips_extracted == summary.clips == sum(done) == 12
    names = sorted(p.name for p in (tmp_path / "features").iterdir())
    assert names == ["logmel.npz", "manifest.json", "svm.npz"]
    everything = load_features(tmp_path / "features", "logmel")
    assert list(everything.filenames) == list(clips["filename"])  # corpus order
    assert everything.X.shape == (12, 128, 130)
    for stems in split.values():
        logmel = load_features(tmp_path / "features", "logmel", stems)
        svm = load_features(tmp_path / "features", "svm", stems)
        assert logmel.X.dtype == svm.X.dtype == np.float32
        assert logmel.X.shape == (len(stems), 128, 130)
        assert svm.X.shape == (len(stems), 200)
        assert list(logmel.filenames) == list(svm.filenames) == stems  # split order, not sorted
        assert logmel.columns is None and svm.columns[7] == "zcr_min"
        assert np.isfinite(logmel.X).all() and np.isfinite(svm.X).all()
        rows = [list(clips["filename"]).index(stem) for stem in stems]
        np.testing.assert_array_equal(logmel.X, everything.X[rows])
    # any order, repeats included (a bootstrap resample), and no rows at all
    picked = [split["train"][3], split["test"][0], split["train"][3]]
    again = load_features(tmp_path / "features", "svm", picked)
    assert list(again.filenames) == picked
    np.testing.assert_array_equal(again.X[0], again.X[2])
    assert load_features(tmp_path / "features", "logmel", []).X.shape == (0, 128, 130)


def test_store_rows_match_an_independent_librosa_computation(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    run(clips, tmp_path / "features", kinds=["logmel"])
    train = load_features(tmp_path / "features", "logmel", split["train"])
    for row in (0, 5):
        y, _ = librosa.load(clip_path(clips, split["train"][row]), sr=22_050)
        mel = librosa.feature.melspectrogram(
            y=librosa.util.fix_length(y, size=66_150), sr=22_050, n_fft=2048, hop_length=512,
            n_mels=128,
        )  # fmt: skip
        np.testing.assert_allclose(train.X[row], librosa.power_to_db(mel, ref=np.max), atol=1e-4)


def test_manifest_records_params_fingerprint_versions_and_shapes(corpus, tmp_path) -> None:
    clips, _ = corpus
    run(clips, tmp_path / "features")
    manifest = read_manifest(tmp_path / "features")
    assert manifest["params"]["logmel"]["n_mels"] == 128
    assert manifest["params"]["sample_rate"] == 22_050
    assert manifest["params"]["svm"] == {"window": 0.025, "step": 0.01, "n_mfcc": 12,
                                         "n_mfcc_filters": 40}  # fmt: skip
    assert "jobs" not in manifest["params"]  # a run setting, not a feature parameter
    assert manifest["kinds"] == ["logmel", "svm"]
    assert manifest["corpus_fingerprint"] == "corpus-1"
    assert "split_fingerprint" not in manifest  # splits select rows; they are not extracted
    libraries = {"numpy", "scipy", "librosa", "soundfile", "soxr", "serbias"}
    assert libraries <= set(manifest["versions"])
    assert manifest["files"]["logmel.npz"]["shape"] == [12, 128, 130]
    assert manifest["files"]["svm.npz"]["shape"] == [12, 200]
    assert manifest["clips"] == 12 and manifest["skipped"] == []
    svm = load_features(tmp_path / "features", "svm")
    assert svm.params == {"sample_rate": 22_050, "duration": 3.0, "svm": manifest["params"]["svm"]}


def test_rerun_is_a_no_op_and_says_so(corpus, tmp_path: Path) -> None:
    clips, _ = corpus
    out = tmp_path / "features"
    run(clips, out)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()}
    done: list[int] = []
    again = run(clips, out, progress=done.append)
    assert again.up_to_date and again.clips_extracted == 0 and done == []
    assert again.clips == 12 and again.shapes["svm.npz"] == (12, 200)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()} == before
    # a subset of the stored kinds is current too, even when another kind's params changed
    assert run(clips, out, kinds=["svm"]).up_to_date
    assert run(clips, out, kinds=["svm"], params=PARAMS.with_params("logmel", n_mels=64)).up_to_date
    # --force recomputes, byte for byte the same
    forced = run(clips, out, force=True)
    assert not forced.up_to_date
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {k: v[1] for k, v in before.items()}


def test_changed_parameter_or_input_recomputes(corpus, tmp_path: Path) -> None:
    clips, _ = corpus
    out = tmp_path / "features"
    run(clips, out)
    fewer_mels = PARAMS.with_params("logmel", n_mels=64)
    summary = run(clips, out, params=fewer_mels)
    assert not summary.up_to_date
    assert load_features(out, "logmel").X.shape == (12, 64, 130)
    assert read_manifest(out)["params"]["logmel"]["n_mels"] == 64
    assert run(clips, out, params=fewer_mels).up_to_date
    other_rate = dataclasses.replace(fewer_mels, sample_rate=16_000)
    assert not run(clips, out, params=other_rate).up_to_date
    assert not run(clips, out, params=fewer_mels, corpus_fingerprint="corpus-2").up_to_date


def test_asking_for_a_kind_not_stored_recomputes(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    out = tmp_path / "features"
    run(clips, out, kinds=["svm"])
    with pytest.raises(SerbiasError, match=r"has no logmel features \(run `serbias extract"):
        load_features(out, "logmel", split["train"])
    summary = run(clips, out, kinds=["logmel", "svm"])
    assert not summary.up_to_date and summary.kinds == ("logmel", "svm")
    assert load_features(out, "logmel", split["train"]).X.shape == (8, 128, 130)


def test_parallel_run_gives_byte_identical_files(corpus, tmp_path: Path) -> None:
    clips, _ = corpus
    serial = tmp_path / "serial"
    parallel = tmp_path / "parallel"
    run(clips, serial, jobs=1)
    summary = run(clips, parallel, jobs=2)
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
    run(clips, tmp_path / "features")
    logmel = load_features(tmp_path / "features", "logmel", list(odd))
    svm = load_features(tmp_path / "features", "svm", list(odd))
    assert logmel.X.shape == (6, 128, 130) and svm.X.shape == (6, 200)
    assert np.isfinite(logmel.X).all() and np.isfinite(svm.X).all()
    np.testing.assert_array_equal(logmel.X[2], -80.0)  # silence sits at the floor
    empty = load_features(tmp_path / "features", "logmel", [])
    assert empty.X.shape == (0, 128, 130) and empty.filenames.shape == (0,)


def test_missing_clip_file_is_named(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    clip_path(clips, split["val"][1]).unlink()  # deleted after the corpus was read
    with pytest.raises(SerbiasError, match=rf"clip {split['val'][1]}: audio missing, .* not found"):
        run(clips, tmp_path / "features")
    assert not (tmp_path / "features").exists()


def test_a_corpus_without_audio_is_refused_even_with_skip_bad(corpus, tmp_path: Path) -> None:
    clips, _ = corpus
    for path in clips["path"]:
        Path(path).unlink()
    with pytest.raises(SerbiasError, match="none of the 12 clips of the corpus has audio"):
        run(clips, tmp_path / "features", skip_bad=True)


def test_clips_the_store_lacks_are_named_in_one_line(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    run(clips, tmp_path / "features")
    other = [*split["test"], "1077_DFA_ANG_XX", "1078_DFA_ANG_XX"]
    with pytest.raises(SerbiasError) as error:
        load_features(tmp_path / "features", "svm", other)
    message = str(error.value)
    assert "\n" not in message
    assert message.endswith(
        "no svm features for 2 of the 4 clips asked for: 2 not in the corpus the store was "
        "extracted from (1077_DFA_ANG_XX, 1078_DFA_ANG_XX)"
    )


def test_a_store_in_the_old_per_split_format_says_to_rerun(corpus, tmp_path: Path) -> None:
    clips, _ = corpus
    out = tmp_path / "features"
    run(clips, out)
    manifest = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps({**manifest, "format_version": 1}))
    with pytest.raises(SerbiasError, match=r"format 1, this serbias reads format 2 .*rerun"):
        load_features(out, "svm")
    assert not run(clips, out).up_to_date  # and extract replaces it


@pytest.mark.parametrize(
    ("spoil", "jobs"),
    [(truncate_header, 1), (fake_wav, 1), (truncate_header, 2)],
    ids=["truncated", "text", "truncated-in-a-worker"],
)
def test_bad_file_stops_the_run_naming_it(corpus, tmp_path: Path, spoil, jobs: int) -> None:
    clips, split = corpus
    bad = spoil(clip_path(clips, split["train"][3]))
    with pytest.raises(SerbiasError, match=rf"{bad.name}: not a readable WAV file"):
        run(clips, tmp_path / "features", jobs=jobs)
    assert not (tmp_path / "features").exists()


def test_skip_bad_lists_and_leaves_out_bad_clips_everywhere(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    truncated, text, missing = split["train"][2], split["train"][6], split["test"][0]
    truncate_header(clip_path(clips, truncated))
    fake_wav(clip_path(clips, text))
    clip_path(clips, missing).unlink()
    out = tmp_path / "features"

    summary = run(clips, out, skip_bad=True, jobs=2)
    order = list(clips["filename"])
    bad = sorted([truncated, text, missing], key=order.index)
    assert [c.filename for c in summary.bad] == bad  # in corpus order
    assert summary.clips == 9
    manifest = read_manifest(out)
    reasons = {c["filename"]: c["reason"] for c in manifest["skipped"]}
    assert list(reasons) == bad
    assert reasons[truncated].startswith("not a readable WAV file")
    assert reasons[missing] == "audio file not found"
    assert str(tmp_path) not in json.dumps(manifest)  # reasons name clips, not machine paths
    good = [stem for stem in order if stem not in bad]
    for kind in ("logmel", "svm"):
        features = load_features(out, kind)
        assert list(features.filenames) == good
        assert len(features.X) == manifest["files"][f"{kind}.npz"]["shape"][0] == 9
    # rows stay aligned with their clips after the bad ones are cut out
    reference = tmp_path / "reference"
    run(clips[clips["filename"].isin(good)], reference)
    for kind in ("logmel", "svm"):
        expected = load_features(reference, kind, good).X
        np.testing.assert_array_equal(load_features(out, kind, good).X, expected)
    # a split asking for a bad clip gets one line naming it and why it was left out
    with pytest.raises(SerbiasError) as error:
        load_features(out, "logmel", split["train"])
    assert "\n" not in str(error.value)
    assert (
        f"no logmel features for 2 of the 8 clips asked for: 2 left out as bad at extraction "
        f"({', '.join(sorted([truncated, text], key=split['train'].index))}; " in str(error.value)
    )

    assert run(clips, out, skip_bad=True).up_to_date
    with pytest.raises(SerbiasError, match=rf"clip {missing}: audio missing"):
        run(clips, out)  # without --skip-bad the left-out clips are retried


def test_refuses_to_replace_a_directory_that_is_not_a_store(corpus, tmp_path: Path) -> None:
    clips, _ = corpus
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("months of work")
    with pytest.raises(SerbiasError, match="not empty and not a feature store"):
        run(clips, out)
    assert (out / "thesis.tex").read_text() == "months of work"


def test_unknown_kind_is_refused(corpus, tmp_path: Path) -> None:
    clips, _ = corpus
    with pytest.raises(SerbiasError, match="feature kind 'mfcc' is not one of logmel, svm"):
        run(clips, tmp_path / "features", kinds=["mfcc"])


def test_loading_without_a_store_says_to_run_extract(tmp_path: Path) -> None:
    with pytest.raises(SerbiasError, match=r"no feature store found \(run `serbias extract`"):
        load_features(tmp_path / "nowhere", "logmel")
    with pytest.raises(SerbiasError, match="feature kind 'cnn' is not one of"):
        load_features(tmp_path / "nowhere", "cnn")


def test_feature_files_need_no_pickle(corpus, tmp_path: Path) -> None:
    clips, _ = corpus
    run(clips, tmp_path / "features")
    with np.load(tmp_path / "features" / "svm.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["X", "columns", "filenames"]
        assert npz["filenames"].dtype.kind == npz["columns"].dtype.kind == "U"


def test_a_store_recompressed_by_hand_still_loads_the_same_rows(corpus, tmp_path: Path) -> None:
    clips, split = corpus
    out = tmp_path / "features"
    run(clips, out, kinds=["svm"])
    expected = load_features(out, "svm", split["train"])
    with np.load(out / "svm.npz", allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    np.savez_compressed(out / "svm.npz", **arrays)  # members no longer at a fixed offset
    again = load_features(out, "svm", split["train"])
    np.testing.assert_array_equal(again.X, expected.X)
    assert list(again.filenames) == split["train"]


def test_extract_params_are_validated_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(SerbiasError, match=r"extract\.logmel\.n_mels: 0, expected 1\.\.1025"):
        PARAMS.with_params("logmel", n_mels=0)
    with pytest.raises(SerbiasError, match=r"extract\.logmel\.fmax: 20000\.0, expected at most"):
        ExtractParams(sample_rate=16_000, kind_params={"logmel": {"fmax": 20_000.0}})
    with pytest.raises(SerbiasError, match=r"extract\.svm\.n_mfcc: 50"):
        PARAMS.with_params("svm", n_mfcc=50)
    with pytest.raises(SerbiasError, match=r"extract\.kinds: 'mfcc', expected one of logmel, svm"):
        ExtractParams(kinds=("logmel", "mfcc"))
    with pytest.raises(SerbiasError, match=r"extract\.mfcc: not a feature kind"):
        ExtractParams(kind_params={"mfcc": {}})
    path = tmp_path / "params.yaml"
    path.write_text("extract:\n  kinds: [logmel, mfcc]\n")
    with pytest.raises(SerbiasError, match=r"extract\.kinds: 'mfcc', expected one of"):
        load_params(path)
    path.write_text("extract:\n  n_mels: 64\n")  # the old flat layout
    with pytest.raises(SerbiasError, match=r"params extract\.n_mels: unknown key .*logmel, svm"):
        load_params(path)
    path.write_text("extract:\n  logmel:\n    n_melz: 64\n")
    with pytest.raises(SerbiasError, match=r"params extract\.logmel\.n_melz: unknown key"):
        load_params(path)
    path.write_text("extract:\n  svm:\n    window: fast\n")
    with pytest.raises(SerbiasError, match=r"params extract\.svm\.window: expected a number"):
        load_params(path)


def test_repo_params_are_cpu_sized_and_the_paper_profile_is_the_reference() -> None:
    quick = load_params(REPO_PARAMS).extract
    assert (quick.sample_rate, quick.of("logmel").n_mels, quick.of("logmel").n_fft) == (
        16_000, 32, 2048,
    )  # fmt: skip
    assert LOGMEL.row_shape(quick.of("logmel"), quick) == (32, 47)
    extractor = LOGMEL.extractor(quick.of("logmel"), quick)
    assert extractor(np.zeros(10, np.float32)).shape == (32, 47)
    paper = load_params(REPO_PARAMS, profile="paper").extract
    assert paper == ExtractParams()  # built-in defaults reproduce the study: 128 x 130
    assert LOGMEL.row_shape(paper.of("logmel"), paper) == (128, 130)
