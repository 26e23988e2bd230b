"""``serbias synth``: write the embedded synthetic CREMA-D corpus."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from serbias.config import load_params, override
from serbias.errors import SerbiasError


def synth(
    out_dir: Annotated[
        Path,
        typer.Argument(
            help="Directory to write the corpus to (CREMA-D layout); refused if not empty.",
            file_okay=False,
        ),
    ],
    actors: Annotated[
        int | None, typer.Option("--actors", help="Number of actors, 2..91 \\[synth.actors].")
    ] = None,
    sentences: Annotated[
        int | None,
        typer.Option(
            "--sentences", help="First N of the 12 CREMA-D sentences \\[synth.sentences]."
        ),
    ] = None,
    full: Annotated[
        bool | None,
        typer.Option(
            "--full/--no-full",
            help="All 12 sentences, leaving out the recordings real CREMA-D lacks "
            "(with --actors 91: its 7,442 clips) \\[synth.full].",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed \\[synth.seed; default base.seed].")
    ] = None,
    bias: Annotated[
        list[str] | None,
        typer.Option(
            "--bias",
            help="Plant a bias, GROUP=VALUE:STRENGTH (repeatable): GROUP is sex, race, race_binary "
            "or ethnicity; the group's emotion cues move toward neutral by STRENGTH in [0, 1], "
            "e.g. 'sex=Female:0.8' \\[synth.bias].",
        ),
    ] = None,
    no_bias: Annotated[
        bool,
        typer.Option("--no-bias", help="Plant no bias, whatever synth.bias says."),
    ] = False,
    raters: Annotated[
        int | None,
        typer.Option(
            "--raters",
            help="Simulated raters per clip and modality; each clip gets 3 fewer to 2 more "
            "\\[synth.raters].",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", help="Worker processes rendering audio \\[synth.jobs; default: CPUs]."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty OUT_DIR.")] = False,
) -> None:
    """Write a synthetic corpus in the CREMA-D layout, with known ground truth in synth.json."""
    from rich.table import Table

    from serbias import stages
    from serbias.cli._console import console
    from serbias.cli._progress import clip_progress
    from serbias.corpus.synth import count_clips

    settings = load_params()
    if no_bias and bias:
        raise SerbiasError("--no-bias with --bias: choose one")
    params = override(
        settings.synth,
        actors=actors,
        sentences=sentences,
        full=full,
        seed=seed,
        bias=() if no_bias else tuple(bias) if bias else None,
        raters=raters,
        jobs=jobs,
    )

    total = count_clips(params.actors, sentences=params.sentences, full=params.full)
    with clip_progress(total, "synth") as advance:
        summary = stages.synth(
            replace(settings, synth=params), out_dir, force=force, progress=advance
        )

    table = Table(title=f"Wrote {summary.out_dir}", title_justify="left")
    for name in ("sex", "race", "actors", "clips"):
        table.add_column(name, justify="right" if name in ("actors", "clips") else "left")
    for group in summary.groups:
        table.add_row(group.sex, group.race, str(group.actors), str(group.clips))
    table.add_row("all", "", str(summary.n_actors), str(summary.n_clips), style="bold")
    console.print(table)
    console.print(
        f"{summary.n_clips} clips, {summary.audio_seconds / 60:.1f} min of audio, "
        f"sentences {' '.join(summary.sentences)}, seed {summary.seed}"
    )
    console.print(
        f"Simulated voice-only rater accuracy {summary.voice_accuracy:.1%} (real CREMA-D: 40.0%)"
    )
    console.print(f"Planted bias: {', '.join(summary.bias) if summary.bias else 'none'}")
    console.print(f"Ground truth: {summary.manifest}")
