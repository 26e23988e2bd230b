"""``serbias extract``: every registered feature kind, for every clip of the corpus."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from serbias.config import load_params, override
from serbias.errors import SerbiasError
from serbias.features import KINDS

#: ``--kind all`` asks for every registered kind.
ALL = "all"
KIND_HELP = f"{', '.join(KINDS.names())} or {ALL} (every kind) \\[extract.kinds]."


def extract(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Corpus directory in CREMA-D layout \\[paths.data]."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Feature store directory \\[paths.features].")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help=KIND_HELP)] = None,
    sample_rate: Annotated[
        int | None,
        typer.Option(
            "--sample-rate",
            help="Every clip is resampled once to this rate \\[extract.sample_rate].",
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            help="Seconds fixed-length kinds (log-mel) pad or cut to \\[extract.duration].",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", min=1, help="Worker processes \\[extract.jobs; default every core]."
        ),
    ] = None,
    skip_bad: Annotated[
        bool,
        typer.Option(
            "--skip-bad",
            help="Leave unreadable or missing clips out (listed in the manifest) instead of "
            "stopping \\[extract.skip_bad].",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Recompute even if the store is up to date.")
    ] = False,
) -> None:
    """Extract features of every clip into the feature store (skipped when current).

    Splits and folds select their rows when they load, so a new split needs no extraction.
    """
    from serbias import stages
    from serbias.cli._console import console, err_console
    from serbias.cli._progress import clip_progress

    if kind is not None and kind != ALL and kind not in KINDS:
        raise SerbiasError(f"--kind {kind!r} is not one of {', '.join([*KINDS, ALL])}")
    settings = load_params()
    paths = override(settings.paths, data=data, features=out)
    kinds = None if kind is None else tuple(KINDS) if kind == ALL else (kind,)
    params = override(
        settings.extract,
        kinds=kinds,
        jobs=jobs,
        skip_bad=skip_bad or None,
        sample_rate=sample_rate,
        duration=duration,
    )
    with clip_progress(None, f"extracting {' + '.join(params.kinds)}") as advance:
        summary = stages.extract(
            replace(settings, paths=paths, extract=params), force=force, progress=advance
        )

    for clip in summary.bad:
        err_console.print(f"[yellow]skipped:[/] {clip.filename}: {clip.reason}", highlight=False)
    if summary.up_to_date:
        console.print(
            f"Up to date: {summary.out_dir} already holds {' + '.join(summary.kinds)} features "
            f"of the {summary.clips} clips for this corpus and these extract parameters; "
            "nothing to do (--force recomputes).",
            highlight=False,
        )
        return
    for name, shape in summary.shapes.items():
        console.print(f"  {name:<22} {' x '.join(map(str, shape))}", highlight=False)
    rate = summary.clips_extracted / summary.seconds if summary.seconds else 0.0
    console.print(
        f"Extracted {' + '.join(summary.kinds)} for {summary.clips_extracted} clips "
        f"in {summary.seconds:.1f} s ({rate:,.0f} clips/s, {summary.jobs} jobs, "
        f"{summary.cpu_seconds:.0f} CPU-s) -> "
        f"{summary.out_dir}",
        highlight=False,
    )
    if summary.bad:
        manifest = summary.out_dir / "manifest.json"
        console.print(f"Left out {len(summary.bad)} bad clip(s); they are listed in {manifest}")
