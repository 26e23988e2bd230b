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
from scipy import signal

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

_FRICATION_SOS: Final = signal.butter(4, 2000, btype="highpass", fs=SAMPLE_RATE, output="sos")


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


def render(voice: ClipVoice, sentence: str, rng: np.random.Generator) -> np.ndarray:
    """Synthesise one clip as 16 kHz mono int16 samples."""
    timeline = _timeline(voice, syllabify(vocab.SENTENCES[sentence]), rng)
    n = round(timeline.total_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE

    f0 = _f0_contour(voice, timeline, t, rng)
    flow, period = _glottal_flow(voice, f0, rng)
    source = (
        np.diff(flow, prepend=0.0)
        * (1.0 + voice.shimmer * rng.standard_normal(period[-1] + 1))[period]
    )
    # Lower spectral tilt (pressed, angry voice) = brighter source; higher = darker, softer.
    pole = float(np.clip(0.35 + 0.25 * voice.tilt, 0.0, 0.9))
    source = signal.lfilter([1.0 - pole], [1.0, -pole], source)

    gate = _envelope(timeline.voiced, n, ramp_s=0.015)
    speaking = gate > 0.3
    source /= _rms(source[speaking])
    white = rng.standard_normal(2 * n, dtype=np.float32)  # aspiration, then frication
    source += voice.breath * 4.0 * white[:n] * (0.3 + flow)
    voiced = _formant_filter(source * gate, timeline, voice.formant_scale, n)
    voiced /= _rms(voiced[speaking])

    frication = _envelope(timeline.noise, n, ramp_s=0.005)
    noise = signal.sosfilt(_FRICATION_SOS, white[n:]) * frication
    active = frication > 0.3
    if active.any():
        noise *= 0.25 / _rms(noise[active])

    speech = (voiced + noise) * 10.0 ** (voice.level_dbfs / 20.0)
    floor = np.resize(rng.standard_normal(4096, dtype=np.float32), n)  # 0.26 s of noise, looped
    speech += 10.0 ** (NOISE_FLOOR_DBFS / 20.0) * floor
    return _to_pcm16(_soft_limit(speech))


@dataclass(frozen=True)
class _Timeline:
    """Where each sound of a clip sits in time (seconds)."""

    total_s: float
    voiced: list[tuple[float, float, float]]  # start, end, amplitude
    noise: list[tuple[float, float, float]]
    targets: list[tuple[float, tuple[float, ...], tuple[float, ...]]]  # time, formants, bandwidths
    accents: list[tuple[float, float]]  # time, height (semitones)
    speech_start: float
    speech_end: float


def _timeline(
    voice: ClipVoice, syllables: tuple[Syllable, ...], rng: np.random.Generator
) -> _Timeline:
    voiced: list[tuple[float, float, float]] = []
    noise: list[tuple[float, float, float]] = []
    targets: list[tuple[float, tuple[float, ...], tuple[float, ...]]] = []
    accents: list[tuple[float, float]] = []
    cursor = voice.lead_s
    consonant_rate = voice.rate**0.7

    def consonants(kinds: tuple[str, ...], amplitude: float) -> None:
        nonlocal cursor
        for kind in kinds:
            duration = CONSONANT_SECONDS[kind] * math.exp(rng.normal(0.0, 0.15)) / consonant_rate
            if kind == "son":
                voiced.append((cursor, cursor + duration, 0.35 * amplitude))
                targets.append(
                    (cursor + duration / 2, SONORANT_FORMANTS + HIGH_FORMANTS, SONORANT_BANDWIDTHS)
                )
            elif kind == "fric":
                noise.append((cursor, cursor + duration, 0.6 * amplitude))
            else:  # closure, then a short burst
                noise.append((cursor + 0.8 * duration, cursor + duration + 0.012, amplitude))
            cursor += duration

    last = len(syllables) - 1
    for i, syllable in enumerate(syllables):
        if syllable.word_initial and i and rng.random() < voice.pause_rate:
            cursor += rng.uniform(0.05, 0.20)
        amplitude = (1.25 if syllable.stressed else 1.0) * (1.0 - 0.25 * i / max(last, 1))
        amplitude *= math.exp(rng.normal(0.0, 0.1))
        consonants(syllable.onset, amplitude)
        duration = VOWEL_SECONDS * math.exp(rng.normal(0.0, 0.15)) / voice.rate
        duration *= (1.35 if syllable.stressed else 1.0) * (1.4 if i == last else 1.0)
        voiced.append((cursor, cursor + duration, amplitude))
        formants = VOWEL_FORMANTS[syllable.vowel] + HIGH_FORMANTS
        targets.append((cursor + duration / 2, formants, VOWEL_BANDWIDTHS))
        if syllable.stressed:
            accents.append((cursor + 0.4 * duration, 2.5 * math.exp(rng.normal(0.0, 0.3))))
        cursor += duration
        consonants(syllable.coda, 0.8 * amplitude)
    speech_end = cursor
    return _Timeline(
        total_s=cursor + voice.trail_s,
        voiced=voiced,
        noise=noise,
        targets=targets,
        accents=accents,
        speech_start=voice.lead_s,
        speech_end=speech_end,
    )


def _f0_contour(
    voice: ClipVoice, timeline: _Timeline, t: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """F0 in Hz per sample: declination, pitch accents, a final fall, drift and tremor."""
    frames = np.arange(0.0, t[-1] + 0.01, 0.005)
    start, end = timeline.speech_start, timeline.speech_end
    progress = np.clip((frames - start) / (end - start), 0.0, 1.0)
    st = 1.0 - 2.5 * progress - 2.0 * np.clip((frames - end + 0.25) / 0.25, 0.0, 1.0)
    for centre, height in timeline.accents:
        st += height * np.exp(-0.5 * ((frames - centre) / 0.08) ** 2)
    st *= voice.f0_range
    for _ in range(3):  # slow drift, independent of emotion
        freq, phase = rng.uniform(0.4, 2.0), rng.uniform(0.0, 2.0 * np.pi)
        st += 0.25 * np.sin(2.0 * np.pi * freq * frames + phase)
    st += voice.tremor_st * np.sin(
        2.0 * np.pi * rng.uniform(4.5, 7.0) * frames + rng.uniform(0.0, 6.3)
    )
    f0 = voice.f0_hz * 2.0 ** (st / 12.0)
    return np.clip(np.interp(t, frames, f0), 55.0, 600.0)


def _glottal_flow(
    voice: ClipVoice, f0: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rosenberg glottal flow with per-period jitter; also each sample's period index."""
    nominal = np.floor(np.cumsum(f0) / SAMPLE_RATE).astype(np.int64)
    jitter = 1.0 + voice.jitter * rng.standard_normal(nominal[-1] + 1)
    phase = np.cumsum(f0 * jitter[nominal]) / SAMPLE_RATE
    period = np.floor(phase).astype(np.int64)
    frac = phase - period
    opening = 0.40
    closing = float(np.clip(0.16 * 2.0 ** (0.6 * voice.tilt), 0.06, 0.35))
    flow = np.zeros_like(phase)
    rising = frac < opening
    flow[rising] = 0.5 * (1.0 - np.cos(frac[rising] * (np.pi / opening)))
    falling = ~rising & (frac < opening + closing)
    flow[falling] = np.cos((frac[falling] - opening) * (0.5 * np.pi / closing))
    return flow, period


def _envelope(segments: list[tuple[float, float, float]], n: int, *, ramp_s: float) -> np.ndarray:
    """Segment amplitudes with raised-cosine edges centred on each boundary.

    The falling edge of one segment and the rising edge of the next add up to a smooth
    cross-fade, so adjacent segments join without clicks.
    """
    envelope = np.zeros(n)
    for start_s, end_s, amplitude in segments:
        start, end = int(start_s * SAMPLE_RATE), min(int(end_s * SAMPLE_RATE), n)
        half = min(int(ramp_s * SAMPLE_RATE), (end - start) // 2, start)
        if half < 1:
            envelope[start:end] += amplitude
            continue
        rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(2 * half) + 0.5) / (2 * half))
        fall_end = min(end + half, n)
        envelope[start - half : start + half] += amplitude * rise
        envelope[start + half : end - half] += amplitude
        envelope[end - half : fall_end] += amplitude * rise[::-1][: fall_end - end + half]
    return envelope


def _formant_filter(source: np.ndarray, timeline: _Timeline, scale: float, n: int) -> np.ndarray:
    """Cascade of five resonators whose formants glide between the targets, block by block."""
    times = np.array([time for time, _, _ in timeline.targets])
    formants = np.array([f for _, f, _ in timeline.targets], dtype=float) * scale
    bandwidths = np.array([b for _, _, b in timeline.targets], dtype=float)
    centres = (np.arange(0, n, BLOCK) + BLOCK / 2) / SAMPLE_RATE
    track_f = np.stack([np.interp(centres, times, formants[:, k]) for k in range(5)], axis=1)
    track_b = np.stack([np.interp(centres, times, bandwidths[:, k]) for k in range(5)], axis=1)
    track_f = np.minimum(track_f, 0.45 * SAMPLE_RATE)
    radius = np.exp(-np.pi * track_b / SAMPLE_RATE)
    theta = 2.0 * np.pi * track_f / SAMPLE_RATE
    a1, a2 = -2.0 * radius * np.cos(theta), radius**2
    # One 10th-order denominator per block (the product of the five resonators): a single
    # lfilter call per block is far cheaper than five, and double precision keeps it stable.
    denominators = np.zeros((len(centres), 11))
    denominators[:, 0] = 1.0
    for k in range(5):
        shifted1 = np.roll(denominators, 1, axis=1) * a1[:, k, None]
        shifted2 = np.roll(denominators, 2, axis=1) * a2[:, k, None]
        denominators = denominators + shifted1 + shifted2  # the top coefficients are still zero
    gains = denominators.sum(axis=1)  # unity gain at DC (Klatt resonators)
    out = np.zeros(n)
    state = np.zeros(10)
    for block, start in enumerate(range(0, n, BLOCK)):
        chunk = source[start : start + BLOCK]
        if not chunk.any() and np.abs(state).max() < 1e-6:
            continue  # silence in, (inaudibly close to) silence out
        out[start : start + BLOCK], state = signal.lfilter(
            [gains[block]], denominators[block], chunk, zi=state
        )
    return out


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) if x.size else 1.0


def _soft_limit(x: np.ndarray, knee: float = 0.7) -> np.ndarray:
    """Leave samples below ``knee`` alone and bend louder ones smoothly under full scale."""
    magnitude = np.abs(x)
    over = magnitude > knee
    if over.any():
        bent = knee + (1.0 - knee) * np.tanh((magnitude[over] - knee) / (1.0 - knee))
        x = x.copy()
        x[over] = np.sign(x[over]) * bent
    return x


def _to_pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
