"""``serbias synth``: the embedded synthetic CREMA-D corpus.

Layout and formats as upstream, CREMA-D demographics and design, determinism, planted bias,
human-like ratings, and emotions that are learnable but not trivially so.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from serbias import vocab
from serbias.cli import app
from serbias.corpus.reader import read_corpus
from serbias.corpus.synth import (
    count_clips,
    design_clips,
    draw_actors,
    generate_corpus,
    parse_bias,
)
from serbias.corpus.synth.design import MISSING_IN_CREMA_D, BiasSpec, parse_biases
from serbias.corpus.synth.files import r_levels, r_number
from serbias.corpus.synth.ratings import VOICE_CONFUSION, response_shares
from serbias.corpus.synth.voice import syllabify
from serbias.errors import SerbiasError

runner = CliRunner()


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _f0_semitones(path: Path) -> np.ndarray:
    """F0 (semitones re 1 Hz) of the loud, periodic frames of a clip (YIN)."""
    import librosa

    samples, rate = sf.read(path)
    rms = librosa.feature.rms(y=samples, frame_length=1024, hop_length=256)[0]
    zcr = librosa.feature.zero_crossing_rate(samples, frame_length=1024, hop_length=256)[0]
    f0 = librosa.yin(samples, fmin=60, fmax=600, sr=rate, frame_length=1024, hop_length=256)
    db = 20 * np.log10(rms + 1e-9)
    voiced = (db > db.max() - 25) & (zcr < 0.12)
    return 12 * np.log2(f0[voiced])


def _acoustic_stats(path: Path) -> list[float]:
    """F0 mean/std, RMS energy mean/std (dB, speech frames) and duration of one clip."""
    import librosa

    samples, rate = sf.read(path)
    db = 20 * np.log10(librosa.feature.rms(y=samples, frame_length=1024, hop_length=256)[0] + 1e-9)
    speech = db[db > db.max() - 25]
    f0 = _f0_semitones(path)
    return [f0.mean(), f0.std(), speech.mean(), speech.std(), len(samples) / rate]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 actors x 2 sentences (352 clips), the shape of a small default corpus."""
    root = tmp_path_factory.mktemp("synth") / "corpus"
    generate_corpus(root, actors=16, sentences=2, seed=0, jobs=1)
    return root


@pytest.fixture(scope="module")
def clip_truth(corpus: Path) -> pd.DataFrame:
    return pd.read_csv(corpus / "synth_clips.csv")


# --- layout and formats -------------------------------------------------------------------


def test_writes_the_crema_d_layout(corpus: Path) -> None:
    wavs = sorted((corpus / "AudioWAV").glob("*.wav"))
    assert len(wavs) == 16 * (16 + 6)
    assert all(
        re.fullmatch(r"10(0[1-9]|1[0-6])_(IEO|TIE)_[A-Z]{3}_(LO|MD|HI|XX)\.wav", p.name)
        for p in wavs
    )
    info = sf.info(wavs[0])
    assert (info.samplerate, info.channels, info.subtype, info.format) == (
        16000,
        1,
        "PCM_16",
        "WAV",
    )
    seconds = [sf.info(p).duration for p in wavs]
    assert min(seconds) > 1.2 and max(seconds) < 4.5  # CREMA-D clips: about 1.3-5 s
    for name in (
        "VideoDemographics.csv",
        "SentenceFilenames.csv",
        "synth.json",
        "synth_clips.csv",
        "processedResults/summaryTable.csv",
        "processedResults/tabulatedVotes.csv",
    ):
        assert (corpus / name).is_file(), name


@pytest.mark.parametrize(
    "name",
    [
        "VideoDemographics.csv",
        "SentenceFilenames.csv",
        "processedResults/summaryTable.csv",
        "processedResults/tabulatedVotes.csv",
    ],
)
def test_headers_match_the_real_files(corpus: Path, crema_d_metadata: Path, name: str) -> None:
    ours = (corpus / name).read_text().splitlines()[0]
    real = (crema_d_metadata / name).read_text().splitlines()[0]
    assert ours == real


