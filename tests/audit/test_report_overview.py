"""The report's first screen: verdict words (hand-computed), the forest plot, the ground-truth
box on planted and clean synthetic corpora, the listeners by default, and the report's size."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from serbias.audit import HUMAN_SYSTEM, AuditParams, audit_stage, run_audit, write_audit
from serbias.audit._ground_truth import PlantedBias, expected_sign, outcome, read_planted
from serbias.audit._verdicts import verdict, verdict_table
from serbias.config import PathsParams
from serbias.corpus.reader import read_corpus
from serbias.corpus.synth.generate import generate_corpus
from serbias.errors import SerbiasError
from tests.audit.clips import balanced_actors, make_clips, noisy_scores, write_predictions
from tests.audit.many_systems import SYSTEM_NAMES, audit_many, with_voice_votes

NAN = math.nan
RULE = {"compared": True, "near_chance": False, "meaningful_gap": 0.10}


@pytest.mark.parametrize(
    ("ci_low", "ci_high", "p_adjusted", "detectable", "changes", "expected"),
    [
        (-0.20, -0.05, 0.010, 0.12, {}, "gap found"),  # CI below 0, BH p < 0.05
        (0.02, 0.09, 0.049, 0.20, {}, "gap found"),  # found even by an underpowered design
        (-0.20, -0.05, 0.060, 0.08, {}, "cannot tell"),  # excludes 0, fails BH
        (-0.03, 0.04, 0.800, 0.05, {}, "no gap found"),  # 0.05 <= 0.10: could have found one
        (-0.03, 0.04, 0.800, 0.10, {}, "no gap found"),  # exactly the meaningful size
        (-0.10, 0.12, 0.900, 0.21, {}, "cannot tell"),  # 0.21 > 0.10: underpowered
        (NAN, NAN, NAN, NAN, {}, "cannot tell"),  # cannot be resolved (3 vs 3 actors)
        (-0.03, 0.04, 0.800, NAN, {}, "cannot tell"),  # power unknown
        (-0.03, 0.04, 0.800, 0.05, {"meaningful_gap": 0.04}, "cannot tell"),
        (-0.20, -0.05, 0.010, 0.12, {"near_chance": True}, "uninformative"),
        (-0.20, -0.05, 0.010, 0.12, {"compared": False, "near_chance": True}, "not compared"),
    ],
)
def test_verdict_rule(ci_low, ci_high, p_adjusted, detectable, changes, expected) -> None:
    word = verdict(
        ci_low=ci_low,
        ci_high=ci_high,
        p_adjusted=p_adjusted,
        min_detectable_gap=detectable,
        **(RULE | changes),
    )
    assert word == expected


def test_planted_sign_and_outcome_by_hand() -> None:
    female = (PlantedBias("sex", "Female", 0.8),)
    assert expected_sign(female, "sex", "Female", "Male") == -1
    assert expected_sign((PlantedBias("sex", "Male", 0.5),), "sex", "Female", "Male") == 1
    # a planted race reaches race_binary; a planted sex leaves race_binary alone
    asian = (PlantedBias("race", "Asian", 0.5),)
    assert expected_sign(asian, "race_binary", "Non-Caucasian", "Caucasian") == -1
    assert expected_sign(female, "race_binary", "Non-Caucasian", "Caucasian") == 0
    assert outcome(-1, "gap found", -0.2) == "recovered"
    assert outcome(-1, "gap found", +0.2) == "wrong sign"
    assert outcome(-1, "cannot tell", -0.2) == "missed"
    assert outcome(-1, "uninformative", -0.2) == "uninformative"
    assert outcome(0, "gap found", 0.1) == "false positive"
    assert outcome(0, "no gap found", 0.0) == "not flagged"


def test_read_planted(tmp_path: Path) -> None:
    assert read_planted(tmp_path) is None  # not a synthetic corpus
    (tmp_path / "synth.json").write_text('{"bias": []}')
    assert read_planted(tmp_path) == ()
    (tmp_path / "synth.json").write_text(
        '{"bias": [{"spec": "sex=Female:0.8", "group": "sex", "value": "Female", "strength": 0.8}]}'
    )
    assert read_planted(tmp_path) == (PlantedBias("sex", "Female", 0.8),)
    (tmp_path / "synth.json").write_text('{"bias": [{"group": "sex"}]}')
    with pytest.raises(SerbiasError, match="synth.json: 'bias' must be a list"):
        read_planted(tmp_path)


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> tuple:
    """The default pipeline's shape: 8 systems x 2 targets and the listeners, written."""
    out = tmp_path_factory.mktemp("many")
    result = audit_many(out / "preds")
    files = write_audit(result, out / "audit", planted=(PlantedBias("sex", "Female", 0.8),))
    return result, files


