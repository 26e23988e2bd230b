"""One ``serbias train``: load the data, fit (once, or many times on an executor), track.

One training = one MLflow run: hyperparameters, feature/split fingerprints, per-epoch
train loss and validation macro-F1, the final validation metrics per emotion, a
classification report and a confusion matrix, and the model, registered as
``serbias-<model>-<labels>``. ``bootstrap=N`` trains N replicas on bootstrap resamples
of the training clips (seed ``seed + i`` for replica i), each predicting its
out-of-bag clips, as nested child runs of one parent run; the replicas run on an
executor (see :mod:`serbias.training.executors`) and only this process writes to MLflow.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from serbias import tracking, vocab
from serbias.cpu import available_cpus
from serbias.errors import SerbiasError
from serbias.features.params import flat_params
from serbias.models.base import EMOTION_OUTPUT
from serbias.models.families import family as model_family
from serbias.models.io import model_from_bytes
from serbias.predictions.table import predictions_csv, predictions_table
from serbias.training.data import TrainingData, load_training_data
from serbias.training.evaluation import Evaluation, confusion_figure, evaluate
from serbias.training.executors.base import TaskFailure
from serbias.training.executors.local import LocalExecutor
from serbias.training.fit import fit_model
from serbias.training.params import TrainParams
from serbias.training.replicas import TaskContext, TaskResult, bootstrap_tasks, train_task
from serbias.training.summary import OOB_CLIPS, OOB_PREDICTIONS

#: Attempts after the first for a replica whose worker failed or died.
RETRIES = 2


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
        "registered_model": result.registered_name,
        "version": result.version,
    }


def default_jobs(bootstrap: int) -> int:
    """One replica process per available CPU, never more than the replicas."""
    return max(1, min(bootstrap, available_cpus()))


def features_fingerprint(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of the feature manifest (parameters, fingerprints, shapes, versions)."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def _split_mode(split_file: Path) -> str:
    """The mode (speaker or clip) recorded in the split file the training clips came from."""
    try:
        return str(json.loads(Path(split_file).read_text(encoding="utf-8")).get("mode", "unknown"))
    except (OSError, ValueError, AttributeError):
        return "unknown"


def run_params(params: TrainParams, data: TrainingData) -> dict[str, Any]:
    """Everything that determines a training, flattened for MLflow params."""
    values: dict[str, Any] = {
        key: value for key, value in asdict(params).items() if key not in ("models", "experiment")
    }
    values.update({f"model.{key}": value for key, value in asdict(params.family()).items()})
    values.update(flat_params(data.feature_params, "features."))
    values.update(
        features_fingerprint=features_fingerprint(data.manifest),
        split_fingerprint=data.split_fingerprint,
        corpus_fingerprint=data.manifest.get("corpus_fingerprint", "unknown"),
        feature_kind=data.kind,
        input_shape=list(data.input_shape),
        n_train=len(data.rows["train"]),
        n_val=len(data.rows["val"]),
        excluded_train=data.excluded.get("train", 0),
        excluded_val=data.excluded.get("val", 0),
        git_commit=tracking.git_commit() or "none",
    )
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


def _log_model(model: Any, params: TrainParams, data: TrainingData, **kwargs: Any) -> Any:
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


def _log_evaluation(evaluation: Evaluation, title: str, *, figure: bool = True) -> None:
    tracking.log_metrics(evaluation.metrics())
    tracking.log_text(evaluation.report_text, "classification_report.txt")
    tracking.log_dict(evaluation.report, "classification_report.json")
    if figure:
        tracking.log_figure(confusion_figure(evaluation.confusion, title), "confusion_matrix.png")


def train(
    params: TrainParams,
    *,
    features_dir: Path,
    data_dir: Path,
    split_file: Path,
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train ``params.model`` on ``params.labels`` with the train and val clips of
    ``split_file`` and track it in MLflow (see module doc).

    The tracking store is checked before any data is loaded or any model is fitted.
    """
    family = model_family(params.model)
    tracking.check_tracking()
    data = load_training_data(
        features_dir, data_dir, model=family.name, labels=params.labels, split_file=split_file
    )
    tags = run_tags(params, data, _split_mode(split_file))
    if params.bootstrap:
        return _train_bootstrap(params, data, tags, progress)
    return _train_single(params, data, tags, progress)


def _train_single(
    params: TrainParams,
    data: TrainingData,
    tags: dict[str, str],
    progress: ProgressCallback | None,
) -> TrainResult:
    family = model_family(params.model)
    name = tracking.registered_model_name(params.model, params.labels)
    total = params.epochs if family.has_epochs else 1

    def on_epoch(epoch: int, record: dict[str, float]) -> None:
        tracking.log_metrics({f"epoch_{key}": value for key, value in record.items()}, step=epoch)
        if progress is not None:
            progress(Progress("epoch", epoch + 1, total, record))

    run_name = f"{params.model}-{params.labels}"
    with tracking.tracked_run(
        experiment=params.experiment, run_name=run_name, params=run_params(params, data), tags=tags
    ) as run_id:
        fit = fit_model(
            params,
            data.arrays(),
            train_rows=data.rows["train"],
            val_rows=data.rows["val"],
            seed=params.seed or 0,
            on_epoch=on_epoch,
        )
        evaluation = evaluate(data.split_targets("val"), fit.val_outputs, params.threshold)
        tracking.log_metrics({"best_epoch": fit.best_epoch + 1, "epochs_run": len(fit.history)})
        _log_evaluation(evaluation, f"{run_name}: validation")
        logged = _log_model(fit.model, params, data, registered_name=name)
        champion = tracking.promote_champion(name, logged.version, evaluation.macro_f1)
        aliases = tracking.aliases_of(name, logged.version)
    return TrainResult(
        run_id=run_id,
        experiment=params.experiment,
        model=params.model,
        labels=params.labels,
        counts=data.counts(),
        excluded=dict(data.excluded),
        macro_f1=evaluation.macro_f1,
        per_emotion_f1=evaluation.per_emotion["f1"].to_dict(),
        best_epoch=fit.best_epoch + 1 if family.has_epochs else None,
        epochs_run=len(fit.history) if family.has_epochs else None,
        registered_name=name,
        version=logged.version,
        champion=champion,
        aliases=tuple(aliases),
        fitted_model=fit.model,
    )


