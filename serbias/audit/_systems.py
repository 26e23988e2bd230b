"""The systems to audit: prediction CSVs read, restricted to the corpus and split, named.

Each CSV is one system named by its file stem, unless several CSVs are bootstrap replicas
of one model: those are pooled into one out-of-bag ensemble (see :mod:`._replicas`). A
subdirectory of a given directory is one such replica set, named by the subdirectory (the
pipeline's ``outputs/predictions/<model>-<labels>-bootstrap/replica_NNN.csv``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serbias.audit._predictions import Predictions, check_against_corpus, read_predictions
from serbias.audit._replicas import oob_ensemble, replica_family
from serbias.errors import SerbiasError


@dataclass(frozen=True)
class LoadedSystem:
    """One system's predictions of corpus clips in scope, and how many rows were dropped."""

    predictions: Predictions
    #: the CSVs read (several for pooled bootstrap replicas)
    sources: tuple[Path, ...]
    #: rows in its CSV(s)
    n_predicted: int
    n_not_in_corpus: int
    n_outside_split: int
    #: bootstrap replicas pooled into it (0: a single CSV)
    n_replicas: int = 0

    @property
    def name(self) -> str:
        return self.predictions.name


def load_systems(
    paths: Sequence[Path],
    corpus_names: set[str],
    scope: set[str] | None,
    *,
    split_name: str,
    column_map: Sequence[str],
    strict: bool = False,
    say: Callable[[str], None] = lambda _message: None,
) -> list[LoadedSystem]:
    """Read every CSV (a directory stands for its ``*.csv``), keep clips of the corpus in
    ``scope`` (None: all), and name each system by its stem (with its directory on a clash)."""
    systems = []
    for path in expand_paths(paths):
        say(f"reading {path}")
        raw = read_predictions(path, column_map=column_map)
        known = check_against_corpus(raw, corpus_names, strict=strict)
        in_scope = (
            known.filenames.isin(list(scope))
            if scope is not None
            else np.ones(len(known.filenames), bool)
        )
        if not in_scope.any():
            raise SerbiasError(
                f"{path}: none of its {len(known.filenames)} predicted corpus clip(s) is in split "
                f"{split_name!r} ({len(scope)} clips); check --split and --split-name"
            )
        systems.append(
            LoadedSystem(
                predictions=known.subset(known.filenames[in_scope]),
                sources=(known.source,),
                n_predicted=len(raw.filenames),
                n_not_in_corpus=len(raw.filenames) - len(known.filenames),
                n_outside_split=int((~in_scope).sum()),
            )
        )
    return _named(systems)


def pool_replicas(
    systems: list[LoadedSystem], replicas: bool | None, *, name: str | None = None
) -> LoadedSystem | None:
    """The out-of-bag ensemble of ``systems`` when they are bootstrap replicas of one model
    (``replicas=None``: judged from their names and clip sets; True: whenever two or more;
    ``name``: a replica set of one or more, named so)."""
    predictions = [system.predictions for system in systems]
    family = replica_family(predictions) if replicas is not False else None
    if replicas and family is None and len(systems) >= 2:
        family = Path(systems[0].predictions.source).stem
    if name is not None and systems:
        family = name
    if family is None:
        return None
    return LoadedSystem(
        predictions=oob_ensemble(predictions, family),
        sources=tuple(p.source for p in predictions),
        n_predicted=sum(s.n_predicted for s in systems),
        n_not_in_corpus=sum(s.n_not_in_corpus for s in systems),
        n_outside_split=sum(s.n_outside_split for s in systems),
        n_replicas=len(systems),
    )


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given; a directory stands for the ``*.csv`` files in it (sorted)."""
    expanded: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(path.glob("*.csv"))
            if not found and not replica_dirs([path]):
                raise SerbiasError(f"{path}: directory holds no .csv predictions")
            expanded.extend(found)
        else:
            expanded.append(path)
    return expanded


def replica_dirs(paths: Sequence[Path]) -> list[Path]:
    """The subdirectories of the given directories that hold ``*.csv`` predictions: one set of
    bootstrap replicas each (an empty one, e.g. of a family trained without replicas, is
    skipped)."""
    return [
        sub
        for path in map(Path, paths)
        if path.is_dir()
        for sub in sorted(p for p in path.iterdir() if p.is_dir())
        if any(sub.glob("*.csv"))
    ]


def _named(systems: list[LoadedSystem]) -> list[LoadedSystem]:
    """Systems are named by file stem, with the parent directory when stems collide."""
    stems = [s.predictions.source.stem for s in systems]
    named = []
    for system in systems:
        p = system.predictions
        name = p.name
        if stems.count(p.source.stem) > 1:
            name = f"{p.source.parent.name}/{p.source.stem}"
        renamed = Predictions(name, p.source, p.scores, p.extra)
        named.append(dataclasses.replace(system, predictions=renamed))
    names = [s.name for s in named]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SerbiasError(f"prediction file {duplicated[0]!r} is given twice")
    return named
