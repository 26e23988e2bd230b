"""An ``mlflow server`` on a free loopback port over a sqlite store, and its REST API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from serbias import tracking

STARTUP_LIMIT = 60.0  # seconds to wait for /health


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rest_get(base: str, endpoint: str, **query: str) -> dict:
    """GET ``/api/2.0/mlflow/<endpoint>?<query>`` as JSON."""
    url = f"{base}/api/2.0/mlflow/{endpoint}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def rest_post(base: str, endpoint: str, body: dict) -> dict:
    """POST a JSON body to ``/api/2.0/mlflow/<endpoint>``."""
    request = urllib.request.Request(
        f"{base}/api/2.0/mlflow/{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait_for_health(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow server exited ({server.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"mlflow server not healthy after {STARTUP_LIMIT:.0f} s: {log.read_text()[-2000:]}")


@contextmanager
def mlflow_server(db: Path, artifacts: Path, *, log: Path) -> Iterator[str]:
    """Serve the store ``db`` on 127.0.0.1 (one worker); yields the base URL."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, **tracking.TELEMETRY_OFF}
    env.pop("MLFLOW_TRACKING_URI", None)
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server",
             "--backend-store-uri", f"sqlite:///{db}",
             "--default-artifact-root", artifacts.as_uri(),
             "--no-serve-artifacts", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"],
            stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=db.parent,
        )  # fmt: skip
        try:
            _wait_for_health(base, server, log)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
