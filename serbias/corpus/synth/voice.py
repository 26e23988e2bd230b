"""A source-filter voice: what one synthetic clip sounds like, and how emotion changes it.

The source is a Rosenberg glottal pulse train on an F0 contour (declination, pitch accents on
stressed syllables, drift, tremor) with jitter, shimmer and aspiration noise, tilted by a
one-pole filter; the filter is a cascade of five formant resonators whose targets follow the
vowels of the sentence text, syllable by syllable. Voiceless consonants are filtered noise.

Emotion acts through a few prosodic and voice-quality cues (F0 level and range, speaking rate,
loudness, spectral tilt, jitter, breathiness, tremor, formant shift), each a deviation from the
actor's neutral voice scaled by the clip's realised emotion strength. Per-actor style and
per-clip noise make the cue distributions of different emotions overlap.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, fields
from typing import Final

import numpy as np

from serbias import vocab
from serbias.corpus.synth.design import Actor, ClipSpec

SAMPLE_RATE: Final = 16_000

#: Cue deviations from neutral at full strength (level MD), one row per emotion:
#: F0 level (semitones), F0 range (log2 factor), speaking rate (log2 factor), loudness (dB),
#: spectral tilt (+ darker), jitter and breathiness (log2 factors), F0 tremor (semitones),
#: formant shift (log2 factor; a smile shortens the vocal tract).
# fmt: off
CUE_NAMES: Final = (
    "f0_st", "range_log2", "rate_log2", "level_db", "tilt", "jitter_log2", "breath_log2",
    "tremor_st", "formant_log2",
)
# fmt: on
EMOTION_CUES: Final = {
    "ANG": (3.0, 0.50, 0.10, 6.0, -0.9, 0.5, -0.5, 0.00, 0.030),
    "DIS": (-1.5, -0.30, -0.20, 0.0, 0.4, 0.4, 0.4, 0.05, -0.020),
    "FEA": (4.0, 0.10, 0.15, 1.0, 0.1, 1.0, 0.8, 0.50, 0.015),
    "HAP": (3.5, 0.70, 0.05, 3.0, -0.5, 0.1, 0.0, 0.00, 0.050),
    "NEU": (0.0, 0.00, 0.00, 0.0, 0.0, 0.0, 0.0, 0.00, 0.000),
    "SAD": (-1.0, -0.70, -0.25, -4.0, 0.8, 0.5, 0.9, 0.20, -0.025),
}
#: Per-clip random variation of each cue (standard deviations, same units as EMOTION_CUES).
CUE_NOISE: Final = (1.0, 0.25, 0.08, 1.5, 0.35, 0.35, 0.35, 0.08, 0.010)
#: Emotion strength by level: LO < MD < HI; XX (unspecified) sounds like MD.
LEVEL_STRENGTH: Final = {"LO": 0.5, "MD": 1.0, "HI": 1.5, "XX": 1.0}
#: Spread (lognormal sigma) of the emotion strength from clip to clip.
CLIP_STRENGTH_SIGMA: Final = 0.3
#: Loudness of a typical neutral clip, dB re full scale (RMS over voiced speech).
REFERENCE_LEVEL_DBFS: Final = -26.0
NOISE_FLOOR_DBFS: Final = -66.0

# fmt: off
# Vowel formants F1-F3 of an adult male voice (Hz; after Hillenbrand et al. 1995).
VOWEL_FORMANTS: Final = {
    "i": (342, 2322, 3000), "ɪ": (427, 2034, 2684), "eɪ": (476, 2089, 2691),
    "ɛ": (580, 1799, 2605), "æ": (588, 1952, 2601), "ɑ": (768, 1333, 2522),
    "ɔ": (652, 997, 2538), "oʊ": (497, 910, 2459), "u": (378, 997, 2343),
    "ʌ": (623, 1200, 2550), "aɪ": (700, 1500, 2550),
}
SONORANT_FORMANTS: Final = (300, 1100, 2400)
HIGH_FORMANTS: Final = (3300, 3850)
VOWEL_BANDWIDTHS: Final = (70, 90, 130, 200, 260)
SONORANT_BANDWIDTHS: Final = (110, 160, 220, 260, 300)
#: Vowel of a spelled vowel group (first two letters, else the first).
SPELLINGS: Final = {
    "ee": "i", "ea": "i", "ie": "i", "ey": "i", "ei": "i", "ai": "eɪ", "ay": "eɪ",
    "oa": "oʊ", "ow": "oʊ", "ou": "ʌ", "oo": "u", "ew": "u", "ue": "u", "ui": "u",
    "oi": "ɔ", "oy": "ɔ", "au": "ɔ", "aw": "ɔ", "ia": "ɪ", "io": "ɪ",
    "a": "æ", "e": "ɛ", "i": "ɪ", "o": "ɑ", "u": "ʌ", "y": "i",
}
#: Words that carry no pitch accent.
FUNCTION_WORDS: Final = frozenset([
    "a", "an", "the", "i", "i'm", "i've", "it's", "it", "is", "in", "of", "on", "to", "my",
    "we'll", "will", "that", "what", "this", "have",
])
# fmt: on
# Consonant durations at the neutral rate (s).
CONSONANT_SECONDS: Final = {"fric": 0.080, "stop": 0.050, "son": 0.055}
VOWEL_SECONDS: Final = 0.095
BLOCK: Final = 400  # samples per formant-filter update (25 ms)


@dataclass(frozen=True)
class Syllable:
    """One syllable of the sentence text: consonant classes around a vowel."""

    onset: tuple[str, ...]
    vowel: str
    coda: tuple[str, ...]
    stressed: bool
    word_initial: bool


@dataclass(frozen=True)
class ClipVoice:
    """Everything needed to render one clip; also its ground truth (written to synth_clips.csv).

    ``natural_strength`` is the emotion strength the actor put in (level x expressiveness x
    clip variation; 0 for neutral clips); ``strength`` is what reaches the voice after the
    planted bias (``natural_strength`` x the actor's bias factor).
    """

    filename: str
    emotion: str
    natural_strength: float
    strength: float
    f0_hz: float
    f0_range: float
    rate: float
    level_dbfs: float
    tilt: float
    jitter: float
    shimmer: float
    breath: float
    tremor_st: float
    formant_scale: float
    lead_s: float
    trail_s: float
    pause_rate: float

    def as_row(self) -> dict[str, float | str]:
        """The clip's ground-truth cue values, rounded for a readable CSV."""
        return {
            f.name: (round(v, 5) if isinstance(v := getattr(self, f.name), float) else v)
            for f in fields(self)
        }


def clip_strength(clip: ClipSpec, actor: Actor, rng: np.random.Generator) -> float:
    """Realised emotion strength of a clip before the planted bias (0 for neutral)."""
    variation = math.exp(rng.normal(-0.5 * CLIP_STRENGTH_SIGMA**2, CLIP_STRENGTH_SIGMA))
    if clip.emotion == "NEU":
        return 0.0
    return LEVEL_STRENGTH[clip.level] * actor.expressiveness * variation


def draw_voice(clip: ClipSpec, actor: Actor, rng: np.random.Generator) -> ClipVoice:
    """Draw the cue values of one clip: actor's voice + strength x emotion deviation + noise."""
    natural = clip_strength(clip, actor, rng)
    strength = natural * actor.bias_factor
    deviation = np.asarray(EMOTION_CUES[clip.emotion]) * strength
    noise = rng.normal(0.0, CUE_NOISE)
    f0_st, range_log2, rate_log2, level_db, tilt, jitter_log2, breath_log2, tremor, formant_log2 = (
        deviation + noise
    )
    return ClipVoice(
        filename=clip.filename,
        emotion=clip.emotion,
        natural_strength=float(natural),
        strength=float(strength),
        f0_hz=float(actor.f0_hz * 2.0 ** (f0_st / 12.0)),
        f0_range=float(2.0 ** (actor.f0_range_log2 + range_log2)),
        rate=float(2.0 ** (actor.rate_log2 + rate_log2)),
        level_dbfs=float(REFERENCE_LEVEL_DBFS + actor.level_db + level_db),
        tilt=float(actor.tilt + tilt),
        jitter=float(actor.jitter * 2.0**jitter_log2),
        shimmer=float(actor.shimmer * 2.0 ** (0.7 * jitter_log2)),
        breath=float(actor.breath * 2.0**breath_log2),
        tremor_st=float(max(tremor, 0.0)),
        formant_scale=float(actor.formant_scale * 2.0**formant_log2),
        # Padding and pauses vary independently of emotion, so duration alone says little.
        lead_s=float(rng.uniform(0.12, 0.60)),
        trail_s=float(rng.uniform(0.12, 0.60)),
        pause_rate=float(rng.uniform(0.0, 0.5)),
    )


@functools.lru_cache(maxsize=len(vocab.SENTENCES))
def syllabify(text: str) -> tuple[Syllable, ...]:
    """Split a sentence into syllables by vowel groups (a rough English spelling rule)."""
    syllables: list[Syllable] = []
    for word in re.findall(r"[a-z']+", text.lower()):
        letters = re.sub(r"(.)\1", r"\1", word.replace("'", ""))
        letters = re.sub(r"th|sh|ch|ph", "s", letters)
        groups = list(re.finditer(r"[aeiouy]+", letters))
        if len(groups) > 1 and groups[-1].group() == "e" and groups[-1].end() == len(letters):
            groups.pop()  # silent final e
        content = word not in FUNCTION_WORDS
        for i, group in enumerate(groups):
            start = groups[i - 1].end() if i else 0
            end = groups[i + 1].start() if i + 1 < len(groups) else len(letters)
            onset = letters[start : group.start()]
            coda = letters[group.end() : end] if i + 1 == len(groups) else ""
            syllables.append(
                Syllable(
                    onset=_consonants(onset),
                    vowel=_vowel(group.group(), final=group.end() == len(letters)),
                    coda=_consonants(coda),
                    stressed=content and i == 0,
                    word_initial=i == 0,
                )
            )
    return tuple(syllables)


def _consonants(letters: str) -> tuple[str, ...]:
    classes = []
    for letter in letters:
        kind = "son" if letter in "mnlrwy" else "stop" if letter in "ptkbdgqj" else "fric"
        if not classes or classes[-1] != kind:
            classes.append(kind)
    return tuple(classes)


def _vowel(spelling: str, *, final: bool) -> str:
    if spelling == "y" and not final:
        return "ɪ"
    if spelling in ("i", "y") and final:
        return "aɪ"
    return SPELLINGS.get(spelling[:2], SPELLINGS[spelling[0]])
