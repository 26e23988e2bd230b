"""The model registry: log a model (and register it), move ``@champion``, resolve URIs.

Models are registered as ``serbias-<model>-<labels>``; MLflow resolves ``@latest`` to the
newest version by itself (the alias name is reserved), and ``@champion`` moves to a new
version only when its validation macro-F1 beats the current champion's.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from serbias.errors import SerbiasError, first_line
from serbias.tracking.runs import MODEL_URI_TAG
from serbias.tracking.store import check_store_exists, mlflow_module, tracking_uri

CHAMPION = "champion"
LATEST = "latest"
#: The metric that decides the champion (higher is better).
SELECTION_METRIC = "val_macro_f1"
MODEL_ARTIFACT = "model"


@dataclass(frozen=True)
class LoggedModel:
    """Where a logged model lives, and its registry version when registered."""

    model_uri: str
    registered_name: str | None = None
    version: str | None = None


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
    trusted_types: Sequence[str] = (),
) -> LoggedModel:
    """Log ``model`` to the active run with the matching flavour (``keras`` or ``sklearn``,
    the latter saved with skops, ``trusted_types`` its allow-list), registering it when named.

    ``signature`` is (input shape, {output name: shape}) without the batch axis.
    """
    mlflow = mlflow_module()
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
            info = mlflow.sklearn.log_model(
                model,
                pip_requirements=sklearn_requirements(),
                serialization_format="skops",
                skops_trusted_types=list(trusted_types),
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
    mlflow = mlflow_module()
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
    client = mlflow_module().MlflowClient()
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
    mlflow = mlflow_module()
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        if match["alias"] is not None:
            return client.get_model_version_by_alias(match["name"], match["alias"])
        return client.get_model_version(match["name"], match["version"])
    except MlflowException as exc:
        raise SerbiasError(
            f"{uri}: no such model in {tracking_uri()} ({first_line(exc)}); "
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
        mlflow = mlflow_module()
        from mlflow.exceptions import MlflowException

        try:
            logged = mlflow.MlflowClient().get_logged_model(uri[len("models:/") :].split("/")[0])
        except MlflowException as exc:
            raise SerbiasError(
                f"{uri}: not found in {tracking_uri()} ({first_line(exc)})"
            ) from None
        return logged.source_run_id
    return None
