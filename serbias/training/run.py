"""One ``serbias train``: load the data, fit once (or many times, see
:mod:`serbias.training.many`), track.

One training = one MLflow run: hyperparameters, feature/split fingerprints, per-epoch
train loss and validation macro-F1, the final validation metrics per emotion, a
classification report and a confusion matrix, and the model, registered as
``serbias-<model>-<labels>``.
"""

from __future__ import annotations

from pathlib import Path

from serbias import tracking
from serbias.models.families import family as model_family
from serbias.training.data import TrainingData, load_training_data
from serbias.training.evaluation import evaluate
from serbias.training.executors import warm_start
from serbias.training.fit import fit_model
from serbias.training.params import TrainParams
from serbias.training.tracked import (
    Progress,
    ProgressCallback,
    TrainResult,
    log_evaluation,
    log_trained_model,
    run_params,
    run_tags,
    split_mode,
    train_summary,
)

__all__ = ["Progress", "ProgressCallback", "TrainResult", "train", "train_summary"]


def train(
    params: TrainParams,
    *,
    features_dir: Path,
    data_dir: Path,
    split_file: Path,
    progress: ProgressCallback | None = None,
    fresh: bool = False,
) -> TrainResult:
    """Train ``params.model`` on ``params.labels`` with the train and val clips of
    ``split_file`` and track it in MLflow (see module doc); with ``train.bootstrap`` or
    ``train.cv``, many trainings (an interrupted run resumes unless ``fresh``).

    The tracking store (and for Ray the cluster) is checked before any data is loaded or any
    model is fitted.
    """
    family = model_family(params.model)
    with warm_start(params):  # a local Ray starts while the data loads
        tracking.check_tracking()
        data = load_training_data(
            features_dir, data_dir, model=family.name, labels=params.labels,
            split_file=split_file, folds=params.cv,
        )  # fmt: skip
        tags = run_tags(params, data, split_mode(split_file))
        if params.bootstrap or params.cv:
            from serbias.training.many import train_many

            return train_many(params, data, tags, progress, fresh=fresh)
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
        log_evaluation(evaluation, f"{run_name}: validation")
        logged = log_trained_model(fit.model, params, data, registered_name=name)
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
