"""Read a directory in the CREMA-D layout into one tidy clip table.

Layout (upstream CheyneyComputerScience/CREMA-D)::

    AudioWAV/AAAA_SSS_EEE_LL.wav          actor, sentence, emotion, level
    VideoDemographics.csv                 ActorID, Age, Sex, Race, Ethnicity
    processedResults/summaryTable.csv     majority votes per modality (ties as "A:N")
    processedResults/tabulatedVotes.csv   optional; vote counts, 3 rows per clip

Without ``AudioWAV/`` (``require_audio=False``), the clips are those rated in summaryTable.csv,
which is how the metadata-only copy of the real corpus is read.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from serbias import vocab
from serbias.errors import CorpusWarning, SerbiasError, first_line

AUDIO_DIR = "AudioWAV"
DEMOGRAPHICS_CSV = "VideoDemographics.csv"
SUMMARY_CSV = "processedResults/summaryTable.csv"
VOTES_CSV = "processedResults/tabulatedVotes.csv"

CLIP_NAME = re.compile(
    r"^(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>[A-Z]{3})_(?P<level>[A-Z]{2})$"
)
DEMOGRAPHIC_COLUMNS = ("ActorID", "Age", "Sex", "Race", "Ethnicity")
SUMMARY_COLUMNS = ("FileName", "VoiceVote", "VoiceLevel")
VOTE_COLUMNS = ("fileName", *vocab.VOTE_LETTERS)

#: Columns of the clip table, in order (vote-count columns follow when present).
CLIP_COLUMNS = (
    "filename", "path", "actor_id", "sentence", "emotion", "level",
    "sex", "race", "race_binary", "ethnicity", "age", "voice_vote", "voice_level",
)  # fmt: skip


def vote_columns(modality: str) -> list[str]:
    """Vote-count column names of one modality (``voice``, ``face`` or ``av``)."""
    return [f"{modality}_{letter}" for letter in vocab.VOTE_LETTERS]


def read_corpus(root: Path, *, require_audio: bool = True, strict: bool = False) -> pd.DataFrame:
    """Return one row per clip with its labels, speaker demographics and crowd ratings.

    ``require_audio=False`` accepts a metadata-only directory (clips come from summaryTable).
    Clips without ratings are kept with an empty ``voice_vote`` and a :class:`CorpusWarning`;
    with ``strict=True`` they are an error.
    """
    root = Path(root)
    if not root.is_dir():
        raise SerbiasError(f"{root}: corpus directory not found")
    demographics = _read_demographics(root / DEMOGRAPHICS_CSV)
    summary = _read_summary(root / SUMMARY_CSV)

    audio_dir = root / AUDIO_DIR
    if audio_dir.is_dir():
        wavs = sorted(p for p in audio_dir.iterdir() if p.suffix.lower() == ".wav")
        if not wavs:
            raise SerbiasError(f"{audio_dir}: no .wav files found")
        stems = [p.stem for p in wavs]
        paths: list[str | None] = [str(p.resolve()) for p in wavs]
        source = audio_dir
    elif require_audio:
        raise SerbiasError(f"{audio_dir}: audio directory not found (expected CREMA-D layout)")
    else:
        stems = sorted(summary.index)
        paths = [None] * len(stems)
        source = root / SUMMARY_CSV

    clips = _parse_names(stems, source)
    clips.insert(1, "path", paths)
    clips = _join_demographics(clips, demographics, root / DEMOGRAPHICS_CSV)
    clips = _join_summary(clips, summary, root / SUMMARY_CSV, strict=strict)
    votes_path = root / VOTES_CSV
    if votes_path.is_file():
        clips = clips.join(_read_votes(votes_path), on="filename")
    return clips.reset_index(drop=True)


def _read_csv(path: Path, required: tuple[str, ...], **kwargs) -> pd.DataFrame:
    if not path.is_file():
        raise SerbiasError(f"{path}: file not found (expected CREMA-D layout)")
    try:
        table = pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        reason = first_line(exc)
        raise SerbiasError(f"{path}: unreadable CSV ({reason})") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise SerbiasError(f"{path}: missing column(s) {', '.join(missing)}")
    return table


def _read_demographics(path: Path) -> pd.DataFrame:
    table = _read_csv(path, DEMOGRAPHIC_COLUMNS)
    for column, allowed in (
        ("Sex", vocab.SEXES),
        ("Race", vocab.RACES),
        ("Ethnicity", vocab.ETHNICITIES),
    ):
        bad = sorted(set(table[column].astype(str)) - set(allowed))
        if bad:
            raise SerbiasError(
                f"{path}: column {column} has {bad[0]!r}, expected one of {', '.join(allowed)}"
            )
    for column in ("ActorID", "Age"):
        values = pd.to_numeric(table[column], errors="coerce")
        if values.isna().any():
            row = int(values.isna().to_numpy().argmax())
            raise SerbiasError(f"{path}: column {column} row {row + 2} is not a whole number")
        table[column] = values.astype(int)
    dupes = table["ActorID"][table["ActorID"].duplicated()]
    if len(dupes):
        raise SerbiasError(f"{path}: actor {dupes.iloc[0]} is listed twice")
    return table.set_index("ActorID")


def _read_summary(path: Path) -> pd.DataFrame:
    table = _read_csv(
        path, SUMMARY_COLUMNS, keep_default_na=False, dtype={"FileName": str, "VoiceVote": str}
    )
    dupes = table["FileName"][table["FileName"].duplicated()]
    if len(dupes):
        raise SerbiasError(f"{path}: clip {dupes.iloc[0]} is listed twice")
    return table.set_index("FileName")


def _parse_names(stems: list[str], source: Path) -> pd.DataFrame:
    """Split clip names into their fields, refusing anything not in CREMA-D form."""
    seen: set[str] = set()
    rows = []
    for stem in stems:
        match = CLIP_NAME.match(stem)
        if match is None:
            raise SerbiasError(
                f"{source}: {stem!r} is not a CREMA-D clip name (expected AAAA_SSS_EEE_LL, "
                "e.g. 1001_DFA_ANG_XX)"
            )
        if match["emotion"] not in vocab.EMOTIONS:
            raise SerbiasError(
                f"{source}: {stem}: emotion {match['emotion']!r} is not one of "
                f"{', '.join(vocab.EMOTIONS)}"
            )
        if match["level"] not in vocab.LEVELS:
            raise SerbiasError(
                f"{source}: {stem}: level {match['level']!r} is not one of "
                f"{', '.join(vocab.LEVELS)}"
            )
        if stem.upper() in seen:
            raise SerbiasError(f"{source}: clip {stem} appears twice")
        seen.add(stem.upper())
        rows.append(
            (stem, int(match["actor"]), match["sentence"], match["emotion"], match["level"])
        )
    clips = pd.DataFrame(rows, columns=["filename", "actor_id", "sentence", "emotion", "level"])
    clips["emotion"] = pd.Categorical(clips["emotion"], categories=vocab.EMOTIONS, ordered=True)
    clips["level"] = pd.Categorical(clips["level"], categories=vocab.LEVELS, ordered=True)
    return clips


def _join_demographics(clips: pd.DataFrame, demographics: pd.DataFrame, path: Path) -> pd.DataFrame:
    unknown = sorted(set(clips["actor_id"]) - set(demographics.index))
    if unknown:
        example = clips.loc[clips["actor_id"] == unknown[0], "filename"].iloc[0]
        raise SerbiasError(f"{path}: actor {unknown[0]} (clip {example}) is missing")
    actor = demographics.loc[clips["actor_id"]]
    clips["sex"] = pd.Categorical(actor["Sex"].to_numpy(), categories=vocab.SEXES, ordered=True)
    clips["race"] = pd.Categorical(actor["Race"].to_numpy(), categories=vocab.RACES, ordered=True)
    clips["race_binary"] = pd.Categorical(
        [vocab.race_binary(r) for r in actor["Race"]], categories=vocab.RACE_BINARY, ordered=True
    )
    clips["ethnicity"] = pd.Categorical(
        actor["Ethnicity"].to_numpy(), categories=vocab.ETHNICITIES, ordered=True
    )
    clips["age"] = actor["Age"].to_numpy()
    return clips


def _join_summary(
    clips: pd.DataFrame, summary: pd.DataFrame, path: Path, *, strict: bool
) -> pd.DataFrame:
    rated = clips["filename"].isin(summary.index)
    n_unrated = int((~rated).sum())
    if n_unrated:
        first = ", ".join(clips.loc[~rated, "filename"].head(3))
        message = f"{path}: {n_unrated} clip(s) have no ratings (e.g. {first})"
        if strict:
            raise SerbiasError(message)
        warnings.warn(message + "; kept without observed labels", CorpusWarning, stacklevel=3)
    votes = summary["VoiceVote"].reindex(clips["filename"]).fillna("")
    names = clips["filename"]
    clips["voice_vote"] = [_parse_vote(v, path, n) for v, n in zip(votes, names, strict=True)]
    levels = pd.to_numeric(summary["VoiceLevel"], errors="coerce")
    clips["voice_level"] = levels.reindex(clips["filename"]).to_numpy(dtype=float)
    return clips


def _parse_vote(vote: str, path: Path, clip: str) -> list[str]:
    letters = [v for v in vote.split(":") if v] if vote else []
    bad = [v for v in letters if v not in vocab.VOTE_LETTERS]
    if bad:
        raise SerbiasError(
            f"{path}: VoiceVote {vote!r} of {clip} is not made of {', '.join(vocab.VOTE_LETTERS)}"
        )
    return letters


def _read_votes(path: Path) -> pd.DataFrame:
    """Vote counts per clip and modality, from the 3-rows-per-clip tabulatedVotes.csv."""
    table = _read_csv(path, VOTE_COLUMNS, index_col=0)
    modality = (np.asarray(table.index) // 100_000).astype(int)
    wide = []
    for digit, name in vocab.MODALITIES.items():
        rows = table[modality == digit].set_index("fileName")[list(vocab.VOTE_LETTERS)]
        dupes = rows.index[rows.index.duplicated()]
        if len(dupes):
            raise SerbiasError(f"{path}: {name} votes of clip {dupes[0]} are listed twice")
        wide.append(rows.rename(columns=lambda letter, n=name: f"{n}_{letter}").astype("Int64"))
    return pd.concat(wide, axis=1)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of one file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_fingerprint(root: Path) -> str:
    """SHA-256 over the corpus's metadata and audio contents (names and bytes, sorted)."""
    root = Path(root)
    digest = hashlib.sha256()
    files = [root / DEMOGRAPHICS_CSV, root / SUMMARY_CSV, root / VOTES_CSV]
    audio_dir = root / AUDIO_DIR
    if audio_dir.is_dir():
        files += sorted(audio_dir.glob("*.wav"))
    for path in files:
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(file_sha256(path).encode())
    return digest.hexdigest()
