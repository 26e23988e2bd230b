"""A quiet terminal: no TensorFlow start-up lines on stderr unless ``serbias -v``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from serbias.quiet import VERBOSE_ENV, silenced_stderr
from tests.train_helpers import TinyStore

CHECKOUT = Path(__file__).resolve().parents[1]
#: Fragments of TensorFlow's C++ start-up lines (oneDNN, absl, CUDA probing, CPU features).
NOISE = ("absl", "onednn", "cuda", "cuinit", "cudnn", "tf_enable_onednn_opts", "cpu_feature_guard")
TINY_CNN = ["--hp", "channels=[8,8,16,16]", "--hp", "lstm_units=8", "--batch-size", "8"]
TINY_ATTENTION = [*TINY_CNN, "--hp", "attention_heads=2", "--hp", "attention_units=8"]


def noise_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if any(n in line.lower() for n in NOISE)]


def run_python(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` with this checkout's serbias, quiet by default."""
    environ = {
        k: v for k, v in os.environ.items() if k not in (VERBOSE_ENV, "TF_CPP_MIN_LOG_LEVEL")
    }
    environ.update(PYTHONPATH=str(CHECKOUT), **env)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=900
    )


def train_args(store: TinyStore, out: Path, model: str) -> list[str]:
    tiny = TINY_ATTENTION if model == "multitask" else TINY_CNN
    return ["-m", "serbias", "train", "--model", model, "--features", str(store.features),
            "--data", str(store.corpus), "--split", str(store.split_file), "--out", str(out),
            "--epochs", "1", *tiny]  # fmt: skip


def test_network_training_and_its_workers_print_no_tensorflow_lines(
    tiny_store: TinyStore, tmp_path: Path
) -> None:
    # Two bootstrap replicas on two spawned workers: the driver and each worker load TensorFlow.
    args = [*train_args(tiny_store, tmp_path / "train", "multitask"), "--bootstrap", "2",
            "--jobs", "2"]  # fmt: skip
    result = run_python(args, tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}")

    assert result.returncode == 0, result.stderr
    assert "2 replicas as child runs" in result.stdout
    assert noise_lines(result.stderr) == []


def test_verbose_shows_what_tensorflow_prints(tiny_store: TinyStore, tmp_path: Path) -> None:
    raw = run_python(["-c", "import tensorflow"], tmp_path)  # without serbias: TF's own lines
    args = ["-m", "serbias", "-v", *train_args(tiny_store, tmp_path / "train", "cnn_lstm")[2:]]
    result = run_python(args, tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "train" / "cnn_lstm-intended.json").is_file()
    expected = {line.split("]")[-1] for line in noise_lines(raw.stderr)}
    assert expected <= {line.split("]")[-1] for line in noise_lines(result.stderr)}


def test_importing_keras_after_serbias_is_silent(tmp_path: Path) -> None:
    result = run_python(
        ["-c", "import serbias, keras; print(float(keras.ops.sum([1.0, 2.0])))"], tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3.0"
    assert noise_lines(result.stderr) == []


def test_silenced_stderr_replays_what_a_failure_wrote(capfd: pytest.CaptureFixture[str]) -> None:
    with silenced_stderr():
        os.write(2, b"start-up chatter\n")
    assert capfd.readouterr().err == ""

    with pytest.raises(RuntimeError, match="broken build"), silenced_stderr():
        os.write(2, b"libfoo.so: cannot open shared object file\n")
        raise RuntimeError("broken build")
    assert capfd.readouterr().err == "libfoo.so: cannot open shared object file\n"
