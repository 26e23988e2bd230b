"""Benchmark: the ``onnx:`` adapter against a bare onnxruntime loop, same clips, same run.

A small waveform CNN (a strided 400-sample convolution as a learned filterbank, a second
convolution, mean pooling over time, a linear head, softmax over ``ang,hap,neu,sad,fru``) is
exported with ``onnx.helper`` and run over every clip of the synthetic corpus:

(a) the loop an auditor writes by hand: for each clip, ``load_clip`` (the same decoding and
    soxr resampling serbias uses), ``session.run`` on ``[1, samples]``; once with
    onnxruntime's default session options and once with spinning threads off (what serbias
    sets; faster here), the better of the two being the reference;
(b) the same session over clips decoded beforehand (inference alone, no decoding);
(c) ``run_pretrained("onnx:...")`` end to end (header scan, decoding on a background
    thread, length-sorted batches, label mapping, table), at batch size 1 and at the batch
    size given.

Prints clips/s for each and the ratios (c)/(a), (c)/(b), and checks that (a) and (c) at
batch size 1 give the same scores. ``--data`` is generated with ``serbias synth DIR
--actors N --full`` (N = 91: the 7,442 clips of CREMA-D) when it does not exist yet.
Not a test: figures depend on the machine and its load.

Usage: ``python bench/bench_adapters.py [--data DIR] [--actors N] [--batch-size B]
[--repeat R]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SERBIAS = Path(sys.executable).with_name("serbias")
LABELS = "ang,hap,neu,sad,fru"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="corpus (made when absent)")
    parser.add_argument("--actors", type=int, default=91, help="actors of a new corpus (2..91)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the best of each is kept")
    args = parser.parse_args()
    data = args.data or Path(tempfile.gettempdir()) / f"serbias-bench-adapters-a{args.actors}"

    import onnxruntime as ort

    from serbias.corpus.reader import read_corpus
    from serbias.features.audio import load_clip
    from serbias.predictions.pretrained import PretrainedSettings, load_pretrained, run_pretrained

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, onnxruntime {ort.__version__}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if not (data / "AudioWAV").is_dir():
        print(f"writing the synthetic corpus ({args.actors} actors) to {data} ...", flush=True)
        subprocess.run(
            [str(SERBIAS), "synth", str(data), "--actors", str(args.actors), "--full"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    clips = read_corpus(data)
    paths = [Path(p) for p in clips["path"]]
    with tempfile.TemporaryDirectory(prefix="bench-adapters-") as work:
        model_path = build_model(Path(work) / "cnn.onnx")
        default = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
        options = ort.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        no_spin = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        source = f"onnx:{model_path}"
        ours_1 = load_pretrained(source, PretrainedSettings(batch_size=1))
        ours_b = load_pretrained(source, PretrainedSettings(batch_size=args.batch_size))

        for path in paths:  # warm the page cache, so no contender pays for the first read
            path.read_bytes()
        seconds_audio = sum(load_clip(p, 16_000).size for p in paths) / 16_000
        print(f"corpus: {len(paths)} clips, {seconds_audio / 60:.1f} min of audio, {data}")

        best: dict[str, float] = {}
        outputs: dict[str, np.ndarray] = {}

        def timed(name: str, func) -> None:
            started = time.perf_counter()
            outputs[name] = func()
            best[name] = min(best.get(name, np.inf), time.perf_counter() - started)

        decoded = [load_clip(p, 16_000) for p in paths]
        contenders = {
            "a": lambda: bare_loop(default, paths, load_clip),
            "a_no_spin": lambda: bare_loop(no_spin, paths, load_clip),
            "b": lambda: bare_inference(no_spin, decoded),
            "c1": lambda: run_pretrained(ours_1, clips).table,
            "cb": lambda: run_pretrained(ours_b, clips).table,
        }
        names = list(contenders)
        for round_ in range(args.repeat):  # a different order each round: load drifts
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                timed(name, contenders[name])

        batched = run_pretrained(ours_b, clips)
        padding = batched.provenance["batching"]["padding_fraction"]
        columns = ["Anger", "Happy", "Neutral", "Sad"]
        diff_1 = np.abs(outputs["c1"][columns].to_numpy() - outputs["a"][:, :4]).max()
        diff_b = np.abs(outputs["cb"][columns].to_numpy() - outputs["a"][:, :4]).max()

    n = len(paths)
    reference = min(best["a"], best["a_no_spin"])
    rows = [
        ("(a) bare loop, onnxruntime defaults", best["a"]),
        ("(a) bare loop, spinning off", best["a_no_spin"]),
        ("(b) bare session.run over pre-decoded clips", best["b"]),
        ("(c) run_pretrained onnx:, batch size 1", best["c1"]),
        (f"(c) run_pretrained onnx:, batch size {args.batch_size}", best["cb"]),
    ]
    print(f"best of {args.repeat} round(s):")
    for label, seconds in rows:
        print(f"  {label:<52} {seconds:7.2f} s  {n / seconds:8.0f} clips/s")
    print(f"ours (batch 1) / best bare loop (a): {reference / best['c1']:.2f}x")
    print(f"ours (batch {args.batch_size}) / best bare loop (a): {reference / best['cb']:.2f}x")
    print(f"ours (batch 1) / (b): {best['b'] / best['c1']:.2f}x (ours also decodes)")
    print(f"ours (batch {args.batch_size}) / (b): {best['b'] / best['cb']:.2f}x")
    print(f"max |ours - bare| at batch 1: {diff_1:.2e}; at batch {args.batch_size}: {diff_b:.2e}")
    print(f"padding at batch {args.batch_size}: {100 * padding:.3f}% of the real samples")


def build_model(path: Path) -> Path:
    """The benchmark CNN, with fixed random weights, saved to ``path``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    channels = 32
    weights = {
        "filters": rng.normal(0, 0.05, (channels, 1, 400)).astype(np.float32),
        "filters_bias": np.zeros(channels, np.float32),
        "mix": rng.normal(0, 0.1, (channels, channels, 3)).astype(np.float32),
        "mix_bias": np.zeros(channels, np.float32),
        "head": rng.normal(0, 0.5, (channels, 5)).astype(np.float32),
        "head_bias": np.zeros(5, np.float32),
        "one": np.array([1], np.int64),
    }
    nodes = [
        helper.make_node("Unsqueeze", ["waveform", "one"], ["signal"]),
        helper.make_node(
            "Conv",
            ["signal", "filters", "filters_bias"],
            ["bands"],
            kernel_shape=[400],
            strides=[160],
        ),
        helper.make_node("Relu", ["bands"], ["bands_relu"]),
        helper.make_node(
            "Conv", ["bands_relu", "mix", "mix_bias"], ["mixed"], kernel_shape=[3], pads=[1, 1]
        ),
        helper.make_node("Relu", ["mixed"], ["mixed_relu"]),
        helper.make_node("ReduceMean", ["mixed_relu"], ["pooled"], axes=[2], keepdims=0),
        helper.make_node("Gemm", ["pooled", "head", "head_bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "bench-cnn",
        [helper.make_tensor_value_info("waveform", TensorProto.FLOAT, ["batch", "samples"])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 5])],
        initializer=[numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    helper.set_model_props(model, {"labels": LABELS, "sample_rate": "16000"})
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def bare_loop(session, paths: list[Path], load_clip) -> np.ndarray:
    """What a hand-written script does: decode, run, softmax, one clip at a time."""
    name = session.get_inputs()[0].name
    rows = []
    for path in paths:
        samples = load_clip(path, 16_000)
        (scores,) = session.run(None, {name: samples[np.newaxis]})
        rows.append(scores[0])
    return np.asarray(rows, dtype=np.float64)


def bare_inference(session, decoded: list[np.ndarray]) -> np.ndarray:
    """The same session over clips already in memory: inference alone."""
    name = session.get_inputs()[0].name
    return np.asarray(
        [session.run(None, {name: samples[np.newaxis]})[0][0] for samples in decoded],
        dtype=np.float64,
    )


if __name__ == "__main__":
    main()
