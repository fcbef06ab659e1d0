"""Normalization against Keras 3.15.1: the statistics adapt() learns (from an array and from
batches), the output and its input gradient, configs, a model trained on normalized features
(the shape of TensorFlow's "basic regression" tutorial) and its .keras file both ways."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minikeras as mk

pytestmark = pytest.mark.parity

RNG = np.random.default_rng(0)
DATA = (RNG.standard_normal((64, 5)) * [1, 5, 0.1, 100, 2] + [3, -2, 0, 1000, 7]).astype(
    np.float32)
TARGET = (DATA @ np.array([[0.5], [-0.2], [3.0], [0.01], [1.0]], np.float32)).astype(np.float32)

CASES = {"last axis": ({}, DATA), "invert": ({"invert": True}, DATA),
         "axis None": ({"axis": None}, DATA),
         "images, per channel": ({}, RNG.random((6, 5, 5, 3)).astype(np.float32)),
         "images, per pixel": ({"axis": (1, 2)}, RNG.random((6, 5, 5, 3)).astype(np.float32)),
         "batches": ({}, [DATA[i:i + 24] for i in range(0, 64, 24)])}


def whole(data: Any) -> np.ndarray:
    return np.concatenate(data) if isinstance(data, list) else data


@pytest.mark.parametrize("case", list(CASES))
def test_adapt_output_and_gradient_match_keras(keras: Any, case: str) -> None:
    import tensorflow as tf

    kwargs, data = CASES[case]
    k_layer, m_layer = keras.layers.Normalization(**kwargs), mk.layers.Normalization(**kwargs)
    k_layer.adapt(data)
    m_layer.adapt(data)
    for k_w, m_w in zip(k_layer.get_weights(), m_layer.get_weights(), strict=True):
        np.testing.assert_allclose(m_w, k_w, rtol=1e-6, atol=0)   # arrays: bit for bit
        if not isinstance(data, list):
            np.testing.assert_array_equal(m_w, k_w)
    x = whole(data)[:8] * 1.5
    g = RNG.standard_normal(x.shape).astype(np.float32)
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = k_layer(t)
        loss = tf.reduce_sum(y * g)
    k_dx = np.asarray(tape.gradient(loss, t))
    m_y = m_layer.forward(x)
    np.testing.assert_allclose(m_y, np.asarray(y), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(m_layer.backward(g), k_dx, rtol=1e-6, atol=1e-6)


def test_given_constants_and_configs_match_keras(keras: Any) -> None:
    x = DATA[:6, :3]
    for kwargs in ({"mean": [1.0, 2.0, 3.0], "variance": [4.0, 0.0, 9.0]},
                   {"mean": 3.0, "variance": 2.0, "invert": True}, {"axis": None}):
        k_layer, m_layer = (fw.layers.Normalization(**kwargs) for fw in (keras, mk))
        np.testing.assert_allclose(m_layer(x), np.asarray(k_layer(x)), rtol=1e-6)
        k_config, m_config = k_layer.get_config(), m_layer.get_config()
        for key in ("axis", "invert", "mean", "variance"):
            assert m_config[key] == k_config[key], key


def regression(fw: Any) -> Any:
    fw.utils.set_random_seed(0)
    norm = fw.layers.Normalization(axis=-1)
    norm.adapt(DATA)
    model = fw.Sequential([fw.Input((5,)), norm, fw.layers.Dense(16, activation="relu"),
                           fw.layers.Dense(1)])
    model.compile(fw.optimizers.Adam(0.01), "mean_absolute_error")
    return model


def test_a_model_on_normalized_features_trains_as_in_keras(keras: Any, tmp_path: Any) -> None:
    k_model, m_model = regression(keras), regression(mk)
    m_model.set_weights([np.asarray(w) for w in k_model.get_weights()])
    k_hist = k_model.fit(DATA, TARGET, batch_size=16, epochs=5, shuffle=False, verbose=0)
    m_hist = m_model.fit(DATA, TARGET, batch_size=16, epochs=5, shuffle=False, verbose=0)
    np.testing.assert_allclose(m_hist.history["loss"], k_hist.history["loss"], rtol=1e-5)
    for m_w, k_w in zip(m_model.get_weights(), k_model.get_weights(), strict=True):
        np.testing.assert_allclose(m_w, np.asarray(k_w), atol=2e-6)
    k_model.save(tmp_path / "keras.keras")
    m_model.save(tmp_path / "minikeras.keras")
    from_keras = mk.models.load_model(tmp_path / "keras.keras")
    from_minikeras = keras.models.load_model(tmp_path / "minikeras.keras")
    np.testing.assert_allclose(from_keras.predict(DATA, verbose=0),
                               k_model.predict(DATA, verbose=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(from_minikeras.predict(DATA, verbose=0),
                               m_model.predict(DATA, verbose=0), rtol=1e-5, atol=1e-5)
