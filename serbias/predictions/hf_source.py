"""``hf:DIR``: a Hugging Face audio-classification model from a local directory, on the CPU.

``DIR`` is a ``save_pretrained`` layout or a hub snapshot fetched beforehand; it is loaded
with ``local_files_only=True``, so nothing is ever downloaded. The model's feature extractor
sets the sample rate and the normalisation; its ``id2label`` gives the label names (unless
``--label-names``), and ``problem_type: multi_label_classification`` selects sigmoid scores
under ``--scores auto`` (softmax otherwise).

The feature extractor normalises each window over its own samples: it is always asked for
the attention mask, so padding in a batch never enters the mean and variance; the mask is
passed on to the model only when the extractor says the model takes one
(``return_attention_mask``), as the model was trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from serbias.errors import SerbiasError, first_line
from serbias.predictions.source import (
    LoadedSource,
    ModelFacts,
    WaveformScorer,
    directory_sha256,
    label_list,
    library_versions,
    mentions_crema,
    read_texts,
)

if TYPE_CHECKING:
    from serbias.predictions.pretrained_settings import PretrainedSettings

__all__ = [
    "MISSING_EXTRA",
    "HfScorer",
    "fingerprint",
    "load_hf",
]

CONFIG = "config.json"
PREPROCESSOR_CONFIG = "preprocessor_config.json"
#: Weight files of a ``save_pretrained`` directory (single or sharded).
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
LIBRARIES = ("transformers", "torch", "numpy", "soxr", "soundfile")
MISSING_EXTRA = (
    'hf: models need transformers and torch, which are not installed: pip install -e ".[hf]"'
)


class HfScorer(WaveformScorer):
    """Feature extractor + audio-classification model, batched, under ``inference_mode``."""

    def __init__(
        self,
        source: str,
        extractor: Any,
        model: Any,
        *,
        labels: tuple[str, ...],
        sample_rate: int,
        pass_mask: bool,
        min_samples: int,
    ) -> None:
        self.source = source
        self.extractor = extractor
        self.model = model
        self.labels = labels
        self.sample_rate = sample_rate
        self.pass_mask = pass_mask
        self.min_samples = min_samples

    def forward(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        inputs = self.extractor(
            [np.asarray(w, dtype=np.float32) for w in windows],
            sampling_rate=self.sample_rate,
            padding=True,
            return_attention_mask=True,
            return_tensors="pt",
        )
        if not self.pass_mask:
            inputs.pop("attention_mask", None)
        with torch.inference_mode():
            logits = self.model(**inputs).logits
        return logits.to(torch.float64).numpy()


def fingerprint(directory: Path) -> str:
    """SHA-256 over the model directory's files (weights, configs, card)."""
    directory = Path(directory)
    _check_layout(directory)
    return directory_sha256(directory)


