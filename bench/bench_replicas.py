"""Benchmark: many trainings on the local process pool and on a local Ray, and the paper
profile's 800 trainings projected onto 1, 4 and 16 GPUs.

In one run on one machine, with the data prepared once before any timing (a synthetic corpus
at the repository's ``params.yaml`` sizes: ``serbias synth``, ``split``, ``extract``) and a
throw-away MLflow store (``sqlite:///<workdir>/mlflow.db``):

(a) 8 SVM bootstrap replicas and (b) 4 one-epoch network replicas (``multitask`` at the
    repository's widths and input size) through ``serbias.stages.train``, what ``serbias
    train --bootstrap N [--executor ray]`` runs after parsing its options, each run in a fresh
    process: on ``--executor local`` and on ``--executor ray`` with no address (serbias starts
    a local Ray on 127.0.0.1). Both hold the same number of trainings at once (``--tasks``,
    default 2: local ``jobs=2``; Ray ``num_cpus`` = CPUs / 2 per task). The runs come in
    interleaved rounds (``--repeats``; each round runs every workload on every executor in
    turn), so that load from other jobs falls on both; medians and ranges are reported. Ray's
    wall time includes its start-up and shutdown, also shown on their own (serbias starts a
    local Ray in the background while the driver loads its data: "Ray wait" is what is left).
    ``--joined`` adds runs joined to a Ray head started once beforehand (``--ray-address``),
    which pays no start-up per run.
(c) The training throughput of ``multitask`` at the paper profile's input (128 x 130 log-mels,
    widths 64/64/128/128, batch 64), measured by ``bench/bench_train.py``'s worker, and one
    SVM replica at the paper's training-set size; from these, the wall time of the paper
    profile's 4 families x 2 label kinds x 100 replicas of 100 epochs on this machine and on
    1, 4 and 16 GPUs (the GPU rate is an assumption: ``--gpu-samples-per-s``).

    nice -n 10 .venv/bin/python bench/bench_replicas.py           # 15-20 min on 2 busy cores
    nice -n 10 .venv/bin/python bench/bench_replicas.py --quick   # 5-7 min: a smaller corpus
    .venv/bin/python bench/bench_replicas.py --skip-replicas --gpu-samples-per-s 2400

Not a test: the figures depend on the machine and on what else runs on it (each run prints
the load average it started at).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PARAMS_FILE = REPO / "params.yaml"
BENCH_TRAIN = REPO / "bench" / "bench_train.py"
#: How each executor variant runs ``serbias train``.
VARIANTS = {
    "local": "--executor local --jobs T",
    "ray": "--executor ray (serbias starts a local Ray)",
    "ray-joined": "--executor ray --ray-address of a local head started once",
}
TARGET_OVERHEAD = 15.0  # percent
#: Forward-only passes (validation, out-of-bag predictions) cost about a third of a training
#: step per sample (a backward pass costs about two forward passes).
INFERENCE_SPEEDUP = 3.0
#: GPU training rates (samples/s per GPU) the projection is printed for by default.
GPU_RATES = (500.0, 1500.0, 3000.0)
GPU_COUNTS = (1, 4, 16)
#: Row jitter (in feature standard deviations) of the paper-sized SVM training set drawn from
#: the bench corpus, so that resampled clips are not exact duplicates.
SVM_JITTER = 0.25
QUICK = {"actors": 12, "sentences": 2, "repeats": 1, "epoch_steps": 6, "warmup": 2}
DEFAULT = {"repeats": 3, "epoch_steps": 20, "warmup": 3}


@dataclasses.dataclass(frozen=True)
class Workload:
    """One kind of many-trainings run to time."""

    name: str
    model: str
    replicas: int
    epochs: int = 1


# ---------------------------------------------------------------------- workers (subprocesses)


def bench_params(workdir: Path, profile: str | None = None) -> Any:
    """The repository's params (``profile`` merged over them), every path in ``workdir``."""
    from serbias.config import load_params, override

    params = load_params(PARAMS_FILE, profile=profile)
    paths = override(
        params.paths,
        data=workdir / "data",
        split=workdir / "split.json",
        features=workdir / "features",
        train=workdir / "train",
        predictions=workdir / "predictions",
        audit=workdir / "audit",
    )
    return dataclasses.replace(params, paths=paths)


