"""Calibration study: do the audit's intervals and tests keep their level at few actors?

Simulates classifiers on the real CREMA-D metadata designs (each actor keeps its real clips,
about 82 over six emotions) and audits the macro-F1 gap between two groups of actors with
today's method and the candidates of :mod:`serbias.audit._inference`.

The simulated classifier is right on a clip with probability
``sigmoid(mu + u_actor + delta * [actor in group A])``, ``u_actor ~ N(0, sd_group^2)``; a wrong
decision names one of the other five emotions at random. The true gap is the macro-F1 of the
groups' expected counts with the actor effects integrated out (the value the count-based
estimate converges to), and ``delta`` is solved so that it is 0, 0.05, 0.10 or 0.20.

Methods (a flag is "CI excludes 0 and the gap's own p < 0.05", before any adjustment):

* ``percentile+perm``: today's audit; percentile actor bootstrap, raw-gap label permutation;
* ``jackknife-t+stud.perm``: delete-one-actor jackknife SE with a Welch t interval, and the
  studentized permutation test (exact over all labelings when they are few);
* ``bootstrap-t+stud.perm``: studentized actor bootstrap, studentized permutation;
* ``jackknife-t+welch``: the jackknife-t interval with Welch's t test (no resampling).

Printed per design, spread and true gap: coverage of the true gap, the false-flag rate (no gap)
or power (flags with the right sign), each with a Clopper-Pearson 95% interval, the mean CI
width and the replication count. Then the no-bias band (clip shuffles vs actor shuffles vs
the real no-gap spread), group-vs-overall intervals, and pooled intervals for replica sets.

Usage: ``nice -n 10 python bench/bench_calibration.py [--reps N] [--power-reps N]
[--n-boot N] [--n-perm N] [--seed S] [--jobs J] [--data DIR]``. Not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REAL_METADATA = Path(__file__).resolve().parents[2] / "shared" / "crema-d"
N_EMOTIONS = 6
MU = 0.2  # logit of about 0.55 accuracy
GAPS = (0.0, 0.05, 0.10, 0.20)
#: simulated listeners on the same actors: logit MU + LISTENER_SHIFT + RHO * u_actor + v_actor,
#: v ~ N(0, LISTENER_SD^2), no group effect (their no-gap condition's model-minus-listeners
#: excess is the listeners' population gap with the sign turned)
LISTENER_SHIFT, RHO, LISTENER_SD = -0.6, 0.8, 0.3
#: name -> (actor logit SD in group A, in group B)
SPREADS = {"none": (0.0, 0.0), "sd 0.5": (0.5, 0.5), "unequal 1.0/0.25": (1.0, 0.25)}
METHODS = (
    "percentile+perm",
    "jackknife-t+stud.perm",
    "bootstrap-t+stud.perm",
    "jackknife-t+welch",
)
#: statistic -> (methods, index of its true value in :func:`true_values`)
EXTRAS = {
    "group A": (("percentile", "jackknife-t", "bootstrap-t"), 2),
    "A - All": (
        ("percentile", "jackknife-t, n_All-1 df", "jackknife-t, stratified df", "bootstrap-t"),
        1,
    ),
    "A / B": (("percentile", "log jackknife-t"), 3),
    "model - listeners": (("percentile", "jackknife-t", "bootstrap-t"), 4),
}
EXTRA_METHODS = tuple(f"{name}: {m}" for name, (methods, _) in EXTRAS.items() for m in methods)
REPLICA_METHODS = ("t over replicas", "two-level percentile", "two-level t(df)")
ALPHA = 0.05


@dataclass(frozen=True)
class Design:
    """Two disjoint groups of real actors; ``clip_actor`` indexes A's actors first, then B's."""

    name: str
    n_a: int
    n_b: int
    clip_actor: np.ndarray
    clip_emotion: np.ndarray

    @property
    def n_actors(self) -> int:
        return self.n_a + self.n_b

    def emotion_totals(self, group: str) -> np.ndarray:
        in_a = self.clip_actor < self.n_a
        chosen = in_a if group == "A" else ~in_a
        return np.bincount(self.clip_emotion[chosen], minlength=N_EMOTIONS).astype(float)


def macro_f1(sums: np.ndarray) -> np.ndarray:
    """The audit's macro-F1 (first column of ``metrics_from_counts``), kept as a 1-metric axis."""
    from serbias.audit._metrics import metrics_from_counts

    return metrics_from_counts(sums, N_EMOTIONS)[..., :1]


