"""``predict`` section of params.yaml: which model predicts which split, and how a
pretrained (``onnx:`` / ``hf:``) model is run."""

from __future__ import annotations

from dataclasses import dataclass, field

from serbias.errors import SerbiasError


@dataclass(frozen=True)
class PretrainedParams:
    """``predict.pretrained``: how an ``onnx:FILE`` / ``hf:DIR`` model runs over the corpus
    audio (validated by :class:`serbias.predictions.pretrained.PretrainedSettings` when used).

    ``sample_rate`` / ``normalize`` apply to ONNX models (null: the model's metadata, else
    16 kHz, no normalisation); ``label_names`` replace the model's own, in output order;
    ``label_map`` holds ``SRC=DST`` pairs over the built-in map (``DST`` ``-`` drops a label);
    ``scores`` auto | logits | probabilities | sigmoid; clips longer than ``chunk_seconds``
    are scored in windows whose probabilities are averaged (null: never split); clips of
    similar length are batched ``batch_size`` at a time (1 is exact: no padding).
    """

    sample_rate: int | None = None
    normalize: str | None = None
    label_names: tuple[str, ...] | None = None
    label_map: tuple[str, ...] = ()
    scores: str = "auto"
    batch_size: int = 16
    chunk_seconds: float | None = 30.0


@dataclass(frozen=True)
class PredictParams:
    """``serbias predict``: which model (URI) predicts which split.

    ``model`` null means the champion of ``train.model`` / ``train.labels``
    (``models:/serbias-<model>-<labels>@champion``).
    """

    model: str | None = None
    split_name: str = "test"
    batch_size: int = 64
    pretrained: PretrainedParams = field(default_factory=PretrainedParams)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise SerbiasError(f"predict.batch_size: {self.batch_size} must be at least 1")
        if not self.split_name:
            raise SerbiasError("predict.split_name: must not be empty")
