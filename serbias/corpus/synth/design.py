"""Who speaks what: synthetic actors, the CREMA-D clip design, and planted-bias specs.

Everything here is cheap and deterministic (no audio), so the design can be counted and tested
without rendering a single clip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from serbias import vocab
from serbias.errors import SerbiasError
from serbias.text import split_pair

FIRST_ACTOR_ID: Final = 1001
MAX_ACTORS: Final = 91

#: Emotion order of each sentence block in the upstream clip list (SentenceFilenames.csv).
RECORDING_ORDER: Final = ("NEU", "HAP", "SAD", "ANG", "FEA", "DIS")
INTENSITY_LEVELS: Final = ("LO", "MD", "HI")

#: The 20 recordings absent from real CREMA-D (91 x 82 - 20 = 7,442 clips).
MISSING_IN_CREMA_D: Final = frozenset(
    ["1002_TIE_NEU_XX", "1076_ITS_NEU_XX"]
    + [f"1008_WSI_{e}_XX" for e in RECORDING_ORDER]
    + [f"1009_MTI_{e}_XX" for e in RECORDING_ORDER]
    + [f"1019_ITH_{e}_XX" for e in RECORDING_ORDER]
)

#: Actors per (sex, race, ethnicity) in real CREMA-D (VideoDemographics.csv, 91 actors).
CREMA_D_DEMOGRAPHICS: Final = {
    ("Female", "African American", "Hispanic"): 1,
    ("Female", "African American", "Not Hispanic"): 8,
    ("Female", "Asian", "Not Hispanic"): 2,
    ("Female", "Caucasian", "Hispanic"): 6,
    ("Female", "Caucasian", "Not Hispanic"): 25,
    ("Female", "Unknown", "Hispanic"): 1,
    ("Male", "African American", "Not Hispanic"): 13,
    ("Male", "Asian", "Not Hispanic"): 5,
    ("Male", "Caucasian", "Hispanic"): 2,
    ("Male", "Caucasian", "Not Hispanic"): 28,
}
#: Ages at the 0, 5, ..., 100th percentiles of the 91 real actors (min 20, median 33, max 74).
CREMA_D_AGE_PERCENTILES: Final = (
    20, 21, 22, 22, 24, 25, 25, 29, 30, 32, 33, 34.5, 38, 40.5, 42, 45.5, 49, 51.5, 57, 61, 74,
)  # fmt: skip
#: Sex x race cells every corpus keeps (in this priority) so that the audit has groups to compare.
REQUIRED_CELLS: Final = (
    ("Female", "Caucasian"),
    ("Male", "African American"),
    ("Male", "Caucasian"),
    ("Female", "African American"),
)

BIAS_GROUPS: Final = {
    "sex": vocab.SEXES,
    "race": vocab.RACES,
    "race_binary": vocab.RACE_BINARY,
    "ethnicity": vocab.ETHNICITIES,
}
BIAS_FORM: Final = "GROUP=VALUE:STRENGTH, e.g. sex=Female:0.8"

# Seed-sequence stream tags: each kind of randomness draws from its own stream.
STREAM_DEMOGRAPHICS: Final = 0
STREAM_ACTOR: Final = 1
STREAM_CLIP: Final = 2


@dataclass(frozen=True)
class BiasSpec:
    """A planted bias: emotion cues of one group's clips are pulled toward neutral."""

    group: str
    value: str
    strength: float

    def applies_to(self, actor: Actor) -> bool:
        """Whether ``actor`` belongs to the targeted group."""
        return getattr(actor, self.group) == self.value

    def __str__(self) -> str:
        return f"{self.group}={self.value}:{self.strength:g}"


@dataclass(frozen=True)
class Actor:
    """One synthetic actor: CREMA-D demographics plus the voice traits that are its ground truth.

    ``expressiveness`` scales every emotion cue of the actor (1 = typical);
    ``bias_factor`` is the product of ``1 - strength`` over the bias specs that target the actor.
    """

    actor_id: int
    age: int
    sex: str
    race: str
    ethnicity: str
    f0_hz: float
    formant_scale: float
    level_db: float
    expressiveness: float
    f0_range_log2: float
    rate_log2: float
    tilt: float
    jitter: float
    shimmer: float
    breath: float
    bias_factor: float = 1.0

    @property
    def race_binary(self) -> str:
        return vocab.race_binary(self.race)


