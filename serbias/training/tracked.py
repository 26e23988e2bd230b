"""What a training records: its result, its MLflow params and tags, its model and metrics."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from serbias import tracking, vocab
from serbias.cpu import available_cpus
from serbias.models.base import EMOTION_OUTPUT
from serbias.models.families import family as model_family
from serbias.training.data import TrainingData
from serbias.training.evaluation import Evaluation, confusion_figure
from serbias.training.params import TrainParams


@dataclass(frozen=True)
class Progress:
    """A progress report: ``epoch`` of a single training, or ``replica`` of a bootstrap."""

    stage: str
    completed: int
    total: int
    metrics: dict[str, float]


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What a training run produced: ids, registry version, validation scores, the model
    (single runs) or the replicas' (number, run id, val macro-F1) (bootstrap)."""

    run_id: str
    experiment: str
    model: str
    labels: str
    counts: dict[str, int]
    excluded: dict[str, int]
    macro_f1: float
    per_emotion_f1: dict[str, float]
    best_epoch: int | None = None
    epochs_run: int | None = None
    registered_name: str | None = None
    version: str | None = None
    champion: bool = False
    aliases: tuple[str, ...] = ()
    replicas: tuple[tuple[int, str, float], ...] = ()
    fitted_model: Any = None
    #: ``single``, ``bootstrap`` or ``cv``
    kind: str = "single"
    #: cross-validation: macro-F1 of the pooled out-of-fold predictions (every clip once)
    oof_macro_f1: float | None = None
    resumed: int = 0


def train_summary(result: TrainResult) -> dict[str, Any]:
    """Validation metrics and where the model went, as written for ``dvc metrics show``."""
    return {
        "model": result.model,
        "labels": result.labels,
        "val_macro_f1": result.macro_f1,
        **{f"val_f1_{emotion}": f1 for emotion, f1 in result.per_emotion_f1.items()},
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "clips": result.counts,
        "run_id": result.run_id,
        "kind": result.kind,
        **({"oof_macro_f1": result.oof_macro_f1} if result.oof_macro_f1 is not None else {}),
        "registered_model": result.registered_name,
        "version": result.version,
    }


def default_jobs(bootstrap: int) -> int:
    """One replica process per available CPU, never more than the replicas."""
    return max(1, min(bootstrap, available_cpus()))


def features_fingerprint(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of the feature manifest (parameters, fingerprints, shapes, versions)."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def split_mode(split_file: Path) -> str:
    """The mode (speaker or clip) recorded in the split file the training clips came from."""
    try:
        return str(json.loads(Path(split_file).read_text(encoding="utf-8")).get("mode", "unknown"))
    except (OSError, ValueError, AttributeError):
        return "unknown"


#: TrainParams fields that do not determine a training (pipeline wiring, where runs are logged).
NOT_RUN_PARAMS = ("models", "experiment", "study_replicas")


def run_params(params: TrainParams, data: TrainingData) -> dict[str, Any]:
    """Everything that determines a training, flattened for MLflow params."""
    values: dict[str, Any] = {
        key: value for key, value in asdict(params).items() if key not in NOT_RUN_PARAMS
    }
    values.update({f"model.{key}": value for key, value in asdict(params.family()).items()})
    values.update(tracking.flat_params(data.feature_params, "features."))
    values.update(
        features_fingerprint=features_fingerprint(data.manifest),
        split_fingerprint=data.split_fingerprint,
        corpus_fingerprint=data.manifest.get("corpus_fingerprint", "unknown"),
        feature_kind=data.kind,
        input_shape=list(data.input_shape),
        n_clips=len(data.X),
        n_folds=data.n_folds,
        excluded=sum(data.excluded.values()),
        git_commit=tracking.git_commit() or "none",
    )
    if not data.n_folds:
        values.update(n_train=len(data.rows["train"]), n_val=len(data.rows["val"]))
    return values


def run_tags(params: TrainParams, data: TrainingData, split_mode: str) -> dict[str, str]:
    """Tags to filter and compare runs by."""
    return {
        "serbias.model": params.model,
        "serbias.labels": params.labels,
        "serbias.split_mode": split_mode,
        "serbias.corpus_fingerprint": str(data.manifest.get("corpus_fingerprint", "unknown")),
        "serbias.features_fingerprint": features_fingerprint(data.manifest),
        "serbias.bootstrap": str(params.bootstrap),
    }


def model_metadata(params: TrainParams, data: TrainingData) -> dict[str, Any]:
    """What ``serbias predict`` needs to check features against the model."""
    metadata = {
        "serbias_model": params.model,
        "labels": params.labels,
        "feature_kind": data.kind,
        "input_shape": list(data.input_shape),
        "feature_params": data.feature_params,
        "outputs": list(model_family(params.model).outputs),
        "threshold": params.threshold,
    }
    if data.columns is not None:
        metadata["columns"] = [str(c) for c in data.columns]
    return metadata


def log_trained_model(model: Any, params: TrainParams, data: TrainingData, **kwargs: Any) -> Any:
    family = model_family(params.model)
    outputs = {name: (len(vocab.EMOTIONS) if name == EMOTION_OUTPUT else 1,)
               for name in family.outputs}  # fmt: skip
    return tracking.log_model(
        model,
        flavor=family.backend,
        metadata={**model_metadata(params, data), **kwargs.pop("metadata", {})},
        signature=(data.input_shape, outputs),
        trusted_types=family.trusted_types,
        **kwargs,
    )


def log_evaluation(evaluation: Evaluation, title: str, *, figure: bool = True) -> None:
    tracking.log_metrics(evaluation.metrics())
    tracking.log_text(evaluation.report_text, "classification_report.txt")
    tracking.log_dict(evaluation.report, "classification_report.json")
    if figure:
        tracking.log_figure(confusion_figure(evaluation.confusion, title), "confusion_matrix.png")
