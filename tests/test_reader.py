"""The CREMA-D reader: real metadata, tiny corpora, and every bad input named in the issue."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from serbias import vocab
from serbias.corpus.reader import CLIP_COLUMNS, read_corpus, vote_columns
from serbias.errors import CorpusWarning, SerbiasError
from tests.factory import DEMOGRAPHICS, clip_names, write_corpus


def test_real_metadata_has_91_actors_and_7442_rated_clips(crema_d_metadata: Path) -> None:
    clips = read_corpus(crema_d_metadata, require_audio=False)
    assert len(clips) == 7442
    actors = clips.groupby("actor_id", observed=True).first()
    assert len(actors) == 91
    assert actors["sex"].value_counts().to_dict() == {"Male": 48, "Female": 43}
    assert actors["race"].value_counts().to_dict() == {
        "Caucasian": 61,
        "African American": 22,
        "Asian": 7,
        "Unknown": 1,
    }
    assert (actors["ethnicity"] == "Hispanic").sum() == 10
    assert (actors["age"].min(), actors["age"].max(), actors["age"].median()) == (20, 74, 33)
    assert clips["level"].value_counts().to_dict() == {"XX": 6077, "LO": 455, "MD": 455, "HI": 455}
    # 8.65% of clips have tied voice votes, kept as several letters
    assert (clips["voice_vote"].map(len) > 1).sum() == round(0.0865 * 7442)
    assert int(clips[vote_columns("voice")].to_numpy().sum()) == 68_568


def test_tiny_corpus_gives_the_tidy_table(tiny_corpus: Path) -> None:
    clips = read_corpus(tiny_corpus)
    assert list(clips.columns[: len(CLIP_COLUMNS)]) == list(CLIP_COLUMNS)
    assert list(clips.columns[len(CLIP_COLUMNS) :]) == (
        vote_columns("voice") + vote_columns("face") + vote_columns("av")
    )
    assert len(clips) == len(DEMOGRAPHICS) * 22
    assert clips["filename"].is_monotonic_increasing
    first = clips.iloc[0]
    assert first["filename"] == "1001_DFA_ANG_XX"
    assert Path(first["path"]).is_file()
    assert (first["actor_id"], first["sentence"], first["emotion"], first["level"]) == (
        1001,
        "DFA",
        "ANG",
        "XX",
    )
    assert (first["sex"], first["race"], first["race_binary"], first["age"]) == (
        "Male",
        "Caucasian",
        "Caucasian",
        51,
    )
    assert first["voice_vote"] == ["A"]
    assert first["voice_A"] == 6 and first["voice_N"] == 4


def test_vocabularies_are_fixed_ordered_categories(tiny_corpus: Path) -> None:
    clips = read_corpus(tiny_corpus)
    assert tuple(clips["emotion"].cat.categories) == vocab.EMOTIONS
    assert tuple(clips["sex"].cat.categories) == ("Female", "Male")
    assert tuple(clips["race"].cat.categories) == vocab.RACES
    assert tuple(clips["race_binary"].cat.categories) == ("Caucasian", "Non-Caucasian")
    # label ids do not depend on which values happen to be present
    only_male = read_corpus(write_corpus(tiny_corpus.parent / "m", clip_names([1001])))
    assert list(only_male["sex"].cat.codes.unique()) == [1]


def test_ties_are_kept_as_several_letters(tiny_corpus: Path) -> None:
    table = tiny_corpus / "processedResults" / "summaryTable.csv"
    text = table.read_text().replace('"1001_DFA_ANG_XX","A"', '"1001_DFA_ANG_XX","A:N"')
    table.write_text(text)
    clips = read_corpus(tiny_corpus)
    assert clips.loc[clips["filename"] == "1001_DFA_ANG_XX", "voice_vote"].item() == ["A", "N"]


def test_metadata_only_directory_needs_require_audio_false(tiny_corpus: Path) -> None:
    for wav in (tiny_corpus / "AudioWAV").iterdir():
        wav.unlink()
    (tiny_corpus / "AudioWAV").rmdir()
    with pytest.raises(SerbiasError, match="AudioWAV: audio directory not found"):
        read_corpus(tiny_corpus)
    clips = read_corpus(tiny_corpus, require_audio=False)
    assert len(clips) == len(DEMOGRAPHICS) * 22 and clips["path"].isna().all()


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(SerbiasError, match="nowhere: corpus directory not found"):
        read_corpus(tmp_path / "nowhere")


def test_no_wavs(tiny_corpus: Path) -> None:
    for wav in (tiny_corpus / "AudioWAV").iterdir():
        wav.unlink()
    with pytest.raises(SerbiasError, match="no .wav files found"):
        read_corpus(tiny_corpus)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("1001-DFA-ANG-XX", "'1001-DFA-ANG-XX' is not a CREMA-D clip name"),
        ("1001_DFA_JOY_XX", "emotion 'JOY' is not one of ANG, DIS, FEA, HAP, NEU, SAD"),
        ("1001_DFA_ANG_ZZ", "level 'ZZ' is not one of LO, MD, HI, XX"),
    ],
)
def test_bad_clip_names_are_named(tiny_corpus: Path, name: str, message: str) -> None:
    (tiny_corpus / "AudioWAV" / f"{name}.wav").write_bytes(b"")
    with pytest.raises(SerbiasError, match=message):
        read_corpus(tiny_corpus)


def test_actor_missing_from_demographics(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "c", clip_names([1001, 1099]))
    with pytest.raises(
        SerbiasError, match=r"VideoDemographics.csv: actor 1099 \(clip 1099_DFA_ANG_XX\) is missing"
    ):
        read_corpus(root)


def test_unrated_clip_warns_and_counts_or_errors_when_strict(tmp_path: Path) -> None:
    names = clip_names([1001, 1002])
    root = write_corpus(tmp_path / "c", names, rated=names[2:])
    with pytest.warns(CorpusWarning, match="2 clip\\(s\\) have no ratings"):
        clips = read_corpus(root)
    assert clips["voice_vote"].map(len).eq(0).sum() == 2
    with pytest.raises(SerbiasError, match="summaryTable.csv: 2 clip\\(s\\) have no ratings"):
        read_corpus(root, strict=True)


def test_fully_rated_corpus_reads_without_warnings(tiny_corpus: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_corpus(tiny_corpus, strict=True)


def test_duplicated_clip(tiny_corpus: Path) -> None:
    (tiny_corpus / "AudioWAV" / "1001_DFA_ANG_XX.WAV").write_bytes(b"")
    with pytest.raises(SerbiasError, match="clip 1001_DFA_ANG_XX appears twice"):
        read_corpus(tiny_corpus)


def test_duplicated_rating_row(tiny_corpus: Path) -> None:
    table = tiny_corpus / "processedResults" / "summaryTable.csv"
    lines = table.read_text().splitlines()
    table.write_text("\n".join([*lines, lines[1]]) + "\n")
    with pytest.raises(
        SerbiasError, match="summaryTable.csv: clip 1001_IEO_ANG_LO is listed twice"
    ):
        read_corpus(tiny_corpus)


def test_unreadable_csv(tiny_corpus: Path) -> None:
    (tiny_corpus / "VideoDemographics.csv").write_bytes(b"\xff\xfe\x00garbage\x00\n\x00")
    with pytest.raises(
        SerbiasError, match="VideoDemographics.csv: (unreadable CSV|missing column)"
    ):
        read_corpus(tiny_corpus)


def test_demographic_value_outside_vocabulary(tiny_corpus: Path) -> None:
    path = tiny_corpus / "VideoDemographics.csv"
    path.write_text(path.read_text().replace('"Asian"', '"Martian"'))
    with pytest.raises(SerbiasError, match="column Race has 'Martian', expected one of"):
        read_corpus(tiny_corpus)


def test_missing_metadata_file(tiny_corpus: Path) -> None:
    (tiny_corpus / "processedResults" / "summaryTable.csv").unlink()
    with pytest.raises(SerbiasError, match="summaryTable.csv: file not found"):
        read_corpus(tiny_corpus)
