"""Many trainings of one model on an executor: bootstrap replicas or cross-validation folds.

One parent run holds one child run per task (replica i: a bootstrap resample of the train
clips, seed ``seed + i``, predicting its out-of-bag clips; fold k: trained on fold k's train
actors, predicting its held-out test actors). Only this process writes to MLflow. A run cut
short (Ctrl-C, a killed driver, failed tasks) is resumed by the next identical call: its
FINISHED children are kept and only the missing tasks train; changed data or parameters are
refused unless ``fresh``. Cross-validation logs the pooled out-of-fold predictions (every
clip once) and, with ``train.register_final``, trains on all actors and registers that model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from serbias import tracking, vocab
from serbias.cpu import available_cpus
from serbias.errors import SerbiasError
from serbias.models.base import EMOTION_OUTPUT
from serbias.models.io import model_from_bytes
from serbias.predictions.table import (
    FILENAME,
    predictions_csv,
    predictions_table,
    read_predictions_csv,
)
from serbias.training.data import TrainingData, fold_set
from serbias.training.evaluation import Evaluation, evaluate
from serbias.training.executors import TaskFailure, TrainingTask, make_executor
from serbias.training.params import TrainParams
from serbias.training.replicas import TaskContext, TaskResult, bootstrap_tasks, train_task
from serbias.training.summary import OOB_CLIPS, OOB_PREDICTIONS, OOF_PREDICTIONS
from serbias.training.tracked import (
    Progress,
    ProgressCallback,
    TrainResult,
    default_jobs,
    log_evaluation,
    log_trained_model,
    run_params,
)

#: Child-run param that numbers a task of each kind.
INDEX_PARAM = {"replica": tracking.REPLICA_PARAM, "fold": "fold"}
#: Settings that say where trainings run, not what they compute (not part of a resume key).
PLACEMENT = ("jobs", "executor", "ray_address", "resources", "retries", "git_commit")


def plan(params: TrainParams, data: TrainingData) -> tuple[str, list[TrainingTask]]:
    """The task kind and one task per replica or fold."""
    seed = params.seed or 0
    if params.cv:
        tasks = [
            TrainingTask("fold", k, seed + k, data.rows[fold_set(k, "train")],
                         data.rows[fold_set(k, "val")], data.rows[fold_set(k, "test")])
            for k in range(data.n_folds)
        ]  # fmt: skip
        return "fold", tasks
    tasks = bootstrap_tasks(data.rows["train"], data.rows["val"], replicas=params.bootstrap,
                            seed=seed)  # fmt: skip
    return "replica", tasks


def train_many(
    params: TrainParams,
    data: TrainingData,
    tags: dict[str, str],
    progress: ProgressCallback | None,
    *,
    fresh: bool = False,
) -> TrainResult:
    """Train every task of :func:`plan` under one parent run (see the module doc)."""
    kind, tasks = plan(params, data)
    jobs = min(params.jobs or default_jobs(len(tasks)), len(tasks))
    executor = make_executor(params, jobs)  # connects (Ray) before any run starts
    values = {**run_params(params, data), "jobs": jobs, "n_tasks": len(tasks)}
    key = _resume_key(values, kind)
    slot = f"{params.model}-{params.labels}-{kind}{len(tasks)}"
    resume_id, done = _resumable(params.experiment, slot, key, kind, fresh=fresh)
    run_name = f"{params.model}-{params.labels}-" + (
        f"cv{len(tasks)}" if kind == "fold" else f"bootstrap{len(tasks)}"
    )
    threads = getattr(executor, "threads", None) or max(1, available_cpus() // jobs)
    context = TaskContext(params, threads=threads)
    todo = [task for task in tasks if task.index not in done]
    results: dict[int, tuple[str, dict[str, float]]] = {}
    failures: list[TaskFailure] = []
    with tracking.tracked_run(
        experiment=params.experiment,
        run_name=run_name,
        params=values,
        tags={**tags, "serbias.kind": kind, "serbias.resume_slot": slot, "serbias.resume_key": key},
        resume_run_id=resume_id,
    ) as parent_id:
        for index, child_id in done.items():
            results[index] = (child_id, tracking.run_metrics(child_id))
        _report(progress, kind, len(results), len(tasks), None)
        for result in executor.run(train_task, data.arrays(), context, todo):
            if isinstance(result, TaskFailure):
                failures.append(result)
                continue
            evaluation = evaluate(data.targets_at(result.val_rows), result.val_outputs,
                                  params.threshold)  # fmt: skip
            child_id = _log_child(params, data, tags, parent_id, result, evaluation)
            results[result.index] = (child_id, evaluation.metrics())
            _report(progress, kind, len(results), len(tasks), evaluation.macro_f1)
        if failures:
            listed = "; ".join(f"{f.key} after {f.attempts} attempts: {f.error}" for f in failures)
            raise SerbiasError(
                f"{len(failures)} of {len(tasks)} {kind}s failed ({listed}); run the same "
                "command again to train only the missing ones"
            )
        metrics = pd.DataFrame([m for _, m in results.values()])
        tracking.log_metrics(_summary(metrics))
        tracking.log_dict(
            [{kind: i, "run_id": run, "val_macro_f1": m["val_macro_f1"]}
             for i, (run, m) in sorted(results.items())],
            f"{kind}s.json",
        )  # fmt: skip
        oof = _log_out_of_fold(params, data, parent_id, tasks) if kind == "fold" else None
        final = _train_final(params, data, tags, parent_id, executor, context) if (
            kind == "fold" and params.register_final) else None  # fmt: skip
    f1 = {name: float(metrics[f"val_f1_{name}"].mean()) for name in vocab.EMOTION_NAMES}
    return TrainResult(
        run_id=parent_id,
        experiment=params.experiment,
        model=params.model,
        labels=params.labels,
        counts={"clips": len(data.X), "tasks": len(tasks)},
        excluded=dict(data.excluded),
        macro_f1=float(metrics["val_macro_f1"].mean()),
        per_emotion_f1=f1,
        replicas=tuple((i, run, m["val_macro_f1"]) for i, (run, m) in sorted(results.items())),
        kind="cv" if kind == "fold" else "bootstrap",
        oof_macro_f1=oof,
        resumed=len(done),
        **(final or {}),
    )


def _report(progress: ProgressCallback | None, kind: str, done: int, total: int,
            score: float | None) -> None:  # fmt: skip
    if progress is not None:
        metrics = {} if score is None else {"val_macro_f1": score}
        progress(Progress(kind, done, total, metrics))


def _resume_key(values: Mapping[str, Any], kind: str) -> str:
    """What must be equal for a run to be resumed: every param but where tasks run."""
    kept = {k: v for k, v in values.items() if k not in PLACEMENT}
    text = json.dumps({"kind": kind, **kept}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _resumable(
    experiment: str, slot: str, key: str, kind: str, *, fresh: bool
) -> tuple[str | None, dict[int, str]]:
    """(unfinished parent run to continue, its finished children by index)."""
    if fresh:
        return None, {}
    found = tracking.unfinished_run(experiment, slot)
    if found is None:
        return None, {}
    run_id, stored_key = found
    if stored_key != key:
        raise SerbiasError(
            f"run {run_id} ({slot}) was interrupted with other data or parameters; "
            "train with --fresh to start over"
        )
    return run_id, tracking.finished_children(run_id, INDEX_PARAM[kind])


def _log_child(
    params: TrainParams,
    data: TrainingData,
    tags: dict[str, str],
    parent_id: str,
    result: TaskResult,
    evaluation: Evaluation,
) -> str:
    """One task's child run: params, epochs, validation, held-out predictions, model."""
    held_out = [str(name) for name in data.filenames[result.predict_rows]]
    with tracking.tracked_run(
        experiment=params.experiment,
        run_name=result.key,
        params={
            INDEX_PARAM[result.kind]: result.index,
            f"{result.kind}_seed": result.seed,
            "n_sample": result.n_train,
            "n_held_out": len(held_out),
            "attempts": result.attempt,
        },
        tags={**tags, f"serbias.{result.kind}": str(result.index)},
        parent_run_id=parent_id,
    ) as child_id:
        for epoch, record in enumerate(result.history):
            tracking.log_metrics({f"epoch_{k}": v for k, v in record.items()}, step=epoch)
        tracking.log_metrics({"best_epoch": result.best_epoch + 1})
        log_evaluation(evaluation, result.key, figure=False)
        tracking.log_dict(held_out, OOB_CLIPS)
        if held_out:
            table = predictions_table(held_out, result.predict_outputs)
            tracking.log_text(predictions_csv(table), OOB_PREDICTIONS)
        model = model_from_bytes(result.model_bytes, result.model_suffix)
        log_trained_model(model, params, data, metadata={result.kind: result.index})
    return child_id


