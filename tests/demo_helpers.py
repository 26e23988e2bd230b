"""Inputs for the demo tests: tiny registered models and a real server on a free port.

The models are trained once per test module through the real pipeline (``extract`` on
the train helpers' tiny corpus with small log-mels, then ``train``) into a temporary
MLflow store, so the demo meets exactly what a user's registry holds.
"""

from __future__ import annotations

import shutil
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from serbias.config import ExtractParams
from tests.feature_factory import tone, write_wav
from tests.train_helpers import tiny_corpus_and_split, tiny_params, write_split_file

#: Small inputs: 32 mel bands x 40 frames at 8 kHz (1.25 s), fast to train on.
DEMO_EXTRACT = ExtractParams(
    sample_rate=8000,
    duration=1.25,
    kind_params={"logmel": {"n_fft": 512, "hop_length": 256, "n_mels": 32}},
)
MULTITASK = "models:/serbias-multitask-intended@champion"
SVM = "models:/serbias-svm-intended@latest"


@dataclass(frozen=True)
class DemoStore:
    """A tracking store holding a multitask and an SVM model, the corpus, feature store and
    split file they were trained on, and clips to classify (1 s and 3 s tones at 16 kHz)."""

    tracking_uri: str
    corpus: Path
    features: Path
    split_file: Path
    clip: Path
    long_clip: Path


def build_demo_store(root: Path, template_db: Path) -> DemoStore:
    """Extract, train and register the tiny models in a new tracking store under ``root``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        shutil.copy(template_db, root / "mlflow.db")
        return _build(root)


def _build(root: Path) -> DemoStore:
    from serbias.corpus.reader import read_corpus
    from serbias.features.extract import extract_features
    from serbias.training import train

    corpus, split = tiny_corpus_and_split(root / "corpus")
    split_file = write_split_file(root / "split.json", split)
    extract_features(
        read_corpus(corpus),
        root / "features",
        params=DEMO_EXTRACT,
        jobs=1,
        corpus_fingerprint="c" * 64,
    )
    with warnings.catch_warnings():
        # tones carry no emotion: the SVM's ANOVA filter finds nothing significant
        warnings.filterwarnings("ignore", "no feature has ANOVA", UserWarning)
        for model in ("multitask", "svm"):
            train(
                tiny_params(model),
                features_dir=root / "features",
                data_dir=corpus,
                split_file=split_file,
            )
    clip = write_wav(root / "clips" / "hello.wav", tone(1.0, 16_000, freq=220.0), 16_000)
    long_clip = write_wav(root / "clips" / "long.wav", tone(3.0, 16_000), 16_000)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    return DemoStore(uri, corpus, root / "features", split_file, clip, long_clip)


@pytest.fixture(scope="session")
def demo_registry(
    tmp_path_factory: pytest.TempPathFactory, template_tracking_db: Path
) -> DemoStore:
    """The tiny registry, built once per session (the demo test modules share it)."""
    return build_demo_store(tmp_path_factory.mktemp("demo"), template_tracking_db)


@pytest.fixture(scope="module")
def demo_store(demo_registry: DemoStore) -> Iterator[DemoStore]:
    """The tiny registry, with MLFLOW_TRACKING_URI pointing at it while the module runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", demo_registry.tracking_uri)
        yield demo_registry


@contextmanager
def running_server(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its URL."""
    import uvicorn

    from serbias.demo.app import listen, url_of

    sock = listen(host, 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 120  # startup loads and warms up the model
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start")
            time.sleep(0.05)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def wav_bytes(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    """A short tone as WAV bytes."""
    import io

    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, tone(seconds, rate).astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
