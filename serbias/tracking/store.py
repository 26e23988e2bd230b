"""Where runs and models are stored: the tracking URI, its reachability, experiments.

Default store: ``sqlite:///<root>/mlflow.db`` with artifacts under ``<root>/mlruns``
(MLflow 3.13+ refuses a plain ``./mlruns`` file store), where ``<root>`` is the DVC project
root when DVC runs the command (``$DVC_ROOT``: for queued experiments, which run in temporary
copies, DVC points it at the project they came from, so their runs land in the project's one
store) and the current directory otherwise. ``$MLFLOW_TRACKING_URI`` overrides it, so a team
server works unchanged. Telemetry is off unless the user turned it on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from serbias.errors import SerbiasError, first_line
from serbias.text import slug

DEFAULT_DB = "mlflow.db"
ARTIFACT_DIR = "mlruns"
TELEMETRY_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
#: Quieter defaults for a CLI (no per-file download bars, no INFO lines); users may override.
QUIET = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "MLFLOW_LOGGING_LEVEL": "WARNING"}
#: Reachability check: fail fast instead of MLflow's minutes of HTTP retries.
_PROBE_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def mlflow_module() -> Any:
    """Import mlflow with telemetry off and its notices quiet (unless the user set these, or
    asked for verbose output) and our tracking URI."""
    from serbias.quiet import verbose

    for key, value in {**TELEMETRY_OFF, **({} if verbose() else QUIET)}.items():
        os.environ.setdefault(key, value)
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    return mlflow


def default_tracking_uri(root: Path | None = None) -> str:
    """``sqlite:///<root>/mlflow.db`` (absolute) with ``root`` by default ``$DVC_ROOT`` when
    DVC runs the command, else the current directory."""
    if root is None:
        root = Path(os.environ.get("DVC_ROOT") or Path.cwd())
    return f"sqlite:///{(root / DEFAULT_DB).resolve()}"


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` when set, else the project's sqlite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :])


def artifact_root(uri: str) -> str | None:
    """Artifact root for new experiments: ``mlruns/`` next to a sqlite database, else the
    server's default (None)."""
    db = _sqlite_path(uri)
    return None if db is None else (db.parent / ARTIFACT_DIR).resolve().as_uri()


def check_tracking(uri: str | None = None) -> str:
    """Fail now, with a one-line reason, if the tracking store cannot be reached or written."""
    uri = uri or tracking_uri()
    db = _sqlite_path(uri)
    if db is not None:
        if not db.parent.is_dir():
            raise SerbiasError(f"MLflow tracking URI {uri}: directory {db.parent} does not exist")
        if not os.access(db.parent, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
            raise SerbiasError(f"MLflow tracking URI {uri}: {db} is not writable")
    mlflow = mlflow_module()
    saved = {key: os.environ.get(key) for key in _PROBE_ENV}
    os.environ.update(_PROBE_ENV)
    try:
        mlflow.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as exc:  # any failure here means "unreachable", whatever its type
        raise SerbiasError(
            f"MLflow tracking URI {uri} is unreachable ({first_line(exc)}); "
            "set MLFLOW_TRACKING_URI to a reachable store"
        ) from None
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return uri


def experiment_id(name: str) -> str:
    """The id of experiment ``name``, created (artifacts under ``mlruns/``) when missing."""
    mlflow = mlflow_module()
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    root = artifact_root(tracking_uri())
    location = None if root is None else f"{root}/{slug(name)}"
    return client.create_experiment(name, artifact_location=location)


def check_store_exists(uri: str) -> None:
    """Refuse a ``models:/`` or ``runs:/`` URI when the sqlite store does not exist yet
    (MLflow would silently create an empty one and then not find the model)."""
    db = _sqlite_path(tracking_uri())
    if uri.startswith(("models:/", "runs:/")) and db is not None and not db.is_file():
        raise SerbiasError(
            f"{uri}: no MLflow store at {db} (train a model with `serbias train` here, "
            "or set MLFLOW_TRACKING_URI)"
        )
