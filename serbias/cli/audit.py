"""``serbias audit``: per-group metrics and gaps with actor-level uncertainty and baselines."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from serbias.config import load_params, override
from serbias.errors import SerbiasError


def _ages(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise SerbiasError(f"--age-edges {text!r}: expected comma-separated whole ages") from None


def audit(
    predictions: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Prediction CSVs (Filename + emotion columns), or directories of them "
            "\\[paths.predictions]. Not needed with --human-baseline.",
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Corpus directory in CREMA-D layout; audio not needed \\[paths.data]."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory, replaced on every run \\[paths.audit]."),
    ] = None,
    split: Annotated[
        Path | None,
        typer.Option(
            "--split", help="Split JSON: score only the clips of --split-name (default: all)."
        ),
    ] = None,
    split_name: Annotated[
        str | None, typer.Option("--split-name", help="Which split to score \\[audit.split_name].")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="intended (portrayed emotion), observed (crowd voice vote) or both "
            "\\[audit.target].",
        ),
    ] = None,
    decision: Annotated[
        str | None,
        typer.Option(
            "--decision",
            help="threshold: every emotion scoring >= --threshold (the reference study's rule); "
            "argmax: the top emotion \\[audit.decision].",
        ),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Score threshold \\[audit.threshold].")
    ] = None,
    n_boot: Annotated[
        int | None,
        typer.Option("--n-boot", help="Actor-level bootstrap resamples \\[audit.n_boot]."),
    ] = None,
    n_perm: Annotated[
        int | None,
        typer.Option("--n-perm", help="Actor-level permutations per gap \\[audit.n_perm]."),
    ] = None,
    n_chance: Annotated[
        int | None, typer.Option("--n-chance", help="Chance-model shuffles \\[audit.n_chance].")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed \\[audit.seed].")] = None,
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--column-map",
            help="Rename a column, SRC=DST, e.g. angry=Anger (repeatable) \\[audit.column_map].",
        ),
    ] = None,
    reference: Annotated[
        list[str] | None,
        typer.Option(
            "--reference",
            help="Reference group of an axis, AXIS=GROUP, e.g. sex=Male (repeatable; default: "
            "Male, Caucasian, Not Hispanic, the largest age band) \\[audit.reference].",
        ),
    ] = None,
    min_actors: Annotated[
        int | None,
        typer.Option("--min-actors", help="Smaller groups are not compared \\[audit.min_actors]."),
    ] = None,
    confidence: Annotated[
        float | None,
        typer.Option("--confidence", help="Interval level, e.g. 0.95 \\[audit.confidence]."),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(
            "--interval",
            help="jackknife (delete-one-actor t, Welch df; default), studentized (bootstrap-t) "
            "or percentile (the old percentile bootstrap) \\[audit.interval].",
        ),
    ] = None,
    age_edges: Annotated[
        str | None,
        typer.Option(
            "--age-edges",
            help="Age band edges, comma-separated, e.g. 20,30,40,50,75 \\[audit.age_edges].",
        ),
    ] = None,
    human_baseline: Annotated[
        bool | None,
        typer.Option(
            "--human-baseline/--no-human-baseline",
            help="Audit the human listeners (voice-only votes of tabulatedVotes.csv) or not; "
            "default auto: whenever the corpus has voice votes \\[audit.human_baseline].",
            show_default=False,
        ),
    ] = None,
    meaningful_gap: Annotated[
        float | None,
        typer.Option(
            "--meaningful-gap",
            help="Smallest macro-F1 gap worth finding: a design that cannot detect it at 80% "
            "power says 'cannot tell' \\[audit.meaningful_gap].",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Predicted clips missing from the corpus are an error."),
    ] = False,
    track: Annotated[
        bool | None,
        typer.Option(
            "--track/--no-track",
            help="Log the audit as a run of MLflow experiment serbias-audit, linked to the "
            "audited model's run; --no-track needs no tracking store \\[audit.track].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Audit predictions for gender and racial bias: metrics by group with actor-level CIs,
    permutation p-values, a chance model and (optionally) the human listeners as baselines."""
    from serbias import stages
    from serbias.audit import EXPERIMENT
    from serbias.cli._console import console, err_console

    params = load_params()
    paths = override(params.paths, data=data, audit=out)
    settings = override(
        params.audit,
        target=target,
        decision=decision,
        threshold=threshold,
        split_name=split_name,
        n_boot=n_boot,
        n_perm=n_perm,
        n_chance=n_chance,
        seed=seed,
        column_map=tuple(column_map) if column_map else None,
        reference=tuple(reference) if reference else None,
        min_actors=min_actors,
        confidence=confidence,
        interval=interval,
        age_edges=_ages(age_edges),
        human_baseline=human_baseline,
        meaningful_gap=meaningful_gap,
        track=track,
    )
    with err_console.status("auditing") as status:
        output = stages.audit(
            replace(params, paths=paths, audit=settings),
            predictions or [],
            split=split,
            strict=strict,
            progress=lambda message: status.update(message),
        )
    result, files = output.result, output.files
    for table in _verdict_tables(result, console.width):
        console.print(table)
    if len(result.systems) > 1:
        console.print(
            f"All {len(result.findings)} headline gaps (every axis and metric) and each "
            "model's multiple-testing note are in the report.",
            highlight=False,
        )
    else:
        console.print(_summary_table(result))
        for summary in result.finding_summaries.values():
            console.print(summary, highlight=False, soft_wrap=True)
    console.print(f"Report: {files['report_html']}  (metrics: {files['metrics']})", highlight=False)
    if output.run_id is not None:
        console.print(f"MLflow run {output.run_id} (experiment {EXPERIMENT})", highlight=False)


