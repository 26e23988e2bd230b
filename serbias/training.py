"""Fit the model families on a feature store, with bootstrap replicas and MLflow tracking.

One training = one MLflow run: hyperparameters, feature/split fingerprints, per-epoch
train loss and validation macro-F1, the final validation metrics per emotion, a
classification report and a confusion matrix, and the model, registered as
``serbias-<model>-<labels>``. ``bootstrap=N`` trains N replicas on bootstrap resamples
of the training clips (seed ``seed + i`` for replica i), each predicting its
out-of-bag clips, as nested child runs of one parent run; replicas run in parallel
processes that share the feature arrays through memory-mapped files.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serbias import tracking, vocab
from serbias.errors import CorpusWarning, SerbiasError
from serbias.labels import demographic_labels, emotion_labels
from serbias.models import EMOTION_OUTPUT, MODELS, ModelFamily, keras_module, predict_outputs
from serbias.params import TrainParams

TRAINING_SPLITS = ("train", "val")
#: Family hyperparameters that shape the loss, not the architecture.
LOSS_KEYS = ("demographic_weight",)
OOB_CLIPS = "oob_clips.json"
OOB_PREDICTIONS = "oob_predictions.csv"


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Features and targets of the train and val splits (rows aligned, unlabelled clips out)."""

    kind: str
    X: dict[str, np.ndarray]
    filenames: dict[str, np.ndarray]
    targets: dict[str, dict[str, np.ndarray]]
    manifest: dict[str, Any]
    excluded: dict[str, int] = field(default_factory=dict)
    columns: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.X["train"].shape[1:])

    def counts(self) -> dict[str, int]:
        return {split: len(X) for split, X in self.X.items()}


@dataclass(frozen=True)
class Progress:
    """A progress report: ``epoch`` of a single training, or ``replica`` of a bootstrap."""

    stage: str
    completed: int
    total: int
    metrics: dict[str, float]


ProgressCallback = Callable[[Progress], None]
EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Validation metrics at a decision threshold (multi-label: each emotion on its own)."""

    macro_f1: float
    per_emotion: pd.DataFrame
    report: dict[str, Any]
    report_text: str
    confusion: np.ndarray
    heads: dict[str, float] = field(default_factory=dict)

    def metrics(self, prefix: str = "val_") -> dict[str, float]:
        """Flat metrics for tracking: macro-F1, per-emotion F1/precision/recall, head accuracy."""
        metrics = {f"{prefix}macro_f1": self.macro_f1}
        for emotion, row in self.per_emotion.iterrows():
            for column in ("f1", "precision", "recall"):
                metrics[f"{prefix}{column}_{emotion}"] = float(row[column])
        metrics.update({f"{prefix}{name}_accuracy": value for name, value in self.heads.items()})
        return metrics


@dataclass(frozen=True, eq=False)
class FitResult:
    """A fitted model, its per-epoch history and its validation outputs at the best epoch."""

    model: Any
    history: list[dict[str, float]]
    best_epoch: int
    val_outputs: dict[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class ReplicaResult:
    """One bootstrap replica: its resample's out-of-bag clips and what it predicted for them."""

    replica: int
    seed: int
    n_sample: int
    oob_index: np.ndarray
    oob_outputs: dict[str, np.ndarray]
    history: list[dict[str, float]]
    best_epoch: int
    val_outputs: dict[str, np.ndarray]
    model: Any = None
    model_path: str | None = None


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


