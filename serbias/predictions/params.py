"""``predict`` section of params.yaml: which model predicts which split."""

from __future__ import annotations

from dataclasses import dataclass

from serbias.errors import SerbiasError


@dataclass(frozen=True)
class PredictParams:
    """``serbias predict``: which model (URI) predicts which split.

    ``model`` null means the champion of ``train.model`` / ``train.labels``
    (``models:/serbias-<model>-<labels>@champion``).
    """

    model: str | None = None
    split_name: str = "test"
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise SerbiasError(f"predict.batch_size: {self.batch_size} must be at least 1")
        if not self.split_name:
            raise SerbiasError("predict.split_name: must not be empty")