def test_rows_are_quoted_like_upstream(corpus: Path) -> None:
    demographics = (corpus / "VideoDemographics.csv").read_text().splitlines()
    assert re.fullmatch(
        r'1001,\d\d,"(Male|Female)","[A-Za-z ]+","(Not )?Hispanic"', demographics[1]
    )
    summary = (corpus / "processedResults/summaryTable.csv").read_text().splitlines()
    assert summary[0].startswith('"","FileName","VoiceVote","VoiceLevel"')
    assert re.fullmatch(r'"1","1001_IEO_NEU_XX"(,"[ADFHNS:]+","[\d.:]+"){3}', summary[1])
    votes = (corpus / "processedResults/tabulatedVotes.csv").read_text().splitlines()
    assert re.match(r'"100001",(\d+,){6}"1001_IEO_NEU_XX",\d+,[\d.]+,"[ADFHNS:]+",', votes[1])
    n_clips = len(summary) - 1
    assert len(votes) == 1 + 3 * n_clips
    assert votes[1 + n_clips].startswith('"200001",') and votes[1 + 2 * n_clips].startswith(
        '"300001",'
    )


def test_clip_order_follows_upstream(corpus: Path) -> None:
    names = [row[1] for row in csv.reader((corpus / "SentenceFilenames.csv").open())][1:17]
    assert names[:4] == ["1001_IEO_NEU_XX", "1001_IEO_HAP_LO", "1001_IEO_HAP_MD", "1001_IEO_HAP_HI"]
    assert names[-3:] == ["1001_IEO_DIS_LO", "1001_IEO_DIS_MD", "1001_IEO_DIS_HI"]


def test_votes_agree_with_summary_table(corpus: Path) -> None:
    votes = pd.read_csv(corpus / "processedResults/tabulatedVotes.csv", index_col=0)
    voice = votes[votes.index < 200_000].set_index("fileName")
    summary = pd.read_csv(corpus / "processedResults/summaryTable.csv", keep_default_na=False)
    letters = list(vocab.VOTE_LETTERS)
    counts = voice[letters]
    majority = counts.apply(lambda row: ":".join(c for c in letters if row[c] == row.max()), axis=1)
    assert (summary.set_index("FileName")["VoiceVote"] == majority).all()
    assert (voice["numResponses"] == counts.sum(axis=1)).all()
    assert np.allclose(voice["agreement"], counts.max(axis=1) / voice["numResponses"])
    assert voice["numResponses"].between(7, 12).all()
    # the mean intensity of the voted emotion is the summary's VoiceLevel
    first = voice.iloc[0]
    vote = first["emoVote"].split(":")[0]
    word = dict(zip(letters, vocab.EMOTION_NAMES, strict=True))[vote]
    level = float(summary["VoiceLevel"].iloc[0].split(":")[0])
    assert level == pytest.approx(first[f"mean{word}Resp"], abs=0.005)


def test_r_style_number_formats() -> None:
    assert r_number(10 / 11) == "0.909090909090909"
    assert r_number(789 / 11) == "71.7272727272727"
    assert r_number(1.0) == "1" and r_number(-1) == "-1"
    assert r_levels([69.1]) == "69.1"
    assert r_levels([57.0]) == "57"
    assert r_levels([37.2, 58.6]) == "37.2:58.6"
    assert r_levels([244 / 3, 191 / 3]) == "81.33:63.67"
    assert r_levels([48.5, 49.0]) == "48.5:49.0"
    assert r_levels([39, 89, 251 / 3]) == "39.00:89.00:83.67"