def prepare_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Synthesize, split and extract once; create the MLflow store (so its schema migration
    is not charged to the first timed run)."""
    from serbias import stages, tracking
    from serbias.config import override
    from serbias.corpus.synth.design import count_clips
    from serbias.features.base import KINDS

    params = bench_params(Path(spec["workdir"]))
    synth = override(params.synth, actors=spec.get("actors"), sentences=spec.get("sentences"))
    params = dataclasses.replace(params, synth=synth)
    start = time.perf_counter()
    stages.synth(params, params.paths.data, force=True)
    split = stages.split(params, force=True)
    stages.extract(params, force=True)
    tracking.check_tracking()
    extract = params.extract
    return {
        "clips": count_clips(synth.actors, sentences=synth.sentences, full=synth.full),
        "actors": synth.actors,
        "sentences": synth.sentences,
        "split": {name: len(clips) for name, clips in split.result.splits.items()},
        "logmel": list(KINDS["logmel"].row_shape(extract.of("logmel"), extract)),
        "svm": list(KINDS["svm"].row_shape(extract.of("svm"), extract)),
        "widths": list(params.train.models["multitask"].channels),
        "seconds": time.perf_counter() - start,
    }


def _add_time(function: Callable[..., Any], totals: dict[str, float], key: str) -> Any:
    """``function``, adding the seconds spent in it to ``totals[key]``."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - start

    return timed


def replicas_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one ``serbias.stages.train`` of ``spec["replicas"]`` bootstrap replicas on one
    executor, with Ray's connect (start-up) and close (shutdown), the driver's child-run
    logging and when each result arrived."""
    from serbias import stages
    from serbias.config import override
    from serbias.cpu import available_cpus
    from serbias.training import many
    from serbias.training.executors.ray import RayExecutor
    from serbias.training.params import TaskResources

    params = bench_params(Path(spec["workdir"]))
    tasks = int(spec["tasks"])
    train = override(
        params.train,
        model=spec["model"],
        bootstrap=spec["replicas"],
        epochs=spec["epochs"],
        patience=0,
        executor="local" if spec["variant"] == "local" else "ray",
        ray_address=spec.get("ray_address") if spec["variant"] == "ray-joined" else None,
        jobs=tasks,
        experiment=spec["experiment"],
    )
    # Ray holds `tasks` trainings at once on this machine's CPUs, as the local pool does.
    cpus = spec.get("cpus") or available_cpus()
    train = dataclasses.replace(train, resources=TaskResources(num_cpus=cpus / tasks))
    params = dataclasses.replace(params, train=train)

    totals = {"ray_start": 0.0, "ray_stop": 0.0, "logging": 0.0}
    RayExecutor.connect = _add_time(RayExecutor.connect, totals, "ray_start")
    RayExecutor.close = _add_time(RayExecutor.close, totals, "ray_stop")
    arrivals: list[float] = []
    log_child = _add_time(many._log_child, totals, "logging")

    def arrived(*args: Any, **kwargs: Any) -> Any:
        arrivals.append(time.perf_counter() - start)
        return log_child(*args, **kwargs)

    many._log_child = arrived
    start = time.perf_counter()
    result = stages.train(params, fresh=True)
    wall = time.perf_counter() - start
    return {**totals, "arrivals": arrivals, "wall": wall, "macro_f1": result.macro_f1}


def svm_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one SVM replica (fit, validation, out-of-bag predictions, model bytes) on one
    core at the paper's training-set size, its rows drawn with replacement and jitter from
    the bench corpus's SVM features (the synthetic corpus is smaller than CREMA-D)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from serbias.config import override
    from serbias.training.data import load_training_data
    from serbias.training.replicas import TaskContext, bootstrap_tasks, train_task

    params = bench_params(Path(spec["workdir"]))
    train = override(params.train, model="svm")
    data = load_training_data(params.paths.features, params.paths.data, model="svm",
                              labels=train.labels, split_file=params.paths.split)  # fmt: skip
    n_train, n_val = int(spec["n_train"]), int(spec["n_val"])
    rng = np.random.default_rng(0)
    pool = np.concatenate([data.rows["train"], data.rows["val"]])
    rows = rng.choice(pool, n_train + n_val, replace=True)
    arrays = {key: np.asarray(values)[rows] for key, values in data.arrays().items()}
    X = arrays["X"]
    arrays["X"] = (X + rng.normal(0.0, SVM_JITTER, X.shape) * X.std(axis=0)).astype(X.dtype)
    (task,) = bootstrap_tasks(np.arange(n_train), np.arange(n_train, n_train + n_val),
                              replicas=1, seed=train.seed or 0)  # fmt: skip
    with threadpool_limits(1):
        start = time.perf_counter()
        train_task(arrays, TaskContext(train, threads=1), task, 1)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "n_train": n_train}


def paper_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """The paper profile's sizes, read from ``params.yaml`` (``base.profile: paper``)."""
    from serbias.corpus.synth.design import count_clips
    from serbias.features.base import KINDS
    from serbias.models import MODELS
    from serbias.training.params import LABEL_KINDS

    params = bench_params(Path(spec["workdir"]), profile="paper")
    synth, split, extract, train = params.synth, params.split, params.extract, params.train
    clips = count_clips(synth.actors, sentences=synth.sentences, full=synth.full)
    n_train = round(clips * split.train)
    return {
        "clips": clips,
        "split_mode": split.mode,
        "n_train": n_train,
        "n_val": round(clips * split.val),
        # a bootstrap resample of n leaves (1 - 1/n)^n of them out: about 36.8%
        "n_oob": round(n_train * (1.0 - 1.0 / n_train) ** n_train),
        "logmel": list(KINDS["logmel"].row_shape(extract.of("logmel"), extract)),
        "widths": list(train.models["multitask"].channels),
        "batch_size": train.batch_size,
        "epochs": train.epochs,
        "replicas": train.bootstrap,
        "families": list(MODELS),
        "networks": [name for name in MODELS if MODELS[name].backend == "keras"],
        "label_kinds": list(LABEL_KINDS),
    }


