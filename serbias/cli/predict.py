"""``serbias predict``: a model URI's predictions for one split, in the reference CSV format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from serbias.errors import SerbiasError
from serbias.params import load_params, override


def predict(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model URI: models:/serbias-multitask-intended@champion, "
            "models:/<name>/<version>, runs:/<run>/model, a local MLflow model directory, or "
            "the <model>-<labels>.json `serbias train` wrote (its exact version); with "
            "--bootstrap the parent run "
            "(runs:/<run>) \\[predict.model; default the champion of train.model/train.labels].",
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
            help="Split JSON from `serbias split` naming the clips to predict (with --bootstrap: "
            "the train clips the replicas were resampled from) \\[paths.split].",
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
        int | None, typer.Option("--batch-size", min=1, help="\\[predict.batch_size].")
    ] = None,
    bootstrap: Annotated[
        bool,
        typer.Option(
            "--bootstrap",
            help="Predict with every replica of a bootstrap parent run, each on its own "
            "out-of-bag training clips: one CSV per replica.",
        ),
    ] = False,
) -> None:
    """Write predictions (Filename, Anger..Sad probabilities; + Female, Non-Caucasian for
    multitask) for every clip of a split, or each bootstrap replica's out-of-bag clips."""
    from serbias.cli._console import console
    from serbias.predictions.sidecar import save_predictions
    from serbias.predictions.tracked_source import predict as predict_split
    from serbias.predictions.tracked_source import predict_bootstrap

    settings = load_params()
    paths = override(settings.paths, features=features, split=split)
    params = override(settings.predict, model=model, split_name=split_name, batch_size=batch_size)
    uri = params.model or f"models:/serbias-{settings.train.model}-{settings.train.labels}@champion"
    if bootstrap:
        if split_name is not None:
            raise SerbiasError(
                "--split-name does not apply with --bootstrap (each replica predicts its "
                "out-of-bag training clips)"
            )
        out_dir = out or paths.predictions / "bootstrap"
        written = predict_bootstrap(
            uri, paths.features, out_dir, split_file=paths.split, batch_size=params.batch_size
        )
        console.print(
            f"Wrote {len(written)} replica prediction files (out-of-bag clips) -> {out_dir}",
            highlight=False,
        )
        return
    out_file = out or paths.predictions / f"{params.split_name}.csv"
    result = predict_split(
        uri,
        paths.features,
        split_file=paths.split,
        split_name=params.split_name,
        batch_size=params.batch_size,
    )
    save_predictions(result, out_file)
    source = f" (run {result.run_id})" if result.run_id else ""
    console.print(
        f"Wrote {len(result.table)} {params.split_name} predictions of {result.model_uri}{source} "
        f"-> {out_file}",
        highlight=False,
    )
