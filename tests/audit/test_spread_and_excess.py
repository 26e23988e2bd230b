"""The spread between groups and the model-minus-listeners excess under ``audit.interval``,
worked out by hand, and every gaps.csv row naming its interval method.

As in ``test_inference.py`` the examples use one emotion: a count vector is
``[TP, FP, FN, items, exact]`` and accuracy (metric column 1) is ``exact / items``. Expected
numbers are recomputed with plain loops over actors (or drawn copies), never with the module
under test.
"""

from __future__ import annotations

import math
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from serbias.audit import AuditParams, run_audit
from serbias.audit._gap_stats import BootGap, paired_excess, spread_statistics
from serbias.audit._resampling import bootstrap_multiplicities
from tests.audit.clips import make_clips, noisy_scores, write_predictions

ACCURACY = 1


def actors(rights: list[int], items: int = 10) -> np.ndarray:
    return np.array([[r, 0, items - r, items, r] for r in rights], dtype=float)


def accuracy(rights: list[int], items: int = 10) -> F:
    return F(sum(rights), items * len(rights))


def plain_variance(values: list) -> F:
    """Jackknife variance from delete-one values: (n - 1) / n * sum (v - mean)^2."""
    n = len(values)
    mean = sum(values) / n
    return F(n - 1, n) * sum((v - mean) ** 2 for v in values)


def without(rights: list[int], i: int) -> list[int]:
    return rights[:i] + rights[i + 1 :]


# --- the spread between groups ---------------------------------------------------------------

# A right on 6, 7, 9 of 10 clips (22/30), B on 4, 5, 6 (15/30), C on 2, 6, 6, 8 (22/40).
# Spread = A - B = 7/30. Deleting an actor of A or B moves only that end (C stays inside), so
# those strata give A's and B's jackknife variances, 7/900 and 3/900 (test_inference.py).
# Deleting C's 8 leaves 14/30 < 15/30: C becomes the smallest, theta = 22/30 - 14/30 = 8/30;
# C's thetas are 7/30, 7/30, 7/30, 8/30, variance 3/4 * (3 (1/120)^2 + (3/120)^2) = 1/1600.
SPREAD_GROUPS = {"A": [6, 7, 9], "B": [4, 5, 6], "C": [2, 6, 6, 8]}


def plain_spread(values: dict[str, float]) -> float:
    return max(values.values()) - min(values.values())


def stratum_thetas(groups: dict[str, list[int]], name: str, transform) -> list:
    """The spread with each actor of ``name`` left out in turn (plain loop)."""
    thetas = []
    for i in range(len(groups[name])):
        values = {g: transform(accuracy(r)) for g, r in groups.items()}
        values[name] = transform(accuracy(without(groups[name], i)))
        thetas.append(plain_spread(values))
    return thetas


def test_spread_jackknife_is_stratified_by_group_by_hand() -> None:
    groups = SPREAD_GROUPS
    identity = lambda x: x  # noqa: E731
    variances = {g: plain_variance(stratum_thetas(groups, g, identity)) for g in groups}
    assert variances == {"A": F(7, 900), "B": F(3, 900), "C": F(1, 1600)}
    variance = float(sum(variances.values()))
    df = variance**2 / sum(float(v) ** 2 / (len(groups[g]) - 1) for g, v in variances.items())
    half = stats.t.ppf(0.975, df) * math.sqrt(variance)

    spread, (ratio_low, ratio_high) = spread_statistics(
        [actors(r) for r in groups.values()], n_emotions=1, interval="jackknife", confidence=0.95
    )
    assert spread.estimate[ACCURACY] == pytest.approx(7 / 30)
    assert spread.se[ACCURACY] == pytest.approx(math.sqrt(variance))
    assert spread.df[ACCURACY] == pytest.approx(df)
    assert spread.low[ACCURACY] == pytest.approx(7 / 30 - half)
    assert spread.high[ACCURACY] == pytest.approx(7 / 30 + half)

    # the ratio smallest / largest = exp(-(log max - log min)), jackknifed on the log scale
    logged = {g: stratum_thetas(groups, g, lambda x: math.log(x)) for g in groups}
    log_variances = {g: float(plain_variance(t)) for g, t in logged.items()}
    log_variance = sum(log_variances.values())
    log_df = log_variance**2 / sum(v**2 / (len(groups[g]) - 1) for g, v in log_variances.items())
    log_half = stats.t.ppf(0.975, log_df) * math.sqrt(log_variance)
    log_spread = math.log(22 / 30) - math.log(15 / 30)
    assert ratio_low[ACCURACY] == pytest.approx(math.exp(-(log_spread + log_half)))
    assert ratio_high[ACCURACY] == pytest.approx(math.exp(-(log_spread - log_half)))
    assert ratio_low[ACCURACY] < 15 / 22 < ratio_high[ACCURACY]


def copies(rights: list[int], draw: np.ndarray) -> list[int]:
    return [r for r, times in zip(rights, draw, strict=True) for _ in range(int(times))]