WORKERS = {
    "prepare": prepare_worker,
    "replicas": replicas_worker,
    "svm": svm_worker,
    "paper": paper_worker,
}


# ---------------------------------------------------------------------- driver


def call_worker(mode: str, spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run one worker in a fresh process; its result is the last JSON line it prints."""
    done = subprocess.run(
        [sys.executable, __file__, "--worker", mode, "--spec", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"bench_replicas: worker {mode} failed ({done.returncode}):\n{tail}")
    return json.loads(lines[-1])


def epoch_rate(steps: int, warmup: int, paper: dict[str, Any], env: dict[str, str]) -> dict:
    """``bench/bench_train.py``'s worker as ``serbias train`` runs (op determinism, every
    core) at the paper profile's input and batch size."""
    n_mels, frames = paper["logmel"]
    command = [sys.executable, str(BENCH_TRAIN), "--worker", "--deterministic",
               "--steps", str(steps), "--warmup", str(warmup),
               "--batch-size", str(paper["batch_size"]), "--n-mels", str(n_mels),
               "--frames", str(frames)]  # fmt: skip
    load = os.getloadavg()[0]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench_replicas: bench_train.py failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "steps": steps, "load": load}


@contextmanager
def joined_head(cpus: int) -> Iterator[tuple[str, dict[str, str]]]:
    """A Ray head on loopback with token authentication, as ``tests/ray_cluster.py`` starts
    it; yields its address and the environment a driver needs to join it."""
    sys.path.insert(0, str(REPO))
    from tests.ray_cluster import ray_head

    with ray_head(num_cpus=cpus) as head:
        yield head.address, head.env


def load_text() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine_text(cpus: int) -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpus} CPUs ({model}), {memory:.0f} GB, no GPU used"


