"""Human listeners as a baseline (hand-computed, on a metadata-only corpus, on real CREMA-D)."""

from __future__ import annotations

import shutil
from fractions import Fraction as F
from pathlib import Path

import pandas as pd
import pytest

from serbias.audit import HUMAN_SYSTEM, AuditParams, group_labels, human_scored, run_audit
from serbias.corpus.reader import read_corpus
from serbias.errors import SerbiasError
from tests.audit.clips import balanced_actors, make_clips, noisy_scores, write_predictions
from tests.factory import write_corpus

# Two actors (one Female, one Male), each an Anger and a Sad clip, with voice-only votes.
VOTES = {  # A, D, F, H, N, S
    "1001_DFA_ANG_XX": (3, 0, 0, 0, 1, 0),  # 3 of 4 say Anger
    "1001_DFA_SAD_XX": (1, 0, 0, 0, 2, 1),  # 1 of 4 says Sad
    "1002_DFA_ANG_XX": (2, 2, 0, 0, 0, 0),  # 2 of 4 say Anger
    "1002_DFA_SAD_XX": (0, 0, 0, 0, 0, 4),  # 4 of 4 say Sad
}


def _voted_clips() -> pd.DataFrame:
    clips = make_clips(
        [
            (1001, "Female", "Caucasian", "Not Hispanic", 30),
            (1002, "Male", "Asian", "Hispanic", 60),
        ],
        emotions=("ANG", "SAD"),
    )
    for j, letter in enumerate("ADFHNS"):
        clips[f"voice_{letter}"] = pd.array([VOTES[n][j] for n in clips["filename"]], dtype="Int64")
    return clips


def test_human_metrics_are_per_response_and_match_hand_computation() -> None:
    result = run_audit(
        [], _voted_clips(), AuditParams(human_baseline=True, n_boot=20, n_perm=20, min_actors=2)
    )
    values = result.by_group.set_index(["axis", "group", "metric"])["value"]
    # accuracy: responses naming the intended emotion / all responses = (3 + 1 + 2 + 4) / 16
    assert values[("overall", "all", "accuracy")] == float(F(10, 16))
    assert values[("sex", "Female", "accuracy")] == float(F(4, 8))
    assert values[("sex", "Male", "accuracy")] == float(F(6, 8))
    # recall for Sad: Sad responses to Sad clips / responses to Sad clips
    assert values[("overall", "all", "recall_Sad")] == float(F(5, 8))
    assert values[("sex", "Female", "recall_Sad")] == float(F(1, 4))
    assert values[("sex", "Male", "recall_Sad")] == 1.0
    # precision for Anger: 5 of the 6 "Anger" responses were to Anger clips
    assert values[("overall", "all", "precision_Anger")] == pytest.approx(5 / 6)
    assert result.human.n_responses == 16 and result.human.n_clips == 4
    # one actor per group: listed, never compared
    sex_gaps = result.gaps[(result.gaps["axis"] == "sex") & (result.gaps["kind"] == "vs_reference")]
    assert sex_gaps["flagged"].all() and sex_gaps["gap"].isna().all()
    assert result.metrics["human.overall.accuracy"] == 0.625


def test_clips_without_votes_are_left_out_and_counted() -> None:
    clips = _voted_clips()
    clips.loc[0, [f"voice_{letter}" for letter in "ADFHNS"]] = pd.NA
    scored, n_unrated = human_scored(clips, group_labels(clips))
    assert n_unrated == 1 and scored.n_clips == 3
    assert scored.weight.sum() == 12


def test_missing_vote_counts_are_an_error() -> None:
    clips = _voted_clips().drop(columns=["voice_S"])
    with pytest.raises(SerbiasError, match=r"no voice vote counts .*tabulatedVotes\.csv"):
        run_audit([], clips, AuditParams(human_baseline=True))


def test_human_baseline_on_a_metadata_only_directory(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "corpus")
    shutil.rmtree(root / "AudioWAV")
    clips = read_corpus(root, require_audio=False)
    result = run_audit([], clips, AuditParams(human_baseline=True, n_boot=20, n_perm=20))
    # the factory's votes: 6 for the intended emotion + 4 Neutral (Neutral clips: 10 of 10);
    # per actor 20 non-Neutral clips (120 of 200 right) and 2 Neutral clips (20 of 20 right)
    overall = result.by_group[
        (result.by_group["axis"] == "overall") & (result.by_group["metric"] == "accuracy")
    ]
    assert overall["value"].iloc[0] == float(F(140, 220))
    assert result.analyses[0].system == HUMAN_SYSTEM


def test_real_crema_d_voice_only_accuracy_is_40_00_percent(crema_d_metadata: Path) -> None:
    clips = read_corpus(crema_d_metadata, require_audio=False)
    result = run_audit([], clips, AuditParams(human_baseline=True, n_boot=10, n_perm=10))
    assert result.human.n_responses == 68_568
    assert result.metrics["human.overall.accuracy"] == 27_429 / 68_568
    assert f"{result.metrics['human.overall.accuracy']:.2%}" == "40.00%"
    assert result.metrics["human.overall.n_actors"] == 91


def test_listeners_gap_sits_beside_the_models_with_a_paired_interval(tmp_path: Path) -> None:
    clips = make_clips(balanced_actors(4, 3), sentences=("DFA", "IEO"))
    for j, letter in enumerate("ADFHNS"):  # 3 votes for the intended emotion, 1 for Neutral
        intended = clips["emotion"].cat.codes.to_numpy() == j
        clips[f"voice_{letter}"] = pd.array(3 * intended + (letter == "N"), dtype="Int64")
    path = write_predictions(tmp_path / "p.csv", noisy_scores(clips, seed=1))
    result = run_audit(
        [path],
        clips,
        AuditParams(human_baseline=True, n_boot=200, n_perm=50, n_chance=2, min_actors=3),
    )
    model, listeners = result.analyses
    assert listeners.references == model.references  # Male, fixed by vocabulary
    row = result.gaps[
        (result.gaps["system"] == "p")
        & (result.gaps["axis"] == "sex")
        & (result.gaps["kind"] == "vs_reference")
        & (result.gaps["metric"] == "macro_f1")
    ].iloc[0]
    human_row = result.gaps[
        (result.gaps["system"] == HUMAN_SYSTEM)
        & (result.gaps["axis"] == "sex")
        & (result.gaps["metric"] == "macro_f1")
    ].iloc[0]
    assert row["human_gap"] == human_row["gap"]
    assert row["excess_gap"] == pytest.approx(row["gap"] - human_row["gap"])
    assert row["excess_ci_low"] < row["excess_gap"] < row["excess_ci_high"]
