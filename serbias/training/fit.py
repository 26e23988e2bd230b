"""Fit one model on rows of the shared arrays, dispatching on the family's backend."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from serbias import vocab
from serbias.models.base import EMOTION_OUTPUT, ModelFamily
from serbias.models.families import family as model_family
from serbias.models.io import predict_outputs
from serbias.training.data import targets_of
from serbias.training.evaluation import macro_f1
from serbias.training.params import TrainParams

EpochCallback = Any  # Callable[[int, dict[str, float]], None]


@dataclass(frozen=True, eq=False)
class FitResult:
    """A fitted model, its per-epoch history and its validation outputs at the best epoch."""

    model: Any
    history: list[dict[str, float]]
    best_epoch: int
    val_outputs: dict[str, np.ndarray]


def configure_tensorflow(*, deterministic: bool, threads: int | None = None) -> None:
    """Thread counts (only before TensorFlow starts) and op determinism for this process."""
    import tensorflow as tf

    import serbias.models  # noqa: F401  (sets TensorFlow's environment before it loads)

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
    arrays: Mapping[str, np.ndarray],
    *,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    seed: int,
    on_epoch: EpochCallback | None = None,
) -> FitResult:
    """Fit ``params.model`` on ``train_rows`` (repeats allowed) of ``arrays`` (see
    :meth:`serbias.training.data.TrainingData.arrays`), validating on ``val_rows``.

    Families with epochs keep the epoch with the best validation macro-F1; the others have
    one "epoch".
    """
    family = model_family(params.model)
    fit = _fit_keras if family.backend == "keras" else _fit_sklearn
    return fit(params, family, arrays, np.asarray(train_rows), np.asarray(val_rows), seed, on_epoch)


@contextmanager
def _quiet_sklearn() -> Iterator[None]:
    """Silence known sklearn notices: SVC(probability=True) is deprecated in 1.9 (the
    reference's Platt scaling, kept as is) and OvR's note on an all-negative label (we warn)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*probability.*", category=FutureWarning)
        warnings.filterwarnings("ignore", message="Label not .* is present in all training")
        yield


def _fit_sklearn(
    params: TrainParams,
    family: ModelFamily,
    arrays: Mapping[str, np.ndarray],
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    seed: int,
    on_epoch: EpochCallback | None,
) -> FitResult:
    X = arrays["X"]
    estimator = family.build(tuple(X.shape[1:]), params.family(), seed)
    with _quiet_sklearn():
        estimator.fit(X[train_rows], targets_of(arrays, train_rows)[EMOTION_OUTPUT])
    val_outputs = predict_outputs(estimator, X[val_rows])
    y_val = targets_of(arrays, val_rows)[EMOTION_OUTPUT]
    record = {"val_macro_f1": macro_f1(y_val, val_outputs[EMOTION_OUTPUT], params.threshold)}
    if on_epoch is not None:
        on_epoch(0, record)
    return FitResult(estimator, [record], 0, val_outputs)


def _fit_keras(
    params: TrainParams,
    family: ModelFamily,
    arrays: Mapping[str, np.ndarray],
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    seed: int,
    on_epoch: EpochCallback | None,
) -> FitResult:
    configure_tensorflow(deterministic=params.deterministic)
    import keras

    from serbias.training.callbacks import BestEpoch

    X = arrays["X"]
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = family.build(tuple(X.shape[1:]), params.family(), seed)
    compile_network(
        model,
        family,
        params,
        emotion_targets=targets_of(arrays, train_rows)[EMOTION_OUTPUT],
        steps_per_epoch=-(-len(train_rows) // params.batch_size),
    )
    targets = {name: arrays[f"target.{name}"] for name in family.outputs}
    batches = training_batches(X, targets, train_rows, batch_size=params.batch_size, seed=seed)
    X_val = np.asarray(X[val_rows])
    best = BestEpoch(
        X_val,
        targets_of(arrays, val_rows)[EMOTION_OUTPUT],
        threshold=params.threshold,
        patience=params.patience,
        batch_size=params.batch_size,
        on_epoch=on_epoch,
    )
    model.fit(batches, epochs=params.epochs, callbacks=[best], shuffle=False, verbose=0)
    val_outputs = predict_outputs(model, X_val, batch_size=params.batch_size)
    return FitResult(model, best.history, best.best_epoch, val_outputs)


def compile_network(
    model: Any,
    family: ModelFamily,
    params: TrainParams,
    *,
    emotion_targets: np.ndarray | None = None,
    steps_per_epoch: int = 1,
) -> None:
    """BCE per sigmoid output, AdamW; demographic heads weighted as one emotion each.

    Keras smooths binary targets to ``y (1 - a) + a / 2``; the reference study's ``|y - s|``
    is that with ``a = 2 s``. With ``params.class_balance`` > 0 the emotion output's positive
    terms are weighted from ``emotion_targets`` (the training clips'), see
    :mod:`serbias.models.losses`; ``params.schedule`` ``cosine`` needs ``steps_per_epoch``.
    """
    import keras

    from serbias.models.losses import WeightedBinaryCrossentropy, positive_weights

    smoothing = 2.0 * params.label_smoothing
    weight = getattr(params.family(), "demographic_weight", 0.0) / len(vocab.EMOTIONS)
    losses = {
        name: keras.losses.BinaryCrossentropy(label_smoothing=smoothing) for name in family.outputs
    }
    if params.class_balance and emotion_targets is not None:
        weights_of_positives = positive_weights(emotion_targets, params.class_balance)
        losses[EMOTION_OUTPUT] = WeightedBinaryCrossentropy(
            weights_of_positives.tolist(), label_smoothing=smoothing
        )
    weights = {name: 1.0 if name == EMOTION_OUTPUT else weight for name in family.outputs}
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=learning_rate_schedule(params, steps_per_epoch),
            weight_decay=params.weight_decay,
        ),
        loss=losses,
        loss_weights=weights,
        jit_compile=False,  # XLA measured slower on CPU
    )


def learning_rate_schedule(params: TrainParams, steps_per_epoch: int) -> Any:
    """``constant``: ``params.learning_rate``. ``cosine``: one epoch of linear warm-up from a
    tenth of it, then cosine decay to 0 at ``params.epochs`` (a one-cycle shape; early
    stopping may end it sooner)."""
    if params.schedule == "constant":
        return params.learning_rate
    import keras

    warmup = max(1, steps_per_epoch)
    total = max(warmup + 1, params.epochs * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=params.learning_rate / 10,
        decay_steps=total - warmup,
        alpha=0.0,
        warmup_target=params.learning_rate,
        warmup_steps=warmup,
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
