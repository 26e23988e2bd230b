"""A real Ray head on a free loopback port with token authentication, for executor tests.

The head is ``ray start --head --block`` on 127.0.0.1 with ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``
(without it Ray binds to every interface and routes its traffic over the machine's network
address) and a token of its own, written to a temporary file rather than ``~/.ray``. The
session fixture sets the same variables for the driver (this test process and the Ray
workers it reaches), so ``ray.init(address=head.address)`` connects as a user would with
``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN_PATH``. Teardown sends SIGTERM to the blocking
``ray start``, which stops exactly the processes of this head (``ray stop`` would also stop
every other Ray on the machine).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

STARTUP_LIMIT = 60.0  # seconds for the head to come up
STOP_LIMIT = 30.0  # seconds for it to stop its processes after SIGTERM
HEAD_CPUS = 2
READY_LINE = "Ray runtime started"
RAY_MISSING = 'ray is not installed (pip install -e ".[ray]")'


@dataclass(frozen=True)
class RayHead:
    """A running head: its GCS address and the environment a driver needs to join it."""

    address: str
    env: dict[str, str]
    token_file: Path
    log: Path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def driver_env(token_file: Path) -> dict[str, str]:
    """What a driver (and the head) sets: loopback only, token authentication, that token."""
    return {
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token_file),
        "RAY_USAGE_STATS_ENABLED": "0",
    }


def _wait_until_ready(head: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        if head.poll() is not None:
            pytest.fail(f"ray start exited ({head.returncode}): {log.read_text()[-2000:]}")
        if READY_LINE in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    pytest.fail(f"Ray head not up after {STARTUP_LIMIT:.0f} s: {log.read_text()[-2000:]}")


def _stop(head: subprocess.Popen) -> None:
    if head.poll() is not None:
        return
    head.send_signal(signal.SIGTERM)
    try:
        head.wait(timeout=STOP_LIMIT)
    except subprocess.TimeoutExpired:
        # The head's processes share its process group (ray start makes none of its own).
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()


@contextmanager
def ray_head(num_cpus: int = HEAD_CPUS) -> Iterator[RayHead]:
    """Start a Ray head on a free 127.0.0.1 port with a fresh token; yield it; stop it.

    The session directory is a short temporary path (Ray's sockets must fit in 107 bytes).
    """
    workdir = Path(tempfile.mkdtemp(prefix="serbias-ray-"))
    token_file = workdir / "auth_token"
    token_file.write_text(secrets.token_hex(32), encoding="utf-8")
    token_file.chmod(0o600)
    env = driver_env(token_file)
    port, client_port = free_port(), free_port()
    log = workdir / "head.log"
    command = [
        sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
        "--node-ip-address", "127.0.0.1", "--port", str(port),
        "--ray-client-server-port", str(client_port),
        "--num-cpus", str(num_cpus), "--num-gpus", "0",
        "--include-dashboard", "false", "--disable-usage-stats",
        "--temp-dir", str(workdir / "session"),
    ]  # fmt: skip
    head_env = {**os.environ, **env}
    head_env.pop("RAY_ADDRESS", None)
    try:
        with log.open("wb") as sink:
            head = subprocess.Popen(
                command,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=head_env,
                start_new_session=True,
                cwd=workdir,
            )
            try:
                _wait_until_ready(head, log)
                yield RayHead(f"127.0.0.1:{port}", env, token_file, log)
            finally:
                _stop(head)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayHead]:
    """A Ray head on loopback for the whole session, with the driver's environment set.

    Skipped (with the reason) when ``ray`` is not installed.
    """
    if importlib.util.find_spec("ray") is None:
        pytest.skip(RAY_MISSING)
    with ray_head() as head, pytest.MonkeyPatch.context() as patch:
        patch.delenv("RAY_ADDRESS", raising=False)
        for name, value in head.env.items():
            patch.setenv(name, value)
        yield head