def test_generated_corpus_passes_the_reader_without_warnings(corpus: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clips = read_corpus(corpus, strict=True)
    assert [str(w.message) for w in caught] == []
    assert len(clips) == 352 and clips["actor_id"].nunique() == 16
    assert clips["voice_vote"].map(len).min() >= 1
    assert clips["voice_A"].notna().all() and clips["av_S"].notna().all()


# --- design and demographics --------------------------------------------------------------


def test_full_design_has_the_7442_clips_of_crema_d() -> None:
    assert count_clips(91, full=True) == 7442
    assert count_clips(91, sentences=12) == 91 * 82
    assert count_clips(30, sentences=6) == 30 * (16 + 5 * 6)
    names = {c.filename for c in design_clips(range(1001, 1092), full=True)}
    assert not names & MISSING_IN_CREMA_D and len(MISSING_IN_CREMA_D) == 20


def test_full_design_names_equal_the_real_clip_list(crema_d_metadata: Path) -> None:
    real = pd.read_csv(crema_d_metadata / "SentenceFilenames.csv")["Filename"]
    ours = [c.filename for c in design_clips(range(1001, 1092), full=True)]
    assert sorted(ours) == sorted(real)


def test_91_actors_match_real_demographics_exactly() -> None:
    actors = draw_actors(91, seed=5)
    assert [a.actor_id for a in actors] == list(range(1001, 1092))
    assert Counter(a.sex for a in actors) == {"Male": 48, "Female": 43}
    assert Counter(a.race for a in actors) == {
        "Caucasian": 61,
        "African American": 22,
        "Asian": 7,
        "Unknown": 1,
    }
    assert Counter(a.ethnicity for a in actors)["Hispanic"] == 10
    ages = [a.age for a in actors]
    assert (min(ages), int(np.median(ages)), max(ages)) == (20, 33, 74)


def test_91_actors_have_the_real_sex_by_race_table(crema_d_metadata: Path) -> None:
    real = pd.read_csv(crema_d_metadata / "VideoDemographics.csv")
    expected = Counter(zip(real["Sex"], real["Race"], real["Ethnicity"], strict=True))
    assert Counter((a.sex, a.race, a.ethnicity) for a in draw_actors(91, seed=0)) == expected


@pytest.mark.parametrize("n_actors", [2, 3, 4, 5, 8, 16, 30, 60])
def test_small_casts_keep_both_sexes_and_the_two_largest_races(n_actors: int) -> None:
    actors = draw_actors(n_actors, seed=1)
    assert len(actors) == n_actors
    assert {a.sex for a in actors} == {"Female", "Male"}
    assert {"Caucasian", "African American"} <= {a.race for a in actors}
    if n_actors >= 4:
        assert {(a.sex, a.race) for a in actors} >= {
            ("Female", "Caucasian"),
            ("Male", "Caucasian"),
            ("Female", "African American"),
            ("Male", "African American"),
        }
    if n_actors >= 30:
        women = sum(a.sex == "Female" for a in actors)
        assert abs(women / n_actors - 43 / 91) < 0.05


def test_demographics_are_drawn_from_the_seed() -> None:
    assert draw_actors(30, seed=2) == draw_actors(30, seed=2)
    assert [a.sex for a in draw_actors(30, seed=2)] != [a.sex for a in draw_actors(30, seed=3)]


def test_syllables_are_timed_from_the_text() -> None:
    assert len(syllabify("It's eleven o'clock")) == 6
    assert len(syllabify("We'll stop in a couple of minutes")) == 9
    assert len(syllabify("The surface is slick")) == 5
    assert [s.vowel for s in syllabify("The surface is slick")][1:3] == ["ʌ", "æ"]


# --- determinism and atomic writing -------------------------------------------------------


def test_same_seed_gives_identical_files_in_any_number_of_processes(tmp_path: Path) -> None:
    generate_corpus(tmp_path / "a", actors=3, sentences=1, seed=7, jobs=1)
    generate_corpus(tmp_path / "b", actors=3, sentences=1, seed=7, jobs=2)
    generate_corpus(tmp_path / "c", actors=3, sentences=1, seed=8, jobs=1)
    first, again, other = (_hashes(tmp_path / n) for n in "abc")
    assert len(first) == 48 + 6 and first == again
    assert first.keys() == other.keys()
    wavs = [k for k in first if k.endswith(".wav")]
    assert all(first[k] != other[k] for k in wavs)


def test_non_empty_out_dir_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(SerbiasError, match=r"not empty.*--force"):
        generate_corpus(out, actors=2, sentences=1, jobs=1)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    generate_corpus(out, actors=2, sentences=1, jobs=1, force=True)
    assert not (out / "notes.txt").exists() and len(list((out / "AudioWAV").iterdir())) == 32
    assert [p.name for p in tmp_path.iterdir()] == ["corpus"]  # no temp dirs left behind


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actors": 1}, "actors: 1 is not in 2..91"),
        ({"sentences": 13}, "sentences: 13 is not in 1..12"),
        ({"raters": 0}, "raters: 0 must be at least 1"),
        ({"jobs": 0}, "jobs: 0 must be at least 1"),
        ({"seed": -1}, "seed: -1 must be a whole number >= 0"),
    ],
)
def test_bad_sizes_are_errors_and_write_nothing(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(SerbiasError, match=re.escape(message)):
        generate_corpus(tmp_path / "corpus", **kwargs)
    assert not (tmp_path / "corpus").exists()


# --- planted bias -------------------------------------------------------------------------


def test_bias_specs_parse_case_insensitively() -> None:
    assert parse_bias("sex=female:0.8") == BiasSpec("sex", "Female", 0.8)
    assert parse_bias("Race=african american:0.5") == BiasSpec("race", "African American", 0.5)
    assert parse_bias("race_binary=Non-Caucasian:1") == BiasSpec(
        "race_binary", "Non-Caucasian", 1.0
    )
    assert str(parse_bias("ethnicity=HISPANIC:0")) == "ethnicity=Hispanic:0"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sex", "expected GROUP=VALUE:STRENGTH"),
        ("sex=Female", "expected GROUP=VALUE:STRENGTH"),
        ("=Female:0.5", "expected GROUP=VALUE:STRENGTH"),
        ("age=20:0.5", "group 'age' is not one of sex, race, race_binary, ethnicity"),
        ("sex=Man:0.5", "sex value 'Man' is not one of Female, Male"),
        ("race=Klingon:0.2", "race value 'Klingon' is not one of African American, Asian"),
        ("sex=Female:high", "strength 'high' is not a number in [0, 1]"),
        ("sex=Female:1.5", "strength '1.5' is not a number in [0, 1]"),
        ("sex=Female:-0.1", "strength '-0.1' is not a number in [0, 1]"),
    ],
)
def test_bad_bias_specs_name_the_spec_and_what_was_expected(spec: str, message: str) -> None:
    with pytest.raises(SerbiasError, match=re.escape(message)) as caught:
        parse_bias(spec)
    assert repr(spec) in str(caught.value)


