"""The CREMA-D metadata files, byte-for-byte in the upstream formats (R's write.csv style).

Strings and headers are double-quoted, the first header of the ratings tables is ``""``;
summaryTable.csv quotes every field, tabulatedVotes.csv quotes only its index and strings and
writes numbers with 15 significant digits, as R does.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from serbias import vocab
from serbias.corpus.synth.design import Actor, ClipSpec
from serbias.corpus.synth.ratings import Ratings

DEMOGRAPHICS_HEADER = ("ActorID", "Age", "Sex", "Race", "Ethnicity")
SUMMARY_HEADER = (
    "",
    "FileName",
    "VoiceVote",
    "VoiceLevel",
    "FaceVote",
    "FaceLevel",
    "MultiModalVote",
    "MultiModalLevel",
)
VOTES_HEADER = (
    "",
    *vocab.VOTE_LETTERS,
    "fileName",
    "numResponses",
    "agreement",
    "emoVote",
    "meanEmoResp",
    *(f"mean{w}Resp" for w in vocab.EMOTION_NAMES),
    "medianEmoResp",
    "meanEmoRespNorm",
    *(f"mean{w}RespNorm" for w in vocab.EMOTION_NAMES),
    "medianEmoRespNorm",
)
#: First digit of a tabulatedVotes.csv row index, per modality.
MODALITY_DIGIT = {name: digit for digit, name in vocab.MODALITIES.items()}


def quote(text: str) -> str:
    """A double-quoted CSV field."""
    return '"' + text.replace('"', '""') + '"'


def r_number(value: float) -> str:
    """A number as R's write.csv prints it (15 significant digits, no trailing zeros)."""
    return format(float(value), ".15g")


def r_levels(values: Sequence[float]) -> str:
    """Mean intensities of the voted letters as in summaryTable (rounded to 2 decimals, with
    the fewest common decimals that show them all, joined by ":" like the tied votes)."""
    rounded = [round(v, 2) for v in values]
    decimals = next(
        d for d in range(3) if all(abs(v * 10**d - round(v * 10**d)) < 1e-6 for v in rounded)
    )
    return ":".join(f"{v:.{decimals}f}" for v in rounded)


def write_demographics(path: Path, actors: Sequence[Actor]) -> None:
    """VideoDemographics.csv: one row per actor, by actor id."""
    lines = [",".join(quote(h) for h in DEMOGRAPHICS_HEADER)]
    for actor in sorted(actors, key=lambda a: a.actor_id):
        fields = (
            str(actor.actor_id),
            str(actor.age),
            quote(actor.sex),
            quote(actor.race),
            quote(actor.ethnicity),
        )
        lines.append(",".join(fields))
    _write_lines(path, lines)


def write_sentence_filenames(path: Path, clips: Sequence[ClipSpec]) -> None:
    """SentenceFilenames.csv: the stimulus number of every clip."""
    lines = [",".join(quote(h) for h in ("Stimulus_Number", "Filename"))]
    lines += [f"{i},{quote(clip.filename)}" for i, clip in enumerate(clips, start=1)]
    _write_lines(path, lines)


def write_summary(
    path: Path, clips: Sequence[ClipSpec], ratings: Sequence[dict[str, Ratings]]
) -> None:
    """processedResults/summaryTable.csv: majority vote and its mean intensity per modality."""
    lines = [",".join(quote(h) for h in SUMMARY_HEADER)]
    for i, (clip, by_modality) in enumerate(zip(clips, ratings, strict=True), start=1):
        fields = [str(i), clip.filename]
        for modality in ("voice", "face", "av"):
            rated = by_modality[modality]
            fields += [
                ":".join(rated.vote),
                r_levels([_mean_intensity(rated, v) for v in rated.vote]),
            ]
        lines.append(",".join(quote(f) for f in fields))
    _write_lines(path, lines)


def write_votes(
    path: Path, clips: Sequence[ClipSpec], ratings: Sequence[dict[str, Ratings]]
) -> None:
    """processedResults/tabulatedVotes.csv: voice rows (1xxxxx), then face, then audio-visual."""
    lines = [",".join(quote(h) for h in VOTES_HEADER)]
    for modality, digit in MODALITY_DIGIT.items():
        for i, (clip, by_modality) in enumerate(zip(clips, ratings, strict=True), start=1):
            lines.append(_votes_row(digit * 100_000 + i, clip.filename, by_modality[modality]))
    _write_lines(path, lines)


def _votes_row(index: int, filename: str, rated: Ratings) -> str:
    counts = rated.counts
    n = len(rated.responses)

    def by_letter(values: Sequence[float]) -> list[str]:
        means = []
        for letter in range(len(vocab.VOTE_LETTERS)):
            chosen = [v for r, v in zip(rated.responses, values, strict=True) if r == letter]
            means.append(r_number(statistics.fmean(chosen)) if chosen else "-1")
        return means

    fields = [
        quote(str(index)),
        *(str(c) for c in counts),
        quote(filename),
        str(n),
        r_number(max(counts) / n),
        quote(":".join(rated.vote)),
        r_number(statistics.fmean(rated.intensities)),
        *by_letter(rated.intensities),
        r_number(statistics.median(rated.intensities)),
        r_number(statistics.fmean(rated.normalised)),
        *by_letter(rated.normalised),
        r_number(statistics.median(rated.normalised)),
    ]
    return ",".join(fields)


def _mean_intensity(rated: Ratings, letter: str) -> float:
    code = vocab.VOTE_LETTERS.index(letter)
    pairs = zip(rated.responses, rated.intensities, strict=True)
    return statistics.fmean(v for r, v in pairs if r == code)


def _write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
