"""The model families: shapes on small inputs, the attention layer, the SVM pipeline, labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serbias import vocab
from serbias.config import load_params
from serbias.errors import SerbiasError
from serbias.labels import demographic_labels, emotion_labels
from serbias.models import MODELS, keras_module, predict_outputs

SMALL = dict(channels=(4, 4, 8, 8), lstm_units=4)


def test_registry_offers_every_model_name_params_accepts():
    assert tuple(MODELS) == ("svm", "cnn_lstm", "cnn_lstm_attention", "multitask")
    assert set(load_params().train.models) == set(MODELS)
    assert {name: f.backend for name, f in MODELS.items()} == {
        "svm": "sklearn", "cnn_lstm": "keras", "cnn_lstm_attention": "keras", "multitask": "keras",
    }  # fmt: skip
    assert {name: f.feature_kind for name, f in MODELS.items()} == {
        "svm": "svm", "cnn_lstm": "logmel", "cnn_lstm_attention": "logmel", "multitask": "logmel",
    }  # fmt: skip
    assert MODELS["multitask"].outputs == ("emotion", "female", "non_caucasian")


@pytest.mark.parametrize("input_shape", [(32, 40), (128, 130), (5, 3)])
def test_pooling_is_capped_so_small_inputs_still_fold_into_lstm_steps(input_shape):
    from serbias.models.cnn_lstm import build_cnn_lstm

    model = build_cnn_lstm(input_shape, **SMALL)
    folded = model.get_layer("fold_frequency").output.shape
    # 128 x 130 -> frequency pooled by 2*4*4*4 = 128 to 1, time by 16 to 8 steps
    expected_steps = {(32, 40): 2, (128, 130): 8, (5, 3): 1}[input_shape]
    assert folded[1] == expected_steps and folded[2] >= 8
    out = model.predict_on_batch(np.zeros((2, *input_shape), np.float32))["emotion"]
    assert out.shape == (2, 6) and np.all((out > 0) & (out < 1))


def test_multitask_has_emotion_and_two_demographic_sigmoid_heads():
    from serbias.models.multitask import build_multitask

    model = build_multitask((32, 40), attention_heads=2, attention_units=8, **SMALL)
    out = predict_outputs(model, np.zeros((3, 32, 40), np.float32))
    assert {k: v.shape for k, v in out.items()} == {
        "emotion": (3, 6), "female": (3,), "non_caucasian": (3,),
    }  # fmt: skip


def test_attention_pooling_of_identical_steps_returns_the_step_for_every_head():
    from serbias.models.attention import AttentionPooling

    layer = AttentionPooling(heads=3, units=5)
    step = np.array([1.0, -2.0, 0.5, 4.0], np.float32)
    sequence = np.tile(step, (2, 7, 1))  # batch 2, 7 identical steps
    pooled = np.asarray(layer(sequence))
    assert pooled.shape == (2, 12)
    np.testing.assert_allclose(pooled, np.tile(step, (2, 3)), rtol=1e-6)


def test_attention_pooling_weights_steps_by_a_softmax_over_time():
    from serbias.models.attention import AttentionPooling

    layer = AttentionPooling(heads=1, units=2)
    x = np.array([[[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]], np.float32)
    layer.build(x.shape)
    kernel = np.array([[[1.0, 0.0]], [[0.0, 1.0]]], np.float32)  # (d=2, heads=1, units=2)
    layer.set_weights([kernel, np.zeros((1, 2), np.float32), np.ones((1, 2), np.float32)])
    # score_t = sum(elu(x_t)) = [1, 1, 4]; weights = softmax; pooled = sum_t w_t x_t
    scores = np.array([1.0, 1.0, 4.0])
    weights = np.exp(scores) / np.exp(scores).sum()
    np.testing.assert_allclose(np.asarray(layer(x))[0], weights @ x[0], rtol=1e-5)


def test_attention_layer_serialises_by_its_registered_name():
    from serbias.models.attention import AttentionPooling

    keras = keras_module()
    config = keras.saving.serialize_keras_object(AttentionPooling(heads=8, units=128, name="att"))
    assert config["registered_name"] == "serbias>AttentionPooling"
    restored = keras.saving.deserialize_keras_object(config, safe_mode=True)
    assert (restored.heads, restored.units, restored.name) == (8, 128, "att")


def test_fused_batch_norm_matches_keras_batch_norm_in_training_and_inference():
    from serbias.models.cnn_lstm import FusedBatchNormalization

    keras = keras_module()
    x = np.random.default_rng(0).normal(3.0, 2.0, (4, 5, 6, 3)).astype(np.float32)
    fused, stock = FusedBatchNormalization(), keras.layers.BatchNormalization()
    fused.build(x.shape)
    stock.build(x.shape)
    for _ in range(2):
        np.testing.assert_allclose(fused(x, training=True), stock(x, training=True), atol=1e-4)
    np.testing.assert_allclose(fused.moving_mean, stock.moving_mean, rtol=1e-5)
    np.testing.assert_allclose(fused.moving_variance, stock.moving_variance, rtol=1e-5)
    np.testing.assert_allclose(fused(x, training=False), stock(x, training=False), atol=1e-5)


def test_max_pooling_before_elu_equals_elu_before_pooling():
    keras = keras_module()
    x = np.random.default_rng(1).normal(size=(2, 8, 6, 3)).astype(np.float32)
    pool, elu = keras.layers.MaxPooling2D((4, 2)), keras.layers.Activation("elu")
    np.testing.assert_array_equal(np.asarray(elu(pool(x))), np.asarray(pool(elu(x))))


# ----------------------------------------------------------------------------- SVM


def test_anova_filter_keeps_features_that_separate_some_emotion():
    from sklearn.exceptions import NotFittedError

    from serbias.models.svm import AnovaFilter

    rng = np.random.default_rng(0)
    y = np.eye(6)[np.arange(120) % 6]
    X = rng.normal(size=(120, 3))
    X[:, 0] += 5 * y[:, 2]  # separates FEA from the rest
    X[:, 1] = np.arange(120) // 6  # every emotion gets the values 0..19: F = 0, p = 1
    X[:, 2] = 1.0  # constant: no information, p-value undefined -> dropped
    selector = AnovaFilter(alpha=0.01)
    with pytest.raises(NotFittedError):
        selector.transform(X)
    selector.fit(X, y)
    assert selector.support_.tolist() == [True, False, False]
    assert selector.transform(X).shape == (120, 1)
    assert selector.get_feature_names_out(["a", "b", "c"]).tolist() == ["a"]


def test_anova_filter_keeps_the_best_feature_with_a_warning_when_none_passes():
    from serbias.models.svm import AnovaFilter

    X = np.random.default_rng(0).normal(size=(30, 4))
    y = np.eye(6)[np.arange(30) % 6]
    with pytest.warns(UserWarning, match="no feature has ANOVA p"):
        selector = AnovaFilter(alpha=1e-12).fit(X, y)
    assert selector.support_.sum() == 1


def test_capped_pca_uses_no_more_components_than_samples_or_features():
    from serbias.models.svm import CappedPCA

    X = np.random.default_rng(0).normal(size=(10, 7))
    assert CappedPCA(140).fit(X).n_components_ == 7
    assert CappedPCA(140).fit(X[:5]).n_components_ == 5
    assert CappedPCA(3).fit(X).transform(X).shape == (10, 3)


def test_svm_pipeline_gives_one_probability_per_emotion_and_learns():
    from serbias.models.svm import build_svm

    rng = np.random.default_rng(0)
    y = np.eye(6)[np.arange(120) % 6]
    X = rng.normal(size=(120, 10)) + np.hstack([3 * y, np.zeros((120, 4))])
    pipeline = build_svm(pca=8, seed=0)
    with pytest.warns(FutureWarning) if _svc_probability_deprecated() else _nothing():
        pipeline.fit(X[:90], y[:90])
    proba = predict_outputs(pipeline, X[90:])["emotion"]
    assert proba.shape == (30, 6) and np.all((proba >= 0) & (proba <= 1))
    assert (proba.argmax(axis=1) == y[90:].argmax(axis=1)).mean() > 0.8
    assert [name for name, _ in pipeline.steps] == ["scale", "anova", "pca", "svc"]


def _svc_probability_deprecated() -> bool:
    import sklearn

    return tuple(int(p) for p in sklearn.__version__.split(".")[:2]) >= (1, 9)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# ----------------------------------------------------------------------------- labels


def _clips(rows: list[tuple[str, list[str]]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "filename": [name for name, _ in rows],
            "emotion": pd.Categorical(
                [n.split("_")[2] for n, _ in rows], categories=vocab.EMOTIONS
            ),
            "voice_vote": [votes for _, votes in rows],
            "sex": ["Female", "Male", "Female"][: len(rows)],
            "race_binary": ["Caucasian", "Non-Caucasian", "Non-Caucasian"][: len(rows)],
        }
    )


def test_intended_labels_are_one_hot_and_observed_keep_ties_as_several_positives():
    clips = _clips(
        [("1001_DFA_ANG_XX", ["A"]), ("1001_DFA_SAD_XX", ["N", "S"]), ("1002_DFA_HAP_XX", [])]
    )
    np.testing.assert_array_equal(
        emotion_labels(clips, "intended"),
        [[1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 1, 0, 0]],
    )
    np.testing.assert_array_equal(
        emotion_labels(clips, "observed"),
        [[1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]],
    )
    heads = demographic_labels(clips)
    assert heads["female"].ravel().tolist() == [1, 0, 1]
    assert heads["non_caucasian"].ravel().tolist() == [0, 1, 1]


def test_unknown_vote_letter_or_label_kind_is_a_one_line_error():
    with pytest.raises(SerbiasError, match=r"1001_DFA_ANG_XX: voice vote 'X'"):
        emotion_labels(_clips([("1001_DFA_ANG_XX", ["X"])]), "observed")
    with pytest.raises(SerbiasError, match="label kind 'crowd' is not one of intended, observed"):
        emotion_labels(_clips([("1001_DFA_ANG_XX", ["A"])]), "crowd")
