"""MLflow tracking and model registry: the only module that imports mlflow.

Default store: ``sqlite:///<root>/mlflow.db`` with artifacts under ``<root>/mlruns``
(MLflow 3.13+ refuses a plain ``./mlruns`` file store), where ``<root>`` is the DVC project
root when DVC runs the command (``$DVC_ROOT``: for queued experiments, which run in temporary
copies, DVC points it at the project they came from, so their runs land in the project's one
store) and the current directory otherwise. ``$MLFLOW_TRACKING_URI`` overrides it, so a team
server works unchanged. Telemetry is off unless the user
turned it on. Models are registered as ``serbias-<model>-<labels>``; MLflow resolves
``@latest`` to the newest version by itself (the alias name is reserved), and this module
moves ``@champion`` to a new version only when its validation macro-F1 beats the
current champion's.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from serbias import __version__
from serbias.errors import SerbiasError

DEFAULT_DB = "mlflow.db"
ARTIFACT_DIR = "mlruns"
CHAMPION = "champion"
LATEST = "latest"
#: The metric that decides the champion (higher is better).
SELECTION_METRIC = "val_macro_f1"
MODEL_ARTIFACT = "model"
MODEL_URI_TAG = "serbias.model_uri"
REPLICA_PARAM = "replica"
TELEMETRY_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
#: Quieter defaults for a CLI (no per-file download bars, no INFO lines); users may override.
QUIET = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "MLFLOW_LOGGING_LEVEL": "WARNING"}
#: Reachability check: fail fast instead of MLflow's minutes of HTTP retries.
_PROBE_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


@dataclass(frozen=True)
class LoggedModel:
    """Where a logged model lives, and its registry version when registered."""

    model_uri: str
    registered_name: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded from a URI, with the metadata serbias logged next to it."""

    model: Any
    flavor: str
    metadata: dict[str, Any]
    uri: str
    run_id: str | None


@dataclass(frozen=True)
class ReplicaRun:
    """One bootstrap replica: its child run, replica number and logged model."""

    run_id: str
    replica: int
    model_uri: str


def _mlflow() -> Any:
    """Import mlflow with telemetry off (unless the user set it) and our tracking URI."""
    for key, value in {**TELEMETRY_OFF, **QUIET}.items():
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
    mlflow = _mlflow()
    saved = {key: os.environ.get(key) for key in _PROBE_ENV}
    os.environ.update(_PROBE_ENV)
    try:
        mlflow.MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as exc:  # any failure here means "unreachable", whatever its type
        raise SerbiasError(
            f"MLflow tracking URI {uri} is unreachable ({_first_line(exc)}); "
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
    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    root = artifact_root(tracking_uri())
    location = None if root is None else f"{root}/{re.sub(r'[^A-Za-z0-9._-]', '_', name)}"
    return client.create_experiment(name, artifact_location=location)


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
) -> Iterator[str]:
    """Start a run (nested under ``parent_run_id`` when given); yields its id.

    The run ends FINISHED, or FAILED when the block raises.
    """
    mlflow = _mlflow()
    exp_id = experiment_id(experiment)
    all_tags = {**run_context_tags(), **(tags or {})}
    with mlflow.start_run(
        experiment_id=exp_id,
        run_name=run_name,
        nested=parent_run_id is not None,
        parent_run_id=parent_run_id,
        tags=all_tags,
        log_system_metrics=False,
    ) as run:
        if params:
            mlflow.log_params({key: _param_value(value) for key, value in params.items()})
        yield run.info.run_id


