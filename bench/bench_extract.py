"""Benchmark: log-mel extraction of the full-size synthetic corpus, two ways, in one run.

(a) the reference study's way: a plain serial loop, ``librosa.load`` at 22,050 Hz,
    ``melspectrogram``, ``power_to_db``, one pickle per clip (written only: serbias
    never unpickles anything). The loop is warmed first on a few clips, so numba's
    one-time compilation and librosa's cache loading are not charged to it;
(b) ``serbias extract --kind logmel`` (a fresh process, as a user runs it);
(c) ``serbias extract --kind all`` (log-mels and SVM features: the whole stage).

Both (b) and (c) are compared with (a), which computes log-mels only: (c)/(a) is the
honest figure for the whole stage. Every clip of the corpus is extracted (the store
holds the corpus once; splits select rows when they load).

Usage: ``python bench/bench_extract.py [--data DIR] [--work DIR] [--jobs N] [--keep]``.
``--data`` is generated with ``serbias synth DIR --actors 91 --full`` (7,442 clips) when it
does not exist yet. Prints clips/s for each and the ratios to (a). Not a test: figures
depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SERBIAS = Path(sys.executable).with_name("serbias")
#: Clips the baseline runs before it is timed (numba compiles on the first one).
WARM_UP_CLIPS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "serbias-bench-corpus"
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="scratch directory (default: a temp dir)"
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="serbias extract --jobs (default: all cores)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the outputs of (a), (b) and (c)")
    args = parser.parse_args()

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    clips = prepare(args.data)
    work = Path(tempfile.mkdtemp(prefix="bench-extract-", dir=args.work))
    try:
        a_seconds, a_cpu, cold_first = serial_librosa(clips, work / "a_pickles")
        b_seconds, b_inner, b_cpu = run_extract(args.data, work / "b_logmel", "logmel", args.jobs)
        c_seconds, c_inner, c_cpu = run_extract(args.data, work / "c_all", "all", args.jobs)
        check_equal(clips, work / "b_logmel")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    n = len(clips)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print()
    print(f"{'method':<48} {'clips':>6} {'seconds':>8} {'clips/s':>8} {'CPU-s':>6}")
    rows = [
        ("(a) serial librosa loop, warm (log-mel + pickle)", a_seconds, a_cpu),
        ("(b) serbias extract --kind logmel (command)", b_seconds, None),
        ("    of which extraction", b_inner, b_cpu),
        ("(c) serbias extract --kind all (command)", c_seconds, None),
        ("    of which extraction", c_inner, c_cpu),
    ]
    for label, seconds, cpu in rows:
        cpu_text = "" if cpu is None else f"{cpu:.0f}"
        print(f"{label:<48} {n:>6} {seconds:>8.1f} {n / seconds:>8.0f} {cpu_text:>6}")
    print(f"(a) warm-up, not timed: first clip {cold_first:.2f} s (numba compilation)")
    for name, seconds, inner, cpu in (("(b) logmel", b_seconds, b_inner, b_cpu),
                                      ("(c) all kinds", c_seconds, c_inner, c_cpu)):  # fmt: skip
        print(
            f"speed-up {name} vs (a): {a_seconds / seconds:.1f}x (command), "
            f"{a_seconds / inner:.1f}x (extraction only); CPU per clip {a_cpu / cpu:.1f}x less"
        )
    print(f"largest serbias process peak RSS: {peak_mb:,.0f} MB")
    print(f"load average (1/5/15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def prepare(data: Path) -> list[tuple[str, str]]:
    """The corpus (generated when missing) as (stem, path) in corpus order."""
    from serbias.corpus.reader import read_corpus

    if not (data / "AudioWAV").is_dir():
        from serbias.corpus.synth.generate import generate_corpus

        print(f"generating the full synthetic corpus in {data} ...", flush=True)
        started = time.perf_counter()
        summary = generate_corpus(data, actors=91, full=True, seed=0, force=True)
        print(f"  {summary.n_clips} clips in {time.perf_counter() - started:.0f} s")
    clips = read_corpus(data)
    ordered = list(zip(clips["filename"], clips["path"], strict=True))
    seconds = np.array([os.path.getsize(path) for _, path in ordered]) / (2 * 16_000)
    print(f"corpus: {len(ordered)} clips, {seconds.mean():.2f} s mean (16 kHz 16-bit WAV assumed)")
    return ordered


def reference_logmel(path: str) -> np.ndarray:
    """The reference study's log-mel of one clip, with librosa."""
    import librosa

    y, _ = librosa.load(path, sr=22_050)
    y = librosa.util.fix_length(y, size=66_150)
    mel = librosa.feature.melspectrogram(y=y, sr=22_050, n_fft=2048, hop_length=512, n_mels=128)
    return librosa.power_to_db(mel, ref=np.max)


def serial_librosa(clips: list[tuple[str, str]], out: Path) -> tuple[float, float, float]:
    """(a): the reference study's loop, warmed first; returns wall and CPU seconds of the
    timed loop and the untimed first (cold) clip's seconds."""
    out.mkdir(parents=True)
    print(f"(a) serial librosa loop: warming on {WARM_UP_CLIPS} clips ...", flush=True)
    started, cold_first = time.perf_counter(), 0.0
    for i, (_, path) in enumerate(clips[:WARM_UP_CLIPS]):
        reference_logmel(path)
        if i == 0:
            cold_first = time.perf_counter() - started
    print("(a) serial librosa loop, timed ...", flush=True)
    started, cpu_started = time.perf_counter(), time.process_time()
    for stem, path in clips:
        logmel = reference_logmel(path)
        with open(out / f"{stem}.pkl", "wb") as handle:
            pickle.dump(logmel, handle)
    return time.perf_counter() - started, time.process_time() - cpu_started, cold_first


def run_extract(data: Path, out: Path, kind: str, jobs: int | None) -> tuple[float, float, float]:
    """(b)/(c): ``serbias extract`` in a fresh process; returns wall, reported and CPU seconds."""
    command = [str(SERBIAS), "extract", "--data", str(data), "--out", str(out),
               "--kind", kind, "--force"]  # fmt: skip
    if jobs:
        command += ["--jobs", str(jobs)]
    print(f"serbias extract --kind {kind} ...", flush=True)
    env = {k: v for k, v in os.environ.items() if k not in ("SERBIAS_PARAMS", "SERBIAS_PROFILE")}
    env["COLUMNS"] = "200"  # one line per message in the captured output
    started = time.perf_counter()
    result = subprocess.run(command, cwd=out.parent, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"serbias extract failed:\n{result.stdout}\n{result.stderr}")
    print("  " + result.stdout.strip().splitlines()[-1])
    reported = re.search(r" in ([\d.]+) s \(.*, ([\d.]+) CPU-s\)", result.stdout)
    if reported is None:
        sys.exit(f"unexpected serbias extract output:\n{result.stdout}")
    return wall, float(reported.group(1)), float(reported.group(2))


def check_equal(clips: list[tuple[str, str]], store: Path) -> None:
    """The two ways agree: sampled store rows against a fresh librosa computation."""
    from serbias.features import load_features

    sampled = clips[:: max(1, len(clips) // 20)]
    stored = load_features(store, "logmel", [stem for stem, _ in sampled])
    worst = max(
        float(np.abs(reference_logmel(path) - stored.X[row]).max())
        for row, (_, path) in enumerate(sampled)
    )
    print(f"max |(a) - (b)| over {len(sampled)} sampled clips: {worst:.1e} dB")


if __name__ == "__main__":
    main()
