"""``serbias train``: fit a model family on the feature store, tracked and registered in MLflow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path
from typing import Annotated

import typer

from serbias.config import load_params, override, override_family
from serbias.errors import SerbiasError
from serbias.models import MODELS
from serbias.text import parse_pairs
from serbias.training.params import LABEL_KINDS

#: Each registered family's hyperparameter names, for --hp's help.
FAMILY_KEYS = "Keys: " + "; ".join(
    f"{name}: {', '.join(f.name for f in fields(family.params))}" for name, family in MODELS.items()
)


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM (``kill``) like Ctrl-C, so open MLflow runs end KILLED, not RUNNING."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def parse_hyperparameters(specs: list[str]) -> dict[str, object]:
    """``--hp KEY=VALUE`` specs with each VALUE read as YAML (numbers, lists, booleans)."""
    import yaml

    values = {}
    for key, text in parse_pairs(specs, what="--hp", form="KEY=VALUE", example="C=3").items():
        try:
            values[key] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise SerbiasError(f"--hp {key}={text}: VALUE is not YAML") from None
    return values


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
        typer.Option(
            "--data",
            help="Corpus (labels, demographics) \\[paths.data; when that is not found: the "
            "corpus the feature store was extracted from].",
        ),
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
    schedule: Annotated[
        str | None,
        typer.Option(
            "--schedule",
            help="constant | cosine (1 epoch warm-up, cosine decay to 0 at --epochs) "
            "\\[train.schedule].",
        ),
    ] = None,
    weight_decay: Annotated[
        float | None, typer.Option("--weight-decay", help="AdamW \\[train.weight_decay].")
    ] = None,
    class_balance: Annotated[
        float | None,
        typer.Option(
            "--class-balance",
            help="b in [0, 1]: weight each emotion's positives by (negatives / positives) ** b "
            "\\[train.class_balance].",
        ),
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
    cv: Annotated[
        bool | None,
        typer.Option(
            "--cv/--no-cv",
            help="One model per cross-validation fold of the split file (`serbias split --folds "
            "K`), as child runs, each predicting its held-out actors; the parent logs the pooled "
            "out-of-fold predictions (every clip once) and registers nothing \\[train.cv].",
            show_default=False,
        ),
    ] = None,
    register_final: Annotated[
        bool | None,
        typer.Option(
            "--register-final/--no-register-final",
            help="With --cv: also train on all actors (fold 0's validation actors choose the "
            "best epoch) and register that model \\[train.register_final].",
            show_default=False,
        ),
    ] = None,
    study: Annotated[
        bool,
        typer.Option(
            "--study",
            help="The pipeline's bootstrap stage: train the replicas train.study_replicas names "
            "for --model (the reference study's design; none: only a summary saying so), to "
            "<model>-<labels>-bootstrap.json \\[train.study_replicas].",
        ),
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Start many trainings over instead of resuming an interrupted identical run.",
        ),
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            help="Where replicas and folds train: local (this machine's processes) or ray "
            '(a Ray cluster; pip install -e ".[ray]") \\[train.executor].',
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="With --executor ray: auto, host:port, or none to start a local Ray on "
            "127.0.0.1 (task resources: train.resources) \\[train.ray_address].",
        ),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(
            "--retries", min=0, help="Attempts after the first for a failed task \\[train.retries]."
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            min=1,
            help="Parallel local training processes \\[train.jobs; default: available CPUs].",
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
    hyperparameters: Annotated[
        list[str] | None,
        typer.Option(
            "--hp",
            help="A hyperparameter of the chosen --model as KEY=VALUE (repeatable; VALUE is YAML, "
            "e.g. --hp C=3 --hp channels=[32,32,64,64]) \\[train.models.<model>.<key>]. "
            f"{FAMILY_KEYS}",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train a model (svm, cnn_lstm, cnn_lstm_attention, multitask) and register it in MLflow.

    Defaults come from params.yaml (train: section; per-model values under train.models).
    Tracking store: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the current directory.
    """
    from serbias import stages
    from serbias.cli._console import console
    from serbias.cli._train_view import summary_table, training_progress
    from serbias.training.data import training_corpus

    settings = load_params()
    if model is not None and model not in MODELS:
        raise SerbiasError(f"--model {model!r} is not one of {', '.join(MODELS)}")
    if labels is not None and labels not in LABEL_KINDS:
        raise SerbiasError(f"--labels {labels!r} is not one of {', '.join(LABEL_KINDS)}")
    paths = override(settings.paths, features=features, split=split, train=out)
    if bootstrap and cv is None:
        cv = False  # --bootstrap N alone replaces the params' cross-validation
    if cv is False and register_final is None:
        register_final = False  # there is no final model without --cv
    params = override(
        settings.train,
        model=model,
        labels=labels,
        epochs=epochs,
        patience=patience,
        batch_size=batch_size,
        learning_rate=learning_rate,
        schedule=schedule,
        weight_decay=weight_decay,
        class_balance=class_balance,
        label_smoothing=label_smoothing,
        threshold=threshold,
        bootstrap=bootstrap,
        cv=cv,
        register_final=register_final,
        executor=executor,
        ray_address=ray_address,
        retries=retries,
        jobs=jobs,
        seed=seed,
        deterministic=deterministic,
        experiment=experiment,
    )
    params = override_family(params, **parse_hyperparameters(hyperparameters or []))
    paths = replace(paths, data=training_corpus(data, paths.data, paths.features))
    settings = replace(settings, paths=paths, train=params)
    if study:
        if bootstrap is not None or cv:
            raise SerbiasError("--study trains train.study_replicas; drop --bootstrap and --cv")
        with interrupt_on_sigterm(), training_progress(params.study()) as report:
            found = stages.train_study(settings, progress=report, fresh=fresh)
        summary_file = stages.study_summary_file(settings, params.model, params.labels)
        if found is None:
            console.print(f"No study replicas for {params.model} (train.study_replicas) "
                          f"-> {summary_file}")  # fmt: skip
            return
        console.print(summary_table(found))
        console.print(f"Replica summary -> {summary_file}")
        return
    with interrupt_on_sigterm(), training_progress(params) as report:
        result = stages.train(settings, progress=report, fresh=fresh)
    console.print(summary_table(result))
    summary_file = stages.summary_file(settings, result.model, result.labels)
    console.print(f"Validation metrics -> {summary_file}")
