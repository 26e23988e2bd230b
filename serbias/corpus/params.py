"""``synth`` and ``split`` sections of params.yaml: the synthetic corpus and the splits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from serbias.errors import SerbiasError


@dataclass(frozen=True)
class SynthParams:
    """``serbias synth``: size and ground truth of the synthetic corpus."""

    actors: int = 30
    sentences: int = 6
    full: bool = False
    seed: int | None = None
    bias: tuple[str, ...] = ()
    raters: int = 10
    jobs: int | None = None

    def __post_init__(self) -> None:
        if not 2 <= self.actors <= 91:
            raise SerbiasError(f"synth.actors: {self.actors} is not in 2..91")
        if not 1 <= self.sentences <= 12:
            raise SerbiasError(f"synth.sentences: {self.sentences} is not in 1..12")
        if self.raters < 1:
            raise SerbiasError(f"synth.raters: {self.raters} must be at least 1")
        if self.jobs is not None and self.jobs < 1:
            raise SerbiasError(f"synth.jobs: {self.jobs} must be at least 1 (or null: every CPU)")


@dataclass(frozen=True)
class SplitParams:
    """``serbias split``: speaker-independent or the reference study's clip split."""

    mode: Literal["speaker", "clip"] = "speaker"
    train: float = 0.8
    val: float = 0.1
    test: float = 0.1
    folds: int = 0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.folds == 1 or self.folds < 0:
            raise SerbiasError(f"split.folds: {self.folds}, expected 0 (no folds) or at least 2")
        for name in ("train", "val", "test"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SerbiasError(f"split.{name}: {value} is not a fraction in [0, 1]")
        total = self.train + self.val + self.test
        if total > 1.0 + 1e-9:
            raise SerbiasError(
                f"split sizes: train {self.train} + val {self.val} + test {self.test} = "
                f"{total:g}, expected a sum <= 1"
            )
        if self.train <= 0.0:
            raise SerbiasError("split.train: must be > 0")
