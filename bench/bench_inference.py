"""Benchmark: the resampling work of one full audit, today's method and the studentized one.

Builds per-actor counts for simulated predictions on every clip of the real CREMA-D metadata
(7,442 clips, 91 actors; the same simulated system as ``bench_audit.py``) and does, on all 7
group axes, what the audit's analysis does per scored set:

* today: percentile actor bootstrap of every group, of every gap, ratio and difference to
  overall, the overall row; raw-gap label permutations for every gap;
* the recommended default: jackknife-t intervals for groups, gaps (Welch), differences to
  overall (stratified) and log ratios, studentized permutations (exact when labelings are
  few) with the actor-level chance band, and the minimum detectable gap;
* the same with bootstrap-t intervals for gaps, or for every interval (the same bootstrap
  draws with the jackknife inside every resample).

Clip-shuffle chance models and the between-groups spread are left out of both (unchanged, or
replaced by the permutation's band). Prints the seconds of each and their difference, which
is what the audit's run time grows by.

Usage: ``python bench/bench_inference.py [--data DIR] [--n-boot N] [--n-perm N]
[--min-actors N] [--repeat N]``. Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import time
from pathlib import Path

import numpy as np

REAL_METADATA = Path(__file__).resolve().parents[2] / "shared" / "crema-d"


def axis_layouts(data: Path, min_actors: int, seed: int):
    """Per-actor counts of a simulated system, and (groups, reference) of every axis."""
    import pandas as pd

    from serbias.audit import AXES, actor_counts, group_labels, group_sizes
    from serbias.audit._groups import choose_reference
    from serbias.corpus.reader import read_corpus

    spec = importlib.util.spec_from_file_location(
        "bench_audit", Path(__file__).with_name("bench_audit.py")
    )
    bench_audit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_audit)
    clips = read_corpus(data, require_audio=False)
    scores = bench_audit.simulated_predictions(clips, seed).drop(columns="Filename").to_numpy()
    y_true = np.eye(6, dtype=bool)[clips["emotion"].cat.codes.to_numpy()]
    counts = actor_counts(y_true, scores >= 0.5, clips["actor_id"].to_numpy())
    labels = group_labels(clips)
    sizes = group_sizes(
        labels, clips["actor_id"].to_numpy(), clips["filename"].to_numpy(), min_actors=min_actors
    )
    layouts = []
    for axis in AXES:
        per_actor = (
            pd.Series(labels[axis].astype(str).to_numpy()).groupby(clips["actor_id"]).first()
        )
        groups = per_actor.reindex(counts.actor_ids).to_numpy(dtype=object)
        flagged = set(sizes[(sizes["axis"] == axis) & sizes["flagged"]]["group"])
        layouts.append((axis, groups, flagged, choose_reference(sizes, axis, None)))
    return counts, layouts


def today(counts, layouts, n_boot: int, n_perm: int, seed: int) -> int:
    from serbias.audit._metrics import metrics_from_counts
    from serbias.audit._resampling import (
        bootstrap_sums,
        percentile_interval,
        permutation_p_value,
        permutation_sums,
        rng_for,
    )

    k, n_gaps = 6, 0
    sums = bootstrap_sums(counts.counts, n_boot, rng_for(seed, "boot", "overall"))
    percentile_interval(metrics_from_counts(sums, k), 0.95)
    for axis, groups, flagged, reference in layouts:
        boot, total = {}, 0.0
        for g in dict.fromkeys(groups):
            rows = counts.counts[groups == g]
            sums = bootstrap_sums(rows, n_boot, rng_for(seed, "boot", axis, g))
            total = total + sums
            boot[g] = metrics_from_counts(sums, k)
        overall = metrics_from_counts(total, k)
        for values in boot.values():
            percentile_interval(values, 0.95)
            percentile_interval(values - overall, 0.95)
        for g in boot:
            if g == reference or g in flagged or reference is None:
                continue
            percentile_interval(boot[g] - boot[reference], 0.95)
            with np.errstate(divide="ignore", invalid="ignore"):
                percentile_interval(boot[g] / boot[reference], 0.95)
            pool = np.concatenate(
                [np.flatnonzero(groups == g), np.flatnonzero(groups == reference)]
            )
            labels = (groups[pool] != g).astype(int)
            null = metrics_from_counts(
                permutation_sums(
                    counts.counts[pool],
                    labels,
                    2,
                    n_perm,
                    rng_for(seed, "perm", axis, g, reference),
                ),
                k,
            )
            observed = metrics_from_counts(
                counts.counts[groups == g].sum(0), k
            ) - metrics_from_counts(counts.counts[groups == reference].sum(0), k)
            permutation_p_value(null[0] - null[1], observed)
            n_gaps += 1
    return n_gaps


def studentized(
    counts, layouts, n_boot: int, n_perm: int, seed: int, *, everywhere: bool = True
) -> int:
    """The new analysis: bootstrap-t for gaps and, if ``everywhere``, for every group's metric,
    difference to overall and the overall row too (else jackknife-t intervals for those)."""
    from serbias.audit import _inference as inference
    from serbias.audit._resampling import bootstrap_multiplicities, rng_for

    metric = inference.count_metric(6)
    n_gaps = 0
    everyone = inference.jackknife(counts.counts, metric=metric)
    if everywhere:
        draws = bootstrap_multiplicities(
            everyone.n_actors, n_boot, rng_for(seed, "boot", "overall")
        )
        inference.studentized_interval(
            everyone, inference.bootstrap_group(counts.counts, metric=metric, multiplicities=draws)
        )
    else:
        inference.group_interval(everyone)
    for axis, groups, flagged, reference in layouts:
        groups = groups.astype(str)
        compared = [g for g in dict.fromkeys(groups) if g not in flagged and reference is not None]
        sample, draws = {}, {}
        for g in dict.fromkeys(groups):
            members = np.flatnonzero(groups == g)
            draws[g] = bootstrap_multiplicities(
                len(members), n_boot, rng_for(seed, "boot", axis, g)
            )
            sample[g] = inference.jackknife(counts.counts[members], metric=metric)
        if everywhere:
            resamples = inference.bootstrap_axis(
                counts.counts, groups=groups, metric=metric, multiplicities=draws
            )
            boot = resamples.groups
            for g in boot:
                if sample[g].n_actors >= 2:
                    inference.studentized_interval(sample[g], boot[g])
        else:
            resamples = None
            boot = {
                g: inference.bootstrap_group(
                    counts.counts[groups == g], metric=metric, multiplicities=draws[g]
                )
                for g in compared
            }
            for g in sample:
                if sample[g].n_actors >= 2:
                    inference.group_interval(sample[g])
        inference.overall_differences(
            counts.counts, groups=groups, metric=metric, resamples=resamples
        )
        for g in compared:
            if g == reference:
                continue
            interval = inference.studentized_interval(
                sample[g],
                boot[g],
                reference=sample[reference],
                reference_resamples=boot[reference],
            )
            inference.ratio_interval(
                counts.counts[groups == g], counts.counts[groups == reference], metric=metric
            )
            inference.studentized_permutation_test(
                counts.counts[groups == g],
                counts.counts[groups == reference],
                metric=metric,
                n_perm=n_perm,
                rng=rng_for(seed, "perm", axis, g, reference),
            )
            inference.minimum_detectable_gap(interval.se, interval.df)
            n_gaps += 1
    return n_gaps


def jackknife_t(counts, layouts, n_boot: int, n_perm: int, seed: int) -> int:
    """The recommended default: jackknife-t intervals (no bootstrap), studentized permutations."""
    from serbias.audit import _inference as inference
    from serbias.audit._resampling import rng_for

    metric = inference.count_metric(6)
    n_gaps = 0
    inference.group_interval(inference.jackknife(counts.counts, metric=metric))
    for axis, groups, flagged, reference in layouts:
        groups = groups.astype(str)
        sample = {
            g: inference.jackknife(counts.counts[groups == g], metric=metric)
            for g in dict.fromkeys(groups)
        }
        for g in sample:
            if sample[g].n_actors >= 2:
                inference.group_interval(sample[g])
        inference.overall_differences(counts.counts, groups=groups, metric=metric)
        for g in sample:
            if g == reference or g in flagged or reference is None:
                continue
            interval = inference.gap_interval(sample[g], sample[reference])
            inference.ratio_interval(
                counts.counts[groups == g], counts.counts[groups == reference], metric=metric
            )
            inference.studentized_permutation_test(
                counts.counts[groups == g],
                counts.counts[groups == reference],
                metric=metric,
                n_perm=n_perm,
                rng=rng_for(seed, "perm", axis, g, reference),
            )
            inference.minimum_detectable_gap(interval.se, interval.df)
            n_gaps += 1
    return n_gaps


def gaps_only(counts, layouts, n_boot: int, n_perm: int, seed: int) -> int:
    return studentized(counts, layouts, n_boot, n_perm, seed, everywhere=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REAL_METADATA)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--n-perm", type=int, default=1000)
    parser.add_argument("--min-actors", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (args.data / "VideoDemographics.csv").exists():
        print(f"skipped: {args.data / 'VideoDemographics.csv'} not found (real CREMA-D metadata)")
        return

    counts, layouts = axis_layouts(args.data, args.min_actors, args.seed)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s) visible")
    print(
        f"{len(counts.actor_ids)} actors, 7 axes, min_actors {args.min_actors}, "
        f"{args.n_boot} resamples, {args.n_perm} permutations; best of {args.repeat}"
    )
    runs = (
        ("today: percentile + permutation", today),
        ("new default: jackknife-t + studentized permutation", jackknife_t),
        ("new: bootstrap-t for gaps, jackknife-t elsewhere", gaps_only),
        ("new: bootstrap-t everywhere", studentized),
    )
    baseline = None
    for name, run in runs:
        run(counts, layouts, 50, 50, args.seed)  # warm up imports and allocations
        wall, cpu = [], []
        for _ in range(args.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            n_gaps = run(counts, layouts, args.n_boot, args.n_perm, args.seed)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        baseline = min(cpu) if baseline is None else baseline
        print(
            f"{name}: {min(wall):.2f} s wall, {min(cpu):.2f} s CPU "
            f"({min(cpu) - baseline:+.2f} s CPU vs today; {n_gaps} gaps x 26 metrics)"
        )
    print(f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
