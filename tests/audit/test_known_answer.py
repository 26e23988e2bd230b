"""A 12-clip audit worked out by hand: per-group recall, precision, F1, accuracy and gaps."""

from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import pandas as pd
import pytest

from serbias.audit import AuditParams, run_audit
from tests.audit.clips import make_clips

# Two Female actors (1001, 1002) and two Male actors (1003, 1004), each portraying Anger,
# Happy and Sad once: 12 clips. The system covers those three emotions only.
ACTORS = [
    (1001, "Female", "Caucasian", "Not Hispanic", 25),
    (1002, "Female", "African American", "Not Hispanic", 35),
    (1003, "Male", "Caucasian", "Not Hispanic", 25),
    (1004, "Male", "African American", "Not Hispanic", 35),
]
SETTINGS = AuditParams(n_boot=50, n_perm=50, n_chance=3, min_actors=2, reference=("sex=Male",))
# Scores for Anger, Happy, Sad; >= 0.5 is a prediction (0.5 itself counts, 0.49 does not).
SCORES = {
    "1001_DFA_ANG_XX": (0.9, 0.1, 0.2),  # predicts {Anger}           right
    "1001_DFA_HAP_XX": (0.1, 0.8, 0.5),  # predicts {Happy, Sad}      wrong (extra Sad)
    "1001_DFA_SAD_XX": (0.2, 0.3, 0.7),  # predicts {Sad}             right
    "1002_DFA_ANG_XX": (0.49, 0.2, 0.1),  # predicts {}               wrong (nothing)
    "1002_DFA_HAP_XX": (0.0, 1.0, 0.0),  # predicts {Happy}           right
    "1002_DFA_SAD_XX": (0.6, 0.1, 0.3),  # predicts {Anger}           wrong
    "1003_DFA_ANG_XX": (0.7, 0.2, 0.2),  # predicts {Anger}           right
    "1003_DFA_HAP_XX": (0.8, 0.4, 0.1),  # predicts {Anger}           wrong
    "1003_DFA_SAD_XX": (0.1, 0.1, 0.9),  # predicts {Sad}             right
    "1004_DFA_ANG_XX": (0.95, 0.0, 0.0),  # predicts {Anger}          right
    "1004_DFA_HAP_XX": (0.2, 0.6, 0.1),  # predicts {Happy}           right
    "1004_DFA_SAD_XX": (0.1, 0.55, 0.3),  # predicts {Happy}          wrong
}

# Female: Anger  true {1001A, 1002A}, predicted {1001A, 1002S}: TP 1 FP 1 FN 1
#         Happy  true {1001H, 1002H}, predicted {1001H, 1002H}: TP 2 FP 0 FN 0
#         Sad    true {1001S, 1002S}, predicted {1001H, 1001S}: TP 1 FP 1 FN 1
# recall = TP/(TP+FN), precision = TP/(TP+FP), F1 = 2TP/(2TP+FP+FN)
FEMALE = {
    "recall_Anger": F(1, 2),
    "recall_Happy": F(1),
    "recall_Sad": F(1, 2),
    "precision_Anger": F(1, 2),
    "precision_Happy": F(1),
    "precision_Sad": F(1, 2),
    "f1_Anger": F(2, 4),
    "f1_Happy": F(4, 4),
    "f1_Sad": F(2, 4),
    "macro_f1": (F(1, 2) + 1 + F(1, 2)) / 3,  # = 2/3
    "accuracy": F(3, 6),  # exact rows: 1001A, 1001S, 1002H
    "selection_rate_Anger": F(2, 6),
    "selection_rate_Happy": F(2, 6),
    "selection_rate_Sad": F(2, 6),
}
# Male:   Anger  true {1003A, 1004A}, predicted {1003A, 1003H, 1004A}: TP 2 FP 1 FN 0
#         Happy  true {1003H, 1004H}, predicted {1004H, 1004S}:        TP 1 FP 1 FN 1
#         Sad    true {1003S, 1004S}, predicted {1003S}:               TP 1 FP 0 FN 1
MALE = {
    "recall_Anger": F(1),
    "recall_Happy": F(1, 2),
    "recall_Sad": F(1, 2),
    "precision_Anger": F(2, 3),
    "precision_Happy": F(1, 2),
    "precision_Sad": F(1),
    "f1_Anger": F(4, 5),
    "f1_Happy": F(2, 4),
    "f1_Sad": F(2, 3),
    "macro_f1": (F(4, 5) + F(1, 2) + F(2, 3)) / 3,  # = 59/90
    "accuracy": F(4, 6),  # exact rows: 1003A, 1003S, 1004A, 1004H
    "selection_rate_Anger": F(3, 6),
    "selection_rate_Happy": F(2, 6),
    "selection_rate_Sad": F(1, 6),
}
# All 12: Anger TP 3 FP 2 FN 1; Happy TP 3 FP 1 FN 1; Sad TP 2 FP 1 FN 2
OVERALL = {
    "recall_Anger": F(3, 4),
    "recall_Happy": F(3, 4),
    "recall_Sad": F(2, 4),
    "f1_Anger": F(6, 9),
    "f1_Happy": F(6, 8),
    "f1_Sad": F(4, 7),
    "macro_f1": (F(6, 9) + F(6, 8) + F(4, 7)) / 3,
    "accuracy": F(7, 12),
}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):
    clips = make_clips(ACTORS, emotions=("ANG", "HAP", "SAD"))
    path = tmp_path_factory.mktemp("known") / "system.csv"
    table = (
        pd.DataFrame(SCORES, index=["Anger", "Happy", "Sad"])
        .T.rename_axis("Filename")
        .reset_index()
    )
    table.to_csv(path, index=False)
    return run_audit([path], clips, SETTINGS)


