"""How a pretrained model runs: the ``onnx:`` / ``hf:`` settings, validated once."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from serbias.errors import SerbiasError
from serbias.predictions.labels import parse_label_map
from serbias.predictions.source import label_list
from serbias.predictions.waveforms import NORMALISATIONS, SCORE_KINDS, Normalisation

ScoresSetting = Literal["auto", "logits", "probabilities", "sigmoid"]
SCORES_SETTINGS: tuple[str, ...] = ("auto", *SCORE_KINDS)


@dataclass(frozen=True, kw_only=True)
class PretrainedSettings:
    """How to run a pretrained model (the ``serbias predict`` / ``demo`` options).

    ``sample_rate`` and ``normalize`` apply to ``onnx:`` models only (None: the model's
    metadata, else 16 kHz and no normalisation); ``label_names`` replace the model's own, in
    output order; ``label_map`` holds ``SRC=DST`` pairs; ``scores`` ``auto`` reads the model;
    ``chunk_seconds`` None never splits a clip.
    """

    sample_rate: int | None = None
    normalize: Normalisation | None = None
    label_names: tuple[str, ...] | None = None
    label_map: tuple[str, ...] = ()
    scores: ScoresSetting = "auto"
    batch_size: int = 16
    chunk_seconds: float | None = 30.0

    def __post_init__(self) -> None:
        if self.label_names is not None:
            object.__setattr__(self, "label_names", label_list(self.label_names, "--label-names"))
        if isinstance(self.label_map, str):
            object.__setattr__(self, "label_map", (self.label_map,))
        elif isinstance(self.label_map, Mapping):
            pairs = tuple(f"{src}={dst}" for src, dst in self.label_map.items())
            object.__setattr__(self, "label_map", pairs)
        else:
            object.__setattr__(self, "label_map", tuple(self.label_map))
        parse_label_map(self.label_map)  # a bad pair fails here, before any model loads
        if self.sample_rate is not None and self.sample_rate <= 0:
            raise SerbiasError(f"--sample-rate {self.sample_rate}: must be a positive number of Hz")
        if self.normalize is not None and self.normalize not in NORMALISATIONS:
            raise SerbiasError(
                f"--normalize {self.normalize!r}: expected one of {', '.join(NORMALISATIONS)}"
            )
        if self.scores not in SCORES_SETTINGS:
            raise SerbiasError(
                f"--scores {self.scores!r}: expected one of {', '.join(SCORES_SETTINGS)}"
            )
        if self.batch_size < 1:
            raise SerbiasError(f"--batch-size {self.batch_size}: must be at least 1")
        if self.chunk_seconds is not None and not (
            math.isfinite(self.chunk_seconds) and self.chunk_seconds > 0
        ):
            raise SerbiasError(f"--chunk-seconds {self.chunk_seconds}: must be a positive number")

    @property
    def label_overrides(self) -> dict[str, str | None]:
        """``label_map`` parsed: casefolded label -> emotion code (None: drop)."""
        return parse_label_map(self.label_map)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready settings (for the sidecar and the cache key)."""
        values = asdict(self)
        values["label_names"] = None if self.label_names is None else list(self.label_names)
        values["label_map"] = list(self.label_map)
        return values
