"""Write a complete synthetic corpus in the CREMA-D layout, with its ground truth.

Planning (actors, clips, cue values, ratings) is cheap and runs in this process; rendering the
audio is spread over worker processes. Each clip's randomness comes from its own seed, so the
files are byte-identical whatever the number of workers.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Final

import numpy as np

from serbias import __version__, vocab
from serbias.atomic import atomic_dir, write_json
from serbias.corpus.synth import files, ratings, render, voice
from serbias.corpus.synth.design import (
    FIRST_ACTOR_ID,
    MAX_ACTORS,
    MISSING_IN_CREMA_D,
    Actor,
    BiasSpec,
    ClipSpec,
    clip_seeds,
    design_clips,
    draw_actors,
    parse_biases,
)
from serbias.cpu import available_cpus
from serbias.errors import SerbiasError

#: Bumped whenever the same options would give different files.
SYNTH_FORMAT: Final = 1
MANIFEST: Final = "synth.json"
CLIPS_TABLE: Final = "synth_clips.csv"
CHUNK: Final = 48
#: Below this many clips per worker, starting worker processes costs more than it saves.
CLIPS_PER_WORKER: Final = 300


@dataclass(frozen=True)
class GroupCount:
    """Actors and clips of one sex x race cell."""

    sex: str
    race: str
    actors: int
    clips: int


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`generate_corpus` wrote."""

    out_dir: Path
    n_clips: int
    n_actors: int
    sentences: tuple[str, ...]
    seed: int
    bias: tuple[str, ...]
    audio_seconds: float
    voice_accuracy: float
    groups: tuple[GroupCount, ...]
    manifest: Path


