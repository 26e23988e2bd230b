"""Render pandas tables as Rich tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd


def frame_table(frame: pd.DataFrame, *, title: str | None = None, digits: int = 3) -> Table:
    """A Rich table with one column per DataFrame column; floats rounded to ``digits``."""
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        numeric = frame[column].dtype.kind in "iuf"
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row))
    return table