def _train_bootstrap(
    params: TrainParams,
    data: TrainingData,
    tags: dict[str, str],
    progress: ProgressCallback | None,
) -> TrainResult:
    jobs = min(params.jobs or default_jobs(params.bootstrap), params.bootstrap)
    executor = LocalExecutor(jobs, retries=RETRIES)
    tasks = bootstrap_tasks(
        data.rows["train"], data.rows["val"], replicas=params.bootstrap, seed=params.seed or 0
    )
    context = TaskContext(params, threads=max(1, available_cpus() // jobs))
    val_targets = data.split_targets("val")
    run_name = f"{params.model}-{params.labels}-bootstrap{params.bootstrap}"
    scores: dict[int, tuple[str, Evaluation]] = {}
    failures: list[TaskFailure] = []
    with tracking.tracked_run(
        experiment=params.experiment,
        run_name=run_name,
        params={**run_params(params, data), "jobs": jobs},
        tags=tags,
    ) as parent_id:
        for result in executor.run(train_task, data.arrays(), context, tasks):
            if isinstance(result, TaskFailure):
                failures.append(result)
                continue
            evaluation = evaluate(val_targets, result.val_outputs, params.threshold)
            child_id = _log_replica(params, data, tags, parent_id, result, evaluation)
            scores[result.index] = (child_id, evaluation)
            if progress is not None:
                progress(Progress("replica", len(scores), params.bootstrap,
                                  {"val_macro_f1": evaluation.macro_f1}))  # fmt: skip
        if failures:
            listed = "; ".join(f"{f.key} after {f.attempts} attempts: {f.error}" for f in failures)
            raise SerbiasError(f"{len(failures)} of {params.bootstrap} replicas failed ({listed})")
        summary = _replica_summary(scores)
        tracking.log_metrics(summary)
        tracking.log_dict(
            [
                {"replica": r, "run_id": run, "val_macro_f1": ev.macro_f1}
                for r, (run, ev) in sorted(scores.items())
            ],
            "replicas.json",
        )
    per_emotion = pd.concat([ev.per_emotion["f1"] for _, ev in scores.values()], axis=1).mean(
        axis=1
    )
    return TrainResult(
        run_id=parent_id,
        experiment=params.experiment,
        model=params.model,
        labels=params.labels,
        counts=data.counts(),
        excluded=dict(data.excluded),
        macro_f1=summary["val_macro_f1_mean"],
        per_emotion_f1=per_emotion.to_dict(),
        replicas=tuple((r, run, ev.macro_f1) for r, (run, ev) in sorted(scores.items())),
    )


def _log_replica(
    params: TrainParams,
    data: TrainingData,
    tags: dict[str, str],
    parent_id: str,
    result: TaskResult,
    evaluation: Evaluation,
) -> str:
    """One replica's child run: params, epochs, validation, out-of-bag predictions, model."""
    oob_clips = [str(name) for name in data.filenames[result.predict_rows]]
    with tracking.tracked_run(
        experiment=params.experiment,
        run_name=result.key,
        params={
            tracking.REPLICA_PARAM: result.index,
            "replica_seed": result.seed,
            "n_sample": result.n_train,
            "n_oob": len(oob_clips),
            "attempts": result.attempt,
        },
        tags={**tags, "serbias.replica": str(result.index)},
        parent_run_id=parent_id,
    ) as child_id:
        for epoch, record in enumerate(result.history):
            tracking.log_metrics({f"epoch_{k}": v for k, v in record.items()}, step=epoch)
        tracking.log_metrics({"best_epoch": result.best_epoch + 1})
        _log_evaluation(evaluation, f"replica {result.index}", figure=False)
        tracking.log_dict(oob_clips, OOB_CLIPS)
        if oob_clips:
            table = predictions_table(oob_clips, result.predict_outputs)
            tracking.log_text(predictions_csv(table), OOB_PREDICTIONS)
        model = model_from_bytes(result.model_bytes, result.model_suffix)
        _log_model(model, params, data, metadata={"replica": result.index})
    return child_id


def _replica_summary(scores: Mapping[int, tuple[str, Evaluation]]) -> dict[str, float]:
    """Mean and standard deviation of the replicas' validation metrics."""
    frame = pd.DataFrame([ev.metrics() for _, ev in scores.values()])
    summary = {f"{column}_mean": float(frame[column].mean()) for column in frame}
    summary.update({f"{column}_std": float(frame[column].std(ddof=1)) if len(frame) > 1 else 0.0
                    for column in frame})  # fmt: skip
    return summary
