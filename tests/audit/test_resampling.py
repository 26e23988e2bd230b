"""Actor-level bootstrap and permutation: same numbers as MetricFrame, seeded, sane p-values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from serbias import vocab
from serbias.audit import (
    AuditParams,
    Resampling,
    Scored,
    actor_counts,
    analyse,
    bootstrap_multiplicities,
    group_labels,
    group_metrics,
    metric_names,
    metrics_from_counts,
    permutation_p_value,
)
from serbias.audit._axes import AXIS_BY_NAME
from serbias.audit._resampling import percentile_interval, rng_for
from tests.audit.clips import balanced_actors, make_clips, noisy_scores

SEX = (AXIS_BY_NAME["sex"],)


def _resampling(**settings) -> Resampling:
    return Resampling.of(AuditParams(**settings))


def _scored(clips: pd.DataFrame, scores: pd.DataFrame, *, system: str = "model") -> Scored:
    intended = np.eye(6, dtype=bool)[clips["emotion"].cat.codes.to_numpy()]
    return Scored(
        system=system,
        target="intended",
        emotions=vocab.EMOTIONS,
        y_true=intended,
        y_pred=scores.loc[clips["filename"]].to_numpy() >= 0.5,
        actor_id=clips["actor_id"].to_numpy(),
        filenames=clips["filename"].to_numpy(),
        labels=group_labels(clips),
    )


@pytest.fixture(scope="module")
def clips() -> pd.DataFrame:
    return make_clips(balanced_actors(6, 6), sentences=("DFA", "IEO", "ITH"))


def test_count_metrics_equal_metricframe_on_a_resample(clips: pd.DataFrame) -> None:
    scored = _scored(clips, noisy_scores(clips, seed=1, hit_rate=0.6))
    counts = actor_counts(scored.y_true, scored.y_pred, scored.actor_id)
    sex = scored.labels["sex"].astype(str).to_numpy()
    rng = np.random.default_rng(5)
    vectorised, rows, labels = {}, [], []
    for group in ("Female", "Male"):
        members = np.flatnonzero(
            np.isin(counts.actor_ids, np.unique(scored.actor_id[sex == group]))
        )
        draw = bootstrap_multiplicities(len(members), 1, rng)[0]
        vectorised[group] = metrics_from_counts(draw @ counts.counts[members], 6)
        # the same resample spelled out: each drawn actor's clips, repeated as often as drawn
        for actor, times in zip(counts.actor_ids[members], draw, strict=True):
            actor_rows = np.flatnonzero(scored.actor_id == actor)
            rows += list(actor_rows) * int(times)
            labels += [group] * (len(actor_rows) * int(times))
    rows = np.asarray(rows)
    by_group, _ = group_metrics(
        scored.y_true[rows], scored.y_pred[rows], np.asarray(labels), vocab.EMOTIONS
    )
    for group in ("Female", "Male"):
        np.testing.assert_array_equal(vectorised[group], by_group.loc[group].to_numpy())
    # and macro-F1 is scikit-learn's own macro average
    female = rows[np.asarray(labels) == "Female"]
    assert by_group.loc["Female", "macro_f1"] == f1_score(
        scored.y_true[female], scored.y_pred[female], average="macro", zero_division=0
    )


def test_analyse_intervals_are_percentiles_of_metricframe_on_actor_resamples(
    clips: pd.DataFrame,
) -> None:
    """Re-derive the Female macro-F1 interval with MetricFrame on each resampled clip set."""
    scored = _scored(clips, noisy_scores(clips, seed=2))
    resampling = _resampling(n_boot=40, n_perm=10, n_chance=0, seed=11, interval="percentile")
    analysis = analyse(scored, resampling=resampling, axes=SEX)
    counts = actor_counts(scored.y_true, scored.y_pred, scored.actor_id)
    female_actors = counts.actor_ids[:6]  # actors 1001..1006 are the Female ones
    draws = bootstrap_multiplicities(6, 40, rng_for(11, "boot", "sex", "Female"))
    replicates = []
    for draw in draws:
        rows = np.concatenate(
            [
                np.repeat(np.flatnonzero(scored.actor_id == a)[None], t, 0).ravel()
                for a, t in zip(female_actors, draw, strict=True)
                if t
            ]
        )
        by_group, _ = group_metrics(
            scored.y_true[rows], scored.y_pred[rows], np.full(len(rows), "F"), vocab.EMOTIONS
        )
        replicates.append(by_group.loc["F", "macro_f1"])
    low, high = percentile_interval(np.asarray(replicates), 0.95)
    row = analysis.by_group[
        (analysis.by_group["group"] == "Female") & (analysis.by_group["metric"] == "macro_f1")
    ]
    assert row["ci_low"].iloc[0] == pytest.approx(low, abs=1e-12)
    assert row["ci_high"].iloc[0] == pytest.approx(high, abs=1e-12)


def test_bootstrap_is_reproducible_for_a_seed_and_changes_with_it(clips: pd.DataFrame) -> None:
    scored = _scored(clips, noisy_scores(clips, seed=3))
    runs = [
        analyse(
            scored,
            resampling=_resampling(
                n_boot=200, n_perm=50, n_chance=2, seed=s, interval="studentized"
            ),
            axes=SEX,
        )
        for s in (7, 7, 8)
    ]
    pd.testing.assert_frame_equal(runs[0].by_group, runs[1].by_group)
    pd.testing.assert_frame_equal(runs[0].gaps, runs[1].gaps)
    assert not np.allclose(runs[0].by_group["ci_low"].dropna(), runs[2].by_group["ci_low"].dropna())
    # the point estimates do not depend on the seed
    pd.testing.assert_series_equal(runs[0].by_group["value"], runs[2].by_group["value"])


def test_permutation_p_value_formula() -> None:
    null = np.array([0.1, -0.3, 0.2, 0.05])
    # |null| >= 0.2 for -0.3 and 0.2: b = 2 of m = 4, so p = (2 + 1) / (4 + 1)
    assert permutation_p_value(null, np.array(0.2)) == pytest.approx(3 / 5)
    assert permutation_p_value(null, np.array(0.2), two_sided=False) == pytest.approx(2 / 5)
    assert permutation_p_value(null, np.array(5.0)) == pytest.approx(1 / 5)


def test_no_difference_gives_p_one_and_interval_around_zero() -> None:
    # Male actors 1004-1006 get exactly the decisions of Female actors 1001-1003: every
    # Female/Male gap is 0 and every permutation gap is at least as large in size, so p = 1.
    clips = make_clips(balanced_actors(3, 3), sentences=("DFA", "IEO", "ITH", "TIE"))
    female = noisy_scores(clips.iloc[: len(clips) // 2], seed=4)
    male = female.rename(index=lambda name: f"{int(name[:4]) + 3}{name[4:]}")
    scores = pd.concat([female, male])
    scored = _scored(clips, scores)
    analysis = analyse(
        scored,
        resampling=_resampling(
            n_boot=300, n_perm=300, n_chance=0, seed=0, interval="percentile", min_actors=3
        ),
        axes=SEX,
    )
    gaps = analysis.gaps[analysis.gaps["kind"] == "vs_reference"].set_index("metric")
    assert (gaps["gap"].abs() < 1e-12).all()
    assert (gaps["p_value"] == 1.0).all()
    assert gaps.loc["macro_f1", "ci_low"] < 0 < gaps.loc["macro_f1", "ci_high"]


def test_planted_difference_gives_small_p_and_interval_excluding_zero() -> None:
    clips = make_clips(balanced_actors(5, 5), sentences=("DFA", "IEO", "ITH"))
    scores = noisy_scores(clips, seed=5, hit_rate={"Female": 0.95, "Male": 0.35})
    analysis = analyse(
        _scored(clips, scores),
        resampling=_resampling(n_boot=500, n_perm=1000, n_chance=10, seed=0),
        axes=SEX,
    )
    gap = analysis.gaps[
        (analysis.gaps["kind"] == "vs_reference") & (analysis.gaps["metric"] == "macro_f1")
    ].iloc[0]
    assert gap["group"] == "Female" and gap["reference"] == "Male"  # fixed by vocabulary
    assert gap["gap"] > 0.3
    assert gap["ci_low"] > 0
    # the studentized test enumerates all C(10, 5) = 252 labellings: only the observed one and
    # its mirror are this extreme, p = 2 / 252
    assert gap["p_value"] == pytest.approx(2 / 252)
    assert gap["resolvable"] and gap["min_detectable_gap"] > 0


def test_chance_model_gap_is_near_zero_while_the_real_gap_is_not() -> None:
    clips = make_clips(balanced_actors(6, 6), sentences=("DFA", "IEO", "ITH", "TIE"))
    scores = noisy_scores(clips, seed=6, hit_rate={"Female": 0.4, "Male": 0.9})
    analysis = analyse(
        _scored(clips, scores),
        resampling=_resampling(n_boot=50, n_perm=50, n_chance=100, seed=0, interval="percentile"),
        axes=SEX,
    )
    gaps = analysis.gaps[analysis.gaps["kind"] == "vs_reference"].set_index("metric")
    recall = [f"recall_{name}" for name in vocab.EMOTION_NAMES]
    assert (gaps.loc[recall, "gap"] < -0.15).all()  # Female minus Male
    assert (gaps.loc[recall, "chance_gap"].abs() < 0.06).all()
    assert abs(gaps.loc["macro_f1", "chance_gap"]) < 0.03
    assert (gaps["chance_sd"] > 0).all()


def test_metric_names_follow_count_layout() -> None:
    names = metric_names(("ANG", "SAD"))
    assert names == [
        "macro_f1",
        "accuracy",
        "f1_Anger",
        "f1_Sad",
        "recall_Anger",
        "recall_Sad",
        "precision_Anger",
        "precision_Sad",
        "selection_rate_Anger",
        "selection_rate_Sad",
    ]
    # one actor: Anger TP 1 FP 0 FN 1; Sad TP 0 FP 1 FN 0; 3 clips, 0 exact
    counts = np.array([1, 0, 0, 1, 1, 0, 3, 0], dtype=float)
    values = dict(zip(names, metrics_from_counts(counts, 2), strict=True))
    assert values["recall_Anger"] == 0.5 and values["recall_Sad"] == 0.0  # 0/0 -> 0
    assert values["precision_Sad"] == 0.0 and values["f1_Anger"] == pytest.approx(2 / 3)
    assert values["selection_rate_Sad"] == pytest.approx(1 / 3) and values["accuracy"] == 0.0
