"""Read one predictions CSV (ours, a bootstrap replica's, or a third-party system's).

The reference study's format is ``Filename, Anger, Disgust, Fear, Happy, Neutral, Sad``
(probabilities, plus ``Female, Non-Caucasian`` for multitask models). Third-party systems
may cover a subset of emotions, name columns differently (``column_map``) or give 0/1.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.audit._columns import EXTRA_COLUMNS, FILENAME, canonical_column, parse_column_map
from serbias.audit.settings import Decision
from serbias.errors import CorpusWarning, SerbiasError, first_line

_NOT_RECOGNISED = (
    "{path}: no emotion column recognised among {found}; expected some of "
    "{expected} (case-insensitive), or map yours with --column-map SRC=DST (e.g. angry=Anger)"
)
_SHOW = 3  # how many offending names an error message lists


@dataclass(frozen=True)
class Predictions:
    """One system's scores per clip, indexed by clip stem, columns = covered emotion codes."""

    name: str
    source: Path
    scores: pd.DataFrame
    extra: pd.DataFrame

    @property
    def emotions(self) -> tuple[str, ...]:
        """Emotion codes this system covers, in vocabulary order."""
        return tuple(self.scores.columns)

    @property
    def filenames(self) -> pd.Index:
        return self.scores.index

    def decide(self, decision: Decision = "threshold", *, threshold: float = 0.5) -> np.ndarray:
        """Binary decisions (n_clips x n_emotions).

        ``threshold``: every emotion scoring >= ``threshold`` (the reference study's rule at 0.5;
        multi-label, possibly none). ``argmax``: the single top-scoring emotion (first in
        vocabulary order on ties); a row of all zeros (a 0/1 system that abstained) predicts none.
        """
        scores = self.scores.to_numpy(dtype=float)
        if decision == "threshold":
            return scores >= threshold
        if decision == "argmax":
            chosen = np.zeros_like(scores, dtype=bool)
            top = scores.argmax(axis=1)
            rows = np.flatnonzero(scores.max(axis=1) > 0)
            chosen[rows, top[rows]] = True
            return chosen
        raise SerbiasError(f"decision rule {decision!r} is not one of threshold, argmax")

    def subset(self, filenames: Sequence[str] | pd.Index) -> Predictions:
        """The same system restricted to ``filenames`` (in that order)."""
        return Predictions(
            self.name, self.source, self.scores.loc[filenames], self.extra.loc[filenames]
        )


def read_predictions(
    path: Path,
    *,
    column_map: Mapping[str, str] | Sequence[str] | None = None,
    name: str | None = None,
) -> Predictions:
    """Read and validate one predictions CSV; every problem is a :class:`SerbiasError`.

    Filenames may be stems or carry ``.wav`` (or a directory); scores must be numbers in
    [0, 1] with no gaps; unrecognised columns are ignored with a warning.
    """
    path = Path(path)
    mapping = parse_column_map(column_map)
    table = _read_csv(path)
    renamed: dict[str, str] = {}
    ignored: list[str] = []
    for column in table.columns:
        key = str(column).strip()
        canonical = mapping.get(key.casefold()) or canonical_column(key)
        if canonical is None:
            if not key.startswith("Unnamed:") and key:
                ignored.append(key)
            continue
        if canonical in renamed.values():
            other = next(c for c, v in renamed.items() if v == canonical)
            raise SerbiasError(f"{path}: columns {other!r} and {key!r} both mean {canonical}")
        renamed[column] = canonical
    if FILENAME not in renamed.values():
        raise SerbiasError(
            f"{path}: no Filename column (found: {_listing(map(str, table.columns))}); "
            "expected 'Filename' with clip names such as 1001_DFA_ANG_XX"
        )
    table = table[list(renamed)].rename(columns=renamed)
    emotion_names = [n for n in vocab.EMOTION_NAMES if n in table.columns]
    if not emotion_names:
        raise SerbiasError(
            _NOT_RECOGNISED.format(
                path=path,
                found=_listing(ignored) or "none",
                expected=", ".join(vocab.EMOTION_NAMES),
            )
        )
    if ignored:
        warnings.warn(
            f"{path}: ignored column(s) {_listing(ignored)} (map them with --column-map SRC=DST)",
            UserWarning,
            stacklevel=2,
        )
    filenames = _clip_stems(table[FILENAME], path)
    scores = _check_scores(table, emotion_names, filenames, path)
    scores.columns = [vocab.EMOTION_BY_NAME[n] for n in emotion_names]
    extra_names = [n for n in EXTRA_COLUMNS if n in table.columns]
    extra = _check_scores(table, extra_names, filenames, path)
    return Predictions(name or path.stem, path, scores, extra)


def check_against_corpus(
    predictions: Predictions, corpus_filenames: pd.Index | set[str], *, strict: bool = False
) -> Predictions:
    """Drop clips the corpus does not have: a :class:`CorpusWarning`, or an error when strict."""
    known = predictions.filenames.isin(list(corpus_filenames))
    if known.all():
        return predictions
    unknown = list(predictions.filenames[~known])
    message = (
        f"{predictions.source}: {len(unknown)} of {len(known)} predicted clip(s) are not in the "
        f"corpus (e.g. {_listing(unknown)})"
    )
    if strict:
        raise SerbiasError(message)
    warnings.warn(message + "; they are not scored", CorpusWarning, stacklevel=2)
    return predictions.subset(predictions.filenames[known])


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise SerbiasError(f"{path}: predictions file not found")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        reason = first_line(exc)
        raise SerbiasError(f"{path}: unreadable CSV ({reason})") from None
    if table.empty:
        raise SerbiasError(f"{path}: no prediction rows")
    return table


def _clip_stems(column: pd.Series, path: Path) -> pd.Index:
    """Clip stems from names that may carry a directory or a .wav suffix."""
    stems = column.str.strip().str.replace(r"^.*[\\/]", "", regex=True)
    stems = stems.str.replace(re.compile(r"\.wav$", re.IGNORECASE), "", regex=True)
    empty = np.flatnonzero(stems.eq("").to_numpy())
    if len(empty):
        raise SerbiasError(f"{path}: column Filename is empty on row {empty[0] + 2}")
    duplicated = stems[stems.duplicated()].unique()
    if len(duplicated):
        raise SerbiasError(
            f"{path}: {len(duplicated)} clip(s) predicted more than once in column Filename "
            f"(e.g. {_listing(duplicated)})"
        )
    return pd.Index(stems.to_numpy(), name="filename")


def _check_scores(
    table: pd.DataFrame, columns: list[str], filenames: pd.Index, path: Path
) -> pd.DataFrame:
    """Numeric scores in [0, 1]; the first bad value is reported by column, row and clip."""
    checked = {}
    for column in columns:
        values = pd.to_numeric(table[column].str.strip(), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~((values >= 0.0) & (values <= 1.0)))
        if len(bad):
            row = int(bad[0])
            raw = table[column].iloc[row]
            shown = repr(raw) if raw.strip() else "an empty value"
            raise SerbiasError(
                f"{path}: column {column} row {row + 2} ({filenames[row]}) has {shown}; "
                f"expected a probability in [0, 1] ({len(bad)} bad value(s) in this column)"
            )
        checked[column] = values
    return pd.DataFrame(checked, index=filenames, columns=columns)


def _listing(names) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(names[:_SHOW])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _SHOW else "")