def test_the_same_group_twice_is_an_error() -> None:
    with pytest.raises(SerbiasError, match="sex=Female is given more than once"):
        parse_biases(["sex=Female:0.5", "SEX=female:0.7"])


def test_bias_weakens_only_the_targeted_group(tmp_path: Path) -> None:
    generate_corpus(tmp_path / "fair", actors=4, sentences=2, seed=3, jobs=1)
    generate_corpus(
        tmp_path / "biased", actors=4, sentences=2, seed=3, jobs=1, bias=["sex=Female:1"]
    )
    fair, biased = _hashes(tmp_path / "fair"), _hashes(tmp_path / "biased")
    truth = pd.read_csv(tmp_path / "biased" / "synth_clips.csv")
    sex = dict(
        (a["actor_id"], a["sex"])
        for a in json.loads((tmp_path / "biased" / "synth.json").read_text())["actors"]
    )
    truth["sex"] = truth["actor_id"].map(sex)
    for row in truth.itertuples():
        wav = f"AudioWAV/{row.filename}.wav"
        if row.sex == "Male" or row.emotion == "NEU":
            assert fair[wav] == biased[wav], row.filename
        else:
            assert fair[wav] != biased[wav], row.filename
    female = truth["sex"] == "Female"
    assert (truth.loc[female, "strength"] == 0).all() and (
        truth.loc[female & (truth.emotion != "NEU"), "natural_strength"] > 0
    ).all()

    def f0_stats(root: Path, emotion: str) -> tuple[float, float]:
        names = truth.loc[female & (truth["emotion"] == emotion), "filename"]
        f0 = [_f0_semitones(root / "AudioWAV" / f"{n}.wav") for n in names]
        return float(np.mean([x.mean() for x in f0])), float(np.mean([x.std() for x in f0]))

    neutral_mean, neutral_range = f0_stats(tmp_path / "fair", "NEU")
    fair_mean, fair_range = f0_stats(tmp_path / "fair", "ANG")
    biased_mean, biased_range = f0_stats(tmp_path / "biased", "ANG")
    # angry women sound like neutral women: F0 level and range fall back toward neutral
    assert abs(biased_mean - neutral_mean) < 0.5 * abs(fair_mean - neutral_mean)
    assert abs(biased_range - neutral_range) < 0.5 * abs(fair_range - neutral_range)

    manifest = json.loads((tmp_path / "biased" / "synth.json").read_text())
    assert manifest["parameters"]["bias"] == ["sex=Female:1"]
    assert manifest["bias"] == [
        {"spec": "sex=Female:1", "group": "sex", "value": "Female", "strength": 1.0}
    ]
    assert {a["sex"]: a["bias_factor"] for a in manifest["actors"]} == {"Female": 0.0, "Male": 1.0}