@dataclass(frozen=True)
class ClipSpec:
    """One recording of the design: who says which sentence with which emotion and level."""

    index: int
    actor_id: int
    sentence: str
    emotion: str
    level: str

    @property
    def filename(self) -> str:
        return f"{self.actor_id}_{self.sentence}_{self.emotion}_{self.level}"


def clip_seeds(seed: int, index: int) -> tuple[np.random.SeedSequence, ...]:
    """Independent seeds of one clip (cues, audio, ratings), from the corpus seed and clip index.

    Each clip's randomness depends only on these, so clips can be rendered in any order or
    process and the files stay byte-identical.
    """
    return tuple(np.random.SeedSequence([seed, STREAM_CLIP, index]).spawn(3))


def parse_bias(spec: str) -> BiasSpec:
    """Parse one ``GROUP=VALUE:STRENGTH`` spec; the value is matched case-insensitively."""
    group, rest = split_pair(spec, what="bias", form=BIAS_FORM, example="sex=Female:0.8")
    value, sep, strength_text = rest.rpartition(":")
    if not (sep and value.strip()):
        raise SerbiasError(f"bias {spec!r}: expected {BIAS_FORM}, e.g. sex=Female:0.8")
    group = group.strip().lower()
    if group not in BIAS_GROUPS:
        raise SerbiasError(f"bias {spec!r}: group {group!r} is not one of {', '.join(BIAS_GROUPS)}")
    allowed = BIAS_GROUPS[group]
    by_lower = {v.lower(): v for v in allowed}
    canonical = by_lower.get(" ".join(value.split()).lower())
    if canonical is None:
        raise SerbiasError(
            f"bias {spec!r}: {group} value {value.strip()!r} is not one of {', '.join(allowed)}"
        )
    try:
        strength = float(strength_text)
    except ValueError:
        strength = math.nan
    if not 0.0 <= strength <= 1.0:
        raise SerbiasError(
            f"bias {spec!r}: strength {strength_text.strip()!r} is not a number in [0, 1]"
        )
    return BiasSpec(group=group, value=canonical, strength=strength)


def parse_biases(specs: Sequence[str]) -> tuple[BiasSpec, ...]:
    """Parse every spec, refusing the same group value given twice."""
    parsed = tuple(parse_bias(spec) for spec in specs)
    seen: set[tuple[str, str]] = set()
    for bias in parsed:
        if (bias.group, bias.value) in seen:
            raise SerbiasError(f"bias {bias.group}={bias.value} is given more than once")
        seen.add((bias.group, bias.value))
    return parsed


def apportion_demographics(n_actors: int) -> list[tuple[str, str, str]]:
    """(sex, race, ethnicity) of ``n_actors`` actors in CREMA-D proportions (exact for 91).

    Largest-remainder apportionment of the real sex x race x ethnicity table, then every cell
    of :data:`REQUIRED_CELLS` (as far as ``n_actors`` allows) gets at least one actor.
    """
    if not 2 <= n_actors <= MAX_ACTORS:
        raise SerbiasError(f"actors: {n_actors} is not in 2..{MAX_ACTORS}")
    cells = list(CREMA_D_DEMOGRAPHICS)
    quotas = [CREMA_D_DEMOGRAPHICS[c] * n_actors / MAX_ACTORS for c in cells]
    counts = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(len(cells)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in by_remainder[: n_actors - sum(counts)]:
        counts[i] += 1

    def pair_count(sex: str, race: str) -> int:
        return sum(n for (s, r, _), n in zip(cells, counts, strict=True) if (s, r) == (sex, race))

    required = REQUIRED_CELLS[: min(n_actors, len(REQUIRED_CELLS))]
    for sex, race in required:
        if pair_count(sex, race):
            continue
        # Take one actor from the largest cell that can spare one.
        donors = [
            i
            for i, (s, r, _) in enumerate(cells)
            if counts[i] and pair_count(s, r) > ((s, r) in required)
        ]
        donor = max(donors, key=lambda i: (counts[i], -i))
        counts[donor] -= 1
        counts[cells.index((sex, race, "Not Hispanic"))] += 1
    return [cell for cell, n in zip(cells, counts, strict=True) for _ in range(n)]


def actor_ages(n_actors: int) -> list[int]:
    """Ages spread over the real age percentiles (20..74, median 33 for 91 actors)."""
    grid = np.linspace(0.0, 100.0, len(CREMA_D_AGE_PERCENTILES))
    positions = np.linspace(0.0, 100.0, n_actors)
    return [math.floor(a + 0.5) for a in np.interp(positions, grid, CREMA_D_AGE_PERCENTILES)]


def draw_actors(n_actors: int, seed: int, biases: Sequence[BiasSpec] = ()) -> list[Actor]:
    """Actors 1001.. with demographics in CREMA-D proportions and seeded voice traits."""
    cells = apportion_demographics(n_actors)
    ages = actor_ages(n_actors)
    rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM_DEMOGRAPHICS]))
    cells = [cells[i] for i in rng.permutation(n_actors)]
    ages = [ages[i] for i in rng.permutation(n_actors)]
    actors = []
    for offset, ((sex, race, ethnicity), age) in enumerate(zip(cells, ages, strict=True)):
        actor_id = FIRST_ACTOR_ID + offset
        traits = _voice_traits(sex, np.random.default_rng([seed, STREAM_ACTOR, actor_id]))
        actor = Actor(actor_id=actor_id, age=age, sex=sex, race=race, ethnicity=ethnicity, **traits)
        factor = math.prod(1.0 - b.strength for b in biases if b.applies_to(actor))
        actors.append(replace(actor, bias_factor=float(factor)))
    return actors


