"""Dot, Rescaling, Identity, ZeroPadding1D, Cropping1D, UpSampling1D, SpatialDropout1D/2D,
GaussianNoise and GaussianDropout against real Keras.

Deterministic layers: the same input and upstream gradient G; Keras' gradients of
L = sum(G * y) from ``tf.GradientTape``, minikeras' from ``backward(G)``; 1e-5 tolerances.
Random layers (their draws come from different generators): identity at inference, the
structure of the mask (one value per sample and channel), the statistics of the noise, and
the backward given Keras' own draw (read off y / x with x = 1). Then configs, the summary and
model files across both libraries, for a model holding every one of these layers.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import minikeras as mk

pytestmark = pytest.mark.parity

TOL = 1e-5
#: per layer class, the worst absolute gap of forward and gradients seen (read it with
#: ``pytest -s``: printed when the module ends)
WORST_GAPS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _print_worst_gaps() -> Any:
    yield
    print("\nworst |minikeras - Keras| (output and input gradients):",
          {k: f"{v:.2e}" for k, v in sorted(WORST_GAPS.items())})


@pytest.fixture(scope="module")
def tf(keras: Any) -> Any:
    import tensorflow as tf

    return tf


def _data(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _keras_run(tf: Any, layer: Any, xs: list[np.ndarray], training: bool = False):
    """Keras' output, the upstream G and the gradients of sum(G * y) w.r.t. each input."""
    ts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        y = layer(ts if len(ts) > 1 else ts[0], training=training)
        g = np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float32)
        loss = tf.reduce_sum(y * g)
    grads = tape.gradient(loss, ts)
    return np.asarray(y), g, [np.zeros_like(x) if d is None else np.asarray(d)
                              for x, d in zip(xs, grads, strict=True)]


def _compare(tf: Any, k_layer: Any, m_layer: Any, xs: list[np.ndarray]) -> None:
    y_k, g, dx_k = _keras_run(tf, k_layer, xs)
    y_m = m_layer(xs if len(xs) > 1 else xs[0])
    dx_m = m_layer.backward(g)
    dx_m = dx_m if isinstance(dx_m, list) else [dx_m]
    assert y_m.shape == y_k.shape
    gaps = []
    for a, b in zip([y_m, *dx_m], [y_k, *dx_k], strict=True):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)
        gaps.append(float(np.abs(a - b).max()))
    name = type(m_layer).__name__
    WORST_GAPS[name] = max(WORST_GAPS.get(name, 0.0), *gaps)


# --------------------------------------------------------------------------- deterministic
DOT = [(-1, False, (4, 5), (4, 5)), (1, True, (4, 5), (4, 5)), (2, False, (3, 4, 5), (3, 6, 5)),
       ((1, 2), True, (3, 4, 5), (3, 6, 4)), ((2, 1), False, (3, 4, 5), (3, 5, 2)),
       ((3, 2), True, (2, 2, 3, 4), (2, 2, 4, 5)), (-2, True, (3, 4, 5), (3, 4, 2))]


@pytest.mark.parametrize("axes,normalize,s1,s2", DOT)
def test_dot(keras, tf, axes, normalize, s1, s2):
    _compare(tf, keras.layers.Dot(axes, normalize=normalize),
             mk.layers.Dot(axes, normalize=normalize), [_data(s1), _data(s2, 2)])


RESHAPING = [("Rescaling", (1 / 255,), {}, (4, 6)),
             ("Rescaling", (2.0,), {"offset": -1.0}, (3, 4, 5)),
             ("Rescaling", ([0.5, -2.0, 3.0],), {"offset": 0.25}, (2, 4, 3)),
             ("Identity", (), {}, (3, 4, 2)),
             ("ZeroPadding1D", ((2, 1),), {}, (2, 5, 3)),
             ("ZeroPadding1D", (3,), {"data_format": "channels_first"}, (2, 3, 4)),
             ("Cropping1D", ((1, 2),), {}, (2, 6, 3)),
             ("Cropping1D", (0,), {}, (2, 3, 3)),
             ("UpSampling1D", (3,), {}, (2, 4, 3))]


@pytest.mark.parametrize("cls,args,kwargs,shape", RESHAPING)
def test_deterministic_layers(keras, tf, cls, args, kwargs, shape):
    _compare(tf, getattr(keras.layers, cls)(*args, **kwargs),
             getattr(mk.layers, cls)(*args, **kwargs), [_data(shape)])


# --------------------------------------------------------------------------- random layers
RANDOM = [("SpatialDropout1D", (0.4,), {}, (64, 6, 8), (1,)),
          ("SpatialDropout2D", (0.4,), {}, (32, 3, 3, 8), (1, 2)),
          ("SpatialDropout2D", (0.4,), {"data_format": "channels_first"}, (32, 8, 3, 3),
           (2, 3)),
          ("GaussianDropout", (0.3,), {}, (64, 50), None),
          ("GaussianNoise", (0.5,), {}, (64, 50), None)]


