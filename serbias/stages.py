"""One function per pipeline stage: the whole params in, the stage's result out.

The CLI parses options into :class:`serbias.config.Params` (params.yaml + overrides), calls
one of these and prints the result; tests and scripts call them the same way. Heavy imports
stay inside each function, so importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serbias.config import Params

if TYPE_CHECKING:
    import pandas as pd

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


def synth(
    params: Params,
    out_dir: Path,
    *,
    force: bool = False,
    progress: Callable[..., None] | None = None,
) -> Any:
    """Write the synthetic corpus ``synth`` describes to ``out_dir`` (see
    :func:`serbias.corpus.synth.generate_corpus`)."""
    from serbias.corpus.synth import generate_corpus

    settings = params.synth
    return generate_corpus(
        out_dir,
        actors=settings.actors,
        sentences=settings.sentences,
        full=settings.full,
        seed=settings.seed or 0,
        bias=settings.bias,
        raters=settings.raters,
        jobs=settings.jobs,
        force=force,
        progress=progress,
    )


def extract(
    params: Params, *, force: bool = False, progress: Callable[..., None] | None = None
) -> Any:
    """Extract the ``extract.kinds`` features of every clip of ``paths.data`` into
    ``paths.features`` (nothing to do when the store is current)."""
    from serbias.corpus.reader import corpus_fingerprint, read_corpus
    from serbias.features.extract import extract_features

    settings = params.extract
    clips = read_corpus(params.paths.data)
    if progress is not None:
        progress(0, total=len(clips))
    return extract_features(
        clips,
        params.paths.features,
        params=settings,
        kinds=settings.kinds,
        jobs=settings.jobs,
        skip_bad=settings.skip_bad,
        progress=progress,
        force=force,
        corpus_fingerprint=corpus_fingerprint(params.paths.data),
        corpus_dir=params.paths.data,
    )


def train(
    params: Params, *, progress: ProgressCallback | None = None, fresh: bool = False
) -> TrainResult:
    """Train ``train.model`` on ``train.labels`` (tracked in MLflow) and write its summary JSON
    ``paths.train/<model>-<labels>.json`` for the predict stage."""
    from serbias.atomic import write_json
    from serbias.training.run import train_summary

    result = _train_tracked(params, progress=progress, fresh=fresh)
    write_json(summary_file(params, result.model, result.labels), train_summary(result))
    return result


def train_study(
    params: Params, *, progress: ProgressCallback | None = None, fresh: bool = False
) -> TrainResult | None:
    """The bootstrap stage: ``train.study_replicas`` replicas of ``train.model`` (the reference
    study's design), summary ``paths.train/<model>-<labels>-bootstrap.json``; None (and a
    summary saying so) when that family has no replicas."""
    from dataclasses import replace

    from serbias.atomic import write_json

    study = replace(params, train=params.train.study())
    out = study_summary_file(params, study.train.model, study.train.labels)
    if not study.train.bootstrap:
        write_json(out, {"model": study.train.model, "labels": study.train.labels,
                         "kind": "bootstrap", "replicas": 0, "run_id": None})  # fmt: skip
        return None
    from serbias.training.run import train_summary

    result = _train_tracked(study, progress=progress, fresh=fresh)
    write_json(out, {**train_summary(result), "replicas": len(result.replicas)})
    return result


def _train_tracked(
    params: Params, *, progress: ProgressCallback | None, fresh: bool
) -> TrainResult:
    """``params.train`` on the stage's features, corpus and split."""
    from serbias.training.run import train as train_model

    return train_model(
        params.train,
        features_dir=params.paths.features,
        data_dir=params.paths.data,
        split_file=params.paths.split,
        progress=progress,
        fresh=fresh,
    )


def summary_file(params: Params, model: str, labels: str) -> Path:
    """Where the train stage writes a model's summary JSON."""
    return params.paths.train / f"{model}-{labels}.json"


def study_summary_file(params: Params, model: str, labels: str) -> Path:
    """Where the bootstrap stage writes a model's replica summary JSON."""
    return params.paths.train / f"{model}-{labels}-bootstrap.json"


def default_model_uri(params: Params) -> str:
    """``predict.model``, else the champion of ``train.model`` / ``train.labels``."""
    from serbias.tracking.registry import CHAMPION, registered_model_name

    name = registered_model_name(params.train.model, params.train.labels)
    return params.predict.model or f"models:/{name}@{CHAMPION}"


