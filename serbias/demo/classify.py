"""One recording -> the model's six emotion probabilities and, for multitask models, its
guesses about the speaker (Female, Non-Caucasian), plus which model version answered.

The clip goes through exactly what ``serbias extract`` does to a corpus clip (decode with
:func:`serbias.features.audio.read_audio`, resample once with soxr, then the extractor of
the model's feature kind from :data:`serbias.features.KINDS`), built from the feature
parameters recorded with the model, so the model sees the features it was trained on.
A model is loaded once per process and kept: later recordings cost one feature
computation and one forward pass.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from serbias import tracking, vocab
from serbias.config import DemoParams, ExtractParams
from serbias.errors import SerbiasError
from serbias.features.audio import AudioError, read_audio, resample
from serbias.models.io import load_model

#: Defaults of ``serbias demo`` (params.yaml ``demo:`` overrides them in the CLI).
DEFAULT_MODEL = DemoParams.model
MAX_SECONDS = DemoParams.max_seconds
#: What the demographic heads mean, in the words the page and the terminal use.
SPEAKER_GUESSES = {head: groups[1] for head, groups in vocab.DEMOGRAPHIC_HEADS.items()}
SPEAKER_ALTERNATIVES = {head: groups[2] for head, groups in vocab.DEMOGRAPHIC_HEADS.items()}


@dataclass(frozen=True)
class ModelIdentity:
    """Which model answered: the URI asked for and the registry version it resolved to."""

    uri: str
    resolved_uri: str
    registered_name: str | None
    version: str | None
    aliases: tuple[str, ...]
    run_id: str | None
    family: str | None
    labels: str | None

    def describe(self) -> str:
        """One line, e.g. ``serbias-multitask-intended version 3 (latest, champion), run 1f..``."""
        if self.registered_name is not None:
            what = f"{self.registered_name} version {self.version}"
            if self.aliases:
                what += f" ({', '.join(self.aliases)})"
        else:
            what = self.resolved_uri
        return what + (f", run {self.run_id}" if self.run_id else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields plus ``description`` (:meth:`describe`)."""
        fields = {**dataclasses.asdict(self), "aliases": list(self.aliases)}
        return {**fields, "description": self.describe()}


