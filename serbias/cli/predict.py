"""``serbias predict``: a model URI's predictions for one split, in the reference CSV format."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from serbias.config import load_params, override
from serbias.errors import SerbiasError


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
    from serbias import stages
    from serbias.cli._console import console

    settings = load_params()
    paths = override(settings.paths, features=features)
    params = override(settings.predict, model=model, split_name=split_name, batch_size=batch_size)
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
    result, out_file = stages.predict(settings, out=out)
    source = f" (run {result.run_id})" if result.run_id else ""
    console.print(
        f"Wrote {len(result.table)} {params.split_name} predictions of {result.model_uri}{source} "
        f"-> {out_file}",
        highlight=False,
    )
