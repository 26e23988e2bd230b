"""Features and targets of the clips a training uses, in one array with named row sets."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from serbias import vocab
from serbias.errors import CorpusWarning, SerbiasError
from serbias.labels import demographic_labels, emotion_labels
from serbias.models.base import EMOTION_OUTPUT
from serbias.models.families import family as model_family

TRAINING_SPLITS = ("train", "val")
#: Key prefix of the target arrays in :meth:`TrainingData.arrays`.
TARGET_PREFIX = "target."


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Features ``X`` of every clip a training may use, its targets per model output and the
    rows of each split (``rows["train"]``, ``rows["val"]``); unlabelled clips are left out.

    ``feature_params`` are the parameters the features were computed with (what the model
    records); ``split_fingerprint`` is the SHA-256 of the split file that chose the clips.
    """

    kind: str
    X: np.ndarray
    filenames: np.ndarray
    targets: dict[str, np.ndarray]
    rows: dict[str, np.ndarray]
    manifest: dict[str, Any]
    excluded: dict[str, int] = field(default_factory=dict)
    columns: np.ndarray | None = None
    feature_params: dict[str, Any] = field(default_factory=dict)
    split_fingerprint: str = "unknown"
    n_folds: int = 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.X.shape[1:])

    def counts(self) -> dict[str, int]:
        return {split: len(rows) for split, rows in self.rows.items()}

    def split_filenames(self, split: str) -> np.ndarray:
        """Clip stems of one split, in split-file order."""
        return self.filenames[self.rows[split]]

    def split_targets(self, split: str) -> dict[str, np.ndarray]:
        """Targets (by output name) of one split."""
        return {name: values[self.rows[split]] for name, values in self.targets.items()}

    def targets_at(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Targets (by output name) of some rows."""
        return {name: values[rows] for name, values in self.targets.items()}

    def rows_of(self, filenames: list[str]) -> np.ndarray:
        """The rows of some clips (by stem)."""
        row = {str(stem): i for i, stem in enumerate(self.filenames)}
        return np.asarray([row[name] for name in filenames], dtype=np.int64)

    def arrays(self) -> dict[str, np.ndarray]:
        """The big arrays an executor shares with its workers: ``X`` and ``target.<output>``."""
        return {"X": self.X, **{TARGET_PREFIX + k: v for k, v in self.targets.items()}}


def targets_of(arrays: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """Target arrays (by output name) of ``rows`` from :meth:`TrainingData.arrays`."""
    return {
        key[len(TARGET_PREFIX) :]: np.asarray(value[rows])
        for key, value in arrays.items()
        if key.startswith(TARGET_PREFIX)
    }


def fold_set(fold: int, part: str) -> str:
    """The row-set name of one part (train, val, test) of cross-validation fold ``fold``."""
    return f"fold-{fold:03d}/{part}"


def final_sets(fold_lists: list[dict[str, list[str]]]) -> dict[str, list[str]]:
    """The train/val clips of a split file with folds when it is not cross-validated: every
    actor but fold 0's validation actors to train on, those to pick the best epoch (the final
    model of ``train --cv --register-final`` and the pool bootstrap replicas resample)."""
    val = fold_lists[0]["val"]
    held = set(val)
    every = sorted({stem for fold in fold_lists for stem in fold["test"]})
    return {"train": [stem for stem in every if stem not in held], "val": list(val)}


def training_corpus(given: Path | None, configured: Path, features_dir: Path) -> Path:
    """The corpus a training reads labels from: ``given`` (``--data``) when set, else
    ``configured`` (``paths.data``) when it exists, else the corpus the feature store was
    extracted from, if it still exists and still has the fingerprint the store recorded.
    """
    from serbias.corpus.reader import corpus_fingerprint
    from serbias.features.store import MANIFEST, read_manifest, recorded_corpus

    if given is not None:
        return Path(given)
    if Path(configured).is_dir():
        return Path(configured)
    manifest = Path(features_dir) / MANIFEST
    recorded = recorded_corpus(features_dir) if manifest.is_file() else None
    if recorded is None or not recorded.is_dir():
        if not manifest.is_file():
            what = "does not exist"
        else:
            what = "records no corpus" if recorded is None else f"records {recorded} (not found)"
        raise SerbiasError(
            f"no corpus to train on: --data not given, paths.data {configured} not found, and "
            f"{manifest} {what}; pass --data"
        )
    if corpus_fingerprint(recorded) != read_manifest(features_dir).get("corpus_fingerprint"):
        raise SerbiasError(
            f"{recorded}: the corpus changed since {features_dir} was extracted from it "
            "(fingerprint differs); re-run `serbias extract` or pass --data"
        )
    return recorded


def load_training_data(
    features_dir: Path,
    data_dir: Path,
    *,
    model: str,
    labels: str,
    split_file: Path,
    folds: bool = False,
) -> TrainingData:
    """Features of ``model``'s kind for the clips ``split_file`` names, with targets from the
    corpus at ``data_dir``: its train and val sets (of a split file with folds:
    :func:`final_sets`), or with ``folds`` every cross-validation fold's train, val and test
    sets (rows :func:`fold_set`; each clip loaded once).

    Refuses empty train/val sets, clips the corpus does not know, clips the feature store lacks
    (naming them) and non-finite features (naming the clips); clips without a label of this
    kind (unrated, for ``observed``) are left out and counted; a class absent from the
    training clips is a warning. Only the rows used are read from the store.
    """
    from serbias.corpus.reader import file_sha256, read_corpus
    from serbias.corpus.split import load_folds, load_split
    from serbias.features.store import load_features, read_manifest, store_file

    family = model_family(model)
    features_dir = Path(features_dir)
    manifest = read_manifest(features_dir)
    split = load_split(split_file)
    fold_lists = load_folds(split_file)
    if folds and not fold_lists:
        raise SerbiasError(
            f"{split_file}: --cv needs a split file with folds (run `serbias split --folds K`)"
        )
    if folds:
        sets = {fold_set(k, part): fold[part] for k, fold in enumerate(fold_lists)
                for part in ("train", "val", "test")}  # fmt: skip
    elif fold_lists:
        sets = final_sets(fold_lists)
    else:
        sets = {name: split[name] for name in TRAINING_SPLITS}
    clips = read_corpus(Path(data_dir), require_audio=False).set_index("filename", drop=False)

    for name, stems in sets.items():
        if not stems and not name.endswith("test"):
            raise SerbiasError(f"{split_file}: the {name} split is empty")
        unknown = [stem for stem in stems if stem not in clips.index]
        if unknown:
            raise SerbiasError(
                f"{split_file}: {len(unknown)} {name} clip(s) are not in the corpus {data_dir} "
                f"(e.g. {', '.join(unknown[:3])}); is it the split of another corpus?"
            )
    union = list(dict.fromkeys(stem for stems in sets.values() for stem in stems))
    table = clips.loc[union].reset_index(drop=True)
    emotions = emotion_labels(table, labels)
    keep = emotions.sum(axis=1) > 0
    kept = np.asarray(union)[keep]
    row_of = {stem: row for row, stem in enumerate(kept)}
    rows, excluded = {}, {}
    for name, stems in sets.items():
        rows[name] = np.asarray([row_of[s] for s in stems if s in row_of], dtype=np.int64)
        excluded[name] = len(stems) - len(rows[name])
        if stems and not len(rows[name]) and not name.endswith("test"):
            raise SerbiasError(
                f"{split_file}: no {name} clip has {labels} labels ({excluded[name]} unrated)"
            )
    targets = {EMOTION_OUTPUT: emotions[keep]}
    if len(family.outputs) > 1:
        targets.update({head: values[keep] for head, values in demographic_labels(table).items()})

    features = load_features(features_dir, family.feature_kind, kept.tolist())
    check_finite(features.X, features.filenames, features_dir / store_file(family.feature_kind))
    train_sets = [name for name in rows if name.endswith("train")]
    _warn_absent_classes(targets[EMOTION_OUTPUT][np.concatenate([rows[n] for n in train_sets])],
                         labels)  # fmt: skip
    return TrainingData(
        kind=family.feature_kind,
        X=features.X,
        filenames=features.filenames,
        targets=targets,
        rows=rows,
        manifest=manifest,
        excluded=excluded,
        columns=features.columns,
        feature_params=features.params,
        split_fingerprint=file_sha256(split_file),
        n_folds=len(fold_lists) if folds else 0,
    )


def check_finite(X: np.ndarray, filenames: np.ndarray, where: Path | str) -> None:
    """Refuse NaN or infinite features, naming the first clips that have them."""
    bad = ~np.isfinite(X.reshape(len(X), -1)).all(axis=1)
    if bad.any():
        names = [str(name) for name in np.asarray(filenames)[bad]]
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        raise SerbiasError(
            f"{where}: NaN or infinite features in {len(names)} clip(s): "
            f"{', '.join(names[:5])}{more}; re-extract them"
        )


def _warn_absent_classes(emotions: np.ndarray, labels: str) -> None:
    absent = [vocab.EMOTION_NAMES[k] for k in range(emotions.shape[1]) if emotions[:, k].sum() == 0]
    if absent:
        warnings.warn(
            f"no training clip has the {labels} label {', '.join(absent)}; the model cannot "
            "learn it (training anyway)",
            CorpusWarning,
            stacklevel=3,
        )
