"""``serbias predict``: a model URI's predictions for one split, in the reference CSV format."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from serbias.config import load_params, override
from serbias.errors import SerbiasError

PRETRAINED = "Pretrained models (onnx:FILE, hf:DIR)"


def predict(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model URI: models:/serbias-multitask-intended@champion, "
            "models:/<name>/<version>, runs:/<run>/model, a local MLflow model directory, or "
            "the <model>-<labels>.json `serbias train` wrote (its exact version; of a --cv "
            "run: its pooled out-of-fold predictions); with --bootstrap the parent run "
            "(runs:/<run>) or the -bootstrap.json of `train --study`; or a pretrained model: "
            "onnx:FILE or hf:DIR (run over the corpus audio, nothing is downloaded) "
            "\\[predict.model; default the champion of train.model/train.labels].",
        ),
    ] = None,
    features: Annotated[
        Path | None,
        typer.Option("--features", help="Feature store from `serbias extract` \\[paths.features]."),
    ] = None,
    split: Annotated[
        Path | None,
        typer.Option(
            "--split",
            help="Split JSON from `serbias split` naming the clips to predict (a pretrained "
            "model scores every clip of the corpus when it does not exist) \\[paths.split].",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Predictions CSV to write \\[paths.predictions/<split>.csv]; with --bootstrap a "
            "directory of replica_NNN.csv \\[paths.predictions/bootstrap].",
        ),
    ] = None,
    split_name: Annotated[
        str | None,
        typer.Option("--split-name", help="Which split to predict \\[predict.split_name]."),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            help="Clips per batch \\[predict.batch_size; for pretrained models "
            "\\[predict.pretrained.batch_size], where 1 means no padding].",
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Corpus audio for pretrained models \\[paths.data].",
            rich_help_panel=PRETRAINED,
        ),
    ] = None,
    sample_rate: Annotated[
        int | None,
        typer.Option(
            "--sample-rate",
            help="onnx: the model's input rate (default: its metadata, else 16000) "
            "\\[predict.pretrained.sample_rate].",
            rich_help_panel=PRETRAINED,
        ),
    ] = None,
    normalize: Annotated[
        str | None,
        typer.Option(
            "--normalize",
            help="onnx: none | zero-mean-unit-var per clip \\[predict.pretrained.normalize].",
            rich_help_panel=PRETRAINED,
        ),
    ] = None,
    label_names: Annotated[
        str | None,
        typer.Option(
            "--label-names",
            help="The model's labels in output order, comma-separated (when it names none) "
            "\\[predict.pretrained.label_names].",
            rich_help_panel=PRETRAINED,
        ),
    ] = None,
    label_map: Annotated[
        list[str] | None,
        typer.Option(
            "--label-map",
            help="Map a model label to a CREMA-D emotion, SRC=DST (DST - drops it; repeatable) "
            "\\[predict.pretrained.label_map].",
            rich_help_panel=PRETRAINED,
        ),
    ] = None,
    scores: Annotated[
        str | None,
        typer.Option(
            "--scores",
            help="auto (read the model) | logits (softmax) | probabilities | sigmoid "
            "\\[predict.pretrained.scores].",
            rich_help_panel=PRETRAINED,
        ),
    ] = None,
    chunk_seconds: Annotated[
        float | None,
        typer.Option(
            "--chunk-seconds",
            help="Longer clips are scored in windows, probabilities averaged "
            "\\[predict.pretrained.chunk_seconds].",
            rich_help_panel=PRETRAINED,
        ),
    ] = None,
    bootstrap: Annotated[
        bool,
        typer.Option(
            "--bootstrap",
            help="Write every replica's predictions of its own out-of-bag training clips (as "
            "its training logged them) for a bootstrap parent run: one CSV per replica.",
        ),
    ] = False,
) -> None:
    """Write predictions (Filename, Anger..Sad probabilities; + Female, Non-Caucasian for
    multitask) for every clip of a split, or each bootstrap replica's out-of-bag clips."""
    from serbias import stages
    from serbias.cli._console import console, err_console
    from serbias.cli._progress import clip_progress
    from serbias.predictions.pretrained import is_pretrained

    settings = load_params()
    paths = override(settings.paths, features=features, data=data, split=split)
    params = override(settings.predict, model=model, split_name=split_name)
    uri = stages.default_model_uri(replace(settings, predict=params))
    pretrained = override(
        params.pretrained,
        sample_rate=sample_rate,
        normalize=normalize,
        label_names=label_names.split(",") if label_names else None,
        label_map=label_map or None,
        scores=scores,
        chunk_seconds=chunk_seconds,
        batch_size=batch_size if is_pretrained(uri) else None,
    )
    params = replace(
        params,
        pretrained=pretrained,
        batch_size=params.batch_size if batch_size is None or is_pretrained(uri) else batch_size,
    )
    settings = replace(settings, paths=paths, predict=params)
    if bootstrap:
        if split_name is not None:
            raise SerbiasError(
                "--split-name does not apply with --bootstrap (each replica predicts its "
                "out-of-bag training clips)"
            )
        written, out_dir = stages.predict_replicas(settings, out=out)
        console.print(
            f"Wrote {len(written)} replica prediction files (out-of-bag clips) -> {out_dir}",
            highlight=False,
        )
        return
    if is_pretrained(uri):
        with clip_progress(None, "Scoring clips") as report:
            result = stages.predict(settings, out=out, progress=report)
    else:
        result = stages.predict(settings, out=out)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    if result.dropped:
        console.print(
            f"Dropped labels (no CREMA-D emotion): {', '.join(result.dropped)}; covered: "
            f"{', '.join(result.emotions)} (probabilities as the model gave them, not "
            "renormalised)",
            highlight=False,
        )
    source = f" (run {result.run_id})" if result.run_id else ""
    verb = "Up to date:" if result.up_to_date else "Wrote"
    console.print(
        f"{verb} {result.n_clips} {params.split_name} predictions of {result.model_uri}{source} "
        f"-> {result.out_file}",
        highlight=False,
    )
