"""The audit's gap statistics under each ``audit.interval``, worked out by hand.

As in ``test_inference.py`` the examples use one emotion: a count vector is
``[TP, FP, FN, items, exact]`` and accuracy (metric column 1) is ``exact / items``.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from serbias.audit import AuditParams, run_audit, write_audit
from serbias.audit._findings import power_sentences
from serbias.audit._gap_stats import gap_statistics
from serbias.audit._resampling import rng_for
from serbias.errors import SerbiasError
from tests.audit.clips import balanced_actors, make_clips, noisy_scores, write_predictions

ACCURACY = 1


def actors(rights: list[int], items: int = 10) -> np.ndarray:
    return np.array([[r, 0, items - r, items, r] for r in rights], dtype=float)


def test_three_vs_three_is_reported_as_unresolvable_without_an_interval() -> None:
    found = gap_statistics(
        actors([6, 7, 9]),
        actors([4, 5, 6]),
        n_emotions=1,
        interval="jackknife",
        n_perm=1000,
        rng=rng_for(0, "perm"),
        confidence=0.95,
    )
    # C(6, 3) = 20 labelings, the observed one and its mirror: the smallest p is 2 / 20 = 0.1
    assert not found.resolvable
    assert found.note == (
        "cannot be resolved with 3 vs 3 actors: the smallest attainable p is 0.1 > 0.05"
    )
    assert np.isnan(found.ci_low).all() and np.isnan(found.ci_high).all()
    # the SE is still the jackknife one: 7/900 + 3/900 (see test_inference.py)
    assert found.se[ACCURACY] == pytest.approx(math.sqrt(10 / 900))


def test_four_vs_four_gap_interval_band_and_detectable_gap_by_hand() -> None:
    # A right on 6, 7, 8, 9 of 10; B on 4, 5, 6, 7 (accuracy 0.75 and 0.55, gap 0.2).
    # Leaving one actor of A out gives 24/30, 23/30, 22/30, 21/30 (mean 22.5/30):
    #   variance = 3/4 * (1.5^2 + 0.5^2 + 0.5^2 + 1.5^2) / 900 = 3.75 / 900; likewise B.
    # SE_d^2 = 7.5 / 900, Welch df = (2 V)^2 / (2 V^2 / 3) = 6.
    a, b = [6, 7, 8, 9], [4, 5, 6, 7]
    found = gap_statistics(
        actors(a),
        actors(b),
        n_emotions=1,
        interval="jackknife",
        n_perm=1000,
        rng=rng_for(0, "perm"),
        confidence=0.95,
    )
    se = math.sqrt(7.5 / 900)
    assert found.se[ACCURACY] == pytest.approx(se)
    assert found.df[ACCURACY] == pytest.approx(6.0)
    half = stats.t.ppf(0.975, 6) * se
    assert found.ci_low[ACCURACY] == pytest.approx(0.2 - half)
    assert found.ci_high[ACCURACY] == pytest.approx(0.2 + half)
    assert found.min_detectable_gap[ACCURACY] == pytest.approx(
        (stats.t.ppf(0.975, 6) + stats.t.ppf(0.80, 6)) * se
    )
    # 70 labelings, enumerated; the band is the gap over all of them (mean 0 by symmetry of
    # the labelings: each split and its mirror give opposite gaps)
    assert found.resolvable and found.note == ""
    assert found.chance_gap[ACCURACY] == pytest.approx(0.0, abs=1e-12)
    pooled = a + b
    gaps = []
    for chosen in itertools.combinations(range(8), 4):
        inside = sum(pooled[i] for i in chosen)
        gaps.append(inside / 40 - (sum(pooled) - inside) / 40)
    assert found.chance_sd[ACCURACY] == pytest.approx(np.std(gaps, ddof=1))


def test_power_sentence_names_the_design_and_points_to_cross_validation() -> None:
    gaps = pd.DataFrame(
        {
            "kind": ["vs_reference"],
            "flagged": [False],
            "axis": ["sex"],
            "metric": ["macro_f1"],
            "group": ["Female"],
            "reference": ["Male"],
            "n_actors": [4],
            "n_actors_reference": [5],
            "ci_low": [-0.05],
            "ci_high": [0.16],
            "p_adjusted": [0.4],
            "min_detectable_gap": [0.2149],
        }
    )
    sentences = power_sentences(gaps, corpus_actors=91)
    assert sentences[0] == (
        "With 4 and 5 actors this audit can only detect Female-Male macro-F1 gaps larger than "
        "0.21 (80% power at the 5% level)."
    )
    assert "serbias split --folds K, then serbias train --cv" in sentences[1]
    assert power_sentences(gaps, corpus_actors=9) == sentences[:1]
    decided = gaps.assign(ci_low=0.02, p_adjusted=0.01)
    assert power_sentences(decided, corpus_actors=91) == []


def test_a_bad_interval_is_a_one_line_error() -> None:
    with pytest.raises(SerbiasError, match=r"^audit.interval: 'bca' is not one of jackknife"):
        AuditParams(interval="bca")


def test_reports_name_the_method_and_say_when_a_gap_cannot_be_resolved(tmp_path: Path) -> None:
    clips = make_clips(balanced_actors(3, 3), sentences=("DFA", "IEO"))
    path = write_predictions(tmp_path / "model.csv", noisy_scores(clips, seed=0))
    settings = AuditParams(n_boot=50, n_perm=50, n_chance=2, min_actors=3, track=False)
    files = write_audit(run_audit([path], clips, settings), tmp_path / "out")
    gaps = pd.read_csv(files["gaps"])
    sex = gaps[(gaps["axis"] == "sex") & (gaps["kind"] == "vs_reference")]
    assert (sex["reference"] == "Male").all() and not sex["resolvable"].any()
    assert sex["ci_low"].isna().all()
    report = files["report_md"].read_text()
    assert "cannot be resolved with 3 vs 3 actors" in report
    assert "jackknife t interval (Welch-Satterthwaite df)" in report
    assert "studentized permutation" in files["report_html"].read_text()
    methods = json.loads((tmp_path / "out" / "audit.json").read_text())["methods"]
    assert methods["name"] == "jackknife" and "jackknife" in methods["interval"]


@pytest.mark.parametrize(("hit_rate", "near"), [(0.1, True), (0.9, False)])
def test_a_system_no_better_than_chance_is_marked_and_its_gaps_uninformative(
    tmp_path: Path, hit_rate: float, near: bool
) -> None:
    # hit rate 0.1 is the rate of every other emotion: decisions carry no information
    clips = make_clips(balanced_actors(4, 4), sentences=("DFA", "IEO", "ITH"))
    path = write_predictions(tmp_path / "model.csv", noisy_scores(clips, seed=1, hit_rate=hit_rate))
    settings = AuditParams(n_boot=50, n_perm=50, n_chance=40, track=False)
    result = run_audit([path], clips, settings)
    (analysis,) = result.analyses
    overall = result.by_group[
        (result.by_group["axis"] == "overall") & (result.by_group["metric"] == "macro_f1")
    ].iloc[0]
    assert analysis.near_chance is near
    assert bool(overall["ci_low"] <= analysis.chance_macro_f1) is near
    assert (result.gaps["uninformative"] == near).all()
    files = write_audit(result, tmp_path / "out")
    assert ("near chance: its gaps are uninformative" in files["report_md"].read_text()) is near


def test_an_unbounded_interval_is_drawn_without_a_whisker() -> None:
    from serbias.audit.report._plots import group_metric_figure

    by_group = pd.DataFrame(
        {
            "axis": ["sex", "sex"],
            "group": ["Female", "Male"],
            "metric": ["macro_f1", "macro_f1"],
            "value": [0.5, 0.6],
            "ci_low": [0.4, -np.inf],
            "ci_high": [0.6, np.inf],
            "flagged": [False, False],
        }
    )
    svg = group_metric_figure(by_group, metric="macro_f1", title="t", confidence=0.95)
    assert svg.startswith(b"<?xml") and svg.rstrip().endswith(b"</svg>")
