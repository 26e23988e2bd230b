"""Render a clip's voice as audio: F0 contour, glottal source, formant filter, noise, limiter.

The cues (what the clip should sound like) come from :mod:`serbias.corpus.synth.voice`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import signal

from serbias import vocab
from serbias.corpus.synth.voice import (
    BLOCK,
    CONSONANT_SECONDS,
    HIGH_FORMANTS,
    NOISE_FLOOR_DBFS,
    SAMPLE_RATE,
    SONORANT_BANDWIDTHS,
    SONORANT_FORMANTS,
    VOWEL_BANDWIDTHS,
    VOWEL_FORMANTS,
    VOWEL_SECONDS,
    ClipVoice,
    Syllable,
    syllabify,
)

_FRICATION_SOS: Final = signal.butter(4, 2000, btype="highpass", fs=SAMPLE_RATE, output="sos")


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
