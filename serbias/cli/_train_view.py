"""Rich views of a training: a progress bar (epochs or replicas) and the final summary table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from serbias.cli._console import err_console

if TYPE_CHECKING:
    from serbias.config import TrainParams
    from serbias.training.run import Progress as TrainProgress
    from serbias.training.run import TrainResult


@contextmanager
def training_progress(params: TrainParams) -> Iterator[Callable[[TrainProgress], None]]:
    """A bar over epochs (one training), replicas (bootstrap) or folds (--cv); yields the
    progress callback (its total comes with the first report for folds)."""
    from serbias.models import family

    unit = "folds" if params.cv else "replicas" if params.bootstrap else "epochs"
    total = params.bootstrap or (params.epochs if family(params.model).has_epochs else 1)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[score]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(f"{params.model} {unit}", total=total, score="")

        def report(event: TrainProgress) -> None:
            score = event.metrics.get("val_macro_f1")
            progress.update(
                task,
                completed=event.completed,
                total=event.total,
                score="" if score is None else f"val macro-F1 {score:.3f}",
            )

        yield report


def summary_table(result: TrainResult) -> Group:
    """Validation F1 per emotion, then the run, registry version and aliases."""
    if result.replicas:
        what = "folds" if result.kind == "cv" else "replicas"
        kind = f" (mean over {len(result.replicas)} {what})"
    elif result.best_epoch is not None:
        kind = f" (best epoch {result.best_epoch} of {result.epochs_run})"
    else:
        kind = ""
    title = Text(f"{result.model} on {result.labels} labels: validation F1{kind}", style="bold")
    table = Table()
    table.add_column("emotion")
    table.add_column("F1", justify="right")
    for emotion, f1 in result.per_emotion_f1.items():
        table.add_row(emotion, f"{f1:.3f}")
    table.add_row(Text("macro", style="bold"), Text(f"{result.macro_f1:.3f}", style="bold"))

    counts = ", ".join(f"{split} {n}" for split, n in result.counts.items())
    excluded = sum(result.excluded.values())
    lines = [f"clips: {counts}" + (f" ({excluded} unlabelled left out)" if excluded else "")]
    lines.append(f"MLflow run {result.run_id} (experiment {result.experiment})")
    if result.version is not None:
        aliases = ", ".join(f"@{alias}" for alias in result.aliases) or "none"
        verdict = "new champion" if result.champion else "champion unchanged"
        lines.append(
            f"registered {result.registered_name} version {result.version} "
            f"(aliases: {aliases}; {verdict})"
        )
    if result.resumed:
        lines.append(f"resumed run: {result.resumed} finished child runs kept, the rest trained")
    if result.kind == "cv":
        lines.append(
            f"{len(result.replicas)} folds as child runs; pooled out-of-fold macro-F1 "
            f"{result.oof_macro_f1:.3f} over every clip (held-out actors); write them with "
            f"`serbias predict --model runs:/{result.run_id}`"
        )
    elif result.replicas:
        lines.append(
            f"{len(result.replicas)} replicas as child runs; predict their out-of-bag clips with "
            f"`serbias predict --bootstrap --model runs:/{result.run_id}`"
        )
    return Group(title, table, *(Text(line) for line in lines))
