"""Write tiny corpora in the CREMA-D layout for tests (short tones, hand-made metadata)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from serbias import vocab
from serbias.corpus.synth.files import DEMOGRAPHICS_HEADER, SUMMARY_HEADER

DEMOGRAPHICS = [
    (1001, 51, "Male", "Caucasian", "Not Hispanic"),
    (1002, 21, "Female", "Caucasian", "Not Hispanic"),
    (1003, 21, "Female", "African American", "Not Hispanic"),
    (1004, 42, "Male", "African American", "Hispanic"),
    (1005, 29, "Male", "Asian", "Not Hispanic"),
    (1006, 58, "Female", "Caucasian", "Hispanic"),
]


def clip_names(actor_ids: Iterable[int], sentences: Iterable[str] = ("IEO", "DFA")) -> list[str]:
    """CREMA-D design for the given actors and sentences (IEO at three levels)."""
    names = []
    for actor_id in actor_ids:
        for sentence in sentences:
            for emotion in vocab.EMOTIONS:
                if sentence == vocab.LEVELLED_SENTENCE and emotion != "NEU":
                    names += [f"{actor_id}_{sentence}_{emotion}_{lv}" for lv in ("LO", "MD", "HI")]
                else:
                    names.append(f"{actor_id}_{sentence}_{emotion}_XX")
    return names


def write_corpus(
    root: Path,
    names: list[str] | None = None,
    *,
    demographics: list[tuple] = DEMOGRAPHICS,
    rated: Iterable[str] | None = None,
    votes: bool = True,
    seconds: float = 0.25,
) -> Path:
    """Write WAVs for ``names`` plus the metadata CSVs; the voice vote is the intended emotion."""
    names = names if names is not None else clip_names(d[0] for d in demographics)
    rated = list(names if rated is None else rated)
    (root / "AudioWAV").mkdir(parents=True, exist_ok=True)
    (root / "processedResults").mkdir(exist_ok=True)
    t = np.arange(int(16_000 * seconds)) / 16_000
    for i, name in enumerate(names):
        tone = 0.3 * np.sin(2 * np.pi * (120 + 10 * (i % 7)) * t)
        sf.write(root / "AudioWAV" / f"{name}.wav", tone, 16_000, subtype="PCM_16")
    with open(root / "VideoDemographics.csv", "w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(DEMOGRAPHICS_HEADER)
        writer.writerows(demographics)
    with open(root / "processedResults" / "summaryTable.csv", "w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(SUMMARY_HEADER)
        for i, name in enumerate(rated, start=1):
            letter = vocab.LETTER_BY_EMOTION[name.split("_")[2]]
            writer.writerow([i, name, letter, 60.0, letter, 70.0, letter, 75.0])
    if votes:
        with open(root / "processedResults" / "tabulatedVotes.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["", *vocab.VOTE_LETTERS, "fileName", "numResponses"])
            for modality in (1, 2, 3):
                for i, name in enumerate(rated, start=1):
                    counts = [0] * 6
                    counts[vocab.EMOTIONS.index(name.split("_")[2])] = 6
                    counts[vocab.EMOTIONS.index("NEU")] += 4
                    writer.writerow([modality * 100_000 + i, *counts, name, 10])
    return root
