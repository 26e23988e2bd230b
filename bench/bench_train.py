"""Benchmark: training throughput of the ``multitask`` model on 128 x 130 log-mels, batch 64.

Runs each configuration in a fresh process (allocator and thread settings only apply before
TensorFlow starts), trains ``--warmup`` steps, then times ``--steps`` steps of
``model.fit`` fed by the same ``tf.data`` pipeline ``serbias train`` uses, on random data.
Prints samples/s (wall clock), samples per CPU-second (less sensitive to other processes
on a shared machine) and the CPU cores the process kept busy.

    .venv/bin/python bench/bench_train.py                 # every configuration
    .venv/bin/python bench/bench_train.py --configs serbias --steps 300

References on the same 2-core CPU: a PyTorch implementation of this architecture trains at
about 16 samples/s, a first Keras 3 port at about 25.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

#: name -> (extra environment, worker flags)
CONFIGS: dict[str, tuple[dict[str, str], list[str]]] = {
    "serbias": ({}, ["--deterministic"]),
    "no-determinism": ({}, []),
    "one-thread": ({}, ["--deterministic", "--threads", "1"]),
    "one-inter-op": ({}, ["--deterministic", "--inter-op", "1"]),
    "malloc-allocator": ({"TF_CPU_ALLOCATOR_USE_BFC": "false"}, ["--deterministic"]),
    "stock-batchnorm": ({}, ["--deterministic", "--stock-batchnorm"]),
}
DESCRIPTIONS = {
    "serbias": "as `serbias train` runs: BFC allocator, fused BatchNorm, op determinism",
    "no-determinism": "without tf.config.experimental.enable_op_determinism()",
    "one-thread": "one intra-op thread (what each of 2 parallel bootstrap replicas gets)",
    "one-inter-op": "all cores for intra-op, one inter-op thread",
    "malloc-allocator": "TensorFlow's default CPU allocator instead of BFC",
    "stock-batchnorm": "keras.layers.BatchNormalization's unfused kernels",
}


def worker(args: argparse.Namespace) -> dict[str, float]:
    """Time ``args.steps`` training steps in this process."""
    import numpy as np

    from serbias.config import TrainParams
    from serbias.models import MODELS
    from serbias.training.fit import compile_network, configure_tensorflow, training_batches

    configure_tensorflow(deterministic=args.deterministic, threads=args.threads)
    import keras
    import tensorflow as tf

    if args.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)

    if args.stock_batchnorm:
        from serbias.models.cnn_lstm import FusedBatchNormalization

        FusedBatchNormalization.call = keras.layers.BatchNormalization.call
    from serbias.models.multitask import build_multitask

    keras.utils.set_random_seed(0)
    model = build_multitask((args.n_mels, args.frames))
    compile_network(model, MODELS["multitask"], TrainParams(model="multitask"))
    rng = np.random.default_rng(0)
    n = args.batch_size * 8
    X = rng.normal(-40.0, 15.0, (n, args.n_mels, args.frames)).astype(np.float32)
    targets = {
        "emotion": np.eye(6, dtype=np.float32)[np.arange(n) % 6],
        "female": (np.arange(n) % 2).astype(np.float32)[:, None],
        "non_caucasian": (np.arange(n) % 3 == 0).astype(np.float32)[:, None],
    }
    batches = training_batches(X, targets, np.arange(n), batch_size=args.batch_size, seed=0)
    batches = batches.repeat()
    model.fit(batches, steps_per_epoch=args.warmup, epochs=1, shuffle=False, verbose=0)
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(batches, steps_per_epoch=args.steps, epochs=1, shuffle=False, verbose=0)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    samples = args.steps * args.batch_size
    return {"samples_per_s": samples / wall, "busy_cores": cpu / wall, "per_cpu_s": samples / cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (tracing)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-mels", type=int, default=128)
    parser.add_argument("--frames", type=int, default=130)
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--inter-op", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--deterministic", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stock-batchnorm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return

    shape = f"{args.n_mels} x {args.frames}"
    print(f"multitask on {shape} log-mels, batch {args.batch_size}, {args.steps} timed steps "
          f"after {args.warmup} warm-up; {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.2f} at start")  # fmt: skip
    common = ["--steps", str(args.steps), "--warmup", str(args.warmup),
              "--batch-size", str(args.batch_size), "--n-mels", str(args.n_mels),
              "--frames", str(args.frames)]  # fmt: skip
    for name in args.configs.split(","):
        env, flags = CONFIGS[name]
        done = subprocess.run(
            [sys.executable, __file__, "--worker", *common, *flags],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(f"{name:<17} failed: {done.stderr.strip().splitlines()[-1]}")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name:<17} {result['samples_per_s']:6.1f} samples/s  "
              f"{result['per_cpu_s']:5.1f} per CPU-second  {result['busy_cores']:.2f} cores busy  "
              f"{DESCRIPTIONS[name]}")  # fmt: skip
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