def summary_model_uri(summary_file: Path) -> str:
    """The exact registry version (``models:/<name>/<version>``) a ``train_summary`` file
    names, so a pipeline predicts with the model its own train stage made, even while
    other experiments register newer versions."""
    try:
        summary = json.loads(Path(summary_file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SerbiasError(f"{summary_file}: cannot read a training summary ({exc})") from None
    name = summary.get("registered_model") if isinstance(summary, dict) else None
    version = summary.get("version") if isinstance(summary, dict) else None
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        raise SerbiasError(
            f"{summary_file}: not a `serbias train` summary "
            "(expected keys registered_model and version)"
        )
    return f"models:/{name}/{version}"


def model_family(name: str) -> ModelFamily:
    """The registry entry of ``name``; a SerbiasError lists the valid names."""
    if name not in MODELS:
        raise SerbiasError(f"unknown model {name!r} (expected one of: {', '.join(MODELS)})")
    return MODELS[name]


# --------------------------------------------------------------------------- data


def load_training_data(
    features_dir: Path, data_dir: Path, *, model: str, labels: str
) -> TrainingData:
    """Train and val features of ``model``'s kind, with targets from the corpus at ``data_dir``.

    Refuses non-finite features (naming the clips), empty splits and clips the corpus does
    not know; clips without a label of this kind (unrated, for ``observed``) are left out
    and counted; a class absent from the training clips is a warning.
    """
    from serbias.corpus.reader import read_corpus
    from serbias.features.store import load_features, read_manifest, store_file

    family = model_family(model)
    features_dir = Path(features_dir)
    manifest = read_manifest(features_dir)
    sets = {
        split: load_features(features_dir, split, family.feature_kind) for split in TRAINING_SPLITS
    }
    for split, features in sets.items():
        where = features_dir / store_file(split, family.feature_kind)
        if len(features) == 0:
            raise SerbiasError(f"{where}: the {split} split is empty (check the split file)")
        check_finite(features.X, features.filenames, where)
    clips = read_corpus(Path(data_dir), require_audio=False).set_index("filename", drop=False)

    X, filenames, targets, excluded = {}, {}, {}, {}
    for split, features in sets.items():
        stems = [str(stem) for stem in features.filenames]
        unknown = [stem for stem in stems if stem not in clips.index]
        if unknown:
            raise SerbiasError(
                f"{features_dir}: {len(unknown)} {split} clip(s) are not in the corpus {data_dir} "
                f"(e.g. {', '.join(unknown[:3])}); were the features extracted from another corpus?"
            )
        rows = clips.loc[stems].reset_index(drop=True)
        emotions = emotion_labels(rows, labels)
        keep = emotions.sum(axis=1) > 0
        excluded[split] = int((~keep).sum())
        if not keep.any():
            raise SerbiasError(
                f"{features_dir}: no {split} clip has {labels} labels ({excluded[split]} unrated)"
            )
        split_targets = {EMOTION_OUTPUT: emotions}
        if len(family.outputs) > 1:
            split_targets.update(demographic_labels(rows))
        X[split] = features.X if keep.all() else features.X[keep]
        filenames[split] = np.asarray(stems)[keep]
        targets[split] = {name: values[keep] for name, values in split_targets.items()}

    _warn_absent_classes(targets["train"][EMOTION_OUTPUT], labels)
    return TrainingData(
        kind=family.feature_kind,
        X=X,
        filenames=filenames,
        targets=targets,
        manifest=manifest,
        excluded=excluded,
        columns=sets["train"].columns,
    )


def check_finite(X: np.ndarray, filenames: np.ndarray, where: Path | str) -> None:
    """Refuse NaN or infinite features, naming the first clips that have them."""
    bad = ~np.isfinite(X.reshape(len(X), -1)).all(axis=1)
    if bad.any():
        names = [str(name) for name in np.asarray(filenames)[bad]]
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        raise SerbiasError(
            f"{where}: NaN or infinite features in {len(names)} clip(s): "
            f"{', '.join(names[:5])}{more}; re-extract them"
        )


def _warn_absent_classes(emotions: np.ndarray, labels: str) -> None:
    absent = [vocab.EMOTION_NAMES[k] for k in range(emotions.shape[1]) if emotions[:, k].sum() == 0]
    if absent:
        warnings.warn(
            f"no training clip has the {labels} label {', '.join(absent)}; the model cannot "
            "learn it (training anyway)",
            CorpusWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------- metrics


def macro_f1(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> float:
    """Macro-F1 over the six emotions, an emotion predicted when its probability >= threshold."""
    from sklearn.metrics import f1_score

    y_pred = (y_prob >= threshold).astype(int)
    labels = list(range(y_true.shape[1]))
    return float(
        f1_score(y_true.astype(int), y_pred, average="macro", labels=labels, zero_division=0)
    )


def evaluate(
    targets: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray], threshold: float = 0.5
) -> Evaluation:
    """Per-emotion precision/recall/F1, macro-F1, report and confusion matrix.

    The confusion matrix counts each labelled emotion of a clip (a tie counts once per
    tied emotion) against the emotion the model scores highest.
    """
    from sklearn.metrics import (
        classification_report,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    y_true = targets[EMOTION_OUTPUT].astype(int)
    y_prob = outputs[EMOTION_OUTPUT]
    y_pred = (y_prob >= threshold).astype(int)
    labels = list(range(len(vocab.EMOTIONS)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    per_emotion = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=pd.Index(vocab.EMOTION_NAMES, name="emotion"),
    )
    options = dict(labels=labels, target_names=list(vocab.EMOTION_NAMES), zero_division=0)
    report = classification_report(y_true, y_pred, output_dict=True, **options)
    report_text = classification_report(y_true, y_pred, digits=4, **options)
    rows, true_class = np.nonzero(y_true)
    confusion = confusion_matrix(true_class, y_prob.argmax(axis=1)[rows], labels=labels)
    heads = {
        name: float(np.mean((outputs[name].reshape(-1) >= threshold) == targets[name].reshape(-1)))
        for name in outputs
        if name != EMOTION_OUTPUT and name in targets
    }
    return Evaluation(
        macro_f1=float(np.mean(f1)),
        per_emotion=per_emotion,
        report=report,
        report_text=report_text,
        confusion=confusion,
        heads=heads,
    )


def confusion_figure(confusion: np.ndarray, title: str) -> Any:
    """A matplotlib Figure of the confusion matrix (Agg canvas, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 5.0), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    image = ax.imshow(confusion, cmap="Blues")
    ticks = range(len(vocab.EMOTION_NAMES))
    ax.set_xticks(ticks, vocab.EMOTION_NAMES, rotation=45, ha="right")
    ax.set_yticks(ticks, vocab.EMOTION_NAMES)
    ax.set_xlabel("highest-scoring emotion")
    ax.set_ylabel("label")
    ax.set_title(title)
    high = confusion.max() / 2 if confusion.size else 0
    for (i, j), count in np.ndenumerate(confusion):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > high else "black")  # fmt: skip
    figure.colorbar(image, ax=ax)
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------- fitting


def configure_tensorflow(*, deterministic: bool, threads: int | None = None) -> None:
    """Thread counts (only before TensorFlow starts) and op determinism for this process."""
    import tensorflow as tf  # serbias.models (imported above) configured it

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass  # TensorFlow already started in this process; keep its thread pools
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def fit_model(
    params: TrainParams,
    data: TrainingData,
    *,
    train_index: np.ndarray | None = None,
    seed: int | None = None,
    on_epoch: EpochCallback | None = None,
) -> FitResult:
    """Fit ``params.model`` on the training rows ``train_index`` (all by default).

    Neural models keep the epoch with the best validation macro-F1; the SVM has one "epoch".
    """
    family = model_family(params.model)
    seed = params.seed if seed is None else seed
    if train_index is None:
        train_index = np.arange(len(data.X["train"]))
    if family.is_keras:
        return _fit_network(params, family, data, train_index, seed or 0, on_epoch)
    return _fit_svm(params, data, train_index, seed or 0, on_epoch)


@contextmanager
def _quiet_sklearn() -> Iterator[None]:
    """Silence known sklearn notices: SVC(probability=True) is deprecated in 1.9 (the
    reference's Platt scaling, kept as is) and OvR's note on an all-negative label (we warn)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*probability.*", category=FutureWarning)
        warnings.filterwarnings("ignore", message="Label not .* is present in all training")
        yield


def _fit_svm(
    params: TrainParams,
    data: TrainingData,
    index: np.ndarray,
    seed: int,
    on_epoch: EpochCallback | None,
) -> FitResult:
    from serbias.models.svm import build_svm

    hp = params.models.svm
    pipeline = build_svm(C=hp.C, gamma=hp.gamma, pca=hp.pca, anova_p=hp.anova_p, seed=seed)
    with _quiet_sklearn():
        pipeline.fit(data.X["train"][index], data.targets["train"][EMOTION_OUTPUT][index])
    val_outputs = predict_outputs(pipeline, data.X["val"])
    record = {
        "val_macro_f1": macro_f1(
            data.targets["val"][EMOTION_OUTPUT], val_outputs[EMOTION_OUTPUT], params.threshold
        )
    }
    if on_epoch is not None:
        on_epoch(0, record)
    return FitResult(pipeline, [record], 0, val_outputs)


def _fit_network(
    params: TrainParams,
    family: ModelFamily,
    data: TrainingData,
    index: np.ndarray,
    seed: int,
    on_epoch: EpochCallback | None,
) -> FitResult:
    configure_tensorflow(deterministic=params.deterministic)
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    hp = {k: v for k, v in asdict(params.family()).items() if k not in LOSS_KEYS}
    model = family.builder()(data.input_shape, **hp)
    compile_network(model, family, params)
    batches = training_batches(
        data.X["train"], data.targets["train"], index, batch_size=params.batch_size, seed=seed
    )
    best = best_epoch_callback(
        data.X["val"],
        data.targets["val"][EMOTION_OUTPUT],
        threshold=params.threshold,
        patience=params.patience,
        batch_size=params.batch_size,
        on_epoch=on_epoch,
    )
    model.fit(batches, epochs=params.epochs, callbacks=[best], shuffle=False, verbose=0)
    val_outputs = predict_outputs(model, data.X["val"], batch_size=params.batch_size)
    return FitResult(model, best.history, best.best_epoch, val_outputs)


def compile_network(model: Any, family: ModelFamily, params: TrainParams) -> None:
    """BCE per sigmoid output, AdamW; demographic heads weighted as one emotion each.

    Keras smooths binary targets to ``y (1 - a) + a / 2``; the reference study's ``|y - s|``
    is that with ``a = 2 s``.
    """
    import keras

    smoothing = 2.0 * params.label_smoothing
    weight = getattr(params.family(), "demographic_weight", 0.0) / len(vocab.EMOTIONS)
    losses = {
        name: keras.losses.BinaryCrossentropy(label_smoothing=smoothing) for name in family.outputs
    }
    weights = {name: 1.0 if name == EMOTION_OUTPUT else weight for name in family.outputs}
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=params.learning_rate, weight_decay=params.weight_decay
        ),
        loss=losses,
        loss_weights=weights,
        jit_compile=False,  # XLA measured slower on CPU
    )


def training_batches(
    X: np.ndarray,
    targets: Mapping[str, np.ndarray],
    index: np.ndarray,
    *,
    batch_size: int,
    seed: int,
) -> Any:
    """A shuffled, prefetched ``tf.data`` pipeline over rows ``index`` of in-memory arrays.

    Only the indices live in the pipeline; each batch is gathered from ``X`` (which may be
    a read-only memory map shared with other processes), so nothing is copied up front.
    """
    import tensorflow as tf

    names = list(targets)
    arrays = [X, *(np.asarray(targets[name], dtype=np.float32) for name in names)]

    def gather(rows: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(array[rows], dtype=np.float32) for array in arrays]

    def load(rows: Any) -> Any:
        batch = tf.numpy_function(gather, [rows], [tf.float32] * len(arrays), stateful=False)
        x = tf.ensure_shape(batch[0], (None, *X.shape[1:]))
        ys = {
            name: tf.ensure_shape(values, (None, arrays[i + 1].shape[1]))
            for i, (name, values) in enumerate(zip(names, batch[1:], strict=True))
        }
        return x, ys

    rows = tf.data.Dataset.from_tensor_slices(np.asarray(index, dtype=np.int64))
    rows = rows.shuffle(len(index), seed=seed, reshuffle_each_iteration=True)
    return rows.batch(batch_size).map(load).prefetch(tf.data.AUTOTUNE)


def best_epoch_callback(
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    threshold: float,
    patience: int,
    batch_size: int,
    on_epoch: EpochCallback | None = None,
) -> Any:
    """A Keras callback that scores validation macro-F1 after each epoch, reports it, stops
    after ``patience`` epochs without improvement (0: never) and restores the best weights."""
    import keras

    class BestEpoch(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.history: list[dict[str, float]] = []
            self.best_epoch = -1
            self.best_score = -math.inf
            self.best_weights: list[np.ndarray] | None = None

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            outputs = predict_outputs(self.model, X_val, batch_size=batch_size)
            score = macro_f1(y_val, outputs[EMOTION_OUTPUT], threshold)
            record = {
                "train_loss": float((logs or {}).get("loss", math.nan)),
                "val_macro_f1": score,
            }
            self.history.append(record)
            if score > self.best_score:
                self.best_score, self.best_epoch = score, epoch
                self.best_weights = [w.copy() for w in self.model.get_weights()]
            elif patience and epoch - self.best_epoch >= patience:
                self.model.stop_training = True
            if on_epoch is not None:
                on_epoch(epoch, record)

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return BestEpoch()


# --------------------------------------------------------------------------- bootstrap


def bootstrap_indices(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A bootstrap resample of ``n`` rows (with replacement) and its sorted out-of-bag rows."""
    from sklearn.utils import resample

    rows = np.arange(n)
    sample = resample(rows, replace=True, n_samples=n, random_state=seed)
    return np.asarray(sample), np.setdiff1d(rows, sample)


def run_replica(
    params: TrainParams, data: TrainingData, replica: int, save_dir: Path | None = None
) -> ReplicaResult:
    """Train replica ``replica`` (seed ``params.seed + replica``) and predict its out-of-bag
    clips; with ``save_dir`` the model is saved there instead of returned (worker processes)."""
    seed = (params.seed or 0) + replica
    sample, oob = bootstrap_indices(len(data.X["train"]), seed)
    fit = fit_model(params, data, train_index=sample, seed=seed)
    oob_outputs = (
        predict_outputs(fit.model, data.X["train"][oob], batch_size=params.batch_size)
        if len(oob)
        else {}
    )
    model, model_path = fit.model, None
    if save_dir is not None:
        model_path, model = (
            str(save_model_file(fit.model, Path(save_dir) / f"replica-{replica:03d}")),
            None,
        )
    return ReplicaResult(
        replica=replica,
        seed=seed,
        n_sample=len(sample),
        oob_index=oob,
        oob_outputs=oob_outputs,
        history=fit.history,
        best_epoch=fit.best_epoch,
        val_outputs=fit.val_outputs,
        model=model,
        model_path=model_path,
    )


def save_model_file(model: Any, stem: Path) -> Path:
    """Save a fitted model next to ``stem`` (``.keras`` or ``.skops``; never pickle)."""
    if hasattr(model, "predict_proba"):
        import skops.io

        path = stem.with_suffix(".skops")
        skops.io.dump(model, path)
        return path
    path = stem.with_suffix(".keras")
    model.save(path)
    return path


def load_model_file(path: Path) -> Any:
    """Load a model saved by :func:`save_model_file` (Keras safe mode, skops allow-list)."""
    path = Path(path)
    if path.suffix == ".skops":
        import skops.io

        from serbias.models.svm import TRUSTED_TYPES

        return skops.io.load(path, trusted=list(TRUSTED_TYPES))
    return keras_module().saving.load_model(path, safe_mode=True)


_WORKER: dict[str, Any] = {}


def _init_worker(
    params: TrainParams, data: TrainingData, arrays: dict[str, str], threads: int
) -> None:
    """Worker start: attach the shared feature arrays (memory maps) and size TensorFlow."""
    X = {split: np.load(path, mmap_mode="r", allow_pickle=False) for split, path in arrays.items()}
    _WORKER["params"] = params
    _WORKER["data"] = replace(data, X=X)
    if model_family(params.model).is_keras:
        configure_tensorflow(deterministic=params.deterministic, threads=threads)


def _replica_task(replica: int, save_dir: str) -> ReplicaResult:
    return run_replica(_WORKER["params"], _WORKER["data"], replica, Path(save_dir))


def run_replicas(
    params: TrainParams, data: TrainingData, replicas: range, *, jobs: int, workdir: Path
) -> Iterator[ReplicaResult]:
    """Yield replicas as they finish: in this process when ``jobs`` is 1, else in ``jobs``
    spawned worker processes that memory-map the features written once to ``workdir``."""
    if jobs <= 1:
        for replica in replicas:
            yield run_replica(params, data, replica)
        return
    arrays = {}
    for split, X in data.X.items():
        arrays[split] = str(workdir / f"{split}_X.npy")
        np.save(arrays[split], np.ascontiguousarray(X), allow_pickle=False)
    shared = replace(data, X={})
    threads = max(1, (os.cpu_count() or 1) // jobs)
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(params, shared, arrays, threads),
    )
    try:
        futures = [pool.submit(_replica_task, replica, str(workdir)) for replica in replicas]
        for future in as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def default_jobs(bootstrap: int) -> int:
    """One replica process per CPU core, never more than the replicas."""
    return max(1, min(bootstrap, os.cpu_count() or 1))


# --------------------------------------------------------------------------- runs


def features_fingerprint(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of the feature manifest (parameters, fingerprints, shapes, versions)."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def _split_mode(split_file: Path | None, manifest: Mapping[str, Any]) -> str:
    """The split file's mode when it is the one the features were built from."""
    from serbias.corpus.reader import file_sha256

    if split_file is None or not Path(split_file).is_file():
        return "unknown"
    if file_sha256(split_file) != manifest.get("split_fingerprint"):
        return "unknown"
    try:
        return str(json.loads(Path(split_file).read_text(encoding="utf-8")).get("mode", "unknown"))
    except (OSError, ValueError):
        return "unknown"


def run_params(params: TrainParams, data: TrainingData) -> dict[str, Any]:
    """Everything that determines a training, flattened for MLflow params."""
    values: dict[str, Any] = {
        key: value for key, value in asdict(params).items() if key not in ("models", "experiment")
    }
    values.update({f"model.{key}": value for key, value in asdict(params.family()).items()})
    values.update({f"features.{k}": v for k, v in data.manifest.get("params", {}).items()})
    values.update(
        features_fingerprint=features_fingerprint(data.manifest),
        split_fingerprint=data.manifest.get("split_fingerprint", "unknown"),
        corpus_fingerprint=data.manifest.get("corpus_fingerprint", "unknown"),
        feature_kind=data.kind,
        input_shape=list(data.input_shape),
        n_train=len(data.X["train"]),
        n_val=len(data.X["val"]),
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
        "feature_params": data.manifest.get("params", {}),
        "outputs": list(model_family(params.model).outputs),
        "threshold": params.threshold,
    }
    if data.columns is not None:
        metadata["columns"] = [str(c) for c in data.columns]
    return metadata


def _signature(params: TrainParams, data: TrainingData) -> tuple[tuple[int, ...], dict]:
    outputs = {name: (len(vocab.EMOTIONS) if name == EMOTION_OUTPUT else 1,)
               for name in model_family(params.model).outputs}  # fmt: skip
    return data.input_shape, outputs


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
    split_file: Path | None = None,
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train ``params.model`` on ``params.labels`` and track it in MLflow (see module doc).

    The tracking store is checked before any data is loaded or any model is fitted.
    """
    family = model_family(params.model)
    tracking.check_tracking()
    data = load_training_data(features_dir, data_dir, model=family.name, labels=params.labels)
    tags = run_tags(params, data, _split_mode(split_file, data.manifest))
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
    total = params.epochs if family.is_keras else 1

    def on_epoch(epoch: int, record: dict[str, float]) -> None:
        tracking.log_metrics({f"epoch_{key}": value for key, value in record.items()}, step=epoch)
        if progress is not None:
            progress(Progress("epoch", epoch + 1, total, record))

    run_name = f"{params.model}-{params.labels}"
    with tracking.tracked_run(
        experiment=params.experiment, run_name=run_name, params=run_params(params, data), tags=tags
    ) as run_id:
        fit = fit_model(params, data, on_epoch=on_epoch)
        evaluation = evaluate(data.targets["val"], fit.val_outputs, params.threshold)
        tracking.log_metrics({"best_epoch": fit.best_epoch + 1, "epochs_run": len(fit.history)})
        _log_evaluation(evaluation, f"{run_name}: validation")
        logged = tracking.log_model(
            fit.model,
            flavor="keras" if family.is_keras else "sklearn",
            metadata=model_metadata(params, data),
            signature=_signature(params, data),
            registered_name=name,
        )
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
        best_epoch=fit.best_epoch + 1 if family.is_keras else None,
        epochs_run=len(fit.history) if family.is_keras else None,
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
    from serbias.predict import predictions_csv, predictions_table

    family = model_family(params.model)
    jobs = params.jobs or default_jobs(params.bootstrap)
    run_name = f"{params.model}-{params.labels}-bootstrap{params.bootstrap}"
    scores: dict[int, tuple[str, Evaluation]] = {}
    with (
        tracking.tracked_run(
            experiment=params.experiment,
            run_name=run_name,
            params={**run_params(params, data), "jobs": jobs},
            tags=tags,
        ) as parent_id,
        tempfile.TemporaryDirectory(prefix="serbias-bootstrap-") as workdir,
    ):
        replicas = run_replicas(
            params,
            data,
            range(params.bootstrap),
            jobs=min(jobs, params.bootstrap),
            workdir=Path(workdir),
        )
        for result in replicas:
            evaluation = evaluate(data.targets["val"], result.val_outputs, params.threshold)
            oob_clips = [str(name) for name in data.filenames["train"][result.oob_index]]
            with tracking.tracked_run(
                experiment=params.experiment,
                run_name=f"replica-{result.replica:03d}",
                params={
                    tracking.REPLICA_PARAM: result.replica,
                    "replica_seed": result.seed,
                    "n_sample": result.n_sample,
                    "n_oob": len(oob_clips),
                },
                tags={**tags, "serbias.replica": str(result.replica)},
                parent_run_id=parent_id,
            ) as child_id:
                for epoch, record in enumerate(result.history):
                    tracking.log_metrics({f"epoch_{k}": v for k, v in record.items()}, step=epoch)
                tracking.log_metrics({"best_epoch": result.best_epoch + 1})
                _log_evaluation(evaluation, f"replica {result.replica}", figure=False)
                tracking.log_dict(oob_clips, OOB_CLIPS)
                if oob_clips:
                    table = predictions_table(oob_clips, result.oob_outputs)
                    tracking.log_text(predictions_csv(table), OOB_PREDICTIONS)
                model = (
                    result.model if result.model is not None else load_model_file(result.model_path)
                )
                tracking.log_model(
                    model,
                    flavor="keras" if family.is_keras else "sklearn",
                    metadata={**model_metadata(params, data), "replica": result.replica},
                    signature=_signature(params, data),
                )
            scores[result.replica] = (child_id, evaluation)
            if progress is not None:
                progress(
                    Progress(
                        "replica",
                        len(scores),
                        params.bootstrap,
                        {"val_macro_f1": evaluation.macro_f1},
                    )
                )
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


def _replica_summary(scores: Mapping[int, tuple[str, Evaluation]]) -> dict[str, float]:
    """Mean and standard deviation of the replicas' validation metrics."""
    frame = pd.DataFrame([ev.metrics() for _, ev in scores.values()])
    summary = {f"{column}_mean": float(frame[column].mean()) for column in frame}
    summary.update({f"{column}_std": float(frame[column].std(ddof=1)) if len(frame) > 1 else 0.0
                    for column in frame})  # fmt: skip
    return summary