@dataclass(frozen=True)
class PredictStage:
    """What ``serbias predict`` wrote (or found up to date)."""

    out_file: Path
    model_uri: str
    n_clips: int
    run_id: str | None = None
    up_to_date: bool = False
    emotions: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def predict(
    params: Params, *, out: Path | None = None, progress: Callable[..., None] | None = None
) -> PredictStage:
    """Predict ``predict.split_name`` with the model ``predict.model`` names; writes the CSV
    (``out``, default ``paths.predictions/<split>.csv``) and its sidecar. ``onnx:`` / ``hf:``
    models run over the corpus audio (see :func:`predict_pretrained`)."""
    from serbias.predictions.pretrained import is_pretrained
    from serbias.predictions.sidecar import save_predictions
    from serbias.predictions.tracked_source import predict as predict_split

    uri = default_model_uri(params)
    out_file = out or params.paths.predictions / f"{params.predict.split_name}.csv"
    if is_pretrained(uri):
        return predict_pretrained(params, uri, out_file, progress=progress)
    result = predict_split(
        uri,
        params.paths.features,
        split_file=params.paths.split,
        split_name=params.predict.split_name,
        batch_size=params.predict.batch_size,
    )
    save_predictions(result, out_file)
    return PredictStage(out_file, result.model_uri, len(result.table), result.run_id)


def predict_pretrained(
    params: Params, uri: str, out_file: Path, *, progress: Callable[..., None] | None = None
) -> PredictStage:
    """Run a pretrained model over the clips of ``predict.split_name`` in ``paths.split`` (every
    clip of ``paths.data`` when there is no split file). Re-running with the same model bytes,
    clips, audio and settings does no work: the sidecar's cache key says it is up to date."""
    import dataclasses
    import json

    from serbias.atomic import write_text
    from serbias.corpus.reader import corpus_fingerprint, read_corpus
    from serbias.corpus.split import load_split
    from serbias.predictions.pretrained import PretrainedSettings, cache_key, run_pretrained
    from serbias.predictions.sidecar import model_info, sidecar_json, sidecar_path
    from serbias.predictions.table import write_predictions

    clips = read_corpus(params.paths.data)
    if Path(params.paths.split).is_file():
        wanted = set(load_split(params.paths.split, clips)[params.predict.split_name])
        clips = clips[clips["filename"].isin(wanted)]
    settings = PretrainedSettings(**dataclasses.asdict(params.predict.pretrained))
    fingerprint = corpus_fingerprint(params.paths.data)
    key = cache_key(uri, clips, settings, corpus_fingerprint=fingerprint)
    sidecar = sidecar_path(out_file)
    if out_file.is_file() and sidecar.is_file():
        stored = json.loads(sidecar.read_text(encoding="utf-8")).get("pretrained") or {}
        if stored.get("cache_key") == key:
            return PredictStage(out_file, uri, len(clips), up_to_date=True,
                                emotions=tuple(stored.get("emotions", ())),
                                dropped=tuple(stored.get("dropped_labels", ())))  # fmt: skip
    report = None if progress is None else (lambda n: progress(n, total=len(clips)))
    result = run_pretrained(uri, clips, settings, progress=report, corpus_fingerprint=fingerprint)
    write_predictions(result.table, out_file)
    info = model_info(uri, None, {"serbias_model": uri.split(":", 1)[0], "labels": None})
    info["pretrained"] = {**result.provenance, "cache_key": result.cache_key}
    write_text(sidecar, sidecar_json(info))
    emotions = tuple(c for c in result.table.columns if c != "Filename")
    return PredictStage(out_file, uri, len(result.table), emotions=emotions,
                        dropped=tuple(result.dropped), warnings=tuple(result.warnings))  # fmt: skip


def predict_replicas(params: Params, *, out: Path | None = None) -> tuple[list[Path], Path]:
    """Write each bootstrap replica's out-of-bag predictions for the parent run (or ``train
    --study`` summary JSON) ``predict.model`` names: one CSV per replica in ``out`` (default
    ``paths.predictions/bootstrap``)."""
    from serbias.predictions.tracked_source import predict_bootstrap

    out_dir = out or params.paths.predictions / "bootstrap"
    return predict_bootstrap(default_model_uri(params), out_dir), out_dir


def audit(
    params: Params,
    predictions: list[Path] | tuple[Path, ...] = (),
    *,
    split: Path | None = None,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Any:
    """Audit ``predictions`` (default ``paths.predictions``) with the ``audit`` settings,
    writing ``paths.audit`` and, when ``audit.track``, an MLflow run (see
    :func:`serbias.audit.audit_stage`)."""
    from serbias.audit import audit_stage

    return audit_stage(
        list(predictions), params.audit, params.paths, split=split, strict=strict,
        progress=progress,
    )  # fmt: skip
