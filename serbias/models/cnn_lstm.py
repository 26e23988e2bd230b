"""The reference study's 2-D CNN-LSTM on log-mel spectrograms (Keras 3).

Input (n_mels, frames) -> input BatchNorm -> 4 local-feature-learning blocks
(Conv2D 3x3 no bias -> BatchNorm -> ELU -> MaxPool -> SpatialDropout2D; computed as
BatchNorm -> MaxPool -> ELU, which is identical and cheaper) -> frequency
folded into channels -> bidirectional LSTM over time -> last step -> dropout -> 6 sigmoids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers

from serbias import vocab
from serbias.models.base import EMOTION_OUTPUT

CHANNELS = (64, 64, 128, 128)
#: Pool sizes as (frequency, time): the reference pools frequency by 128 and time by 16 in total.
POOLS = ((2, 2), (4, 2), (4, 2), (4, 2))
#: PyTorch's BatchNorm defaults, as in the reference: running statistics follow the batches
#: with weight 0.1 (Keras' default 0.01 leaves them far from the data for the first few
#: hundred steps, so inference is wrong early on and on small corpora), epsilon 1e-5.
BATCH_NORM = {"momentum": 0.9, "epsilon": 1e-5}


@keras.saving.register_keras_serializable(package="serbias")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras BatchNormalization computed with TensorFlow's fused kernel when training on 4-D input.

    Same weights, config and results as the stock layer (moving variance updated with the
    biased batch variance, as Keras does); on CPU the fused kernel trains the first conv
    block about 1.5x faster. Other backends, masks and inference use the stock code path.
    """

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if not (
            training
            and self.trainable
            and mask is None
            and keras.backend.backend() == "tensorflow"
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and self.center
            and self.scale
            and not self.renorm
            and not self.synchronized
            and keras.backend.standardize_dtype(inputs.dtype) == "float32"
        ):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        outputs, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, self.gamma, self.beta, epsilon=self.epsilon, is_training=True
        )
        count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], inputs.dtype)
        variance = unbiased_variance * (count - 1.0) / count
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
        )
        return outputs


def feature_blocks(
    spectrogram: keras.KerasTensor,
    *,
    channels: Sequence[int] = CHANNELS,
    pools: Sequence[tuple[int, int]] = POOLS,
    spatial_dropout: float = 0.1,
) -> keras.KerasTensor:
    """Input BatchNorm and the conv blocks; returns (batch, time, features) for an LSTM.

    Pool sizes are capped by the remaining size of each axis, so small inputs (e.g. 32 mel
    bands) pool down to 1 instead of 0.
    """
    if len(channels) != len(pools):
        raise ValueError(f"{len(channels)} channel counts but {len(pools)} pool sizes")
    x = layers.Reshape((*spectrogram.shape[1:], 1), name="add_channel")(spectrogram)
    x = FusedBatchNormalization(**BATCH_NORM, name="input_norm")(x)
    blocks = zip(channels, pools, strict=True)
    for i, (filters, (pool_freq, pool_time)) in enumerate(blocks, start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = FusedBatchNormalization(**BATCH_NORM, name=f"norm{i}")(x)
        pool = (min(pool_freq, x.shape[1]), min(pool_time, x.shape[2]))
        # ELU is increasing, so pooling first gives the same values and gradients as
        # ELU -> MaxPool while applying ELU to 4-16x fewer elements.
        x = layers.MaxPooling2D(pool, name=f"pool{i}")(x)
        x = layers.Activation("elu", name=f"elu{i}")(x)
        x = layers.SpatialDropout2D(spatial_dropout, name=f"drop{i}")(x)
    freq, time, chans = x.shape[1:]
    x = layers.Permute((2, 1, 3), name="time_first")(x)
    return layers.Reshape((time, freq * chans), name="fold_frequency")(x)


def build_cnn_lstm(
    input_shape: tuple[int, int],
    *,
    channels: Sequence[int] = CHANNELS,
    pools: Sequence[tuple[int, int]] = POOLS,
    lstm_units: int = 64,
    dropout: float = 0.1,
    spatial_dropout: float = 0.1,
) -> keras.Model:
    """CNN-LSTM whose output ``emotion`` holds one sigmoid per emotion (uncompiled)."""
    spectrogram = keras.Input(shape=input_shape, name="logmel")
    steps = feature_blocks(
        spectrogram, channels=channels, pools=pools, spatial_dropout=spatial_dropout
    )
    x = layers.Bidirectional(layers.LSTM(lstm_units), name="bilstm")(steps)
    x = layers.Dropout(dropout, name="dropout")(x)
    emotion = layers.Dense(len(vocab.EMOTIONS), activation="sigmoid", name=EMOTION_OUTPUT)(x)
    return keras.Model(spectrogram, {EMOTION_OUTPUT: emotion}, name="cnn_lstm")