def _summary_table(result):
    """Headline gaps, each with its interval, p-value and the chance model's gap."""
    from rich.table import Table

    from serbias.audit import HUMAN_SYSTEM, metric_phrase, p_text

    level = round(result.settings.confidence * 100)
    table = Table(title="Headline gaps (group minus reference)", title_justify="left")
    for column in ("System", "Target", "Comparison", "Metric"):
        table.add_column(column)
    for column in (f"Gap [{level}% CI]", "p", "Chance (mean ± SD)"):
        table.add_column(column, justify="right")
    for finding in result.findings:
        chance = (
            ""
            if finding.chance_gap != finding.chance_gap
            else (f"{finding.chance_gap:+.3f} ± {finding.chance_sd:.3f}")
        )  # NaN check without numpy
        style = "bold" if finding.excludes_zero and finding.p_adjusted < 0.05 else ""
        table.add_row(
            finding.system,
            finding.target,
            f"{finding.group} vs {finding.reference}",
            metric_phrase(finding.metric, human=finding.system == HUMAN_SYSTEM),
            f"{finding.gap:+.3f} [{finding.ci_low:+.3f}, {finding.ci_high:+.3f}]",
            p_text(finding.p_value),
            chance,
            style=style,
        )
    return table


def _verdict_tables(result, width: int):
    """The report's verdict table, word for word: one row per system and target; on a
    terminal too narrow for it, one table per axis so that every number stays whole."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from serbias.audit import HUMAN_SYSTEM
    from serbias.audit._verdicts import verdict_display

    columns, rows = verdict_display(result.verdicts, listeners=HUMAN_SYSTEM)
    level = round(result.settings.confidence * 100)
    title = (
        f"Verdicts: macro-F1 gap, group minus reference [{level}% CI] "
        f"(meaningful gap {result.settings.meaningful_gap:g})"
    )
    # system over target, values over their intervals: two lines a cell, 80 columns enough
    columns = [f"{columns[0]}\n{columns[1]}", *columns[2:]]
    rows = [[f"{row[0]}\n{row[1]}", *row[2:]] for row in rows]
    head, per_axis = 2, 3  # system/target, macro-F1; then gap, p (BH), verdict per axis
    n_axes = (len(columns) - head) // per_axis
    cells = [[row[0], *(c.replace(" [", "\n[") for c in row[1:])] for row in rows]
    headers = [c.replace(" - ", "\n- ").replace(" gap [CI]", "\ngap [CI]") for c in columns]
    widths = [
        max(len(line) for text in [headers[i], *(r[i] for r in cells)] for line in text.split("\n"))
        for i in range(len(columns))
    ]
    whole = list(range(len(columns)))
    parts = (
        [whole]
        if sum(widths) + 2 * len(columns) <= width or n_axes < 2
        else [
            [*range(head), *range(head + a * per_axis, head + (a + 1) * per_axis)]
            for a in range(n_axes)
        ]
    )
    styles = {"gap found": "bold red", "cannot tell": "yellow", "uninformative": "dim"}
    tables = []
    for part in parts:
        table = Table(
            title=title,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            collapse_padding=True,
        )
        for i in part:
            number = "[CI]" in columns[i] or columns[i] == "p (BH)"
            # every value and verdict whole; a long system name folds when the line is short
            table.add_column(
                headers[i],
                justify="right" if number else "left",
                min_width=widths[i] if i != 0 else None,
                overflow="fold",
            )
        for row in cells:
            table.add_row(*(Text(row[i], style=styles.get(row[i], "")) for i in part))
        tables.append(table)
    return tables