# --- designs on the real metadata ---


def real_designs(data: Path) -> list[Design]:
    """All 91 actors; the 9-actor test split; 15 actors; 7 vs 61; 3 vs 48; 3 vs 3."""
    from serbias.corpus.reader import read_corpus
    from serbias.corpus.split import make_split

    clips = read_corpus(data, require_audio=False)
    actors = clips.groupby("actor_id", observed=True).first()
    sex, race = actors["sex"].astype(str), actors["race"].astype(str)

    def test_actors(sizes: dict[str, float]) -> np.ndarray:
        split = make_split(clips, mode="speaker", sizes=sizes, seed=0)
        chosen = clips["filename"].isin(split["test"])
        return np.unique(clips.loc[chosen, "actor_id"])

    def by_sex(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return ids[sex.loc[ids].to_numpy() == "Female"], ids[sex.loc[ids].to_numpy() == "Male"]

    everyone = actors.index.to_numpy()
    nine = test_actors({"train": 0.8, "val": 0.1, "test": 0.1})
    fifteen = test_actors({"train": 0.6, "val": 0.15, "test": 15 / 91})
    asian = everyone[race.to_numpy() == "Asian"]
    caucasian = everyone[race.to_numpy() == "Caucasian"]
    nine_f, nine_m = by_sex(nine)
    groups = [
        ("all 91 actors, F vs M:", *by_sex(everyone)),
        ("9-actor test split, F vs M:", nine_f, nine_m),
        ("15-actor split, F vs M:", *by_sex(fifteen)),
        ("Asian vs Caucasian:", asian, caucasian),
        ("3 Asian vs 48 Caucasian:", asian[:3], caucasian[:48]),
        ("3 F vs 3 M of the test split:", nine_f[:3], nine_m[:3]),
    ]
    designs = []
    for name, group_a, group_b in groups:
        ids = np.concatenate([group_a, group_b])
        rows = clips["actor_id"].isin(ids).to_numpy()
        position = {int(a): i for i, a in enumerate(ids)}
        clip_actor = clips.loc[rows, "actor_id"].map(position).to_numpy()
        clip_emotion = clips.loc[rows, "emotion"].cat.codes.to_numpy()
        designs.append(
            Design(
                f"{name} {len(group_a)} vs {len(group_b)}",
                len(group_a),
                len(group_b),
                clip_actor,
                clip_emotion,
            )
        )
    return designs


# --- simulated systems and their true gaps ---


def actor_counts_of(design: Design, predicted: np.ndarray) -> np.ndarray:
    """Per-actor count vectors (``row_counts`` layout) of single-label decisions."""
    k = N_EMOTIONS
    cells = (design.clip_actor * k + design.clip_emotion) * k + predicted
    confusion = np.bincount(cells, minlength=design.n_actors * k * k).reshape(-1, k, k)
    tp = np.diagonal(confusion, axis1=1, axis2=2)
    fp = confusion.sum(axis=1) - tp
    fn = confusion.sum(axis=2) - tp
    items = confusion.sum(axis=(1, 2))
    return np.column_stack([tp, fp, fn, items, tp.sum(axis=1)]).astype(float)


def simulate(
    design: Design,
    sd: tuple[float, float],
    delta: float,
    rng: np.random.Generator,
    shift=0.0,
    u: np.ndarray | None = None,
) -> np.ndarray:
    """Decisions on every clip of the design (emotion codes); ``u``: given actor effects."""
    in_a = np.arange(design.n_actors) < design.n_a
    if u is None:
        u = rng.normal(0.0, np.where(in_a, sd[0], sd[1]))
    logit = MU + shift + u + delta * in_a
    p_right = 1.0 / (1.0 + np.exp(-logit))
    right = rng.random(len(design.clip_actor)) < p_right[design.clip_actor]
    wrong = (design.clip_emotion + rng.integers(1, N_EMOTIONS, len(right))) % N_EMOTIONS
    return np.where(right, design.clip_emotion, wrong)


def expected_counts(emotion_totals: np.ndarray, p_right: float) -> np.ndarray:
    """Expected count vector of a group whose clips are right with mean probability p_right."""
    tp = p_right * emotion_totals
    fn = (1.0 - p_right) * emotion_totals
    fp = (fn.sum() - fn) / (N_EMOTIONS - 1)
    items = emotion_totals.sum()
    return np.concatenate([tp, fp, fn, [items, tp.sum()]])


def mean_right(location: float, sd: float) -> float:
    """``E[sigmoid(location + sd * Z)]`` by Gauss-Hermite quadrature."""
    nodes, weights = np.polynomial.hermite.hermgauss(60)
    values = 1.0 / (1.0 + np.exp(-(location + np.sqrt(2.0) * sd * nodes)))
    return float((weights * values).sum() / np.sqrt(np.pi))


def true_values(
    design: Design, sd: tuple[float, float], delta: float, shift=0.0
) -> tuple[float, float, float, float]:
    """Population gap m(A) - m(B), difference to overall m(A) - m(A + B), m(A), m(A) / m(B)."""
    a = expected_counts(design.emotion_totals("A"), mean_right(MU + shift + delta, sd[0]))
    b = expected_counts(design.emotion_totals("B"), mean_right(MU + shift, sd[1]))
    m_a, m_b, m_all = (float(macro_f1(x)[0]) for x in (a, b, a + b))
    return m_a - m_b, m_a - m_all, m_a, m_a / m_b


def listener_sd(sd: tuple[float, float]) -> tuple[float, float]:
    """The listeners' actor-effect SD per group: ``sqrt((RHO sd)^2 + LISTENER_SD^2)``."""
    return tuple(float(np.hypot(RHO * s, LISTENER_SD)) for s in sd)


def solve_delta(design: Design, sd: tuple[float, float], gap: float) -> float:
    from scipy.optimize import brentq

    return brentq(lambda d: true_values(design, sd, d)[0] - gap, -6.0, 6.0, xtol=1e-10)


# --- one condition ---


@dataclass(frozen=True)
class Condition:
    index: int
    design: Design
    spread: str
    gap: float
    reps: int
    n_boot: int
    n_perm: int
    seed: int
    extras: bool  # chance band and group-vs-overall figures (no-gap conditions)


def run_condition(condition: Condition) -> dict:
    """Simulate ``reps`` systems and audit each with every method."""
    from serbias.audit import _inference as inference
    from serbias.audit._resampling import (
        bootstrap_multiplicities,
        percentile_interval,
        permutation_p_value,
        permutation_sums,
    )

    design, sd = condition.design, SPREADS[condition.spread]
    delta = solve_delta(design, sd, condition.gap)
    truth = true_values(design, sd, delta)
    listeners_gap = true_values(design, listener_sd(sd), 0.0, LISTENER_SHIFT)[0]
    truths = (*truth, truth[0] - listeners_gap)
    rng = np.random.default_rng([condition.seed, condition.index])
    n_a, n_b = design.n_a, design.n_b
    labels = np.repeat([0, 1], [n_a, n_b])
    groups = np.where(labels == 0, "A", "B")
    out = {m: [] for m in (*METHODS, *EXTRA_METHODS)}
    gaps, detectable, chance_clip, chance_actor = [], [], [], []
    in_a = labels == 0
    for _ in range(condition.reps):
        u = rng.normal(0.0, np.where(in_a, sd[0], sd[1])) if condition.extras else None
        predicted = simulate(design, sd, delta, rng, u=u)
        counts = actor_counts_of(design, predicted)
        a, b = counts[:n_a], counts[n_a:]
        jack_a = inference.jackknife(a, metric=macro_f1)
        jack_b = inference.jackknife(b, metric=macro_f1)
        welch = inference.gap_interval(jack_a, jack_b)
        draws = {
            "A": bootstrap_multiplicities(n_a, condition.n_boot, rng),
            "B": bootstrap_multiplicities(n_b, condition.n_boot, rng),
        }
        if condition.extras:
            resamples = inference.bootstrap_axis(
                counts, groups=groups, metric=macro_f1, multiplicities=draws
            )
            boot_a, boot_b = resamples.groups["A"], resamples.groups["B"]
        else:
            boot_a = inference.bootstrap_group(a, metric=macro_f1, multiplicities=draws["A"])
            boot_b = inference.bootstrap_group(b, metric=macro_f1, multiplicities=draws["B"])
        low, high = percentile_interval(boot_a.values - boot_b.values, 0.95)
        null = macro_f1(permutation_sums(counts, labels, 2, condition.n_perm, rng))
        p_raw = permutation_p_value(null[0] - null[1], welch.estimate)
        student = inference.studentized_interval(
            jack_a, boot_a, reference=jack_b, reference_resamples=boot_b
        )
        test = inference.studentized_permutation_test(
            a, b, metric=macro_f1, n_perm=condition.n_perm, rng=rng
        )
        gap = float(welch.estimate[0])
        gaps.append(gap)
        detectable.append(float(inference.minimum_detectable_gap(welch.se, welch.df)[0]))
        rows = {
            "percentile+perm": (low[0], high[0], p_raw[0]),
            "jackknife-t+stud.perm": (welch.low[0], welch.high[0], test.p_value[0]),
            "bootstrap-t+stud.perm": (student.low[0], student.high[0], test.p_value[0]),
            "jackknife-t+welch": (welch.low[0], welch.high[0], welch.p_value[0]),
        }
        for method, (lo, hi, p) in rows.items():
            out[method].append((lo, hi, p, gap))
        if condition.extras:
            chance_actor.append(float(test.chance.sd[0]))
            chance_clip.append(_clip_shuffle_sd(design, predicted, rng))
            _extra_rows(out, counts, groups, draws, resamples, jack_a, boot_a)
            listener_u = RHO * u + rng.normal(0.0, LISTENER_SD, len(u))
            heard = simulate(design, sd, 0.0, rng, shift=LISTENER_SHIFT, u=listener_u)
            _excess_rows(out, counts, actor_counts_of(design, heard), in_a, draws)
    return {
        "condition": condition,
        "truth": truth[0],
        "truths": truths,
        "delta": delta,
        "results": {m: np.asarray(v, float) for m, v in out.items()},
        "gaps": np.asarray(gaps),
        "detectable": np.asarray(detectable),
        "chance_clip": np.asarray(chance_clip),
        "chance_actor": np.asarray(chance_actor),
        "min_p": test.min_p,
        "exact": test.exact,
        "n_labelings": test.n_labelings,
    }


def _extra_rows(out, counts, groups, draws, resamples, jack_a, boot_a) -> None:
    """Group A's own metric, A against all actors, and the ratio A / B, by every method.

    Today's overall resample is the sum of the groups' resamples.
    """
    from serbias.audit import _inference as inference
    from serbias.audit._resampling import percentile_interval

    in_a = groups == "A"
    sums_a, sums_b = draws["A"] @ counts[in_a], draws["B"] @ counts[~in_a]
    rows = {"group A: percentile": percentile_interval(boot_a.values, 0.95)}
    interval = inference.group_interval(jack_a)
    rows["group A: jackknife-t"] = (interval.low, interval.high)
    interval = inference.studentized_interval(jack_a, boot_a)
    rows["group A: bootstrap-t"] = (interval.low, interval.high)
    rows["A - All: percentile"] = percentile_interval(
        macro_f1(sums_a) - macro_f1(sums_a + sums_b), 0.95
    )
    for method, stratified in (("n_All-1 df", False), ("stratified df", True)):
        interval = inference.overall_differences(
            counts, groups=groups, metric=macro_f1, stratified=stratified
        )["A"]
        rows[f"A - All: jackknife-t, {method}"] = (interval.low, interval.high)
    interval = inference.overall_differences(
        counts, groups=groups, metric=macro_f1, resamples=resamples
    )["A"]
    rows["A - All: bootstrap-t"] = (interval.low, interval.high)
    with np.errstate(divide="ignore", invalid="ignore"):
        rows["A / B: percentile"] = percentile_interval(
            boot_a.values / resamples.groups["B"].values, 0.95
        )
    ratio = inference.ratio_interval(counts[in_a], counts[~in_a], metric=macro_f1)
    rows["A / B: log jackknife-t"] = (ratio.low, ratio.high)
    for method, (low, high) in rows.items():
        out[method].append((low[0], high[0], np.nan, np.nan))


def _excess_rows(out, counts, heard, in_a, draws) -> None:
    """Model minus listeners on the same actors: (gap of the model) - (gap of the listeners),
    the actor resamples (and deletions) shared by both systems."""
    from serbias.audit import _inference as inference
    from serbias.audit._resampling import percentile_interval

    model = {"A": counts[in_a], "B": counts[~in_a]}
    listeners = {"A": heard[in_a], "B": heard[~in_a]}
    boot = {
        g: macro_f1(draws[g] @ model[g]) - macro_f1(draws[g] @ listeners[g]) for g in ("A", "B")
    }
    rows = {"model - listeners: percentile": percentile_interval(boot["A"] - boot["B"], 0.95)}
    interval = inference.excess_interval(
        model["A"],
        listeners["A"],
        model_reference=model["B"],
        human_reference=listeners["B"],
        metric=macro_f1,
    )
    rows["model - listeners: jackknife-t"] = (interval.low, interval.high)
    paired = inference.paired_metric(macro_f1, n_columns=counts.shape[1])
    pairs = {g: inference.paired_counts(model[g], listeners[g]) for g in ("A", "B")}
    interval = inference.studentized_interval(
        inference.jackknife(pairs["A"], metric=paired),
        inference.bootstrap_group(pairs["A"], metric=paired, multiplicities=draws["A"]),
        reference=inference.jackknife(pairs["B"], metric=paired),
        reference_resamples=inference.bootstrap_group(
            pairs["B"], metric=paired, multiplicities=draws["B"]
        ),
    )
    rows["model - listeners: bootstrap-t"] = (interval.low, interval.high)
    for method, (low, high) in rows.items():
        out[method].append((low[0], high[0], np.nan, np.nan))


def _clip_shuffle_sd(design: Design, predicted: np.ndarray, rng: np.random.Generator) -> float:
    """Today's chance model: the SD of the gap over 20 shuffles of decisions across clips."""
    gaps = []
    for _ in range(20):
        counts = actor_counts_of(design, predicted[rng.permutation(len(predicted))])
        gaps.append(
            macro_f1(counts[: design.n_a].sum(axis=0))[0]
            - macro_f1(counts[design.n_a :].sum(axis=0))[0]
        )
    return float(np.std(gaps, ddof=1))


# --- replica sets ---


def run_replicas(args: tuple[Design, float, int, int, int, int]) -> dict:
    """Replica sets: R models on the same actors, gap and level varying (logit SD 0.15, 0.1)."""
    from serbias.audit import _inference as inference

    design, gap, reps, n_replicas, n_boot, seed = args
    sd = SPREADS["sd 0.5"]
    delta = solve_delta(design, sd, gap)
    nodes, weights = np.polynomial.hermite.hermgauss(12)
    weights = weights / np.sqrt(np.pi)
    truth = sum(
        wv * ww * true_values(design, sd, delta + np.sqrt(2) * 0.15 * w, np.sqrt(2) * 0.1 * v)[0]
        for v, wv in zip(nodes, weights, strict=True)
        for w, ww in zip(nodes, weights, strict=True)
    )
    rng = np.random.default_rng([seed, 7, int(gap * 100), design.n_actors])
    in_a = np.arange(design.n_actors) < design.n_a
    from scipy import stats

    rows = {m: [] for m in REPLICA_METHODS}
    for _ in range(reps):
        u = rng.normal(0.0, np.where(in_a, sd[0], sd[1]))
        per_replica = []
        for _ in range(n_replicas):
            logit = MU + rng.normal(0, 0.1) + u + (delta + rng.normal(0, 0.15)) * in_a
            p_right = 1.0 / (1.0 + np.exp(-logit))
            right = rng.random(len(design.clip_actor)) < p_right[design.clip_actor]
            wrong = (design.clip_emotion + rng.integers(1, N_EMOTIONS, len(right))) % N_EMOTIONS
            predicted = np.where(right, design.clip_emotion, wrong)
            per_replica.append(actor_counts_of(design, predicted))
        counts = np.stack(per_replica)
        result = inference.replica_interval(
            counts[:, in_a], counts[:, ~in_a], metric=macro_f1, n_boot=n_boot, rng=rng
        )
        gaps = (
            macro_f1(counts[:, in_a].sum(axis=1))[:, 0]
            - macro_f1(counts[:, ~in_a].sum(axis=1))[:, 0]
        )
        half = stats.t.ppf(0.975, n_replicas - 1) * gaps.std(ddof=1) / np.sqrt(n_replicas)
        estimate = float(result.estimate[0])
        rows["t over replicas"].append((estimate - half, estimate + half))
        rows["two-level percentile"].append((result.percentile_low[0], result.percentile_high[0]))
        rows["two-level t(df)"].append((result.low[0], result.high[0]))
    return {"design": design, "gap": gap, "truth": truth, "rows": rows, "reps": reps}


# --- printing ---


def proportion(hits: np.ndarray) -> str:
    """``95.0% [92.1, 97.2]``: a rate with its Clopper-Pearson 95% interval."""
    from scipy import stats

    k, n = int(np.sum(hits)), len(hits)
    if n == 0:
        return "-"
    ci = stats.binomtest(k, n).proportion_ci(method="exact")
    return f"{100 * k / n:5.1f}% [{100 * ci.low:4.1f}, {100 * ci.high:5.1f}]"


def _flags(result: dict, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per system: CI covers the true gap; flagged (right sign when there is a gap); CI width."""
    low, high, p, gap = result["results"][method].T
    truth = result["truth"]
    covered = (low <= truth) & (truth <= high)
    flagged = ((low > 0) | (high < 0)) & (p < ALPHA)
    if result["condition"].gap > 0:
        flagged = flagged & (np.sign(gap) == np.sign(truth))
    return covered, flagged, high - low


def print_main_table(results: list[dict]) -> None:
    print("No true gap: CI coverage / false flags (CI excludes 0 and p < 0.05), 95% intervals")
    print("| design | spread | reps | " + " | ".join(METHODS) + " |")
    print("|---|---|---|" + "---|" * len(METHODS))
    for result in results:
        condition = result["condition"]
        if condition.gap > 0:
            continue
        cells = []
        for method in METHODS:
            covered, flagged, _ = _flags(result, method)
            cells.append(f"{proportion(covered)} / {proportion(flagged)}")
        print(
            f"| {condition.design.name} | {condition.spread} | {condition.reps} | "
            + " | ".join(cells)
            + " |"
        )
    print("\nMean CI width and the minimum gap detectable with 80% power (true gap 0, sd 0.5)")
    print("| design | " + " | ".join(METHODS) + " | detectable gap |")
    print("|---|" + "---|" * (len(METHODS) + 1))
    for result in results:
        condition = result["condition"]
        if condition.gap == 0 and condition.spread == "sd 0.5":
            widths = [f"{_flags(result, m)[2].mean():.3f}" for m in METHODS]
            detectable = f"{np.median(result['detectable']):.3f}"
            print(f"| {condition.design.name} | " + " | ".join(widths) + f" | {detectable} |")
    if not any(r["condition"].gap > 0 for r in results):
        return
    print("\nTrue gap > 0: power (flags with the right sign) and coverage, 95% intervals")
    print("| design | spread | true gap | reps | " + " | ".join(METHODS) + " |")
    print("|---|---|---|---|" + "---|" * len(METHODS))
    for result in results:
        condition = result["condition"]
        if condition.gap == 0:
            continue
        cells = []
        for method in METHODS:
            covered, flagged, _ = _flags(result, method)
            cells.append(f"{proportion(flagged)}; cov {100 * covered.mean():.0f}%")
        print(
            f"| {condition.design.name} | {condition.spread} | {condition.gap:.2f} | "
            f"{condition.reps} | " + " | ".join(cells) + " |"
        )


def print_extras(results: list[dict]) -> None:
    print("\nNo-bias band (true gap 0): SD of the gap over the simulated systems vs the chance")
    print("models' SD (mean over systems); the exact-test floor of the studentized permutation.")
    print(
        "| design | spread | real no-gap SD | clip-shuffle chance SD | actor-shuffle band SD | "
        "labelings | min p |"
    )
    print("|---|---|---|---|---|---|---|")
    for result in results:
        condition = result["condition"]
        if not condition.extras:
            continue
        labelings = f"{result['n_labelings']}{' (all)' if result['exact'] else ''}"
        print(
            f"| {condition.design.name} | {condition.spread} | {result['gaps'].std(ddof=1):.4f} | "
            f"{result['chance_clip'].mean():.4f} | {result['chance_actor'].mean():.4f} | "
            f"{labelings} | {result['min_p']:.3g} |"
        )
    for name, (methods, position) in EXTRAS.items():
        print(f"\n{name} (true gap 0): CI coverage of its true value")
        print("| design | spread | " + " | ".join(methods) + " |")
        print("|---|---|" + "---|" * len(methods))
        for result in results:
            condition = result["condition"]
            if not condition.extras:
                continue
            truth = result["truths"][position]
            cells = []
            for method in methods:
                low, high, _, _ = result["results"][f"{name}: {method}"].T
                cells.append(proportion((low <= truth) & (truth <= high)))
            print(f"| {condition.design.name} | {condition.spread} | " + " | ".join(cells) + " |")


def print_replicas(results: list[dict], n_replicas: int) -> None:
    print(f"\nReplica sets ({n_replicas} models per set, actor SD 0.5, model SD 0.15 on the gap):")
    print("coverage of the expected gap over models")
    print("| design | true gap | reps | " + " | ".join(REPLICA_METHODS) + " |")
    print("|---|---|---|" + "---|" * len(REPLICA_METHODS))
    for result in results:
        cells = []
        for method in REPLICA_METHODS:
            low, high = np.asarray(result["rows"][method]).T
            cells.append(proportion((low <= result["truth"]) & (result["truth"] <= high)))
        print(
            f"| {result['design'].name} | {result['gap']:.2f} | {result['reps']} | "
            + " | ".join(cells)
            + " |"
        )


# --- main ---


def conditions_for(designs: list[Design], args: argparse.Namespace) -> list[Condition]:
    conditions = []
    for design in designs:
        for spread in SPREADS:
            for gap in GAPS:
                if gap > 0 and args.power_reps == 0:
                    continue
                conditions.append(
                    Condition(
                        index=len(conditions),
                        design=design,
                        spread=spread,
                        gap=gap,
                        reps=args.reps if gap == 0 else args.power_reps,
                        n_boot=args.n_boot,
                        n_perm=args.n_perm,
                        seed=args.seed,
                        extras=gap == 0 and spread != "none",
                    )
                )
    return conditions


def check_counts(design: Design) -> None:
    """The fast count path gives the audit's own per-actor counts (``actor_counts``)."""
    from serbias.audit._resampling import actor_counts

    rng = np.random.default_rng(0)
    predicted = simulate(design, (0.5, 0.5), 0.3, rng)
    eye = np.eye(N_EMOTIONS, dtype=bool)
    expected = actor_counts(eye[design.clip_emotion], eye[predicted], design.clip_actor)
    np.testing.assert_array_equal(actor_counts_of(design, predicted), expected.counts)


def _map(function: Callable, items: list, jobs: int) -> list:
    if jobs <= 1:
        return [function(item) for item in items]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(function, items))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REAL_METADATA)
    parser.add_argument("--reps", type=int, default=200, help="systems per no-gap condition")
    parser.add_argument("--power-reps", type=int, default=100, help="systems per gap > 0")
    parser.add_argument("--replica-reps", type=int, default=100, help="replica sets per design")
    parser.add_argument("--n-replicas", type=int, default=10)
    parser.add_argument("--n-boot", type=int, default=500)
    parser.add_argument("--n-perm", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()

    if not (args.data / "VideoDemographics.csv").exists():
        print(f"skipped: {args.data / 'VideoDemographics.csv'} not found (real CREMA-D metadata)")
        return
    started = time.perf_counter()
    designs = real_designs(args.data)
    check_counts(designs[0])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s) visible")
    print(
        f"{args.reps} systems per no-gap condition, {args.power_reps} per gap > 0; "
        f"{args.n_boot} resamples, {args.n_perm} permutations; seed {args.seed}; "
        f"mu {MU} (accuracy about 0.55)\n"
    )
    results = _map(run_condition, conditions_for(designs, args), args.jobs)
    print_main_table(results)
    print_extras(results)
    if args.replica_reps > 0:
        chosen = [designs[1], designs[2], designs[0]]
        replica_args = [
            (d, gap, args.replica_reps, args.n_replicas, 200, args.seed)
            for d in chosen
            for gap in (0.0, 0.10)
        ]
        print_replicas(_map(run_replicas, replica_args, args.jobs), args.n_replicas)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