def _values(result, axis: str, group: str) -> pd.Series:
    rows = result.by_group[(result.by_group["axis"] == axis) & (result.by_group["group"] == group)]
    return rows.set_index("metric")["value"]


@pytest.mark.parametrize(("group", "expected"), [("Female", FEMALE), ("Male", MALE)])
def test_group_metrics_match_hand_computation(result, group: str, expected: dict) -> None:
    values = _values(result, "sex", group)
    for metric, fraction in expected.items():
        assert values[metric] == pytest.approx(float(fraction), abs=1e-15), metric


def test_overall_metrics_match_hand_computation(result) -> None:
    values = _values(result, "overall", "all")
    for metric, fraction in OVERALL.items():
        assert values[metric] == pytest.approx(float(fraction), abs=1e-15), metric


def test_only_covered_emotions_are_scored(result) -> None:
    assert result.systems[0].emotions == ("ANG", "HAP", "SAD")
    assert not result.by_group["metric"].str.contains("Disgust|Fear|Neutral").any()


def test_gaps_to_reference_are_group_minus_male(result) -> None:
    gaps = result.gaps[(result.gaps["axis"] == "sex") & (result.gaps["kind"] == "vs_reference")]
    gaps = gaps.set_index("metric")
    assert (gaps["reference"] == "Male").all() and (gaps["group"] == "Female").all()
    assert gaps.loc["macro_f1", "gap"] == pytest.approx(
        float(F(2, 3) - F(59, 90)), abs=1e-15
    )  # 1/90
    assert gaps.loc["recall_Anger", "gap"] == pytest.approx(-0.5, abs=1e-15)
    assert gaps.loc["recall_Sad", "gap"] == pytest.approx(0.0, abs=1e-15)
    assert gaps.loc["recall_Anger", "ratio"] == pytest.approx(0.5)
    # difference to overall, per group
    female = result.by_group[
        (result.by_group["group"] == "Female") & (result.by_group["metric"] == "accuracy")
    ]
    assert female["diff_to_overall"].iloc[0] == pytest.approx(float(F(3, 6) - F(7, 12)))


def test_group_sizes_are_reported_in_clips_and_actors(result) -> None:
    sizes = result.group_sizes.set_index(["axis", "group"])
    assert sizes.loc[("sex", "Female"), "n_clips"] == 6
    assert sizes.loc[("sex", "Female"), "n_actors"] == 2
    assert sizes.loc[("age_band", "20-29"), "n_actors"] == 2
    assert sizes.loc[("sex_x_race", "Male/African American"), "n_actors"] == 1
    assert sizes.loc[("sex_x_race", "Male/African American"), "flagged"]