def test_bias_shows_in_human_ratings_too(tmp_path: Path) -> None:
    generate_corpus(
        tmp_path / "biased", actors=8, sentences=2, seed=4, jobs=1, bias=["race=African American:1"]
    )
    clips = read_corpus(tmp_path / "biased")
    emotional = clips[clips["emotion"] != "NEU"]
    letters = emotional["emotion"].map(vocab.LETTER_BY_EMOTION).astype(str)
    rows = zip(letters, emotional.iterrows(), strict=True)
    hit = np.array([row[f"voice_{letter}"] for letter, (_, row) in rows])
    neutral_share = emotional["voice_N"] / emotional[
        [f"voice_{c}" for c in vocab.VOTE_LETTERS]
    ].sum(axis=1)
    target = (emotional["race"] == "African American").to_numpy()
    assert hit[target].mean() < 0.5 * hit[~target].mean()
    assert neutral_share[target].mean() > neutral_share[~target].mean() + 0.2


# --- ratings ------------------------------------------------------------------------------


def test_rating_shares_follow_crema_d_and_strength() -> None:
    assert np.allclose(
        response_shares(VOICE_CONFUSION, "ANG", 1.0),
        np.array(VOICE_CONFUSION[0]) / sum(VOICE_CONFUSION[0]),
    )
    assert np.allclose(
        response_shares(VOICE_CONFUSION, "SAD", 0.0),
        np.array(VOICE_CONFUSION[4]) / sum(VOICE_CONFUSION[4]),
    )
    assert np.allclose(response_shares(VOICE_CONFUSION, "NEU", 2.0), VOICE_CONFUSION[4])
    weak, strong = (response_shares(VOICE_CONFUSION, "HAP", s) for s in (0.5, 1.5))
    assert weak[3] < VOICE_CONFUSION[3][3] < strong[3]
    assert weak[4] > strong[4]


def test_embedded_confusions_are_the_real_voice_only_rates(crema_d_metadata: Path) -> None:
    votes = pd.read_csv(crema_d_metadata / "processedResults/tabulatedVotes.csv", index_col=0)
    voice = votes[votes.index < 200_000]
    emotion = voice["fileName"].str.split("_").str[2]
    counts = voice.groupby(emotion)[list(vocab.VOTE_LETTERS)].sum().loc[list(vocab.EMOTIONS)]
    rates = counts.div(counts.sum(axis=1), axis=0).to_numpy()
    assert np.abs(rates - np.array(VOICE_CONFUSION)).max() < 0.001


def test_simulated_raters_behave_like_crema_d_voice_raters(corpus: Path) -> None:
    votes = pd.read_csv(corpus / "processedResults/tabulatedVotes.csv", index_col=0)
    voice = votes[votes.index < 200_000]
    emotion = voice["fileName"].str.split("_").str[2].map(vocab.LETTER_BY_EMOTION)
    letters = list(vocab.VOTE_LETTERS)
    counts = voice.groupby(emotion)[letters].sum()
    correct = sum(counts.loc[letter, letter] for letter in counts.index)
    accuracy = correct / counts.to_numpy().sum()
    assert 0.35 <= accuracy <= 0.5
    wrong = counts.copy()
    for letter in wrong.index:
        wrong.loc[letter, letter] = 0
    assert wrong.drop(index="N").sum(axis=0).idxmax() == "N"  # neutral is the main confusion
    assert json.loads((corpus / "synth.json").read_text())["ratings"][
        "voice_accuracy"
    ] == pytest.approx(accuracy)
    face = votes[(votes.index >= 200_000) & (votes.index < 300_000)]
    face_counts = face.groupby(emotion.to_numpy())[letters].sum()
    face_accuracy = (
        sum(face_counts.loc[c, c] for c in face_counts.index) / face_counts.to_numpy().sum()
    )
    assert face_accuracy > accuracy + 0.1


