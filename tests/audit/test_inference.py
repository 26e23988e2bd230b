"""Actor-level intervals and tests worked out by hand, and a seeded calibration check.

The small examples use one emotion, so a count vector is ``[TP, FP, FN, items, exact]`` and
accuracy (metric column 1) is ``exact / items``: an actor right on 7 of 10 clips has
accuracy 0.7. Expected numbers are written out or recomputed with plain loops, never with
the module under test.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import numpy as np
import pytest
from scipy import stats

from serbias.audit import _inference as inference
from serbias.audit._metrics import metrics_from_counts
from serbias.audit._resampling import bootstrap_multiplicities, percentile_interval
from serbias.errors import SerbiasError

ACCURACY = 1  # column of accuracy in metrics_from_counts output
ONE_EMOTION = inference.count_metric(1)


def actors(rights: list[int], items: int = 10) -> np.ndarray:
    """Count vectors of actors right on ``rights[i]`` of ``items`` clips of one emotion."""
    return np.array([[r, 0, items - r, items, r] for r in rights], dtype=float)


def accuracy(rights: list[int], items: int = 10) -> F:
    return F(sum(rights), items * len(rights))


def plain_variance(values: list[F]) -> F:
    """Jackknife variance from delete-one values: (n - 1) / n * sum (v - mean)^2."""
    n = len(values)
    mean = sum(values) / n
    return F(n - 1, n) * sum((v - mean) ** 2 for v in values)


def jackknife_variance(rights: list[int]) -> F:
    return plain_variance([accuracy(rights[:i] + rights[i + 1 :]) for i in range(len(rights))])


# --- jackknife SE and the Welch interval ------------------------------------------------------

# Six actors: group A right on 6, 7, 9 of 10 clips, group B on 4, 5, 6.
# A: accuracy 22/30; leaving one out gives 16/20, 15/20, 13/20 (mean 22/30);
#    variance = 2/3 * ((2/30)^2 + (1/60)^2 + (5/60)^2) = 7/900.
# B: accuracy 15/30; leaving one out gives 11/20, 10/20, 9/20; variance = 2/3 * 2/400 = 3/900.
# Gap 22/30 - 15/30 = 7/30; SE_d^2 = 10/900; Welch df = (10/900)^2 / ((7/900)^2/2 + (3/900)^2/2)
#    = 100 / 29.
GROUP_A, GROUP_B = [6, 7, 9], [4, 5, 6]


def test_jackknife_se_and_welch_interval_on_six_actors() -> None:
    a = inference.jackknife(actors(GROUP_A), metric=ONE_EMOTION)
    b = inference.jackknife(actors(GROUP_B), metric=ONE_EMOTION)
    assert jackknife_variance(GROUP_A) == F(7, 900)
    assert jackknife_variance(GROUP_B) == F(3, 900)
    assert a.variance[ACCURACY] == pytest.approx(7 / 900)
    assert a.se[ACCURACY] == pytest.approx(math.sqrt(7 / 900))
    assert b.variance[ACCURACY] == pytest.approx(3 / 900)

    gap = inference.gap_interval(a, b, confidence=0.95)
    assert gap.estimate[ACCURACY] == pytest.approx(7 / 30)
    assert gap.se[ACCURACY] == pytest.approx(math.sqrt(10 / 900))
    assert gap.df[ACCURACY] == pytest.approx(100 / 29)
    half = stats.t.ppf(0.975, 100 / 29) * math.sqrt(10 / 900)
    assert gap.low[ACCURACY] == pytest.approx(7 / 30 - half)
    assert gap.high[ACCURACY] == pytest.approx(7 / 30 + half)
    t = (7 / 30) / math.sqrt(10 / 900)
    assert gap.p_value[ACCURACY] == pytest.approx(2 * stats.t.sf(t, 100 / 29))
    assert gap.method == "jackknife-welch"


def test_group_interval_uses_n_minus_one_df() -> None:
    interval = inference.group_interval(
        inference.jackknife(actors(GROUP_A), metric=ONE_EMOTION), confidence=0.90
    )
    half = stats.t.ppf(0.95, 2) * math.sqrt(7 / 900)
    assert interval.df[ACCURACY] == 2
    assert interval.low[ACCURACY] == pytest.approx(22 / 30 - half)
    assert interval.high[ACCURACY] == pytest.approx(22 / 30 + half)


def test_jackknife_of_every_metric_matches_a_loop_over_deletions() -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 12, size=(5, 3 * 6 + 2)).astype(float)
    counts[:, -2] = 40
    metric = inference.count_metric(6)
    result = inference.jackknife(counts, metric=metric)
    deleted = [metrics_from_counts(np.delete(counts, i, axis=0).sum(axis=0), 6) for i in range(5)]
    mean = sum(deleted) / 5
    variance = 4 / 5 * sum((d - mean) ** 2 for d in deleted)
    np.testing.assert_allclose(result.variance, variance, atol=1e-15)
    np.testing.assert_allclose(result.value, metrics_from_counts(counts.sum(axis=0), 6))


# --- exact enumeration, the "cannot be resolved" case and the chance band ---------------------

# Group A right on 7, 8, 9 of 10 clips, B on 4, 5, 6: the observed split is the most extreme of
# the C(6, 3) = 20 labelings, and so is its mirror image (B's actors labelled A): p = 2/20.
TOP_A, TOP_B = [7, 8, 9], [4, 5, 6]


def plain_labelings(rights: list[int], n_a: int) -> list[tuple[list[int], list[int]]]:
    positions = range(len(rights))
    return [
        ([rights[i] for i in chosen], [rights[i] for i in positions if i not in chosen])
        for chosen in itertools.combinations(positions, n_a)
    ]


def plain_statistic(a: list[int], b: list[int]) -> float:
    return float(accuracy(a) - accuracy(b)) / math.sqrt(
        float(jackknife_variance(a) + jackknife_variance(b))
    )


def test_exact_enumeration_p_value_on_three_vs_three() -> None:
    test = inference.studentized_permutation_test(
        actors(TOP_A),
        actors(TOP_B),
        metric=ONE_EMOTION,
        n_perm=1000,
        rng=np.random.default_rng(0),
    )
    splits = plain_labelings(TOP_A + TOP_B, 3)
    assert len(splits) == test.n_labelings == 20
    assert test.exact
    observed = plain_statistic(TOP_A, TOP_B)
    assert test.statistic[ACCURACY] == pytest.approx(observed)  # 0.3 / sqrt(6/900) = 3.674
    assert observed == pytest.approx(0.3 / math.sqrt(6 / 900))
    as_extreme = sum(abs(plain_statistic(a, b)) >= abs(observed) - 1e-9 for a, b in splits)
    assert as_extreme == 2
    assert test.p_value[ACCURACY] == pytest.approx(2 / 20)
    assert test.min_p == pytest.approx(0.1)


def test_three_vs_three_cannot_be_resolved() -> None:
    test = inference.studentized_permutation_test(
        actors(TOP_A), actors(TOP_B), metric=ONE_EMOTION, n_perm=1000, rng=np.random.default_rng(0)
    )
    assert not test.resolvable
    assert test.note.startswith("cannot be resolved with 3 vs 3 actors")
    assert "0.1 > 0.05" in test.note


def test_three_vs_four_can_be_resolved_exactly() -> None:
    test = inference.studentized_permutation_test(
        actors([8, 9, 10]),
        actors([2, 3, 4, 5]),
        metric=ONE_EMOTION,
        n_perm=1000,
        rng=np.random.default_rng(0),
    )
    assert test.exact and test.n_labelings == math.comb(7, 3) == 35
    assert test.min_p == pytest.approx(1 / 35)
    assert test.resolvable and test.note == ""
    assert test.p_value[ACCURACY] == pytest.approx(1 / 35)  # the observed split is the extreme


def test_random_labelings_beyond_the_budget() -> None:
    test = inference.studentized_permutation_test(
        actors([8, 9, 10, 7]),
        actors([2, 3, 4, 5, 6]),
        metric=ONE_EMOTION,
        n_perm=99,
        rng=np.random.default_rng(1),
    )
    assert not test.exact and test.n_labelings == 99  # C(9, 4) = 126 > 99
    assert test.min_p == pytest.approx(1 / 100)
    assert test.p_value[ACCURACY] * 100 == pytest.approx(round(test.p_value[ACCURACY] * 100))


def test_actor_level_chance_band_on_three_vs_three() -> None:
    band = inference.actor_chance_band(
        actors(TOP_A),
        actors(TOP_B),
        metric=ONE_EMOTION,
        n_perm=1000,
        rng=np.random.default_rng(0),
        confidence=0.9,
    )
    gaps = [float(accuracy(a) - accuracy(b)) for a, b in plain_labelings(TOP_A + TOP_B, 3)]
    # every labeling's mirror image has the opposite gap, so the gaps average to 0
    assert band.n_labelings == 20
    assert band.mean[ACCURACY] == pytest.approx(0.0, abs=1e-15)
    assert band.sd[ACCURACY] == pytest.approx(np.std(gaps, ddof=1))
    assert band.low[ACCURACY] == pytest.approx(np.percentile(gaps, 5))
    assert band.high[ACCURACY] == pytest.approx(np.percentile(gaps, 95))
    # the band is the same as the permutation test's, from the same labelings
    test = inference.studentized_permutation_test(
        actors(TOP_A),
        actors(TOP_B),
        metric=ONE_EMOTION,
        n_perm=1000,
        rng=np.random.default_rng(0),
        confidence=0.9,
    )
    assert test.chance.sd[ACCURACY] == pytest.approx(band.sd[ACCURACY])


# --- power ---------------------------------------------------------------------------------------


def test_minimum_detectable_gap_formula() -> None:
    se, df = np.array([0.05, 0.02]), np.array([7.0, np.inf])
    detectable = inference.minimum_detectable_gap(se, df)
    # t(7): 2.3646 at 0.975, 0.8960 at 0.80; normal: 1.95996 + 0.84162
    assert detectable[0] == pytest.approx((2.364624 + 0.896030) * 0.05, rel=1e-5)
    assert detectable[1] == pytest.approx((1.959964 + 0.841621) * 0.02, rel=1e-5)
    assert inference.minimum_detectable_gap(se, df, power=0.9)[1] == pytest.approx(
        (1.959964 + 1.281552) * 0.02, rel=1e-5
    )


# --- ratio, difference to overall, paired comparison --------------------------------------------


def test_ratio_interval_on_the_log_scale() -> None:
    ratio = inference.ratio_interval(actors(GROUP_A), actors(GROUP_B), metric=ONE_EMOTION)

    def log_variance(rights: list[int]) -> float:
        left_out = [math.log(accuracy(rights[:i] + rights[i + 1 :])) for i in range(len(rights))]
        mean = sum(left_out) / len(left_out)
        return (len(rights) - 1) / len(rights) * sum((v - mean) ** 2 for v in left_out)

    va, vb = log_variance(GROUP_A), log_variance(GROUP_B)
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 2)
    log_ratio = math.log(22 / 15)
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert ratio.ratio[ACCURACY] == pytest.approx(22 / 15)
    assert ratio.df[ACCURACY] == pytest.approx(df)
    assert ratio.low[ACCURACY] == pytest.approx(math.exp(log_ratio - half))
    assert ratio.high[ACCURACY] == pytest.approx(math.exp(log_ratio + half))
    assert ratio.reason[ACCURACY] == ""


def test_ratio_is_undefined_where_a_metric_is_zero() -> None:
    ratio = inference.ratio_interval(actors([0, 0, 0]), actors(GROUP_B), metric=ONE_EMOTION)
    assert np.isnan(ratio.ratio[ACCURACY]) and np.isnan(ratio.low[ACCURACY])
    assert ratio.reason[ACCURACY] == "the metric is 0 in the group"
    ratio = inference.ratio_interval(actors(GROUP_A), actors([0, 0, 3]), metric=ONE_EMOTION)
    assert ratio.ratio[ACCURACY] == pytest.approx((22 / 30) / (3 / 30))
    assert np.isnan(ratio.low[ACCURACY])
    assert ratio.reason[ACCURACY] == "the metric is 0 when one actor is left out"
    ratio = inference.ratio_interval(actors(GROUP_A), actors([0, 0]), metric=ONE_EMOTION)
    assert ratio.reason[ACCURACY] == "the metric is 0 in the reference group"


def test_difference_to_overall_is_a_stratified_joint_jackknife() -> None:
    rights = {"A": [6, 7, 9], "B": [4, 5, 6, 8]}
    everyone = rights["A"] + rights["B"]
    groups = np.array(["A"] * 3 + ["B"] * 4)
    intervals = inference.overall_differences(actors(everyone), groups=groups, metric=ONE_EMOTION)
    # delete each actor of All once: theta_i = m(A - i) - m(All - i)
    theta = []
    for i in range(7):
        group = [r for j, r in enumerate(rights["A"]) if j != i]
        theta.append(accuracy(group) - accuracy(everyone[:i] + everyone[i + 1 :]))
    strata = [plain_variance(theta[:3]), plain_variance(theta[3:])]
    variance = sum(strata)
    df = variance**2 / (strata[0] ** 2 / 2 + strata[1] ** 2 / 3)
    result = intervals["A"]
    assert result.estimate[ACCURACY] == pytest.approx(float(accuracy(rights["A"]) - F(45, 70)))
    assert result.se[ACCURACY] == pytest.approx(math.sqrt(variance))
    assert result.df[ACCURACY] == pytest.approx(float(df))
    plain = inference.overall_differences(
        actors(everyone), groups=groups, metric=ONE_EMOTION, stratified=False
    )["A"]
    assert plain.se[ACCURACY] == pytest.approx(math.sqrt(plain_variance(theta)))
    assert plain.df[ACCURACY] == 6


def test_excess_over_listeners_deletes_an_actor_from_both() -> None:
    model, human = [6, 7, 9], [5, 5, 8]
    excess = inference.excess_interval(
        actors(model), actors(human), metric=ONE_EMOTION, confidence=0.95
    )
    left_out = [
        accuracy(model[:i] + model[i + 1 :]) - accuracy(human[:i] + human[i + 1 :])
        for i in range(3)
    ]
    assert excess.estimate[ACCURACY] == pytest.approx(float(accuracy(model) - accuracy(human)))
    assert excess.se[ACCURACY] == pytest.approx(math.sqrt(plain_variance(left_out)))
    assert excess.df[ACCURACY] == 2
    # with references: the model's gap minus the listeners' gap, Welch over the two groups
    model_ref, human_ref = [4, 5, 6, 5], [4, 4, 6, 7]
    gap = inference.excess_interval(
        actors(model),
        actors(human),
        model_reference=actors(model_ref),
        human_reference=actors(human_ref),
        metric=ONE_EMOTION,
    )
    reference_left_out = [
        accuracy(model_ref[:i] + model_ref[i + 1 :]) - accuracy(human_ref[:i] + human_ref[i + 1 :])
        for i in range(4)
    ]
    va, vb = plain_variance(left_out), plain_variance(reference_left_out)
    expected = (accuracy(model) - accuracy(human)) - (accuracy(model_ref) - accuracy(human_ref))
    assert gap.estimate[ACCURACY] == pytest.approx(float(expected))
    assert gap.se[ACCURACY] == pytest.approx(math.sqrt(va + vb))
    assert gap.df[ACCURACY] == pytest.approx(float((va + vb) ** 2 / (va**2 / 2 + vb**2 / 3)))


def test_paired_counts_need_the_same_actors() -> None:
    with pytest.raises(SerbiasError, match="same actors"):
        inference.paired_counts(actors([1, 2]), actors([1, 2, 3]))


# --- studentized bootstrap -----------------------------------------------------------------------


def copies_jackknife_se(rights: list[int], draw: np.ndarray) -> float:
    """Jackknife SE over the drawn copies, each copy deleted once (plain loop)."""
    drawn = [r for r, times in zip(rights, draw, strict=True) for _ in range(int(times))]
    return math.sqrt(float(jackknife_variance(drawn)))


def test_bootstrap_se_deletes_one_copy_of_a_drawn_actor() -> None:
    draws = np.array([[3, 0, 0], [1, 1, 1], [2, 0, 1], [0, 2, 1]])
    boot = inference.bootstrap_group(actors(GROUP_A), metric=ONE_EMOTION, multiplicities=draws)
    for row, draw in enumerate(draws):
        drawn = [r for r, times in zip(GROUP_A, draw, strict=True) for _ in range(int(times))]
        assert boot.values[row, ACCURACY] == pytest.approx(float(accuracy(drawn)))
        assert boot.se[row, ACCURACY] == pytest.approx(copies_jackknife_se(GROUP_A, draw))
    assert boot.se[0, ACCURACY] == 0.0  # three copies of one actor: degenerate


def test_studentized_interval_is_d_minus_t_quantiles_times_se() -> None:
    a = inference.jackknife(actors(GROUP_A), metric=ONE_EMOTION)
    b = inference.jackknife(actors(GROUP_B), metric=ONE_EMOTION)
    rng = np.random.default_rng(4)
    draws_a, draws_b = bootstrap_multiplicities(3, 400, rng), bootstrap_multiplicities(3, 400, rng)
    boot_a = inference.bootstrap_group(actors(GROUP_A), metric=ONE_EMOTION, multiplicities=draws_a)
    boot_b = inference.bootstrap_group(actors(GROUP_B), metric=ONE_EMOTION, multiplicities=draws_b)
    interval = inference.studentized_interval(
        a, boot_a, reference=b, reference_resamples=boot_b, confidence=0.9
    )
    t = []
    for da, db in zip(draws_a, draws_b, strict=True):
        drawn_a = [r for r, k in zip(GROUP_A, da, strict=True) for _ in range(int(k))]
        drawn_b = [r for r, k in zip(GROUP_B, db, strict=True) for _ in range(int(k))]
        gap = float(accuracy(drawn_a) - accuracy(drawn_b)) - 7 / 30
        se = math.hypot(copies_jackknife_se(GROUP_A, da), copies_jackknife_se(GROUP_B, db))
        t.append(
            gap / se if se > 0 else (0.0 if abs(gap) < 1e-12 else math.copysign(math.inf, gap))
        )
    q_low, q_high = np.quantile(t, [0.05, 0.95], method="inverted_cdf")
    se_d = math.sqrt(10 / 900)
    assert interval.low[ACCURACY] == pytest.approx(7 / 30 - q_high * se_d)
    assert interval.high[ACCURACY] == pytest.approx(7 / 30 - q_low * se_d)
    degenerate = sum(
        da.max() == 3 and db.max() == 3 for da, db in zip(draws_a, draws_b, strict=True)
    )
    assert interval.n_degenerate[ACCURACY] == degenerate
    assert interval.method == "studentized-bootstrap"


def test_axis_bootstrap_gives_group_and_overall_se_of_each_resample() -> None:
    rights = {"A": [6, 7, 9], "B": [4, 5, 6, 8]}
    groups = np.array(["A"] * 3 + ["B"] * 4)
    draws = {"A": np.array([[1, 1, 1], [2, 1, 0]]), "B": np.array([[1, 1, 1, 1], [0, 0, 1, 3]])}
    boot = inference.bootstrap_axis(
        actors(rights["A"] + rights["B"]), groups=groups, metric=ONE_EMOTION, multiplicities=draws
    )
    for row in range(2):
        copies = {
            g: [r for r, k in zip(rights[g], draws[g][row], strict=True) for _ in range(int(k))]
            for g in rights
        }
        everyone = copies["A"] + copies["B"]
        theta = []  # delete each drawn copy once: m(A - copy) - m(All - copy)
        for i in range(len(everyone)):
            group = [r for j, r in enumerate(copies["A"]) if j != i]
            theta.append(accuracy(group) - accuracy(everyone[:i] + everyone[i + 1 :]))
        variance = plain_variance(theta[:3]) + plain_variance(theta[3:])
        overall = boot.overall["A"]
        assert overall.values[row, ACCURACY] == pytest.approx(
            float(accuracy(copies["A"]) - accuracy(everyone))
        )
        assert overall.se[row, ACCURACY] == pytest.approx(math.sqrt(variance))
        assert boot.groups["B"].se[row, ACCURACY] == pytest.approx(
            copies_jackknife_se(rights["B"], draws["B"][row])
        )
    alone = inference.bootstrap_group(
        actors(rights["A"]), metric=ONE_EMOTION, multiplicities=draws["A"]
    )
    np.testing.assert_allclose(boot.groups["A"].values, alone.values)
    np.testing.assert_allclose(boot.groups["A"].se, alone.se)
    intervals = inference.overall_differences(
        actors(rights["A"] + rights["B"]), groups=groups, metric=ONE_EMOTION, resamples=boot
    )
    assert intervals["A"].method == "studentized-bootstrap"


def test_multiplicities_must_fit_the_group() -> None:
    with pytest.raises(SerbiasError, match="expected"):
        inference.bootstrap_group(
            actors(GROUP_A), metric=ONE_EMOTION, multiplicities=np.ones((5, 4))
        )


# --- replica sets ---------------------------------------------------------------------------------


def test_replica_interval_pools_replicas_and_actors() -> None:
    pairs = [([6, 7, 9], [4, 5, 6]), ([7, 8, 8], [5, 5, 5]), ([5, 8, 9], [4, 6, 6])]
    group = np.stack([actors(a) for a, _ in pairs])
    reference = np.stack([actors(b) for _, b in pairs])
    result = inference.replica_interval(
        group, reference, metric=ONE_EMOTION, n_boot=300, rng=np.random.default_rng(5)
    )
    per_replica = [float(accuracy(a) - accuracy(b)) for a, b in pairs]  # 7/30, 8/30, 6/30
    assert result.estimate[ACCURACY] == pytest.approx(7 / 30)
    assert result.se_replicas[ACCURACY] == pytest.approx(np.std(per_replica, ddof=1) / np.sqrt(3))
    assert result.low[ACCURACY] < result.estimate[ACCURACY] < result.high[ACCURACY]
    half = stats.t.ppf(0.975, result.df[ACCURACY]) * result.se[ACCURACY]
    assert result.high[ACCURACY] - result.estimate[ACCURACY] == pytest.approx(half)
    assert result.n_replicas == 3


# --- calibration ----------------------------------------------------------------------------------


def simulated_counts(
    rng: np.random.Generator, n_actors: int, clips_per_emotion: int, sd: float
) -> np.ndarray:
    """Six emotions; right with probability sigmoid(0.2 + u), u ~ N(0, sd^2); a wrong decision
    names one of the other five emotions at random. Rows are ``row_counts`` vectors."""
    k = 6
    p_right = 1.0 / (1.0 + np.exp(-(0.2 + rng.normal(0.0, sd, n_actors))))
    right = rng.binomial(clips_per_emotion, p_right[:, None], size=(n_actors, k))
    wrong = clips_per_emotion - right
    false_positives = np.zeros((n_actors, k))
    for e in range(k):
        spread = rng.multinomial(wrong[:, e], np.full(k - 1, 1.0 / (k - 1)))
        false_positives[:, [o for o in range(k) if o != e]] += spread
    items = np.full((n_actors, 1), k * clips_per_emotion)
    return np.hstack([right, false_positives, wrong, items, right.sum(axis=1, keepdims=True)])


def test_calibration_studentized_intervals_cover_at_four_vs_five_actors() -> None:
    """200 systems with no true gap (same classifier for both groups), 4 vs 5 actors.

    With 200 systems a 95% interval covers at least 176 times with probability > 0.999, so
    coverage >= 0.88 is a safe bound; the percentile interval covers about 83-85% here.
    """
    rng = np.random.default_rng(20240613)
    metric = inference.count_metric(6)
    covered = {"bootstrap-t": 0, "jackknife-t": 0, "percentile": 0}
    n_systems = 200
    for _ in range(n_systems):
        a = simulated_counts(rng, 4, 10, 0.5)
        b = simulated_counts(rng, 5, 10, 0.5)
        jack_a, jack_b = (inference.jackknife(x, metric=metric) for x in (a, b))
        boot_a, boot_b = (
            inference.bootstrap_group(
                x, metric=metric, multiplicities=bootstrap_multiplicities(len(x), 300, rng)
            )
            for x in (a, b)
        )
        student = inference.studentized_interval(
            jack_a, boot_a, reference=jack_b, reference_resamples=boot_b
        )
        welch = inference.gap_interval(jack_a, jack_b)
        low, high = percentile_interval(boot_a.values - boot_b.values, 0.95)
        for name, lo, hi in (
            ("bootstrap-t", student.low[0], student.high[0]),
            ("jackknife-t", welch.low[0], welch.high[0]),
            ("percentile", low[0], high[0]),
        ):
            covered[name] += bool(lo <= 0.0 <= hi)  # macro-F1 gap, truly 0
    assert stats.binom.cdf(175, n_systems, 0.95) < 1e-3
    assert covered["bootstrap-t"] >= 176
    assert covered["jackknife-t"] >= 176
    assert covered["percentile"] < 176, covered  # the check would catch a percentile interval
