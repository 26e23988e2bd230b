"""Column names of a predictions CSV and the ``--column-map`` that renames a third party's.

Only the standard library is imported here, so the settings can check a column map
without pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from serbias import vocab
from serbias.errors import SerbiasError
from serbias.text import split_pair

FILENAME: Final = "Filename"
#: Demographic heads of a multitask model; read and range-checked, not scored.
EXTRA_COLUMNS: Final = tuple(positive for _, positive, _ in vocab.DEMOGRAPHIC_HEADS.values())
#: Every column name a predictions CSV may use (matched case-insensitively).
CANONICAL_COLUMNS: Final = (FILENAME, *vocab.EMOTION_NAMES, *EXTRA_COLUMNS)


def parse_column_map(pairs: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """Turn ``["angry=Anger", ...]`` into ``{"angry": "Anger"}``, checking every target name.

    Targets may be column names (``Anger``, ``Filename``, ``Female``) or emotion codes
    (``ANG``), in any case.
    """
    if not pairs:
        return {}
    items = (
        list(pairs.items())
        if isinstance(pairs, Mapping)
        else [
            split_pair(p, what="column map", form="SRC=DST", example="angry=Anger") for p in pairs
        ]
    )
    mapping: dict[str, str] = {}
    for source, target in items:
        canonical = canonical_column(target)
        if canonical is None:
            raise SerbiasError(
                f"column map {source}={target}: {target!r} is not one of "
                f"{', '.join(CANONICAL_COLUMNS)}"
            )
        mapping[source.strip().casefold()] = canonical
    return mapping


def canonical_column(column: str) -> str | None:
    """The canonical column a name means (case-insensitive name or emotion code), or None."""
    key = column.strip().casefold()
    for canonical in CANONICAL_COLUMNS:
        if key == canonical.casefold():
            return canonical
    for code, emotion_name in vocab.NAME_BY_EMOTION.items():
        if key == code.casefold():
            return emotion_name
    return None
