"""Runs: start one (nested or not), log to it, find a parent's replicas, read artifacts."""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serbias import __version__
from serbias.errors import SerbiasError, first_line
from serbias.tracking.store import experiment_id, mlflow_module, tracking_uri

MODEL_URI_TAG = "serbias.model_uri"
REPLICA_PARAM = "replica"


@dataclass(frozen=True)
class ReplicaRun:
    """One bootstrap replica: its child run, replica number and logged model."""

    run_id: str
    replica: int
    model_uri: str


def run_context_tags() -> dict[str, str]:
    """Tags that let runs be compared: git commit and DVC experiment name when known."""
    tags = {"serbias.version": __version__}
    commit = git_commit()
    if commit:
        tags["serbias.git_commit"] = commit
    if os.environ.get("DVC_EXP_NAME"):
        tags["serbias.dvc_experiment"] = os.environ["DVC_EXP_NAME"]
    return tags


def git_commit(cwd: Path | None = None) -> str | None:
    """HEAD's commit hash, or None outside a git checkout (or before the first commit)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


@contextmanager
def tracked_run(
    *,
    experiment: str,
    run_name: str,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
    resume_run_id: str | None = None,
) -> Iterator[str]:
    """Start a run (nested under ``parent_run_id`` when given), or continue the unfinished
    run ``resume_run_id``; yields its id.

    The run ends FINISHED, KILLED when the block is interrupted (Ctrl-C, SIGTERM turned into
    KeyboardInterrupt) or FAILED when it raises: never left RUNNING by this process.
    """
    mlflow = mlflow_module()
    if resume_run_id is not None:
        run = mlflow.start_run(run_id=resume_run_id, nested=parent_run_id is not None,
                               log_system_metrics=False)  # fmt: skip
    else:
        run = mlflow.start_run(
            experiment_id=experiment_id(experiment),
            run_name=run_name,
            nested=parent_run_id is not None,
            parent_run_id=parent_run_id,
            tags={**run_context_tags(), **(tags or {})},
            log_system_metrics=False,
        )
    try:
        if params and resume_run_id is None:
            mlflow.log_params({key: param_value(value) for key, value in params.items()})
        yield run.info.run_id
    except KeyboardInterrupt:
        mlflow.end_run("KILLED")
        raise
    except BaseException:
        mlflow.end_run("FAILED")
        raise
    mlflow.end_run("FINISHED")


def unfinished_run(experiment: str, slot: str) -> tuple[str, str] | None:
    """(run id, resume key) of the newest top-level run of ``experiment`` tagged
    ``serbias.resume_slot = slot`` that did not finish (RUNNING, FAILED or KILLED), or None."""
    mlflow = mlflow_module()
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.`serbias.resume_slot` = '{slot}'",
        order_by=["attributes.start_time DESC"],
    )
    for run in runs:
        if run.info.status != "FINISHED" and "mlflow.parentRunId" not in run.data.tags:
            return run.info.run_id, run.data.tags.get("serbias.resume_key", "")
    return None


def finished_children(parent_id: str, index_param: str) -> dict[int, str]:
    """``{index: run id}`` of the FINISHED child runs of ``parent_id`` (by their
    ``index_param``); unfinished children are deleted, so a resumed run ends with one child
    per index."""
    mlflow = mlflow_module()
    client = mlflow.MlflowClient()
    parent = client.get_run(parent_id)
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    done: dict[int, str] = {}
    for child in children:
        index = child.data.params.get(index_param)
        if child.info.status == "FINISHED" and index is not None and int(index) not in done:
            done[int(index)] = child.info.run_id
        else:
            if child.info.status == "RUNNING":
                client.set_terminated(child.info.run_id, "KILLED")
            client.delete_run(child.info.run_id)
    return done


def param_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(param_value(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log metrics to the active run (``step``: the epoch)."""
    mlflow_module().log_metrics({key: float(value) for key, value in metrics.items()}, step=step)


def log_text(text: str, artifact_file: str) -> None:
    """Log ``text`` as an artifact file of the active run."""
    mlflow_module().log_text(text, artifact_file)


