"""One function per pipeline stage: the whole params in, the stage's result out.

The CLI parses options into :class:`serbias.config.Params` (params.yaml + overrides), calls
one of these and prints the result; tests and scripts call them the same way. Heavy imports
stay inside each function, so importing this module is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serbias.config import Params

if TYPE_CHECKING:
    import pandas as pd

    from serbias.predictions.sidecar import Predictions
    from serbias.training.run import ProgressCallback, TrainResult


@dataclass(frozen=True, eq=False)
class SplitStage:
    """The corpus that was split and how (see :func:`serbias.corpus.split.split_corpus`)."""

    clips: pd.DataFrame
    result: Any


def split(params: Params, *, strict: bool = False, force: bool = False) -> SplitStage:
    """Write (or reuse) ``paths.split`` for the corpus at ``paths.data``."""
    from serbias.corpus.reader import read_corpus
    from serbias.corpus.split import split_corpus

    settings = params.split
    clips = read_corpus(params.paths.data, strict=strict)
    result = split_corpus(
        clips,
        params.paths.split,
        mode=settings.mode,
        sizes={"train": settings.train, "val": settings.val, "test": settings.test},
        seed=settings.seed or 0,
        folds=settings.folds,
        force=force,
    )
    return SplitStage(clips, result)


def train(params: Params, *, progress: ProgressCallback | None = None) -> TrainResult:
    """Train ``train.model`` on ``train.labels`` (tracked in MLflow) and write its summary JSON
    ``paths.train/<model>-<labels>.json`` for the predict stage."""
    from serbias.atomic import write_json
    from serbias.training.run import train as train_model
    from serbias.training.run import train_summary

    result = train_model(
        params.train,
        features_dir=params.paths.features,
        data_dir=params.paths.data,
        split_file=params.paths.split,
        progress=progress,
    )
    write_json(summary_file(params, result.model, result.labels), train_summary(result))
    return result


def summary_file(params: Params, model: str, labels: str) -> Path:
    """Where the train stage writes a model's summary JSON."""
    return params.paths.train / f"{model}-{labels}.json"


def default_model_uri(params: Params) -> str:
    """``predict.model``, else the champion of ``train.model`` / ``train.labels``."""
    from serbias.tracking.registry import CHAMPION, registered_model_name

    name = registered_model_name(params.train.model, params.train.labels)
    return params.predict.model or f"models:/{name}@{CHAMPION}"


def predict(params: Params, *, out: Path | None = None) -> tuple[Predictions, Path]:
    """Predict ``predict.split_name`` with the model ``predict.model`` names; writes the CSV
    (``out``, default ``paths.predictions/<split>.csv``) and its sidecar."""
    from serbias.predictions.sidecar import save_predictions
    from serbias.predictions.tracked_source import predict as predict_split

    out_file = out or params.paths.predictions / f"{params.predict.split_name}.csv"
    result = predict_split(
        default_model_uri(params),
        params.paths.features,
        split_name=params.predict.split_name,
        batch_size=params.predict.batch_size,
    )
    save_predictions(result, out_file)
    return result, out_file


def predict_replicas(params: Params, *, out: Path | None = None) -> tuple[list[Path], Path]:
    """Predict each bootstrap replica of the parent run ``predict.model`` names on its own
    out-of-bag clips: one CSV per replica in ``out`` (default ``paths.predictions/bootstrap``)."""
    from serbias.predictions.tracked_source import predict_bootstrap

    out_dir = out or params.paths.predictions / "bootstrap"
    written = predict_bootstrap(
        default_model_uri(params), params.paths.features, out_dir,
        batch_size=params.predict.batch_size,
    )  # fmt: skip
    return written, out_dir
