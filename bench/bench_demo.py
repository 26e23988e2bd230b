"""Benchmark: how fast ``serbias demo`` answers with a full-size multitask model.

Registers an untrained multitask model of the default architecture on the default
128 x 130 log-mels (latency does not depend on the weights) in a temporary MLflow store,
then measures, each in a fresh process as a user runs it:

* ``serbias demo clip.wav``: wall time of the one-shot terminal command;
* ``serbias demo --serve``: seconds until the server answers, then the latency of the
  first, second and median of 20 further ``POST /predict`` requests (3 s clip at 16 kHz);
* in-process ``classify``: first call (loads the model) and second call.

Usage: ``python bench/bench_demo.py [--requests N]``. Not a test: figures depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import soundfile as sf

SERBIAS = Path(sys.executable).with_name("serbias")
URI = "models:/serbias-multitask-intended@champion"


def register_full_size_model(store: Path) -> None:
    """Log and register an untrained default multitask model as the champion."""
    from serbias import tracking
    from serbias.config import ExtractParams, MultitaskParams
    from serbias.features import KINDS
    from serbias.models import keras_module
    from serbias.models.multitask import build_multitask

    keras_module()
    params = ExtractParams()
    shape = KINDS["logmel"].row_shape(params.of("logmel"), params)
    family = asdict(MultitaskParams())
    family.pop("demographic_weight")
    model = build_multitask(shape, **family)
    metadata = {
        "serbias_model": "multitask",
        "labels": "intended",
        "feature_kind": "logmel",
        "input_shape": list(shape),
        "feature_params": params.feature_params(["logmel"]),
        "outputs": ["emotion", "female", "non_caucasian"],
        "threshold": 0.5,
    }
    name = tracking.registered_model_name("multitask", "intended")
    with tracking.tracked_run(experiment="bench-demo", run_name="untrained"):
        tracking.log_metrics({tracking.SELECTION_METRIC: 0.0})
        logged = tracking.log_model(
            model,
            flavor="keras",
            metadata=metadata,
            signature=(shape, {"emotion": (6,), "female": (1,), "non_caucasian": (1,)}),
            registered_name=name,
        )
    tracking.promote_champion(name, logged.version, 0.0)


def clip_bytes(seconds: float = 3.0, rate: int = 16_000) -> bytes:
    import io

    t = np.arange(round(seconds * rate)) / rate
    samples = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    buffer = io.BytesIO()
    sf.write(buffer, samples.astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def post(port: int, wav: bytes) -> tuple[float, int]:
    boundary = "bench"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="c.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    body += wav + f"\r\n--{boundary}--\r\n".encode()
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request(
        "POST", "/predict", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return time.perf_counter() - started, response.status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, no GPU")
    with tempfile.TemporaryDirectory(prefix="serbias-bench-demo-") as tmp:
        work = Path(tmp)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
        started = time.perf_counter()
        register_full_size_model(work)
        seconds = time.perf_counter() - started
        print(f"registered an untrained full-size multitask model in {seconds:.1f} s")
        wav = clip_bytes()
        clip = work / "clip.wav"
        clip.write_bytes(wav)

        started = time.perf_counter()
        done = subprocess.run([str(SERBIAS), "demo", str(clip), "--json"], capture_output=True)
        assert done.returncode == 0, done.stderr.decode()
        seconds = time.perf_counter() - started
        print(f"serbias demo clip.wav (fresh process: imports, load, predict): {seconds:.2f} s")

        port = free_port()
        started = time.perf_counter()
        server = subprocess.Popen(
            [str(SERBIAS), "demo", "--serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    connection.request("GET", "/model")
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    if server.poll() is not None:
                        raise SystemExit("the server exited") from None
                    time.sleep(0.1)
            print(f"serbias demo --serve: answering after {time.perf_counter() - started:.2f} s")
            first, status = post(port, wav)
            second, _ = post(port, wav)
            more = [post(port, wav)[0] for _ in range(args.requests)]
            assert status == 200
            print(f"  POST /predict (3 s clip): first {1000 * first:.0f} ms, second "
                  f"{1000 * second:.0f} ms, median of {args.requests} more "
                  f"{1000 * statistics.median(more):.0f} ms")  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)

        from serbias.demo.classify import classify

        started = time.perf_counter()
        classify(wav, model_uri=URI)
        first = time.perf_counter() - started
        started = time.perf_counter()
        classify(wav, model_uri=URI)
        second = time.perf_counter() - started
        print(f"in-process classify: first {first:.2f} s (loads the model), "
              f"second {1000 * second:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