def duration(seconds: float) -> str:
    """Seconds as a short duration (s, min, h or d)."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


Runs = dict[str, dict[str, list[dict[str, Any]]]]


def measure_replicas(
    workloads: list[Workload],
    variants: list[str],
    args: argparse.Namespace,
    base: dict[str, Any],
    envs: dict[str, dict[str, str]],
) -> Runs:
    """``args.repeats`` rounds, each running every workload on every variant in turn
    (local, ray, local, ray, ...), so that load from other jobs falls on both executors."""
    runs: Runs = {w.name: {v: [] for v in variants} for w in workloads}
    for repeat in range(args.repeats):
        for workload in workloads:
            for variant in variants:
                spec = {**base, "model": workload.model, "replicas": workload.replicas,
                        "epochs": workload.epochs, "variant": variant,
                        "experiment": f"bench-{workload.model}-{variant}-{repeat}"}  # fmt: skip
                load = os.getloadavg()[0]
                result = {**call_worker("replicas", spec, envs[variant]), "load": load}
                runs[workload.name][variant].append(result)
                ray = (f" (Ray start {result['ray_start']:.1f} s, stop "
                       f"{result['ray_stop']:.1f} s)" if variant != "local" else "")  # fmt: skip
                print(f"  run {repeat + 1}/{args.repeats}  {workload.name:<30} {variant:<10} "
                      f"{result['wall']:6.1f} s{ray}  load {load:.2f}", flush=True)  # fmt: skip
    return runs


def _spread(values: list[float]) -> str:
    return f"{min(values):.1f}-{max(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


def print_replica_table(workloads: list[Workload], variants: list[str], runs: Runs) -> None:
    """The wall-time table and Ray's overhead over the local pool, per workload: medians over
    the rounds, with their range, and the median of each round's paired overhead."""
    print()
    print(f"{'workload':<31} {'executor':<10} {'median':>7}  {'range (s)':<11} {'Ray wait':>8} "
          f"{'Ray stop':>8} {'1st result':>10} {'MLflow':>7}  {'load':<9}")  # fmt: skip
    for workload in workloads:
        for variant in variants:
            results = runs[workload.name][variant]
            ray = variant != "local"

            def median(key: str, results: list[dict[str, Any]] = results) -> float:
                return statistics.median(r[key] for r in results)

            walls = [r["wall"] for r in results]
            start = f"{median('ray_start'):.1f} s" if ray else "-"
            stop = f"{median('ray_stop'):.1f} s" if ray else "-"
            firsts = [r["arrivals"][0] for r in results if r["arrivals"]]
            first = f"{statistics.median(firsts):.1f} s" if firsts else "-"
            loads = _spread([r["load"] for r in results])
            print(f"{workload.name:<31} {variant:<10} {statistics.median(walls):6.1f}s  "
                  f"{_spread(walls):<11} {start:>8} {stop:>8} {first:>10} "
                  f"{median('logging'):6.1f}s  {loads:<9}")  # fmt: skip
    print("(median over the rounds, Ray's start and stop included; range: fastest-slowest run; "
          "Ray wait: the driver's wait for Ray, whose start overlaps its data loading; 1st "
          "result: seconds to the first finished replica; MLflow: the driver's child-run "
          "logging, inside the wall time; load: 1-minute load average at each run's "
          "start)")  # fmt: skip
    print()
    print(f"Ray overhead over the local pool (median vs median; target <= {TARGET_OVERHEAD:.0f}%;"
          " per round: each round's ray run vs its local run):")  # fmt: skip
    for workload in workloads:
        local_runs = runs[workload.name]["local"]
        local = statistics.median(r["wall"] for r in local_runs)
        for variant in variants[1:]:
            ray_runs = runs[workload.name][variant]
            ray = statistics.median(r["wall"] for r in ray_runs)
            bare = statistics.median(r["wall"] - r["ray_start"] - r["ray_stop"] for r in ray_runs)
            overhead = 100.0 * (ray - local) / local
            paired = [100.0 * (on_ray["wall"] - here["wall"]) / here["wall"]
                      for on_ray, here in zip(ray_runs, local_runs, strict=True)]  # fmt: skip
            rounds = ", ".join(f"{p:+.0f}%" for p in paired)
            verdict = "within" if overhead <= TARGET_OVERHEAD else "ABOVE"
            print(f"  {workload.name:<31} {variant:<10} {ray:6.1f} s vs {local:6.1f} s: "
                  f"{overhead:+6.1f}% ({verdict} target); per round {rounds}; without Ray's "
                  f"wait and stop {100.0 * (bare - local) / local:+6.1f}%")  # fmt: skip


