"""A Rich progress bar counting clips, with throughput, drawn on stderr."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from serbias.cli._console import err_console


class ClipRate(ProgressColumn):
    """Clips per second so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("? clips/s" if speed is None else f"{speed:,.0f} clips/s", style="cyan")


@contextmanager
def clip_progress(total: int | None, description: str) -> Iterator[Callable[..., None]]:
    """Show a bar for ``total`` clips; yields the callback that advances it by n clips
    (``advance(n, total=...)`` also sets the total, for callers that learn it late)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        ClipRate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int, total: int | None = None) -> None:
            if total is not None:
                progress.update(task, total=total)
            progress.advance(task, n)

        yield advance
