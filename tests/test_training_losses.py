"""Class-balanced positive weights, the weighted BCE and the cosine learning-rate schedule."""

from __future__ import annotations

import numpy as np
import pytest

from serbias.errors import SerbiasError
from serbias.training.params import TrainParams


def test_positive_weights_are_the_negative_to_positive_ratio_to_the_power_given():
    from serbias.models.losses import positive_weights

    # column 0: 1 of 4 positive; column 1: 3 of 4; column 2: never positive
    targets = np.array([[1, 1, 0], [0, 1, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(positive_weights(targets, 1.0), [3.0, 1 / 3, 1.0])
    np.testing.assert_allclose(positive_weights(targets, 0.5), [3**0.5, 3**-0.5, 1.0])
    np.testing.assert_allclose(positive_weights(targets, 0.0), [1.0, 1.0, 1.0])


def test_weighted_bce_with_unit_weights_is_keras_bce_with_the_same_smoothing():
    import keras

    from serbias.models.losses import WeightedBinaryCrossentropy

    y = np.array([[1, 0, 0], [0, 1, 1]], dtype=np.float32)
    p = np.array([[0.7, 0.2, 0.1], [0.4, 0.6, 0.9]], dtype=np.float32)
    ours = WeightedBinaryCrossentropy([1.0, 1.0, 1.0], label_smoothing=0.2)(y, p)
    keras_bce = keras.losses.BinaryCrossentropy(label_smoothing=0.2)(y, p)
    assert float(ours) == pytest.approx(float(keras_bce), rel=1e-5)


def test_weighted_bce_multiplies_only_the_positive_term_of_each_column():
    from serbias.models.losses import WeightedBinaryCrossentropy

    y = np.array([[1, 0]], dtype=np.float32)
    p = np.array([[0.25, 0.25]], dtype=np.float32)
    loss = WeightedBinaryCrossentropy([4.0, 4.0])(y, p)
    expected = (-4.0 * np.log(0.25) - np.log(0.75)) / 2  # column 1 is a negative: weight 1
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_weighted_bce_round_trips_through_keras_serialisation():
    import keras

    from serbias.models.losses import WeightedBinaryCrossentropy

    loss = WeightedBinaryCrossentropy([2.0, 0.5], label_smoothing=0.2)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, WeightedBinaryCrossentropy)
    assert restored.positive_weights == [2.0, 0.5]
    assert restored.label_smoothing == pytest.approx(0.2)


def test_cosine_schedule_warms_up_for_one_epoch_then_decays_to_zero_at_the_last_epoch():
    from serbias.training.fit import learning_rate_schedule

    params = TrainParams(model="cnn_lstm", epochs=5, learning_rate=0.01, schedule="cosine")
    schedule = learning_rate_schedule(params, steps_per_epoch=10)
    assert float(schedule(0)) == pytest.approx(0.001)
    assert float(schedule(10)) == pytest.approx(0.01)
    assert float(schedule(30)) == pytest.approx(0.005, rel=1e-4)  # halfway through the decay
    assert float(schedule(50)) == pytest.approx(0.0, abs=1e-9)
    assert learning_rate_schedule(TrainParams(model="cnn_lstm", learning_rate=0.01), 10) == 0.01


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("schedule", "step", "train.schedule: 'step' is not one of constant, cosine"),
        ("class_balance", 1.5, "train.class_balance: 1.5 is not in [0, 1]"),
        ("class_balance", -0.1, "train.class_balance: -0.1 is not in [0, 1]"),
    ],
)
def test_schedule_and_class_balance_are_checked(field, value, message):
    with pytest.raises(SerbiasError, match=message.replace("[", r"\[").replace("]", r"\]")):
        TrainParams(model="cnn_lstm", **{field: value})


def test_a_network_fitted_with_class_balance_and_cosine_saves_and_loads_in_safe_mode(tmp_path):
    from serbias.models.io import load_model_file, predict_outputs, save_model_file
    from serbias.models.losses import WeightedBinaryCrossentropy
    from serbias.training.fit import fit_model

    rng = np.random.default_rng(0)
    emotion = np.eye(6, dtype=np.float32)[rng.integers(0, 6, 24)]
    arrays = {"X": rng.normal(size=(24, 16, 16)).astype(np.float32), "target.emotion": emotion}
    params = TrainParams(model="cnn_lstm", epochs=2, batch_size=8, class_balance=1.0,
                         schedule="cosine")  # fmt: skip
    params = params.with_family(
        params.family().__class__(channels=(4, 4), pools=((2, 2), (2, 2)), lstm_units=4)
    )
    result = fit_model(params, arrays, train_rows=np.arange(16), val_rows=np.arange(16, 24),
                       seed=0)  # fmt: skip
    assert isinstance(result.model.loss["emotion"], WeightedBinaryCrossentropy)
    loaded = load_model_file(save_model_file(result.model, tmp_path / "model"))
    np.testing.assert_allclose(
        predict_outputs(loaded, arrays["X"][16:])["emotion"], result.val_outputs["emotion"],
        rtol=1e-5, atol=1e-6,
    )  # fmt: skip