def test_verdict_table_has_a_row_per_scored_set_and_the_listeners(many) -> None:
    result, files = many
    verdicts = pd.read_csv(files["verdicts"])
    sets = list(dict.fromkeys(zip(verdicts["system"], verdicts["target"], strict=True)))
    assert len(sets) == len(SYSTEM_NAMES) * 2 + 1 and sets[-1] == (HUMAN_SYSTEM, "intended")
    assert set(verdicts["axis"]) == {"sex", "race_binary"}
    sex = verdicts[verdicts["axis"] == "sex"]
    assert set(zip(sex["group"], sex["reference"], strict=True)) == {("Female", "Male")}
    # the words follow the rule from the table's own numbers
    for row in verdicts.itertuples():
        assert row.verdict == verdict(
            ci_low=row.ci_low,
            ci_high=row.ci_high,
            p_adjusted=row.p_adjusted,
            min_detectable_gap=row.min_detectable_gap,
            compared=True,
            near_chance=(row.system, row.target) in result.near_chance,
            meaningful_gap=0.10,
        )


def test_report_opens_with_verdicts_forest_plot_and_ground_truth(many) -> None:
    result, files = many
    html = files["report_html"].read_text()
    body = html[html.index("<body>") :]
    order = [body.index(f'id="{anchor}"') for anchor in ("verdicts", "forest", "ground-truth")]
    assert order == sorted(order) and body.index("<h1>") < order[0]
    assert order[-1] < body.index('<nav class="contents">') < body.index("<details")
    # every scored set is folded, with the contents linking to it
    assert body.count("<details") == len(result.analyses) + 3  # findings, audited, method
    forest = (files["report_html"].parent / "plots" / "verdict_gaps_forest.svg").read_text()
    labels = [f"{s} ({t})" for s in SYSTEM_NAMES for t in ("intended", "observed")]
    for label in [*labels, HUMAN_SYSTEM]:
        assert f">{label}</text>" in forest
    # the forest plot, then per scored set: by group, recall heatmap, actors' strip plot
    assert len(re.findall(r"<svg ", html)) == 1 + 3 * len(result.analyses)
    assert "Female - Male" in forest and "Non-Caucasian - Caucasian" in forest


def test_report_of_eight_systems_stays_under_2_mb(many) -> None:
    _, files = many
    assert files["report_html"].stat().st_size < 2_000_000
    assert "<img " not in files["report_html"].read_text()  # sharp SVG throughout


def test_listeners_are_audited_whenever_the_corpus_has_votes(tmp_path: Path) -> None:
    clips = make_clips(balanced_actors(4, 4))
    path = write_predictions(tmp_path / "m.csv", noisy_scores(clips, seed=0))
    fast = {"n_boot": 20, "n_perm": 20, "n_chance": 0, "track": False}

    def systems(clip_table: pd.DataFrame, choice) -> list[str]:
        result = run_audit([path], clip_table, AuditParams(human_baseline=choice, **fast))
        return [a.system for a in result.analyses]

    voted = with_voice_votes(clips, seed=0)
    assert AuditParams().human_baseline == "auto"
    assert systems(voted, "auto") == ["m", HUMAN_SYSTEM]
    assert systems(clips, "auto") == ["m"]  # no votes: skipped silently
    assert systems(voted, False) == ["m"]
    with pytest.raises(SerbiasError, match="no voice vote counts"):
        systems(clips, True)
    with pytest.raises(SerbiasError, match="audit.human_baseline: 'sometimes'"):
        AuditParams(human_baseline="sometimes")