def test_spread_bootstrap_t_recomputes_the_stratified_se_in_every_resample() -> None:
    groups = SPREAD_GROUPS
    rng = np.random.default_rng(3)
    draws = {g: bootstrap_multiplicities(len(r), 60, rng) for g, r in groups.items()}
    spread, _ = spread_statistics(
        [actors(r) for r in groups.values()],
        n_emotions=1,
        interval="studentized",
        confidence=0.9,
        draws=list(draws.values()),
    )
    low, high = spread.low, spread.high
    t = []
    for b in range(60):
        drawn = {g: copies(r, draws[g][b]) for g, r in groups.items()}
        spread = float(plain_spread({g: accuracy(r) for g, r in drawn.items()}))
        variance = sum(float(plain_variance(stratum_thetas(drawn, g, lambda x: x))) for g in drawn)
        gap = spread - 7 / 30
        se = math.sqrt(variance)
        if se > 1e-12:
            t.append(gap / se)
        else:  # copies of one actor: t is 0 or infinite, as in the audit
            t.append(0.0 if abs(gap) < 1e-12 else math.copysign(math.inf, gap))
    q_low, q_high = np.quantile(t, [0.05, 0.95], method="inverted_cdf")
    se_d = math.sqrt(7 / 900 + 3 / 900 + 1 / 1600)
    assert low[ACCURACY] == pytest.approx(7 / 30 - q_high * se_d)
    assert high[ACCURACY] == pytest.approx(7 / 30 - q_low * se_d)


# --- model minus listeners, paired actor by actor ----------------------------------------------

MODEL, HUMAN = [6, 7, 9], [5, 5, 8]  # group A: the model's and the listeners' rights per actor
MODEL_REF, HUMAN_REF = [4, 5, 6, 5], [4, 4, 6, 7]  # the reference group B


def boot_gap(group: list[int], reference: list[int], interval: str, draws=None) -> BootGap:
    return BootGap(
        actors=(1, 2, 3),
        reference_actors=(4, 5, 6, 7),
        samples=np.zeros((1, 7)),
        counts=actors(group),
        reference_counts=actors(reference),
        interval=interval,
        draws=draws,
    )


def paired_thetas(model: list[int], human: list[int]) -> list[F]:
    """Model minus listeners with each actor left out of both (plain loop)."""
    return [accuracy(without(model, i)) - accuracy(without(human, i)) for i in range(len(model))]


def test_excess_jackknife_deletes_each_actor_from_both_systems() -> None:
    va = plain_variance(paired_thetas(MODEL, HUMAN))
    vb = plain_variance(paired_thetas(MODEL_REF, HUMAN_REF))
    # per-actor differences 1, 2, 1 of 10 clips: leaving one out gives 3/20, 2/20, 3/20;
    # in B 0, 1, 0, -2: -1/30, -2/30, -1/30, 1/30
    assert (va, vb) == (F(1, 900), F(19, 4800))
    excess = (accuracy(MODEL) - accuracy(HUMAN)) - (accuracy(MODEL_REF) - accuracy(HUMAN_REF))
    df = float((va + vb) ** 2 / (va**2 / 2 + vb**2 / 3))
    half = stats.t.ppf(0.975, df) * math.sqrt(float(va + vb))

    low, high = paired_excess(
        boot_gap(MODEL, MODEL_REF, "jackknife"),
        boot_gap(HUMAN, HUMAN_REF, "jackknife"),
        n_emotions=1,
        confidence=0.95,
    )
    assert low[ACCURACY] == pytest.approx(float(excess) - half)
    assert high[ACCURACY] == pytest.approx(float(excess) + half)


def test_excess_bootstrap_t_resamples_actors_of_both_systems_together() -> None:
    rng = np.random.default_rng(5)
    draws = (bootstrap_multiplicities(3, 80, rng), bootstrap_multiplicities(4, 80, rng))
    low, high = paired_excess(
        boot_gap(MODEL, MODEL_REF, "studentized", draws),
        boot_gap(HUMAN, HUMAN_REF, "studentized", draws),
        n_emotions=1,
        confidence=0.9,
    )
    excess = float(
        (accuracy(MODEL) - accuracy(HUMAN)) - (accuracy(MODEL_REF) - accuracy(HUMAN_REF))
    )
    t = []
    for da, db in zip(*draws, strict=True):
        model, human = copies(MODEL, da), copies(HUMAN, da)
        model_ref, human_ref = copies(MODEL_REF, db), copies(HUMAN_REF, db)
        gap = float(
            (accuracy(model) - accuracy(human)) - (accuracy(model_ref) - accuracy(human_ref))
        )
        se = math.sqrt(
            float(
                plain_variance(paired_thetas(model, human))
                + plain_variance(paired_thetas(model_ref, human_ref))
            )
        )
        if se > 1e-12:
            t.append((gap - excess) / se)
        else:
            t.append(0.0 if abs(gap - excess) < 1e-12 else math.copysign(math.inf, gap - excess))
    q_low, q_high = np.quantile(t, [0.05, 0.95], method="inverted_cdf")
    se_d = math.sqrt(1 / 900 + 19 / 4800)
    assert low[ACCURACY] == pytest.approx(excess - q_high * se_d)
    assert high[ACCURACY] == pytest.approx(excess - q_low * se_d)


