"""The attention CNN-LSTM with two extra sigmoid heads: Female vs Male, Non-Caucasian vs Caucasian.

The demographic heads only shape the shared representation during training (the reference
study's multitask variant); predictions tables report them as ``Female`` and ``Non-Caucasian``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from serbias import vocab
from serbias.models.attention import attention_trunk
from serbias.models.base import DEMOGRAPHIC_OUTPUTS, EMOTION_OUTPUT
from serbias.models.cnn_lstm import CHANNELS, POOLS

FEMALE_OUTPUT, NON_CAUCASIAN_OUTPUT = DEMOGRAPHIC_OUTPUTS


def build_multitask(
    input_shape: tuple[int, int],
    *,
    channels: Sequence[int] = CHANNELS,
    pools: Sequence[tuple[int, int]] = POOLS,
    lstm_units: int = 64,
    dropout: float = 0.1,
    spatial_dropout: float = 0.1,
    attention_heads: int = 8,
    attention_units: int = 128,
) -> keras.Model:
    """Outputs ``emotion`` (6 sigmoids), ``female`` and ``non_caucasian`` (1 sigmoid each)."""
    spectrogram = keras.Input(shape=input_shape, name="logmel")
    x = attention_trunk(
        spectrogram,
        channels=channels,
        pools=pools,
        lstm_units=lstm_units,
        dropout=dropout,
        spatial_dropout=spatial_dropout,
        attention_heads=attention_heads,
        attention_units=attention_units,
    )
    sigmoids = {EMOTION_OUTPUT: len(vocab.EMOTIONS), FEMALE_OUTPUT: 1, NON_CAUCASIAN_OUTPUT: 1}
    outputs = {
        name: layers.Dense(units, activation="sigmoid", name=name)(x)
        for name, units in sigmoids.items()
    }
    return keras.Model(spectrogram, outputs, name="multitask")