def test_flat_metrics_carry_the_hand_computed_numbers(result) -> None:
    metrics = result.metrics
    assert metrics["intended.sex.Female.recall_Anger"] == 0.5
    assert metrics["intended.sex.Male.macro_f1"] == pytest.approx(59 / 90)
    assert metrics["intended.sex.Female_vs_Male.recall_Anger.gap"] == -0.5
    assert metrics["intended.sex.Female.n_actors"] == 2
    assert all(isinstance(v, int | float) for v in metrics.values())


def test_stem_and_wav_filenames_give_the_same_audit(result, tmp_path: Path) -> None:
    clips = make_clips(ACTORS, emotions=("ANG", "HAP", "SAD"))
    table = pd.DataFrame(SCORES, index=["Anger", "Happy", "Sad"]).T
    table.index = [f"AudioWAV/{name}.WAV" for name in table.index]
    path = tmp_path / "wav_names.csv"
    table.rename_axis("Filename").reset_index().to_csv(path, index=False)
    again = run_audit([path], clips, SETTINGS)
    pd.testing.assert_frame_equal(
        again.by_group.drop(columns="system"), result.by_group.drop(columns="system")
    )


# Each actor portrays each emotion once, so an emotion's F1 for one actor is 1, 2/3 or 0:
#   1001: Anger {A} TP 1; Happy {H} TP 1; Sad predicted on H and S: TP 1 FP 1 -> F1 2/3
#         macro-F1 (1 + 1 + 2/3) / 3 = 8/9, exact 2 of 3 (A, S)
#   1002: Anger predicted on S only: TP 0 FP 1 FN 1 -> 0; Happy TP 1 -> 1; Sad FN 1 -> 0
#         macro-F1 1/3, exact 1 of 3 (H)
#   1003: Anger predicted on A and H: 2/3; Happy FN 1 -> 0; Sad 1: macro-F1 5/9, exact 2 of 3
#   1004: Anger 1; Happy predicted on H and S: 2/3; Sad FN 1 -> 0: macro-F1 5/9, exact 2 of 3
BY_ACTOR = {
    1001: (F(8, 9), F(2, 3)),
    1002: (F(1, 3), F(1, 3)),
    1003: (F(5, 9), F(2, 3)),
    1004: (F(5, 9), F(2, 3)),
}


def test_by_actor_matches_hand_computation(result, tmp_path: Path) -> None:
    from serbias.audit import write_audit
    from serbias.audit._speakers import actor_spread, worst_actors

    files = write_audit(result, tmp_path / "out")
    by_actor = pd.read_csv(files["by_actor"]).set_index("actor_id")
    assert list(by_actor.index) == [1001, 1002, 1003, 1004]
    for actor, (macro_f1, accuracy) in BY_ACTOR.items():
        assert by_actor.loc[actor, "macro_f1"] == pytest.approx(float(macro_f1))
        assert by_actor.loc[actor, "accuracy"] == pytest.approx(float(accuracy))
        assert by_actor.loc[actor, "n_clips"] == 3
    assert list(by_actor["sex"]) == ["Female", "Female", "Male", "Male"]
    assert list(by_actor["race"]) == ["Caucasian", "African American"] * 2

    spread = actor_spread(result.by_actor, {"sex": "Male"}).set_index("group")
    # Female 8/9 and 1/3: mean 11/18, SD (5/9) / sqrt(2); Male 5/9 twice: SD 0
    assert spread.loc["Female", "mean"] == pytest.approx(11 / 18)
    assert spread.loc["Female", "sd"] == pytest.approx(5 / 9 / 2**0.5)
    assert spread.loc["Male", "sd"] == 0.0
    assert spread.loc["Female", "sd_gap"] == pytest.approx(5 / 9 / 2**0.5)
    assert list(worst_actors(result.by_actor)["actor_id"]) == [1002, 1003, 1004, 1001]
    report = files["report_md"].read_text()
    assert "Speakers one by one" in report and "lowest macro-F1" in report