def _log_out_of_fold(
    params: TrainParams, data: TrainingData, parent_id: str, tasks: Sequence[TrainingTask]
) -> float:
    """Pool every fold's held-out predictions (each clip once, in corpus order), log them as
    the parent's ``oof_predictions.csv`` with their metrics; returns the pooled macro-F1."""
    frames = []
    for _, run_id in sorted(tracking.finished_children(parent_id, "fold").items()):
        frames.append(read_predictions_csv(tracking.download_run_text(run_id, OOB_PREDICTIONS)))
    pooled = pd.concat(frames, ignore_index=True).sort_values(FILENAME, kind="stable")
    expected = sum(len(task.predict_rows) for task in tasks)
    if pooled[FILENAME].duplicated().any() or len(pooled) != expected:
        raise SerbiasError(f"run {parent_id}: the folds' held-out clips overlap or are missing")
    pooled = pooled.reset_index(drop=True)
    tracking.log_text(predictions_csv(pooled), OOF_PREDICTIONS)
    rows = data.rows_of(pooled[FILENAME].tolist())
    outputs = {EMOTION_OUTPUT: pooled[list(vocab.EMOTION_NAMES)].to_numpy(float)}
    evaluation = evaluate({EMOTION_OUTPUT: data.targets[EMOTION_OUTPUT][rows]}, outputs,
                          params.threshold)  # fmt: skip
    tracking.log_metrics(evaluation.metrics(prefix="oof_"))
    return evaluation.macro_f1


