"""``onnx:FILE``: a speech-emotion model exported to ONNX, run with onnxruntime on the CPU.

The model takes one waveform input, ``[samples]`` or ``[batch, samples]`` (float), and gives
one score per label. Label names come from ``--label-names``, else the model's metadata
``labels`` (a JSON list or ``a,b,c``), else a sidecar ``<stem>.json`` / ``<stem>.yaml`` next to
the file (a list, or a mapping with ``labels``; it may also give ``sample_rate``). The sample
rate is ``--sample-rate``, else metadata ``sample_rate``, else the sidecar's, else 16 kHz. With
``--scores auto`` a graph whose output comes from a Softmax or Sigmoid node is read as
probabilities, anything else as logits (softmax applied).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from serbias.corpus.reader import file_sha256
from serbias.errors import SerbiasError, first_line
from serbias.predictions.source import (
    LoadedSource,
    ModelFacts,
    WaveformScorer,
    label_list,
    library_versions,
    mentions_crema,
    read_texts,
)
from serbias.predictions.waveforms import normalise

if TYPE_CHECKING:
    from serbias.predictions.pretrained_settings import PretrainedSettings

__all__ = [
    "OnnxScorer",
    "fingerprint",
    "load_onnx",
]

DEFAULT_SAMPLE_RATE = 16_000
SIDECAR_SUFFIXES = (".json", ".yaml", ".yml")
RATE_KEYS = ("sample_rate", "sampling_rate")
LIBRARIES = ("onnxruntime", "onnx", "numpy", "soxr", "soundfile")
_FLOAT_INPUTS = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
}
#: Nodes that pass scores through unchanged in value (followed back to find the last op).
_PASS_THROUGH = frozenset({"Identity", "Cast", "Reshape", "Squeeze", "Unsqueeze", "Flatten"})
_WAVEFORM = "a waveform: [samples] or [batch, samples]"


class OnnxScorer(WaveformScorer):
    """An onnxruntime session fed padded float waveforms."""

    def __init__(
        self,
        source: str,
        session: Any,
        *,
        input_name: str,
        input_rank: int,
        input_dtype: type,
        output_name: str,
        labels: tuple[str, ...],
        sample_rate: int,
        normalisation: str,
        fixed_batch: int | None,
        window_samples: int | None,
    ) -> None:
        self.source = source
        self.session = session
        self.input_name = input_name
        self.input_rank = input_rank
        self.input_dtype = input_dtype
        self.output_name = output_name
        self.labels = labels
        self.sample_rate = sample_rate
        self.normalisation = normalisation
        self.fixed_batch = fixed_batch
        self.max_batch = 1 if input_rank == 1 else fixed_batch
        self.window_samples = window_samples

    def prepare(self, samples: np.ndarray) -> np.ndarray:
        return normalise(samples, self.normalisation)  # type: ignore[arg-type]

    def forward(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        from serbias.predictions.waveforms import pad_windows

        batch = pad_windows(windows, self.window_samples)
        if self.input_rank == 1:
            feed = batch[0]
        elif self.fixed_batch is not None and len(windows) < self.fixed_batch:
            feed = np.zeros((self.fixed_batch, batch.shape[1]), dtype=np.float32)
            feed[: len(windows)] = batch
        else:
            feed = batch
        (scores,) = self.session.run(
            [self.output_name], {self.input_name: feed.astype(self.input_dtype, copy=False)}
        )
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim == 1:
            scores = scores[np.newaxis]
        elif scores.ndim == 3 and scores.shape[1] == 1:
            scores = scores[:, 0]
        return scores[: len(windows)]


def fingerprint(path: Path) -> str:
    """SHA-256 of the model file, combined with its label sidecar's when there is one."""
    path = Path(path)
    _check_file(path)
    model_sha = file_sha256(path)
    companions = [p for p in _sidecar_candidates(path) if p.is_file()]
    if not companions:
        return model_sha
    digest = hashlib.sha256(model_sha.encode())
    for companion in companions:
        digest.update(companion.name.encode() + b"\0" + file_sha256(companion).encode())
    return digest.hexdigest()