def load_hf(directory: Path, settings: PretrainedSettings) -> LoadedSource:
    """Load an audio-classification model and its feature extractor from ``directory``."""
    directory = Path(directory)
    _check_layout(directory)
    try:
        import torch
        import transformers
    except ImportError:
        raise SerbiasError(MISSING_EXTRA) from None
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()  # serbias draws its own progress
    try:
        extractor = transformers.AutoFeatureExtractor.from_pretrained(
            directory, local_files_only=True
        )
        model = transformers.AutoModelForAudioClassification.from_pretrained(
            directory,
            local_files_only=True,
            dtype=torch.float32,  # float16 snapshots too
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = first_line(exc, 200)
        raise SerbiasError(
            f"{directory}: not loadable as an audio-classification model ({reason})"
        ) from None
    finally:
        if bars:
            transformers.utils.logging.enable_progress_bar()
    model.to("cpu").eval()
    config = model.config
    rate = int(extractor.sampling_rate)
    if settings.sample_rate is not None and settings.sample_rate != rate:
        raise SerbiasError(
            f"{directory}: --sample-rate {settings.sample_rate} does not apply to hf: models; "
            f"this one's feature extractor runs at {rate} Hz"
        )
    if settings.normalize not in (None, "none"):
        raise SerbiasError(
            f"{directory}: --normalize does not apply to hf: models; their feature extractor "
            "normalises as the model was trained"
        )
    labels, label_source = _labels(config, settings, directory)
    scores, scores_source = _score_kind(config, settings)
    pass_mask = bool(getattr(extractor, "return_attention_mask", False))
    source = f"hf:{directory}"
    scorer = HfScorer(
        source,
        extractor,
        model,
        labels=labels,
        sample_rate=rate,
        pass_mask=pass_mask,
        min_samples=_receptive_field(config),
    )
    texts = read_texts([directory / CONFIG, directory / "README.md"])
    do_normalize = getattr(extractor, "do_normalize", None)
    sha256 = directory_sha256(directory)
    facts = ModelFacts(
        kind="hf",
        path=directory.resolve(),
        sha256=sha256,
        labels=labels,
        label_source=label_source,
        sample_rate=rate,
        sample_rate_source=f"{PREPROCESSOR_CONFIG} sampling_rate",
        scores=scores,
        scores_source=scores_source,
        normalisation=(
            f"feature extractor {type(extractor).__name__}"
            + ("" if do_normalize is None else f" (do_normalize={do_normalize})")
        ),
        libraries=library_versions(LIBRARIES),
        fingerprint=sha256,
        multi_label=scores == "sigmoid",
        mentions_crema=mentions_crema(texts),
        details={
            "model_type": getattr(config, "model_type", None),
            "architectures": list(getattr(config, "architectures", None) or []),
            "problem_type": getattr(config, "problem_type", None),
            "attention_mask_passed": pass_mask,
        },
    )
    return LoadedSource(scorer, facts)


def _check_layout(directory: Path) -> None:
    """The files ``from_pretrained`` needs, checked first so each absence is one clear line."""
    if not directory.exists():
        raise SerbiasError(f"{directory}: Hugging Face model directory not found")
    if not directory.is_dir():
        raise SerbiasError(
            f"{directory}: is a file; hf: expects a directory (a save_pretrained layout or a "
            "hub snapshot)"
        )
    if not (directory / CONFIG).is_file():
        raise SerbiasError(f"{directory}: no {CONFIG} (expected a save_pretrained directory)")
    if not any((directory / name).is_file() for name in WEIGHT_FILES):
        raise SerbiasError(
            f"{directory}: no model weights (expected {' or '.join(WEIGHT_FILES[::2])})"
        )
    if not (directory / PREPROCESSOR_CONFIG).is_file():
        raise SerbiasError(
            f"{directory}: no {PREPROCESSOR_CONFIG} (the feature extractor; save it with "
            "feature_extractor.save_pretrained(DIR))"
        )


def _labels(
    config: Any, settings: PretrainedSettings, directory: Path
) -> tuple[tuple[str, ...], str]:
    n_labels = int(config.num_labels)
    if settings.label_names:
        labels, label_source = tuple(settings.label_names), "--label-names"
    else:
        labels = label_list(dict(config.id2label or {}), f"{directory / CONFIG}: id2label")
        label_source = f"{CONFIG} id2label"
    if len(labels) != n_labels:
        raise SerbiasError(
            f"{directory}: the model gives {n_labels} scores per clip but {len(labels)} label "
            f"names were found ({label_source}: {', '.join(labels)})"
        )
    return labels, label_source


def _score_kind(config: Any, settings: PretrainedSettings) -> tuple[Any, str]:
    if settings.scores != "auto":
        return settings.scores, "--scores"
    problem = getattr(config, "problem_type", None)
    if problem == "multi_label_classification":
        return "sigmoid", "auto: problem_type multi_label_classification"
    return "logits", f"auto: problem_type {problem or 'unset'}, so softmax is applied"


def _receptive_field(config: Any) -> int:
    """Samples the convolutional feature encoder needs for one frame (400 for wav2vec2)."""
    kernels = getattr(config, "conv_kernel", None)
    strides = getattr(config, "conv_stride", None)
    if not kernels or not strides:
        return 1
    field, jump = 1, 1
    for kernel, stride in zip(kernels, strides, strict=False):
        field += (kernel - 1) * jump
        jump *= stride
    return field