def generate_corpus(
    out_dir: Path,
    *,
    actors: int = 30,
    sentences: int = 6,
    full: bool = False,
    seed: int = 0,
    bias: Sequence[str] = (),
    raters: int = 10,
    force: bool = False,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SynthSummary:
    """Write a synthetic CREMA-D corpus (audio, metadata, ratings, ground truth) to ``out_dir``.

    ``full`` gives all 12 sentences with the recordings missing from real CREMA-D left out
    (91 actors: 7,442 clips); otherwise the first ``sentences`` sentences. ``bias`` specs
    (``GROUP=VALUE:STRENGTH``) weaken the emotion cues of one group's voices. ``jobs`` worker
    processes render the audio (default: one per CPU when the corpus is big enough);
    ``progress`` is called with the number of clips just written. A non-empty ``out_dir`` is
    refused unless ``force``; nothing is left half-written.
    """
    if not 2 <= actors <= MAX_ACTORS:
        raise SerbiasError(f"actors: {actors} is not in 2..{MAX_ACTORS}")
    if seed < 0:
        raise SerbiasError(f"seed: {seed} must be a whole number >= 0")
    if raters < 1:
        raise SerbiasError(f"raters: {raters} must be at least 1")
    if jobs is not None and jobs < 1:
        raise SerbiasError(f"jobs: {jobs} must be at least 1")
    biases = parse_biases(bias)
    cast = draw_actors(actors, seed, biases)
    clips = design_clips([a.actor_id for a in cast], sentences=sentences, full=full)
    by_id = {a.actor_id: a for a in cast}

    out_dir = Path(out_dir)
    with atomic_dir(out_dir, force=force) as tmp:
        audio_dir = tmp / "AudioWAV"
        audio_dir.mkdir()
        tasks = [(clip, by_id[clip.actor_id]) for clip in clips]
        made = _make_all(
            audio_dir,
            tasks,
            seed=seed,
            raters=raters,
            jobs=_workers(jobs, len(tasks)),
            progress=progress,
        )
        voices = [m.cues for m in made]
        clip_ratings = [m.votes for m in made]
        samples = [m.samples for m in made]
        files.write_demographics(tmp / "VideoDemographics.csv", cast)
        files.write_sentence_filenames(tmp / "SentenceFilenames.csv", clips)
        files.write_summary(tmp / "processedResults" / "summaryTable.csv", clips, clip_ratings)
        files.write_votes(tmp / "processedResults" / "tabulatedVotes.csv", clips, clip_ratings)
        _write_clips_table(tmp / CLIPS_TABLE, clips, voices, samples)
        accuracy = _voice_accuracy(clips, clip_ratings)
        manifest = _manifest(
            actors=actors,
            sentences=sentences,
            full=full,
            seed=seed,
            biases=biases,
            raters=raters,
            cast=cast,
            clips=clips,
            accuracy=accuracy,
            audio_samples=sum(samples),
        )
        write_json(tmp / MANIFEST, manifest)

    return SynthSummary(
        out_dir=out_dir,
        n_clips=len(clips),
        n_actors=len(cast),
        sentences=tuple(manifest["design"]["sentences"]),
        seed=seed,
        bias=tuple(str(b) for b in biases),
        audio_seconds=sum(samples) / voice.SAMPLE_RATE,
        voice_accuracy=accuracy,
        groups=_group_counts(cast, clips),
        manifest=out_dir / MANIFEST,
    )


@dataclass(frozen=True)
class MadeClip:
    """One written clip: its cue values, its simulated ratings and its length in samples."""

    cues: voice.ClipVoice
    votes: dict[str, ratings.Ratings]
    samples: int


def make_clips(
    audio_dir: str, tasks: list[tuple[ClipSpec, Actor]], seed: int, raters: int
) -> list[MadeClip]:
    """Draw, render, write and rate a batch of clips (runs in a worker process)."""
    import soundfile

    made = []
    for clip, actor in tasks:
        cue_seed, audio_seed, rating_seed = clip_seeds(seed, clip.index)
        clip_voice = voice.draw_voice(clip, actor, np.random.default_rng(cue_seed))
        samples = render.render(clip_voice, clip.sentence, np.random.default_rng(audio_seed))
        # Encode in memory, then write once: several times faster than many small writes.
        wav = io.BytesIO()
        soundfile.write(wav, samples, voice.SAMPLE_RATE, subtype="PCM_16", format="WAV")
        (Path(audio_dir) / f"{clip.filename}.wav").write_bytes(wav.getvalue())
        clip_ratings = ratings.rate_clip(
            clip.emotion,
            strength=clip_voice.strength,
            natural_strength=clip_voice.natural_strength,
            raters=raters,
            rng=np.random.default_rng(rating_seed),
        )
        made.append(MadeClip(clip_voice, clip_ratings, len(samples)))
    return made


def _make_all(
    audio_dir: Path,
    tasks: list[tuple[ClipSpec, Actor]],
    *,
    seed: int,
    raters: int,
    jobs: int,
    progress: Callable[[int], None] | None,
) -> list[MadeClip]:
    size = max(1, min(CHUNK, -(-len(tasks) // (4 * jobs))))  # several chunks per worker
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    made: list[list[MadeClip]] = [[] for _ in chunks]
    if jobs == 1:
        for i, chunk in enumerate(chunks):
            made[i] = make_clips(str(audio_dir), chunk, seed, raters)
            if progress:
                progress(len(chunk))
        return [m for chunk in made for m in chunk]
    # "spawn": workers start clean (no inherited threads or locks) on every platform.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = {
            pool.submit(make_clips, str(audio_dir), chunk, seed, raters): i
            for i, chunk in enumerate(chunks)
        }
        try:
            for future in as_completed(futures):
                i = futures[future]
                made[i] = future.result()
                if progress:
                    progress(len(chunks[i]))
        except BrokenProcessPool:
            raise SerbiasError(
                f"synth: an audio worker process died (jobs={jobs}); a script that calls "
                "generate_corpus must do so under `if __name__ == '__main__':`, or pass jobs=1"
            ) from None
    return [m for chunk in made for m in chunk]


def _workers(jobs: int | None, n_clips: int) -> int:
    if jobs is not None:
        return jobs
    cpus = available_cpus()
    return max(1, min(cpus, n_clips // CLIPS_PER_WORKER))


def _voice_accuracy(
    clips: Sequence[ClipSpec], clip_ratings: Sequence[dict[str, ratings.Ratings]]
) -> float:
    """Share of individual voice-only responses that chose the intended emotion."""
    hits = total = 0
    for clip, rated in zip(clips, clip_ratings, strict=True):
        responses = rated["voice"].responses
        hits += sum(r == vocab.EMOTIONS.index(clip.emotion) for r in responses)
        total += len(responses)
    return hits / total


def _group_counts(cast: Sequence[Actor], clips: Sequence[ClipSpec]) -> tuple[GroupCount, ...]:
    cell = {a.actor_id: (a.sex, a.race) for a in cast}
    actor_counts = Counter(cell.values())
    clip_counts = Counter(cell[c.actor_id] for c in clips)
    return tuple(
        GroupCount(sex, race, actor_counts[(sex, race)], clip_counts[(sex, race)])
        for sex in vocab.SEXES
        for race in vocab.RACES
        if actor_counts[(sex, race)]
    )


def _write_clips_table(
    path: Path, clips: Sequence[ClipSpec], voices: Sequence[voice.ClipVoice], samples: Sequence[int]
) -> None:
    """Per-clip ground truth: realised emotion strength and every cue value."""
    rows = list(_clip_rows(clips, voices, samples))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _clip_rows(
    clips: Sequence[ClipSpec], voices: Sequence[voice.ClipVoice], samples: Sequence[int]
) -> Iterator[dict[str, object]]:
    for clip, clip_voice, n in zip(clips, voices, samples, strict=True):
        row = clip_voice.as_row()
        yield {
            "filename": row.pop("filename"),
            "actor_id": clip.actor_id,
            "sentence": clip.sentence,
            "emotion": row.pop("emotion"),
            "level": clip.level,
            **row,
            "duration_s": round(n / voice.SAMPLE_RATE, 5),
        }


def _manifest(
    *,
    actors: int,
    sentences: int,
    full: bool,
    seed: int,
    biases: Sequence[BiasSpec],
    raters: int,
    cast: Sequence[Actor],
    clips: Sequence[ClipSpec],
    accuracy: float,
    audio_samples: int,
) -> dict:
    """synth.json: every generation parameter and the ground truth a later audit can check."""
    codes = list(dict.fromkeys(c.sentence for c in clips))
    ids = range(FIRST_ACTOR_ID, FIRST_ACTOR_ID + actors)
    left_out = sorted(n for n in MISSING_IN_CREMA_D if int(n[:4]) in ids) if full else []
    return {
        "generator": "serbias synth",
        "serbias_version": __version__,
        "synth_format": SYNTH_FORMAT,
        "parameters": {
            "actors": actors,
            "sentences": sentences,
            "full": full,
            "seed": seed,
            "bias": [str(b) for b in biases],
            "raters": raters,
        },
        "design": {
            "n_clips": len(clips),
            "n_actors": len(cast),
            "sentences": codes,
            "left_out": left_out,
            "sample_rate": voice.SAMPLE_RATE,
            "audio_seconds": round(audio_samples / voice.SAMPLE_RATE, 3),
        },
        "bias": [{"spec": str(b), **asdict(b)} for b in biases],
        "voice": {
            "emotion_cues": {
                e: dict(zip(voice.CUE_NAMES, v, strict=True)) for e, v in voice.EMOTION_CUES.items()
            },
            "cue_noise": dict(zip(voice.CUE_NAMES, voice.CUE_NOISE, strict=True)),
            "level_strength": voice.LEVEL_STRENGTH,
            "clip_strength_sigma": voice.CLIP_STRENGTH_SIGMA,
            "reference_level_dbfs": voice.REFERENCE_LEVEL_DBFS,
        },
        "ratings": {
            "voice_confusion": ratings.VOICE_CONFUSION,
            "face_confusion": ratings.FACE_CONFUSION,
            "av_confusion": ratings.AV_CONFUSION,
            "rater_offsets": dict(
                zip(map(str, ratings.RATER_OFFSETS), ratings.RATER_OFFSET_SHARES, strict=True)
            ),
            "clip_concentration": ratings.CLIP_CONCENTRATION,
            "voice_accuracy": round(accuracy, 6),
        },
        "actors": [{**asdict(a), "race_binary": a.race_binary} for a in cast],
        "clips_table": CLIPS_TABLE,
    }