def _synth_audit(tmp_path: Path, bias: list[str], hit_rate: dict[str, float]):
    corpus = tmp_path / "corpus"
    generate_corpus(corpus, actors=16, sentences=1, seed=3, bias=bias, jobs=1)
    clips = read_corpus(corpus, require_audio=False)
    write_predictions(
        tmp_path / "preds" / "model.csv", noisy_scores(clips, seed=5, hit_rate=hit_rate)
    )
    settings = AuditParams(n_boot=100, n_perm=200, n_chance=20, track=False)
    paths = PathsParams(data=corpus, predictions=tmp_path / "preds", audit=tmp_path / "audit")
    return audit_stage([], settings, paths)


def test_ground_truth_box_on_a_planted_corpus_says_it_was_recovered(tmp_path: Path) -> None:
    # weaker cues for women: the constructed model hears women's emotions less often
    output = _synth_audit(tmp_path, ["sex=Female:0.9"], {"Female": 0.3, "Male": 0.9})
    truth = pd.read_csv(output.files["ground_truth"]).set_index(["system", "axis"])
    assert truth.loc[("model", "sex"), "expected"] == "lower"
    assert truth.loc[("model", "sex"), "outcome"] == "recovered"
    assert truth.loc[("model", "race_binary"), "outcome"] == "not flagged"
    html = output.files["report_html"].read_text()
    box = html[
        html.index('id="ground-truth"') : html.index("</section>", html.index('id="ground-truth"'))
    ]
    assert "Planted (synth.json): sex=Female:0.9" in box
    assert "Expected Female lower than Male: recovered (gap found, right sign) by" in box
    assert "Multiple testing" in box


def test_ground_truth_box_on_a_clean_corpus_claims_nothing(tmp_path: Path) -> None:
    output = _synth_audit(tmp_path, [], {"Female": 0.7, "Male": 0.7})
    truth = pd.read_csv(output.files["ground_truth"])
    assert set(truth["expected"]) == {"no gap"} and set(truth["outcome"]) == {"not flagged"}
    html = output.files["report_html"].read_text()
    assert "Nothing was planted (synth.json: bias [])." in html
    assert "Nothing planted, nothing claimed: no comparison was flagged." in html


def test_no_ground_truth_box_without_synth_json(many, tmp_path: Path) -> None:
    result, _ = many
    files = write_audit(result, tmp_path / "plain")
    assert 'id="ground-truth"' not in files["report_html"].read_text()
    assert "ground_truth" not in files


def test_verdict_table_marks_small_groups_not_compared() -> None:
    by_group = pd.DataFrame(
        {
            "system": ["m"],
            "target": ["intended"],
            "axis": ["overall"],
            "group": ["all"],
            "metric": ["macro_f1"],
            "value": [0.6],
            "ci_low": [0.5],
            "ci_high": [0.7],
        }
    )
    base = {
        "system": "m",
        "target": "intended",
        "kind": "vs_reference",
        "metric": "macro_f1",
        "reference": "Male",
        "gap": -0.2,
        "ci_low": -0.3,
        "ci_high": -0.1,
        "p_adjusted": 0.01,
        "min_detectable_gap": 0.08,
        "chance_gap": 0.0,
        "chance_sd": 0.02,
        "n_actors": 5,
        "n_actors_reference": 5,
    }
    gaps = pd.DataFrame(
        [
            base | {"axis": "sex", "group": "Female", "flagged": False},
            base | {"axis": "race_binary", "group": "Non-Caucasian", "reference": "Caucasian",
                    "flagged": True, "n_actors": 2},
        ]
    )  # fmt: skip
    table = verdict_table(by_group, gaps, near_chance=frozenset(), meaningful_gap=0.1)
    assert list(table["verdict"]) == ["gap found", "not compared"]
    near = verdict_table(
        by_group, gaps, near_chance=frozenset({("m", "intended")}), meaningful_gap=0.1
    )
    assert list(near["verdict"]) == ["uninformative", "not compared"]