def _train_final(
    params: TrainParams,
    data: TrainingData,
    tags: dict[str, str],
    parent_id: str,
    executor: Any,
    context: TaskContext,
) -> dict[str, Any]:
    """Train on every actor except fold 0's validation actors (kept for the best epoch) and
    register that model: the one ``serbias demo`` and ``@champion`` use."""
    val_rows = data.rows[fold_set(0, "val")]
    train_rows = np.setdiff1d(np.arange(len(data.X)), val_rows)
    task = TrainingTask("final", 0, params.seed or 0, train_rows, val_rows, train_rows[:0])
    (result,) = list(executor.run(train_task, data.arrays(), context, [task]))
    if isinstance(result, TaskFailure):
        raise SerbiasError(
            f"the final model failed after {result.attempts} attempts: {result.error}"
        )
    name = tracking.registered_model_name(params.model, params.labels)
    evaluation = evaluate(data.targets_at(val_rows), result.val_outputs, params.threshold)
    with tracking.tracked_run(
        experiment=params.experiment, run_name="final", params={"n_sample": len(train_rows)},
        tags={**tags, "serbias.final": "true"}, parent_run_id=parent_id,
    ):  # fmt: skip
        log_evaluation(evaluation, "final model: validation")
        model = model_from_bytes(result.model_bytes, result.model_suffix)
        logged = log_trained_model(model, params, data, registered_name=name)
        champion = tracking.promote_champion(name, logged.version, evaluation.macro_f1)
        aliases = tracking.aliases_of(name, logged.version)
    return {"registered_name": name, "version": logged.version, "champion": champion,
            "aliases": tuple(aliases)}  # fmt: skip


def _summary(frame: pd.DataFrame) -> dict[str, float]:
    """Mean and standard deviation of the tasks' validation metrics (one row per task)."""
    frame = frame[[c for c in frame.columns if c.startswith("val_")]]
    summary = {f"{column}_mean": float(frame[column].mean()) for column in frame}
    summary.update({f"{column}_std": float(frame[column].std(ddof=1)) if len(frame) > 1 else 0.0
                    for column in frame})  # fmt: skip
    return summary
