"""Tiny inputs for the feature tests: CREMA-D corpora of a few clips and their split files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.factory import clip_names, write_corpus

#: Two actors x one sentence: 12 clips, fast to extract.
ACTORS = (1001, 1002)


def small_corpus(root: Path, *, seconds: float = 0.5) -> tuple[Path, dict[str, list[str]]]:
    """A 12-clip corpus and a split of it (rows deliberately not in sorted order)."""
    names = clip_names(ACTORS, sentences=("DFA",))
    write_corpus(root, names, seconds=seconds)
    split = {"train": names[:8][::-1], "val": names[8:10], "test": names[10:]}
    return root, split


def write_split(path: Path, split: dict[str, list[str]]) -> Path:
    """Write a split JSON in `serbias split`'s format."""
    path.write_text(json.dumps({**split, "mode": "speaker", "seed": 0}), encoding="utf-8")
    return path


def tone(seconds: float, rate: int, *, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    """A sine tone with a second, quieter partial (so the mel bands are not trivially empty)."""
    t = np.arange(round(seconds * rate)) / rate
    return amp * np.sin(2 * np.pi * freq * t) + 0.1 * amp * np.sin(2 * np.pi * 3.1 * freq * t)


def write_wav(path: Path, samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    """Write ``samples`` (frames or frames x channels) as a WAV file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, rate, subtype=subtype)
    return path


def truncate_header(path: Path) -> Path:
    """Cut a WAV file inside its header (a broken download)."""
    path.write_bytes(path.read_bytes()[:30])
    return path


def fake_wav(path: Path) -> Path:
    """A text file with a .wav name."""
    path.write_text("this is a transcript, not audio\n" * 20, encoding="utf-8")
    return path