def load_onnx(path: Path, settings: PretrainedSettings) -> LoadedSource:
    """Open an ONNX emotion model and work out how to feed it and read it."""
    import onnx
    import onnxruntime as ort

    path = Path(path)
    source = f"onnx:{path}"
    _check_file(path)
    graph_model = _read_graph(path, onnx)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # onnxruntime's warnings are not the user's business
    # idle intra-op threads would spin on the core the clip-decoding thread needs
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own pybind types (Fail, InvalidGraph, ...)
        raise SerbiasError(f"{path}: not a valid ONNX model ({first_line(exc, 200)})") from None

    waveform = _waveform_input(session, path)
    output = _scores_output(session, path)
    meta = dict(session.get_modelmeta().custom_metadata_map)
    sidecar_path, sidecar = _sidecar(path)
    labels, label_source = _labels(settings, meta, sidecar, sidecar_path, path)
    n_scores = _static_size(output.shape[-1]) if output.shape else None
    if n_scores is not None and n_scores != len(labels):
        raise SerbiasError(
            f"{path}: output {output.name!r} has {n_scores} scores per clip but {len(labels)} "
            f"label names were found ({label_source}: {', '.join(labels)})"
        )
    rate, rate_source = _sample_rate(settings, meta, sidecar, sidecar_path, path)
    scores, scores_source = _score_kind(settings, graph_model, output.name)
    normalisation = settings.normalize or "none"
    shape = list(waveform.shape)
    fixed_batch = _static_size(shape[0]) if len(shape) == 2 else None
    window_samples = _static_size(shape[-1])
    scorer = OnnxScorer(
        source,
        session,
        input_name=waveform.name,
        input_rank=len(shape),
        input_dtype=_FLOAT_INPUTS[waveform.type],
        output_name=output.name,
        labels=labels,
        sample_rate=rate,
        normalisation=normalisation,
        fixed_batch=fixed_batch,
        window_samples=window_samples,
    )
    card = {f"metadata {key}": str(value) for key, value in meta.items()}
    card["doc_string"] = graph_model.doc_string + " " + graph_model.graph.doc_string
    texts = {**card, **read_texts([path.with_name("README.md"), *_sidecar_candidates(path)])}
    facts = ModelFacts(
        kind="onnx",
        path=path.resolve(),
        sha256=file_sha256(path),
        labels=labels,
        label_source=label_source,
        sample_rate=rate,
        sample_rate_source=rate_source,
        scores=scores,
        scores_source=scores_source,
        normalisation=(
            "none" if normalisation == "none" else f"{normalisation} per clip (--normalize)"
        ),
        libraries=library_versions(LIBRARIES),
        fingerprint=fingerprint(path),
        multi_label=scores == "sigmoid" or "Sigmoid" in scores_source,
        mentions_crema=mentions_crema(texts),
        details={
            "input": {"name": waveform.name, "shape": _shape_text(shape), "type": waveform.type},
            "output": {"name": output.name, "shape": _shape_text(output.shape)},
            "opset": next((op.version for op in graph_model.opset_import if not op.domain), None),
            "producer": graph_model.producer_name or None,
        },
    )
    return LoadedSource(scorer, facts)


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise SerbiasError(f"{path}: is a directory; onnx: expects an .onnx model file")
    if not path.is_file():
        raise SerbiasError(f"{path}: ONNX model file not found")