@dataclass(frozen=True, eq=False)
class DemoModel:
    """A loaded model with its feature plan: samples at ``params.sample_rate`` -> inputs."""

    model: Any
    identity: ModelIdentity
    params: ExtractParams
    kind: str
    features: Callable[[np.ndarray], np.ndarray]
    outputs: tuple[str, ...]
    threshold: float
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def predict(self, samples: np.ndarray) -> dict[str, np.ndarray]:
        """Probabilities per output for one clip (emotion: (6,), each head: a scalar)."""
        from serbias.models.io import predict_outputs

        X = self.features(samples)[np.newaxis]
        with self._lock:  # one forward pass at a time; Keras predict is not re-entrant
            outputs = predict_outputs(self.model, X, batch_size=1)
        return {name: values[0] for name, values in outputs.items()}

    def warm_up(self) -> None:
        """Run one silent clip through, so the first real request skips graph tracing."""
        self.predict(np.zeros(round(self.params.duration * self.params.sample_rate), np.float32))

    @property
    def sample_rate(self) -> int:
        return self.params.sample_rate

    def heard_seconds(self, seconds: float) -> float:
        """How much of a recording the model hears (inputs are cut to ``extract.duration``)."""
        return min(seconds, self.params.duration)

    def answer(self, samples: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
        """(emotion probabilities by name, speaker guesses by group) for samples at
        :attr:`sample_rate`."""
        outputs = self.predict(samples)
        emotion = outputs["emotion"]
        emotions = {label: float(emotion[k]) for k, label in enumerate(vocab.EMOTION_NAMES)}
        speaker = {label: float(outputs[h]) for h, label in SPEAKER_GUESSES.items() if h in outputs}
        return emotions, speaker


@dataclass(frozen=True, eq=False)
class PretrainedDemoModel:
    """An ``onnx:`` / ``hf:`` model in the demo: only the emotions it covers, no speaker heads,
    every window of the recording heard (long clips are scored window by window)."""

    model: Any
    identity: ModelIdentity
    threshold: float = 0.5

    @property
    def sample_rate(self) -> int:
        return self.model.sample_rate

    def heard_seconds(self, seconds: float) -> float:
        return seconds

    def answer(self, samples: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
        return self.model.classify(samples, self.sample_rate), {}

    def warm_up(self) -> None:
        self.model.classify(np.zeros(self.sample_rate, np.float32), self.sample_rate)


@dataclass(frozen=True)
class Classification:
    """What the model said about one recording."""

    emotions: dict[str, float]
    speaker: dict[str, float]
    threshold: float
    model: ModelIdentity
    seconds: float
    heard_seconds: float

    @property
    def top_emotion(self) -> str:
        return max(self.emotions, key=self.emotions.__getitem__)

    @property
    def detected(self) -> list[str]:
        """Emotions at or above the model's decision threshold (the study's multi-label rule)."""
        return [name for name, p in self.emotions.items() if p >= self.threshold]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: emotions in vocabulary order, speaker guesses, model and audio facts."""
        return {
            "emotions": self.emotions,
            "top_emotion": self.top_emotion,
            "detected": self.detected,
            "threshold": self.threshold,
            "speaker": self.speaker,
            "model": self.model.to_dict(),
            "audio": {"seconds": self.seconds, "heard_seconds": self.heard_seconds},
        }


#: Loaded models by (tracking store, URI): the same URI in another store is another model.
_models: dict[tuple[str, str], DemoModel | PretrainedDemoModel] = {}
_models_lock = threading.Lock()


def load_demo_model(uri: str = DEFAULT_MODEL) -> DemoModel | PretrainedDemoModel:
    """The model at ``uri`` with its feature plan, loaded on first use and then kept.

    A registry alias (``models:/name@champion``) is resolved to its version once, when
    the model is loaded; a later move of the alias is seen by a new process.
    """
    key = (tracking.tracking_uri(), uri)
    with _models_lock:
        if key not in _models:
            _models[key] = _load(uri)
        return _models[key]


def classify(
    audio: Path | bytes,
    *,
    model_uri: str = DEFAULT_MODEL,
    max_seconds: float = MAX_SECONDS,
    name: str = "recording",
) -> Classification:
    """Classify one WAV recording (a path, or the bytes of an upload called ``name``).

    Raises :class:`~serbias.features.audio.AudioError` (a SerbiasError) when the audio is
    empty, not a readable WAV, or longer than ``max_seconds``; the audio is checked before
    the model is loaded, so a bad file fails at once.
    """
    if isinstance(audio, bytes | bytearray | memoryview):
        if len(audio) == 0:
            raise AudioError(Path(name), "is empty (0 bytes)")
        with tempfile.NamedTemporaryFile(prefix="serbias-demo-", suffix=".wav") as handle:
            handle.write(audio)
            handle.flush()
            samples, rate = _decode(Path(handle.name), max_seconds, Path(name))
    else:
        samples, rate = _decode(Path(audio), max_seconds, Path(audio))
    seconds = samples.size / rate
    demo = load_demo_model(model_uri)
    emotions, speaker = demo.answer(resample(samples, rate, demo.sample_rate))
    return Classification(
        emotions=emotions,
        speaker=speaker,
        threshold=demo.threshold,
        model=demo.identity,
        seconds=seconds,
        heard_seconds=demo.heard_seconds(seconds),
    )


def _decode(path: Path, max_seconds: float, shown: Path) -> tuple[np.ndarray, int]:
    """Mono samples at the recording's own rate, and that rate.

    The length is checked from the header before anything is decoded, so an hour-long
    file is refused without reading it. ``shown`` is the name errors use.
    """
    try:
        info = sf.info(str(path))
    except Exception:  # read_audio below gives the precise reason
        info = None
    if info is not None and info.samplerate > 0 and info.frames / info.samplerate > max_seconds:
        seconds = info.frames / info.samplerate
        raise AudioError(shown, f"is {seconds:.1f} s long; at most {max_seconds:g} s is accepted")
    try:
        samples, rate = read_audio(path)
    except AudioError as exc:
        raise AudioError(shown, exc.reason) from None
    if samples.size == 0:
        raise AudioError(shown, "holds no audio (0 samples)")
    seconds = samples.size / rate
    if seconds > max_seconds:  # a header that understated the length
        raise AudioError(shown, f"is {seconds:.1f} s long; at most {max_seconds:g} s is accepted")
    return samples, rate


def _load(uri: str) -> DemoModel | PretrainedDemoModel:
    from serbias.predictions.pretrained import is_pretrained, load_pretrained

    if is_pretrained(uri):
        family = uri.split(":", 1)[0]
        identity = ModelIdentity(uri, uri, None, None, (), None, family, None)
        return PretrainedDemoModel(load_pretrained(uri), identity)
    return _load_tracked(uri)


def _load_tracked(uri: str) -> DemoModel:
    from serbias.features import KINDS

    tracking.check_store_exists(uri)
    name, version = tracking.registry_version(uri)
    resolved = uri if version is None else f"models:/{name}/{version}"
    loaded = load_model(resolved)
    metadata = loaded.metadata
    kind = metadata.get("feature_kind")
    if kind not in KINDS or "feature_params" not in metadata:
        raise SerbiasError(
            f"{uri}: model has no serbias metadata (was it logged by `serbias train`?)"
        )
    params = feature_params(metadata["feature_params"], uri, kind)
    from serbias.predictions.tracked_source import check_compatible

    feature_kind, own = KINDS[kind], params.of(kind)
    extractor = feature_kind.extractor(own, params)
    check_compatible(
        metadata, kind=kind, shape=feature_kind.row_shape(own, params),
        columns=feature_kind.columns(own, params), where=uri,
    )  # fmt: skip
    identity = ModelIdentity(
        uri=uri,
        resolved_uri=resolved,
        registered_name=name,
        version=version,
        aliases=tuple(tracking.aliases_of(name, version)) if version is not None else (),
        run_id=loaded.run_id or tracking.run_id_of(resolved),
        family=metadata.get("serbias_model"),
        labels=metadata.get("labels"),
    )
    outputs = tuple(metadata.get("outputs") or ("emotion",))
    threshold = float(metadata.get("threshold", 0.5))
    return DemoModel(loaded.model, identity, params, kind, extractor, outputs, threshold)


def feature_params(recorded: Mapping[str, Any], uri: str, kind: str) -> ExtractParams:
    """The extract parameters a model of feature ``kind`` was trained with (as recorded in
    its metadata: the decoding settings and the kind's own section)."""
    from serbias.features import KINDS

    section = recorded.get(kind, {})
    shared = {key: value for key, value in recorded.items() if key != kind}
    unknown = sorted(set(recorded) - set(ExtractParams().feature_params([kind])))
    if isinstance(section, Mapping):
        fields = {f.name for f in dataclasses.fields(KINDS[kind].Params)}
        unknown += sorted(f"{kind}.{key}" for key in set(section) - fields)
    else:
        unknown.append(kind)
    if unknown:
        raise SerbiasError(
            f"{uri}: model was trained on features with parameters this serbias does not know "
            f"({', '.join(unknown)}); use the serbias version that trained it"
        )
    return ExtractParams(**shared, kinds=(kind,), kind_params={kind: section})
