"""The axes and metrics tables: everything derives from their rows, so a row is a new axis or
metric."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serbias import vocab
from serbias.audit import AXES, METRICS, AuditParams, Axis, Metric, Resampling, Scored, analyse
from serbias.audit._axes import AXIS_BY_NAME, HEADLINE_AXES, PRIMARY_AXES, clip_columns
from serbias.audit._groups import group_labels
from serbias.audit._metrics import (
    FINDING_METRICS,
    families_phrase,
    group_metrics,
    metric_names,
    metric_phrase,
    metrics_from_counts,
    row_counts,
)
from tests.audit.clips import balanced_actors, make_clips, noisy_scores


def _scored(clips: pd.DataFrame, labels: pd.DataFrame, scores: pd.DataFrame) -> Scored:
    return Scored(
        system="model",
        target="intended",
        emotions=vocab.EMOTIONS,
        y_true=np.eye(6, dtype=bool)[clips["emotion"].cat.codes.to_numpy()],
        y_pred=scores.loc[clips["filename"]].to_numpy() >= 0.5,
        actor_id=clips["actor_id"].to_numpy(),
        filenames=clips["filename"].to_numpy(),
        labels=labels,
    )


FAST = Resampling.of(AuditParams(n_boot=30, n_perm=30, n_chance=0, min_actors=2))


def test_the_axes_table_is_consistent() -> None:
    names = [axis.name for axis in AXES]
    assert len(set(names)) == len(names)
    assert PRIMARY_AXES == ("sex", "race_binary") and HEADLINE_AXES == (
        "sex",
        "race",
        "race_binary",
    )
    for position, axis in enumerate(AXES):
        if axis.kind == "intersection":  # it crosses axes listed before it
            assert set(axis.columns) <= set(names[:position]), axis.name
        if axis.kind == "category":
            assert axis.levels, axis.name
    assert clip_columns() == ("sex", "race", "race_binary", "ethnicity", "age")
    assert AXIS_BY_NAME["age_band"].group_phrase("20-29") == "Age 20-29"


def test_an_axis_added_as_a_row_is_labelled_sized_and_compared() -> None:
    actors = [
        (1001, "Female", "Caucasian", "Hispanic", 30),
        (1002, "Female", "Caucasian", "Hispanic", 30),
        (1003, "Female", "Caucasian", "Not Hispanic", 30),
        (1004, "Male", "Caucasian", "Hispanic", 30),
        (1005, "Male", "Caucasian", "Not Hispanic", 30),
        (1006, "Male", "Caucasian", "Not Hispanic", 30),
    ]
    clips = make_clips(actors, sentences=("DFA", "IEO"))
    crossed = Axis(name="ethnicity_x_sex", kind="intersection", columns=("ethnicity", "sex"))
    axes = (*AXES, crossed)
    labels = group_labels(clips, axes=axes)
    assert list(labels["ethnicity_x_sex"].cat.categories) == [
        "Hispanic/Female",
        "Hispanic/Male",
        "Not Hispanic/Female",
        "Not Hispanic/Male",
    ]
    analysis = analyse(
        _scored(clips, labels, noisy_scores(clips, seed=0)), resampling=FAST, axes=axes
    )
    sizes = analysis.sizes[analysis.sizes["axis"] == "ethnicity_x_sex"].set_index("group")
    assert sizes.loc["Hispanic/Female", "n_actors"] == 2
    assert sizes.loc["Hispanic/Male", "flagged"]  # one actor: listed, never compared
    # two groups of 2 actors and 24 clips can serve; the tie goes to vocabulary order
    assert analysis.references["ethnicity_x_sex"] == "Hispanic/Female"
    gaps = analysis.gaps[
        (analysis.gaps["axis"] == "ethnicity_x_sex") & (analysis.gaps["kind"] == "vs_reference")
    ]
    compared = gaps[~gaps["flagged"].astype(bool)]
    assert set(compared["group"]) == {"Not Hispanic/Male"} and compared["p_value"].notna().all()
    assert set(gaps[gaps["flagged"].astype(bool)]["group"]) == {
        "Hispanic/Male",
        "Not Hispanic/Female",
    }


def test_an_axis_default_reference_is_used_when_it_can_serve() -> None:
    clips = make_clips(balanced_actors(2, 4), sentences=("DFA",))
    labels = group_labels(clips)
    scored = _scored(clips, labels, noisy_scores(clips, seed=1))
    largest = analyse(scored, resampling=FAST, axes=(AXIS_BY_NAME["sex"],))
    assert largest.references["sex"] == "Male"  # most actors
    female_first = Axis(
        name="sex", kind="category", columns=("sex",), levels=vocab.SEXES, reference="Female"
    )
    chosen = analyse(scored, resampling=FAST, axes=(female_first,))
    assert chosen.references["sex"] == "Female"
    strict = Resampling.of(AuditParams(n_boot=30, n_perm=30, n_chance=0, min_actors=3))
    fallback = analyse(scored, resampling=strict, axes=(female_first,))
    assert fallback.references["sex"] == "Male"  # 2 Female actors are too few to serve


def test_metric_columns_and_phrases_follow_the_table() -> None:
    names = metric_names(("ANG", "SAD"))
    expected = []
    for metric in METRICS:
        expected += (
            [f"{metric.name}_Anger", f"{metric.name}_Sad"] if metric.per_emotion else [metric.name]
        )
    assert names == expected
    assert metric_phrase("recall_Sad") == "recall for Sad"
    assert metric_phrase("accuracy", human=True) == "per-response accuracy"
    assert metric_phrase("selection_rate_Anger") == "selection rate for Anger"
    assert families_phrase(FINDING_METRICS) == "macro-F1, accuracy, per-emotion F1 and recall"
    assert families_phrase(("recall",)) == "per-emotion recall"


def test_a_metric_added_as_a_row_is_named_counted_and_scored_alike() -> None:
    miss_rate = Metric(
        name="miss_rate",
        per_emotion=True,
        from_counts=lambda c: np.divide(
            c.fn, c.tp + c.fn, out=np.zeros(c.fn.shape), where=c.tp + c.fn != 0
        ),
        from_sklearn=lambda s: 1.0 - s.recall,
        phrase="miss rate",
    )
    table = (*METRICS, miss_rate)
    clips = make_clips(balanced_actors(3, 3), sentences=("DFA", "IEO"))
    y_true = np.eye(6, dtype=bool)[clips["emotion"].cat.codes.to_numpy()]
    y_pred = noisy_scores(clips, seed=2).loc[clips["filename"]].to_numpy() >= 0.5
    sex = clips["sex"].astype(str).to_numpy()
    names = metric_names(vocab.EMOTIONS, metrics=table)
    assert names[: len(metric_names(vocab.EMOTIONS))] == metric_names(vocab.EMOTIONS)
    assert names[-6:] == [f"miss_rate_{name}" for name in vocab.EMOTION_NAMES]

    by_group, _ = group_metrics(y_true, y_pred, sex, vocab.EMOTIONS, metrics=table)
    assert list(by_group.columns) == names
    for group in ("Female", "Male"):
        rows = sex == group
        counted = metrics_from_counts(
            row_counts(y_true[rows], y_pred[rows]).sum(axis=0), 6, metrics=table
        )
        np.testing.assert_allclose(counted, by_group.loc[group].to_numpy(), atol=1e-12)
        recall = by_group.loc[group, [f"recall_{n}" for n in vocab.EMOTION_NAMES]].to_numpy()
        miss = by_group.loc[group, [f"miss_rate_{n}" for n in vocab.EMOTION_NAMES]].to_numpy()
        np.testing.assert_allclose(miss, 1 - recall)


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
def test_each_rows_count_formula_gives_its_sklearn_value(metric: Metric) -> None:
    clips = make_clips(balanced_actors(2, 2), sentences=("DFA", "IEO", "ITH"))
    y_true = np.eye(6, dtype=bool)[clips["emotion"].cat.codes.to_numpy()]
    y_pred = noisy_scores(clips, seed=3, hit_rate=0.6).loc[clips["filename"]].to_numpy() >= 0.5
    sex = clips["sex"].astype(str).to_numpy()
    by_group, _ = group_metrics(y_true, y_pred, sex, vocab.EMOTIONS, metrics=(metric,))
    for group in ("Female", "Male"):
        counts = row_counts(y_true[sex == group], y_pred[sex == group]).sum(axis=0)
        counted = metrics_from_counts(counts, 6, metrics=(metric,))
        np.testing.assert_array_equal(counted, by_group.loc[group].to_numpy())