@pytest.mark.parametrize("cls,args,kwargs,shape,shared_axes", RANDOM)
def test_random_layers(keras, tf, cls, args, kwargs, shape, shared_axes):
    k_layer = getattr(keras.layers, cls)(*args, seed=3, **kwargs)
    m_layer = getattr(mk.layers, cls)(*args, seed=3, **kwargs)
    x = _data(shape)
    # inference: identity on both sides, and so is the backward
    np.testing.assert_array_equal(np.asarray(k_layer(x, training=False)), x)
    np.testing.assert_array_equal(m_layer(x), x)
    np.testing.assert_array_equal(m_layer.backward(x), x)
    # training, x = 1: y is the noise itself (the mask m, or 1 + the additive noise)
    ones = np.ones(shape, np.float32)
    y_k, g, (dx_k,) = _keras_run(tf, k_layer, [ones], training=True)
    y_m = m_layer(ones, training=True)
    if shared_axes is not None:   # one mask value per sample and channel, values {0, 1/(1-r)}
        for y in (y_k, y_m):
            np.testing.assert_array_equal(y, np.broadcast_to(y.max(axis=shared_axes,
                                                                    keepdims=True), shape))
            np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.6], rtol=1e-6)
    # the statistics of the noise agree (mean and spread, within 5 standard errors)
    n = y_k.size if shared_axes is None else y_k.size // np.prod([shape[a] for a in shared_axes])
    se = max(float(y_k.std()), 1e-3) / np.sqrt(n)
    assert abs(float(y_m.mean()) - float(y_k.mean())) < 5 * np.sqrt(2) * se
    assert abs(float(y_m.std()) - float(y_k.std())) < 0.1 * float(y_k.std())
    # the backward given Keras' own draw: minikeras' dx = dy ⊙ m with m = Keras' y
    if cls == "GaussianNoise":
        np.testing.assert_allclose(m_layer.backward(g), dx_k, rtol=TOL, atol=TOL)
    else:
        m_layer.cache = y_k
        np.testing.assert_allclose(m_layer.backward(g), dx_k, rtol=TOL, atol=TOL)


def test_spatial_dropout_rate_one_drops_everything(keras, tf):
    ones = np.ones((2, 3, 4), np.float32)
    y_k, g, (dx_k,) = _keras_run(tf, keras.layers.SpatialDropout1D(1.0), [ones], training=True)
    with pytest.warns(UserWarning, match="drops every channel"):
        layer = mk.layers.SpatialDropout1D(1.0)
    np.testing.assert_array_equal(layer(ones, training=True), y_k)
    np.testing.assert_array_equal(layer.backward(g), dx_k)


# --------------------------------------------------------------------------- configs, files
def _all_layers(fw: Any) -> Any:
    L = fw.layers
    a, b = fw.Input((8,), name="a"), fw.Input((4, 2), name="b")
    x = L.Rescaling(0.5, offset=0.1, name="rescale")(a)
    x = L.GaussianNoise(0.1, name="noise")(L.Identity(name="same")(x))
    x = L.Reshape((4, 2), name="seq")(L.GaussianDropout(0.2, name="gdrop")(x))
    x = L.SpatialDropout1D(0.3, name="sdrop")(x)
    x = L.UpSampling1D(2, name="up")(L.Cropping1D((1, 1), name="crop")(
        L.ZeroPadding1D((1, 1), name="pad")(x)))
    x = L.Dot(axes=(1, 1), normalize=True, name="cos")([x, L.UpSampling1D(2, name="up_b")(b)])
    img = L.Reshape((2, 2, 1), name="img")(L.Flatten(name="flat")(x))
    out = L.Dense(3, name="out")(L.Flatten(name="flat2")(L.SpatialDropout2D(0.1,
                                                                            name="sdrop2")(img)))
    return fw.Model([a, b], out, name="all_new_layers")


def _inputs() -> list[np.ndarray]:
    return [_data((5, 8)), _data((5, 4, 2), 1)]


def test_configs_have_keras_keys(keras):
    k_model, m_model = _all_layers(keras), _all_layers(mk)
    new = {"Rescaling", "GaussianNoise", "Identity", "GaussianDropout", "SpatialDropout1D",
           "ZeroPadding1D", "Cropping1D", "UpSampling1D", "Dot", "SpatialDropout2D"}
    for k_layer in (la for la in k_model.layers if type(la).__name__ in new):
        k_conf = k_layer.get_config()
        m_conf = m_model.get_layer(k_layer.name).get_config()
        assert set(m_conf) == set(k_conf), k_layer.name
        for key, value in k_conf.items():
            if key not in ("dtype", "name"):
                assert json.dumps(m_conf[key]) == json.dumps(value), (k_layer.name, key)


def test_summary_matches_keras(keras):
    texts: dict[str, list[str]] = {"keras": [], "minikeras": []}
    for key, fw in (("keras", keras), ("minikeras", mk)):
        _all_layers(fw).summary(print_fn=lambda text, *args, key=key, **kwargs:
                                texts[key].append(text))
    got, want = ("\n".join(texts[k]).strip("\n") for k in ("minikeras", "keras"))
    assert got == want


def test_model_files_cross_both_ways(keras, tmp_path):
    x = _inputs()
    k_model = _all_layers(keras)
    k_model.save(tmp_path / "k.keras")
    m_loaded = mk.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(m_loaded.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               rtol=TOL, atol=TOL)
    m_model = _all_layers(mk)
    m_model.save(tmp_path / "m.keras")
    k_loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(k_loaded.predict(x, verbose=0), m_model.predict(x, verbose=0),
                               rtol=TOL, atol=TOL)
    rebuilt = mk.models.model_from_json(k_model.to_json())
    assert [type(la).__name__ for la in rebuilt.layers] == [
        type(la).__name__ for la in k_model.layers]