# --- acoustics ----------------------------------------------------------------------------


def test_emotion_strength_grows_with_level(clip_truth: pd.DataFrame) -> None:
    angry = clip_truth[clip_truth["emotion"] == "ANG"]
    loudness = angry.groupby("level")["level_dbfs"].mean()
    assert loudness["LO"] < loudness["MD"] < loudness["HI"]
    strength = clip_truth[clip_truth["emotion"] != "NEU"].groupby("level")["strength"].mean()
    assert strength["LO"] < strength["MD"] < strength["HI"]
    assert 0.7 < strength["XX"] / strength["MD"] < 1.4


def test_emotions_are_learnable_but_not_trivial(corpus: Path, clip_truth: pd.DataFrame) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    stats = np.array(
        [_acoustic_stats(corpus / "AudioWAV" / f"{n}.wav") for n in clip_truth["filename"]]
    )
    emotion, actor = clip_truth["emotion"].to_numpy(), clip_truth["actor_id"].to_numpy()
    model = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced")
    )

    def macro_f1(columns: list[int]) -> float:
        predicted = cross_val_predict(
            model, stats[:, columns], emotion, groups=actor, cv=GroupKFold(4)
        )
        return f1_score(emotion, predicted, average="macro")

    assert 0.3 < macro_f1([0, 1, 2, 3, 4]) < 0.9  # chance is 1/6
    assert macro_f1([4]) < 0.3  # clip length alone gives (almost) nothing away


# --- command line -------------------------------------------------------------------------


def test_cli_writes_a_corpus_and_reports_it(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    args = [
        "synth",
        str(out),
        "--actors",
        "2",
        "--sentences",
        "1",
        "--seed",
        "3",
        "--jobs",
        "1",
        "--bias",
        "race=african american:0.5",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "32 clips" in result.output and "Female" in result.output
    assert "race=African American:0.5" in result.output and "synth.json" in result.output
    manifest = json.loads((out / "synth.json").read_text())
    assert manifest["parameters"] == {
        "actors": 2,
        "sentences": 1,
        "full": False,
        "seed": 3,
        "bias": ["race=African American:0.5"],
        "raters": 10,
    }
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "not empty" in again.output and "Traceback" not in again.output
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output


def test_cli_defaults_come_from_params_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "params.yaml").write_text(
        "base:\n  seed: 11\nsynth:\n  actors: 3\n  sentences: 1\n  jobs: 1\n"
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["synth", "corpus"])
    assert result.exit_code == 0, result.output
    parameters = json.loads((tmp_path / "corpus" / "synth.json").read_text())["parameters"]
    assert (parameters["actors"], parameters["sentences"], parameters["seed"]) == (3, 1, 11)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--bias", "sex=Man:0.5"],
            "error: bias 'sex=Man:0.5': sex value 'Man' is not one of Female, Male",
        ),
        (["--actors", "92"], "synth.actors: 92 is not in 2..91"),
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["synth", str(tmp_path / "corpus"), *args])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "corpus").exists()


@pytest.mark.slow
def test_full_corpus_is_the_size_of_crema_d(tmp_path: Path) -> None:
    summary = generate_corpus(tmp_path / "full", actors=91, full=True, seed=0)
    assert summary.n_clips == 7442
    clips = read_corpus(tmp_path / "full", strict=True)
    assert len(clips) == 7442 and clips["actor_id"].nunique() == 91
    assert clips.drop_duplicates("actor_id")["sex"].value_counts().to_dict() == {
        "Male": 48,
        "Female": 43,
    }