def test_excess_needs_the_same_actors() -> None:
    other = BootGap((1, 2, 9), (4, 5, 6, 7), np.zeros((1, 7)), actors(HUMAN), actors(HUMAN_REF))
    with pytest.raises(ValueError, match="different actors"):
        paired_excess(boot_gap(MODEL, MODEL_REF, "jackknife"), other, n_emotions=1, confidence=0.95)


# --- every row of gaps.csv names its method -----------------------------------------------------


def _mixed_actors() -> list[tuple[int, str, str, str, int]]:
    """Ten actors: 5 F / 5 M, three races (4 Caucasian, 3 Asian, 3 African American)."""
    races = ["Caucasian"] * 4 + ["Asian"] * 3 + ["African American"] * 3
    sexes = ["Female", "Male"] * 5
    return [
        (1001 + i, sex, race, "Not Hispanic", 25 + 3 * i)
        for i, (sex, race) in enumerate(zip(sexes, races, strict=True))
    ]


@pytest.mark.parametrize("method", ["jackknife", "studentized", "percentile"])
def test_every_gap_row_names_the_configured_interval_method(tmp_path: Path, method: str) -> None:
    clips = make_clips(_mixed_actors(), sentences=("DFA", "IEO"))
    for j, letter in enumerate("ADFHNS"):  # 3 votes for the intended emotion, 1 for Neutral
        intended = clips["emotion"].cat.codes.to_numpy() == j
        clips[f"voice_{letter}"] = pd.array(3 * intended + (letter == "N"), dtype="Int64")
    path = write_predictions(tmp_path / "p.csv", noisy_scores(clips, seed=2))
    settings = AuditParams(
        human_baseline=True, n_boot=100, n_perm=50, n_chance=2, min_actors=3, interval=method
    )
    gaps = run_audit([path], clips, settings).gaps
    assert (gaps["interval_method"] == method).all()
    between = gaps[(gaps["kind"] == "between_groups") & (gaps["system"] == "p")]
    excess = gaps.dropna(subset=["excess_ci_low"])
    assert not between.empty and not excess.empty
    if method != "percentile":  # the spread's SE and df come with its interval
        assert between["se"].notna().all() and (between["se"] > 0).any()
    if method == "jackknife":  # t intervals: symmetric about the estimate
        for rows, estimate, low, high in (
            (between, "gap", "ci_low", "ci_high"),
            (excess, "excess_gap", "excess_ci_low", "excess_ci_high"),
        ):
            finite = rows[np.isfinite(rows[low])]
            assert not finite.empty
            np.testing.assert_allclose(
                finite[estimate] - finite[low], finite[high] - finite[estimate], atol=1e-12
            )


def test_the_audits_excess_is_the_paired_jackknife_of_its_actors(tmp_path: Path) -> None:
    """The audit's excess interval equals the hand formula on its own per-actor counts."""
    clips = make_clips(_mixed_actors(), sentences=("DFA", "IEO"))
    for j, letter in enumerate("ADFHNS"):
        intended = clips["emotion"].cat.codes.to_numpy() == j
        clips[f"voice_{letter}"] = pd.array(2 * intended + (letter == "S"), dtype="Int64")
    path = write_predictions(tmp_path / "p.csv", noisy_scores(clips, seed=4))
    settings = AuditParams(human_baseline=True, n_boot=50, n_perm=50, min_actors=3)
    result = run_audit([path], clips, settings)
    model, listeners = result.analyses
    key = ("sex", "Female", "Male")
    paired = model.boot_gaps[key], listeners.boot_gaps[key]
    row = result.gaps[
        (result.gaps["system"] == "p")
        & (result.gaps["axis"] == "sex")
        & (result.gaps["kind"] == "vs_reference")
        & (result.gaps["metric"] == "accuracy")
    ].iloc[0]

    def accuracies(counts: np.ndarray) -> float:
        return counts[:, -1].sum() / counts[:, -2].sum()  # exact / items

    strata = []
    for model_counts, human_counts in (
        (paired[0].counts, paired[1].counts),
        (paired[0].reference_counts, paired[1].reference_counts),
    ):
        n = len(model_counts)
        thetas = [
            accuracies(np.delete(model_counts, i, 0)) - accuracies(np.delete(human_counts, i, 0))
            for i in range(n)
        ]
        strata.append(((n - 1) / n * np.sum((np.array(thetas) - np.mean(thetas)) ** 2), n))
    variance = sum(v for v, _ in strata)
    df = variance**2 / sum(v**2 / (n - 1) for v, n in strata)
    half = stats.t.ppf(0.975, df) * math.sqrt(variance)
    assert row["excess_ci_low"] == pytest.approx(row["excess_gap"] - half)
    assert row["excess_ci_high"] == pytest.approx(row["excess_gap"] + half)
