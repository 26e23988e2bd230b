"""``serbias split``: write the train/val/test split of a corpus."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from serbias.config import load_params, override


def split(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Corpus directory in CREMA-D layout \\[paths.data]."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Split JSON to write \\[paths.split].")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="speaker: actor-disjoint splits (default). clip: the reference study's split, "
            "clips stratified by sex x race; it LEAKS speakers across splits and overstates "
            "accuracy, use it only to compare with the study \\[split.mode].",
        ),
    ] = None,
    train: Annotated[
        float | None, typer.Option("--train", help="Train fraction \\[split.train].")
    ] = None,
    val: Annotated[
        float | None, typer.Option("--val", help="Validation fraction \\[split.val].")
    ] = None,
    test: Annotated[
        float | None, typer.Option("--test", help="Test fraction \\[split.test].")
    ] = None,
    folds: Annotated[
        int | None,
        typer.Option(
            "--folds",
            help="K >= 2: K speaker-grouped cross-validation folds (every actor tested once, in "
            "one fold; train/val drawn from the other actors by --train/--val); 0: one "
            "train/val/test split \\[split.folds].",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed \\[split.seed; default base.seed].")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Unrated clips are an error.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing split file.")] = False,
) -> None:
    """Split a corpus into train/val/test and print clips and actors per sex x race."""
    from serbias import stages
    from serbias.cli._console import console
    from serbias.cli._tables import frame_table
    from serbias.corpus.split import split_summary, summary_path

    settings = load_params()
    paths = override(settings.paths, data=data, split=out)
    if mode == "clip" and folds is None:
        folds = 0  # clip splits have no folds: --mode clip alone overrides split.folds
    params = override(
        settings.split, mode=mode, train=train, val=val, test=test, folds=folds, seed=seed
    )
    done = stages.split(replace(settings, paths=paths, split=params), strict=strict, force=force)
    clips, result = done.clips, done.result
    verb = "Reused" if result.reused else "Wrote"
    title = f"{verb} {paths.split} ({result.mode} split, seed {result.seed})"
    console.print(frame_table(split_summary(clips, result.splits), title=title))
    if not result.reused:
        console.print(f"Counts written to {summary_path(paths.split)}")
