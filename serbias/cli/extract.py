"""``serbias extract``: log-mel spectrograms and SVM features for every split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from serbias.config import load_params, override
from serbias.errors import SerbiasError

KIND_CHOICES = {"logmel": ("logmel",), "svm": ("svm",), "all": ("logmel", "svm")}


def extract(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Corpus directory in CREMA-D layout \\[paths.data]."),
    ] = None,
    split: Annotated[
        Path | None,
        typer.Option("--split", help="Split JSON from `serbias split` \\[paths.split]."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Feature store directory \\[paths.features].")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="logmel (CNN input), svm (hand-crafted statistics) or all \\[extract.kinds].",
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
    """Extract log-mel spectrograms and SVM features into a feature store (skipped when current)."""
    from serbias.cli._console import console, err_console
    from serbias.cli._progress import clip_progress
    from serbias.corpus.reader import corpus_fingerprint, file_sha256, read_corpus
    from serbias.corpus.split import load_split
    from serbias.features.extract import extract_features

    if kind is not None and kind not in KIND_CHOICES:
        raise SerbiasError(f"--kind {kind!r} is not one of {', '.join(KIND_CHOICES)}")
    settings = load_params()
    paths = override(settings.paths, data=data, split=split, features=out)
    params = override(
        settings.extract,
        kinds=KIND_CHOICES[kind] if kind else None,
        jobs=jobs,
        skip_bad=skip_bad or None,
    )
    clips = read_corpus(paths.data)
    # clips missing from the corpus are extract's to report (or to skip with --skip-bad)
    splits = load_split(paths.split)
    fingerprints = {
        "corpus_fingerprint": corpus_fingerprint(paths.data),
        "split_fingerprint": file_sha256(paths.split),
    }
    total = sum(len(stems) for stems in splits.values())
    with clip_progress(total, f"extracting {' + '.join(params.kinds)}") as advance:
        summary = extract_features(
            clips,
            splits,
            paths.features,
            params=params,
            kinds=params.kinds,
            jobs=params.jobs,
            skip_bad=params.skip_bad,
            progress=advance,
            force=force,
            **fingerprints,
        )

    for clip in summary.bad:
        err_console.print(
            f"[yellow]skipped:[/] {clip.filename} ({clip.split}): {clip.reason}", highlight=False
        )
    counts = ", ".join(f"{name} {n}" for name, n in summary.counts.items())
    if summary.up_to_date:
        console.print(
            f"Up to date: {summary.out_dir} already holds {' + '.join(summary.kinds)} features "
            f"for this corpus, split and extract parameters ({counts}); nothing to do "
            "(--force recomputes).",
            highlight=False,
        )
        return
    for name, shape in summary.shapes.items():
        console.print(f"  {name:<22} {' x '.join(map(str, shape))}", highlight=False)
    rate = summary.clips_extracted / summary.seconds if summary.seconds else 0.0
    console.print(
        f"Extracted {' + '.join(summary.kinds)} for {summary.clips_extracted} clips ({counts}) "
        f"in {summary.seconds:.1f} s ({rate:,.0f} clips/s, {summary.jobs} jobs, "
        f"{summary.cpu_seconds:.0f} CPU-s) -> "
        f"{summary.out_dir}",
        highlight=False,
    )
    if summary.bad:
        manifest = summary.out_dir / "manifest.json"
        console.print(f"Left out {len(summary.bad)} bad clip(s); they are listed in {manifest}")
