"""Splits: actor-disjoint speaker mode, the reference clip mode, reuse and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from serbias.corpus.reader import read_corpus
from serbias.corpus.split import load_split, make_split, split_corpus, split_summary, summary_path
from serbias.errors import SerbiasError


@pytest.fixture(scope="module")
def real_clips(crema_d_metadata: Path) -> pd.DataFrame:
    return read_corpus(crema_d_metadata, require_audio=False)


def _actors(clips: pd.DataFrame, stems: list[str]) -> set[int]:
    return set(clips.loc[clips["filename"].isin(stems), "actor_id"])


def test_speaker_split_is_actor_disjoint_and_covers_every_clip(real_clips: pd.DataFrame) -> None:
    splits = make_split(real_clips, mode="speaker", seed=0)
    train, val, test = (_actors(real_clips, splits[n]) for n in ("train", "val", "test"))
    assert not (train & val) and not (train & test) and not (val & test)
    assert (len(train), len(val), len(test)) == (73, 9, 9)
    assert sum(map(len, splits.values())) == len(real_clips)


def test_speaker_split_spreads_each_sex_and_race_across_splits(real_clips: pd.DataFrame) -> None:
    summary = split_summary(real_clips, make_split(real_clips, mode="speaker", seed=0))
    actors = summary.pivot_table(
        index="split", columns="sex", values="actors", aggfunc="sum", observed=True
    )
    for split in ("val", "test"):
        assert actors.loc[split, "Female"] >= 4 and actors.loc[split, "Male"] >= 4
    by_race = summary.pivot_table(
        index="split", columns="race", values="actors", aggfunc="sum", observed=True
    )
    assert (
        by_race.loc["val", "African American"] >= 2 and by_race.loc["test", "African American"] >= 2
    )


def test_speaker_split_depends_on_seed_only(real_clips: pd.DataFrame) -> None:
    assert make_split(real_clips, seed=3) == make_split(real_clips, seed=3)
    assert make_split(real_clips, seed=3) != make_split(real_clips, seed=4)


def test_clip_split_reproduces_stratified_80_10_10(real_clips: pd.DataFrame) -> None:
    splits = make_split(real_clips, mode="clip", seed=0)
    assert [len(splits[n]) for n in ("train", "val", "test")] == [5953, 744, 745]
    strata = real_clips["sex"].astype(str) + real_clips["race"].astype(str)
    overall = strata.value_counts(normalize=True)
    for name in ("train", "val", "test"):
        share = strata[real_clips["filename"].isin(splits[name])].value_counts(normalize=True)
        assert (share - overall).abs().max() < 0.01
    # the reference split leaks speakers: most test actors also appear in train
    assert len(_actors(real_clips, splits["test"]) & _actors(real_clips, splits["train"])) > 80


def test_sizes_below_one_leave_clips_out(real_clips: pd.DataFrame) -> None:
    splits = make_split(real_clips, sizes={"train": 0.5, "val": 0.1, "test": 0.1}, seed=0)
    assert sum(len(_actors(real_clips, s)) for s in splits.values()) == 64


def test_sizes_summing_over_one_are_refused(real_clips: pd.DataFrame) -> None:
    with pytest.raises(SerbiasError, match="summing to <= 1"):
        make_split(real_clips, sizes={"train": 0.8, "val": 0.2, "test": 0.1})


def test_split_file_is_written_reused_and_forced(tiny_corpus: Path, tmp_path: Path) -> None:
    clips = read_corpus(tiny_corpus)
    out = tmp_path / "split.json"
    first = split_corpus(clips, out, seed=1)
    assert not first.reused
    assert summary_path(out).is_file()
    written = json.loads(out.read_text())
    assert written["mode"] == "speaker" and written["seed"] == 1
    assert load_split(out, clips) == first.splits
    again = split_corpus(clips, out, seed=1)
    assert again.reused and again.splits == first.splits
    with pytest.raises(SerbiasError, match="exists with mode=speaker, seed=1.*--force"):
        split_corpus(clips, out, seed=2)
    assert split_corpus(clips, out, seed=2, force=True).seed == 2


def test_split_naming_clips_not_in_corpus(tiny_corpus: Path, tmp_path: Path) -> None:
    clips = read_corpus(tiny_corpus)
    out = tmp_path / "split.json"
    out.write_text(
        json.dumps({"train": ["1001_DFA_ANG_XX", "1077_DFA_ANG_XX"], "val": [], "test": []})
    )
    with pytest.raises(
        SerbiasError, match=r"split.json: 1 clip\(s\) not in the corpus \(e.g. 1077_DFA_ANG_XX\)"
    ):
        load_split(out, clips)


def test_unreadable_split_file(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(SerbiasError, match="s.json: not a readable split JSON"):
        load_split(tmp_path / "s.json")
    with pytest.raises(SerbiasError, match="split file not found"):
        load_split(tmp_path / "missing.json")


# ----------------------------------------------------------------------------- folds


def test_folds_test_every_actor_once_actor_disjoint_and_stratified(real_clips, tmp_path):
    from serbias.corpus.split import load_folds

    sizes = {"train": 0.8, "val": 0.2, "test": 0.0}
    result = split_corpus(real_clips, tmp_path / "cv.json", sizes=sizes, seed=3, folds=5)
    folds = load_folds(tmp_path / "cv.json", real_clips)
    assert len(folds) == len(result.folds) == 5
    tested = [_actors(real_clips, fold["test"]) for fold in folds]
    assert sum(map(len, tested)) == 91 and set().union(*tested) == set(real_clips["actor_id"])
    for fold, test_actors in zip(folds, tested, strict=True):
        train, val = _actors(real_clips, fold["train"]), _actors(real_clips, fold["val"])
        assert not (train & val) and not (train & test_actors) and not (val & test_actors)
        assert len(train | val | test_actors) == 91
        assert 18 <= len(test_actors) <= 19
        sexes = real_clips.loc[real_clips["actor_id"].isin(test_actors), "sex"]
        # 43 women and 48 men dealt to the fold with the fewest actors: 8-9 / 9-10 per fold
        assert 8 <= (sexes.groupby(real_clips["actor_id"]).first() == "Female").sum() <= 9
    # every clip is tested once: the top-level test list is the whole corpus
    assert sorted(result.splits["test"]) == sorted(real_clips["filename"])
    assert result.splits["train"] == result.splits["val"] == []
    # same seed, same folds; the summary lists folds
    again = split_corpus(real_clips, tmp_path / "again.json", sizes=sizes, seed=3, folds=5)
    assert again.folds == result.folds
    summary = pd.read_csv(summary_path(tmp_path / "cv.json"))
    assert sorted(summary["fold"].unique()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("folds", "mode", "message"),
    [
        (1, "speaker", "--folds 1: expected at least 2 folds"),
        (44, "speaker", "--folds 44: the corpus has only 43 Female actor"),
        (5, "clip", "--folds with --mode clip: cross-validation folds are speaker-grouped"),
    ],
)
def test_bad_fold_counts_and_clip_mode_are_refused(real_clips, tmp_path, folds, mode, message):
    with pytest.raises(SerbiasError, match=message.replace("(", r"\(")):
        split_corpus(real_clips, tmp_path / "cv.json", mode=mode, folds=folds)
