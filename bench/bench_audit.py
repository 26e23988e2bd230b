"""Benchmark: a full-size bias audit (7,442 predictions, 91 actors, every group axis), with
the old interval method and the new default measured side by side.

Scores simulated predictions for the clips of a corpus in CREMA-D layout (by default the real
metadata in ../shared/crema-d, which needs no audio; else ``--data DIR``, e.g. a corpus from
``serbias synth DIR --actors 91 --full``) with 1,000 actor-level bootstrap resamples and
1,000 permutations per gap, and prints the seconds taken by:

* ``run_audit`` (intended target, 7 axes) under each ``audit.interval`` in ``--methods``:
  ``percentile`` (the method before issue 13: percentile bootstrap, raw-gap permutation,
  clip-shuffling chance model) and ``jackknife`` (the default: jackknife-t intervals,
  studentized permutation, actor-level band); optionally ``studentized`` (bootstrap-t).
  The methods run in interleaved rounds (``--rounds``, median reported) so that load on a
  shared machine hits them alike; the issue's target is the default within 1.5x of the old;
* the same with the human-listener baseline added (when the corpus has tabulatedVotes.csv),
  whose model-minus-listeners excess follows the method too;
* ``write_audit``: CSVs, PNG plots and the HTML/Markdown report (once, default method).

Usage: ``python bench/bench_audit.py [--data DIR] [--n-boot N] [--n-perm N] [--seed S]
[--rounds R] [--methods percentile,jackknife]``. Not a test: figures depend on the machine
and its load.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REAL_METADATA = Path(__file__).resolve().parents[2] / "shared" / "crema-d"


def simulated_predictions(clips: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Probabilities with a known bias: the intended emotion is found 70% of the time for
    Male actors and 55% for Female actors; other emotions fire 10% of the time."""
    from serbias import vocab

    rng = np.random.default_rng(seed)
    intended = np.eye(6, dtype=bool)[clips["emotion"].cat.codes.to_numpy()]
    hit_rate = np.where(clips["sex"].astype(str).to_numpy() == "Female", 0.55, 0.70)[:, None]
    hit = rng.random(intended.shape) < np.where(intended, hit_rate, 0.1)
    scores = np.where(hit, 0.5 + 0.5 * rng.random(intended.shape), 0.5 * rng.random(intended.shape))
    table = pd.DataFrame(scores, columns=list(vocab.EMOTION_NAMES))
    table.insert(0, "Filename", clips["filename"].to_numpy())
    return table


def timed_audits(
    predictions: Path, clips: pd.DataFrame, settings: object, methods: list[str], rounds: int
) -> dict[str, list[float]]:
    """Seconds of ``run_audit`` per method, the methods interleaved round by round."""
    from serbias.audit import run_audit

    seconds: dict[str, list[float]] = {m: [] for m in methods}
    for r in range(rounds):
        # alternate the order so neither method always runs right after the other
        for method in methods if r % 2 == 0 else methods[::-1]:
            chosen = dataclasses.replace(settings, interval=method)
            started = time.perf_counter()
            run_audit([predictions], clips, chosen)
            seconds[method].append(time.perf_counter() - started)
    return seconds


def print_timings(title: str, seconds: dict[str, list[float]], target: float) -> None:
    """Median and range per method, and the default's ratio to the old method."""
    print(title)
    for method, values in seconds.items():
        print(
            f"  {method:12s} median {np.median(values):6.2f} s "
            f"(min {min(values):.2f}, max {max(values):.2f}, {len(values)} rounds)"
        )
    if "percentile" in seconds and "jackknife" in seconds:
        ratio = np.median(seconds["jackknife"]) / np.median(seconds["percentile"])
        verdict = "meets" if ratio <= target else "misses"
        print(f"  jackknife / percentile: {ratio:.2f}x ({verdict} the {target}x target)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REAL_METADATA)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--n-perm", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--methods", default="percentile,jackknife")
    parser.add_argument("--target", type=float, default=1.5)
    args = parser.parse_args()
    methods = args.methods.split(",")

    from serbias.audit import AuditParams, run_audit, write_audit
    from serbias.corpus.reader import read_corpus

    started = time.perf_counter()
    clips = read_corpus(args.data, require_audio=False)
    read_seconds = time.perf_counter() - started
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s) visible")
    print(
        f"corpus: {args.data} ({len(clips):,} clips, {clips['actor_id'].nunique()} actors), "
        f"read in {read_seconds:.1f} s; {args.n_boot} resamples, {args.n_perm} permutations"
    )

    with tempfile.TemporaryDirectory() as tmp:
        predictions = Path(tmp) / "bench_model.csv"
        simulated_predictions(clips, args.seed).to_csv(predictions, index=False)
        settings = AuditParams(n_boot=args.n_boot, n_perm=args.n_perm, seed=args.seed)
        result = run_audit([predictions], clips, settings)  # warm-up (imports, caches)
        n_gaps = int((~result.gaps["flagged"]).sum())
        print_timings(
            f"run_audit, intended target, 7 axes ({n_gaps:,} gap rows with CIs and p-values):",
            timed_audits(predictions, clips, settings, methods, args.rounds),
            args.target,
        )
        if "voice_A" in clips.columns:
            with_listeners = dataclasses.replace(settings, human_baseline=True)
            print_timings(
                "run_audit + human-listener baseline (and the model-minus-listeners excess):",
                timed_audits(predictions, clips, with_listeners, methods, args.rounds),
                args.target,
            )
            result = run_audit([predictions], clips, with_listeners)

        started = time.perf_counter()
        files = write_audit(result, Path(tmp) / "audit")
        print(
            f"write_audit ({len(files)} files incl. PNG plots and report.html): "
            f"{time.perf_counter() - started:.1f} s"
        )
    for finding in result.findings[:2]:
        print(f"  {finding.system}: {finding.sentence}")


if __name__ == "__main__":
    main()