def _voice_traits(sex: str, rng: np.random.Generator) -> dict[str, float]:
    """An actor's habitual voice: pitch, vocal-tract length, loudness, style, expressiveness."""
    female = sex == "Female"
    f0_hz = (205.0 if female else 118.0) * math.exp(rng.normal(0.0, 0.10))
    # Shorter vocal tracts (on average female) scale every formant up.
    formant_scale = (1.15 if female else 1.0) * math.exp(rng.normal(0.0, 0.04))
    expressiveness = math.exp(rng.normal(-0.5 * 0.25**2, 0.25))
    return {
        "f0_hz": round(f0_hz, 3),
        "formant_scale": round(formant_scale, 4),
        "level_db": round(rng.normal(0.0, 1.5), 3),
        "expressiveness": round(expressiveness, 4),
        "f0_range_log2": round(rng.normal(0.0, 0.2), 4),
        "rate_log2": round(rng.normal(0.0, 0.1), 4),
        "tilt": round(rng.normal(0.0, 0.3), 4),
        "jitter": round(0.008 * math.exp(rng.normal(0.0, 0.25)), 5),
        "shimmer": round(0.05 * math.exp(rng.normal(0.0, 0.25)), 5),
        "breath": round((0.05 if female else 0.035) * math.exp(rng.normal(0.0, 0.3)), 5),
    }


def design_clips(
    actor_ids: Sequence[int], *, sentences: int = 6, full: bool = False
) -> list[ClipSpec]:
    """The clip list in upstream order: per actor, per sentence, NEU HAP SAD ANG FEA DIS.

    The levelled sentence (IEO) has NEU at XX and each other emotion at LO, MD and HI; the other
    sentences have all six emotions at XX. ``full`` takes all 12 sentences and leaves out the
    recordings that are missing from real CREMA-D, so 91 actors give its 7,442 clips.
    """
    if not 1 <= sentences <= len(vocab.SENTENCES):
        raise SerbiasError(f"sentences: {sentences} is not in 1..{len(vocab.SENTENCES)}")
    codes = list(vocab.SENTENCES)[: len(vocab.SENTENCES) if full else sentences]
    clips: list[ClipSpec] = []
    for actor_id in actor_ids:
        for sentence in codes:
            for emotion in RECORDING_ORDER:
                levelled = sentence == vocab.LEVELLED_SENTENCE and emotion != "NEU"
                for level in INTENSITY_LEVELS if levelled else ("XX",):
                    name = f"{actor_id}_{sentence}_{emotion}_{level}"
                    if full and name in MISSING_IN_CREMA_D:
                        continue
                    clips.append(ClipSpec(len(clips), actor_id, sentence, emotion, level))
    return clips


def count_clips(actors: int, *, sentences: int = 6, full: bool = False) -> int:
    """How many clips :func:`design_clips` gives for ``actors`` actors (for progress bars)."""
    ids = range(FIRST_ACTOR_ID, FIRST_ACTOR_ID + actors)
    return len(design_clips(ids, sentences=sentences, full=full))