def print_projection(
    paper: dict[str, Any], rate: dict[str, Any], svm: dict[str, Any], args: argparse.Namespace
) -> None:
    """The paper profile's trainings on this machine and on 1, 4 and 16 GPUs, with the formula."""
    E, n, n_val, n_oob = paper["epochs"], paper["n_train"], paper["n_val"], paper["n_oob"]
    replicas, kinds = paper["replicas"], len(paper["label_kinds"])
    net_runs = len(paper["networks"]) * kinds
    svm_runs = (len(paper["families"]) - len(paper["networks"])) * kinds
    s, F, t_svm, cores = INFERENCE_SPEEDUP, args.fixed_s, svm["seconds"], args.cpus_per_gpu

    def t_net(R: float) -> float:
        return E * (n / R + n_val / (s * R)) + n_oob / (s * R) + F

    def wall(R: float, slots: int, svm_slots: int) -> float:
        return (net_runs * math.ceil(replicas / slots) * t_net(R)
                + svm_runs * math.ceil(replicas / svm_slots) * t_svm)  # fmt: skip

    R_cpu = rate["samples_per_s"]
    epoch_cpu = n / R_cpu + n_val / (s * R_cpu)
    n_mels, frames = paper["logmel"]
    rates = args.gpu_samples_per_s
    print()
    print(f"Paper profile (base.profile=paper): {len(paper['families'])} families x {kinds} "
          f"label kinds x {replicas} replicas = {len(paper['families']) * kinds * replicas} "
          f"trainings: {net_runs * replicas} network trainings of {E} epochs, "
          f"{svm_runs * replicas} SVM trainings")  # fmt: skip
    print(f"  {paper['clips']:,} clips, {paper['split_mode']} split: n = {n:,} clips trained "
          f"per epoch (a bootstrap resample), n_val = {n_val:,} validated per epoch, "
          f"n_oob = {n_oob:,} out-of-bag clips predicted once")  # fmt: skip
    print(
        f"Measured here: multitask at {n_mels} x {frames} log-mels, widths "
        f"{'/'.join(map(str, paper['widths']))}, batch {paper['batch_size']} "
        f"(bench_train.py, {rate['steps']} steps, every core, load {rate['load']:.2f}):"
    )
    print(f"  R_cpu = {R_cpu:.1f} training samples/s, so one epoch takes "
          f"{duration(epoch_cpu)} on this machine")  # fmt: skip
    print(f"  t_svm = {t_svm:.1f} s: one SVM replica on {svm['n_train']:,} clips, one core "
          f"(rows drawn from the bench corpus, {SVM_JITTER} s.d. jitter)")  # fmt: skip
    print("Assumed (not measured here):")
    print(
        f"  R_gpu = training samples/s of one GPU (every task sharing it), shown for "
        f"{', '.join(f'{r:g}' for r in rates)}: small conv + LSTM models at batch 64 "
        "typically train at 500-3000 samples/s on T4- to A100-class GPUs, 15-80x this "
        "2-core VM; bench/gpu_check.sh measures yours (pass it as --gpu-samples-per-s)"
    )
    print(
        f"  inference (validation, out-of-bag) at {s:g} R; cnn_lstm and cnn_lstm_attention "
        f"cost what multitask costs per epoch; F = {F:g} s fixed cost per network training "
        "(fresh worker, TensorFlow and CUDA start, tracing, model logging; --fixed-s)"
    )
    print(f"  SVM replicas on {cores} CPU cores per GPU (--cpus-per-gpu); the {net_runs + svm_runs}"
          " family x label runs one after another (as dvc repro runs its stages); GPUs on "
          "independent replicas scale linearly")  # fmt: skip
    print("Formula:")
    print(f"  t_net(R) = E (n / R + n_val / ({s:g} R)) + n_oob / ({s:g} R) + F")
    print(f"  T(G) = {net_runs} ceil({replicas} / G) t_net(R_gpu) + "
          f"{svm_runs} ceil({replicas} / ({cores} G)) t_svm")  # fmt: skip
    print(f"  E = {E}, n = {n}, n_val = {n_val}, n_oob = {n_oob}, F = {F:g} s, "
          f"t_svm = {t_svm:.1f} s")  # fmt: skip
    print(f"  {'GPUs':<6}" + "".join(f"{f'R_gpu={r:g}':>15}" for r in rates))
    for gpus in GPU_COUNTS:
        cells = "".join(f"{duration(wall(r, gpus, cores * gpus)):>15}" for r in rates)
        print(f"  {gpus:<6}{cells}")
    one = ", ".join(f"{duration(t_net(r))} at R_gpu={r:g}" for r in rates)
    print(f"  one network training: {one}; {duration(t_net(R_cpu))} on this machine's CPUs")
    cpu_wall = wall(R_cpu / args.tasks, args.tasks, args.tasks)
    print(f"  this machine, no GPU ({args.tasks} replicas at once at R_cpu / {args.tasks} each):"
          f" T = {duration(cpu_wall)}")  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--quick", action="store_true",
        help="12 actors x 2 sentences, one repeat, 6 timed steps: 5-7 minutes")  # fmt: skip
    add("--actors", type=int, help="corpus actors (default: params.yaml synth.actors)")
    add("--sentences", type=int, help="sentences per actor (default: synth.sentences)")
    add("--svm-replicas", type=int, default=8)
    add("--net-replicas", type=int, default=4)
    add("--net-model", default="multitask", help="network family of (b), params.yaml widths")
    add("--tasks", type=int, default=2, help="trainings at once on each executor")
    add("--repeats", type=int,
        help="rounds (each: every workload on every executor in turn); medians are reported "
             "(default 3)")  # fmt: skip
    add("--epoch-steps", type=int, help="timed training steps at the paper input (default 20)")
    add("--joined", action="store_true", help="also time runs joined to a running local head")
    add("--skip-replicas", action="store_true", help="only (c): the epoch rate and projection")
    add("--skip-projection", action="store_true", help="only (a) and (b): local vs Ray")
    add("--gpu-samples-per-s", type=lambda text: [float(v) for v in text.split(",")],
        default=list(GPU_RATES),
        help="assumed GPU training rates, comma-separated samples/s per GPU "
             "(bench/gpu_check.sh measures one)")  # fmt: skip
    add("--fixed-s", type=float, default=20.0, help="fixed seconds per network training")
    add("--cpus-per-gpu", type=int, default=8, help="CPU cores per GPU running SVM replicas")
    add("--workdir", type=Path,
        help="keep the corpus, features and MLflow store here (default: a temporary "
             "directory, removed at the end)")  # fmt: skip
    add("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    add("--spec", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    preset = {**DEFAULT, **(QUICK if args.quick else {})}
    for key, value in preset.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args


def main() -> None:
    args = parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](json.loads(args.spec))), flush=True)
        return
    sys.path.insert(0, str(REPO))
    from serbias.cpu import available_cpus

    began = time.perf_counter()
    cpus = available_cpus()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="serbias-bench-replicas-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}"}
    # the workers time this checkout's serbias, whichever one the interpreter has installed
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("RAY_ADDRESS", None)  # --executor ray with no address: a local Ray of its own
    print(f"bench_replicas on {machine_text(cpus)}; load average {load_text()} at start")
    try:
        spec = {"workdir": str(workdir), "actors": args.actors, "sentences": args.sentences}
        data = call_worker("prepare", spec, env)
        print(f"data: {data['clips']:,} clips ({data['actors']} actors x {data['sentences']} "
              f"sentences), split {data['split']}; svm {data['svm'][0]} features, logmel "
              f"{' x '.join(map(str, data['logmel']))}, widths "
              f"{'/'.join(map(str, data['widths']))}; prepared once in "
              f"{data['seconds']:.0f} s (not timed below)")  # fmt: skip
        if not args.skip_replicas:
            variants = ["local", "ray"] + (["ray-joined"] if args.joined else [])
            print(f"{args.tasks} trainings at once: local jobs={args.tasks}; Ray num_cpus="
                  f"{cpus / args.tasks:g} per task on {cpus} CPUs; {args.repeats} interleaved "
                  "rounds")  # fmt: skip
            workloads = [
                Workload(f"{args.svm_replicas} svm replicas", "svm", args.svm_replicas),
                Workload(f"{args.net_replicas} {args.net_model} replicas, 1 epoch",
                         args.net_model, args.net_replicas),
            ]  # fmt: skip
            base = {"workdir": str(workdir), "tasks": args.tasks, "cpus": cpus}
            with _maybe_head(args.joined, cpus) as head:
                envs = {"local": env, "ray": env}
                if head is not None:
                    base["ray_address"] = head[0]
                    envs["ray-joined"] = {**env, **head[1]}
                runs = measure_replicas(workloads, variants, args, base, envs)
            print_replica_table(workloads, variants, runs)
        if not args.skip_projection:
            paper = call_worker("paper", {"workdir": str(workdir)}, env)
            rate = epoch_rate(args.epoch_steps, args.warmup, paper, env)
            svm = call_worker("svm", {"workdir": str(workdir), "n_train": paper["n_train"],
                                      "n_val": paper["n_val"]}, env)  # fmt: skip
            print_projection(paper, rate, svm, args)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nload average {load_text()} at end; whole benchmark "
          f"{duration(time.perf_counter() - began)}")  # fmt: skip


@contextmanager
def _maybe_head(wanted: bool, cpus: int) -> Iterator[tuple[str, dict[str, str]] | None]:
    if not wanted:
        yield None
        return
    with joined_head(cpus) as head:
        yield head


if __name__ == "__main__":
    main()
