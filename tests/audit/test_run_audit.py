"""run_audit and write_audit as a user meets them: third-party systems, replicas, splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from serbias import vocab
from serbias.audit import AuditParams, Scored, group_labels, group_metrics, run_audit, write_audit
from serbias.errors import CorpusWarning, SerbiasError
from tests.audit.clips import balanced_actors, make_clips, noisy_scores, write_predictions

FAST = {"n_boot": 100, "n_perm": 100, "n_chance": 3}


def settings(**changes) -> AuditParams:
    """Fast settings for tests (``changes`` as AuditParams fields)."""
    return AuditParams(**{**FAST, **changes})


@pytest.fixture(scope="module")
def clips() -> pd.DataFrame:
    return make_clips(balanced_actors(3, 3), sentences=("DFA", "IEO"))


def test_third_party_four_emotion_system_is_scored_on_its_classes(
    clips: pd.DataFrame, tmp_path: Path
) -> None:
    # A vendor's 0/1 output: right on every clip except Female actors' Sad clips, called Neutral.
    covered = {"ANG": "angry", "HAP": "Happy", "NEU": "NEUTRAL", "SAD": "sad"}
    rows = []
    for name, emotion, sex in zip(
        clips["filename"], clips["emotion"].astype(str), clips["sex"].astype(str), strict=True
    ):
        said = "NEU" if (emotion == "SAD" and sex == "Female") else emotion
        rows.append(
            {"Filename": name, **{column: int(code == said) for code, column in covered.items()}}
        )
    path = tmp_path / "vendor.csv"
    pd.DataFrame(rows).to_csv(path, index=False)

    result = run_audit(
        [path],
        clips,
        settings(column_map=("angry=Anger",), reference=("sex=Male",), min_actors=3),
    )
    system = result.systems[0]
    assert system.emotions == ("ANG", "HAP", "NEU", "SAD")
    # Disgust and Fear clips (2 sentences x 6 actors x 2 emotions) have no covered target
    assert system.exclusions["intended"].not_covered == 24 and system.n_scored["intended"] == 48
    female = result.by_group[
        (result.by_group["group"] == "Female") & (result.by_group["axis"] == "sex")
    ]
    female = female.set_index("metric")["value"]
    # Female: Sad TP 0 FN 6 -> recall 0, F1 0; Neutral TP 6 FP 6 -> F1 12 / 18; Anger, Happy perfect
    assert female["recall_Sad"] == 0.0 and female["f1_Neutral"] == pytest.approx(2 / 3)
    assert female["macro_f1"] == pytest.approx((1 + 1 + 2 / 3 + 0) / 4)
    gaps = result.gaps[
        (result.gaps["axis"] == "sex") & (result.gaps["kind"] == "vs_reference")
    ].set_index("metric")
    assert gaps.loc["recall_Sad", "gap"] == -1.0
    assert "recall_Disgust" not in gaps.index

    files = write_audit(result, tmp_path / "out")
    report = files["report_md"].read_text()
    assert "vendor covers 4 of 6 emotions (Anger, Happy, Neutral, Sad)" in report


def test_several_files_are_separate_systems(clips: pd.DataFrame, tmp_path: Path) -> None:
    scores = noisy_scores(clips, seed=0)
    first = write_predictions(tmp_path / "svm.csv", scores)
    second = write_predictions(tmp_path / "cnn.csv", noisy_scores(clips, seed=1))
    result = run_audit([first, second], clips, settings(min_actors=2))
    assert [s.name for s in result.systems] == ["svm", "cnn"]
    assert result.replica_summary is None
    assert "svm.intended.sex.Female.macro_f1" in result.metrics
    assert "cnn.intended.sex.Female.macro_f1" in result.metrics


def test_bootstrap_replicas_get_the_reference_studys_summary(
    clips: pd.DataFrame, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    directory = tmp_path / "replicas"
    subsets = []
    for index in range(3):
        subset = clips[rng.random(len(clips)) < 0.6]
        subsets.append(subset)
        write_predictions(directory / f"cnn_{index:03d}.csv", noisy_scores(subset, seed=index))
    result = run_audit([directory], clips, settings(min_actors=2, reference=("sex=Male",)))
    assert [s.name for s in result.systems] == ["cnn"] and result.systems[0].n_replicas == 3
    summary = result.replica_summary.set_index(["target", "axis", "kind", "group", "metric"])

    # the same numbers by hand: MetricFrame on each replica, then mean, std and a t-interval
    per_replica = []
    for index, subset in enumerate(subsets):
        scores = noisy_scores(subset, seed=index)
        y_pred = scores.loc[subset["filename"]].to_numpy() >= 0.5
        y_true = np.eye(6, dtype=bool)[subset["emotion"].cat.codes.to_numpy()]
        by_group, _ = group_metrics(
            y_true, y_pred, subset["sex"].astype(str).to_numpy(), vocab.EMOTIONS
        )
        per_replica.append(by_group.loc["Female", "macro_f1"] - by_group.loc["Male", "macro_f1"])
    mean, std = np.mean(per_replica), np.std(per_replica, ddof=1)
    half = stats.t.ppf(0.975, 2) * std / np.sqrt(3)
    row = summary.loc[("intended", "sex", "gap_vs_reference", "Female", "macro_f1")]
    assert row["n_replicas"] == 3
    assert row["mean"] == pytest.approx(mean, abs=1e-12) and row["std"] == pytest.approx(
        std, abs=1e-12
    )
    assert row["t_low"] == pytest.approx(mean - half, abs=1e-12)
    assert row["t_high"] == pytest.approx(mean + half, abs=1e-12)

    # the recommended interval: replicas x actors counts through the two-level bootstrap-t
    from serbias.audit import _inference as inference
    from serbias.audit._resampling import actor_counts, rng_for

    actors = np.unique(clips["actor_id"])
    stacked = np.zeros((3, len(actors), 6 * 3 + 2))
    for index, subset in enumerate(subsets):
        scores = noisy_scores(subset, seed=index)
        y_pred = scores.loc[subset["filename"]].to_numpy() >= 0.5
        y_true = np.eye(6, dtype=bool)[subset["emotion"].cat.codes.to_numpy()]
        counts = actor_counts(y_true, y_pred, subset["actor_id"].to_numpy())
        stacked[index, np.searchsorted(actors, counts.actor_ids)] = counts.counts
    female = clips.groupby("actor_id")["sex"].first().reindex(actors).astype(str) == "Female"
    expected = inference.replica_interval(
        stacked[:, female.to_numpy()],
        stacked[:, ~female.to_numpy()],
        metric=inference.count_metric(6),
        n_boot=100,
        rng=rng_for(0, "replicas", "intended", "sex", "Female", "Male"),
    )
    assert row["pooled_low"] == pytest.approx(expected.low[0], abs=1e-12)
    assert row["pooled_high"] == pytest.approx(expected.high[0], abs=1e-12)
    assert row["pooled_low"] < row["mean"] < row["pooled_high"]


def test_split_restricts_the_clips_and_an_empty_intersection_is_an_error(
    clips: pd.DataFrame, tmp_path: Path
) -> None:
    path = write_predictions(tmp_path / "p.csv", noisy_scores(clips, seed=0))
    test_clips = list(clips.loc[clips["actor_id"].isin([1001, 1002, 1004, 1005]), "filename"])
    split = {"train": [], "val": [], "test": test_clips}
    result = run_audit([path], clips, settings(min_actors=2), split=split)
    assert result.systems[0].n_scored["intended"] == len(test_clips)
    assert result.systems[0].n_outside_split == len(clips) - len(test_clips)

    only_train = write_predictions(
        tmp_path / "train_only.csv",
        noisy_scores(clips[~clips["filename"].isin(test_clips)], seed=0),
    )
    with pytest.raises(
        SerbiasError,
        match=r"train_only.csv: none of its 24 predicted corpus clip\(s\) is in split 'test'",
    ):
        run_audit([only_train], clips, settings(), split=split)
    with pytest.raises(SerbiasError, match="split 'holdout' not in the split file"):
        run_audit([path], clips, settings(split_name="holdout"), split=split)


def test_unknown_clips_warn_or_fail_when_strict(clips: pd.DataFrame, tmp_path: Path) -> None:
    scores = noisy_scores(clips, seed=0)
    extra = scores.iloc[:2].rename(index=lambda n: "9" + n[1:])
    path = write_predictions(tmp_path / "p.csv", pd.concat([scores, extra]))
    with pytest.warns(
        CorpusWarning,
        match=r"2 of 74 predicted clip\(s\) are not in the corpus \(e\.g\. 9001_DFA_ANG_XX",
    ):
        result = run_audit([path], clips, settings(min_actors=2))
    assert result.systems[0].n_not_in_corpus == 2
    with pytest.raises(SerbiasError, match="are not in the corpus"):
        run_audit([path], clips, settings(), strict=True)


def test_observed_target_uses_vote_ties_and_skips_unrated_clips(tmp_path: Path) -> None:
    votes = {"1001_DFA_ANG_XX": ["A", "N"], "1001_DFA_SAD_XX": [], "1002_DFA_ANG_XX": ["N"]}
    clips = make_clips(balanced_actors(1, 1), emotions=("ANG", "NEU", "SAD"), votes=votes)
    scores = pd.DataFrame(0.0, index=clips["filename"], columns=["Anger", "Neutral", "Sad"])
    scores.loc["1001_DFA_ANG_XX", "Neutral"] = (
        1.0  # observed {Anger, Neutral}: Neutral right, Anger missed
    )
    scores.loc["1002_DFA_ANG_XX", "Neutral"] = 1.0  # observed {Neutral}: right
    path = write_predictions(tmp_path / "p.csv", scores)
    result = run_audit([path], clips, settings(target="both"))
    assert result.systems[0].exclusions["observed"].unrated == 1
    assert result.systems[0].n_scored == {"intended": 6, "observed": 5}
    observed = result.by_group[
        (result.by_group["target"] == "observed") & (result.by_group["axis"] == "overall")
    ]
    values = observed.set_index("metric")["value"]
    # observed Neutral: 1001 ANG (tie), 1002 ANG and both NEU clips; predicted on the 2 ANG clips
    assert values["recall_Neutral"] == 0.5 and values["precision_Neutral"] == 1.0
    assert values["recall_Anger"] == 0.0  # the tie's Anger was missed
    intended = result.by_group[
        (result.by_group["target"] == "intended") & (result.by_group["axis"] == "overall")
    ]
    assert intended.set_index("metric")["value"]["precision_Neutral"] == 0.0


def test_observed_target_needs_rated_clips(tmp_path: Path) -> None:
    votes = {
        name: [] for name in make_clips(balanced_actors(1, 1), emotions=("ANG", "SAD"))["filename"]
    }
    clips = make_clips(balanced_actors(1, 1), emotions=("ANG", "SAD"), votes=votes)
    path = write_predictions(
        tmp_path / "p.csv", pd.DataFrame(0.2, index=clips["filename"], columns=["Anger", "Sad"])
    )
    with pytest.raises(SerbiasError, match=r"p \(observed target\): no clip left to score"):
        run_audit([path], clips, settings(target="observed"))


def test_single_actor_groups_are_flagged_not_compared(tmp_path: Path) -> None:
    actors = [*balanced_actors(3, 3), (1007, "Female", "Asian", "Not Hispanic", 30)]
    clips = make_clips(actors)
    path = write_predictions(tmp_path / "p.csv", noisy_scores(clips, seed=0))
    result = run_audit([path], clips, settings())
    asian = result.gaps[(result.gaps["axis"] == "race") & (result.gaps["group"] == "Asian")]
    assert asian["flagged"].all() and asian["gap"].isna().all() and asian["p_value"].isna().all()
    assert asian["note"].str.startswith("single actor").all()
    assert not any(key.startswith("intended.race.Asian_vs") for key in result.metrics)
    with pytest.raises(SerbiasError, match="reference race=Asian: single actor"):
        run_audit([path], clips, settings(reference=("race=Asian",)))


def test_outputs_are_complete_deterministic_and_replace_a_previous_audit(
    clips: pd.DataFrame, tmp_path: Path
) -> None:
    path = write_predictions(
        tmp_path / "model.csv", noisy_scores(clips, seed=0, hit_rate={"Female": 0.9, "Male": 0.3})
    )
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    files = write_audit(run_audit([path], clips, settings(min_actors=2, seed=3)), out_a)
    write_audit(run_audit([path], clips, settings(min_actors=2, seed=3)), out_b)
    produced = sorted(p.relative_to(out_a) for p in out_a.rglob("*") if p.is_file())
    for name in (
        "metrics.json",
        "by_group.csv",
        "gaps.csv",
        "report.md",
        "report.html",
        "plots/macro_f1_by_group.csv",
        "plots/recall_gap.csv",
        "verdicts.csv",
        "plots/intended_macro_f1_by_group.svg",
        "plots/intended_recall_gap_heatmap.svg",
        "plots/intended_macro_f1_by_actor.svg",
        "plots/verdict_gaps_forest.svg",
    ):
        assert Path(name) in produced
    for relative in produced:
        assert (out_a / relative).read_bytes() == (out_b / relative).read_bytes(), relative

    metrics = json.loads(files["metrics"].read_text())
    assert all(isinstance(value, int | float) for value in metrics.values())
    assert metrics["intended.sex.Female_vs_Male.macro_f1.gap"] > 0
    gaps = pd.read_csv(files["gaps"])
    assert {
        "gap",
        "ci_low",
        "ci_high",
        "p_value",
        "chance_gap",
        "n_actors",
        "n_actors_reference",
        "flagged",
    } <= set(gaps.columns)

    report = files["report_md"].read_text()
    headline = report.index("## Headline findings")
    assert headline < report.index("## What was audited") < report.index("## Group sizes")
    assert "Female macro-F1 is" in report
    html = files["report_html"].read_text()
    # the figure by group, the recall heatmap and the speakers' strip plot, inlined as SVG
    assert html.count("<svg ") == 4 and "<img " not in html and "<table" in html

    # re-running into the same directory replaces it (another method: other intervals);
    # a foreign directory is refused
    write_audit(run_audit([path], clips, settings(min_actors=2, interval="percentile")), out_a)
    assert (out_a / "metrics.json").read_bytes() != (out_b / "metrics.json").read_bytes()
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(SerbiasError, match="not empty and holds no previous audit"):
        write_audit(run_audit([path], clips, settings(min_actors=2)), foreign)
    assert (foreign / "notes.txt").read_text() == "mine"


def test_nothing_to_audit_is_an_error(clips: pd.DataFrame) -> None:
    with pytest.raises(SerbiasError, match="nothing to audit"):
        run_audit([], clips, AuditParams())


def test_scored_sets_need_two_emotions() -> None:
    clips = make_clips(balanced_actors(1, 1), emotions=("ANG",))
    with pytest.raises(SerbiasError, match="scores only ANG; at least 2 emotions"):
        Scored(
            "x",
            "intended",
            ("ANG",),
            np.ones((2, 1), bool),
            np.ones((2, 1), bool),
            clips["actor_id"].to_numpy(),
            clips["filename"].to_numpy(),
            group_labels(clips),
        )


def _sidecar(csv: Path, model: str, labels: str, **more: object) -> None:
    info = {"model_uri": f"runs:/{csv.stem}", "model": model, "labels": labels, **more}
    csv.with_name(csv.stem + ".model.json").write_text(json.dumps(info))


def test_a_pipeline_directory_audits_models_and_replica_sets_with_the_studys_tables(
    tmp_path: Path,
) -> None:
    # The pipeline's layout: cross-validated predictions of every clip per model, and each
    # bootstrapped model's replicas in a subdirectory (an empty one: a family without replicas).
    actors = [(1000 + i, sex, race, "Not Hispanic", 30) for i, (sex, race) in enumerate(
        [("Female", "Caucasian"), ("Male", "Caucasian"), ("Female", "African American"),
         ("Male", "Asian")] * 2)]  # fmt: skip
    clips = make_clips(actors, sentences=("DFA", "IEO"))
    predictions = tmp_path / "predictions"
    cv = write_predictions(predictions / "svm-intended.csv", noisy_scores(clips, seed=9))
    _sidecar(cv, "svm", "intended", out_of_fold=True)
    other = write_predictions(predictions / "cnn_lstm-intended.csv", noisy_scores(clips, seed=8))
    _sidecar(other, "cnn_lstm", "intended")
    (predictions / "multitask-intended-bootstrap").mkdir()
    for index in range(2):
        replica = write_predictions(
            predictions / "cnn_lstm-intended-bootstrap" / f"replica_{index:03d}.csv",
            noisy_scores(clips.iloc[index::2], seed=20 + index),
        )
        _sidecar(replica, "cnn_lstm", "intended")
    rng = np.random.default_rng(1)
    subsets = []
    for index in range(3):
        subset = clips[rng.random(len(clips)) < 0.7]
        subsets.append(subset)
        replica = write_predictions(
            predictions / "svm-intended-bootstrap" / f"replica_{index:03d}.csv",
            noisy_scores(subset, seed=index),
        )
        _sidecar(replica, "svm", "intended")
    result = run_audit([predictions], clips, settings(min_actors=2, target="intended"))

    assert [s.name for s in result.systems] == [
        "cnn_lstm-intended", "svm-intended", "cnn_lstm-intended-bootstrap",
        "svm-intended-bootstrap"]  # fmt: skip
    assert [s.n_replicas for s in result.systems] == [0, 0, 2, 3]
    # the cnn_lstm CSV is not out-of-fold, so its replicas have no cross-validated partner
    partners = result.study_tables.groupby("system")["cv_system"].unique()
    expected = {"cnn_lstm-intended-bootstrap": [""], "svm-intended-bootstrap": ["svm-intended"]}
    assert {k: list(v) for k, v in partners.items()} == expected
    study = result.study_tables[result.study_tables["system"] == "svm-intended-bootstrap"]
    macro = study[study["metric"] == "macro_f1"].set_index(["group", "reference"])
    assert list(macro.index) == [("Male", ""), ("Female", ""), ("Caucasian", ""),
                                 ("Non-Caucasian", ""), ("Female", "Male"),
                                 ("Non-Caucasian", "Caucasian")]  # fmt: skip
    assert set(study["model"]) == {"svm"} and set(study["trained_on"]) == {"intended"}

    # replica mean by hand: each replica's Female macro-F1 on its own clips, averaged
    per_replica = []
    for index, subset in enumerate(subsets):
        y_pred = noisy_scores(subset, seed=index).loc[subset["filename"]].to_numpy() >= 0.5
        y_true = np.eye(6, dtype=bool)[subset["emotion"].cat.codes.to_numpy()]
        by_group, _ = group_metrics(y_true, y_pred, subset["sex"].astype(str).to_numpy(),
                                    vocab.EMOTIONS)  # fmt: skip
        per_replica.append(by_group.loc["Female", "macro_f1"])
    female = macro.loc[("Female", "")]
    assert female["replica_mean"] == pytest.approx(np.mean(per_replica), abs=1e-12)
    assert female["replica_sd"] == pytest.approx(np.std(per_replica, ddof=1), abs=1e-12)
    assert female["pooled_low"] < female["replica_mean"] < female["pooled_high"]
    # the cross-validation figures are the CV system's own group value and interval
    cv_female = result.by_group[
        (result.by_group["system"] == "svm-intended") & (result.by_group["group"] == "Female")
        & (result.by_group["metric"] == "macro_f1")].iloc[0]  # fmt: skip
    assert female["cv_value"] == cv_female["value"] and female["cv_ci_low"] == cv_female["ci_low"]
    gap = macro.loc[("Female", "Male")]
    assert gap["replica_t_low"] < gap["replica_mean"] < gap["replica_t_high"]

    files = write_audit(result, tmp_path / "out")
    written = pd.read_csv(files["study_tables"])
    assert len(written) == len(result.study_tables)
    assert "svm-intended-bootstrap.replicas.intended.sex.Female_vs_Male.macro_f1.mean" in (
        json.loads(files["metrics"].read_text())
    )
    assert "The reference study's tables" in files["report_md"].read_text()
