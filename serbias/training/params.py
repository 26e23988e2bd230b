"""``train`` section of params.yaml: model family, labels, optimisation, replicas, tracking."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from serbias import vocab
from serbias.errors import SerbiasError
from serbias.models.families import MODELS, family

LABEL_KINDS = vocab.LABEL_KINDS


class FamilyHyperparameters(Mapping[str, Any]):
    """``train.models``: each registered family's hyperparameters (defaults when not given).

    Families registered after params were read (e.g. by a plugin or a test) get their
    defaults on first access, so the registry stays the only list of families.
    """

    def __init__(self, given: Mapping[str, Any] | None = None) -> None:
        self._given = dict(given or {})

    @classmethod
    def from_params(cls, values: Any, where: str, coerce: Any) -> FamilyHyperparameters:
        """Build from a params mapping; ``coerce(hint, value, where)`` validates one section."""
        if not isinstance(values, Mapping):
            raise SerbiasError(f"params {where}: expected a mapping, got {values!r}")
        unknown = [name for name in values if name not in MODELS]
        if unknown:
            raise SerbiasError(
                f"params {where}.{unknown[0]}: unknown model family "
                f"(expected one of: {', '.join(MODELS)})"
            )
        return cls(
            {
                name: coerce(MODELS[name].params, section or {}, f"{where}.{name}")
                for name, section in values.items()
            }
        )

    def __getitem__(self, name: str) -> Any:
        if name in self._given:
            return self._given[name]
        return family(name).params()

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*MODELS, *self._given]))

    def __len__(self) -> int:
        return len(list(iter(self)))

    def replace(self, name: str, hyperparameters: Any) -> FamilyHyperparameters:
        return FamilyHyperparameters({**self._given, name: hyperparameters})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self) == dict(other)

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, v) for k, v in self.items())))

    def __repr__(self) -> str:
        return f"FamilyHyperparameters({dict(self)!r})"


@dataclass(frozen=True)
class TaskResources:
    """``train.resources``: what each training task holds on its Ray node (fractional GPUs
    share one device)."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0

    def __post_init__(self) -> None:
        for name in ("num_cpus", "num_gpus"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise SerbiasError(f"train.resources.{name}: {value!r} (expected a number >= 0)")
            object.__setattr__(self, name, float(value))
        if self.num_gpus > 1 and not self.num_gpus.is_integer():
            raise SerbiasError(
                f"train.resources.num_gpus: {self.num_gpus!r} "
                "(expected a fraction up to 1 or a whole number of GPUs)"
            )
        if self.num_cpus == 0 and self.num_gpus == 0:
            raise SerbiasError("train.resources: num_cpus and num_gpus are both 0 (expected one)")

    @classmethod
    def from_mapping(cls, resources: Mapping[str, float] | None) -> TaskResources:
        """Validate a ``train.resources`` mapping (keys ``num_cpus``, ``num_gpus``)."""
        values = dict(resources or {})
        unknown = sorted(set(values) - {"num_cpus", "num_gpus"})
        if unknown:
            raise SerbiasError(
                f"train.resources: unknown key(s) {', '.join(unknown)} "
                "(expected num_cpus and num_gpus)"
            )
        return cls(**values)

    @property
    def threads(self) -> int:
        """Compute threads a task may use (``TaskContext.threads``): its whole CPUs, at least 1."""
        return max(1, int(self.num_cpus))


@dataclass(frozen=True)
class TrainParams:
    """``serbias train``: model family, labels, optimisation, many trainings and tracking.

    ``bootstrap`` N > 0 trains N replicas on bootstrap resamples (``study_replicas``: how many
    the pipeline's bootstrap stage trains per family, :meth:`study`); ``cv`` trains one model per
    fold of a split file with folds (``register_final`` also trains on all actors and registers
    that model). Many trainings run on ``executor`` (``local`` processes, ``jobs`` at once, or
    ``ray`` at ``ray_address``, each task asking ``resources``); a failed task is retried
    ``retries`` times.

    ``label_smoothing`` s moves targets to ``|y - s|`` (1 -> 1 - s, 0 -> s), the
    reference study's rule. ``class_balance`` b > 0 weights each emotion's positive BCE term by
    ``(negatives / positives) ** b`` among the training clips (1: balanced; for the
    neutral-heavy observed labels). ``schedule`` ``cosine``: one epoch of warm-up to
    ``learning_rate``, then cosine decay to 0 at ``epochs``. ``patience`` 0 trains every
    epoch; otherwise training stops after that many epochs without a better validation
    macro-F1 (the best is restored).
    """

    model: str = "multitask"
    labels: Literal["intended", "observed"] = "intended"
    epochs: int = 30
    patience: int = 10
    batch_size: int = 64
    learning_rate: float = 5e-4
    schedule: Literal["constant", "cosine"] = "constant"
    weight_decay: float = 1e-5
    label_smoothing: float = 0.1
    class_balance: float = 0.0
    threshold: float = 0.5
    bootstrap: int = 0
    study_replicas: dict[str, int] = field(default_factory=dict)
    cv: bool = False
    register_final: bool = False
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    resources: TaskResources = field(default_factory=TaskResources)
    retries: int = 2
    jobs: int | None = None
    seed: int | None = None
    deterministic: bool = True
    experiment: str = "serbias-train"
    models: FamilyHyperparameters = field(default_factory=FamilyHyperparameters)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise SerbiasError(f"train.model: {self.model!r} is not one of {', '.join(MODELS)}")
        for key in ("epochs", "batch_size"):
            if getattr(self, key) < 1:
                raise SerbiasError(f"train.{key}: {getattr(self, key)} must be at least 1")
        if self.cv and self.bootstrap:
            raise SerbiasError(
                "train.cv with train.bootstrap: choose cross-validation folds or bootstrap "
                "replicas (--cv or --bootstrap N), not both"
            )
        if self.register_final and not self.cv:
            raise SerbiasError("train.register_final applies only with train.cv (--cv)")
        for name, count in self.study_replicas.items():
            if name not in MODELS:
                raise SerbiasError(
                    f"train.study_replicas.{name}: unknown model family "
                    f"(expected one of: {', '.join(MODELS)})"
                )
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise SerbiasError(
                    f"train.study_replicas.{name}: {count!r} (expected an integer >= 0)"
                )
        for key in ("patience", "bootstrap", "retries"):
            if getattr(self, key) < 0:
                raise SerbiasError(f"train.{key}: {getattr(self, key)} must be >= 0")
        if self.learning_rate <= 0:
            raise SerbiasError(f"train.learning_rate: {self.learning_rate} must be > 0")
        if self.schedule not in ("constant", "cosine"):
            raise SerbiasError(f"train.schedule: {self.schedule!r} is not one of constant, cosine")
        if not 0.0 <= self.class_balance <= 1.0:
            raise SerbiasError(f"train.class_balance: {self.class_balance} is not in [0, 1]")
        if self.weight_decay < 0:
            raise SerbiasError(f"train.weight_decay: {self.weight_decay} must be >= 0")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise SerbiasError(f"train.label_smoothing: {self.label_smoothing} is not in [0, 0.5)")
        if not 0.0 < self.threshold < 1.0:
            raise SerbiasError(f"train.threshold: {self.threshold} is not in (0, 1)")
        if self.jobs is not None and self.jobs < 1:
            raise SerbiasError(f"train.jobs: {self.jobs} must be at least 1 (or null: auto)")
        if not self.experiment.strip():
            raise SerbiasError("train.experiment: must not be empty")
        if not isinstance(self.models, FamilyHyperparameters):
            object.__setattr__(self, "models", FamilyHyperparameters(self.models))

    def study(self) -> TrainParams:
        """The bootstrap stage's training: ``study_replicas`` replicas of this family (0: none),
        no cross-validation."""
        return dataclasses.replace(
            self, bootstrap=self.study_replicas.get(self.model, 0), cv=False, register_final=False
        )

    def family(self) -> Any:
        """Hyperparameters of the chosen model family."""
        return self.models[self.model]

    def with_family(self, hyperparameters: Any) -> TrainParams:
        """These params with the chosen family's hyperparameters replaced."""
        return dataclasses.replace(self, models=self.models.replace(self.model, hyperparameters))