def _read_graph(path: Path, onnx: Any) -> Any:
    """The model proto without its weights (external data is left on disk)."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise SerbiasError(f"{path}: not an ONNX model ({first_line(exc, 200)})") from None
    if model.ir_version == 0 or not model.graph.node:
        raise SerbiasError(f"{path}: not an ONNX model (no graph found in the file)")
    return model


def _waveform_input(session: Any, path: Path) -> Any:
    inputs = session.get_inputs()
    if len(inputs) != 1:
        described = ", ".join(f"{i.name} {_shape_text(i.shape)}" for i in inputs)
        raise SerbiasError(
            f"{path}: model has {len(inputs)} inputs ({described}); serbias feeds one input, "
            f"{_WAVEFORM}"
        )
    (waveform,) = inputs
    if len(waveform.shape) not in (1, 2):
        raise SerbiasError(
            f"{path}: input {waveform.name!r} has shape {_shape_text(waveform.shape)} (rank "
            f"{len(waveform.shape)}); expected {_WAVEFORM}"
        )
    if waveform.type not in _FLOAT_INPUTS:
        raise SerbiasError(
            f"{path}: input {waveform.name!r} is {waveform.type}; expected float samples, "
            f"{_WAVEFORM}"
        )
    return waveform


def _scores_output(session: Any, path: Path) -> Any:
    """The single output, or among several the first whose rank fits a scores vector."""
    outputs = session.get_outputs()
    fitting = [o for o in outputs if 1 <= len(o.shape or []) <= 3] or outputs
    if not fitting:
        raise SerbiasError(f"{path}: model has no outputs")
    return fitting[0]


def _labels(
    settings: PretrainedSettings,
    meta: Mapping[str, str],
    sidecar: Mapping[str, Any] | None,
    sidecar_path: Path | None,
    path: Path,
) -> tuple[tuple[str, ...], str]:
    if settings.label_names:
        return tuple(settings.label_names), "--label-names"
    if "labels" in meta:
        return label_list(meta["labels"], f"{path}: metadata 'labels'"), "ONNX metadata 'labels'"
    if sidecar is not None and sidecar.get("labels") is not None:
        return label_list(sidecar["labels"], str(sidecar_path)), str(sidecar_path)
    raise SerbiasError(
        f"{path}: no label names (no 'labels' in the ONNX metadata, no "
        f"{path.stem}.json/.yaml next to it); give them in output order with "
        "--label-names, e.g. --label-names ang,hap,neu,sad"
    )


def _sample_rate(
    settings: PretrainedSettings,
    meta: Mapping[str, str],
    sidecar: Mapping[str, Any] | None,
    sidecar_path: Path | None,
    path: Path,
) -> tuple[int, str]:
    if settings.sample_rate is not None:
        return settings.sample_rate, "--sample-rate"
    for where, values in (("ONNX metadata", meta), (str(sidecar_path), sidecar or {})):
        for key in RATE_KEYS:
            if values.get(key) is not None:
                try:
                    rate = int(str(values[key]).strip())
                except ValueError:
                    rate = 0
                if rate <= 0:
                    raise SerbiasError(
                        f"{path}: {where} {key} {values[key]!r} is not a positive whole number"
                    )
                return rate, f"{where} '{key}'"
    return DEFAULT_SAMPLE_RATE, "default (16 kHz)"


def _score_kind(settings: PretrainedSettings, model: Any, output_name: str) -> tuple[Any, str]:
    if settings.scores != "auto":
        return settings.scores, "--scores"
    producers = {out: node for node in model.graph.node for out in node.output}
    node = producers.get(output_name)
    while node is not None and node.op_type in _PASS_THROUGH and node.input:
        node = producers.get(node.input[0])
    op = node.op_type if node is not None else "a graph input"
    if op in ("Softmax", "Sigmoid"):
        return "probabilities", f"auto: the output is computed by {op}"
    return "logits", f"auto: the output is computed by {op}, so softmax is applied"


def _sidecar_candidates(path: Path) -> list[Path]:
    return [path.with_suffix(suffix) for suffix in SIDECAR_SUFFIXES]


def _sidecar(path: Path) -> tuple[Path | None, dict[str, Any] | None]:
    """The first ``<stem>.json``/``.yaml``/``.yml`` next to the model, as a mapping."""
    for candidate in _sidecar_candidates(path):
        if not candidate.is_file():
            continue
        try:
            content = yaml.safe_load(candidate.read_text(encoding="utf-8"))  # JSON is YAML
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            reason = first_line(exc, 200)
            raise SerbiasError(f"{candidate}: unreadable label sidecar ({reason})") from None
        if isinstance(content, list):
            content = {"labels": content}
        if not isinstance(content, dict):
            raise SerbiasError(
                f"{candidate}: expected a list of label names or a mapping with 'labels'"
            )
        return candidate, content
    return None, None


def _static_size(dim: Any) -> int | None:
    """A dimension's size when fixed (onnxruntime gives symbolic ones as str or None)."""
    return dim if isinstance(dim, int) and dim > 0 else None


def _shape_text(shape: Sequence[Any] | None) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in (shape or [])) + "]"
