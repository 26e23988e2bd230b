"""Multi-head additive self-attention pooling over time, and the CNN-LSTM that uses it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers, ops

from serbias import vocab
from serbias.models.base import EMOTION_OUTPUT
from serbias.models.cnn_lstm import CHANNELS, POOLS, feature_blocks


@keras.saving.register_keras_serializable(package="serbias")
class AttentionPooling(layers.Layer):
    """Pool a sequence (batch, time, d) into (batch, heads * d) with additive attention.

    Each head h scores step t as ``v_h . elu(W_h x_t + b_h)`` (hidden size ``units``),
    softmaxes the scores over time and averages the steps with those weights; the heads'
    averages are concatenated (the reference study: 8 heads, hidden 128).
    """

    def __init__(self, heads: int = 8, units: int = 128, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if heads < 1 or units < 1:
            raise ValueError(f"heads ({heads}) and units ({units}) must be positive")
        self.heads = heads
        self.units = units

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        d = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel", shape=(d, self.heads, self.units), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.heads, self.units), initializer="zeros"
        )
        self.score = self.add_weight(
            name="score", shape=(self.heads, self.units), initializer="glorot_uniform"
        )

    def call(self, inputs: Any) -> Any:
        hidden = ops.elu(ops.einsum("btd,dhu->bthu", inputs, self.kernel) + self.bias)
        scores = ops.einsum("bthu,hu->bth", hidden, self.score)
        weights = ops.softmax(scores, axis=1)
        pooled = ops.einsum("bth,btd->bhd", weights, inputs)
        return ops.reshape(pooled, (-1, self.heads * inputs.shape[-1]))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, int]:
        return (input_shape[0], self.heads * input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "heads": self.heads, "units": self.units}


def attention_trunk(
    spectrogram: keras.KerasTensor,
    *,
    channels: Sequence[int],
    pools: Sequence[tuple[int, int]],
    lstm_units: int,
    dropout: float,
    spatial_dropout: float,
    attention_heads: int,
    attention_units: int,
) -> keras.KerasTensor:
    """Conv blocks -> BiLSTM (all steps) -> attention pooling -> dropout."""
    steps = feature_blocks(
        spectrogram, channels=channels, pools=pools, spatial_dropout=spatial_dropout
    )
    x = layers.Bidirectional(layers.LSTM(lstm_units, return_sequences=True), name="bilstm")(steps)
    x = AttentionPooling(attention_heads, attention_units, name="attention")(x)
    return layers.Dropout(dropout, name="dropout")(x)


def build_cnn_lstm_attention(
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
    """CNN-LSTM with attention pooling instead of the last step (uncompiled)."""
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
    emotion = layers.Dense(len(vocab.EMOTIONS), activation="sigmoid", name=EMOTION_OUTPUT)(x)
    return keras.Model(spectrogram, {EMOTION_OUTPUT: emotion}, name="cnn_lstm_attention")
