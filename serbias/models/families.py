"""The model families and their hyperparameters: ``MODELS`` is the only list of them.

A family's hyperparameters are its ``train.models.<name>`` section of params.yaml. To add a
family: write its module (a builder) and add one :class:`ModelFamily` entry below (or call
:func:`register` from your own code).
"""

from __future__ import annotations

from dataclasses import dataclass

from serbias.errors import SerbiasError
from serbias.models.base import DEMOGRAPHIC_OUTPUTS, EMOTION_OUTPUT, ModelFamily


@dataclass(frozen=True)
class SvmParams:
    """``train.models.svm``: the reference study's SVM baseline."""

    C: float = 10.0
    gamma: float = 0.005
    pca: int = 140
    anova_p: float = 0.01

    def __post_init__(self) -> None:
        for key in ("C", "gamma"):
            if getattr(self, key) <= 0:
                raise SerbiasError(f"train.models.svm.{key}: {getattr(self, key)} must be > 0")
        if self.pca < 1:
            raise SerbiasError(f"train.models.svm.pca: {self.pca} must be at least 1")
        if not 0.0 < self.anova_p <= 1.0:
            raise SerbiasError(f"train.models.svm.anova_p: {self.anova_p} is not in (0, 1]")


@dataclass(frozen=True)
class CnnLstmParams:
    """``train.models.cnn_lstm``: conv blocks (channels, (freq, time) pools) and the BiLSTM."""

    channels: tuple[int, ...] = (64, 64, 128, 128)
    pools: tuple[tuple[int, int], ...] = ((2, 2), (4, 2), (4, 2), (4, 2))
    lstm_units: int = 64
    dropout: float = 0.1
    spatial_dropout: float = 0.1

    def __post_init__(self) -> None:
        where = f"train.models.{self._section}"
        if not self.channels or any(c < 1 for c in self.channels):
            raise SerbiasError(f"{where}.channels: {list(self.channels)} must be positive counts")
        if len(self.pools) != len(self.channels):
            raise SerbiasError(
                f"{where}.pools: {len(self.pools)} pool sizes for {len(self.channels)} channel "
                "counts (one (freq, time) pair per conv block)"
            )
        if any(len(p) != 2 or min(p) < 1 for p in self.pools):
            pools = [list(p) for p in self.pools]
            raise SerbiasError(f"{where}.pools: {pools} must be positive (freq, time) pairs")
        if self.lstm_units < 1:
            raise SerbiasError(f"{where}.lstm_units: {self.lstm_units} must be at least 1")
        for key in ("dropout", "spatial_dropout"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise SerbiasError(f"{where}.{key}: {getattr(self, key)} is not in [0, 1)")

    _section = "cnn_lstm"


@dataclass(frozen=True)
class AttentionParams(CnnLstmParams):
    """``train.models.cnn_lstm_attention``: the CNN-LSTM with multi-head attention pooling."""

    attention_heads: int = 8
    attention_units: int = 128

    _section = "cnn_lstm_attention"

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("attention_heads", "attention_units"):
            if getattr(self, key) < 1:
                raise SerbiasError(f"train.models.{self._section}.{key}: must be at least 1")


@dataclass(frozen=True)
class MultitaskParams(AttentionParams):
    """``train.models.multitask``: attention model + Female and Non-Caucasian heads.

    ``demographic_weight`` 1.0 makes each demographic head weigh as much as one emotion
    output, as in the reference study's single 8-sigmoid loss.
    """

    demographic_weight: float = 1.0

    _section = "multitask"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.demographic_weight < 0:
            raise SerbiasError(
                f"train.models.multitask.demographic_weight: {self.demographic_weight} must be >= 0"
            )


#: name -> family; ``serbias train --model`` chooses from it, params.yaml's ``train.models``
#: has one section per entry, and the DVC matrix is checked against it.
MODELS: dict[str, ModelFamily] = {}


def register(family: ModelFamily) -> ModelFamily:
    """Add (or replace) a family in :data:`MODELS`; returns it."""
    MODELS[family.name] = family
    return family


def family(name: str) -> ModelFamily:
    """The registry entry of ``name``; a SerbiasError lists the valid names."""
    if name not in MODELS:
        raise SerbiasError(f"unknown model {name!r} (expected one of: {', '.join(MODELS)})")
    return MODELS[name]


def trusted_types() -> tuple[str, ...]:
    """Every class skops may load for a scikit-learn family."""
    return tuple(sorted({t for f in MODELS.values() for t in f.trusted_types}))


#: The SVM's own estimators and the stub OneVsRestClassifier fits for a label with no
#: positive training clip.
SVM_TRUSTED_TYPES = (
    "serbias.models.svm.AnovaFilter",
    "serbias.models.svm.CappedPCA",
    "sklearn.multiclass._ConstantPredictor",
)

register(ModelFamily("svm", "svm", "sklearn", SvmParams, "serbias.models.svm:build_svm",
                     trusted_types=SVM_TRUSTED_TYPES))  # fmt: skip
register(ModelFamily("cnn_lstm", "logmel", "keras", CnnLstmParams,
                     "serbias.models.cnn_lstm:build_cnn_lstm"))  # fmt: skip
register(ModelFamily("cnn_lstm_attention", "logmel", "keras", AttentionParams,
                     "serbias.models.attention:build_cnn_lstm_attention"))  # fmt: skip
register(ModelFamily("multitask", "logmel", "keras", MultitaskParams,
                     "serbias.models.multitask:build_multitask",
                     outputs=(EMOTION_OUTPUT, *DEMOGRAPHIC_OUTPUTS),
                     loss_keys=("demographic_weight",)))  # fmt: skip
