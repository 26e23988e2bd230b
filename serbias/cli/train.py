"""``serbias train``: fit a model family on the feature store, tracked and registered in MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from serbias.errors import SerbiasError
from serbias.models import MODELS
from serbias.params import load_params, override, override_family
from serbias.training.params import LABEL_KINDS

FAMILY = "Model hyperparameters (apply to the chosen --model)"


def _ints(text: str | None, option: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise SerbiasError(f"{option} {text!r}: expected comma-separated integers") from None


def _pools(text: str | None) -> list[list[int]] | None:
    if text is None:
        return None
    try:
        return [[int(v) for v in part.lower().split("x")] for part in text.split(",")]
    except ValueError:
        raise SerbiasError(f"--pools {text!r}: expected FREQxTIME pairs like 2x2,4x2") from None


def train(
    model: Annotated[
        str | None,
        typer.Option("--model", help=f"{' | '.join(MODELS)} \\[train.model]."),
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            help="intended (acted emotion) | observed (crowd voice-only vote; ties give several "
            "positives; unrated clips are left out) \\[train.labels].",
        ),
    ] = None,
    features: Annotated[
        Path | None,
        typer.Option("--features", help="Feature store from `serbias extract` \\[paths.features]."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Corpus (labels, demographics) \\[paths.data]."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Directory for <model>-<labels>.json (val metrics) \\[paths.train]."
        ),
    ] = None,
    split: Annotated[
        Path | None,
        typer.Option(
            "--split",
            help="Split JSON from `serbias split`: trains on its train clips, validates on its "
            "val clips \\[paths.split].",
        ),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", min=1, help="Maximum epochs \\[train.epochs].")
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(
            "--patience",
            min=0,
            help="Stop after this many epochs without a better val macro-F1; 0: never "
            "\\[train.patience].",
        ),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="\\[train.batch_size].")
    ] = None,
    learning_rate: Annotated[
        float | None, typer.Option("--learning-rate", help="AdamW \\[train.learning_rate].")
    ] = None,
    weight_decay: Annotated[
        float | None, typer.Option("--weight-decay", help="AdamW \\[train.weight_decay].")
    ] = None,
    label_smoothing: Annotated[
        float | None,
        typer.Option(
            "--label-smoothing", help="s: BCE targets become |y - s| \\[train.label_smoothing]."
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Decision threshold of val macro-F1 \\[train.threshold]."),
    ] = None,
    bootstrap: Annotated[
        int | None,
        typer.Option(
            "--bootstrap",
            min=0,
            help="N > 0: train N replicas on bootstrap resamples of train (seed + i for "
            "replica i), each predicting its out-of-bag clips, as child runs \\[train.bootstrap].",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", min=1, help="Parallel replica processes \\[train.jobs; default: CPU cores]."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="\\[train.seed, base.seed].")] = None,
    deterministic: Annotated[
        bool | None,
        typer.Option(
            "--deterministic/--no-deterministic",
            help="TensorFlow op determinism \\[train.deterministic].",
            show_default=False,
        ),
    ] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="MLflow experiment \\[train.experiment].")
    ] = None,
    svm_c: Annotated[
        float | None, typer.Option("--svm-c", help="svm: C.", rich_help_panel=FAMILY)
    ] = None,
    svm_gamma: Annotated[
        float | None, typer.Option("--svm-gamma", help="svm: RBF gamma.", rich_help_panel=FAMILY)
    ] = None,
    svm_pca: Annotated[
        int | None,
        typer.Option("--svm-pca", help="svm: PCA components (capped).", rich_help_panel=FAMILY),
    ] = None,
    anova_p: Annotated[
        float | None,
        typer.Option(
            "--anova-p",
            help="svm: keep features with ANOVA p below this for some emotion.",
            rich_help_panel=FAMILY,
        ),
    ] = None,
    channels: Annotated[
        str | None,
        typer.Option(
            "--channels",
            help="Conv channels per block, e.g. 64,64,128,128.",
            rich_help_panel=FAMILY,
        ),
    ] = None,
    pools: Annotated[
        str | None,
        typer.Option(
            "--pools",
            help="(freq x time) pool per block, e.g. 2x2,4x2,4x2,4x2.",
            rich_help_panel=FAMILY,
        ),
    ] = None,
    lstm_units: Annotated[
        int | None,
        typer.Option("--lstm-units", help="BiLSTM hidden size.", rich_help_panel=FAMILY),
    ] = None,
    dropout: Annotated[
        float | None,
        typer.Option("--dropout", help="Dropout before the outputs.", rich_help_panel=FAMILY),
    ] = None,
    spatial_dropout: Annotated[
        float | None,
        typer.Option(
            "--spatial-dropout", help="SpatialDropout2D after each block.", rich_help_panel=FAMILY
        ),
    ] = None,
    attention_heads: Annotated[
        int | None,
        typer.Option("--attention-heads", help="Attention heads.", rich_help_panel=FAMILY),
    ] = None,
    attention_units: Annotated[
        int | None,
        typer.Option("--attention-units", help="Attention hidden size.", rich_help_panel=FAMILY),
    ] = None,
    demographic_weight: Annotated[
        float | None,
        typer.Option(
            "--demographic-weight",
            help="multitask: weight of each demographic head, in emotion-output units.",
            rich_help_panel=FAMILY,
        ),
    ] = None,
) -> None:
    """Train a model (svm, cnn_lstm, cnn_lstm_attention, multitask) and register it in MLflow.

    Defaults come from params.yaml (train: section; per-model values under train.models).
    Tracking store: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the current directory.
    """
    from serbias.atomic import write_json
    from serbias.cli._console import console
    from serbias.cli._train_view import summary_table, training_progress
    from serbias.training.run import train as train_model
    from serbias.training.run import train_summary

    settings = load_params()
    if model is not None and model not in MODELS:
        raise SerbiasError(f"--model {model!r} is not one of {', '.join(MODELS)}")
    if labels is not None and labels not in LABEL_KINDS:
        raise SerbiasError(f"--labels {labels!r} is not one of {', '.join(LABEL_KINDS)}")
    paths = override(settings.paths, data=data, features=features, split=split, train=out)
    params = override(
        settings.train,
        model=model,
        labels=labels,
        epochs=epochs,
        patience=patience,
        batch_size=batch_size,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        label_smoothing=label_smoothing,
        threshold=threshold,
        bootstrap=bootstrap,
        jobs=jobs,
        seed=seed,
        deterministic=deterministic,
        experiment=experiment,
    )
    params = override_family(
        params,
        C=svm_c,
        gamma=svm_gamma,
        pca=svm_pca,
        anova_p=anova_p,
        channels=_ints(channels, "--channels"),
        pools=_pools(pools),
        lstm_units=lstm_units,
        dropout=dropout,
        spatial_dropout=spatial_dropout,
        attention_heads=attention_heads,
        attention_units=attention_units,
        demographic_weight=demographic_weight,
    )
    with training_progress(params) as report:
        result = train_model(
            params,
            features_dir=paths.features,
            data_dir=paths.data,
            split_file=paths.split,
            progress=report,
        )
    console.print(summary_table(result))
    summary_file = paths.train / f"{result.model}-{result.labels}.json"
    write_json(summary_file, train_summary(result))
    console.print(f"Validation metrics -> {summary_file}")
