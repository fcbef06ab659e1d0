"""Activation layers (ReLU, LeakyReLU, ELU, Softmax, PReLU), RepeatVector and Permute against
real Keras 3: forward outputs, dL/dx and dL/dalpha (by TensorFlow's autodiff on
L = Σ y ⊙ g for a random g), a few training steps of a model using them from Keras' initial
weights, .keras / .weights.h5 files crossing both ways, and get_config as Keras writes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minikeras as mk

pytestmark = pytest.mark.parity

FORWARD_ATOL, GRAD_ATOL, WEIGHT_ATOL = 1e-6, 1e-6, 2e-6

CASES = [
    ("ReLU", {}), ("ReLU", {"max_value": 1.5}), ("ReLU", {"max_value": 6.0}),
    ("ReLU", {"negative_slope": 0.2}), ("ReLU", {"threshold": 0.5}),
    ("ReLU", {"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.5}),
    ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.05}),
    ("ELU", {}), ("ELU", {"alpha": 0.5}),
    ("Softmax", {}), ("Softmax", {"axis": 1}), ("Softmax", {"axis": (1, 2)}),
    ("PReLU", {"alpha_initializer": "random_normal"}),
    ("PReLU", {"alpha_initializer": "random_normal", "shared_axes": [1]}),
    ("PReLU", {"alpha_initializer": "random_normal", "shared_axes": [1, 2]}),
    ("Permute", {"dims": (2, 1)}), ("Permute", {"dims": (2, 3, 1)}),
    ("RepeatVector", {"n": 3}),
]


def _input(name: str, kwargs: dict, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if name == "RepeatVector":
        shape: tuple[int, ...] = (4, 5)
    elif kwargs.get("dims") == (2, 3, 1):
        shape = (2, 3, 4, 5)
    else:
        shape = (3, 4, 5)
    x = rng.standard_normal(shape).astype(np.float32) * 2
    x[np.abs(x - 0.5) < 1e-3] += 0.01   # no input exactly on a kink
    return x


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}{k}" for n, k in CASES])
def test_forward_and_gradients(keras: Any, name: str, kwargs: dict) -> None:
    import tensorflow as tf

    x = _input(name, kwargs, seed=len(str(kwargs)))
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer.build(x.shape)
    m_layer = getattr(mk.layers, name)(**kwargs)
    m_layer.build_for(x.shape)
    if k_layer.weights:
        m_layer.set_weights([np.asarray(w) for w in k_layer.get_weights()])
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        k_y = k_layer(xt)
        g = tf.constant(np.random.default_rng(5).standard_normal(k_y.shape).astype(np.float32))
        loss = tf.reduce_sum(k_y * g)
    k_grads = tape.gradient(loss, [xt, *k_layer.trainable_weights])
    m_y = m_layer.forward(x)
    np.testing.assert_allclose(m_y, np.asarray(k_y), atol=FORWARD_ATOL, rtol=1e-6)
    m_layer.zero_grads()
    m_dx = m_layer.backward(np.asarray(g))
    np.testing.assert_allclose(m_dx, np.asarray(k_grads[0]), atol=GRAD_ATOL, rtol=1e-6)
    for k_g, m_w in zip(k_grads[1:], m_layer.trainable_weights, strict=True):
        np.testing.assert_allclose(m_w.grad, np.asarray(k_g), atol=GRAD_ATOL, rtol=1e-6)


def _model(fw: Any, elu_alpha: float = 0.7) -> Any:
    L = fw.layers
    return fw.Sequential([
        fw.Input((6,)), L.Dense(8), L.PReLU(shared_axes=None), L.RepeatVector(3),
        L.Permute((2, 1)), L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.2),
        L.Flatten(), L.Dense(6), L.ELU(alpha=elu_alpha), L.LeakyReLU(0.1), L.Dense(3),
        L.Softmax()])


def test_training_steps_match(keras: Any) -> None:
    """Adam steps on a model of every new layer, from Keras' initial weights (PReLU's alpha
    set to nonzero values), with the Softmax layer's logits shortcut on both sides."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)]
    k_model = _model(keras, 0.7)
    weights = [np.asarray(w) for w in k_model.get_weights()]
    weights[2] = rng.uniform(0.05, 0.3, weights[2].shape).astype(np.float32)
    k_model.set_weights(weights)
    m_model = _model(mk, 0.7)
    m_model.set_weights(weights)
    for model in (k_model, m_model):
        model.compile(optimizer="adam", loss="categorical_crossentropy")
    k_losses = [float(k_model.train_on_batch(x[i:i + 8], y[i:i + 8])) for i in (0, 8, 0, 8)]
    m_losses = [float(m_model.train_on_batch(x[i:i + 8], y[i:i + 8])) for i in (0, 8, 0, 8)]
    np.testing.assert_allclose(m_losses, k_losses, rtol=1e-6)
    for k_w, m_w in zip(k_model.get_weights(), m_model.get_weights(), strict=True):
        np.testing.assert_allclose(m_w, k_w, atol=WEIGHT_ATOL)


@pytest.mark.parametrize("ext", [".keras", ".weights.h5"])
def test_files_cross_both_ways(keras: Any, tmp_path, ext: str) -> None:
    x = np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32)
    k_model, m_model = _model(keras), _model(mk)
    m_model.set_weights([w + 0.01 for w in m_model.get_weights()])
    m_model.save(tmp_path / f"mk{ext}") if ext == ".keras" else m_model.save_weights(
        tmp_path / f"mk{ext}")
    k_model.save(tmp_path / f"k{ext}") if ext == ".keras" else k_model.save_weights(
        tmp_path / f"k{ext}")
    if ext == ".keras":
        k_loaded = keras.saving.load_model(tmp_path / f"mk{ext}")
        m_loaded = mk.models.load_model(tmp_path / f"k{ext}")
    else:
        k_loaded, m_loaded = _model(keras), _model(mk)
        k_loaded.load_weights(tmp_path / f"mk{ext}")
        m_loaded.load_weights(tmp_path / f"k{ext}")
    np.testing.assert_allclose(np.asarray(k_loaded.predict(x, verbose=0)),
                               m_model.predict(x, verbose=0), atol=FORWARD_ATOL)
    np.testing.assert_allclose(m_loaded.predict(x, verbose=0),
                               np.asarray(k_model.predict(x, verbose=0)), atol=FORWARD_ATOL)


def test_configs_match_keras(keras: Any) -> None:
    """get_config of each layer as Keras writes it (PReLU: Keras serialises its initializer
    object, compared by class name; Softmax: Keras keeps a tuple axis as given)."""
    for name, kwargs in CASES:
        k_conf = getattr(keras.layers, name)(**kwargs).get_config()
        m_conf = getattr(mk.layers, name)(**kwargs).get_config()
        for key in set(k_conf) - {"name", "dtype", "alpha_initializer", "axis"}:
            assert m_conf[key] == k_conf[key], (name, key, m_conf[key], k_conf[key])
        if name == "Softmax":
            assert list(np.atleast_1d(m_conf["axis"])) == list(np.atleast_1d(k_conf["axis"]))
        if name == "PReLU":
            assert m_conf["alpha_initializer"]["class_name"] == \
                k_conf["alpha_initializer"]["class_name"]