def _param_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_param_value(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log metrics to the active run (``step``: the epoch)."""
    _mlflow().log_metrics({key: float(value) for key, value in metrics.items()}, step=step)


def log_text(text: str, artifact_file: str) -> None:
    """Log ``text`` as an artifact file of the active run."""
    _mlflow().log_text(text, artifact_file)


def log_dict(obj: Mapping[str, Any] | list[Any], artifact_file: str) -> None:
    """Log a JSON artifact of the active run."""
    _mlflow().log_dict(obj, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    """Log a matplotlib figure (e.g. a PNG) as an artifact of the active run."""
    _mlflow().log_figure(figure, artifact_file)


def log_artifact(path: Path, artifact_path: str | None = None) -> None:
    """Log a local file or directory as an artifact of the active run."""
    mlflow = _mlflow()
    if Path(path).is_dir():
        mlflow.log_artifacts(str(path), artifact_path)
    else:
        mlflow.log_artifact(str(path), artifact_path)


def set_tags(tags: Mapping[str, str]) -> None:
    """Tag the active run."""
    _mlflow().set_tags(dict(tags))


AUDIT_EXPERIMENT = "serbias-audit"
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


def _flat_params(settings: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in settings.items():
        if isinstance(value, Mapping):
            flat.update(_flat_params(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = _param_value(value) if value is not None else "none"
    return flat


def log_audit(
    metrics: Mapping[str, float],
    *,
    outputs: Mapping[str, Path],
    settings: Mapping[str, Any],
    audited: Sequence[Mapping[str, Any]] = (),
    run_name: str = "audit",
    parent_run_id: str | None = None,
) -> str:
    """Log one audit as a run of experiment ``serbias-audit``; returns the run id.

    ``settings`` become params (nested mappings flattened as ``reference.sex``), ``metrics``
    the run's metrics (names made MLflow-safe by :func:`metric_key`), every file of ``outputs``
    (report.html/.md, gaps.csv, by_group.csv, metrics.json, ...; ``plots/`` kept) its
    artifacts. ``audited`` describes the audited models (``run_id``, ``model_uri``,
    ``registered_name``, ``version``, ``model``, ``labels``, as ``serbias predict`` records
    them); when known they become tags
    ``serbias.audited_run_id`` / ``serbias.audited_model`` (comma-separated when several) so
    an audit can be found from, and compared with, the training run it audited.
    With ``parent_run_id`` the run is nested under that audit run.
    """
    tags = {"serbias.stage": "audit"}
    for tag, field in (
        ("serbias.audited_run_id", "run_id"),
        ("serbias.audited_model", "model_uri"),
        ("serbias.model", "model"),
        ("serbias.labels", "labels"),
    ):
        values = list(dict.fromkeys(str(a[field]) for a in audited if a.get(field)))
        if values:
            tags[tag] = ",".join(values)[:5000]
    registered = list(
        dict.fromkeys(
            f"{a['registered_name']}/{a['version']}"
            for a in audited
            if a.get("registered_name") and a.get("version")
        )
    )
    if registered:
        tags["serbias.audited_version"] = ",".join(registered)[:5000]
    flat = metric_keys(metrics)
    with tracked_run(
        experiment=AUDIT_EXPERIMENT,
        run_name=run_name,
        params=_flat_params(settings),
        tags=tags,
        parent_run_id=parent_run_id,
    ) as run_id:
        if flat:
            log_metrics(flat)
        for path in sorted(map(Path, outputs.values())):
            if path.is_file():
                log_artifact(path, "plots" if path.parent.name == "plots" else None)
        if audited:
            log_dict([dict(a) for a in audited], "audited_models.json")
    return run_id


def registered_model_name(model: str, labels: str) -> str:
    """The registry name of a model family trained on a label kind."""
    return f"serbias-{model}-{labels}"


def _installed(*names: str) -> list[str]:
    """``name==version`` for the first installed distribution of each alternative list."""
    pins = []
    for alternatives in names:
        for name in alternatives.split("|"):
            try:
                pins.append(f"{name}=={importlib_metadata.version(name)}")
                break
            except importlib_metadata.PackageNotFoundError:
                continue
    return pins


def keras_requirements() -> list[str]:
    """Explicit pip requirements of a logged Keras model (serbias holds its custom layers)."""
    return _installed("keras", "tensorflow-cpu|tensorflow", "numpy", "serbias")


def sklearn_requirements() -> list[str]:
    """Explicit pip requirements of a logged SVM pipeline."""
    return _installed("scikit-learn", "skops", "numpy", "scipy", "serbias")


def log_model(
    model: Any,
    *,
    flavor: str,
    metadata: Mapping[str, Any],
    signature: tuple[tuple[int, ...], Mapping[str, tuple[int, ...]]],
    registered_name: str | None = None,
) -> LoggedModel:
    """Log ``model`` to the active run with the matching flavour, registering it when named.

    ``signature`` is (input shape, {output name: shape}) without the batch axis.
    """
    mlflow = _mlflow()
    kwargs = dict(
        name=MODEL_ARTIFACT,
        signature=_signature(*signature),
        metadata=dict(metadata),
        registered_model_name=registered_name,
        await_registration_for=0,
    )
    # MLflow prints "Successfully registered model ..." on stderr; the CLI reports it itself.
    with contextlib.redirect_stderr(io.StringIO()):
        if flavor == "keras":
            info = mlflow.keras.log_model(model, pip_requirements=keras_requirements(), **kwargs)
        elif flavor == "sklearn":
            from serbias.models.svm import TRUSTED_TYPES

            info = mlflow.sklearn.log_model(
                model,
                pip_requirements=sklearn_requirements(),
                serialization_format="skops",
                skops_trusted_types=list(TRUSTED_TYPES),
                **kwargs,
            )
        else:
            raise ValueError(f"unknown model flavour {flavor!r}")
    mlflow.set_tag(MODEL_URI_TAG, info.model_uri)
    version = None if registered_name is None else str(info.registered_model_version)
    return LoggedModel(info.model_uri, registered_name, version)


def _signature(input_shape: tuple[int, ...], outputs: Mapping[str, tuple[int, ...]]) -> Any:
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    float32 = np.dtype("float32")
    return ModelSignature(
        inputs=Schema([TensorSpec(float32, (-1, *input_shape), "features")]),
        outputs=Schema(
            [TensorSpec(float32, (-1, *shape), name) for name, shape in outputs.items()]
        ),
    )


def promote_champion(registered_name: str, version: str, score: float) -> bool:
    """Point ``@champion`` at ``version`` if ``score`` beats the current champion's
    ``val_macro_f1`` (or there is none); returns whether it moved."""
    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    current = _version_by_alias(client, registered_name, CHAMPION)
    if current is not None and str(current.version) != str(version):
        best = client.get_run(current.run_id).data.metrics.get(SELECTION_METRIC)
        if best is not None and score <= best:
            return False
    client.set_registered_model_alias(registered_name, CHAMPION, version)
    return True


def aliases_of(registered_name: str, version: str) -> list[str]:
    """Aliases pointing at one version, including the implicit ``latest`` when it is newest."""
    client = _mlflow().MlflowClient()
    found = client.get_model_version(registered_name, version)
    aliases = sorted(found.aliases)
    newest = _version_by_alias(client, registered_name, LATEST)
    if newest is not None and str(newest.version) == str(version):
        aliases.insert(0, LATEST)
    return aliases


def _version_by_alias(client: Any, name: str, alias: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


_REGISTRY_URI = re.compile(r"models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))/?")


def check_store_exists(uri: str) -> None:
    """Refuse a ``models:/`` or ``runs:/`` URI when the sqlite store does not exist yet
    (MLflow would silently create an empty one and then not find the model)."""
    db = _sqlite_path(tracking_uri())
    if uri.startswith(("models:/", "runs:/")) and db is not None and not db.is_file():
        raise SerbiasError(
            f"{uri}: no MLflow store at {db} (train a model with `serbias train` here, "
            "or set MLFLOW_TRACKING_URI)"
        )


def registry_version(uri: str) -> tuple[str | None, str | None]:
    """(registered name, version) a ``models:/name@alias`` or ``models:/name/N`` URI names
    now; (None, None) for any other URI."""
    match = _REGISTRY_URI.fullmatch(uri)
    if match is None:
        return None, None
    found = _registry_entry(uri, match)
    return match["name"], str(found.version)


def _registry_entry(uri: str, match: re.Match[str]) -> Any:
    check_store_exists(uri)
    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        if match["alias"] is not None:
            return client.get_model_version_by_alias(match["name"], match["alias"])
        return client.get_model_version(match["name"], match["version"])
    except MlflowException as exc:
        raise SerbiasError(
            f"{uri}: no such model in {tracking_uri()} ({_first_line(exc)}); "
            "train one with `serbias train`"
        ) from None


def run_id_of(uri: str) -> str | None:
    """The run that logged the model at ``uri`` (None for a local path)."""
    if Path(uri).exists():
        return None
    if uri.startswith("runs:/"):
        return uri[len("runs:/") :].split("/")[0]
    match = _REGISTRY_URI.fullmatch(uri)
    if match is not None:
        return _registry_entry(uri, match).run_id
    if uri.startswith("models:/"):
        check_store_exists(uri)
        mlflow = _mlflow()
        from mlflow.exceptions import MlflowException

        try:
            logged = mlflow.MlflowClient().get_logged_model(uri[len("models:/") :].split("/")[0])
        except MlflowException as exc:
            raise SerbiasError(
                f"{uri}: not found in {tracking_uri()} ({_first_line(exc)})"
            ) from None
        return logged.source_run_id
    return None


def load_model(uri: str) -> LoadedModel:
    """Load a model logged by serbias from a registry URI (``models:/name@alias``,
    ``models:/name/3``), a run URI (``runs:/<id>/model``) or a local MLflow model directory.

    Keras models load with ``safe_mode=True``; SVM pipelines load with skops and a fixed
    allow-list of serbias classes. Pickled models are refused.
    """
    with tempfile.TemporaryDirectory(prefix="serbias-model-") as tmp:
        local = _local_model_dir(uri, Path(tmp))
        return _load_local_model(local, uri)


def _local_model_dir(uri: str, tmp: Path) -> Path:
    local = Path(uri)
    if local.exists():
        if not (local / "MLmodel").is_file():
            raise SerbiasError(f"{uri}: not an MLflow model directory (no MLmodel file)")
        return local
    if not re.match(r"^[a-z][a-z0-9+.-]*:", uri):
        raise SerbiasError(
            f"{uri}: no such directory, and not a model URI "
            "(expected models:/<name>@<alias>, models:/<name>/<version> or runs:/<run>/model)"
        )
    check_store_exists(uri)
    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException

    try:
        path = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp))
    except (MlflowException, OSError) as exc:
        raise SerbiasError(
            f"{uri}: cannot load model from {tracking_uri()} ({_first_line(exc)})"
        ) from None
    local = Path(path)
    if not (local / "MLmodel").is_file() and (local / MODEL_ARTIFACT / "MLmodel").is_file():
        local = local / MODEL_ARTIFACT
    if not (local / "MLmodel").is_file():
        raise SerbiasError(f"{uri}: not an MLflow model (no MLmodel file)")
    return local


def _load_local_model(local: Path, uri: str) -> LoadedModel:
    import yaml

    spec = yaml.safe_load((local / "MLmodel").read_text(encoding="utf-8")) or {}
    flavors = spec.get("flavors", {})
    metadata = spec.get("metadata") or {}
    run_id = spec.get("run_id")
    if "keras" in flavors:
        from serbias.models import keras_module

        keras = keras_module()
        data = flavors["keras"].get("data", "data")
        path = local / data / "model.keras"
        try:
            model = keras.saving.load_model(path, safe_mode=True)
        except (ValueError, TypeError, OSError) as exc:
            raise SerbiasError(f"{uri}: cannot load Keras model ({_first_line(exc)})") from None
        return LoadedModel(model, "keras", metadata, uri, run_id)
    if "sklearn" in flavors:
        conf = flavors["sklearn"]
        if conf.get("serialization_format") != "skops":
            raise SerbiasError(
                f"{uri}: scikit-learn model saved as {conf.get('serialization_format')!r}; "
                "only skops models are loaded (pickle can run arbitrary code)"
            )
        import skops.io

        from serbias.models.svm import TRUSTED_TYPES

        try:
            # our own allow-list, not the one stored in the model's MLmodel file
            model = skops.io.load(local / conf["pickled_model"], trusted=list(TRUSTED_TYPES))
        except Exception as exc:  # skops raises several types for untrusted or broken files
            raise SerbiasError(f"{uri}: cannot load SVM pipeline ({_first_line(exc)})") from None
        return LoadedModel(model, "sklearn", metadata, uri, run_id)
    raise SerbiasError(f"{uri}: not a serbias model (flavours: {', '.join(flavors) or 'none'})")


def replica_runs(parent: str) -> list[ReplicaRun]:
    """The bootstrap replicas (child runs) of a parent run, by replica number.

    ``parent`` is a run id or ``runs:/<id>``.
    """
    parent_id = (
        parent[len("runs:/") :].strip("/").split("/")[0] if parent.startswith("runs:/") else parent
    )
    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        run = client.get_run(parent_id)
    except MlflowException as exc:
        raise SerbiasError(
            f"{parent}: no such run in {tracking_uri()} ({_first_line(exc)})"
        ) from None
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    replicas = []
    for child in children:
        model_uri = child.data.tags.get(MODEL_URI_TAG)
        if REPLICA_PARAM in child.data.params and model_uri:
            replicas.append(
                ReplicaRun(child.info.run_id, int(child.data.params[REPLICA_PARAM]), model_uri)
            )
    if not replicas:
        raise SerbiasError(
            f"{parent}: run has no bootstrap replicas (was it trained with --bootstrap?)"
        )
    return sorted(replicas, key=lambda r: r.replica)


def download_run_json(run_id: str, artifact_file: str) -> Any:
    """A JSON artifact of a run, parsed."""
    import json

    mlflow = _mlflow()
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory(prefix="serbias-artifact-") as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact_file, dst_path=tmp
            )
        except (MlflowException, OSError) as exc:
            raise SerbiasError(
                f"run {run_id}: no artifact {artifact_file} ({_first_line(exc)})"
            ) from None
        return json.loads(Path(path).read_text(encoding="utf-8"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