def log_dict(obj: Mapping[str, Any] | list[Any], artifact_file: str) -> None:
    """Log a JSON artifact of the active run."""
    mlflow_module().log_dict(obj, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    """Log a matplotlib figure (e.g. a PNG) as an artifact of the active run."""
    mlflow_module().log_figure(figure, artifact_file)


def log_artifact(path: Path, artifact_path: str | None = None) -> None:
    """Log a local file or directory as an artifact of the active run."""
    mlflow = mlflow_module()
    if Path(path).is_dir():
        mlflow.log_artifacts(str(path), artifact_path)
    else:
        mlflow.log_artifact(str(path), artifact_path)


_METRIC_BAD = re.compile(r"[^A-Za-z0-9_\-./ ]")


def metric_key(name: str) -> str:
    """``name`` as an MLflow metric name: characters MLflow (or Windows) refuses, such as
    ``:`` or ``+``, become ``_``; a name that would read as another path loses its ``/``."""
    key = _METRIC_BAD.sub("_", name)
    if key != posixpath.normpath(key) or key.startswith(("/", ".")):
        key = key.replace("/", "_")
    return key


def metric_keys(metrics: Mapping[str, float]) -> dict[str, float]:
    """Metrics under :func:`metric_key` names; two names that clash after it are an error."""
    renamed: dict[str, float] = {}
    origin: dict[str, str] = {}
    for name, value in metrics.items():
        key = metric_key(name)
        if key in origin:
            raise SerbiasError(
                f"metrics {origin[key]!r} and {name!r} both become MLflow metric {key!r}"
            )
        origin[key] = name
        renamed[key] = float(value)
    return renamed


def flat_params(settings: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in settings.items():
        if isinstance(value, Mapping):
            flat.update(flat_params(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = param_value(value) if value is not None else "none"
    return flat


def replica_runs(parent: str) -> list[ReplicaRun]:
    """The bootstrap replicas (child runs) of a parent run, by replica number.

    ``parent`` is a run id or ``runs:/<id>``.
    """
    parent_id = (
        parent[len("runs:/") :].strip("/").split("/")[0] if parent.startswith("runs:/") else parent
    )
    mlflow = mlflow_module()
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        run = client.get_run(parent_id)
    except MlflowException as exc:
        raise SerbiasError(
            f"{parent}: no such run in {tracking_uri()} ({first_line(exc)})"
        ) from None
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    replicas = []
    for child in children:
        model_uri = child.data.tags.get(MODEL_URI_TAG)
        finished = child.info.status == "FINISHED"
        if REPLICA_PARAM in child.data.params and model_uri and finished:
            replicas.append(
                ReplicaRun(child.info.run_id, int(child.data.params[REPLICA_PARAM]), model_uri)
            )
    if not replicas:
        raise SerbiasError(
            f"{parent}: run has no bootstrap replicas (was it trained with --bootstrap?)"
        )
    return sorted(replicas, key=lambda r: r.replica)


def run_tags(run_id: str) -> dict[str, str]:
    """The tags of a run; a SerbiasError when there is no such run."""
    mlflow = mlflow_module()
    from mlflow.exceptions import MlflowException

    try:
        return dict(mlflow.MlflowClient().get_run(run_id).data.tags)
    except MlflowException as exc:
        raise SerbiasError(f"run {run_id}: not in {tracking_uri()} ({first_line(exc)})") from None


def run_metrics(run_id: str) -> dict[str, float]:
    """The latest value of every metric of a run."""
    return dict(mlflow_module().MlflowClient().get_run(run_id).data.metrics)


def download_run_text(run_id: str, artifact_file: str) -> str:
    """A text artifact of a run."""
    mlflow = mlflow_module()
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory(prefix="serbias-artifact-") as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact_file, dst_path=tmp
            )
        except (MlflowException, OSError) as exc:
            raise SerbiasError(
                f"run {run_id}: no artifact {artifact_file} ({first_line(exc)})"
            ) from None
        return Path(path).read_text(encoding="utf-8")


def download_run_json(run_id: str, artifact_file: str) -> Any:
    """A JSON artifact of a run, parsed."""
    import json

    return json.loads(download_run_text(run_id, artifact_file))
