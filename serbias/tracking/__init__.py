"""MLflow tracking and model registry: the only package that imports mlflow.

Rooms: ``store`` (tracking URI, reachability, experiments), ``runs`` (start, log, find
replicas, read artifacts), ``registry`` (log and register models, aliases, URI resolution),
``load`` (a logged model's files). Nothing here knows the audit or the model families.
Importing this package is cheap; mlflow loads on first use.
"""

from __future__ import annotations

from serbias.tracking.load import ModelFiles, downloaded_model
from serbias.tracking.registry import (
    CHAMPION,
    LATEST,
    MODEL_ARTIFACT,
    SELECTION_METRIC,
    LoggedModel,
    aliases_of,
    keras_requirements,
    log_model,
    promote_champion,
    registered_model_name,
    registry_version,
    run_id_of,
    sklearn_requirements,
)
from serbias.tracking.runs import (
    MODEL_URI_TAG,
    REPLICA_PARAM,
    ReplicaRun,
    download_run_json,
    flat_params,
    git_commit,
    log_artifact,
    log_dict,
    log_figure,
    log_metrics,
    log_text,
    metric_key,
    metric_keys,
    param_value,
    replica_runs,
    run_context_tags,
    tracked_run,
)
from serbias.tracking.store import (
    ARTIFACT_DIR,
    DEFAULT_DB,
    TELEMETRY_OFF,
    artifact_root,
    check_store_exists,
    check_tracking,
    default_tracking_uri,
    experiment_id,
    mlflow_module,
    tracking_uri,
)

__all__ = [
    "ARTIFACT_DIR", "CHAMPION", "DEFAULT_DB", "LATEST", "MODEL_ARTIFACT",
    "MODEL_URI_TAG", "REPLICA_PARAM", "SELECTION_METRIC", "TELEMETRY_OFF", "LoggedModel",
    "ModelFiles",
    "ReplicaRun", "aliases_of", "artifact_root", "check_store_exists", "check_tracking",
    "default_tracking_uri", "download_run_json", "downloaded_model", "experiment_id",
    "flat_params", "git_commit", "keras_requirements", "log_artifact", "log_dict",
    "log_figure", "log_metrics", "log_model", "log_text", "metric_key", "metric_keys",
    "mlflow_module", "param_value", "promote_champion", "registered_model_name",
    "registry_version", "replica_runs", "run_context_tags", "run_id_of",
    "sklearn_requirements", "tracked_run", "tracking_uri",
]  # fmt: skip
