"""What a model family is: the features it reads, its backend, its hyperparameters, its builder.

A family is declared once (``serbias.models.families``); training, prediction, tracking,
the CLI and params validation all ask the family instead of branching on its name.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from serbias import vocab

#: Output names: every model has ``emotion`` (6 sigmoids); multitask adds two demographic heads.
EMOTION_OUTPUT = "emotion"
DEMOGRAPHIC_OUTPUTS = tuple(vocab.DEMOGRAPHIC_HEADS)

Backend = Literal["keras", "sklearn"]
BACKENDS: tuple[str, ...] = ("keras", "sklearn")


@dataclass(frozen=True)
class ModelFamily:
    """A selectable model family.

    ``builder`` is ``"module:function"``, imported on first use so that declaring a family
    (and validating its params) never loads Keras or scikit-learn. Keras builders are called
    as ``builder(input_shape, **hyperparameters)``, scikit-learn builders as
    ``builder(**hyperparameters, seed=seed)``; ``loss_keys`` are hyperparameters that shape
    the loss, not the architecture. ``trusted_types`` are the classes skops may load for a
    scikit-learn family (never pickle).
    """

    name: str
    feature_kind: str
    backend: Backend
    params: type
    builder: str
    outputs: tuple[str, ...] = (EMOTION_OUTPUT,)
    loss_keys: tuple[str, ...] = ()
    trusted_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"model family {self.name}: unknown backend {self.backend!r}")
        if ":" not in self.builder:
            raise ValueError(f"model family {self.name}: builder must be 'module:function'")

    @property
    def has_epochs(self) -> bool:
        """Whether training runs epochs (with a best epoch) rather than one fit."""
        return self.backend == "keras"

    def build_function(self) -> Callable[..., Any]:
        module, function = self.builder.split(":")
        return getattr(importlib.import_module(module), function)

    def build(self, input_shape: tuple[int, ...], hyperparameters: Any, seed: int) -> Any:
        """An unfitted model (uncompiled for Keras) with these hyperparameters."""
        values = {
            key: value
            for key, value in dataclasses.asdict(hyperparameters).items()
            if key not in self.loss_keys
        }
        if self.backend == "keras":
            return self.build_function()(input_shape, **values)
        return self.build_function()(**values, seed=seed)
