"""The MLflow web UI on the project's tracking store, and the links that open its runs tables.

MLflow 3's UI opens an experiment on its GenAI overview (traces, empty for serbias); the
runs table, where trainings and audits compare side by side, is ``#/experiments/<id>/runs``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from serbias.errors import SerbiasError
from serbias.tracking.store import (
    ARTIFACT_DIR,
    TELEMETRY_OFF,
    _sqlite_path,
    mlflow_module,
    tracking_uri,
)

LOOPBACK = "127.0.0.1"
#: Seconds the server may take to answer /health (its database migrations included).
STARTUP_SECONDS = 120.0


def runs_table_url(base: str, experiment_id: str) -> str:
    """The runs table of one experiment in the MLflow UI at ``base``."""
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs"


def experiment_ids(names: Sequence[str], uri: str | None = None) -> dict[str, str | None]:
    """The id of each named experiment in the store (None where it does not exist yet);
    nothing is created."""
    mlflow = mlflow_module()
    client = mlflow.MlflowClient(tracking_uri=uri or tracking_uri())
    found = {name: client.get_experiment_by_name(name) for name in names}
    return {name: None if e is None else e.experiment_id for name, e in found.items()}


def local_store(uri: str) -> Path:
    """The sqlite database of a local store; a SerbiasError for a server URI (open that
    server's own UI) or a database that does not exist yet."""
    db = _sqlite_path(uri)
    if db is None:
        raise SerbiasError(
            f"MLflow tracking URI {uri}: not a local sqlite store (open that server's UI)"
        )
    if not db.is_file():
        raise SerbiasError(
            f"MLflow tracking URI {uri}: no store at {db} yet (run `serbias train` or "
            "`serbias audit` here first, or set MLFLOW_TRACKING_URI)"
        )
    return db


def ui_command(db: Path, *, port: int, host: str = LOOPBACK) -> list[str]:
    """``mlflow ui`` over the sqlite store ``db`` (artifacts in ``mlruns/`` beside it)."""
    artifacts = (db.parent / ARTIFACT_DIR).resolve().as_uri()
    return [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", f"sqlite:///{db}",
            "--default-artifact-root", artifacts, "--no-serve-artifacts", "--host", host,
            "--port", str(port), "--workers", "1"]  # fmt: skip


@dataclass(frozen=True)
class RunningUI:
    """A started MLflow UI: its base URL and its server process."""

    url: str
    process: subprocess.Popen[bytes]

    def wait(self) -> int:
        """Block until the server exits; its exit code."""
        return self.process.wait()


@contextmanager
def running_ui(db: Path, *, port: int, log: IO[bytes] | None) -> Iterator[RunningUI]:
    """Start ``mlflow ui`` on ``127.0.0.1:port`` over ``db``, wait until it answers, and
    stop it (its whole process group) on exit. Its output goes to ``log`` (None: this
    terminal). The server runs in its own session, so Ctrl-C reaches only this process,
    which then stops the server cleanly."""
    env = {**os.environ, **{k: os.environ.get(k, v) for k, v in TELEMETRY_OFF.items()}}
    env.pop("MLFLOW_TRACKING_URI", None)
    process = subprocess.Popen(
        ui_command(db, port=port),
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        env=env,
        cwd=db.parent,
        start_new_session=True,
    )
    try:
        base = f"http://{LOOPBACK}:{port}"
        _wait_for_health(base, process, log)
        yield RunningUI(base, process)
    finally:
        _stop(process)


def last_log_line(log: IO[bytes] | None) -> str:
    """The last non-empty line the server wrote to ``log`` ('' without one)."""
    if log is None:
        return ""
    lines = Path(log.name).read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def _wait_for_health(base: str, process: subprocess.Popen[bytes], log: IO[bytes] | None) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = last_log_line(log)
            raise SerbiasError(
                f"mlflow ui exited with code {process.returncode} before serving {base}"
                + (f": {said}" if said else " (is the port in use? try --port)")
            )
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SerbiasError(f"mlflow ui did not answer at {base}/health within {STARTUP_SECONDS:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()
